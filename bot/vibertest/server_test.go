package vibertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot/vibertest"
)

// padded is a get_account_info body of exactly n bytes.
func padded(t *testing.T, n int) []byte {
	t.Helper()
	b := []byte(`{"pad":"` + strings.Repeat("x", n-len(`{"pad":""}`)) + `"}`)
	if len(b) != n {
		t.Fatalf("padded body is %d bytes, want %d", len(b), n)
	}
	return b
}

func TestCallEnvelope(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	tests := []struct {
		name       string
		httpMethod string
		method     string
		token      string
		body       []byte
		status     int
		message    string
	}{
		{"OK", "POST", "get_account_info", s.Token(), []byte(`{}`), 0, "ok"},
		{"OKBodyOf30KB", "POST", "get_account_info", s.Token(), padded(t, vibertest.MaxBodySize), 0, "ok"},
		{"ErrMissingToken", "POST", "get_account_info", "", []byte(`{}`), 2, "missing_auth_token"},
		{"ErrWrongToken", "POST", "get_account_info", "4453b6ac1s345678-e02c5f12174805f9-daec6a8a0d8bdc4e", []byte(`{}`), 2, "invalidAuthToken"},
		{"ErrBodyOver30KB", "POST", "get_account_info", s.Token(), padded(t, vibertest.MaxBodySize+1), 3, ""},
		{"ErrNotPost", "GET", "get_account_info", s.Token(), nil, 3, ""},
		{"ErrUnknownMethod", "POST", "send_hologram", s.Token(), []byte(`{}`), 3, ""},
		{"ErrMalformedJSON", "POST", "send_message", s.Token(), []byte(`{"receiver":`), 3, ""},
		{"ErrNotAnObject", "POST", "get_account_info", s.Token(), []byte(`[]`), 3, ""},
		{"ErrWrongFieldType", "POST", "send_message", s.Token(), []byte(`{"receiver":42}`), 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Calls(""))
			a := do(t, s, tt.httpMethod, tt.method, tt.token, tt.body)
			wantStatus(t, a, tt.status, tt.message)
			if a.ContentType != "application/json" {
				t.Fatalf("Content-Type %q", a.ContentType)
			}
			calls := s.Calls("")
			if len(calls) != before+1 {
				t.Fatalf("recorded %d calls, want %d", len(calls), before+1)
			}
			if c := calls[len(calls)-1]; c.Method != tt.method || c.Status != tt.status || c.HTTPStatus != http.StatusOK || c.StatusMessage != a.StatusMessage {
				t.Fatalf("recorded %+v", c)
			}
		})
	}
}

func TestSetWebhook(t *testing.T) {
	defaults := []string{"delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"}
	t.Run("OKVerifiedBySignedCallback", func(t *testing.T) {
		s := newServer(t, vibertest.Options{})
		h := newHook(t, s.Token())
		a := call(t, s, "set_webhook", map[string]any{"url": h.srv.URL, "send_name": true})
		wantStatus(t, a, 0, "ok")
		if !slices.Equal(a.EventTypes, defaults) {
			t.Fatalf("event_types %v, want %v", a.EventTypes, defaults)
		}
		c := h.last(t)
		if c.Signature != vibertest.Sign(s.Token(), c.Raw) {
			t.Fatalf("signature %q does not verify with Sign", c.Signature)
		}
		if c.event() != "webhook" || c.Fields["chat_hostname"] != "SN-CHAT-01_" || c.Fields["timestamp"].(float64) < 1e12 || c.token() <= 0 {
			t.Fatalf("verification callback %s", c.Raw)
		}
		if url, events := s.Webhook(); url != h.srv.URL || !slices.Equal(events, defaults) {
			t.Fatalf("Webhook() = %q %v", url, events)
		}
	})
	t.Run("ErrWebhookAnswers500", func(t *testing.T) {
		s := newServer(t, vibertest.Options{})
		h := newHook(t, s.Token())
		h.setStatus(http.StatusInternalServerError)
		a := call(t, s, "set_webhook", map[string]any{"url": h.srv.URL})
		wantStatus(t, a, 1, "Result[HttpResponse(500)]")
		if len(h.callbacks("webhook")) != 1 {
			t.Fatal("no verification callback")
		}
		if url, _ := s.Webhook(); url != "" {
			t.Fatalf("webhook %q set after a failed check", url)
		}
	})
	t.Run("ErrWebhookUnreachable", func(t *testing.T) {
		s := newServer(t, vibertest.Options{})
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		a := call(t, s, "set_webhook", map[string]any{"url": dead.URL})
		if a.Status != 1 || !strings.HasPrefix(a.StatusMessage, "Result[") {
			t.Fatalf("got %d %q", a.Status, a.StatusMessage)
		}
	})
	tests := []struct {
		name    string
		body    map[string]any
		status  int
		message string
		events  []string
	}{
		{"OKChosenEventTypes", map[string]any{"event_types": []string{"delivered", "message", "delivered"}}, 0, "ok", []string{"delivered", "message"}},
		{"ErrNotHTTPURL", map[string]any{"url": "ftp://hromada.example.com/viber"}, 1, "invalidUrl", nil},
		{"ErrRelativeURL", map[string]any{"url": "/viber"}, 1, "invalidUrl", nil},
		{"ErrUnknownEventType", map[string]any{"event_types": []string{"delivered", "typing"}}, 3, "", nil},
		{"ErrURLMissing", map[string]any{"url": nil}, 4, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, vibertest.Options{})
			h := newHook(t, s.Token())
			body := map[string]any{"url": h.srv.URL}
			for k, v := range tt.body {
				if v == nil {
					delete(body, k)
					continue
				}
				body[k] = v
			}
			a := call(t, s, "set_webhook", body)
			wantStatus(t, a, tt.status, tt.message)
			if !slices.Equal(a.EventTypes, tt.events) {
				t.Fatalf("event_types %v, want %v", a.EventTypes, tt.events)
			}
		})
	}
	t.Run("OKEmptyURLRemoves", func(t *testing.T) {
		s := newServer(t, vibertest.Options{})
		serveHook(t, s)
		wantStatus(t, call(t, s, "set_webhook", map[string]any{"url": ""}), 0, "ok")
		if url, events := s.Webhook(); url != "" || events != nil {
			t.Fatalf("Webhook() = %q %v after removal", url, events)
		}
		if _, err := s.Text(olena, "привіт"); !errors.Is(err, vibertest.ErrNoWebhook) {
			t.Fatalf("callback without a webhook: %v", err)
		}
	})
}

// button is a keyboard button for the tests.
func button(fields ...any) map[string]any {
	b := map[string]any{"ActionType": "reply", "ActionBody": "a", "Text": "A"}
	for i := 0; i+1 < len(fields); i += 2 {
		b[fields[i].(string)] = fields[i+1]
	}
	return b
}

func buttons(n int, fields ...any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = button(fields...)
	}
	return out
}

func keyboard(bs ...any) map[string]any {
	return map[string]any{"Type": "keyboard", "DefaultHeight": false, "Buttons": bs}
}

func TestSendMessageValidation(t *testing.T) {
	tests := []struct {
		name   string
		change map[string]any // nil values delete the field
		status int
	}{
		{"OK", nil, 0},
		{"OKSenderNameOf28", map[string]any{"sender": map[string]any{"name": strings.Repeat("Г", vibertest.MaxSenderName)}}, 0},
		{"ErrSenderNameTooLong", map[string]any{"sender": map[string]any{"name": strings.Repeat("Г", vibertest.MaxSenderName+1)}}, 3},
		{"ErrSenderMissing", map[string]any{"sender": nil}, 3},
		{"ErrSenderNameEmpty", map[string]any{"sender": map[string]any{"name": ""}}, 3},
		{"ErrSenderAvatarNotURL", map[string]any{"sender": map[string]any{"name": "Громада", "avatar": "logo.png"}}, 3},
		{"OKTextOf7000", map[string]any{"text": strings.Repeat("ї", vibertest.MaxTextLength)}, 0},
		{"ErrTextTooLong", map[string]any{"text": strings.Repeat("ї", vibertest.MaxTextLength+1)}, 3},
		{"ErrTextBlank", map[string]any{"text": " \n\t"}, 3},
		{"ErrTextMissing", map[string]any{"text": nil}, 3},
		{"ErrTrackingDataTooLong", map[string]any{"tracking_data": strings.Repeat("x", vibertest.MaxTrackingData+1)}, 3},
		{"ErrMinAPIVersionZero", map[string]any{"min_api_version": 0}, 3},
		{"ErrReceiverMissing", map[string]any{"receiver": nil}, 4},
		{"ErrTypeMissing", map[string]any{"type": nil}, 3},
		{"ErrTypeUnsupported", map[string]any{"type": "rich_media"}, 3},
		{"OKURL", map[string]any{"type": "url", "media": "https://hromada.gov.ua/report"}, 0},
		{"ErrURLNotURL", map[string]any{"type": "url", "media": "hromada.gov.ua"}, 3},
		{"OKFile", map[string]any{"type": "file", "media": "https://hromada.example.com/r.pdf", "size": 10240, "file_name": "звіт.pdf"}, 0},
		{"ErrFileSizeMissing", map[string]any{"type": "file", "media": "https://hromada.example.com/r.pdf", "file_name": "звіт.pdf"}, 3},
		{"ErrFileNameMissing", map[string]any{"type": "file", "media": "https://hromada.example.com/r.pdf", "size": 10240}, 3},
		{"ErrPictureCaptionTooLong", map[string]any{"type": "picture", "media": "https://hromada.example.com/c.png", "text": strings.Repeat("ї", vibertest.MaxCaptionLength+1)}, 3},
		{"ErrPictureMediaNotURL", map[string]any{"type": "picture", "media": "c.png"}, 3},
		{"OKKeyboard", map[string]any{"keyboard": keyboard(button("Columns", 3), button("Columns", 3, "ActionType", "open-url", "ActionBody", "https://hromada.gov.ua"))}, 0},
		{"ErrKeyboardType", map[string]any{"keyboard": map[string]any{"Type": "rich_media", "Buttons": buttons(1)}}, 3},
		{"ErrKeyboardWithoutButtons", map[string]any{"keyboard": keyboard()}, 3},
		{"ErrKeyboardTooManyButtons", map[string]any{"keyboard": keyboard(buttons(vibertest.MaxButtons+1, "Columns", 1)...)}, 3},
		{"ErrButtonColumns7", map[string]any{"keyboard": keyboard(button("Columns", 7))}, 3},
		{"ErrButtonColumns0", map[string]any{"keyboard": keyboard(button("Columns", 0))}, 3},
		{"ErrButtonRows3", map[string]any{"keyboard": keyboard(button("Rows", 3))}, 3},
		{"ErrButtonActionType", map[string]any{"keyboard": keyboard(button("ActionType", "open-app"))}, 3},
		{"ErrButtonActionBodyMissing", map[string]any{"keyboard": keyboard(button("ActionBody", ""))}, 3},
		{"ErrOpenURLNotURL", map[string]any{"keyboard": keyboard(button("ActionType", "open-url", "ActionBody", "vote:yes"))}, 3},
		{"ErrButtonSilentNotBool", map[string]any{"keyboard": keyboard(button("Silent", "yes"))}, 3},
		{"OKTwelveRows", map[string]any{"keyboard": keyboard(buttons(vibertest.MaxKeyboardRows)...)}, 0},
		{"ErrThirteenRows", map[string]any{"keyboard": keyboard(buttons(vibertest.MaxKeyboardRows + 1)...)}, 3},
		{"ErrTallButtonsOverTwelveRows", map[string]any{"keyboard": keyboard(buttons(7, "Rows", 2)...)}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, vibertest.Options{})
			s.AddUser(olena)
			body := text(olena.ID, "Засідання громади о 18:00")
			for k, v := range tt.change {
				if v == nil {
					delete(body, k)
					continue
				}
				body[k] = v
			}
			a := call(t, s, "send_message", body)
			wantStatus(t, a, tt.status, "")
			msgs := s.Messages()
			if tt.status != 0 {
				if len(msgs) != 0 {
					t.Fatalf("a refused message was recorded: %+v", msgs)
				}
				return
			}
			if len(msgs) != 1 || msgs[0].Token != a.MessageToken || a.ChatHostname != "SN-CHAT-01_" {
				t.Fatalf("answer %s, messages %+v", a.Body, msgs)
			}
		})
	}
}

func TestSendMessageRecorded(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	s.AddUser(olena)
	s.AddUser(taras)
	var tokens []int64
	for i, to := range []string{olena.ID, taras.ID, olena.ID} {
		body := text(to, fmt.Sprintf("Повідомлення %d", i+1))
		body["tracking_data"] = fmt.Sprintf("step:%d", i+1)
		body["min_api_version"] = 3
		body["sender"] = map[string]any{"name": "Громада", "avatar": "https://hromada.example.com/logo.jpg"}
		a := call(t, s, "send_message", body)
		wantStatus(t, a, 0, "ok")
		tokens = append(tokens, a.MessageToken)
	}
	if !slices.IsSorted(tokens) || tokens[0] == tokens[1] || tokens[1] == tokens[2] {
		t.Fatalf("tokens %v are not increasing", tokens)
	}
	if tokens[0] <= 1<<32 {
		t.Fatalf("token %d is smaller than Viber's", tokens[0])
	}
	msgs := s.Messages()
	if len(msgs) != 3 {
		t.Fatalf("recorded %d messages", len(msgs))
	}
	m := msgs[2]
	want := vibertest.Message{Seq: 3, Token: tokens[2], Receiver: olena.ID, Type: "text", Text: "Повідомлення 3", TrackingData: "step:3",
		Sender: vibertest.Sender{Name: "Громада", Avatar: "https://hromada.example.com/logo.jpg"}, MinAPIVersion: 3, At: m.At}
	if fmt.Sprintf("%+v", m) != fmt.Sprintf("%+v", want) || time.Since(m.At) > time.Minute {
		t.Fatalf("message\n%+v, want\n%+v", m, want)
	}
	if got := s.MessagesTo(olena.ID); len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 3 {
		t.Fatalf("MessagesTo = %+v", got)
	}
	if got := s.MessagesAfter(1); len(got) != 2 || got[0].Seq != 2 {
		t.Fatalf("MessagesAfter(1) = %+v", got)
	}
	if got := s.MessagesAfter(3); len(got) != 0 {
		t.Fatalf("MessagesAfter(3) = %+v", got)
	}
	calls := s.Calls("send_message")
	if len(calls) != 3 || calls[0].Status != 0 || !json.Valid(calls[0].Body) || !bytes.Contains(calls[0].Body, []byte(`"step:1"`)) {
		t.Fatalf("calls %+v", calls)
	}
	if len(s.Calls("set_webhook")) != 0 {
		t.Fatal("calls of another method recorded")
	}
}

func TestKeyboardLayout(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	s.AddUser(olena)
	body := text(olena.ID, "Оберіть")
	body["keyboard"] = map[string]any{"Type": "keyboard", "InputFieldState": "hidden", "BgColor": "#FFFFFF", "CustomDefaultHeight": 60,
		"Buttons": []any{
			map[string]any{"ActionBody": "a", "Columns": 3, "TextSize": "large", "Frame": map[string]any{"BorderWidth": 1}},
			map[string]any{"ActionBody": "b", "Columns": 3, "Silent": true},
			map[string]any{"ActionBody": "c", "Columns": 2},
			map[string]any{"ActionBody": "d", "Columns": 2},
			map[string]any{"ActionBody": "e", "Columns": 2},
			map[string]any{"ActionBody": "f"},
			map[string]any{"ActionBody": "g", "Columns": 4, "Rows": 2},
			map[string]any{"ActionBody": "h", "Columns": 4},
		}}
	wantStatus(t, call(t, s, "send_message", body), 0, "ok")
	kb := s.LastKeyboard(olena.ID)
	if kb == nil {
		t.Fatal("no keyboard recorded")
	}
	var layout [][]string
	for _, row := range kb.Rows() {
		var r []string
		for _, b := range row {
			r = append(r, fmt.Sprintf("%s%dx%d", b.ActionBody, b.Columns, b.Rows))
		}
		layout = append(layout, r)
	}
	want := [][]string{{"a3x1", "b3x1"}, {"c2x1", "d2x1", "e2x1"}, {"f6x1"}, {"g4x2"}, {"h4x1"}}
	if fmt.Sprint(layout) != fmt.Sprint(want) {
		t.Fatalf("layout %v, want %v", layout, want)
	}
	a := kb.Buttons[0]
	if a.ActionType != "reply" || a.TextSize != "large" || string(a.Extra["Frame"]) != `{"BorderWidth":1}` || !kb.Buttons[1].Silent {
		t.Fatalf("buttons %+v", kb.Buttons[:2])
	}
	if kb.InputFieldState != "hidden" || kb.BgColor != "#FFFFFF" || string(kb.Extra["CustomDefaultHeight"]) != "60" {
		t.Fatalf("keyboard %+v", kb)
	}
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 4, 3))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSendPicture(t *testing.T) {
	chart := pngBytes(t)
	var mu sync.Mutex
	var fetched []string
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetched = append(fetched, r.Method+" "+r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/chart.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(chart)
		case "/page.png":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<html>login</html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer media.Close()
	tests := []struct {
		name   string
		path   string
		status int
	}{
		{"OKFetchedAndRecorded", "/chart.png", 0},
		{"ErrNotFound", "/gone.png", 3},
		{"ErrNotAnImage", "/page.png", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, vibertest.Options{})
			s.AddUser(olena)
			mu.Lock()
			fetched = nil
			mu.Unlock()
			body := text(olena.ID, "Індекс громади")
			body["type"], body["media"], body["thumbnail"] = "picture", media.URL+tt.path, media.URL+"/thumb.png"
			a := call(t, s, "send_message", body)
			wantStatus(t, a, tt.status, "")
			mu.Lock()
			got := slices.Clone(fetched)
			mu.Unlock()
			if !slices.Equal(got, []string{"GET " + tt.path}) {
				t.Fatalf("fetched %v, want the picture once", got)
			}
			msgs := s.Messages()
			if tt.status != 0 {
				if !strings.Contains(a.StatusMessage, "picture could not be fetched") || len(msgs) != 0 {
					t.Fatalf("got %q and %d messages", a.StatusMessage, len(msgs))
				}
				return
			}
			m := msgs[0]
			if m.Type != "picture" || m.Text != "Індекс громади" || !bytes.Equal(m.MediaBytes, chart) || m.MediaType != "image/png" || m.Thumbnail != media.URL+"/thumb.png" {
				t.Fatalf("message %+v", m)
			}
		})
	}
}

func TestReceiverState(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	serveHook(t, s)
	steps := []struct {
		name   string
		before func() error
		status int
	}{
		{"ErrUnknown", nil, 5},
		{"ErrOnlyOpenedConversation", func() error { _, err := s.ConversationStarted(olena, ""); return err }, 6},
		{"OKAfterAddUser", func() error { s.AddUser(olena); return nil }, 0},
		{"ErrAfterUnsubscribed", func() error { _, err := s.Unsubscribed(olena.ID); return err }, 6},
		{"OKAfterTheirText", func() error { _, err := s.Text(olena, "я повернулась"); return err }, 0},
		{"ErrAfterUnsubscribedAgain", func() error { _, err := s.Unsubscribed(olena.ID); return err }, 6},
		{"OKAfterSubscribed", func() error { _, err := s.Subscribed(olena); return err }, 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				if err := st.before(); err != nil {
					t.Fatal(err)
				}
			}
			wantStatus(t, call(t, s, "send_message", text(olena.ID, "Новини громади")), st.status, "")
		})
	}
	names := map[int]string{5: "receiverNotRegistered", 6: "receiverNotSubscribed"}
	for _, c := range s.Calls("send_message") {
		if c.Status != 0 && c.StatusMessage != names[c.Status] {
			t.Fatalf("status %d answered %q", c.Status, c.StatusMessage)
		}
	}
}

func TestTooManyRequests(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	serveHook(t, s)
	s.AddUser(olena)
	for i := range vibertest.MaxUnanswered {
		if a := call(t, s, "send_message", text(olena.ID, fmt.Sprintf("№%d", i))); a.Status != 0 {
			t.Fatalf("message %d: status %d %q", i, a.Status, a.StatusMessage)
		}
	}
	t.Run("ErrAfter100Unanswered", func(t *testing.T) {
		wantStatus(t, call(t, s, "send_message", text(olena.ID, "ще одне")), 12, "Too many requests")
	})
	t.Run("ErrInBroadcast", func(t *testing.T) {
		body := text("", "розсилка")
		delete(body, "receiver")
		body["broadcast_list"] = []string{olena.ID}
		a := call(t, s, "broadcast_message", body)
		wantStatus(t, a, 0, "ok")
		if len(a.FailedList) != 1 || a.FailedList[0].Status != 12 {
			t.Fatalf("failed_list %s", a.Body)
		}
	})
	t.Run("OKAfterTheirMessage", func(t *testing.T) {
		if _, err := s.Text(olena, "дякую"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, call(t, s, "send_message", text(olena.ID, "будь ласка")), 0, "ok")
	})
}

func TestBroadcast(t *testing.T) {
	broadcast := func(list []string) map[string]any {
		body := text("", "Збори громади в неділю")
		delete(body, "receiver")
		body["broadcast_list"] = list
		return body
	}
	t.Run("OKWithFailedList", func(t *testing.T) {
		s := newServer(t, vibertest.Options{})
		serveHook(t, s)
		blocked := vibertest.User{ID: "bLoCkEd0000000000000A=="}
		for _, u := range []vibertest.User{olena, taras, blocked} {
			s.AddUser(u)
		}
		if _, err := s.Unsubscribed(taras.ID); err != nil {
			t.Fatal(err)
		}
		s.FailReceiver(blocked.ID, 7)
		a := call(t, s, "broadcast_message", broadcast([]string{olena.ID, taras.ID, "nObOdY000000000000000A==", blocked.ID}))
		wantStatus(t, a, 0, "ok")
		var failed []string
		for _, f := range a.FailedList {
			failed = append(failed, fmt.Sprintf("%s %d %s", f.Receiver, f.Status, f.StatusMessage))
		}
		want := []string{taras.ID + " 6 receiverNotSubscribed", "nObOdY000000000000000A== 5 receiverNotRegistered", blocked.ID + " 7 publicAccountBlocked"}
		if !slices.Equal(failed, want) {
			t.Fatalf("failed_list %v, want %v", failed, want)
		}
		msgs := s.Messages()
		if len(msgs) != 1 || msgs[0].Receiver != olena.ID || !msgs[0].Broadcast || msgs[0].Token != a.MessageToken || a.MessageToken == 0 {
			t.Fatalf("answer %s, messages %+v", a.Body, msgs)
		}
	})
	many := make([]string, vibertest.MaxBroadcastList+1)
	for i := range many {
		many[i] = olena.ID
	}
	tests := []struct {
		name   string
		list   []string
		status int
	}{
		{"ErrListMissing", nil, 4},
		{"ErrListOver300", many, 3},
		{"ErrEmptyReceiver", []string{olena.ID, ""}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, vibertest.Options{})
			s.AddUser(olena)
			wantStatus(t, call(t, s, "broadcast_message", broadcast(tt.list)), tt.status, "")
			if n := len(s.Messages()); n != 0 {
				t.Fatalf("%d messages recorded", n)
			}
		})
	}
}

func TestFailNext(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	s.AddUser(olena)
	s.FailNext(2, 7, "")
	wantStatus(t, call(t, s, "get_account_info", map[string]any{}), 0, "ok")
	wantStatus(t, call(t, s, "send_message", text(olena.ID, "раз")), 7, "publicAccountBlocked")
	body := text("", "два")
	delete(body, "receiver")
	body["broadcast_list"] = []string{olena.ID}
	wantStatus(t, call(t, s, "broadcast_message", body), 7, "publicAccountBlocked")
	wantStatus(t, call(t, s, "send_message", text(olena.ID, "три")), 0, "ok")
	s.FailNext(1, 9, "publicAccountSuspended: unpaid")
	wantStatus(t, call(t, s, "send_message", text(olena.ID, "чотири")), 9, "publicAccountSuspended: unpaid")
	s.FailNext(3, 9, "")
	s.FailNext(0, 0, "")
	wantStatus(t, call(t, s, "send_message", text(olena.ID, "п'ять")), 0, "ok")
	if msgs := s.Messages(); len(msgs) != 2 || msgs[0].Text != "три" {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestFailReceiver(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	s.AddUser(olena)
	s.AddUser(taras)
	s.FailReceiver(olena.ID, 6)
	wantStatus(t, call(t, s, "send_message", text(olena.ID, "раз")), 6, "receiverNotSubscribed")
	wantStatus(t, call(t, s, "send_message", text(olena.ID, "два")), 6, "receiverNotSubscribed")
	wantStatus(t, call(t, s, "send_message", text(taras.ID, "три")), 0, "ok")
	s.FailReceiver(olena.ID, 0)
	wantStatus(t, call(t, s, "send_message", text(olena.ID, "чотири")), 0, "ok")
}

func TestSetHTTPFailure(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	s.AddUser(olena)
	s.SetHTTPFailure(2, http.StatusBadGateway)
	for i := range 2 {
		a := do(t, s, http.MethodPost, "send_message", s.Token(), []byte(`{}`))
		if a.HTTPStatus != http.StatusBadGateway || a.ContentType != "text/html" || !bytes.HasPrefix(a.Body, []byte("<html>")) || json.Valid(a.Body) {
			t.Fatalf("call %d: HTTP %d %q %q", i, a.HTTPStatus, a.ContentType, a.Body)
		}
	}
	wantStatus(t, call(t, s, "send_message", text(olena.ID, "нарешті")), 0, "ok")
	var codes []int
	for _, c := range s.Calls("") {
		codes = append(codes, c.HTTPStatus)
	}
	if !slices.Equal(codes, []int{502, 502, 200}) {
		t.Fatalf("recorded HTTP statuses %v", codes)
	}
	if len(s.Messages()) != 1 {
		t.Fatal("a failed call sent a message")
	}
}

func TestGetUserDetails(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	s.AddUser(olena)
	s.AddUser(vibertest.User{ID: taras.ID})
	tests := []struct {
		name   string
		id     string
		status int
		want   string
	}{
		{"OK", olena.ID, 0, `{"id":"01234567890A=","name":"Олена","avatar":"https://avatar.example.com/olena.jpg","language":"uk","country":"UA","primary_device_os":"Android 14","api_version":10,"viber_version":"24.1.0","device_type":"SM-A546B"}`},
		{"OKDefaults", taras.ID, 0, `{"id":"xy5/5y6O81+/kbWHpLhBoA==","name":"","language":"uk","country":"UA","primary_device_os":"Android 14","api_version":10,"viber_version":"24.1.0","device_type":"SM-A546B"}`},
		{"ErrUnknown", "nObOdY000000000000000A==", 5, ""},
		{"ErrIDMissing", "", 4, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, s, "get_user_details", map[string]any{"id": tt.id})
			wantStatus(t, a, tt.status, "")
			if tt.status != 0 {
				return
			}
			var got struct {
				User json.RawMessage `json:"user"`
			}
			json.Unmarshal(a.Body, &got)
			if string(got.User) != tt.want || a.MessageToken == 0 {
				t.Fatalf("user %s, want %s", got.User, tt.want)
			}
		})
	}
}

func TestGetAccountInfo(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	h := serveHook(t, s)
	s.AddUser(olena)
	s.AddUser(taras)
	if _, err := s.Unsubscribed(taras.ID); err != nil {
		t.Fatal(err)
	}
	a := call(t, s, "get_account_info", map[string]any{})
	var info struct {
		ID               string   `json:"id"`
		Name             string   `json:"name"`
		URI              string   `json:"uri"`
		Webhook          string   `json:"webhook"`
		EventTypes       []string `json:"event_types"`
		SubscribersCount int      `json:"subscribers_count"`
	}
	json.Unmarshal(a.Body, &info)
	if a.Status != 0 || info.ID != "pa:75346594275468546724" || info.Name != "Hromada Bot" || info.URI != "hromadabot" ||
		info.Webhook != h.srv.URL+"/viber" || len(info.EventTypes) != 6 || info.SubscribersCount != 1 {
		t.Fatalf("account info %s", a.Body)
	}
}

func TestWait(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	s.AddUser(olena)
	t.Run("OKWaitsForTheMessage", func(t *testing.T) {
		ctx := testContext(t)
		got := make(chan vibertest.Message, 1)
		errs := make(chan error, 1)
		go func() {
			m, err := s.WaitFor(ctx, func(m vibertest.Message) bool { return m.Text == "друге" })
			got <- m
			errs <- err
		}()
		for _, x := range []string{"перше", "друге"} {
			wantStatus(t, call(t, s, "send_message", text(olena.ID, x)), 0, "ok")
		}
		if m, err := <-got, <-errs; err != nil || m.Text != "друге" {
			t.Fatalf("WaitFor = %+v, %v", m, err)
		}
		ms, err := s.WaitN(ctx, 2, nil)
		if err != nil || len(ms) != 2 {
			t.Fatalf("WaitN = %d, %v", len(ms), err)
		}
	})
	t.Run("ErrContextEnds", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if _, err := s.WaitN(ctx, 3, nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitN = %v, want the deadline", err)
		}
	})
	t.Run("ErrServerClosed", func(t *testing.T) {
		s := vibertest.New(vibertest.Options{})
		done := make(chan error, 1)
		go func() { _, err := s.WaitFor(testContext(t), nil); done <- err }()
		time.Sleep(10 * time.Millisecond)
		s.Close()
		if err := <-done; err == nil {
			t.Fatal("WaitFor returned no error after Close")
		}
	})
}

func TestHistoryLimit(t *testing.T) {
	s := newServer(t, vibertest.Options{HistoryLimit: 3})
	s.AddUser(olena)
	for i := range 5 {
		body := text(olena.ID, fmt.Sprint(i))
		body["keyboard"] = keyboard(button("ActionBody", fmt.Sprint("k", i)))
		wantStatus(t, call(t, s, "send_message", body), 0, "ok")
	}
	msgs := s.Messages()
	if len(msgs) != 3 || msgs[0].Seq != 3 || msgs[2].Seq != 5 {
		t.Fatalf("kept %+v", msgs)
	}
	if calls := s.Calls(""); len(calls) != 3 || calls[0].Seq != 3 {
		t.Fatalf("kept calls %+v", calls)
	}
	if got := s.MessagesAfter(0); len(got) != 3 {
		t.Fatalf("MessagesAfter(0) = %d", len(got))
	}
	if kb := s.LastKeyboard(olena.ID); kb == nil || kb.Buttons[0].ActionBody != "k4" {
		t.Fatalf("keyboard %+v", kb)
	}
}

func TestLatency(t *testing.T) {
	s := newServer(t, vibertest.Options{Latency: 30 * time.Millisecond})
	start := time.Now()
	wantStatus(t, call(t, s, "get_account_info", map[string]any{}), 0, "ok")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("call took %v, less than the latency", d)
	}
}

// TestConcurrent drives the server as the load harness does: many people
// writing and many sends at once.
func TestConcurrent(t *testing.T) {
	s := newServer(t, vibertest.Options{HistoryLimit: 1000})
	h := serveHook(t, s)
	const people, each = 20, 10
	var wg sync.WaitGroup
	errs := make(chan error, people*each*2)
	for p := range people {
		u := vibertest.User{ID: fmt.Sprintf("user%02d0000000000000A==", p), Name: fmt.Sprint("Житель ", p)}
		wg.Go(func() {
			for i := range each {
				if _, err := s.Text(u, fmt.Sprint("привіт ", i)); err != nil {
					errs <- err
					return
				}
				b, _ := json.Marshal(text(u.ID, fmt.Sprint("відповідь ", i)))
				req, _ := http.NewRequest(http.MethodPost, s.URL()+"/send_message", bytes.NewReader(b))
				req.Header.Set("X-Viber-Auth-Token", s.Token())
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				var a answer
				json.NewDecoder(resp.Body).Decode(&a)
				resp.Body.Close()
				if a.Status != 0 {
					errs <- fmt.Errorf("send to %s: %d %s", u.ID, a.Status, a.StatusMessage)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	msgs, err := s.WaitN(testContext(t), people*each, nil)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[int64]bool{}
	for _, m := range msgs {
		tokens[m.Token] = true
	}
	if len(tokens) != people*each {
		t.Fatalf("%d distinct tokens for %d messages", len(tokens), len(msgs))
	}
	for _, c := range h.callbacks("message") {
		if !c.Valid {
			t.Fatalf("callback with a bad signature: %s", c.Raw)
		}
	}
	if n := len(h.callbacks("message")); n != people*each {
		t.Fatalf("webhook got %d messages, want %d", n, people*each)
	}
}
