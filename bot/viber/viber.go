// Package viber is the Viber channel, on the Viber REST Bot API
// (https://developers.viber.com/docs/api/rest-bot-api/). It translates and
// nothing else: signed callbacks become bot.Events, bot.Replies become
// send_message calls with a reply keyboard, and Viber's status codes become
// the typed send errors of package bot. Receiving goes through the
// bot.Receiver every channel shares.
//
// Viber differs from Telegram where the neutral model meets it: text is
// shown as it is (replies go out as plain text), a message cannot be edited
// (a menu that Telegram edits in place comes as a new message), a button
// sends its ActionBody back as a message (the payload, marked so that it is
// told apart from typed text, and checked by the dialogs like any other),
// pictures are fetched by Viber from a URL (the bot serves them under
// PUBLIC_URL at signed, expiring paths), and the media URLs of what a
// person sends expire (the bot downloads a CDTO's evidence at once and
// keeps it).
package viber

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
)

// DefaultAPIURL is the base of the Viber REST Bot API.
const DefaultAPIURL = "https://chatapi.viber.com/pa"

// Headers of the API and of its callbacks.
const (
	AuthHeader      = "X-Viber-Auth-Token"
	SignatureHeader = "X-Viber-Content-Signature"
)

// Viber's limits (send_message).
const (
	// MaxSenderName is the longest sender name Viber takes, in characters.
	MaxSenderName = 28
	// maxText is the longest text message, in characters.
	maxText = 7000
	// maxCallback bounds a callback's body; Viber's are a few hundred bytes.
	maxCallback = 1 << 20
)

// Defaults of Config.
const (
	DefaultWorkers = bot.DefaultWorkers
	// DefaultAttempts: about a minute of backoff, enough for Redis to
	// restart, as Telegram's.
	DefaultAttempts = 8
	// sendTimeout bounds one API call; downloadTimeout one media download.
	sendTimeout     = 30 * time.Second
	downloadTimeout = time.Minute
	// pictureTTL is how long a served picture's URL works: Viber fetches it
	// when the message is sent, a client may show it later.
	pictureTTL = 72 * time.Hour
	// keepPictures is how long served pictures are kept before they are
	// removed; they are drawn again when needed.
	keepPictures = 7 * 24 * time.Hour
)

// Files keeps the files the channel downloads (a CDTO's evidence) and the
// pictures it serves; *sqldb.DB implements it.
type Files interface {
	PutFile(ctx context.Context, f *hromadabot.File) error
	File(ctx context.Context, id string) (*hromadabot.File, error)
	DeletePictures(ctx context.Context, before time.Time) (int64, error)
}

// Config configures a Channel.
type Config struct {
	// Token is the bot's auth token (X-Viber-Auth-Token). Secret: never
	// logged. It also keys the callbacks' signatures and the media URLs.
	Token string
	// APIURL is the API base; the bot calls APIURL/<method>.
	APIURL string
	// WebhookURL is the public HTTPS address Viber calls.
	WebhookURL string
	// PublicURL is the public base under which the bot serves the pictures
	// Viber fetches; MediaPath is their path under it.
	PublicURL string
	// SenderName (at most 28 characters) and SenderAvatar (a URL, may be
	// empty) go with every message.
	SenderName   string
	SenderAvatar string
	// Files keeps downloaded evidence and served pictures.
	Files Files
	// Workers is the number of concurrent handlers (default 64).
	Workers int
	// ShutdownGrace bounds how long updates being handled may run after
	// Run's context is cancelled (default 10s).
	ShutdownGrace time.Duration
	// Stream, when set, shares the message callbacks with every process
	// on it, whichever process Viber called, and Leases (then required)
	// share out its shards: see bot.StreamReceiver. LeaseTTL is their
	// time to live (bot.DefaultLeaseTTL); Owner names this process among
	// the others (a unique name by default).
	Stream   bot.Stream
	Leases   bot.Leases
	LeaseTTL time.Duration
	Owner    string
	// Attempts is how many times the handling of a message from the
	// Stream that failed for a passing reason is tried before it is given
	// up (DefaultAttempts). Without a stream, Viber's redelivery retries.
	Attempts int
	// OnGone hears the id of a person who unsubscribed: broadcasts skip
	// them until they write again. OnReceipt hears delivered, seen and
	// failed callbacks, for the broadcast figures.
	OnGone    func(userID string)
	OnReceipt func(event string)
	// HTTPClient makes the API calls and downloads; nil uses a fresh one.
	HTTPClient *http.Client
	// Log gets ids and errors, never the token nor message texts.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Channel is a Viber bot. It implements bot.Transport for the Sender and
// http.Handler for the webhook; MediaHandler serves its pictures.
type Channel struct {
	cfg  Config
	http *http.Client
	log  *slog.Logger
	now  func() time.Time
	recv *bot.Receiver
	// stream, with a Stream, feeds recv from it and adds to it.
	stream *bot.StreamReceiver
	media  mediaSigner
	// mediaPath is the path of the served pictures, PublicURL's path first;
	// mediaOrigin is PublicURL's scheme and host, which the URLs of the
	// pictures start with.
	mediaPath   string
	mediaOrigin string
	account     Account

	// pictures maps an image's key to the file it was stored as.
	pictures pictureIDs
	// served are the pictures handed out last, kept in memory.
	served servedFiles
	// keyboards are the keyboards last sent to each chat.
	keyboards keyboards

	mu      sync.Mutex
	started bool
	// fatal is closed when a call says the token no longer works.
	fatal     chan struct{}
	fatalOnce sync.Once
}

var _ bot.Transport = (*Channel)(nil)

// Account is what get_account_info says of the bot.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URI  string `json:"uri"`
}

// New checks the configuration and the token (get_account_info) and returns
// the Channel. It makes no other call: Run sets the webhook.
func New(ctx context.Context, cfg Config) (*Channel, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	c := &Channel{cfg: cfg, http: cfg.HTTPClient, log: cfg.Log, now: cfg.Now, fatal: make(chan struct{})}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.http == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = max(cfg.Workers, DefaultWorkers) + 1
		c.http = &http.Client{Transport: t}
	}
	// The media URLs are signed with a key of their own, derived from the
	// token, so that a served URL reveals nothing of the token.
	mac := hmac.New(sha256.New, []byte(cfg.Token))
	mac.Write([]byte("hromadabot media"))
	c.media = mediaSigner{key: mac.Sum(nil)}
	pub, _ := url.Parse(cfg.PublicURL)
	c.mediaPath = strings.TrimRight(pub.Path, "/") + "/viber/media/"
	c.mediaOrigin = pub.Scheme + "://" + pub.Host
	c.recv = bot.NewReceiver(bot.ReceiverOptions{Name: "viber", Workers: cfg.Workers, ShutdownGrace: cfg.ShutdownGrace, Log: c.log})
	if cfg.Stream != nil {
		c.stream = bot.NewStreamReceiver(c.recv, bot.StreamOptions{
			Channel:  hromadabot.PlatformViber,
			Stream:   cfg.Stream,
			Leases:   cfg.Leases,
			Owner:    cfg.Owner,
			LeaseTTL: cfg.LeaseTTL,
			Decode:   c.decodeEntry,
			Log:      c.log,
		})
	}

	var info struct {
		Account
	}
	if err := c.call(ctx, "get_account_info", struct{}{}, &info); err != nil {
		return nil, fmt.Errorf("viber: get_account_info: %w", err)
	}
	c.account = info.Account
	return c, nil
}

func (cfg *Config) validate() error {
	switch {
	case cfg.Token == "":
		return errors.New("viber: token is required")
	case cfg.APIURL == "":
		cfg.APIURL = DefaultAPIURL
	}
	switch {
	case !httpURL(cfg.APIURL):
		return errors.New("viber: the API URL must be an http(s) URL")
	case !httpURL(cfg.WebhookURL):
		return errors.New("viber: the webhook URL must be an http(s) URL")
	case !httpURL(cfg.PublicURL):
		return errors.New("viber: the public URL must be an http(s) URL")
	case strings.TrimSpace(cfg.SenderName) == "" || utf8.RuneCountInString(cfg.SenderName) > MaxSenderName:
		return fmt.Errorf("viber: the sender name must be 1 to %d characters", MaxSenderName)
	case cfg.SenderAvatar != "" && !httpURL(cfg.SenderAvatar):
		return errors.New("viber: the sender avatar must be an http(s) URL")
	case cfg.Files == nil:
		return errors.New("viber: Files is required")
	case cfg.Stream != nil && cfg.Leases == nil:
		return errors.New("viber: a stream needs leases")
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	return nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Account is the bot's account, as get_account_info reported it.
func (c *Channel) Account() Account { return c.account }

// MediaPattern is the pattern under which MediaHandler must be mounted.
func (c *Channel) MediaPattern() string { return "GET " + c.mediaPath + "{name}" }

// eventTypes are the callbacks the bot asks for; message callbacks come
// whatever the list says.
var eventTypes = []string{"delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"}

// Run sets the webhook and handles what arrives through ServeHTTP until ctx
// is cancelled; each event goes to h and each reply to s. On cancellation it
// lets the updates being handled finish (for at most ShutdownGrace) and
// returns nil; the webhook stays set, so that Viber keeps what comes
// meanwhile and delivers it again. It returns an error when the webhook
// cannot be set or the token stops working.
func (c *Channel) Run(ctx context.Context, h bot.Handler, s bot.ReplySender) error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return errors.New("viber: Run may be called once")
	}
	c.started = true
	c.mu.Unlock()

	// The workers start first: Viber checks the webhook at once.
	if err := c.recv.Start(ctx, h, s); err != nil {
		return err
	}
	defer c.recv.Stop()
	if c.stream != nil {
		// On the way out the stream receiver stops with the Receiver,
		// whose Stop ends what it has in hand, as Run waits for.
		streamCtx, stopStream := context.WithCancel(ctx)
		streamed := make(chan struct{})
		go func() {
			defer close(streamed)
			if err := c.stream.Run(streamCtx); err != nil {
				c.log.Error("viber: stream receiver", "err", err)
			}
		}()
		defer func() {
			stopStream()
			c.recv.Stop()
			<-streamed
		}()
	}
	if err := c.setWebhook(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("viber: set webhook: %w", err)
	}
	c.log.Info("viber: receiving callbacks by webhook", "bot", c.account.URI)
	prune := time.NewTicker(24 * time.Hour)
	defer prune.Stop()
	for {
		c.prunePictures(ctx)
		select {
		case <-ctx.Done():
			c.log.Info("viber: stopped")
			return nil
		case <-c.fatal:
			return errors.New("viber: Viber refused the token (invalidAuthToken): it was revoked or is wrong")
		case <-prune.C:
		}
	}
}

// setWebhook registers the webhook; Viber calls it at once to check it, so
// a bot that is still coming up is given a few tries.
func (c *Channel) setWebhook(ctx context.Context) error {
	req := map[string]any{"url": c.cfg.WebhookURL, "event_types": eventTypes, "send_name": true, "send_photo": false}
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		if err = c.call(ctx, "set_webhook", req, nil); err == nil || !bot.IsRetryable(err) && !isStatus(err, statusInvalidURL) {
			return err
		}
		c.log.Warn("viber: set webhook failed, trying again", "attempt", attempt, "err", err)
		if bot.Sleep(ctx, bot.Backoff(attempt)) != nil {
			return ctx.Err()
		}
	}
	return err
}

// prunePictures removes served pictures past keeping; their URLs expired
// long before.
func (c *Channel) prunePictures(ctx context.Context) {
	n, err := c.cfg.Files.DeletePictures(ctx, c.now().Add(-keepPictures))
	switch {
	case err != nil && ctx.Err() == nil:
		c.log.Warn("viber: removing old pictures failed", "err", err)
	case n > 0:
		c.log.Info("viber: old pictures removed", "pictures", n)
	}
}

// stopOnBadToken makes Run return when a call was refused for the token.
func (c *Channel) stopOnBadToken() {
	c.fatalOnce.Do(func() { close(c.fatal) })
}
