package viber_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/bot/viber"
	"github.com/hromadabot/hromadabot/bot/vibertest"
)

// TestTextEvent: a typed message becomes an Event of the person, in their
// language, keyed by the callback's token.
func TestTextEvent(t *testing.T) {
	tests := []struct {
		name string
		user vibertest.User
		text string
	}{
		{name: "OKUkrainian", user: vibertest.User{ID: "01234567890A=", Language: "uk"}, text: "Скільки балів у Бучі?"},
		{name: "OKEnglish", user: vibertest.User{ID: "xy5/5y6O81+/kbWHpLhBoA==", Language: "en-US"}, text: "/score Irpin"},
		{name: "OKTextAroundPrefix", user: vibertest.User{ID: "01234567890B="}, text: "our btn: is broken"},
	}
	e := newEnv(t, nil)
	e.start(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.h.Events())
			d := ok(t)(e.srv.Text(tt.user, tt.text))
			evs := e.h.Events()[before:]
			if len(evs) != 1 {
				t.Fatalf("the handler saw %d events, want 1", len(evs))
			}
			ev := evs[0]
			lang := tt.user.Language
			if lang == "" {
				lang = "uk" // the fake's default
			}
			want := bot.Event{
				Platform:     hromadabot.PlatformViber,
				UpdateID:     viber.UpdateID(strconv.FormatInt(d.Token, 10)),
				ChatID:       tt.user.ID,
				UserID:       tt.user.ID,
				LanguageCode: lang,
				Text:         tt.text,
			}
			got := ev
			got.At = time.Time{}
			if got.Attachment != nil || got != want {
				t.Errorf("event %+v, want %+v", ev, want)
			}
			if ev.At.IsZero() || time.Since(ev.At) > time.Minute {
				t.Errorf("event at %v, want the callback's timestamp", ev.At)
			}
		})
	}
}

// TestPayload: a pressed button arrives as its payload and no text; a
// typed text with the button prefix is a payload too, which the dialogs
// refuse as stale when it was forged.
func TestPayload(t *testing.T) {
	menu := bot.Reply{Text: "Оберіть громаду", Buttons: [][]bot.Button{
		{{Text: "Буча", Payload: "score:bucha"}, {Text: "Ірпінь", Payload: "score:irpin"}},
		{{Text: "Мапа", URL: "https://hromada.example.org/map"}},
	}}
	tests := []struct {
		name    string
		act     func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error)
		payload string
	}{
		{name: "OKPress", act: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) {
			return srv.Press(u, viber.PayloadPrefix+"score:bucha")
		}, payload: "score:bucha"},
		{name: "OKPressText", act: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) {
			return srv.PressText(u, "Ірпінь")
		}, payload: "score:irpin"},
		{name: "OKTypedPrefix", act: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) {
			return srv.Text(u, viber.PayloadPrefix+"admin:delete")
		}, payload: "admin:delete"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.h.setReply(answer(menu))
			e.start(t, nil)
			u := user(i)
			ok(t)(e.srv.Text(u, "/start"))
			ok(t)(tt.act(e.srv, u))
			evs := e.h.Events()
			if len(evs) != 2 {
				t.Fatalf("the handler saw %d events, want 2", len(evs))
			}
			ev := evs[1]
			if ev.Payload != tt.payload || ev.Text != "" {
				t.Errorf("event payload %q text %q, want payload %q and no text", ev.Payload, ev.Text, tt.payload)
			}
			if ev.ChatID != u.ID || ev.UserID != u.ID || ev.Platform != hromadabot.PlatformViber {
				t.Errorf("event of %s/%s on %s, want %s on viber", ev.ChatID, ev.UserID, ev.Platform, u.ID)
			}
		})
	}
}

// TestPressURLButton: a URL button opens its link and sends nothing.
func TestPressURLButton(t *testing.T) {
	e := newEnv(t, nil)
	e.h.setReply(answer(bot.Reply{Text: "Мапа громад", Buttons: [][]bot.Button{{{Text: "Мапа", URL: "https://hromada.example.org/map"}}}}))
	e.start(t, nil)
	u := user(1)
	ok(t)(e.srv.Text(u, "/map"))
	if _, err := e.srv.PressText(u, "Мапа"); err == nil {
		t.Fatal("pressing the URL button sent a message, want none")
	}
	if n := len(e.h.Events()); n != 1 {
		t.Errorf("the handler saw %d events, want 1", n)
	}
}

// TestIncomingMedia: a photo or document is downloaded and kept before it
// is handled, since Viber's URL expires; the caption is the text.
func TestIncomingMedia(t *testing.T) {
	photo := pngImage(t, 200)
	pdf := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	tests := []struct {
		name     string
		send     func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error)
		data     []byte
		kind     string
		text     string
		fileName string
		ctype    string
	}{
		{name: "OKPicture", send: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) {
			return srv.Picture(u, photo, "Акт виконаних робіт, ЦНАП")
		}, data: photo, kind: "photo", text: "Акт виконаних робіт, ЦНАП", fileName: "IMG_0001.png", ctype: "image/png"},
		{name: "OKPictureWithoutCaption", send: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) {
			return srv.Picture(u, photo, "")
		}, data: photo, kind: "photo", fileName: "IMG_0001.png", ctype: "image/png"},
		{name: "OKFile", send: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) {
			return srv.File(u, pdf, "звіт-березень.pdf")
		}, data: pdf, kind: "document", fileName: "звіт-березень.pdf", ctype: "application/pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			e := newEnv(t, nil)
			e.start(t, nil)
			ok(t)(tt.send(e.srv, user(1)))
			evs := e.h.Events()
			if len(evs) != 1 {
				t.Fatalf("the handler saw %d events, want 1", len(evs))
			}
			ev := evs[0]
			want := &bot.Attachment{Kind: tt.kind, FileID: hromadabot.FileID(tt.data), Name: tt.fileName}
			if ev.Attachment == nil || *ev.Attachment != *want {
				t.Fatalf("attachment %+v, want %+v", ev.Attachment, want)
			}
			if ev.Text != tt.text || ev.Unsupported != "" {
				t.Errorf("text %q unsupported %q, want text %q", ev.Text, ev.Unsupported, tt.text)
			}
			e.srv.ExpireMedia()
			f, err := e.db.File(ctx, ev.Attachment.FileID)
			if err != nil {
				t.Fatalf("the kept file: %v", err)
			}
			if !bytes.Equal(f.Data, tt.data) || f.Kind != hromadabot.FileEvidence || f.ContentType != tt.ctype {
				t.Errorf("kept %d bytes of kind %s and type %s, want the %d bytes as %s evidence", len(f.Data), f.Kind, f.ContentType, len(tt.data), tt.ctype)
			}
		})
	}
}

// TestIncomingMediaUnreachable: media that cannot be downloaded is handled
// as an attachment without a file, so that the dialog asks for it again.
func TestIncomingMediaUnreachable(t *testing.T) {
	e := newEnv(t, nil)
	e.start(t, nil)
	tests := []struct {
		name  string
		media string
	}{
		{name: "OKExpired", media: e.hook.URL + "/expired/IMG_0001.jpg"},
		{name: "OKNoURL", media: ""},
		{name: "OKNotHTTP", media: "file:///etc/passwd"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.h.Events())
			raw, _ := json.Marshal(map[string]any{
				"event": "message", "timestamp": 1481142112807, "message_token": 8000 + i,
				"sender":  map[string]any{"id": "01234567890A="},
				"message": map[string]any{"type": "picture", "media": tt.media, "text": "фото"},
			})
			ok(t)(e.srv.Deliver(raw))
			evs := e.h.Events()[before:]
			if len(evs) != 1 {
				t.Fatalf("the handler saw %d events, want 1", len(evs))
			}
			if a := evs[0].Attachment; a == nil || a.Kind != "photo" || a.FileID != "" {
				t.Errorf("attachment %+v, want a photo without a file", a)
			}
		})
	}
}

// TestUnsupported: what the bot does not read is named, with no text and
// no attachment.
func TestUnsupported(t *testing.T) {
	tests := []struct {
		name string
		send func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error)
		want string
	}{
		{name: "OKSticker", send: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) { return srv.Sticker(u) }, want: "sticker"},
		{name: "OKLocation", send: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) {
			return srv.Location(u, 50.5436, 30.2127)
		}, want: "location"},
		{name: "OKContact", send: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) {
			return srv.Contact(u, "Староста", "+380441234567")
		}, want: "contact"},
		{name: "OKEmptyText", send: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) { return srv.Text(u, "") }, want: "empty"},
	}
	e := newEnv(t, nil)
	e.start(t, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.h.Events())
			ok(t)(tt.send(e.srv, user(i)))
			evs := e.h.Events()[before:]
			if len(evs) != 1 {
				t.Fatalf("the handler saw %d events, want 1", len(evs))
			}
			ev := evs[0]
			if ev.Unsupported != tt.want || ev.Text != "" || ev.Payload != "" || ev.Attachment != nil {
				t.Errorf("event unsupported %q text %q payload %q attachment %+v, want only unsupported %q",
					ev.Unsupported, ev.Text, ev.Payload, ev.Attachment, tt.want)
			}
		})
	}
}

// TestRedelivery: a callback Viber delivers again is answered 200 and not
// handled twice.
func TestRedelivery(t *testing.T) {
	tests := []struct {
		name string
		send func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error)
	}{
		{name: "OKText", send: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) {
			return srv.Text(u, "Звіт за березень")
		}},
		{name: "OKPicture", send: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) {
			return srv.Picture(u, pngImage(t, 9), "доказ")
		}},
		{name: "OKSticker", send: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) { return srv.Sticker(u) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.h.setReply(answer(bot.Reply{Text: "Прийнято"}))
			e.start(t, nil)
			u := user(1)
			d := ok(t)(tt.send(e.srv, u))
			e.srv.ExpireMedia()
			ok(t)(e.srv.Redeliver(d))
			ok(t)(e.srv.Redeliver(d))
			if n := len(e.h.Events()); n != 1 {
				t.Errorf("the handler saw %d events, want 1", n)
			}
			if got := texts(e.srv.MessagesTo(u.ID)); !slices.Equal(got, []string{"Прийнято"}) {
				t.Errorf("sent %q, want one answer", got)
			}
		})
	}
}

// TestCallbacksWithoutToken: callbacks that carry no message_token are
// told apart, not taken for redeliveries of each other.
func TestCallbacksWithoutToken(t *testing.T) {
	e := newEnv(t, nil)
	e.start(t, nil)
	var got []string
	for _, text := range []string{"перше", "друге"} {
		raw, _ := json.Marshal(map[string]any{
			"event": "message", "timestamp": 1481142112807,
			"sender":  map[string]any{"id": "01234567890A="},
			"message": map[string]any{"type": "text", "text": text},
		})
		ok(t)(e.srv.Deliver(raw))
	}
	for _, ev := range e.h.Events() {
		got = append(got, ev.Text)
	}
	if !slices.Equal(got, []string{"перше", "друге"}) {
		t.Errorf("handled %q, want both messages", got)
	}
}

// TestConversationStarted: a person opening the chat is answered with one
// welcome message in the callback's answer; one already subscribed is in
// the middle of their conversation and gets none.
func TestConversationStarted(t *testing.T) {
	langs := bot.Reply{Text: "<b>Вітаємо!</b> Оберіть мову", Buttons: [][]bot.Button{{{Text: "Українська", Payload: "lang:uk"}, {Text: "English", Payload: "lang:en"}}}}
	tests := []struct {
		name       string
		subscribed bool
		replies    []bot.Reply
		// events is how many events the handler sees; welcome the text of
		// the welcome message, "" for none.
		events  int
		welcome string
		buttons [][]string
	}{
		{name: "OKWelcome", replies: []bot.Reply{langs}, events: 1, welcome: "Вітаємо! Оберіть мову", buttons: [][]string{{"Українська", "English"}}},
		{name: "OKRepliesFolded", replies: []bot.Reply{{Text: "Цифрова громада"}, langs}, events: 1,
			welcome: "Цифрова громада\n\nВітаємо! Оберіть мову", buttons: [][]string{{"Українська", "English"}}},
		{name: "OKNoReplyNoWelcome", events: 1},
		{name: "OKSubscribedNoWelcome", subscribed: true, replies: []bot.Reply{langs}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.h.setReply(answer(tt.replies...))
			e.start(t, nil)
			u := vibertest.User{ID: "01234567890A=", Language: "en"}
			if tt.subscribed {
				e.srv.AddUser(u)
			}
			d := ok(t)(e.srv.ConversationStarted(u, "qr-buchа"))
			evs := e.h.Events()
			if len(evs) != tt.events {
				t.Fatalf("the handler saw %d events, want %d", len(evs), tt.events)
			}
			if tt.events > 0 {
				ev := evs[0]
				if ev.Text != "/start" || ev.ChatID != u.ID || ev.UserID != u.ID || ev.LanguageCode != "en" || ev.Payload != "" {
					t.Errorf("event %+v, want /start from %s in en", ev, u.ID)
				}
			}
			msgs := e.srv.MessagesTo(u.ID)
			if tt.welcome == "" {
				if len(bytes.TrimSpace(d.Body)) != 0 || len(msgs) != 0 {
					t.Errorf("answered %q and sent %d messages, want no welcome", d.Body, len(msgs))
				}
				return
			}
			var body map[string]any
			if err := json.Unmarshal(d.Body, &body); err != nil {
				t.Fatalf("the answer %q is not JSON: %v", d.Body, err)
			}
			if _, ok := body["receiver"]; ok {
				t.Errorf("the welcome %s has a receiver, want none", d.Body)
			}
			if len(msgs) != 1 || !msgs[0].Welcome {
				t.Fatalf("messages %+v, want one welcome", msgs)
			}
			m := msgs[0]
			if m.Text != tt.welcome || m.Sender.Name != senderName {
				t.Errorf("welcome %q from %q, want %q from %q", m.Text, m.Sender.Name, tt.welcome, senderName)
			}
			if got := labels(m.Keyboard); !equalRows(got, tt.buttons) {
				t.Errorf("welcome keyboard %q, want %q", got, tt.buttons)
			}
			// The welcome's buttons work like any other.
			ok(t)(e.srv.PressText(u, "English"))
			evs = e.h.Events()
			if len(evs) != 2 || evs[1].Payload != "lang:en" {
				t.Errorf("events %+v, want the press of lang:en", evs)
			}
		})
	}
}

// TestSubscriptionAndReceipts: unsubscribing reaches OnGone and receipts
// OnReceipt; none reaches the handler.
func TestSubscriptionAndReceipts(t *testing.T) {
	u := user(5)
	tests := []struct {
		name     string
		send     func(srv *vibertest.Server) (vibertest.Delivery, error)
		gone     []string
		receipts []string
	}{
		{name: "OKUnsubscribed", send: func(srv *vibertest.Server) (vibertest.Delivery, error) { return srv.Unsubscribed(u.ID) }, gone: []string{u.ID}},
		{name: "OKSubscribed", send: func(srv *vibertest.Server) (vibertest.Delivery, error) { return srv.Subscribed(u) }},
		{name: "OKDelivered", send: func(srv *vibertest.Server) (vibertest.Delivery, error) {
			return srv.Delivered(u.ID, 5491838830473958123)
		}, receipts: []string{"delivered"}},
		{name: "OKSeen", send: func(srv *vibertest.Server) (vibertest.Delivery, error) { return srv.Seen(u.ID, 5491838830473958123) }, receipts: []string{"seen"}},
		{name: "OKFailed", send: func(srv *vibertest.Server) (vibertest.Delivery, error) {
			return srv.Failed(u.ID, 5491838830473958123, "keyboard not supported")
		}, receipts: []string{"failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.start(t, nil)
			ok(t)(tt.send(e.srv))
			if got := e.Gone(); !slices.Equal(got, tt.gone) {
				t.Errorf("OnGone heard %q, want %q", got, tt.gone)
			}
			if got := e.Receipts(); !slices.Equal(got, tt.receipts) {
				t.Errorf("OnReceipt heard %q, want %q", got, tt.receipts)
			}
			if n := len(e.h.Events()); n != 0 {
				t.Errorf("the handler saw %d events, want none", n)
			}
		})
	}
}

// TestHandlingFailure: a callback whose handling failed is answered 500,
// so that Viber delivers it again, and the redelivery is handled.
func TestHandlingFailure(t *testing.T) {
	tests := []struct {
		name string
		fail func(ctx context.Context, ev bot.Event) ([]bot.Reply, error)
		// sent are the texts that reached the person after both deliveries.
		sent []string
	}{
		{name: "ErrHandler", fail: func(context.Context, bot.Event) ([]bot.Reply, error) {
			return nil, errors.New("insert report: database is locked")
		}, sent: []string{"Прийнято"}},
		{name: "ErrHandlerTemporary", fail: func(context.Context, bot.Event) ([]bot.Reply, error) {
			return []bot.Reply{{Text: "Тимчасово недоступно"}}, &bot.TemporaryError{Err: errors.New("redis: connection refused")}
		}, sent: []string{"Тимчасово недоступно", "Прийнято"}},
		{name: "ErrHandlerPanics", fail: func(context.Context, bot.Event) ([]bot.Reply, error) {
			panic("index out of range")
		}, sent: []string{"Прийнято"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.h.setReply(tt.fail)
			e.start(t, nil)
			u := user(1)
			d, err := e.srv.Text(u, "Звіт: 12 послуг онлайн")
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != http.StatusInternalServerError {
				t.Fatalf("answered %d, want 500", d.Status)
			}
			e.h.setReply(answer(bot.Reply{Text: "Прийнято"}))
			ok(t)(e.srv.Redeliver(d))
			evs := e.h.Events()
			if len(evs) != 2 || evs[0].UpdateID != evs[1].UpdateID {
				t.Errorf("events %+v, want the same update handled twice", evs)
			}
			if got := texts(e.srv.MessagesTo(u.ID)); !slices.Equal(got, tt.sent) {
				t.Errorf("sent %q, want %q", got, tt.sent)
			}
		})
	}
}

// TestStopped: once Run returned, callbacks are answered 503, so that
// Viber keeps them, and nothing is handled.
func TestStopped(t *testing.T) {
	tests := []struct {
		name string
		send func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error)
	}{
		{name: "ErrText", send: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) {
			return srv.Text(u, "Привіт")
		}},
		{name: "ErrConversationStarted", send: func(srv *vibertest.Server, u vibertest.User) (vibertest.Delivery, error) {
			return srv.ConversationStarted(u, "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.h.setReply(answer(bot.Reply{Text: "Вітаємо"}))
			r := e.start(t, nil)
			r.stop(t)
			d, err := tt.send(e.srv, user(1))
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != http.StatusServiceUnavailable {
				t.Errorf("answered %d, want 503", d.Status)
			}
			if n := len(e.h.Events()); n != 0 {
				t.Errorf("the handler saw %d events, want none", n)
			}
			if n := len(e.srv.Messages()); n != 0 {
				t.Errorf("%d messages sent, want none", n)
			}
		})
	}
}

func equalRows(a, b [][]string) bool {
	return slices.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

// joinLines is the text of messages cut at line breaks, put back together.
func joinLines(ms []vibertest.Message) string {
	return strings.Join(texts(ms), "\n")
}

// TestWelcomeMenuKept: the welcome's keyboard is the chat's menu, shown
// again under a reply that keeps it.
func TestWelcomeMenuKept(t *testing.T) {
	e := newEnv(t, nil)
	e.h.setReply(func(_ context.Context, ev bot.Event) ([]bot.Reply, error) {
		if ev.Text == "/start" {
			return []bot.Reply{{Text: "Оберіть мову", Buttons: [][]bot.Button{{{Text: "Українська", Payload: "lang:uk"}, {Text: "English", Payload: "lang:en"}}}}}, nil
		}
		return []bot.Reply{{Text: "Оберіть мову кнопкою нижче", KeepMenu: true}}, nil
	})
	e.start(t, nil)
	u := vibertest.User{ID: "01234567890A="}
	ok(t)(e.srv.ConversationStarted(u, ""))
	ok(t)(e.srv.Text(u, "привіт"))
	want := [][]string{{"Українська", "English"}}
	if got := labels(e.srv.LastKeyboard(u.ID)); !equalRows(got, want) {
		t.Errorf("the person sees %q, want the welcome's %q", got, want)
	}
}

// TestEventTime: an event is dated by its callback's timestamp, in
// milliseconds, or by the clock when it has none.
func TestEventTime(t *testing.T) {
	e := newEnv(t, nil)
	e.start(t, nil)
	tests := []struct {
		name      string
		timestamp int64
		want      time.Time
	}{
		{name: "OKTimestamp", timestamp: 1481142112807, want: time.UnixMilli(1481142112807)},
		{name: "OKNoTimestamp", want: e.clock.Now()},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.h.Events())
			cb := map[string]any{
				"event": "message", "message_token": 9000 + i,
				"sender":  map[string]any{"id": "01234567890A="},
				"message": map[string]any{"type": "text", "text": "привіт"},
			}
			if tt.timestamp != 0 {
				cb["timestamp"] = tt.timestamp
			}
			raw, _ := json.Marshal(cb)
			ok(t)(e.srv.Deliver(raw))
			evs := e.h.Events()[before:]
			if len(evs) != 1 || !evs[0].At.Equal(tt.want) {
				t.Fatalf("events %+v, want one at %v", evs, tt.want)
			}
		})
	}
}
