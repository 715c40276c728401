package telegram_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/bot/telegram"
	"github.com/hromadabot/hromadabot/bot/telegramtest"
	"github.com/hromadabot/hromadabot/storage/redis"
	"github.com/hromadabot/hromadabot/storage/redis/redistest"
)

// pollWatch sees every getUpdates call of the channels, to tell who polls
// and whether two ever poll at once.
type pollWatch struct {
	mu      sync.Mutex
	now     int
	most    int
	callers []string
}

func (w *pollWatch) transport(name string) http.RoundTripper {
	base := telegram.NewTransport(4)
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		if !strings.HasSuffix(r.URL.Path, "/getUpdates") {
			return base.RoundTrip(r)
		}
		w.mu.Lock()
		w.now++
		w.most = max(w.most, w.now)
		w.callers = append(w.callers, name)
		w.mu.Unlock()
		defer func() {
			w.mu.Lock()
			w.now--
			w.mu.Unlock()
		}()
		return base.RoundTrip(r)
	})
}

// pollers are the channels that called getUpdates since call n, and how
// many calls there were in all.
func (w *pollWatch) pollers(n int) ([]string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	set := slices.Clone(w.callers[min(n, len(w.callers)):])
	slices.Sort(set)
	return slices.Compact(set), len(w.callers)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// sharedChannel is a channel of a bot process on the test's Redis, with
// its own connections to it.
func sharedChannel(t *testing.T, srv *telegramtest.Server, opts *goredis.Options, prefix, name string, edit func(*telegram.Config)) (*telegram.Channel, *goredis.Client) {
	t.Helper()
	client := goredis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	ch, _ := newChannel(t, srv, func(c *telegram.Config) {
		c.Stream = redis.NewStream(client, redis.StreamOptions{Prefix: prefix, Channel: "telegram", Shards: 4})
		c.Leases = redis.NewLeases(client, prefix, "telegram")
		c.LeaseTTL = time.Second
		c.Owner = name
		c.PollTimeout = time.Second
		if edit != nil {
			edit(c)
		}
	})
	return ch, client
}

// waitUntil waits until cond holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx := testContext(t)
	for !cond() {
		if bot.Sleep(ctx, 10*time.Millisecond) != nil {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// handledOnce checks that every update was handled exactly once, and
// that each chat was answered in the order its texts were sent.
func handledOnce(t *testing.T, srv *telegramtest.Server, h *recorder, texts map[int64][]string, total int) {
	t.Helper()
	count := map[string]int{}
	for _, ev := range h.Events() {
		count[ev.UpdateID]++
	}
	if len(count) != total {
		t.Errorf("%d updates handled, want %d", len(count), total)
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("update %s handled %d times, want once", id, n)
		}
	}
	for chat, want := range texts {
		assertAnswered(t, srv, chat, want)
	}
}

// TestStreamPollingOnePoller runs two processes of the bot in polling mode
// on one Redis: one polls, for both, and never both at once; stopped, the
// other takes the polling over, and no update is lost or handled twice.
func TestStreamPollingOnePoller(t *testing.T) {
	srv := newServer(t, telegramtest.Options{})
	opts, prefix := redistest.Open(t)
	watch := &pollWatch{}
	h := &recorder{reply: echo}
	procs := map[string]*running{}
	for _, name := range []string{"a", "b"} {
		ch, _ := sharedChannel(t, srv, opts, prefix, name, func(c *telegram.Config) {
			c.HTTPClient = &http.Client{Transport: watch.transport(name)}
		})
		procs[name] = run(t, ch, h, nil)
	}
	texts := map[int64][]string{}
	send := func(from, to int) {
		for i := from; i < to; i++ {
			for c := range 6 {
				u := user(int64(3000 + c))
				srv.UserText(u, strconv.Itoa(i))
				texts[u.ID] = append(texts[u.ID], strconv.Itoa(i))
			}
		}
	}
	total := func() int {
		n := 0
		for _, ts := range texts {
			n += len(ts)
		}
		return n
	}
	handled := func() bool {
		ids := map[string]bool{}
		for _, ev := range h.Events() {
			ids[ev.UpdateID] = true
		}
		return len(ids) >= total()
	}

	send(0, 5)
	waitUntil(t, "the first updates are handled", handled)
	pollers, _ := watch.pollers(0)
	if len(pollers) != 1 {
		t.Fatalf("%v polled, want one process", pollers)
	}
	poller := pollers[0]
	procs[poller].stop(t)
	// Its last call, which confirmed what it polled, came as it stopped.
	_, calls := watch.pollers(0)

	send(5, 10)
	waitUntil(t, "the later updates are handled", handled)
	if err := srv.WaitDrained(testContext(t)); err != nil {
		t.Fatal(err)
	}
	for name, r := range procs {
		if name != poller {
			r.stop(t)
		}
	}
	after, _ := watch.pollers(calls)
	if len(after) != 1 || after[0] == poller {
		t.Errorf("after %s stopped, %v polled; want the other", poller, after)
	}
	watch.mu.Lock()
	most := watch.most
	watch.mu.Unlock()
	if most != 1 {
		t.Errorf("%d getUpdates calls at once, want one at a time", most)
	}
	handledOnce(t, srv, h, texts, total())
}

// TestStreamWebhookOnce runs two processes of the bot in webhook mode on
// one Redis behind a load balancer: an update delivered to both is handled
// once, by whichever holds its chat's shard; a process that loses Redis
// answers 503, so that Telegram delivers the update again.
func TestStreamWebhookOnce(t *testing.T) {
	srv := newServer(t, telegramtest.Options{AllowHTTPWebhook: true})
	srv.AddUser(olena)
	opts, prefix := redistest.Open(t)
	h := &recorder{reply: echo}
	hooks := map[string]string{}
	clients := map[string]*goredis.Client{}
	for _, name := range []string{"a", "b"} {
		var handler http.Handler = http.NotFoundHandler()
		var mu sync.Mutex
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hh := handler
			mu.Unlock()
			hh.ServeHTTP(w, r)
		}))
		t.Cleanup(hook.Close)
		ch, client := sharedChannel(t, srv, opts, prefix, name, func(c *telegram.Config) {
			c.WebhookURL = hook.URL + "/telegram"
			c.WebhookSecret = "s3cret-Token_1"
		})
		mu.Lock()
		handler = ch
		mu.Unlock()
		run(t, ch, h, nil)
		hooks[name], clients[name] = hook.URL+"/telegram", client
	}
	if _, err := srv.WaitN(testContext(t), 2, telegramtest.Method("setWebhook")); err != nil {
		t.Fatal(err)
	}
	post := func(t *testing.T, hook string, id int, text string) int {
		t.Helper()
		body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1441645532,"from":{"id":%d,"is_bot":false,"first_name":"Олена"},"chat":{"id":%d,"type":"private"},"text":%q}}`,
			id, id, chatID, chatID, text)
		req, err := http.NewRequest(http.MethodPost, hook, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(telegram.SecretHeader, "s3cret-Token_1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	answered := func(text string) func() bool {
		return func() bool {
			for _, m := range telegramtest.BotMessages(srv.Chat(chatID)) {
				if m.Text == "re: "+text {
					return true
				}
			}
			return false
		}
	}

	t.Run("OKDeliveredTwiceHandledOnce", func(t *testing.T) {
		for _, hook := range []string{hooks["a"], hooks["b"], hooks["a"]} {
			if status := post(t, hook, 700, "привіт"); status != http.StatusOK {
				t.Fatalf("status %d, want 200", status)
			}
		}
		// Handled after everything the chat had before it: once it is
		// answered, a second handling of the first would have been too.
		if status := post(t, hooks["b"], 701, "потім"); status != http.StatusOK {
			t.Fatalf("status %d, want 200", status)
		}
		waitUntil(t, "both updates are answered", answered("потім"))
	})
	t.Run("ErrRedisLostUnavailable", func(t *testing.T) {
		// Acknowledged first: what b handled and could not acknowledge
		// would be handled again by a.
		stream := redis.NewStream(clients["a"], redis.StreamOptions{Prefix: prefix, Channel: "telegram", Shards: 4})
		waitUntil(t, "the streams are empty", func() bool {
			n, err := stream.Len(t.Context())
			return err == nil && n == 0
		})
		clients["b"].Close()
		if status := post(t, hooks["b"], 702, "знову"); status != http.StatusServiceUnavailable {
			t.Fatalf("status %d from the process without Redis, want 503", status)
		}
		// Telegram tries again, and the load balancer picks the other.
		if status := post(t, hooks["a"], 702, "знову"); status != http.StatusOK {
			t.Fatalf("status %d, want 200", status)
		}
		waitUntil(t, "the update is answered", answered("знову"))
	})
	handledOnce(t, srv, h, map[int64][]string{chatID: {"привіт", "потім", "знову"}}, 3)
}

// TestStreamInboxMoved: what a process without a stream left in the inbox
// (confirmed to Telegram, not handled) is moved into the stream by the
// poller and handled, in order, before what is polled after it.
func TestStreamInboxMoved(t *testing.T) {
	srv := newServer(t, telegramtest.Options{})
	opts, prefix := redistest.Open(t)
	left := func(id int, text string) []byte {
		return fmt.Appendf(nil, `{"update_id":%d,"message":{"message_id":%d,"date":1700000000,"from":{"id":7,"is_bot":false,"first_name":"Олена"},"chat":{"id":7,"type":"private"},"text":%q}}`, id, id, text)
	}
	inbox := &memInbox{updates: map[int][]byte{
		900002: left(900002, "друге"),
		900001: left(900001, "перше"),
	}}
	srv.UserText(user(7), "нове")
	h := &recorder{reply: echo}
	ch, _ := sharedChannel(t, srv, opts, prefix, "a", func(c *telegram.Config) { c.Inbox = inbox })
	r := run(t, ch, h, nil)
	if _, err := srv.WaitN(testContext(t), 3, telegramtest.SentTo("sendMessage", 7)); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	var got []string
	for _, ev := range h.Events() {
		got = append(got, ev.Text)
	}
	if want := []string{"перше", "друге", "нове"}; !slices.Equal(got, want) {
		t.Fatalf("handled %q, want %q", got, want)
	}
	if ids := inbox.ids(); len(ids) != 0 {
		t.Fatalf("inbox holds %v, want none", ids)
	}
}
