package telegram

import (
	"fmt"
	"net/url"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/hromadabot/hromadabot/bot"
)

// inlineKeyboard turns rows of neutral buttons into an inline keyboard
// (https://core.telegram.org/bots/api#inlinekeyboardmarkup). A payload
// button becomes a callback button, whose callback_data Telegram limits to
// 1–64 bytes (https://core.telegram.org/bots/api#inlinekeyboardbutton); a
// URL button opens the link. It returns nil for no buttons, which on
// editMessageText also removes the menu's old keyboard.
//
// A bad button is a programming error upstream, reported before anything
// is sent rather than as Telegram's terse BUTTON_DATA_INVALID.
func inlineKeyboard(rows [][]bot.Button) (*tgbotapi.InlineKeyboardMarkup, error) {
	var kb [][]tgbotapi.InlineKeyboardButton
	for i, row := range rows {
		var out []tgbotapi.InlineKeyboardButton
		for j, b := range row {
			if strings.TrimSpace(b.Text) == "" {
				return nil, fmt.Errorf("button %d.%d has no text", i+1, j+1)
			}
			switch {
			case b.Payload != "" && b.URL != "":
				return nil, fmt.Errorf("button %d.%d has both a payload and a URL", i+1, j+1)
			case b.Payload != "":
				if len(b.Payload) > bot.MaxPayload {
					return nil, fmt.Errorf("button %d.%d payload is %d bytes, over Telegram's %d", i+1, j+1, len(b.Payload), bot.MaxPayload)
				}
				out = append(out, tgbotapi.NewInlineKeyboardButtonData(b.Text, b.Payload))
			case b.URL != "":
				if u, err := url.Parse(b.URL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "tg") {
					return nil, fmt.Errorf("button %d.%d URL is not an http(s) or tg link", i+1, j+1)
				}
				out = append(out, tgbotapi.NewInlineKeyboardButtonURL(b.Text, b.URL))
			default:
				return nil, fmt.Errorf("button %d.%d has neither a payload nor a URL", i+1, j+1)
			}
		}
		if len(out) > 0 {
			kb = append(kb, out)
		}
	}
	if len(kb) == 0 {
		return nil, nil
	}
	return &tgbotapi.InlineKeyboardMarkup{InlineKeyboard: kb}, nil
}
