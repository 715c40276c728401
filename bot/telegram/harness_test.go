package telegram_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/bot/telegram"
	"github.com/hromadabot/hromadabot/bot/telegramtest"
)

// recorder is the handler under the channel: it records every event and
// answers with what reply returns.
type recorder struct {
	mu     sync.Mutex
	events []bot.Event
	reply  func(ctx context.Context, ev bot.Event) ([]bot.Reply, error)
}

func (r *recorder) Handle(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	if r.reply == nil {
		return nil, nil
	}
	return r.reply(ctx, ev)
}

func (r *recorder) Events() []bot.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Event(nil), r.events...)
}

// direct sends every reply straight through the channel, without the rate
// limits and retries of the real Sender, so that each outbound request the
// tests see maps to one reply.
type direct struct{ ch *telegram.Channel }

func (d direct) Send(ctx context.Context, out bot.Outgoing) error { return d.ch.Deliver(ctx, out) }

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newServer(t *testing.T, opts telegramtest.Options) *telegramtest.Server {
	t.Helper()
	s := telegramtest.New(opts)
	t.Cleanup(s.Close)
	return s
}

// newChannel connects a channel to the fake server.
func newChannel(t *testing.T, srv *telegramtest.Server, edit func(*telegram.Config)) (*telegram.Channel, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg := telegram.Config{
		Token:         srv.Token(),
		APIURL:        srv.URL(),
		Workers:       4,
		PollTimeout:   10 * time.Second,
		ShutdownGrace: 2 * time.Second,
		Log:           slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	ch, err := telegram.New(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ch, logs
}

// running is a channel receiving updates; stop cancels it and waits.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Fatalf("Run: %v", r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func run(t *testing.T, ch *telegram.Channel, h bot.Handler, s bot.ReplySender) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	if s == nil {
		s = direct{ch}
	}
	go func() {
		defer close(r.done)
		r.err = ch.Run(ctx, h, s)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// outbound are the requests that carry replies, leaving out the polling
// and set-up calls.
func outbound(srv *telegramtest.Server) []telegramtest.Request {
	return srv.Requests(func(r telegramtest.Request) bool {
		switch strings.ToLower(r.Method) {
		case "getme", "getupdates", "deletewebhook", "setwebhook", "setmycommands":
			return false
		}
		return true
	})
}

// wantRequest is one expected outbound call: its method, a subset of its
// parameters that must match exactly, its keyboard and HTTP status.
type wantRequest struct {
	method   string
	params   map[string]string
	keyboard [][]telegramtest.Button
	status   int
}

func checkRequests(t *testing.T, got []telegramtest.Request, want []wantRequest) {
	t.Helper()
	if len(got) != len(want) {
		var names []string
		for _, r := range got {
			names = append(names, r.Method)
		}
		t.Fatalf("%d outbound requests %v, want %d", len(got), names, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Method != w.method {
			t.Errorf("request %d: method %s, want %s", i, g.Method, w.method)
		}
		status := w.status
		if status == 0 {
			status = 200
		}
		if g.Status != status {
			t.Errorf("request %d %s: status %d (%s), want %d", i, g.Method, g.Status, g.Error, status)
		}
		for k, v := range w.params {
			if g.Params[k] != v {
				t.Errorf("request %d %s: %s = %q, want %q", i, g.Method, k, g.Params[k], v)
			}
		}
		kb, err := g.Keyboard()
		if err != nil {
			t.Errorf("request %d: keyboard: %v", i, err)
		}
		if !equalKeyboards(kb, w.keyboard) {
			t.Errorf("request %d %s: keyboard %v, want %v", i, g.Method, kb, w.keyboard)
		}
	}
}

func equalKeyboards(a, b [][]telegramtest.Button) bool {
	return slices.EqualFunc(a, b, func(x, y []telegramtest.Button) bool { return slices.Equal(x, y) })
}
