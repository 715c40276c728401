package viber_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/bot/viber"
	"github.com/hromadabot/hromadabot/bot/vibertest"
)

// TestReplyPlainText: a reply's HTML goes out as plain text, with the
// configured sender.
func TestReplyPlainText(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		want  string
	}{
		{name: "OKTagsAndEntities", reply: "<b>Бучанська</b> &amp; Ірпінська", want: "Бучанська & Ірпінська"},
		{name: "OKItalicAndCode", reply: "Індекс <i>за березень</i>: <code>72,5</code> &lt; 80", want: "Індекс за березень: 72,5 < 80"},
		{name: "OKLinkKeepsAddress", reply: `Докладно: <a href="https://hromada.example.org/bucha">Буча</a>`, want: "Докладно: Буча (https://hromada.example.org/bucha)"},
		{name: "OKQuotes", reply: "&quot;Дія&quot; &#39;онлайн&#39;", want: `"Дія" 'онлайн'`},
	}
	e := newEnv(t, nil)
	e.start(t, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.h.setReply(answer(bot.Reply{Text: tt.reply}))
			u := user(i)
			ok(t)(e.srv.Text(u, "/score"))
			msgs := e.srv.MessagesTo(u.ID)
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.Type != "text" || m.Text != tt.want {
				t.Errorf("sent %s %q, want text %q", m.Type, m.Text, tt.want)
			}
			if m.Sender.Name != senderName || m.Receiver != u.ID || m.Keyboard != nil {
				t.Errorf("sent to %s from %q with keyboard %v, want to %s from %q without one", m.Receiver, m.Sender.Name, m.Keyboard, u.ID, senderName)
			}
		})
	}
}

// TestReplyLong: a reply over Viber's 7,000 characters goes as several
// messages cut at line breaks, the keyboard under the last.
func TestReplyLong(t *testing.T) {
	var lines []string
	for i := 0; utf8.RuneCountInString(strings.Join(lines, "\n")) < 15000; i++ {
		lines = append(lines, fmt.Sprintf("%d. Громада №%d: 17 з 20 послуг онлайн, індекс 85", i+1, i+1))
	}
	long := strings.Join(lines, "\n")
	unbroken := strings.Repeat("ц", 15000)
	tests := []struct {
		name string
		text string
		min  int
	}{
		{name: "OKLines", text: long, min: 3},
		{name: "OKNoBreaks", text: unbroken, min: 3},
		{name: "OKExactlyTheLimit", text: strings.Repeat("ї", 7000), min: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.h.setReply(answer(bot.Reply{Text: tt.text, Buttons: [][]bot.Button{{{Text: "Далі", Payload: "page:2"}}}}))
			e.start(t, nil)
			u := user(1)
			ok(t)(e.srv.Text(u, "/ranking"))
			msgs := e.srv.MessagesTo(u.ID)
			if len(msgs) < tt.min {
				t.Fatalf("%d messages, want at least %d", len(msgs), tt.min)
			}
			for i, m := range msgs {
				if n := utf8.RuneCountInString(m.Text); n > 7000 || n == 0 {
					t.Errorf("message %d has %d characters, want 1 to 7000", i, n)
				}
				if last := i == len(msgs)-1; (m.Keyboard != nil) != last {
					t.Errorf("message %d of %d: keyboard %v, want one under the last only", i+1, len(msgs), m.Keyboard)
				}
			}
			got := joinLines(msgs)
			if tt.text == unbroken {
				got = strings.Join(texts(msgs), "")
			}
			if got != tt.text {
				t.Errorf("the messages put together differ from the reply (%d vs %d characters)", utf8.RuneCountInString(got), utf8.RuneCountInString(tt.text))
			}
			if kb := e.srv.LastKeyboard(u.ID); kb == nil || kb.Buttons[0].ActionBody != viber.PayloadPrefix+"page:2" {
				t.Errorf("the person sees keyboard %+v, want the reply's", kb)
			}
		})
	}
}

// TestKeyboard: neutral rows become reply buttons in rows of six columns;
// a label too long to share a row gets its own.
func TestKeyboard(t *testing.T) {
	long := "Переглянути повний рейтинг області"
	tests := []struct {
		name    string
		buttons [][]bot.Button
		rows    [][]string
	}{
		{name: "OKOneButton", buttons: [][]bot.Button{{{Text: "Меню", Payload: "menu"}}}, rows: [][]string{{"Меню"}}},
		{name: "OKThreeShort", buttons: [][]bot.Button{{{Text: "Буча", Payload: "c:1"}, {Text: "Ірпінь", Payload: "c:2"}, {Text: "Вишгород", Payload: "c:3"}}},
			rows: [][]string{{"Буча", "Ірпінь", "Вишгород"}}},
		// "Гостомель" (9 characters) makes a row of medium labels, two abreast.
		{name: "OKMediumLabelSplitsRow", buttons: [][]bot.Button{{{Text: "Буча", Payload: "c:1"}, {Text: "Ірпінь", Payload: "c:2"}, {Text: "Гостомель", Payload: "c:3"}}},
			rows: [][]string{{"Буча", "Ірпінь"}, {"Гостомель"}}},
		{name: "OKShortRows", buttons: [][]bot.Button{{{Text: "Так", Payload: "y"}, {Text: "Ні", Payload: "n"}}, {{Text: "Назад", Payload: "back"}}},
			rows: [][]string{{"Так", "Ні"}, {"Назад"}}},
		{name: "OKFiveShortSplit", buttons: [][]bot.Button{{{Text: "1", Payload: "p:1"}, {Text: "2", Payload: "p:2"}, {Text: "3", Payload: "p:3"}, {Text: "4", Payload: "p:4"}, {Text: "5", Payload: "p:5"}}},
			rows: [][]string{{"1", "2", "3"}, {"4", "5"}}},
		{name: "OKMediumPairs", buttons: [][]bot.Button{{{Text: "Подати звіт", Payload: "report"}, {Text: "Мій рейтинг", Payload: "rank"}, {Text: "Допомога", Payload: "help"}}},
			rows: [][]string{{"Подати звіт", "Мій рейтинг"}, {"Допомога"}}},
		{name: "OKLongLabelOwnRow", buttons: [][]bot.Button{{{Text: "Так", Payload: "y"}, {Text: long, Payload: "all"}}},
			rows: [][]string{{"Так"}, {long}}},
		{name: "OKURLButton", buttons: [][]bot.Button{{{Text: "Мапа", URL: "https://hromada.example.org/map"}, {Text: "Меню", Payload: "menu"}}},
			rows: [][]string{{"Мапа", "Меню"}}},
	}
	e := newEnv(t, nil)
	e.start(t, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.h.setReply(answer(bot.Reply{Text: "Оберіть", Buttons: tt.buttons}))
			u := user(i)
			ok(t)(e.srv.Text(u, "/menu"))
			msgs := e.srv.MessagesTo(u.ID)
			if len(msgs) != 1 || msgs[0].Keyboard == nil {
				t.Fatalf("messages %+v, want one with a keyboard", msgs)
			}
			m := msgs[0]
			if m.MinAPIVersion <= 1 {
				t.Errorf("min_api_version %d, want the keyboard's level", m.MinAPIVersion)
			}
			kb := m.Keyboard
			if got := labels(kb); !equalRows(got, tt.rows) {
				t.Errorf("rows %q, want %q", got, tt.rows)
			}
			for r, row := range kb.Rows() {
				width := 0
				for _, b := range row {
					width += b.Columns
				}
				if width != vibertest.KeyboardColumns {
					t.Errorf("row %d is %d columns wide, want %d", r, width, vibertest.KeyboardColumns)
				}
			}
			want := map[string]bot.Button{}
			for _, row := range tt.buttons {
				for _, b := range row {
					want[b.Text] = b
				}
			}
			for _, b := range kb.Buttons {
				n := want[b.Text]
				switch {
				case n.Payload != "":
					if b.ActionType != "reply" || b.ActionBody != viber.PayloadPrefix+n.Payload || !b.Silent {
						t.Errorf("button %q: %s %q silent %v, want a silent reply of %q", b.Text, b.ActionType, b.ActionBody, b.Silent, viber.PayloadPrefix+n.Payload)
					}
				case n.URL != "":
					if b.ActionType != "open-url" || b.ActionBody != n.URL {
						t.Errorf("button %q: %s %q, want open-url %q", b.Text, b.ActionType, b.ActionBody, n.URL)
					}
				default:
					t.Errorf("button %q is not one of the reply's", b.Text)
				}
			}
		})
	}
}

// TestKeyboardTooManyRows: a menu of more rows than a phone shows is packed
// tighter, so that Viber takes it.
func TestKeyboardTooManyRows(t *testing.T) {
	var rows [][]bot.Button
	for i := range 7 {
		rows = append(rows, []bot.Button{
			{Text: fmt.Sprintf("Громада %d", 2*i), Payload: fmt.Sprintf("c:%d", 2*i)},
			{Text: fmt.Sprintf("Громада %d", 2*i+1), Payload: fmt.Sprintf("c:%d", 2*i+1)},
		})
	}
	// Seven rows of two medium labels take seven rows; three more rows of
	// long labels, one to a row, would take eight more.
	tests := []struct {
		name string
		rows [][]bot.Button
	}{
		{name: "OKWithinLimit", rows: rows},
		{name: "OKLongLabelsPacked", rows: append(slices.Clone(rows), []bot.Button{
			{Text: "Повний рейтинг області", Payload: "all:1"}, {Text: "Повний рейтинг країни", Payload: "all:2"}, {Text: "Рейтинг за минулий рік", Payload: "all:3"},
		}, []bot.Button{
			{Text: "Порівняти з сусідами", Payload: "cmp:1"}, {Text: "Порівняти з минулим", Payload: "cmp:2"}, {Text: "Порівняти за послугами", Payload: "cmp:3"},
		}, []bot.Button{
			{Text: "Налаштування сповіщень", Payload: "set:1"}, {Text: "Змінити мову інтерфейсу", Payload: "set:2"},
		})},
	}
	e := newEnv(t, nil)
	e.start(t, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := user(i)
			e.srv.AddUser(u)
			if err := e.ch.Deliver(testContext(t), bot.Outgoing{ChatID: u.ID, Reply: bot.Reply{Text: "Оберіть", Buttons: tt.rows}}); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			kb := e.srv.LastKeyboard(u.ID)
			if kb == nil {
				t.Fatal("no keyboard")
			}
			if n := len(kb.Rows()); n > vibertest.MaxKeyboardRows {
				t.Errorf("%d rows, want at most %d", n, vibertest.MaxKeyboardRows)
			}
			for r, row := range kb.Rows() {
				width := 0
				for _, b := range row {
					width += b.Columns
				}
				if width != vibertest.KeyboardColumns {
					t.Errorf("row %d is %d columns wide, want %d", r, width, vibertest.KeyboardColumns)
				}
			}
		})
	}
}

// TestKeyboardLifetime: every message replaces the keyboard, so a reply
// without buttons removes it, unless it says the menu is still live.
func TestKeyboardLifetime(t *testing.T) {
	menu := bot.Reply{Text: "Меню", Buttons: [][]bot.Button{{{Text: "Рейтинг", Payload: "rank"}, {Text: "Звіт", Payload: "report"}}}}
	tests := []struct {
		name string
		next bot.Reply
		want [][]string
	}{
		{name: "OKPlainReplyRemovesIt", next: bot.Reply{Text: "Дякуємо"}},
		{name: "OKKeepMenuShowsItAgain", next: bot.Reply{Text: "Довідка", KeepMenu: true}, want: [][]string{{"Рейтинг", "Звіт"}}},
		{name: "OKNewButtonsReplaceIt", next: bot.Reply{Text: "Так?", Buttons: [][]bot.Button{{{Text: "Так", Payload: "y"}}}}, want: [][]string{{"Так"}}},
	}
	e := newEnv(t, nil)
	e.start(t, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			u := user(i)
			e.srv.AddUser(u)
			for _, r := range []bot.Reply{menu, tt.next} {
				if err := e.ch.Deliver(ctx, bot.Outgoing{ChatID: u.ID, Reply: r}); err != nil {
					t.Fatal(err)
				}
			}
			kb := e.srv.LastKeyboard(u.ID)
			if got := labels(kb); !equalRows(got, tt.want) {
				t.Errorf("the person sees %q, want %q", got, tt.want)
			}
			// After a plain reply even a KeepMenu reply has nothing to show.
			if tt.want == nil {
				if err := e.ch.Deliver(ctx, bot.Outgoing{ChatID: u.ID, Reply: bot.Reply{Text: "Довідка", KeepMenu: true}}); err != nil {
					t.Fatal(err)
				}
				if kb := e.srv.LastKeyboard(u.ID); kb != nil {
					t.Errorf("the person sees %q after the menu was removed", labels(kb))
				}
			}
		})
	}
}

// TestDeliverErrors: Viber's refusals become the typed send errors of
// package bot, and a reply the channel cannot lay out is refused before
// any call.
func TestDeliverErrors(t *testing.T) {
	reply := bot.Reply{Text: "Ваш рейтинг: 3 місце"}
	tests := []struct {
		name  string
		setup func(srv *vibertest.Server, id string)
		reply bot.Reply
		// calls is how many send_message calls are made.
		calls int
		check func(t *testing.T, err error)
	}{
		{name: "OK", calls: 1, check: func(t *testing.T, err error) {
			if err != nil {
				t.Errorf("Deliver: %v", err)
			}
		}},
		{name: "ErrBlocked", setup: func(srv *vibertest.Server, id string) { srv.FailReceiver(id, 6) }, calls: 1, check: func(t *testing.T, err error) {
			if !errors.Is(err, bot.ErrBlocked) || bot.IsRetryable(err) {
				t.Errorf("error %v, want ErrBlocked, not retryable", err)
			}
		}},
		{name: "ErrNotRegistered", setup: func(srv *vibertest.Server, id string) { srv.FailReceiver(id, 5) }, calls: 1, check: func(t *testing.T, err error) {
			if !errors.Is(err, bot.ErrBlocked) {
				t.Errorf("error %v, want ErrBlocked", err)
			}
		}},
		{name: "ErrTooManyRequests", setup: func(srv *vibertest.Server, _ string) { srv.FailNext(1, 12, "Too many requests") }, calls: 1, check: func(t *testing.T, err error) {
			if d, ok := bot.RetryAfter(err); !ok || d <= 0 {
				t.Errorf("error %v: RetryAfter %v %v, want a pause", err, d, ok)
			}
		}},
		{name: "ErrHTTP429", setup: func(srv *vibertest.Server, _ string) { srv.SetHTTPFailure(1, http.StatusTooManyRequests) }, calls: 1, check: func(t *testing.T, err error) {
			if _, ok := bot.RetryAfter(err); !ok {
				t.Errorf("error %v, want a *bot.RetryAfterError", err)
			}
		}},
		{name: "ErrHTTP502", setup: func(srv *vibertest.Server, _ string) { srv.SetHTTPFailure(1, http.StatusBadGateway) }, calls: 1, check: func(t *testing.T, err error) {
			var temp *bot.TemporaryError
			if !errors.As(err, &temp) || !bot.IsRetryable(err) {
				t.Errorf("error %v, want a *bot.TemporaryError", err)
			}
		}},
		{name: "ErrBadData", setup: func(srv *vibertest.Server, _ string) { srv.FailNext(1, 3, "badData") }, calls: 1, check: func(t *testing.T, err error) {
			var verr *viber.Error
			if !errors.As(err, &verr) || verr.Status != 3 || verr.Method != "send_message" {
				t.Errorf("error %v, want a *viber.Error of status 3", err)
			}
			if bot.IsRetryable(err) || errors.Is(err, bot.ErrBlocked) {
				t.Errorf("error %v is retryable or blocked, want neither", err)
			}
		}},
		{name: "ErrEmptyReply", reply: bot.Reply{Text: " <b></b> "}, check: func(t *testing.T, err error) {
			if err == nil {
				t.Error("Deliver of an empty reply succeeded")
			}
		}},
		{name: "ErrButtonBothPayloadAndURL", reply: bot.Reply{Text: "x", Buttons: [][]bot.Button{{{Text: "Мапа", Payload: "map", URL: "https://hromada.example.org"}}}}, check: wantErr},
		{name: "ErrButtonNeither", reply: bot.Reply{Text: "x", Buttons: [][]bot.Button{{{Text: "Мапа"}}}}, check: wantErr},
		{name: "ErrButtonNoText", reply: bot.Reply{Text: "x", Buttons: [][]bot.Button{{{Text: " ", Payload: "map"}}}}, check: wantErr},
		{name: "ErrButtonPayloadTooLong", reply: bot.Reply{Text: "x", Buttons: [][]bot.Button{{{Text: "Мапа", Payload: strings.Repeat("p", bot.MaxPayload+1)}}}}, check: wantErr},
		{name: "ErrButtonURLNotHTTP", reply: bot.Reply{Text: "x", Buttons: [][]bot.Button{{{Text: "Мапа", URL: "javascript:alert(1)"}}}}, check: wantErr},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			u := user(i)
			e.srv.AddUser(u)
			if tt.setup != nil {
				tt.setup(e.srv, u.ID)
			}
			r := tt.reply
			if r.Text == "" && r.Buttons == nil {
				r = reply
			}
			err := e.ch.Deliver(testContext(t), bot.Outgoing{ChatID: u.ID, Reply: r})
			tt.check(t, err)
			if n := len(e.srv.Calls("send_message")); n != tt.calls {
				t.Errorf("%d send_message calls, want %d", n, tt.calls)
			}
			if err != nil && strings.Contains(err.Error(), e.srv.Token()) {
				t.Errorf("error %q shows the token", err)
			}
			// A failure leaves nothing behind: the next reply goes.
			e.srv.FailReceiver(u.ID, 0)
			if err := e.ch.Deliver(testContext(t), bot.Outgoing{ChatID: u.ID, Reply: reply}); err != nil {
				t.Errorf("the next Deliver: %v", err)
			}
		})
	}
}

func wantErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Error("Deliver succeeded, want an error")
	}
}

// TestBadTokenStopsRun: a token Viber stops taking stops the channel with
// an error that says so.
func TestBadTokenStopsRun(t *testing.T) {
	e := newEnv(t, nil)
	r := e.start(t, nil)
	u := user(1)
	e.srv.AddUser(u)
	e.srv.FailNext(1, 2, "invalidAuthToken")
	err := e.ch.Deliver(testContext(t), bot.Outgoing{ChatID: u.ID, Reply: bot.Reply{Text: "Звіт прийнято"}})
	var verr *viber.Error
	if !errors.As(err, &verr) || verr.Status != 2 || bot.IsRetryable(err) {
		t.Errorf("Deliver: %v, want a *viber.Error of status 2, not retryable", err)
	}
	rerr := r.wait(t)
	if rerr == nil || !strings.Contains(rerr.Error(), "token") {
		t.Fatalf("Run returned %v, want an error naming the token", rerr)
	}
	if strings.Contains(rerr.Error(), e.srv.Token()) {
		t.Errorf("Run's error %q shows the token", rerr)
	}
}

// TestSender: replies through the real Sender, which waits out Viber's
// "too many requests" and retries a proxy's 502.
func TestSender(t *testing.T) {
	tests := []struct {
		name  string
		setup func(srv *vibertest.Server)
		// pauses is how many pauses the Sender took.
		pauses int
	}{
		{name: "OK"},
		{name: "OKAfterTooManyRequests", setup: func(srv *vibertest.Server) { srv.FailNext(1, 12, "Too many requests") }, pauses: 1},
		{name: "OKAfterBadGateway", setup: func(srv *vibertest.Server) { srv.SetHTTPFailure(2, http.StatusBadGateway) }, pauses: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			var mu sync.Mutex
			var pauses []time.Duration
			s := bot.NewSender(e.ch, bot.SenderOptions{GlobalRate: 1000, PerChatRate: 100, PerChatBurst: 100,
				Sleep: func(ctx context.Context, d time.Duration) error {
					// The rate limits' waits are a millisecond at most;
					// the retries' pauses are longer.
					if d >= 100*time.Millisecond {
						mu.Lock()
						defer mu.Unlock()
						pauses = append(pauses, d)
					}
					return ctx.Err()
				}})
			e.h.setReply(answer(bot.Reply{Text: "<b>3 місце</b> з 12"}))
			e.start(t, s)
			if tt.setup != nil {
				tt.setup(e.srv)
			}
			u := user(1)
			ok(t)(e.srv.Text(u, "/rank"))
			if got := texts(e.srv.MessagesTo(u.ID)); !slices.Equal(got, []string{"3 місце з 12"}) {
				t.Errorf("sent %q, want the reply once", got)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(pauses) != tt.pauses {
				t.Errorf("the Sender paused %v, want %d pauses", pauses, tt.pauses)
			}
		})
	}
}

// TestImage: a reply's picture goes first, at a URL the bot serves and
// Viber fetches; a picture with a known key is neither drawn nor stored
// again.
func TestImage(t *testing.T) {
	card := pngImage(t, 120)
	var draws atomic.Int32
	draw := func() ([]byte, error) {
		draws.Add(1)
		return card, nil
	}
	e := newEnv(t, nil)
	e.start(t, nil)
	u := user(1)
	e.srv.AddUser(u)
	ctx := testContext(t)
	reply := bot.Reply{Text: "<b>Буча</b>: 85 балів", Image: &bot.Image{Draw: draw, Key: "card:1"},
		Buttons: [][]bot.Button{{{Text: "Деталі", Payload: "details:1"}}}}
	for range 2 {
		if err := e.ch.Deliver(ctx, bot.Outgoing{ChatID: u.ID, Reply: reply}); err != nil {
			t.Fatal(err)
		}
	}
	if n := draws.Load(); n != 1 {
		t.Errorf("drawn %d times, want once", n)
	}
	msgs := e.srv.MessagesTo(u.ID)
	if len(msgs) != 4 {
		t.Fatalf("%d messages, want a picture and a text twice", len(msgs))
	}
	for i := 0; i < 4; i += 2 {
		pic, text := msgs[i], msgs[i+1]
		if pic.Type != "picture" || !bytes.Equal(pic.MediaBytes, card) || pic.MediaType != "image/png" {
			t.Errorf("message %d: %s of %d bytes (%s), want the card's PNG", i, pic.Type, len(pic.MediaBytes), pic.MediaType)
		}
		if !strings.HasPrefix(pic.Media, e.hook.URL+"/viber/media/") || pic.Keyboard != nil {
			t.Errorf("message %d: media %s keyboard %v, want a URL of the bot and no keyboard", i, pic.Media, pic.Keyboard)
		}
		if text.Type != "text" || text.Text != "Буча: 85 балів" || text.Keyboard == nil {
			t.Errorf("message %d: %s %q keyboard %v, want the text under the keyboard", i+1, text.Type, text.Text, text.Keyboard)
		}
	}
}

// TestImagePNG: an image given as bytes is served as they are.
func TestImagePNG(t *testing.T) {
	tests := []struct {
		name string
		text string
		// types are the messages' types.
		types []string
	}{
		{name: "OKWithText", text: "Картка громади", types: []string{"picture", "text"}},
		{name: "OKPictureAlone", types: []string{"picture"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.start(t, nil)
			u := user(i)
			e.srv.AddUser(u)
			card := pngImage(t, uint8(10*i))
			err := e.ch.Deliver(testContext(t), bot.Outgoing{ChatID: u.ID, Reply: bot.Reply{Text: tt.text, Image: &bot.Image{PNG: card, Key: "card:1"},
				Buttons: [][]bot.Button{{{Text: "Меню", Payload: "menu"}}}}})
			if err != nil {
				t.Fatal(err)
			}
			msgs := e.srv.MessagesTo(u.ID)
			var types []string
			for _, m := range msgs {
				types = append(types, m.Type)
			}
			if !slices.Equal(types, tt.types) {
				t.Fatalf("sent %v, want %v", types, tt.types)
			}
			if !bytes.Equal(msgs[0].MediaBytes, card) {
				t.Errorf("Viber fetched %d bytes, want the card's %d", len(msgs[0].MediaBytes), len(card))
			}
			if msgs[len(msgs)-1].Keyboard == nil {
				t.Error("the last message has no keyboard")
			}
		})
	}
}

// TestImageDrawFails: a card whose picture cannot be made goes without it.
func TestImageDrawFails(t *testing.T) {
	e := newEnv(t, nil)
	u := user(1)
	e.srv.AddUser(u)
	img := &bot.Image{Key: "card:broken", Draw: func() ([]byte, error) { return nil, errors.New("font missing") }}
	if err := e.ch.Deliver(testContext(t), bot.Outgoing{ChatID: u.ID, Reply: bot.Reply{Text: "Буча: 85 балів", Image: img}}); err != nil {
		t.Fatal(err)
	}
	if got := texts(e.srv.MessagesTo(u.ID)); !slices.Equal(got, []string{"Буча: 85 балів"}) {
		t.Errorf("sent %q, want the text alone", got)
	}
}

// TestMediaURL: the served picture's URL works as handed out and only so,
// until it expires.
func TestMediaURL(t *testing.T) {
	card := pngImage(t, 77)
	tests := []struct {
		name    string
		change  func(url string) string
		advance time.Duration
		status  int
	}{
		{name: "OK", status: http.StatusOK},
		{name: "OKBeforeExpiry", advance: 71 * time.Hour, status: http.StatusOK},
		{name: "ErrMACChanged", change: changeMAC, status: http.StatusNotFound},
		{name: "ErrIDChanged", change: func(u string) string { return flipAt(u, strings.LastIndex(u, "/")+1) }, status: http.StatusNotFound},
		{name: "ErrExpiryChanged", change: func(u string) string {
			parts := strings.Split(u, ".")
			return flipAt(u, len(strings.Join(parts[:len(parts)-3], "."))+1)
		}, status: http.StatusNotFound},
		{name: "ErrNotPNG", change: func(u string) string { return strings.TrimSuffix(u, ".png") + ".jpg" }, status: http.StatusNotFound},
		{name: "ErrExpired", advance: 73 * time.Hour, status: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			u := user(1)
			e.srv.AddUser(u)
			if err := e.ch.Deliver(testContext(t), bot.Outgoing{ChatID: u.ID, Reply: bot.Reply{Text: "Картка", Image: &bot.Image{PNG: card, Key: "card:7"}}}); err != nil {
				t.Fatal(err)
			}
			msgs := e.srv.MessagesTo(u.ID)
			if len(msgs) == 0 || msgs[0].Type != "picture" {
				t.Fatalf("messages %+v, want a picture first", msgs)
			}
			url := msgs[0].Media
			if tt.change != nil {
				url = tt.change(url)
				if url == msgs[0].Media {
					t.Fatal("the URL is unchanged")
				}
			}
			e.clock.Add(tt.advance)
			resp, err := http.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("GET %s: %d, want %d", url, resp.StatusCode, tt.status)
			}
			if tt.status == http.StatusOK && (!bytes.Equal(body, card) || resp.Header.Get("Content-Type") != "image/png") {
				t.Errorf("served %d bytes of %s, want the card's %d bytes of image/png", len(body), resp.Header.Get("Content-Type"), len(card))
			}
			if tt.status != http.StatusOK && bytes.Equal(body, card) {
				t.Error("the refused URL served the picture")
			}
		})
	}
}

// TestMediaURLUnderPath: with a public URL that has a path, the pictures
// are served under it, where MediaPattern mounts them.
func TestMediaURLUnderPath(t *testing.T) {
	var public string
	e := newEnv(t, func(c *viber.Config) {
		c.PublicURL += "/hromada/"
		public = c.PublicURL
	})
	if want := "GET /hromada/viber/media/{name}"; e.ch.MediaPattern() != want {
		t.Fatalf("MediaPattern %q, want %q", e.ch.MediaPattern(), want)
	}
	u := user(1)
	e.srv.AddUser(u)
	card := pngImage(t, 33)
	if err := e.ch.Deliver(testContext(t), bot.Outgoing{ChatID: u.ID, Reply: bot.Reply{Text: "Картка", Image: &bot.Image{PNG: card}}}); err != nil {
		t.Fatal(err)
	}
	msgs := e.srv.MessagesTo(u.ID)
	if len(msgs) != 2 || msgs[0].Type != "picture" {
		t.Fatalf("messages %+v, want a picture and its text", msgs)
	}
	if !strings.HasPrefix(msgs[0].Media, public+"viber/media/") || !bytes.Equal(msgs[0].MediaBytes, card) {
		t.Errorf("media %s with %d bytes, want the card under %s", msgs[0].Media, len(msgs[0].MediaBytes), public)
	}
}

// changeMAC changes one character of the MAC of a media URL
// (<id>.<expires>.<mac>.png).
func changeMAC(u string) string {
	rest := strings.TrimSuffix(u, ".png")
	return flipAt(u, strings.LastIndex(rest, ".")+1)
}

// flipAt changes the character at i to another of the URL alphabet.
func flipAt(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}
