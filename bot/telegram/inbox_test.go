package telegram_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hromadabot/hromadabot/bot/telegram"
	"github.com/hromadabot/hromadabot/bot/telegramtest"
)

// memInbox is a telegram.Inbox in memory, which can be made to fail.
type memInbox struct {
	mu      sync.Mutex
	updates map[int][]byte
	puts    int
	failing bool
}

var errInboxDown = errors.New("inbox down")

func (m *memInbox) Put(_ context.Context, updates map[int][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failing {
		return errInboxDown
	}
	m.puts++
	if m.updates == nil {
		m.updates = map[int][]byte{}
	}
	for id, raw := range updates {
		m.updates[id] = raw
	}
	return nil
}

func (m *memInbox) Done(_ context.Context, ids []int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failing {
		return errInboxDown
	}
	for _, id := range ids {
		delete(m.updates, id)
	}
	return nil
}

func (m *memInbox) Pending(context.Context) (map[int][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failing {
		return nil, errInboxDown
	}
	out := make(map[int][]byte, len(m.updates))
	for id, raw := range m.updates {
		out[id] = raw
	}
	return out, nil
}

func (m *memInbox) ids() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]int, 0, len(m.updates))
	for id := range m.updates {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// TestInboxConfirmsAtOnce: with an inbox, an update still in its handler is
// confirmed to Telegram, kept in the inbox until handled, then removed.
func TestInboxConfirmsAtOnce(t *testing.T) {
	ctx := testContext(t)
	srv := newServer(t, telegramtest.Options{})
	held := srv.UserText(user(1), "held")
	inbox := &memInbox{}
	g := newGate("held")
	ch, _ := newChannel(t, srv, func(c *telegram.Config) { c.Inbox = inbox })
	r := run(t, ch, g.handler(echo), nil)
	<-g.entered
	if err := srv.WaitDrained(ctx); err != nil {
		t.Fatalf("the update in its handler was not confirmed: %v", err)
	}
	if ids := inbox.ids(); !slices.Equal(ids, []int{held}) {
		t.Fatalf("inbox holds %v while the update is handled, want [%d]", ids, held)
	}
	close(g.open)
	if _, err := srv.WaitFor(ctx, telegramtest.SentTo("sendMessage", 1)); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	if ids := inbox.ids(); len(ids) != 0 {
		t.Fatalf("inbox holds %v after handling, want none", ids)
	}
}

// TestInboxReplayedFirst: updates an earlier process left in the inbox are
// handled before anything new, in order, and removed; one that cannot be
// read is dropped, not retried forever.
func TestInboxReplayedFirst(t *testing.T) {
	ctx := testContext(t)
	srv := newServer(t, telegramtest.Options{})
	left := func(id int, text string) []byte {
		return fmt.Appendf(nil, `{"update_id":%d,"message":{"message_id":%d,"date":1700000000,"from":{"id":7,"is_bot":false,"first_name":"Олена"},"chat":{"id":7,"type":"private"},"text":%q}}`, id, id, text)
	}
	inbox := &memInbox{updates: map[int][]byte{
		900002: left(900002, "друге"),
		900001: left(900001, "перше"),
		900003: []byte(`{"update_id":900003,"message":{"message_id":"не число"}}`),
	}}
	srv.UserText(user(7), "нове")
	rec := &recorder{reply: echo}
	ch, _ := newChannel(t, srv, func(c *telegram.Config) { c.Inbox = inbox })
	r := run(t, ch, rec, nil)
	if _, err := srv.WaitN(ctx, 3, telegramtest.SentTo("sendMessage", 7)); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	var texts []string
	for _, ev := range rec.Events() {
		texts = append(texts, ev.Text)
	}
	if !slices.Equal(texts, []string{"перше", "друге", "нове"}) {
		t.Fatalf("handled %q, want the inbox's two in order, then the new one", texts)
	}
	if ids := inbox.ids(); len(ids) != 0 {
		t.Fatalf("inbox holds %v after the replay, want none", ids)
	}
}

// TestInboxDownFallsBack: while the inbox fails, updates are still handled,
// and confirmed only once handled, as without one.
func TestInboxDownFallsBack(t *testing.T) {
	ctx := testContext(t)
	srv := newServer(t, telegramtest.Options{})
	inbox := &memInbox{}
	ch, logs := newChannel(t, srv, func(c *telegram.Config) { c.Inbox = inbox })
	g := newGate("held")
	r := run(t, ch, g.handler(echo), nil)
	if err := srv.WaitPolling(ctx); err != nil {
		t.Fatal(err)
	}
	inbox.mu.Lock()
	inbox.failing = true
	inbox.mu.Unlock()
	held := srv.UserText(user(1), "held")
	<-g.entered
	if _, err := srv.WaitN(ctx, 2, telegramtest.Method("getUpdates")); err != nil {
		t.Fatal(err)
	}
	if p := srv.Pending(); !slices.Contains(p, held) {
		t.Fatalf("pending %v: with the inbox down, the update in its handler must stay unconfirmed", p)
	}
	close(g.open)
	if err := srv.WaitDrained(ctx); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	if !strings.Contains(logs.String(), "inbox unavailable") {
		t.Errorf("the failing inbox was not logged:\n%s", logs)
	}
}
