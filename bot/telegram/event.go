package telegram

import (
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
)

// UpdateID is the bot.Event UpdateID of a Telegram update: reports made
// while handling it are deduplicated on it, so a redelivered update stores
// nothing twice.
func UpdateID(id int) string { return "telegram:" + strconv.Itoa(id) }

// toEvent translates an update into the neutral event. It reports false for
// updates the bot does not handle: anything outside private chats, edited
// messages, channel posts, inline queries and the like.
func toEvent(u tgbotapi.Update, now time.Time) (bot.Event, bool) {
	ev := bot.Event{Platform: hromadabot.PlatformTelegram, UpdateID: UpdateID(u.UpdateID), At: now}
	switch {
	case u.Message != nil:
		m := u.Message
		if m.From == nil || m.Chat == nil || m.Chat.Type != "private" || m.From.IsBot {
			return bot.Event{}, false
		}
		ev.ChatID = strconv.FormatInt(m.Chat.ID, 10)
		ev.UserID = strconv.FormatInt(m.From.ID, 10)
		ev.LanguageCode = m.From.LanguageCode
		if m.Date > 0 {
			ev.At = time.Unix(int64(m.Date), 0)
		}
		ev.Text = command(m.Text)
		switch {
		case len(m.Photo) > 0:
			// The last size is the largest.
			ev.Attachment = &bot.Attachment{Kind: "photo", FileID: m.Photo[len(m.Photo)-1].FileID}
			ev.Text = m.Caption
		case m.Document != nil:
			ev.Attachment = &bot.Attachment{Kind: "document", FileID: m.Document.FileID, Name: m.Document.FileName}
			ev.Text = m.Caption
		}
		if ev.Text == "" && ev.Attachment == nil {
			// Stickers, voice notes, locations: nothing the dialogs read,
			// but the person is told what they do read.
			switch {
			case m.Sticker != nil:
				ev.Unsupported = "sticker"
			case m.Location != nil:
				ev.Unsupported = "location"
			case m.Contact != nil:
				ev.Unsupported = "contact"
			case m.Voice != nil:
				ev.Unsupported = "voice"
			default:
				return bot.Event{}, false
			}
		}
		return ev, true
	case u.CallbackQuery != nil:
		q := u.CallbackQuery
		// A button on an inline-mode message has no chat to answer in.
		if q.From == nil || q.Message == nil || q.Message.Chat == nil || q.Message.Chat.Type != "private" || q.Data == "" {
			return bot.Event{}, false
		}
		ev.ChatID = strconv.FormatInt(q.Message.Chat.ID, 10)
		ev.UserID = strconv.FormatInt(q.From.ID, 10)
		ev.LanguageCode = q.From.LanguageCode
		ev.Payload = q.Data
		ev.MenuID = strconv.Itoa(q.Message.MessageID)
		return ev, true
	}
	return bot.Event{}, false
}

// command drops the "@botname" Telegram appends to a command picked from
// the menu ("/score@hromada_bot Буча" → "/score Буча").
func command(text string) string {
	if !strings.HasPrefix(text, "/") {
		return text
	}
	cmd, rest, hasRest := strings.Cut(text, " ")
	if at := strings.IndexByte(cmd, '@'); at > 0 {
		cmd = cmd[:at]
	}
	if hasRest {
		return cmd + " " + rest
	}
	return cmd
}
