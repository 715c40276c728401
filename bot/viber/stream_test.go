package viber_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/bot/viber"
	"github.com/hromadabot/hromadabot/bot/vibertest"
	"github.com/hromadabot/hromadabot/storage/redis"
	"github.com/hromadabot/hromadabot/storage/redis/redistest"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// TestStreamTwoProcesses runs two processes of the bot on one Redis behind
// a load balancer, with one Viber bot: a message delivered to both is
// handled once; a person opening the chat gets the welcome in the answer
// of the process Viber called; a picture is downloaded by the process
// that handles it.
func TestStreamTwoProcesses(t *testing.T) {
	ctx := testContext(t)
	srv := vibertest.New(vibertest.Options{})
	t.Cleanup(srv.Close)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hromada.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	opts, prefix := redistest.Open(t)
	h := &recorder{reply: func(_ context.Context, ev bot.Event) ([]bot.Reply, error) {
		switch {
		case ev.Text == "/start":
			return []bot.Reply{{Text: "Вітаємо!"}}, nil
		case ev.Attachment != nil:
			return []bot.Reply{{Text: "файл " + ev.Attachment.FileID}}, nil
		}
		return []bot.Reply{{Text: "re: " + ev.Text}}, nil
	}}

	hooks := map[string]string{}
	for _, name := range []string{"a", "b"} {
		client := goredis.NewClient(opts)
		t.Cleanup(func() { client.Close() })
		mux := http.NewServeMux()
		hook := httptest.NewServer(mux)
		t.Cleanup(hook.Close)
		base := http.DefaultTransport.(*http.Transport).Clone()
		t.Cleanup(base.CloseIdleConnections)
		watch := &hookWatch{base: base, set: make(chan struct{})}
		ch, err := viber.New(ctx, viber.Config{
			Token: srv.Token(), APIURL: srv.URL(), WebhookURL: hook.URL + "/viber", PublicURL: hook.URL,
			SenderName: senderName, Files: db, Workers: 4, ShutdownGrace: 5 * time.Second,
			HTTPClient: &http.Client{Transport: watch},
			Stream:     redis.NewStream(client, redis.StreamOptions{Prefix: prefix, Channel: "viber", Shards: 4}),
			Leases:     redis.NewLeases(client, prefix, "viber"),
			LeaseTTL:   time.Second,
			Owner:      name,
		})
		if err != nil {
			t.Fatal(err)
		}
		mux.Handle("POST /viber", ch)
		mux.Handle(ch.MediaPattern(), ch.MediaHandler())
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := ch.Run(runCtx, h, direct{ch}); err != nil {
				t.Errorf("%s: Run: %v", name, err)
			}
		}()
		t.Cleanup(func() { cancel(); <-done })
		<-watch.set
		hooks[name] = hook.URL + "/viber"
	}
	post := func(t *testing.T, hook string, raw []byte) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, hook, bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(viber.SignatureHeader, viber.Sign(srv.Token(), raw))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	olena := user(1)
	srv.AddUser(olena)

	t.Run("OKDeliveredTwiceHandledOnce", func(t *testing.T) {
		first := messageCallback(9001, olena.ID, "привіт")
		for _, hook := range []string{hooks["a"], hooks["b"]} {
			if status := post(t, hook, first); status != http.StatusOK {
				t.Fatalf("status %d, want 200", status)
			}
		}
		// After everything of the chat before it: once it is answered, a
		// second handling of the first would have been too.
		if status := post(t, hooks["b"], messageCallback(9002, olena.ID, "потім")); status != http.StatusOK {
			t.Fatalf("status %d, want 200", status)
		}
		got, err := srv.WaitN(ctx, 2, func(m vibertest.Message) bool { return m.Receiver == olena.ID })
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"re: привіт", "re: потім"}; !slices.Equal(texts(got), want) {
			t.Fatalf("answers %v, want %v", texts(got), want)
		}
		n := 0
		for _, ev := range h.Events() {
			if ev.UpdateID == viber.UpdateID("9001") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("the message delivered twice was handled %d times, want once", n)
		}
	})
	t.Run("OKWelcomeInTheAnswer", func(t *testing.T) {
		newcomer := user(2)
		d := ok(t)(srv.ConversationStarted(newcomer, ""))
		if !bytes.Contains(d.Body, []byte("Вітаємо!")) {
			t.Fatalf("answer %q, want the welcome", d.Body)
		}
		if m := srv.MessagesTo(newcomer.ID); len(m) != 1 || !m[0].Welcome {
			t.Fatalf("messages to the newcomer %+v, want the welcome alone", m)
		}
	})
	t.Run("OKPictureKeptByTheHandler", func(t *testing.T) {
		img := pngImage(t, 7)
		ok(t)(srv.Picture(olena, img, "фото"))
		id := hromadabot.FileID(img)
		if _, err := srv.WaitFor(ctx, func(m vibertest.Message) bool { return m.Text == "файл "+id }); err != nil {
			t.Fatal(err)
		}
		if f, err := db.File(ctx, id); err != nil || !bytes.Equal(f.Data, img) {
			t.Fatalf("kept file: %v", err)
		}
	})
}
