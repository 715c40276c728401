package main

import (
	"context"
	"errors"
	"html"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/hromadabot/hromadabot/bot/telegram"
)

// echoFlag starts the loadtest binary as the bare echo bot (hidden; the
// harness starts it so).
const echoFlag = "-echo-bot"

// echoWorkers is as many concurrent handlers as the Telegram channel has
// (telegram.DefaultWorkers), so that both bots may overlap as many calls.
const echoWorkers = telegram.DefaultWorkers

// runEchoBot is the ceiling of the transport: the same library and HTTP
// transport as the bot's Telegram channel (telegram.NewTransport), long
// polling with the library's own loop, and for every update the Bot API calls a reply
// needs and nothing else. A message is echoed with one button under it;
// a pressed button is answered (answerCallbackQuery) and acknowledged. It
// reads TELEGRAM_TOKEN and TELEGRAM_API_URL and exits on SIGTERM.
func runEchoBot() error {
	token, apiURL := os.Getenv("TELEGRAM_TOKEN"), os.Getenv("TELEGRAM_API_URL")
	if token == "" || apiURL == "" {
		return errors.New("echo bot: TELEGRAM_TOKEN and TELEGRAM_API_URL are required")
	}
	client := &http.Client{Transport: telegram.NewTransport(echoWorkers)}
	api, err := tgbotapi.NewBotAPIWithClient(token, apiURL+"/bot%s/%s", client)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	cfg := tgbotapi.NewUpdate(0)
	cfg.Timeout = 25
	updates := api.GetUpdatesChan(cfg)
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(echoButton, "echo")))
	for range echoWorkers {
		go func() {
			for u := range updates {
				var msg tgbotapi.MessageConfig
				switch {
				case u.Message != nil:
					msg = tgbotapi.NewMessage(u.Message.Chat.ID, echoReply+" "+html.EscapeString(u.Message.Text))
				case u.CallbackQuery != nil && u.CallbackQuery.Message != nil:
					_, _ = api.Request(tgbotapi.NewCallback(u.CallbackQuery.ID, ""))
					msg = tgbotapi.NewMessage(u.CallbackQuery.Message.Chat.ID, pressedReply)
				default:
					continue
				}
				msg.ParseMode = tgbotapi.ModeHTML
				msg.ReplyMarkup = kb
				_, _ = api.Send(msg)
			}
		}()
	}
	// Nothing to finish: an update being echoed may as well be cut off.
	<-ctx.Done()
	return nil
}
