package telegram_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/bot/telegram"
	"github.com/hromadabot/hromadabot/bot/telegramtest"
)

func user(id int64) telegramtest.User {
	return telegramtest.User{ID: id, FirstName: "Мешканець " + strconv.FormatInt(id, 10), LanguageCode: "uk"}
}

// echo answers every text with itself.
func echo(_ context.Context, ev bot.Event) ([]bot.Reply, error) {
	return []bot.Reply{{Text: "re: " + ev.Text}}, nil
}

// TestPollingOrder queues bursts from many chats at once: each chat's
// updates are handled and answered in order, and every update is confirmed.
func TestPollingOrder(t *testing.T) {
	ctx := testContext(t)
	srv := newServer(t, telegramtest.Options{})
	const chats, perChat = 12, 8
	for i := range perChat {
		for c := range chats {
			srv.UserText(user(int64(1000+c)), strconv.Itoa(i))
		}
	}
	ch, _ := newChannel(t, srv, nil)
	h := &recorder{reply: func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
		// Uneven handling times shuffle the finishing order across chats.
		time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
		return echo(ctx, ev)
	}}
	r := run(t, ch, h, nil)
	if err := srv.WaitDrained(ctx); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	byChat := map[string][]string{}
	for _, ev := range h.Events() {
		byChat[ev.ChatID] = append(byChat[ev.ChatID], ev.Text)
	}
	want := make([]string, perChat)
	for i := range want {
		want[i] = strconv.Itoa(i)
	}
	for c := range chats {
		id := int64(1000 + c)
		if got := byChat[strconv.FormatInt(id, 10)]; !slices.Equal(got, want) {
			t.Errorf("chat %d handled %v, want %v", id, got, want)
		}
		assertAnswered(t, srv, id, want)
	}
}

// assertAnswered fails unless the bot's messages in the chat are the echo
// handler's answers ("re: " and the text) to want, in order.
func assertAnswered(t *testing.T, srv *telegramtest.Server, chat int64, want []string) {
	t.Helper()
	var got []string
	for _, m := range telegramtest.BotMessages(srv.Chat(chat)) {
		got = append(got, strings.TrimPrefix(m.Text, "re: "))
	}
	if !slices.Equal(got, want) {
		t.Errorf("chat %d answered %v, want %v", chat, got, want)
	}
}

// TestPollingConcurrentChats proves different chats are handled at the same
// time: each chat's first update waits until the other's has started, which
// would deadlock if handling were sequential.
func TestPollingConcurrentChats(t *testing.T) {
	ctx := testContext(t)
	srv := newServer(t, telegramtest.Options{})
	a, b := user(1), user(2) // different workers: 1 % 4 != 2 % 4
	srv.UserText(a, "a")
	srv.UserText(b, "b")
	started := map[string]chan struct{}{"1": make(chan struct{}), "2": make(chan struct{})}
	other := map[string]string{"1": "2", "2": "1"}
	ch, _ := newChannel(t, srv, nil)
	h := &recorder{reply: func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
		close(started[ev.ChatID])
		select {
		case <-started[other[ev.ChatID]]:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return echo(ctx, ev)
	}}
	r := run(t, ch, h, nil)
	if err := srv.WaitDrained(ctx); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	if len(srv.Chat(1)) != 2 || len(srv.Chat(2)) != 2 {
		t.Fatalf("chats %v %v", srv.Chat(1), srv.Chat(2))
	}
}

// gate blocks the handling of one update until opened.
type gate struct {
	text    string
	entered chan struct{}
	open    chan struct{}
	once    sync.Once
}

func newGate(text string) *gate {
	return &gate{text: text, entered: make(chan struct{}), open: make(chan struct{})}
}

func (g *gate) handler(next func(context.Context, bot.Event) ([]bot.Reply, error)) *recorder {
	return &recorder{reply: func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
		if ev.Text == g.text {
			g.once.Do(func() { close(g.entered) })
			select {
			case <-g.open:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return next(ctx, ev)
	}}
}

// TestOffsetConfirmedOnlyAfterHandling holds one chat's update in its
// handler while another chat's later update completes: the held update is
// never confirmed until it was handled.
func TestOffsetConfirmedOnlyAfterHandling(t *testing.T) {
	ctx := testContext(t)
	srv := newServer(t, telegramtest.Options{})
	slow, fast := user(1), user(2)
	held := srv.UserText(slow, "held")
	later := srv.UserText(fast, "later")
	g := newGate("held")
	ch, _ := newChannel(t, srv, nil)
	r := run(t, ch, g.handler(echo), nil)
	<-g.entered
	if _, err := srv.WaitFor(ctx, telegramtest.SentTo("sendMessage", fast.ID)); err != nil {
		t.Fatal(err)
	}
	// The poller has asked again since it fetched both updates.
	if _, err := srv.WaitN(ctx, 2, telegramtest.Method("getUpdates")); err != nil {
		t.Fatal(err)
	}
	if p := srv.Pending(); !slices.Contains(p, held) || !slices.Contains(p, later) {
		t.Fatalf("pending %v: the held update %d (and %d after it) must stay unconfirmed", p, held, later)
	}
	for _, req := range srv.Requests(telegramtest.Method("getUpdates")) {
		if off := int(req.Int("offset")); off > held {
			t.Fatalf("getUpdates confirmed offset %d past the unhandled update %d", off, held)
		}
	}
	close(g.open)
	if err := srv.WaitDrained(ctx); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	if n := len(srv.Requests(telegramtest.SentTo("sendMessage", fast.ID))); n != 1 {
		t.Fatalf("the later update was answered %d times", n)
	}
}

// TestRestartRedeliversUnhandled stops the channel while an update is
// still being handled: it is not confirmed, and the next run handles it.
// Updates handled after it come again with the same UpdateID, on which
// storage deduplicates.
func TestRestartRedeliversUnhandled(t *testing.T) {
	ctx := testContext(t)
	srv := newServer(t, telegramtest.Options{})
	held := srv.UserText(user(1), "held")
	srv.UserText(user(2), "later")
	g := newGate("held")
	first, _ := newChannel(t, srv, func(c *telegram.Config) { c.ShutdownGrace = 50 * time.Millisecond })
	h1 := g.handler(echo)
	r := run(t, first, h1, nil)
	<-g.entered
	if _, err := srv.WaitFor(ctx, telegramtest.SentTo("sendMessage", 2)); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	if p := srv.Pending(); len(p) == 0 || p[0] != held {
		t.Fatalf("pending after stop %v, want the held update %d first", p, held)
	}

	second, _ := newChannel(t, srv, nil)
	h2 := &recorder{reply: echo}
	r2 := run(t, second, h2, nil)
	if err := srv.WaitDrained(ctx); err != nil {
		t.Fatal(err)
	}
	r2.stop(t)
	if n := len(srv.Requests(telegramtest.SentTo("sendMessage", 1))); n != 1 {
		t.Fatalf("held update answered %d times, want once", n)
	}
	ids := map[string]string{}
	for _, ev := range h1.Events() {
		ids[ev.Text] = ev.UpdateID
	}
	for _, ev := range h2.Events() {
		if first, ok := ids[ev.Text]; ok && first != ev.UpdateID {
			t.Fatalf("redelivered %q has UpdateID %s, first time %s", ev.Text, ev.UpdateID, first)
		}
	}
}

// TestHandlingFailureRetried: a handling that fails for a passing reason
// sends its "temporarily unavailable" reply once and is tried again until it
// succeeds; any other failure is not tried again.
func TestHandlingFailureRetried(t *testing.T) {
	tests := []struct {
		name        string
		fail        func() ([]bot.Reply, error)
		wantCalls   int
		wantAnswers []string
	}{
		{"OKTemporaryRetried", func() ([]bot.Reply, error) {
			return []bot.Reply{{Text: "unavailable"}}, &bot.TemporaryError{Err: errors.New("redis: connection refused")}
		}, 3, []string{"unavailable", "re: 55"}},
		{"ErrPermanentNotRetried", func() ([]bot.Reply, error) {
			return nil, errors.New("no such table")
		}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			srv := newServer(t, telegramtest.Options{})
			srv.UserText(olena, "55")
			var mu sync.Mutex
			calls := 0
			ch, _ := newChannel(t, srv, nil)
			r := run(t, ch, &recorder{reply: func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
				mu.Lock()
				defer mu.Unlock()
				calls++
				if calls < 3 {
					return tt.fail()
				}
				return echo(ctx, ev)
			}}, nil)
			if err := srv.WaitDrained(ctx); err != nil {
				t.Fatal(err)
			}
			r.stop(t)
			var answers []string
			for _, m := range telegramtest.BotMessages(srv.Chat(chatID)) {
				answers = append(answers, m.Text)
			}
			if calls != tt.wantCalls || strings.Join(answers, "|") != strings.Join(tt.wantAnswers, "|") {
				t.Fatalf("handled %d times, answers %q; want %d times, %q", calls, answers, tt.wantCalls, tt.wantAnswers)
			}
		})
	}
}

// TestPollingSurvivesFaults makes getUpdates fail in every way; polling
// carries on and nothing is lost.
func TestPollingSurvivesFaults(t *testing.T) {
	ctx := testContext(t)
	srv := newServer(t, telegramtest.Options{})
	srv.UserText(olena, "1")
	srv.Inject("getUpdates", 1, telegramtest.Disconnect())
	srv.Inject("getUpdates", 1, telegramtest.InternalError())
	srv.Inject("getUpdates", 1, telegramtest.TooManyRequests(1))
	ch, logs := newChannel(t, srv, nil)
	r := run(t, ch, &recorder{reply: echo}, nil)
	if err := srv.WaitDrained(ctx); err != nil {
		t.Fatal(err)
	}
	srv.UserText(olena, "2")
	if err := srv.WaitDrained(ctx); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	var got []string
	for _, m := range telegramtest.BotMessages(srv.Chat(chatID)) {
		got = append(got, m.Text)
	}
	if !slices.Equal(got, []string{"re: 1", "re: 2"}) {
		t.Fatalf("answers %v", got)
	}
	if out := logs.String(); strings.Contains(out, srv.Token()) || strings.Contains(out, strings.Split(srv.Token(), ":")[1]) {
		t.Fatalf("logs reveal the token:\n%s", out)
	}
}

// TestUndecodableUpdateSkipped: an update the library cannot read does not
// block the ones after it.
func TestUndecodableUpdateSkipped(t *testing.T) {
	ctx := testContext(t)
	srv := newServer(t, telegramtest.Options{})
	if _, err := srv.Enqueue([]byte(`{"message":"not an object"}`)); err != nil {
		t.Fatal(err)
	}
	srv.UserText(olena, "ok")
	ch, _ := newChannel(t, srv, nil)
	r := run(t, ch, &recorder{reply: echo}, nil)
	if err := srv.WaitDrained(ctx); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	if m := telegramtest.BotMessages(srv.Chat(chatID)); len(m) != 1 || m[0].Text != "re: ok" {
		t.Fatalf("answers %+v", m)
	}
}

// TestRevokedToken stops Run with an error when getUpdates answers 401.
func TestRevokedToken(t *testing.T) {
	srv := newServer(t, telegramtest.Options{})
	srv.Inject("getUpdates", 1, telegramtest.Fault{Status: http.StatusUnauthorized, Description: "Unauthorized"})
	ch, _ := newChannel(t, srv, nil)
	err := ch.Run(testContext(t), &recorder{}, direct{ch})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Run = %v, want a 401 error", err)
	}
}

// webhookChannel runs a channel in webhook mode behind an HTTP server whose
// URL is the webhook.
func webhookChannel(t *testing.T, srv *telegramtest.Server, h bot.Handler) (*telegram.Channel, *httptest.Server, *running, *syncBuffer) {
	t.Helper()
	var handler http.Handler = http.NotFoundHandler()
	var mu sync.Mutex
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hh := handler
		mu.Unlock()
		hh.ServeHTTP(w, r)
	}))
	t.Cleanup(hook.Close)
	ch, logs := newChannel(t, srv, func(c *telegram.Config) {
		c.WebhookURL = hook.URL + "/telegram"
		c.WebhookSecret = "s3cret-Token_1"
	})
	mu.Lock()
	handler = ch
	mu.Unlock()
	r := run(t, ch, h, nil)
	if _, err := srv.WaitFor(testContext(t), telegramtest.Method("setWebhook")); err != nil {
		t.Fatal(err)
	}
	return ch, hook, r, logs
}

func TestWebhook(t *testing.T) {
	srv := newServer(t, telegramtest.Options{AllowHTTPWebhook: true})
	srv.AddUser(olena)
	fail := false
	var mu sync.Mutex
	h := &recorder{reply: func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return nil, errors.New("database is locked")
		}
		return echo(ctx, ev)
	}}
	_, hook, r, logs := webhookChannel(t, srv, h)
	defer r.stop(t)
	set := srv.Requests(telegramtest.Method("setWebhook"))[0]
	if set.Params["url"] != hook.URL+"/telegram" || set.Params["secret_token"] != "s3cret-Token_1" ||
		set.Params["allowed_updates"] != `["message","callback_query"]` {
		t.Fatalf("setWebhook params %v", set.Params)
	}
	update := func(id int, text string) string {
		return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1441645532,"from":{"id":%d,"is_bot":false,"first_name":"Олена"},"chat":{"id":%d,"type":"private"},"text":%q}}`,
			id, id, chatID, chatID, text)
	}
	tests := []struct {
		name       string
		method     string
		secret     *string
		body       string
		fail       bool
		wantStatus int
		wantEvents int
	}{
		{"ErrWrongSecret", http.MethodPost, ptr("wrong"), update(500, "wrong secret"), false, http.StatusUnauthorized, 0},
		{"ErrSecretPrefix", http.MethodPost, ptr("s3cret"), update(501, "prefix"), false, http.StatusUnauthorized, 0},
		{"ErrMissingSecret", http.MethodPost, nil, update(502, "no secret"), false, http.StatusUnauthorized, 0},
		{"ErrGet", http.MethodGet, ptr("s3cret-Token_1"), "", false, http.StatusMethodNotAllowed, 0},
		{"ErrNotJSON", http.MethodPost, ptr("s3cret-Token_1"), "not json", false, http.StatusBadRequest, 0},
		{"ErrHandlingFailed", http.MethodPost, ptr("s3cret-Token_1"), update(503, "fails"), true, http.StatusInternalServerError, 1},
		{"OKAfterFailure", http.MethodPost, ptr("s3cret-Token_1"), update(503, "fails"), false, http.StatusOK, 1},
		{"OKRedeliverySkipped", http.MethodPost, ptr("s3cret-Token_1"), update(503, "fails"), false, http.StatusOK, 0},
		{"OK", http.MethodPost, ptr("s3cret-Token_1"), update(504, "привіт"), false, http.StatusOK, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			fail = tt.fail
			mu.Unlock()
			before := len(h.Events())
			req, err := http.NewRequest(tt.method, hook.URL+"/telegram", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.secret != nil {
				req.Header.Set(telegram.SecretHeader, *tt.secret)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if n := len(h.Events()) - before; n != tt.wantEvents {
				t.Fatalf("handled %d events, want %d", n, tt.wantEvents)
			}
		})
	}
	// Answered 200 only after the reply went out.
	var answers []string
	for _, m := range telegramtest.BotMessages(srv.Chat(chatID)) {
		answers = append(answers, m.Text)
	}
	if !slices.Equal(answers, []string{"re: fails", "re: привіт"}) {
		t.Fatalf("answers %v", answers)
	}
	if out := logs.String(); strings.Contains(out, "s3cret") || strings.Contains(out, "привіт") || strings.Contains(out, srv.Token()) {
		t.Fatalf("logs reveal a secret or a message text:\n%s", out)
	}
}

// TestStopWhileSettingWebhook: a stop that comes while setWebhook is on its
// way is a stop, not a failure of Run.
func TestStopWhileSettingWebhook(t *testing.T) {
	srv := newServer(t, telegramtest.Options{AllowHTTPWebhook: true})
	srv.Inject("setWebhook", 1, telegramtest.Fault{Delay: time.Minute})
	ch, _ := newChannel(t, srv, func(c *telegram.Config) {
		c.WebhookURL = "http://127.0.0.1:1/telegram"
		c.WebhookSecret = "s3cret-Token_1"
	})
	// The answer is held back far longer than the test runs, so the stop
	// comes before it, whenever it comes.
	run(t, ch, &recorder{reply: echo}, nil).stop(t)
}

// TestWebhookDeliveredByTelegram lets the fake Bot API deliver bursts from
// several chats to the webhook: all handled, each chat in order.
func TestWebhookDeliveredByTelegram(t *testing.T) {
	ctx := testContext(t)
	srv := newServer(t, telegramtest.Options{AllowHTTPWebhook: true, WebhookRetry: 10 * time.Millisecond})
	h := &recorder{reply: echo}
	_, _, r, _ := webhookChannel(t, srv, h)
	const chats, perChat = 5, 6
	for i := range perChat {
		for c := range chats {
			srv.UserText(user(int64(2000+c)), strconv.Itoa(i))
		}
	}
	if err := srv.WaitDrained(ctx); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	for c := range chats {
		var got []string
		for _, m := range telegramtest.BotMessages(srv.Chat(int64(2000 + c))) {
			got = append(got, m.Text)
		}
		want := []string{"re: 0", "re: 1", "re: 2", "re: 3", "re: 4", "re: 5"}
		if !slices.Equal(got, want) {
			t.Errorf("chat %d answers %v", 2000+c, got)
		}
	}
	if info := srv.Webhook(); info.Failures != 0 {
		t.Fatalf("%d webhook deliveries failed: %s", info.Failures, info.LastErrorMessage)
	}
}

// TestThroughSender runs replies through the real bot.Sender: a 429 is
// waited out and sent once, a 5xx retried, a 403 reported to OnBlocked, and
// the update is confirmed in every case.
func TestThroughSender(t *testing.T) {
	tests := []struct {
		name        string
		fault       telegramtest.Fault
		wantSent    int
		wantBlocked []string
	}{
		{"OKRetryAfter", telegramtest.TooManyRequests(1), 1, nil},
		{"OKTemporary", telegramtest.InternalError(), 1, nil},
		{"ErrBlocked", telegramtest.Blocked(), 0, []string{strconv.Itoa(chatID)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			srv := newServer(t, telegramtest.Options{})
			srv.UserText(olena, "/start")
			srv.Inject("sendMessage", 1, tt.fault)
			var mu sync.Mutex
			var blocked []string
			ch, _ := newChannel(t, srv, nil)
			sender := bot.NewSender(ch, bot.SenderOptions{BaseBackoff: 10 * time.Millisecond, OnBlocked: func(chat string) {
				mu.Lock()
				defer mu.Unlock()
				blocked = append(blocked, chat)
			}})
			r := run(t, ch, &recorder{reply: echo}, sender)
			if err := srv.WaitDrained(ctx); err != nil {
				t.Fatal(err)
			}
			r.stop(t)
			if n := len(telegramtest.BotMessages(srv.Chat(chatID))); n != tt.wantSent {
				t.Fatalf("%d messages sent, want %d", n, tt.wantSent)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(blocked, tt.wantBlocked) {
				t.Fatalf("OnBlocked got %v, want %v", blocked, tt.wantBlocked)
			}
		})
	}
}
