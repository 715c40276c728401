package viber_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/bot/viber"
	"github.com/hromadabot/hromadabot/bot/vibertest"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

var _ bot.Transport = (*viber.Channel)(nil)
var _ http.Handler = (*viber.Channel)(nil)
var _ viber.Files = (*sqldb.DB)(nil)

// TestNew checks the configuration before any call and the token with
// get_account_info.
func TestNew(t *testing.T) {
	db, err := sqlite.Open(testContext(t), filepath.Join(t.TempDir(), "hromada.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tests := []struct {
		name string
		edit func(*viber.Config)
		// calls is how many get_account_info calls New makes.
		calls int
		// status is the *viber.Error's Status wanted; 0 for any error.
		status  int
		wantErr bool
	}{
		{name: "OK", calls: 1},
		{name: "OKSenderNameOf28Characters", edit: func(c *viber.Config) { c.SenderName = strings.Repeat("г", viber.MaxSenderName) }, calls: 1},
		{name: "OKAPIURLWithTrailingSlash", edit: func(c *viber.Config) { c.APIURL += "/" }, calls: 1},
		{name: "ErrWrongToken", edit: func(c *viber.Config) { c.Token = "445da6az1s345z78-dazcczb2542zv51a-wrongtoken" }, calls: 1, status: 2, wantErr: true},
		{name: "ErrTokenEmpty", edit: func(c *viber.Config) { c.Token = "" }, wantErr: true},
		{name: "ErrSenderNameOf29Characters", edit: func(c *viber.Config) { c.SenderName = strings.Repeat("г", viber.MaxSenderName+1) }, wantErr: true},
		{name: "ErrSenderNameBlank", edit: func(c *viber.Config) { c.SenderName = "  " }, wantErr: true},
		{name: "ErrWebhookURLNotURL", edit: func(c *viber.Config) { c.WebhookURL = "hromada.example.org/viber" }, wantErr: true},
		{name: "ErrWebhookURLNotHTTP", edit: func(c *viber.Config) { c.WebhookURL = "ftp://hromada.example.org/viber" }, wantErr: true},
		{name: "ErrPublicURLEmpty", edit: func(c *viber.Config) { c.PublicURL = "" }, wantErr: true},
		{name: "ErrAPIURLNotURL", edit: func(c *viber.Config) { c.APIURL = "chatapi.viber.com" }, wantErr: true},
		{name: "ErrSenderAvatarNotURL", edit: func(c *viber.Config) { c.SenderAvatar = "avatar.png" }, wantErr: true},
		{name: "ErrFilesMissing", edit: func(c *viber.Config) { c.Files = nil }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := vibertest.New(vibertest.Options{})
			t.Cleanup(srv.Close)
			cfg := viber.Config{
				Token:      srv.Token(),
				APIURL:     srv.URL(),
				WebhookURL: "https://hromada.example.org/viber",
				PublicURL:  "https://hromada.example.org",
				SenderName: senderName,
				Files:      db,
			}
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			ch, err := viber.New(testContext(t), cfg)
			if n := len(srv.Calls("")); n != tt.calls {
				t.Errorf("%d calls made, want %d: %+v", n, tt.calls, srv.Calls(""))
			}
			if tt.calls > 0 {
				if calls := srv.Calls(""); len(calls) > 0 && calls[0].Method != "get_account_info" {
					t.Errorf("New called %s, want get_account_info", calls[0].Method)
				}
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				want := viber.Account{ID: "pa:75346594275468546724", Name: "Hromada Bot", URI: "hromadabot"}
				if got := ch.Account(); got != want {
					t.Errorf("Account() = %+v, want %+v", got, want)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if ch != nil {
				t.Errorf("New returned a channel with the error %v", err)
			}
			if tt.status != 0 {
				var verr *viber.Error
				if !errors.As(err, &verr) {
					t.Fatalf("error %v is not a *viber.Error", err)
				}
				if verr.Status != tt.status || verr.Method != "get_account_info" {
					t.Errorf("error %+v, want status %d of get_account_info", verr, tt.status)
				}
			}
			if strings.Contains(err.Error(), srv.Token()) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

// TestRunSetsWebhook: Run asks for the callbacks the bot acts on, and the
// channel answers Viber's check of the webhook with 200.
func TestRunSetsWebhook(t *testing.T) {
	e := newEnv(t, nil)
	r := e.start(t, nil)
	url, events := e.srv.Webhook()
	if url != e.hook.URL+"/viber" {
		t.Errorf("webhook %q, want %q", url, e.hook.URL+"/viber")
	}
	for _, want := range []string{"conversation_started", "subscribed", "unsubscribed", "delivered", "seen", "failed"} {
		if !slices.Contains(events, want) {
			t.Errorf("event types %v lack %s", events, want)
		}
	}
	calls := e.srv.Calls("set_webhook")
	if len(calls) != 1 || calls[0].Status != 0 {
		t.Fatalf("set_webhook calls %+v, want one answered status 0", calls)
	}
	var req struct {
		SendName bool `json:"send_name"`
	}
	if err := json.Unmarshal(calls[0].Body, &req); err != nil || !req.SendName {
		t.Errorf("set_webhook body %s: want send_name true (%v)", calls[0].Body, err)
	}
	if got := e.Callbacks(); !slices.Contains(got, callbackStatus{event: "webhook", status: http.StatusOK}) {
		t.Errorf("callbacks answered %+v, want the webhook check answered 200", got)
	}
	r.stop(t)
	if url, _ := e.srv.Webhook(); url == "" {
		t.Error("the webhook was removed on stop; Viber keeps what comes meanwhile only while it is set")
	}
}

// TestRunTwice: a channel runs once.
func TestRunTwice(t *testing.T) {
	e := newEnv(t, nil)
	e.start(t, nil)
	second := e.run(t, nil)
	if err := second.wait(t); err == nil {
		t.Fatal("a second Run returned nil, want an error")
	}
	if n := len(e.srv.Calls("set_webhook")); n != 1 {
		t.Errorf("%d set_webhook calls, want 1", n)
	}
}

// TestSignature: only a callback signed with the token is handled.
func TestSignature(t *testing.T) {
	e := newEnv(t, nil)
	e.start(t, nil)
	u := user(1)
	tests := []struct {
		name   string
		sign   func(raw []byte) string
		status int
		events int
	}{
		{name: "ErrNoSignature", sign: func([]byte) string { return "" }, status: http.StatusUnauthorized},
		{name: "ErrOtherToken", sign: func(raw []byte) string { return vibertest.Sign("another-bot-token", raw) }, status: http.StatusForbidden},
		{name: "ErrOtherBody", sign: func(raw []byte) string {
			return vibertest.Sign(e.srv.Token(), messageCallback(1, u.ID, "інший текст"))
		}, status: http.StatusForbidden},
		{name: "ErrTruncated", sign: func(raw []byte) string { return vibertest.Sign(e.srv.Token(), raw)[:32] }, status: http.StatusForbidden},
		{name: "ErrNotHex", sign: func([]byte) string { return "not a signature" }, status: http.StatusForbidden},
		{name: "OK", sign: func(raw []byte) string { return vibertest.Sign(e.srv.Token(), raw) }, status: http.StatusOK, events: 1},
		{name: "OKUpperCaseHex", sign: func(raw []byte) string { return strings.ToUpper(vibertest.Sign(e.srv.Token(), raw)) }, status: http.StatusOK, events: 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.h.Events())
			raw := messageCallback(int64(7000000000000000000+i), u.ID, "Скільки балів у Бучі?")
			d, err := e.srv.DeliverSigned(raw, tt.sign(raw))
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != tt.status {
				t.Errorf("answered %d, want %d", d.Status, tt.status)
			}
			if got := len(e.h.Events()) - before; got != tt.events {
				t.Errorf("the handler saw %d events, want %d", got, tt.events)
			}
		})
	}
}

// TestServeHTTPRefuses: what is not a well-formed callback is refused
// before it reaches the handler.
func TestServeHTTPRefuses(t *testing.T) {
	e := newEnv(t, nil)
	e.start(t, nil)
	token := e.srv.Token()
	tests := []struct {
		name   string
		method string
		body   []byte
		status int
	}{
		{name: "ErrMethodGet", method: http.MethodGet, body: nil, status: http.StatusMethodNotAllowed},
		{name: "ErrNotJSON", method: http.MethodPost, body: []byte("event=message"), status: http.StatusBadRequest},
		{name: "ErrNoEvent", method: http.MethodPost, body: []byte(`{"timestamp":1481142112807}`), status: http.StatusBadRequest},
		{name: "ErrMessageWithoutSender", method: http.MethodPost, body: []byte(`{"event":"message","message_token":1,"message":{"type":"text","text":"привіт"}}`), status: http.StatusBadRequest},
		{name: "ErrMessageWithoutMessage", method: http.MethodPost, body: []byte(`{"event":"message","message_token":2,"sender":{"id":"01234567890A="}}`), status: http.StatusBadRequest},
		{name: "ErrTooLarge", method: http.MethodPost, body: []byte(`{"event":"message","pad":"` + strings.Repeat("x", 2<<20) + `"}`), status: http.StatusRequestEntityTooLarge},
		{name: "OKUnknownEvent", method: http.MethodPost, body: []byte(`{"event":"client_status","message_token":3}`), status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/viber", strings.NewReader(string(tt.body)))
			req.Header.Set(viber.SignatureHeader, viber.Sign(token, tt.body))
			w := httptest.NewRecorder()
			e.ch.ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Errorf("answered %d %q, want %d", w.Code, w.Body.String(), tt.status)
			}
			if tt.status == http.StatusMethodNotAllowed && w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow %q, want POST", w.Header().Get("Allow"))
			}
		})
	}
	if n := len(e.h.Events()); n != 0 {
		t.Errorf("the handler saw %d events, want none", n)
	}
}

// TestSignMatchesFake: the channel's Sign is the signature the fake, and
// Viber, give a body.
func TestSignMatchesFake(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{name: "OKEmpty", body: ""},
		{name: "OKCallback", body: `{"event":"webhook","timestamp":1457764197627,"message_token":5916836919477944763}`},
		{name: "OKCyrillic", body: `{"text":"Бучанська громада"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := viber.Sign("token", []byte(tt.body)), vibertest.Sign("token", []byte(tt.body))
			if got != want {
				t.Errorf("Sign = %s, want %s", got, want)
			}
			if got != strings.ToLower(got) || len(got) != 64 {
				t.Errorf("Sign = %s, want 64 lowercase hex digits", got)
			}
		})
	}
}
