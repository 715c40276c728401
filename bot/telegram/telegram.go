// Package telegram is the Telegram channel, on go-telegram-bot-api v5. It
// translates and nothing else: Bot API updates become bot.Events, bot.Replies
// become sendMessage, editMessageText and sendPhoto calls, and API failures
// become the typed send errors of package bot.
//
// Updates arrive by long polling of our own (Run without a webhook URL) or
// through a webhook (Run with one, plus the Channel as the http.Handler).
// Either way each update is handled by a bounded pool of workers sharded
// by chat, so one chat's updates are handled in order while different chats
// proceed concurrently, and an update counts as received (its offset is
// confirmed, or the webhook answered 200) only once it was handled or, when
// polling with an Inbox, stored there until it is.
//
// With a Stream, any number of processes serve the bot together (see
// bot.StreamReceiver): a webhook update, whichever process it reaches, and
// a polled one, polled by the one process that holds the poller lease, go
// into the shared stream, and count as received once there; every process
// handles the shards it holds, each chat's updates in order, each once.
package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
)

// DefaultAPIURL is the Bot API base URL.
const DefaultAPIURL = "https://api.telegram.org"

// Defaults of Config.
const (
	DefaultWorkers       = bot.DefaultWorkers
	DefaultPollTimeout   = 25 * time.Second
	DefaultAttempts      = 8
	DefaultShutdownGrace = bot.DefaultShutdownGrace
	// sendTimeout bounds one Bot API call other than the long poll.
	sendTimeout = 30 * time.Second
)

// Config configures a Channel.
type Config struct {
	// Token is the bot token from @BotFather. Secret: never logged.
	Token string
	// APIURL is the Bot API base URL; the bot calls APIURL/bot<token>/<method>.
	APIURL string
	// WebhookURL switches from long polling to a webhook at this URL;
	// WebhookSecret is then required (Telegram's secret_token).
	WebhookURL    string
	WebhookSecret string
	// Commands are the bot's command menu, set in Ukrainian (the default
	// for everyone) and English (for English-speaking clients) at start.
	Commands []Command
	// Workers is the number of concurrent handlers (default 64).
	Workers int
	// PollTimeout is the long-poll timeout of getUpdates (default 25s).
	PollTimeout time.Duration
	// Attempts is how many times a handling that failed for a passing
	// reason (bot.IsRetryable) is tried in polling mode before the update is
	// given up (default 8: about a minute of backoff, enough for Redis to
	// restart). In webhook mode Telegram's own redelivery retries instead.
	Attempts int
	// ShutdownGrace bounds how long in-flight updates may run after Run's
	// context is cancelled (default 10s).
	ShutdownGrace time.Duration
	// Inbox, when set, keeps each polled update until it is handled, so
	// that it can be confirmed to Telegram at once; nil confirms an update
	// only once it is handled. See Inbox. With a Stream it is not used,
	// but what a process without one left there is moved to the stream.
	Inbox Inbox
	// Stream, when set, shares the updates with every process on it, and
	// Leases (then required) share out its shards and the polling: see
	// the package comment. LeaseTTL is their time to live
	// (bot.DefaultLeaseTTL); Owner names this process among the others
	// (a unique name by default).
	Stream   bot.Stream
	Leases   bot.Leases
	LeaseTTL time.Duration
	Owner    string
	// HTTPClient makes the Bot API calls; nil uses a fresh client.
	HTTPClient *http.Client
	// Log gets ids and errors, never tokens nor message texts; nil discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Command is one entry of the bot's command menu.
type Command struct {
	// Name is the command without the slash: "score".
	Name        string
	Description hromadabot.Text
}

// Inbox keeps each polled update until it is handled; see bot.Inbox.
type Inbox = bot.Inbox

// Channel is a Telegram bot. It implements bot.Transport for the Sender and
// http.Handler for the webhook.
type Channel struct {
	cfg  Config
	api  *tgbotapi.BotAPI
	http *http.Client
	log  *slog.Logger
	now  func() time.Time

	// photos maps pictures already uploaded to their Telegram file_id.
	photos photoIDs
	// recv handles the updates, polled or delivered to the webhook.
	recv *bot.Receiver
	// stream, with a Stream, feeds recv from it and adds to it.
	stream *bot.StreamReceiver
	// answering counts the answers to buttons the bot does not handle,
	// which Run waits for when it stops.
	answering sync.WaitGroup

	mu      sync.Mutex
	started bool
}

var _ bot.Transport = (*Channel)(nil)

// New checks the token with getMe and returns the Channel. It makes no
// other call: Run sets the webhook or starts polling.
func New(ctx context.Context, cfg Config) (*Channel, error) {
	if cfg.Token == "" {
		return nil, errors.New("telegram: token is required")
	}
	if cfg.WebhookURL != "" && cfg.WebhookSecret == "" {
		return nil, errors.New("telegram: a webhook needs a secret token")
	}
	if cfg.Stream != nil && cfg.Leases == nil {
		return nil, errors.New("telegram: a stream needs leases")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = DefaultPollTimeout
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	c := &Channel{cfg: cfg, http: cfg.HTTPClient, log: cfg.Log, now: cfg.Now}
	if c.http == nil {
		// No client-wide timeout: every call carries a context deadline,
		// longer for the long poll than for sends.
		c.http = &http.Client{Transport: NewTransport(cfg.Workers)}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.recv = bot.NewReceiver(bot.ReceiverOptions{Name: "telegram", Workers: cfg.Workers, ShutdownGrace: cfg.ShutdownGrace, Log: c.log})
	if cfg.Stream != nil {
		c.stream = bot.NewStreamReceiver(c.recv, bot.StreamOptions{
			Channel:  hromadabot.PlatformTelegram,
			Stream:   cfg.Stream,
			Leases:   cfg.Leases,
			Owner:    cfg.Owner,
			LeaseTTL: cfg.LeaseTTL,
			Decode:   c.decodeEntry,
			Log:      c.log,
		})
	}
	// The library formats the endpoint with the token and method; a "%" in
	// the URL itself must not be taken for a verb.
	endpoint := strings.ReplaceAll(cfg.APIURL, "%", "%%") + "/bot%s/%s"
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	call := &ctxClient{ctx: ctx, base: c.http, token: cfg.Token}
	api, err := tgbotapi.NewBotAPIWithClient(cfg.Token, endpoint, call)
	if err != nil {
		return nil, fmt.Errorf("telegram: getMe: %w", apiError("getMe", call.status, err))
	}
	c.api = api
	return c, nil
}

// NewTransport returns the HTTP transport of a Channel with the given
// number of workers: http.DefaultTransport keeping a connection open for
// every worker and the poller. With the default's two idle connections per
// host, the workers' concurrent calls would each open and close one of
// their own.
func NewTransport(workers int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(workers, 1) + 1
	return t
}

// Username is the bot's @username, as getMe reported it.
func (c *Channel) Username() string { return c.api.Self.UserName }

// ctxClient gives one library call a context, which go-telegram-bot-api
// (v5.5.1 and master) never passes, and records the HTTP status, which the
// library ignores: its multipart path even drops the error_code.
type ctxClient struct {
	ctx    context.Context
	base   *http.Client
	token  string
	status int
}

// Do implements tgbotapi.HTTPClient.
func (c *ctxClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.base.Do(req.WithContext(c.ctx))
	if err != nil {
		// The request URL holds the token; keep it out of every error.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = strings.ReplaceAll(ue.URL, c.token, "<token>")
		}
		return nil, err
	}
	c.status = resp.StatusCode
	return resp, nil
}

// call runs one library call with ctx and maps its failure to a send error.
// A call cut short by our own timeout is temporary; one whose caller gave
// up returns the caller's context error, which nobody should retry.
func (c *Channel) call(ctx context.Context, method string, timeout time.Duration, fn func(api *tgbotapi.BotAPI) error) error {
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &ctxClient{ctx: callCtx, base: c.http, token: c.cfg.Token}
	// A shallow copy per call: the library keeps no per-call state, and
	// this way concurrent calls each carry their own context.
	api := *c.api
	api.Client = hc
	if err := fn(&api); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("telegram %s: %w", method, ctx.Err())
		}
		return apiError(method, hc.status, err)
	}
	return nil
}

// apiError maps a failed Bot API call to the send errors of package bot:
// 429 → *bot.RetryAfterError (parameters.retry_after), 403 and "chat not
// found" → bot.ErrBlocked, 5xx, network failures and unreadable answers →
// *bot.TemporaryError. Anything else (a 400) is returned as is: sending the
// same request again would fail the same way.
func apiError(method string, status int, err error) error {
	var te *tgbotapi.Error
	if errors.As(err, &te) {
		code := te.Code
		if code == 0 {
			code = status
		}
		switch {
		case te.RetryAfter > 0 || code == http.StatusTooManyRequests:
			return &bot.RetryAfterError{After: time.Duration(max(te.RetryAfter, 1)) * time.Second}
		case code == http.StatusForbidden:
			return fmt.Errorf("telegram %s: %w: %s", method, bot.ErrBlocked, te.Message)
		case code == http.StatusBadRequest && strings.Contains(te.Message, "chat not found"):
			return fmt.Errorf("telegram %s: %w: %s", method, bot.ErrBlocked, te.Message)
		case code >= 500:
			return &bot.TemporaryError{Err: fmt.Errorf("telegram %s: %d %s", method, code, te.Message)}
		}
		return &Error{Method: method, Code: code, Description: te.Message}
	}
	// Not a Bot API answer: no connection, a timeout, or a body that is not
	// JSON (a proxy's error page, a cut-off answer).
	if status >= 400 && status < 500 && status != http.StatusTooManyRequests {
		return &Error{Method: method, Code: status, Description: "answer is not a Bot API response"}
	}
	return &bot.TemporaryError{Err: fmt.Errorf("telegram %s: %w", method, err)}
}

// Error is a Bot API refusal that sending again will not fix, such as
// "Bad Request: can't parse entities".
type Error struct {
	Method      string
	Code        int
	Description string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("telegram %s: %d %s", e.Method, e.Code, e.Description)
}

// isBadRequest reports whether err is a 400 whose description contains s.
func isBadRequest(err error, s string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == http.StatusBadRequest && strings.Contains(e.Description, s)
}

// Deliver sends one reply to a chat (bot.Transport). A reply with EditMenu
// replaces the menu message MenuID in place when it can (Telegram refuses
// to edit photos and very old messages; then it is sent anew). Texts over
// 4096 characters go out as several messages cut at line breaks, the
// buttons under the last one; a picture whose caption would exceed 1024
// characters is sent bare, followed by the text.
func (c *Channel) Deliver(ctx context.Context, out bot.Outgoing) error {
	chatID, err := strconv.ParseInt(out.ChatID, 10, 64)
	if err != nil {
		return fmt.Errorf("telegram: chat id %q is not a number", out.ChatID)
	}
	r := out.Reply
	kb, err := inlineKeyboard(r.Buttons)
	if err != nil {
		return fmt.Errorf("telegram: chat %d: %w", chatID, err)
	}
	if r.Image != nil {
		return c.sendPhoto(ctx, chatID, r, kb)
	}
	if r.EditMenu && out.MenuID != "" && fits(r.Text, maxText) {
		if msgID, err := strconv.Atoi(out.MenuID); err == nil {
			err := c.editText(ctx, chatID, msgID, r.Text, kb)
			switch {
			case err == nil, isBadRequest(err, "message is not modified"):
				return nil
			case isBadRequest(err, "message to edit not found"), isBadRequest(err, "message can't be edited"),
				isBadRequest(err, "there is no text in the message to edit"):
				// Fall through to a new message.
			default:
				return err
			}
		}
	}
	return c.sendText(ctx, chatID, r.Text, kb)
}

func (c *Channel) sendText(ctx context.Context, chatID int64, html string, kb *tgbotapi.InlineKeyboardMarkup) error {
	parts := splitText(html, maxText)
	if len(parts) == 0 {
		return fmt.Errorf("telegram: chat %d: empty reply", chatID)
	}
	for i, part := range parts {
		msg := tgbotapi.NewMessage(chatID, part)
		msg.ParseMode = tgbotapi.ModeHTML
		msg.DisableWebPagePreview = true
		if i == len(parts)-1 && kb != nil {
			msg.ReplyMarkup = kb
		}
		// Request, not Send: the sent Message that Send would decode is
		// never used.
		if err := c.call(ctx, "sendMessage", sendTimeout, func(api *tgbotapi.BotAPI) error {
			_, err := api.Request(msg)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

func (c *Channel) editText(ctx context.Context, chatID int64, msgID int, html string, kb *tgbotapi.InlineKeyboardMarkup) error {
	edit := tgbotapi.NewEditMessageText(chatID, msgID, html)
	edit.ParseMode = tgbotapi.ModeHTML
	edit.DisableWebPagePreview = true
	if kb != nil {
		edit.ReplyMarkup = kb
	}
	return c.call(ctx, "editMessageText", sendTimeout, func(api *tgbotapi.BotAPI) error {
		_, err := api.Request(edit)
		return err
	})
}

func (c *Channel) sendPhoto(ctx context.Context, chatID int64, r bot.Reply, kb *tgbotapi.InlineKeyboardMarkup) error {
	name := r.Image.Name
	if name == "" {
		name = "chart.png"
	}
	// The picture is drawn at most once, and only when Telegram does not
	// hold it already or it has no key to be known by.
	png := sync.OnceValues(r.Image.Bytes)
	upload := func() (tgbotapi.RequestFileData, error) {
		b, err := png()
		if err != nil {
			return nil, err
		}
		return tgbotapi.FileBytes{Name: name, Bytes: b}, nil
	}
	key, err := photoKey(r.Image.Key, png)
	if err != nil {
		return c.withoutPicture(ctx, chatID, r, kb, err)
	}
	fileID, known := c.photos.get(key)
	var file tgbotapi.RequestFileData = tgbotapi.FileID(fileID)
	if !known {
		if file, err = upload(); err != nil {
			return c.withoutPicture(ctx, chatID, r, kb, err)
		}
	}
	photo := tgbotapi.NewPhoto(chatID, file)
	captioned := strings.TrimSpace(r.Text) != "" && fits(r.Text, maxCaption)
	if captioned {
		photo.Caption = r.Text
		photo.ParseMode = tgbotapi.ModeHTML
		if kb != nil {
			photo.ReplyMarkup = kb
		}
	} else if strings.TrimSpace(r.Text) == "" && kb != nil {
		photo.ReplyMarkup = kb
	}
	send := func(uploaded bool) error {
		return c.call(ctx, "sendPhoto", sendTimeout, func(api *tgbotapi.BotAPI) error {
			resp, err := api.Request(photo)
			if err != nil {
				return err
			}
			if !uploaded {
				return nil
			}
			if id := largestPhotoID(resp.Result); id != "" {
				c.photos.put(key, id)
			}
			return nil
		})
	}
	err = send(!known)
	var te *Error
	if known && errors.As(err, &te) && te.Code == http.StatusBadRequest {
		// The file_id is no longer good: upload the picture again.
		c.photos.drop(key)
		if photo.File, err = upload(); err != nil {
			return c.withoutPicture(ctx, chatID, r, kb, err)
		}
		err = send(true)
	}
	if err != nil {
		return err
	}
	if captioned || strings.TrimSpace(r.Text) == "" {
		return nil
	}
	return c.sendText(ctx, chatID, r.Text, kb)
}

// withoutPicture sends a reply whose picture could not be drawn as its text
// alone: the card is worth sending without it.
func (c *Channel) withoutPicture(ctx context.Context, chatID int64, r bot.Reply, kb *tgbotapi.InlineKeyboardMarkup, err error) error {
	c.log.WarnContext(ctx, "picture not drawn: sending the text alone", "chat", chatID, "err", err)
	if strings.TrimSpace(r.Text) == "" {
		return nil
	}
	return c.sendText(ctx, chatID, r.Text, kb)
}

// answerCallback stops the client's spinner on a pressed button. It goes
// through Request, not Send: the result is true, not a Message.
func (c *Channel) answerCallback(ctx context.Context, id string) error {
	return c.call(ctx, "answerCallbackQuery", sendTimeout, func(api *tgbotapi.BotAPI) error {
		_, err := api.Request(tgbotapi.NewCallback(id, ""))
		return err
	})
}

// setCommands sets the command menu: Ukrainian for everyone, English for
// clients whose language is English.
func (c *Channel) setCommands(ctx context.Context) error {
	if len(c.cfg.Commands) == 0 {
		return nil
	}
	for _, lang := range []string{hromadabot.LangUK, hromadabot.LangEN} {
		cmds := make([]tgbotapi.BotCommand, 0, len(c.cfg.Commands))
		for _, cmd := range c.cfg.Commands {
			cmds = append(cmds, tgbotapi.BotCommand{Command: cmd.Name, Description: cmd.Description.In(lang)})
		}
		cfg := tgbotapi.NewSetMyCommands(cmds...)
		if lang == hromadabot.LangEN {
			cfg.LanguageCode = lang
		}
		if err := c.call(ctx, "setMyCommands", sendTimeout, func(api *tgbotapi.BotAPI) error {
			_, err := api.Request(cfg)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}
