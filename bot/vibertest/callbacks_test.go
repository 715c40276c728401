package vibertest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot/bot/vibertest"
)

func TestSign(t *testing.T) {
	// The RFC 4231-style vector every HMAC-SHA256 implementation agrees on.
	got := vibertest.Sign("key", []byte("The quick brown fox jumps over the lazy dog"))
	if want := "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

// canonical re-encodes a JSON value, for comparisons that ignore spacing.
func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestUserMessages(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	h := serveHook(t, s)
	tests := []struct {
		name string
		send func() (vibertest.Delivery, error)
		want string
	}{
		{"OKText", func() (vibertest.Delivery, error) {
			return s.Text(olena, "Коли прибиратимуть сніг?")
		},
			`{"text":"Коли прибиратимуть сніг?","type":"text"}`},
		{"OKSticker", func() (vibertest.Delivery, error) { return s.Sticker(olena) }, `{"sticker_id":46105,"type":"sticker"}`},
		{"OKLocation", func() (vibertest.Delivery, error) { return s.Location(olena, 50.4501, 30.5234) },
			`{"location":{"lat":50.4501,"lon":30.5234},"type":"location"}`},
		{"OKContact", func() (vibertest.Delivery, error) { return s.Contact(olena, "Староста", "+380501234567") },
			`{"contact":{"name":"Староста","phone_number":"+380501234567"},"type":"contact"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.send()
			if err != nil {
				t.Fatal(err)
			}
			c := h.last(t)
			if d.Status != http.StatusOK || !bytes.Equal(d.Raw, c.Raw) || d.Signature != c.Signature || d.Token != c.token() {
				t.Fatalf("delivery %+v for callback %s", d, c.Raw)
			}
			if c.event() != "message" || c.Fields["silent"] != false || c.Fields["chat_hostname"] != "SN-CHAT-01_" || c.Fields["timestamp"].(float64) < 1e12 {
				t.Fatalf("callback %s", c.Raw)
			}
			wantSender := `{"api_version":10,"avatar":"https://avatar.example.com/olena.jpg","country":"UA","id":"01234567890A=","language":"uk","name":"Олена"}`
			if got := canonical(t, c.object("sender")); got != wantSender {
				t.Fatalf("sender %s, want %s", got, wantSender)
			}
			if got := canonical(t, c.object("message")); got != tt.want {
				t.Fatalf("message %s, want %s", got, tt.want)
			}
		})
	}
}

func TestReceipts(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	h := serveHook(t, s)
	tests := []struct {
		name string
		send func() (vibertest.Delivery, error)
		want string
	}{
		{"OKDelivered", func() (vibertest.Delivery, error) { return s.Delivered(olena.ID, 5491838830473958123) },
			`{"event":"delivered","message_token":5491838830473958123,"user_id":"01234567890A="}`},
		{"OKSeen", func() (vibertest.Delivery, error) { return s.Seen(olena.ID, 5491838830473958123) },
			`{"event":"seen","message_token":5491838830473958123,"user_id":"01234567890A="}`},
		{"OKFailed", func() (vibertest.Delivery, error) {
			return s.Failed(olena.ID, 5491838830473958123, "keyboard is invalid")
		},
			`{"desc":"keyboard is invalid","event":"failed","message_token":5491838830473958123,"user_id":"01234567890A="}`},
		{"OKUnsubscribed", func() (vibertest.Delivery, error) { return s.Unsubscribed(olena.ID) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.send()
			if err != nil {
				t.Fatal(err)
			}
			c := h.last(t)
			// Decode with UseNumber: tokens do not survive float64.
			var fields map[string]any
			dec := json.NewDecoder(bytes.NewReader(c.Raw))
			dec.UseNumber()
			if err := dec.Decode(&fields); err != nil {
				t.Fatal(err)
			}
			if _, ok := fields["timestamp"]; !ok {
				t.Fatalf("callback %s has no timestamp", c.Raw)
			}
			delete(fields, "timestamp")
			if tt.want == "" {
				if fields["event"] != "unsubscribed" || fields["user_id"] != olena.ID || d.Token == 0 {
					t.Fatalf("callback %s", c.Raw)
				}
				return
			}
			if got := canonical(t, fields); got != tt.want {
				t.Fatalf("callback %s, want %s", got, tt.want)
			}
			if d.Token != 5491838830473958123 {
				t.Fatalf("delivery token %d", d.Token)
			}
		})
	}
}

func TestSubscribed(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	h := serveHook(t, s)
	if _, err := s.Subscribed(taras); err != nil {
		t.Fatal(err)
	}
	c := h.last(t)
	want := `{"api_version":10,"country":"UA","id":"xy5/5y6O81+/kbWHpLhBoA==","language":"uk","name":"Тарас"}`
	if c.event() != "subscribed" || canonical(t, c.object("user")) != want {
		t.Fatalf("callback %s", c.Raw)
	}
	wantStatus(t, call(t, s, "send_message", text(taras.ID, "Ласкаво просимо")), 0, "ok")
}

func TestPress(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	h := serveHook(t, s)
	s.AddUser(olena)
	body := text(olena.ID, "Чи підтримуєте ви ремонт дороги?")
	body["tracking_data"] = "poll:42"
	body["keyboard"] = keyboard(
		button("Columns", 3, "ActionBody", "vote:yes", "Text", "Так"),
		button("Columns", 3, "ActionBody", "vote:no", "Text", "Ні", "Silent", true),
		button("ActionType", "open-url", "ActionBody", "https://hromada.gov.ua/road", "Text", "Докладніше"),
	)
	wantStatus(t, call(t, s, "send_message", body), 0, "ok")
	tests := []struct {
		name       string
		press      func() (vibertest.Delivery, error)
		wantText   string
		wantSilent bool
	}{
		{"OKByActionBody", func() (vibertest.Delivery, error) { return s.Press(olena, "vote:yes") }, "vote:yes", false},
		{"OKByTextSilent", func() (vibertest.Delivery, error) { return s.PressText(olena, "Ні") }, "vote:no", true},
		{"ErrAbsentActionBody", func() (vibertest.Delivery, error) { return s.Press(olena, "vote:maybe") }, "", false},
		{"ErrAbsentText", func() (vibertest.Delivery, error) { return s.PressText(olena, "Можливо") }, "", false},
		{"ErrOpenURLSendsNothing", func() (vibertest.Delivery, error) { return s.Press(olena, "https://hromada.gov.ua/road") }, "", false},
		{"ErrOtherPersonsKeyboard", func() (vibertest.Delivery, error) { return s.Press(taras, "vote:yes") }, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.callbacks("message"))
			_, err := tt.press()
			if tt.wantText == "" {
				if err == nil {
					t.Fatal("pressing a button that is not there succeeded")
				}
				if n := len(h.callbacks("message")); n != before {
					t.Fatal("a failed press reached the webhook")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := h.last(t)
			m := c.object("message")
			if m["type"] != "text" || m["text"] != tt.wantText || m["tracking_data"] != "poll:42" || c.Fields["silent"] != tt.wantSilent {
				t.Fatalf("callback %s", c.Raw)
			}
		})
	}
	t.Run("ErrKeyboardRemovedByPlainMessage", func(t *testing.T) {
		wantStatus(t, call(t, s, "send_message", text(olena.ID, "Дякуємо за голос")), 0, "ok")
		if kb := s.LastKeyboard(olena.ID); kb != nil {
			t.Fatalf("keyboard %+v after a message without one", kb)
		}
		if _, err := s.Press(olena, "vote:yes"); err == nil {
			t.Fatal("pressed a button of a removed keyboard")
		}
	})
}

func TestTrackingData(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	h := serveHook(t, s)
	s.AddUser(olena)
	body := text(olena.ID, "Вкажіть адресу")
	body["tracking_data"] = "ask:address"
	wantStatus(t, call(t, s, "send_message", body), 0, "ok")
	if _, err := s.Text(olena, "вул. Шевченка, 1"); err != nil {
		t.Fatal(err)
	}
	if got := h.last(t).object("message")["tracking_data"]; got != "ask:address" {
		t.Fatalf("tracking_data %v, want the latest message's", got)
	}
	wantStatus(t, call(t, s, "send_message", text(olena.ID, "Дякуємо")), 0, "ok")
	if _, err := s.Text(olena, "будь ласка"); err != nil {
		t.Fatal(err)
	}
	if m := h.last(t).object("message"); m["tracking_data"] != nil {
		t.Fatalf("tracking_data %v after a message without any", m["tracking_data"])
	}
}

func TestConversationStarted(t *testing.T) {
	welcome := `{"sender":{"name":"Громада"},"type":"text","text":"Вітаємо! Оберіть громаду.","tracking_data":"onboarding",
		"keyboard":{"Type":"keyboard","Buttons":[{"ActionType":"reply","ActionBody":"start","Text":"Почати"}]}}`
	tests := []struct {
		name       string
		reply      string
		subscribed bool
		wantErr    string
		wantText   string
	}{
		{"OKWelcomeRecorded", welcome, false, "", "Вітаємо! Оберіть громаду."},
		{"OKNoWelcome", "", false, "", ""},
		{"OKBlankBodyIsNoWelcome", " \n", false, "", ""},
		{"OKAlreadySubscribed", "", true, "", ""},
		{"ErrWelcomeWithoutSender", `{"type":"text","text":"Вітаємо!"}`, false, "sender.name is required", ""},
		{"ErrWelcomeTextTooLong", `{"sender":{"name":"Громада"},"type":"text","text":"` + strings.Repeat("ї", vibertest.MaxTextLength+1) + `"}`, false, "text is longer", ""},
		{"ErrWelcomeNotJSON", "ok", false, "not a JSON object", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, vibertest.Options{})
			h := serveHook(t, s)
			if tt.subscribed {
				s.AddUser(olena)
			}
			h.setReply(func(event string) []byte {
				if event == "conversation_started" {
					return []byte(tt.reply)
				}
				return nil
			})
			d, err := s.ConversationStarted(olena, "poster-kyiv")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				if n := len(s.Messages()); n != 0 {
					t.Fatalf("an invalid welcome was recorded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := h.last(t)
			if c.event() != "conversation_started" || c.Fields["type"] != "open" || c.Fields["context"] != "poster-kyiv" ||
				c.Fields["subscribed"] != tt.subscribed || c.object("user")["id"] != olena.ID || string(d.Body) != tt.reply {
				t.Fatalf("callback %s, answer %q", c.Raw, d.Body)
			}
			msgs := s.Messages()
			if tt.wantText == "" {
				if len(msgs) != 0 {
					t.Fatalf("recorded %+v", msgs)
				}
				return
			}
			if len(msgs) != 1 || !msgs[0].Welcome || msgs[0].Receiver != olena.ID || msgs[0].Text != tt.wantText || msgs[0].Token == 0 {
				t.Fatalf("recorded %+v", msgs)
			}
			// A welcome message shows its keyboard, but conversation_started
			// is no subscription: the bot may not write yet.
			if _, err := s.Press(olena, "start"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Unsubscribed(olena.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ConversationStarted(olena, ""); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, call(t, s, "send_message", text(olena.ID, "Привіт")), 6, "receiverNotSubscribed")
		})
	}
}

func get(t *testing.T, url string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func TestUserMedia(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	h := serveHook(t, s)
	photo := pngBytes(t)
	if _, err := s.Picture(olena, photo, "Яма на дорозі"); err != nil {
		t.Fatal(err)
	}
	pic := h.last(t).object("message")
	if pic["type"] != "picture" || pic["text"] != "Яма на дорозі" || pic["file_name"] != "IMG_0001.png" || pic["size"] != float64(len(photo)) || pic["thumbnail"] != pic["media"] {
		t.Fatalf("picture message %v", pic)
	}
	pdf := []byte("%PDF-1.4\n%âãÏÓ\n")
	if _, err := s.File(olena, pdf, "протокол.pdf"); err != nil {
		t.Fatal(err)
	}
	file := h.last(t).object("message")
	if file["type"] != "file" || file["file_name"] != "протокол.pdf" || file["size"] != float64(len(pdf)) {
		t.Fatalf("file message %v", file)
	}
	t.Run("OKServed", func(t *testing.T) {
		for _, tt := range []struct {
			url  string
			data []byte
			ct   string
		}{{pic["media"].(string), photo, "image/png"}, {file["media"].(string), pdf, "application/pdf"}} {
			if !strings.HasPrefix(tt.url, "http://") {
				t.Fatalf("media URL %q", tt.url)
			}
			code, ct, b := get(t, tt.url)
			if code != http.StatusOK || ct != tt.ct || !bytes.Equal(b, tt.data) {
				t.Fatalf("GET %s: %d %q %d bytes", tt.url, code, ct, len(b))
			}
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		s.ExpireMedia()
		for _, url := range []string{pic["media"].(string), file["media"].(string)} {
			if code, _, _ := get(t, url); code != http.StatusNotFound {
				t.Fatalf("GET %s after ExpireMedia: %d", url, code)
			}
		}
	})
	t.Run("OKNewMediaAfterExpiry", func(t *testing.T) {
		if _, err := s.Picture(olena, photo, ""); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := get(t, h.last(t).object("message")["media"].(string)); code != http.StatusOK {
			t.Fatalf("new media: %d", code)
		}
	})
	t.Run("ErrUnknownMedia", func(t *testing.T) {
		if code, _, _ := get(t, strings.TrimSuffix(s.URL(), "/pa")+"/media/0123"); code != http.StatusNotFound {
			t.Fatalf("unknown media: %d", code)
		}
	})
}

func TestRedeliver(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	h := serveHook(t, s)
	h.setStatus(http.StatusServiceUnavailable)
	first, err := s.Text(olena, "Чи працює ЦНАП сьогодні?")
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want the webhook's 503", first.Status)
	}
	h.setStatus(http.StatusOK)
	again, err := s.Redeliver(first)
	if err != nil {
		t.Fatal(err)
	}
	got := h.callbacks("message")
	if len(got) != 2 || !bytes.Equal(got[0].Raw, got[1].Raw) || got[0].Signature != got[1].Signature || !got[1].Valid {
		t.Fatalf("callbacks %+v", got)
	}
	if again.Status != http.StatusOK || again.Token != first.Token {
		t.Fatalf("redelivery %+v", again)
	}
}

func TestForgedCallbacks(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	h := serveHook(t, s)
	raw := []byte(`{"event":"message","timestamp":1457764197627,"message_token":4912661846655238145,` +
		`"sender":{"id":"` + taras.ID + `","name":"Тарас"},"message":{"type":"text","text":"/admin"},"silent":false}`)
	tests := []struct {
		name       string
		deliver    func() (vibertest.Delivery, error)
		wantStatus int
	}{
		{"OKSigned", func() (vibertest.Delivery, error) { return s.Deliver(raw) }, http.StatusOK},
		{"ErrWrongSignature", func() (vibertest.Delivery, error) { return s.DeliverSigned(raw, vibertest.Sign("stolen", raw)) }, http.StatusForbidden},
		{"ErrNoSignature", func() (vibertest.Delivery, error) { return s.DeliverSigned(raw, "") }, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.deliver()
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != tt.wantStatus || d.Token != 4912661846655238145 {
				t.Fatalf("delivery %+v", d)
			}
			all := h.callbacks("")
			if c := all[len(all)-1]; !bytes.Equal(c.Raw, raw) {
				t.Fatalf("posted %s, want %s", c.Raw, raw)
			}
		})
	}
	// The signed raw message subscribed its sender, as a real one does.
	wantStatus(t, call(t, s, "send_message", text(taras.ID, "Доступ заборонено")), 0, "ok")
}

func TestWebhookFilters(t *testing.T) {
	s := newServer(t, vibertest.Options{})
	h := newHook(t, s.Token())
	wantStatus(t, call(t, s, "set_webhook", map[string]any{"url": h.srv.URL, "event_types": []string{"delivered"}}), 0, "ok")
	tests := []struct {
		name     string
		send     func() (vibertest.Delivery, error)
		filtered bool
	}{
		{"OKChosen", func() (vibertest.Delivery, error) { return s.Delivered(olena.ID, 1) }, false},
		{"OKMessageIsMandatory", func() (vibertest.Delivery, error) { return s.Text(olena, "привіт") }, false},
		{"OKSubscribedIsMandatory", func() (vibertest.Delivery, error) { return s.Subscribed(olena) }, false},
		{"ErrSeenLeftOut", func() (vibertest.Delivery, error) { return s.Seen(olena.ID, 1) }, true},
		{"ErrConversationStartedLeftOut", func() (vibertest.Delivery, error) { return s.ConversationStarted(olena, "") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.send()
			if tt.filtered != errors.Is(err, vibertest.ErrEventFiltered) || (!tt.filtered && err != nil) {
				t.Fatalf("error %v, filtered %v", err, tt.filtered)
			}
		})
	}
	t.Run("OKNoNamesWithoutSendName", func(t *testing.T) {
		if _, err := s.Text(olena, "хто я?"); err != nil {
			t.Fatal(err)
		}
		want := `{"api_version":10,"country":"UA","id":"01234567890A=","language":"uk"}`
		if got := canonical(t, h.last(t).object("sender")); got != want {
			t.Fatalf("sender %s, want %s", got, want)
		}
	})
}
