package viber_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/bot/viber"
	"github.com/hromadabot/hromadabot/bot/vibertest"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// senderName is the name every test channel sends with.
const senderName = "Цифрова громада"

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
	reply := r.reply
	r.mu.Unlock()
	if reply == nil {
		return nil, nil
	}
	return reply(ctx, ev)
}

// setReply changes the answer of the events still to come.
func (r *recorder) setReply(reply func(ctx context.Context, ev bot.Event) ([]bot.Reply, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reply = reply
}

func (r *recorder) Events() []bot.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Event(nil), r.events...)
}

// answer is a handler's answer of fixed replies.
func answer(replies ...bot.Reply) func(context.Context, bot.Event) ([]bot.Reply, error) {
	return func(context.Context, bot.Event) ([]bot.Reply, error) { return replies, nil }
}

// direct sends every reply straight through the channel, without the rate
// limits and retries of the real Sender, so that each message the fake
// records maps to one reply.
type direct struct{ ch *viber.Channel }

func (d direct) Send(ctx context.Context, out bot.Outgoing) error { return d.ch.Deliver(ctx, out) }

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// hookWatch is the channel's HTTP transport: it tells when set_webhook
// was answered, by which time the fake has recorded the webhook.
type hookWatch struct {
	base http.RoundTripper
	once sync.Once
	set  chan struct{}
}

func (w *hookWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.base.RoundTrip(r)
	if strings.HasSuffix(r.URL.Path, "/set_webhook") {
		w.once.Do(func() { close(w.set) })
	}
	return resp, err
}

// callbackStatus is one callback the webhook answered.
type callbackStatus struct {
	event  string
	status int
}

// statusWriter keeps the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// env is a channel wired to a fake Viber, a webhook server and a real
// database, with the callbacks' answers and the OnGone and OnReceipt
// calls recorded.
type env struct {
	srv   *vibertest.Server
	hook  *httptest.Server
	mux   *http.ServeMux
	ch    *viber.Channel
	db    *sqldb.DB
	clock *clock
	watch *hookWatch
	h     *recorder

	mu        sync.Mutex
	gone      []string
	receipts  []string
	callbacks []callbackStatus
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newEnv makes the channel; edit changes its configuration before New.
func newEnv(t *testing.T, edit func(*viber.Config)) *env {
	t.Helper()
	ctx := testContext(t)
	e := &env{
		srv: vibertest.New(vibertest.Options{}),
		mux: http.NewServeMux(),
		// The clock starts at the real time: the database stamps the files
		// it keeps with its own, and Run prunes pictures by the channel's.
		clock: &clock{t: time.Now()},
		h:     &recorder{},
	}
	t.Cleanup(e.srv.Close)
	e.hook = httptest.NewServer(e.mux)
	t.Cleanup(e.hook.Close)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hromada.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	e.db = db
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	e.watch = &hookWatch{base: base, set: make(chan struct{})}
	cfg := viber.Config{
		Token:         e.srv.Token(),
		APIURL:        e.srv.URL(),
		WebhookURL:    e.hook.URL + "/viber",
		PublicURL:     e.hook.URL,
		SenderName:    senderName,
		Files:         db,
		Workers:       4,
		ShutdownGrace: 5 * time.Second,
		HTTPClient:    &http.Client{Transport: e.watch},
		Now:           e.clock.Now,
		OnGone: func(id string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.gone = append(e.gone, id)
		},
		OnReceipt: func(event string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.receipts = append(e.receipts, event)
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	ch, err := viber.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.ch = ch
	e.mux.Handle("POST /viber", e.record(ch))
	e.mux.Handle(ch.MediaPattern(), ch.MediaHandler())
	return e
}

// record notes the event and the answer of every callback.
func (e *env) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var peek struct {
			Event string `json:"event"`
		}
		_ = json.Unmarshal(body, &peek)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		e.mu.Lock()
		defer e.mu.Unlock()
		e.callbacks = append(e.callbacks, callbackStatus{event: peek.Event, status: sw.status})
	})
}

func (e *env) Gone() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.gone...)
}

func (e *env) Receipts() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.receipts...)
}

func (e *env) Callbacks() []callbackStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]callbackStatus(nil), e.callbacks...)
}

// running is a channel receiving callbacks; stop cancels it and waits.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// wait returns Run's error once it returned.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := r.wait(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// start runs the channel with the recorder and s (direct when nil) and
// returns once the webhook is set.
func (e *env) start(t *testing.T, s bot.ReplySender) *running {
	t.Helper()
	r := e.run(t, s)
	select {
	case <-e.watch.set:
	case <-r.done:
		t.Fatalf("Run returned before the webhook was set: %v", r.err)
	case <-time.After(15 * time.Second):
		t.Fatal("the webhook was not set")
	}
	if url, _ := e.srv.Webhook(); url != e.hook.URL+"/viber" {
		t.Fatalf("webhook %q, want %q", url, e.hook.URL+"/viber")
	}
	return r
}

// run runs the channel without waiting for the webhook.
func (e *env) run(t *testing.T, s bot.ReplySender) *running {
	t.Helper()
	if s == nil {
		s = direct{e.ch}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = e.ch.Run(ctx, e.h, s)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// user is a Viber person; their ids look like Viber's, with / and +.
func user(n int) vibertest.User {
	return vibertest.User{ID: fmt.Sprintf("xy5/5y6O81+/kbWH%04d==", n), Name: fmt.Sprintf("Мешканка %d", n), Language: "uk"}
}

// ok returns a check of a callback, which fails the test unless the
// callback was posted and answered 200: ok(t)(srv.Text(u, "привіт")).
func ok(t *testing.T) func(vibertest.Delivery, error) vibertest.Delivery {
	t.Helper()
	return func(d vibertest.Delivery, err error) vibertest.Delivery {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != http.StatusOK {
			t.Fatalf("callback answered %d %q, want 200", d.Status, d.Body)
		}
		return d
	}
}

// pngImage is a real PNG of a few pixels; shade makes distinct ones.
func pngImage(t *testing.T, shade uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	for x := range 4 {
		for y := range 3 {
			img.Set(x, y, color.RGBA{R: shade, G: uint8(40 * x), B: uint8(60 * y), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// messageCallback is a raw message callback of a text from id.
func messageCallback(token int64, id, text string) []byte {
	b, _ := json.Marshal(map[string]any{
		"event": "message", "timestamp": 1481142112807, "message_token": token,
		"sender":  map[string]any{"id": id, "name": "Олена", "language": "uk"},
		"message": map[string]any{"type": "text", "text": text},
	})
	return b
}

// texts are the texts of messages.
func texts(ms []vibertest.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

// labels are the labels of a keyboard's rows as Viber lays them out.
func labels(kb *vibertest.Keyboard) [][]string {
	if kb == nil {
		return nil
	}
	var out [][]string
	for _, row := range kb.Rows() {
		var r []string
		for _, b := range row {
			r = append(r, b.Text)
		}
		out = append(out, r)
	}
	return out
}
