package telegram_test

import (
	"bytes"
	"context"
	"html"
	"strconv"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/bot/telegramtest"
)

const chatID = 1111111

var olena = telegramtest.User{ID: chatID, FirstName: "Олена", LanguageCode: "uk"}

// TestUpdates feeds raw updates from testdata through a running channel and
// checks the event the handler saw and the exact requests that went out.
func TestUpdates(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
	chat := strconv.Itoa(chatID)
	tests := []struct {
		name    string
		fixture string
		// setup prepares the fake server before the update is queued.
		setup   func(t *testing.T, srv *telegramtest.Server)
		replies []bot.Reply
		// wantEvent is the event the handler gets (UpdateID and At are
		// checked separately); nil means the handler is not called.
		wantEvent *bot.Event
		want      []wantRequest
	}{
		{
			name:    "OKStart",
			fixture: "message_start.json",
			replies: []bot.Reply{{Text: "<b>Вітаю!</b> Оберіть дію.", Buttons: [][]bot.Button{
				{{Text: "Індекс громади", Payload: "score"}},
				{{Text: "Методика", URL: "https://example.org/method"}},
			}}},
			wantEvent: &bot.Event{Platform: "telegram", ChatID: chat, UserID: chat, LanguageCode: "uk", Text: "/start"},
			want: []wantRequest{{method: "sendMessage",
				params: map[string]string{"chat_id": chat, "text": "<b>Вітаю!</b> Оберіть дію.", "parse_mode": "HTML", "disable_web_page_preview": "true"},
				keyboard: [][]telegramtest.Button{
					{{Text: "Індекс громади", CallbackData: "score"}},
					{{Text: "Методика", URL: "https://example.org/method"}},
				}}},
		},
		{
			name:      "OKCommandWithBotName",
			fixture:   "message_command_botname.json",
			replies:   []bot.Reply{{Text: "Буча: 47,3"}},
			wantEvent: &bot.Event{Platform: "telegram", ChatID: chat, UserID: chat, LanguageCode: "en-US", Text: "/score Буча"},
			want:      []wantRequest{{method: "sendMessage", params: map[string]string{"chat_id": chat, "text": "Буча: 47,3"}}},
		},
		{
			name:      "OKUserStringEscaped",
			fixture:   "message_html.json",
			wantEvent: &bot.Event{Platform: "telegram", ChatID: chat, UserID: chat, Text: "<b>Буча</b> & <script>alert(1)</script>"},
			want: []wantRequest{{method: "sendMessage", params: map[string]string{
				"text": "Не знайдено: <i>&lt;b&gt;Буча&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;</i>", "parse_mode": "HTML"}}},
		},
		{
			name:      "OKPhoto",
			fixture:   "message_photo.json",
			wantEvent: &bot.Event{Platform: "telegram", ChatID: chat, UserID: chat, LanguageCode: "uk", Text: "Акт введення в експлуатацію", Attachment: &bot.Attachment{Kind: "photo", FileID: "AgAD-large"}},
		},
		{
			name:      "OKDocument",
			fixture:   "message_document.json",
			wantEvent: &bot.Event{Platform: "telegram", ChatID: chat, UserID: chat, Attachment: &bot.Attachment{Kind: "document", FileID: "BQAD-doc", Name: "наказ.pdf"}},
		},
		{
			name:      "OKStickerUnsupported",
			fixture:   "message_sticker.json",
			wantEvent: &bot.Event{Platform: "telegram", ChatID: chat, UserID: chat, Unsupported: "sticker"},
		},
		{name: "IgnoredGroupChat", fixture: "message_group.json", replies: []bot.Reply{{Text: "x"}}},
		{name: "IgnoredEditedMessage", fixture: "edited_message.json", replies: []bot.Reply{{Text: "x"}}},
		{
			name:    "OKCallbackEditsMenu",
			fixture: "callback_query.json",
			setup: func(t *testing.T, srv *telegramtest.Server) {
				srv.AddUser(olena)
				sendMenu(t, srv)
			},
			replies:   []bot.Reply{{Text: "Сторінка 2", EditMenu: true, Buttons: [][]bot.Button{{{Text: "← Назад", Payload: "page:1"}}}}},
			wantEvent: &bot.Event{Platform: "telegram", ChatID: chat, UserID: chat, LanguageCode: "uk", Payload: "page:2", MenuID: "1"},
			want: []wantRequest{
				{method: "answerCallbackQuery", params: map[string]string{"callback_query_id": "4382bfdwdsb323b2d9"}},
				{method: "editMessageText", params: map[string]string{"chat_id": chat, "message_id": "1", "text": "Сторінка 2", "parse_mode": "HTML"},
					keyboard: [][]telegramtest.Button{{{Text: "← Назад", CallbackData: "page:1"}}}},
			},
		},
		{
			name:    "OKCallbackSameMenuNotModified",
			fixture: "callback_query.json",
			setup: func(t *testing.T, srv *telegramtest.Server) {
				srv.AddUser(olena)
				sendMenu(t, srv)
			},
			replies:   []bot.Reply{{Text: "Сторінка 1", EditMenu: true, Buttons: [][]bot.Button{{{Text: "Далі →", Payload: "page:2"}}}}},
			wantEvent: &bot.Event{Platform: "telegram", ChatID: chat, UserID: chat, LanguageCode: "uk", Payload: "page:2", MenuID: "1"},
			want: []wantRequest{
				{method: "answerCallbackQuery"},
				{method: "editMessageText", status: 400, keyboard: [][]telegramtest.Button{{{Text: "Далі →", CallbackData: "page:2"}}}},
			},
		},
		{
			name:      "OKCallbackMenuGoneSendsNew",
			fixture:   "callback_query.json",
			replies:   []bot.Reply{{Text: "Сторінка 2", EditMenu: true}},
			wantEvent: &bot.Event{Platform: "telegram", ChatID: chat, UserID: chat, LanguageCode: "uk", Payload: "page:2", MenuID: "1"},
			want: []wantRequest{
				{method: "answerCallbackQuery"},
				{method: "editMessageText", status: 400},
				{method: "sendMessage", params: map[string]string{"chat_id": chat, "text": "Сторінка 2"}},
			},
		},
		{
			name:    "OKInlineCallbackAnsweredOnly",
			fixture: "callback_query_inline.json",
			replies: []bot.Reply{{Text: "x"}},
			want:    []wantRequest{{method: "answerCallbackQuery", params: map[string]string{"callback_query_id": "4382bfdwdsb323b2e0"}}},
		},
		{
			name:    "OKScoreCardWithPhoto",
			fixture: "message_command_botname.json",
			replies: []bot.Reply{{Text: "<b>Буча</b>: індекс 47,3", Image: &bot.Image{PNG: png, Name: "score.png"},
				Buttons: [][]bot.Button{{{Text: "Підписатися", Payload: "sub"}}}}},
			wantEvent: &bot.Event{Platform: "telegram", ChatID: chat, UserID: chat, LanguageCode: "en-US", Text: "/score Буча"},
			want: []wantRequest{{method: "sendPhoto",
				params:   map[string]string{"chat_id": chat, "caption": "<b>Буча</b>: індекс 47,3", "parse_mode": "HTML"},
				keyboard: [][]telegramtest.Button{{{Text: "Підписатися", CallbackData: "sub"}}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			srv := newServer(t, telegramtest.Options{})
			if tt.setup != nil {
				tt.setup(t, srv)
			}
			id, err := srv.Enqueue(fixture(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			before := len(outbound(srv))
			ch, _ := newChannel(t, srv, nil)
			h := &recorder{reply: func(_ context.Context, ev bot.Event) ([]bot.Reply, error) {
				if tt.name == "OKUserStringEscaped" {
					return []bot.Reply{{Text: "Не знайдено: <i>" + html.EscapeString(ev.Text) + "</i>"}}, nil
				}
				return tt.replies, nil
			}}
			r := run(t, ch, h, nil)
			// The offset moves past the update only once it was handled and
			// its replies sent.
			if err := srv.WaitDrained(ctx); err != nil {
				t.Fatal(err)
			}
			r.stop(t)

			events := h.Events()
			if tt.wantEvent == nil {
				if len(events) != 0 {
					t.Fatalf("handler called with %+v", events)
				}
			} else {
				if len(events) != 1 {
					t.Fatalf("handler called %d times", len(events))
				}
				got := events[0]
				if got.UpdateID != "telegram:"+strconv.Itoa(id) || got.At.IsZero() {
					t.Errorf("UpdateID %q At %v", got.UpdateID, got.At)
				}
				got.UpdateID, got.At = "", time.Time{}
				if !equalEvents(got, *tt.wantEvent) {
					t.Errorf("event\n got %+v\nwant %+v", got, *tt.wantEvent)
				}
			}
			checkRequests(t, outbound(srv)[before:], tt.want)
			if tt.name == "OKScoreCardWithPhoto" {
				f := outbound(srv)[before].Files["photo"]
				if f.Name != "score.png" || !bytes.Equal(f.Data, png) {
					t.Errorf("photo %q, %d bytes", f.Name, len(f.Data))
				}
			}
			if ids := srv.Unanswered(); len(ids) != 0 {
				t.Errorf("callback queries left unanswered: %v", ids)
			}
		})
	}
}

func equalEvents(a, b bot.Event) bool {
	if (a.Attachment == nil) != (b.Attachment == nil) {
		return false
	}
	if a.Attachment != nil && *a.Attachment != *b.Attachment {
		return false
	}
	a.Attachment, b.Attachment = nil, nil
	return a == b
}

// sendMenu puts the bot's menu message 1 with a "next page" button into the chat.
func sendMenu(t *testing.T, srv *telegramtest.Server) {
	t.Helper()
	ch, _ := newChannel(t, srv, nil)
	err := ch.Deliver(context.Background(), bot.Outgoing{ChatID: strconv.Itoa(chatID), Reply: bot.Reply{
		Text: "Сторінка 1", Buttons: [][]bot.Button{{{Text: "Далі →", Payload: "page:2"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if m := srv.Chat(chatID); len(m) != 1 || m[0].ID != 1 {
		t.Fatalf("menu message: %+v", m)
	}
}
