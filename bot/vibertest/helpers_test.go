package vibertest_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot/vibertest"
)

var (
	olena = vibertest.User{ID: "01234567890A=", Name: "Олена", Avatar: "https://avatar.example.com/olena.jpg", Country: "UA", Language: "uk", APIVersion: 10}
	taras = vibertest.User{ID: "xy5/5y6O81+/kbWHpLhBoA==", Name: "Тарас"}
)

func newServer(t *testing.T, opts vibertest.Options) *vibertest.Server {
	t.Helper()
	s := vibertest.New(opts)
	t.Cleanup(s.Close)
	return s
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// answer is a decoded API answer.
type answer struct {
	HTTPStatus    int
	ContentType   string
	Body          []byte
	Status        int      `json:"status"`
	StatusMessage string   `json:"status_message"`
	MessageToken  int64    `json:"message_token"`
	ChatHostname  string   `json:"chat_hostname"`
	EventTypes    []string `json:"event_types"`
	FailedList    []struct {
		Receiver      string `json:"receiver"`
		Status        int    `json:"status"`
		StatusMessage string `json:"status_message"`
	} `json:"failed_list"`
}

// do sends a raw request to a method; token "" sends no auth header.
func do(t *testing.T, s *vibertest.Server, httpMethod, method, token string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(httpMethod, s.URL()+"/"+method, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Viber-Auth-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	a := answer{HTTPStatus: resp.StatusCode, ContentType: resp.Header.Get("Content-Type")}
	if a.Body, err = io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(a.Body, &a); err != nil {
			t.Fatalf("%s: answer is not JSON: %q", method, a.Body)
		}
	}
	return a
}

// call calls a method as the bot does: POST, JSON, the right token.
func call(t *testing.T, s *vibertest.Server, method string, body any) answer {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, s, http.MethodPost, method, s.Token(), b)
}

// text is a valid send_message body of a text to receiver.
func text(receiver, s string) map[string]any {
	return map[string]any{"receiver": receiver, "min_api_version": 1, "sender": map[string]any{"name": "Громада"}, "type": "text", "text": s}
}

func wantStatus(t *testing.T, a answer, status int, message string) {
	t.Helper()
	if a.HTTPStatus != http.StatusOK || a.Status != status || (message != "" && a.StatusMessage != message) {
		t.Fatalf("got HTTP %d status %d %q, want status %d %q", a.HTTPStatus, a.Status, a.StatusMessage, status, message)
	}
}

// callback is one request the webhook got.
type callback struct {
	Raw       []byte
	Signature string
	Valid     bool
	Fields    map[string]any
}

func (c callback) event() string { e, _ := c.Fields["event"].(string); return e }

// token decodes the message_token exactly, which a float64 cannot hold.
func (c callback) token() int64 {
	var v struct {
		MessageToken int64 `json:"message_token"`
	}
	json.Unmarshal(c.Raw, &v)
	return v.MessageToken
}

// object returns a member object of the callback, nil when absent.
func (c callback) object(name string) map[string]any {
	m, _ := c.Fields[name].(map[string]any)
	return m
}

// hook is the bot's end of the callbacks in these tests: it checks every
// signature as a bot must, refuses a bad one with 403, records what came
// and answers as told.
type hook struct {
	srv   *httptest.Server
	token string

	mu     sync.Mutex
	got    []callback
	status int
	reply  func(event string) []byte
}

func newHook(t *testing.T, token string) *hook {
	t.Helper()
	h := &hook{token: token, status: http.StatusOK}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	sig := r.Header.Get("X-Viber-Content-Signature")
	c := callback{Raw: raw, Signature: sig,
		Valid: sig != "" && hmac.Equal([]byte(sig), []byte(vibertest.Sign(h.token, raw))) && r.Method == http.MethodPost &&
			r.Header.Get("Content-Type") == "application/json"}
	json.Unmarshal(raw, &c.Fields)
	h.mu.Lock()
	h.got = append(h.got, c)
	status, reply := h.status, h.reply
	h.mu.Unlock()
	if !c.Valid {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	w.WriteHeader(status)
	if reply != nil {
		w.Write(reply(c.event()))
	}
}

func (h *hook) setStatus(status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = status
}

func (h *hook) setReply(reply func(event string) []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reply = reply
}

// callbacks returns what the webhook got of an event ("" for all).
func (h *hook) callbacks(event string) []callback {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []callback
	for _, c := range h.got {
		if event == "" || c.event() == event {
			out = append(out, c)
		}
	}
	return out
}

// last returns the latest callback, failing when there is none or its
// signature did not verify.
func (h *hook) last(t *testing.T) callback {
	t.Helper()
	all := h.callbacks("")
	if len(all) == 0 {
		t.Fatal("the webhook got no callback")
	}
	c := all[len(all)-1]
	if !c.Valid {
		t.Fatalf("callback %s has a bad signature %q", c.Raw, c.Signature)
	}
	return c
}

// serveHook starts a webhook and sets it on s with names and photos.
func serveHook(t *testing.T, s *vibertest.Server) *hook {
	t.Helper()
	h := newHook(t, s.Token())
	a := call(t, s, "set_webhook", map[string]any{"url": h.srv.URL + "/viber", "send_name": true, "send_photo": true})
	wantStatus(t, a, 0, "ok")
	return h
}
