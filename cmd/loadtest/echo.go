package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot/bot/telegram"
	"github.com/hromadabot/hromadabot/storage/redis"
)

// echoFlag starts the loadtest binary as the bare echo bot (hidden; the
// harness starts it so).
const echoFlag = "-echo-bot"

// With ECHO_REDIS_URL set, the echo bot keeps each chat's dialog state in
// Redis under ECHO_REDIS_PREFIX, in the way ECHO_STATE names.
const (
	echoRedisURLEnv    = "ECHO_REDIS_URL"
	echoRedisPrefixEnv = "ECHO_REDIS_PREFIX"
	echoStateEnv       = "ECHO_STATE"
)

// The ways the echo bot keeps dialog state.
const (
	// stateUpdate is the bot's: the chat's lock and state read, then the
	// new state written and the lock released (storage/redis).
	stateUpdate = "update"
	// stateWrite is the least any bot with its state in Redis does: the
	// new state written, nothing read and no lock.
	stateWrite = "write"
	stateOff   = "off"
)

// echoWorkers is as many concurrent handlers as the Telegram channel has
// (telegram.DefaultWorkers), so that both bots may overlap as many calls.
const echoWorkers = telegram.DefaultWorkers

// runEchoBot is the ceiling of the transport: the same library and HTTP
// transport as the bot's Telegram channel (telegram.NewTransport), long
// polling with the library's own loop, and for every update the Bot API
// calls a reply needs and nothing else. It reads TELEGRAM_TOKEN and
// TELEGRAM_API_URL, and ECHO_REDIS_URL, ECHO_REDIS_PREFIX and ECHO_STATE
// for the echo bot with dialog state; it exits on SIGTERM.
func runEchoBot() error {
	token, apiURL := os.Getenv("TELEGRAM_TOKEN"), os.Getenv("TELEGRAM_API_URL")
	if token == "" || apiURL == "" {
		return errors.New("echo bot: TELEGRAM_TOKEN and TELEGRAM_API_URL are required")
	}
	var states stateStore
	if url := os.Getenv(echoRedisURLEnv); url != "" {
		opts, err := goredis.ParseURL(url)
		if err != nil {
			return fmt.Errorf("echo bot: %s: %w", echoRedisURLEnv, err)
		}
		client := goredis.NewClient(opts)
		defer client.Close()
		prefix := os.Getenv(echoRedisPrefixEnv)
		switch mode := os.Getenv(echoStateEnv); mode {
		case stateUpdate:
			states = redis.NewStateStore(client, redis.Options{Prefix: prefix})
		case stateWrite:
			states = writeOnlyStates{client: client, prefix: prefix}
		default:
			return fmt.Errorf("echo bot: %s: %q is neither %s nor %s", echoStateEnv, mode, stateUpdate, stateWrite)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return echoBot(ctx, token, apiURL, states)
}

// stateStore is the dialog state store as the bot's dialogs use it.
type stateStore interface {
	Update(ctx context.Context, chat string, fn func(state []byte) ([]byte, error)) error
}

// echoBot answers until ctx ends. A message is echoed with one button under
// it; a pressed button is answered (answerCallbackQuery) and acknowledged.
// With states, each update first moves its chat's state on, as the bot's
// dialogs do before they answer: the chat's lock and state read from Redis,
// then the new state written and the lock released. An update whose state
// cannot be moved on is left unanswered.
func echoBot(ctx context.Context, token, apiURL string, states stateStore) error {
	client := &http.Client{Transport: telegram.NewTransport(echoWorkers)}
	api, err := tgbotapi.NewBotAPIWithClient(token, apiURL+"/bot%s/%s", client)
	if err != nil {
		return err
	}
	cfg := tgbotapi.NewUpdate(0)
	cfg.Timeout = 25
	updates := api.GetUpdatesChan(cfg)
	defer api.StopReceivingUpdates()
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(echoButton, "echo")))
	for range echoWorkers {
		go func() {
			for u := range updates {
				chat := u.FromChat()
				if chat == nil || (u.Message == nil && (u.CallbackQuery == nil || u.CallbackQuery.Message == nil)) {
					continue
				}
				if states != nil {
					if err := states.Update(ctx, strconv.FormatInt(chat.ID, 10), nextEchoState); err != nil {
						fmt.Fprintln(os.Stderr, "echo bot: update state:", err)
						continue
					}
				}
				var msg tgbotapi.MessageConfig
				if u.Message != nil {
					msg = tgbotapi.NewMessage(chat.ID, echoReply+" "+html.EscapeString(u.Message.Text))
				} else {
					_, _ = api.Request(tgbotapi.NewCallback(u.CallbackQuery.ID, ""))
					msg = tgbotapi.NewMessage(chat.ID, pressedReply)
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

// writeOnlyStates stores each chat's new state under the key the bot's
// store uses, without reading it or taking the chat's lock.
type writeOnlyStates struct {
	client goredis.UniversalClient
	prefix string
}

func (s writeOnlyStates) Update(ctx context.Context, chat string, fn func(state []byte) ([]byte, error)) error {
	st, err := fn(nil)
	if err != nil {
		return err
	}
	return s.client.Set(ctx, s.prefix+"state:{"+chat+"}", st, redis.DefaultTTL).Err()
}

// echoState is the echo bot's dialog state: as large as the bot's in the
// middle of a report, and decoded and encoded again at every update, as
// the bot's is.
type echoState struct {
	V     int    `json:"v"`
	Step  string `json:"step"`
	Seq   uint32 `json:"seq"`
	Ctx   int64  `json:"ctx"`
	Draft struct {
		Nonce     string `json:"nonce"`
		Community int64  `json:"community"`
		Indicator int    `json:"indicator"`
	} `json:"draft"`
}

// nextEchoState moves a chat's echo state on by one update.
func nextEchoState(stored []byte) ([]byte, error) {
	var st echoState
	if stored != nil {
		if err := json.Unmarshal(stored, &st); err != nil {
			return nil, fmt.Errorf("decode echo state: %w", err)
		}
	} else {
		st = echoState{V: 1, Step: "value", Ctx: 1234}
		st.Draft.Nonce, st.Draft.Community, st.Draft.Indicator = "q7Xk2LmP0aZ9wE4r", 1234, 7
	}
	st.Seq++
	return json.Marshal(&st)
}
