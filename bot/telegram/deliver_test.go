package telegram_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/bot/telegram"
	"github.com/hromadabot/hromadabot/bot/telegramtest"
)

var _ bot.Transport = (*telegram.Channel)(nil)

func onePixelPNG() []byte {
	return []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
}

// lines returns n numbered lines of about width characters each.
func lines(n, width int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte('\n')
		}
		line := strconv.Itoa(i) + ". "
		b.WriteString(line + strings.Repeat("ж", width-len([]rune(line))))
	}
	return b.String()
}

// TestDeliverErrors checks how Bot API failures map to the send errors the
// Sender acts on.
func TestDeliverErrors(t *testing.T) {
	text := bot.Reply{Text: "Звіт збережено"}
	photo := bot.Reply{Text: "Індекс", Image: &bot.Image{PNG: onePixelPNG()}}
	tests := []struct {
		name      string
		method    string
		fault     *telegramtest.Fault
		reply     bot.Reply
		chat      string
		check     func(error) bool
		wantSent  int
		wantCalls int
	}{
		{"OK", "", nil, text, "", func(err error) bool { return err == nil }, 1, 1},
		{"ErrRetryAfter", "sendMessage", ptr(telegramtest.TooManyRequests(7)), text, "", func(err error) bool {
			d, ok := bot.RetryAfter(err)
			return ok && d == 7*time.Second
		}, 0, 1},
		{"ErrRetryAfterPhoto", "sendPhoto", ptr(telegramtest.TooManyRequests(3)), photo, "", func(err error) bool {
			d, ok := bot.RetryAfter(err)
			return ok && d == 3*time.Second
		}, 0, 1},
		{"ErrBlocked", "sendMessage", ptr(telegramtest.Blocked()), text, "", func(err error) bool { return errors.Is(err, bot.ErrBlocked) }, 0, 1},
		// The library's multipart path drops error_code; the HTTP status still tells.
		{"ErrBlockedPhoto", "sendPhoto", ptr(telegramtest.Blocked()), photo, "", func(err error) bool { return errors.Is(err, bot.ErrBlocked) }, 0, 1},
		{"ErrChatNotFound", "", nil, text, "42", func(err error) bool { return errors.Is(err, bot.ErrBlocked) }, 0, 1},
		{"ErrInternal", "sendMessage", ptr(telegramtest.InternalError()), text, "", isTemporary, 0, 1},
		{"ErrInternalPhoto", "sendPhoto", ptr(telegramtest.InternalError()), photo, "", isTemporary, 0, 1},
		{"ErrBadGatewayHTML", "sendMessage", ptr(telegramtest.BadGateway()), text, "", isTemporary, 0, 1},
		{"ErrMalformedAnswer", "sendMessage", ptr(telegramtest.Malformed()), text, "", isTemporary, 1, 1},
		{"ErrDisconnect", "sendMessage", ptr(telegramtest.Disconnect()), text, "", isTemporary, 0, 1},
		{"ErrUnescapedHTML", "", nil, bot.Reply{Text: "5 < 7"}, "", func(err error) bool {
			var te *telegram.Error
			return errors.As(err, &te) && te.Code == 400 && !bot.IsRetryable(err) &&
				strings.Contains(te.Description, "can't parse entities")
		}, 0, 1},
		{"ErrPayloadTooLong", "", nil, bot.Reply{Text: "x", Buttons: [][]bot.Button{{{Text: "x", Payload: strings.Repeat("ї", 33)}}}}, "",
			func(err error) bool { return err != nil && !bot.IsRetryable(err) }, 0, 0},
		{"ErrButtonWithoutAction", "", nil, bot.Reply{Text: "x", Buttons: [][]bot.Button{{{Text: "x"}}}}, "",
			func(err error) bool { return err != nil && !bot.IsRetryable(err) }, 0, 0},
		{"ErrBadChatID", "", nil, text, "@olena", func(err error) bool { return err != nil && !bot.IsRetryable(err) }, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, telegramtest.Options{})
			srv.AddUser(olena)
			ch, _ := newChannel(t, srv, nil)
			if tt.fault != nil {
				srv.Inject(tt.method, 1, *tt.fault)
			}
			chat := tt.chat
			if chat == "" {
				chat = strconv.Itoa(chatID)
			}
			err := ch.Deliver(testContext(t), bot.Outgoing{ChatID: chat, Reply: tt.reply})
			if !tt.check(err) {
				t.Fatalf("Deliver error %T %v", err, err)
			}
			if err != nil && strings.Contains(err.Error(), srv.Token()) {
				t.Fatalf("error %q reveals the token", err)
			}
			if n := len(telegramtest.BotMessages(srv.Chat(chatID))); n != tt.wantSent {
				t.Fatalf("%d messages in the chat, want %d", n, tt.wantSent)
			}
			if n := len(outbound(srv)); n != tt.wantCalls {
				t.Fatalf("%d calls, want %d", n, tt.wantCalls)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func isTemporary(err error) bool {
	var te *bot.TemporaryError
	return errors.As(err, &te) && bot.IsRetryable(err)
}

// TestDeliverLong checks that texts over Telegram's limits are split into
// valid messages and that captions over 1024 characters move into a text.
func TestDeliverLong(t *testing.T) {
	kb := [][]bot.Button{{{Text: "Ще", Payload: "more"}}}
	tests := []struct {
		name      string
		reply     bot.Reply
		wantParts int
		// wantPhotoCaption is whether the photo carries the text.
		wantPhoto, wantPhotoCaption bool
	}{
		{"OKExactlyAtLimit", bot.Reply{Text: strings.Repeat("я", 4096), Buttons: kb}, 1, false, false},
		{"OKSplitOnLines", bot.Reply{Text: lines(100, 100), Buttons: kb}, 3, false, false},
		{"OKSplitKeepsTagsBalanced", bot.Reply{Text: "<b>" + lines(60, 100) + "</b>\n<i>" + lines(60, 100) + "</i>", Buttons: kb}, 3, false, false},
		{"OKSplitOneHugeLine", bot.Reply{Text: strings.Repeat("слово ", 1500), Buttons: kb}, 3, false, false},
		{"OKSplitEntitiesCountOnce", bot.Reply{Text: strings.Repeat("&lt;&amp;", 2048), Buttons: kb}, 1, false, false},
		{"OKEmojiCountTwice", bot.Reply{Text: strings.Repeat("😀", 2049), Buttons: kb}, 2, false, false},
		{"OKEditTooLongSendsNew", bot.Reply{Text: lines(100, 100), Buttons: kb, EditMenu: true}, 3, false, false},
		{"OKCaption", bot.Reply{Text: strings.Repeat("я", 1024), Image: &bot.Image{PNG: onePixelPNG()}, Buttons: kb}, 0, true, true},
		{"OKCaptionTooLongSentAsText", bot.Reply{Text: strings.Repeat("я", 1025), Image: &bot.Image{PNG: onePixelPNG()}, Buttons: kb}, 1, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, telegramtest.Options{})
			srv.AddUser(olena)
			ch, _ := newChannel(t, srv, nil)
			if err := ch.Deliver(testContext(t), bot.Outgoing{ChatID: strconv.Itoa(chatID), Reply: tt.reply, MenuID: "99"}); err != nil {
				t.Fatal(err)
			}
			msgs := telegramtest.BotMessages(srv.Chat(chatID))
			var texts []telegramtest.Message
			for _, m := range msgs {
				if m.PhotoID != "" {
					if !tt.wantPhoto || (m.Text != "") != tt.wantPhotoCaption {
						t.Fatalf("unexpected photo with caption %d chars", len([]rune(m.Text)))
					}
					continue
				}
				texts = append(texts, m)
			}
			if len(texts) != tt.wantParts {
				t.Fatalf("%d text messages, want %d", len(texts), tt.wantParts)
			}
			if len(msgs) != tt.wantParts+map[bool]int{true: 1}[tt.wantPhoto] {
				t.Fatalf("%d messages", len(msgs))
			}
			// The fake accepted every part, so each is valid HTML within the
			// limit; the buttons sit under the last message only.
			for i, m := range msgs {
				if (m.Keyboard != nil) != (i == len(msgs)-1) {
					t.Fatalf("message %d of %d has keyboard %v", i+1, len(msgs), m.Keyboard)
				}
			}
			if tt.wantParts > 0 {
				if got, want := compact(joinTexts(texts)), compact(plain(tt.reply.Text)); got != want {
					t.Fatalf("split lost or changed text: got %d chars, want %d", len(got), len(want))
				}
			}
			if tt.name == "OKSplitKeepsTagsBalanced" {
				if !strings.HasPrefix(texts[1].HTML, "<b>") || !strings.HasSuffix(texts[0].HTML, "</b>") {
					t.Fatalf("bold not carried across the cut: %q … %q", tail(texts[0].HTML), head(texts[1].HTML))
				}
			}
		})
	}
}

func joinTexts(ms []telegramtest.Message) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, m.Text)
	}
	return strings.Join(parts, "\n")
}

// compact drops the whitespace a cut may remove or add.
func compact(s string) string {
	return strings.Join(strings.Fields(s), "")
}

// plain strips the tags and decodes the entities used in the tests.
func plain(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(b.String())
}

func head(s string) string { return string([]rune(s)[:min(20, len([]rune(s)))]) }
func tail(s string) string { r := []rune(s); return string(r[max(0, len(r)-20):]) }

func text(uk, en string) hromadabot.Text { return hromadabot.Text{UK: uk, EN: en} }

func TestCommands(t *testing.T) {
	ctx := testContext(t)
	srv := newServer(t, telegramtest.Options{})
	ch, _ := newChannel(t, srv, func(c *telegram.Config) {
		c.Commands = []telegram.Command{
			{Name: "start", Description: text("Почати", "Start")},
			{Name: "score", Description: text("Індекс громади", "Community index")},
		}
	})
	r := run(t, ch, &recorder{}, nil)
	if err := srv.WaitPolling(ctx); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	uk, en := srv.Commands(""), srv.Commands("en")
	want := map[string][]telegramtest.BotCommand{
		"uk": {{Command: "start", Description: "Почати"}, {Command: "score", Description: "Індекс громади"}},
		"en": {{Command: "start", Description: "Start"}, {Command: "score", Description: "Community index"}},
	}
	if !slices.Equal(uk, want["uk"]) || !slices.Equal(en, want["en"]) {
		t.Fatalf("commands uk=%v en=%v", uk, en)
	}
}

func TestNew(t *testing.T) {
	srv := newServer(t, telegramtest.Options{})
	closed := telegramtest.New(telegramtest.Options{})
	closedURL := closed.URL()
	closed.Close()
	tests := []struct {
		name string
		cfg  telegram.Config
	}{
		{"ErrWrongToken", telegram.Config{Token: "1:wrong", APIURL: srv.URL()}},
		{"ErrUnreachable", telegram.Config{Token: srv.Token(), APIURL: closedURL}},
		{"ErrNoToken", telegram.Config{APIURL: srv.URL()}},
		{"ErrWebhookWithoutSecret", telegram.Config{Token: srv.Token(), APIURL: srv.URL(), WebhookURL: "https://bot.example.org/hook"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := telegram.New(context.Background(), tt.cfg)
			if err == nil || ch != nil {
				t.Fatal("New succeeded")
			}
			if tt.cfg.Token != "" && strings.Contains(err.Error(), strings.SplitN(tt.cfg.Token, ":", 2)[1]) {
				t.Fatalf("error %q reveals the token", err)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		ch, err := telegram.New(context.Background(), telegram.Config{Token: srv.Token(), APIURL: srv.URL() + "/"})
		if err != nil {
			t.Fatal(err)
		}
		if ch.Username() != "hromada_test_bot" {
			t.Fatalf("username %q", ch.Username())
		}
	})
}

// TestDeliverPhotoOnce: a picture is uploaded once and sent again by the
// file_id Telegram gave it; a file_id Telegram no longer knows is replaced
// by a new upload.
func TestDeliverPhotoOnce(t *testing.T) {
	ctx := testContext(t)
	srv := newServer(t, telegramtest.Options{})
	srv.AddUser(olena)
	ch, _ := newChannel(t, srv, nil)
	card := bot.Reply{Text: "Індекс", Image: &bot.Image{PNG: onePixelPNG()}}
	out := bot.Outgoing{ChatID: strconv.Itoa(chatID), Reply: card}
	for range 3 {
		if err := ch.Deliver(ctx, out); err != nil {
			t.Fatal(err)
		}
	}
	photos := srv.Requests(func(r telegramtest.Request) bool { return r.Method == "sendPhoto" })
	if len(photos) != 3 || photos[0].Files["photo"].Data == nil || photos[1].Params["photo"] == "" || photos[2].Params["photo"] != photos[1].Params["photo"] {
		t.Fatalf("sendPhoto calls %+v, want one upload then the same file_id twice", photos)
	}

	srv.Inject("sendPhoto", 1, telegramtest.Fault{Status: 400, Description: "Bad Request: wrong file identifier/HTTP URL specified"})
	if err := ch.Deliver(ctx, out); err != nil {
		t.Fatalf("a stale file_id must fall back to an upload: %v", err)
	}
	photos = srv.Requests(func(r telegramtest.Request) bool { return r.Method == "sendPhoto" })
	if last := photos[len(photos)-1]; len(photos) != 5 || last.Files["photo"].Data == nil {
		t.Fatalf("after a refused file_id: %d calls, last %+v; want a new upload", len(photos), last)
	}
	if n := len(telegramtest.BotMessages(srv.Chat(chatID))); n != 4 {
		t.Fatalf("%d pictures in the chat, want 4", n)
	}

	// A picture with a Key is known by it, not by its bytes.
	keyed := func(png []byte, key string) bot.Outgoing {
		return bot.Outgoing{ChatID: strconv.Itoa(chatID), Reply: bot.Reply{Text: "Індекс", Image: &bot.Image{PNG: png, Key: key}}}
	}
	for _, o := range []bot.Outgoing{keyed(onePixelPNG(), "card-a"), keyed(append(onePixelPNG(), 0), "card-a"), keyed(onePixelPNG(), "card-b")} {
		if err := ch.Deliver(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	photos = srv.Requests(func(r telegramtest.Request) bool { return r.Method == "sendPhoto" })[5:]
	if len(photos) != 3 || photos[0].Files["photo"].Data == nil || photos[1].Params["photo"] == "" || photos[2].Files["photo"].Data == nil {
		t.Fatalf("keyed sendPhoto calls %+v, want an upload, its file_id for the same key, an upload for another key", photos)
	}
}

// TestDeliverPhotoDrawnOnDemand: a picture drawn on demand is drawn only to
// be uploaded, never when Telegram holds it under its key; one that cannot
// be drawn leaves its text, buttons and all, to go out alone.
func TestDeliverPhotoDrawnOnDemand(t *testing.T) {
	ctx := testContext(t)
	srv := newServer(t, telegramtest.Options{})
	srv.AddUser(olena)
	ch, _ := newChannel(t, srv, nil)
	drawn := 0
	card := func(key string, draw func() ([]byte, error)) bot.Outgoing {
		return bot.Outgoing{ChatID: strconv.Itoa(chatID), Reply: bot.Reply{
			Text: "Індекс", Image: &bot.Image{Key: key, Draw: draw},
			Buttons: [][]bot.Button{{{Text: "🏆 Рейтинг", Payload: "r"}}},
		}}
	}
	draw := func() ([]byte, error) { drawn++; return onePixelPNG(), nil }
	for range 3 {
		if err := ch.Deliver(ctx, card("card-c", draw)); err != nil {
			t.Fatal(err)
		}
	}
	if drawn != 1 {
		t.Errorf("drawn %d times for three deliveries of one key, want once", drawn)
	}

	broken := card("card-d", func() ([]byte, error) { return nil, errors.New("no fonts") })
	if err := ch.Deliver(ctx, broken); err != nil {
		t.Fatalf("a picture that cannot be drawn must not fail the reply: %v", err)
	}
	sent := srv.Requests(func(r telegramtest.Request) bool { return r.Method == "sendMessage" })
	if len(sent) != 1 || sent[0].Params["text"] != "Індекс" || !strings.Contains(sent[0].Params["reply_markup"], "🏆 Рейтинг") {
		t.Fatalf("sendMessage calls %+v, want the card's text with its buttons", sent)
	}
	if n := len(srv.Requests(func(r telegramtest.Request) bool { return r.Method == "sendPhoto" })); n != 3 {
		t.Fatalf("%d sendPhoto calls, want 3: none for the picture that was not drawn", n)
	}
}
