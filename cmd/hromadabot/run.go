package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/bot/telegram"
	"github.com/hromadabot/hromadabot/bot/viber"
	"github.com/hromadabot/hromadabot/broadcast"
	"github.com/hromadabot/hromadabot/chart"
	"github.com/hromadabot/hromadabot/dialogs"
	"github.com/hromadabot/hromadabot/httpserver"
	"github.com/hromadabot/hromadabot/locales"
	"github.com/hromadabot/hromadabot/metrics"
	"github.com/hromadabot/hromadabot/site"
	"github.com/hromadabot/hromadabot/storage"
	"github.com/hromadabot/hromadabot/storage/memory"
	"github.com/hromadabot/hromadabot/storage/redis"
)

// errNoToken is the one-line answer to `hromadabot run` without a token.
var errNoToken = errors.New("TELEGRAM_TOKEN: not set, nor VIBER_TOKEN; get a bot token from @BotFather (or a Viber bot account), or try the bot in this terminal without one: hromadabot demo")

// cmdRun starts the chat bot with the configuration from the environment
// and runs it until SIGINT or SIGTERM.
func cmdRun(ctx context.Context, e *env, args []string) error {
	if err := noArgs(e, newFlags("run"), args); err != nil {
		return err
	}
	cfg, err := LoadConfig(e.getenv)
	if err != nil {
		return err
	}
	if cfg.TelegramToken == "" && cfg.ViberToken == "" {
		return errNoToken
	}
	log, err := newLogger(e.stderr, cfg.LogLevel.String(), logsToTerminal(e.stderr))
	if err != nil {
		return err
	}
	debug.SetGCPercent(cfg.GCPercent)
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
	m := NewMain(cfg, log)
	if err := m.Open(ctx); err != nil {
		m.Close()
		return err
	}
	runErr := m.Run(ctx)
	if err := m.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// telegramCommands is the bot's command menu in Telegram (setMyCommands);
// the dialogs understand more, these are the ones worth a tap.
var telegramCommands = []telegram.Command{
	{Name: "start", Description: hromadabot.Text{UK: "Почати", EN: "Start"}},
	{Name: "score", Description: hromadabot.Text{UK: "Індекс і картка громади", EN: "Community index and card"}},
	{Name: "ranking", Description: hromadabot.Text{UK: "Рейтинг громад", EN: "Ranking of communities"}},
	{Name: "indicators", Description: hromadabot.Text{UK: "Індикатори громади", EN: "The community's indicators"}},
	{Name: "report", Description: hromadabot.Text{UK: "Звіт CDTO про поступ", EN: "CDTO progress report"}},
	{Name: "subscribe", Description: hromadabot.Text{UK: "Щотижневий дайджест", EN: "Weekly digest"}},
	{Name: "menu", Description: hromadabot.Text{UK: "Головне меню", EN: "Main menu"}},
	{Name: "language", Description: hromadabot.Text{UK: "Мова / Language", EN: "Language / Мова"}},
	{Name: "help", Description: hromadabot.Text{UK: "Що вміє бот", EN: "What the bot can do"}},
}

// Main is the running bot: every component of `hromadabot run`, opened in
// dependency order by Open and closed in reverse by Close.
type Main struct {
	Config Config
	Log    *slog.Logger

	DB     storage.Records
	States dialogs.StateStore
	Engine *dialogs.Engine
	// Telegram and Viber are the channels the configuration enables, nil
	// for one it does not; Senders has each one's rate-limited sender, by
	// platform.
	Telegram  *telegram.Channel
	Viber     *viber.Channel
	Senders   map[string]*bot.Sender
	Broadcast *broadcast.Service
	Metrics   *metrics.Metrics
	HTTP      *httpserver.Server

	// Site is the public web site, served on HTTP_ADDR beside the rest.
	Site *site.Site

	loc      *locales.Catalog
	checks   map[string]func(context.Context) error
	listener net.Listener
	closers  []func() error

	// limiter holds the senders' and the broadcasts' rate limits in Redis
	// for every process of the bot; nil keeps them in this process.
	limiter bot.Limiter
	// redis, when set, is shared by every process of the bot: each
	// channel's updates go through a stream in it, so that any process
	// takes any update and one chat's are handled in order, once.
	redis goredis.UniversalClient
}

// NewMain returns a Main for cfg; nothing is opened yet.
func NewMain(cfg Config, log *slog.Logger) *Main {
	return &Main{Config: cfg, Log: log}
}

// Open opens the database, the dialog state store, the dialogs, the sender
// and the Telegram channel, and binds HTTP_ADDR, so that every problem of
// the setup shows at start. On error, Close what was opened.
func (m *Main) Open(ctx context.Context) error {
	cfg := m.Config
	m.Log.Info("starting", "config", cfg)
	m.Metrics = metrics.New()
	m.checks = map[string]func(context.Context) error{}

	db, err := storage.Open(ctx, cfg.Database)
	if err != nil {
		return fmt.Errorf("%s: open %s: %w", cfg.databaseVariable(), redactURL(cfg.Database), err)
	}
	m.DB = db
	m.closers = append(m.closers, db.Close)
	// /readyz names the engine: "sqlite ok" or "postgres ok".
	engine, _, _ := storage.Parse(cfg.Database)
	m.checks[engine] = db.Ping
	if err := m.loadCommunities(ctx); err != nil {
		return err
	}

	// The broadcast scheduler takes its per-slot lock in Redis when there
	// is one, the senders and the broadcasts share their rate limits there
	// with the bot's other processes, and polled updates wait in a Redis
	// inbox until handled.
	var slotLocks broadcast.SlotLock
	var inbox bot.Inbox
	if cfg.RedisURL != "" {
		opts, err := goredis.ParseURL(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		redisLogOnce.Do(func() { goredis.SetLogger(redisLog{m.Log}) })
		client := goredis.NewClient(opts)
		m.closers = append(m.closers, client.Close)
		slotLocks = redis.NewSlotLock(client, cfg.RedisPrefix, "")
		m.limiter = redis.NewLimiter(client, cfg.RedisPrefix)
		inbox = redis.NewInbox(client, cfg.RedisPrefix, "telegram")
		m.redis = client
		states := redis.NewStateStore(client, redis.Options{Prefix: cfg.RedisPrefix, TTL: cfg.DialogTTL})
		if err := states.Ping(ctx); err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		m.States = m.Metrics.StateStore(states)
		m.checks["redis"] = states.Ping
		m.Log.Info("dialog state in redis", "redis_url", redactURL(cfg.RedisURL), "prefix", cfg.RedisPrefix)
	} else {
		m.States = m.Metrics.StateStore(memory.NewStateStore(cfg.DialogTTL))
		m.Log.Info("dialog state in memory: unfinished dialogs do not survive a restart (set REDIS_URL to keep them)")
	}

	if m.loc, err = locales.New(); err != nil {
		return err
	}
	m.Engine, err = dialogs.New(dialogs.Config{
		Store:   db,
		States:  m.States,
		Locales: m.loc,
		Admins:  cfg.AdminIDs,
		// 64 cards of about 30 KB: what is asked for again is not drawn again.
		Chart: chart.NewCache(64).ScoreCard,
		// Served by this process on HTTP_ADDR, under the public URL.
		SiteURL: cfg.PublicURL,
		// Admins' /broadcast stores a job; m.Broadcast sends it.
		Announcer: broadcast.Announcer{Store: db},
		Log:       m.Log,
	})
	if err != nil {
		return err
	}

	m.Senders = map[string]*bot.Sender{}
	senders := map[string]broadcast.Sender{}
	extra := map[string]http.Handler{}
	if cfg.TelegramToken != "" {
		if err := m.openTelegram(ctx, inbox, extra); err != nil {
			return err
		}
		senders[hromadabot.PlatformTelegram] = m.Senders[hromadabot.PlatformTelegram]
	}
	if cfg.ViberToken != "" {
		if err := m.openViber(ctx, extra); err != nil {
			return err
		}
		senders[hromadabot.PlatformViber] = m.Senders[hromadabot.PlatformViber]
	}
	m.Broadcast, err = broadcast.New(broadcast.Config{
		Store:   db,
		Senders: senders,
		Locales: m.loc,
		// Broadcasts share each sender's global limit with replies to people
		// chatting; they take at most four fifths of it, so replies never starve.
		Rate:          max(1, cfg.BroadcastRate*4/5),
		PlatformRates: map[string]int{hromadabot.PlatformViber: max(1, cfg.ViberRate*4/5)},
		Timezone:      cfg.Timezone,
		QuietHours:    cfg.QuietHours,
		ReminderCron:  cfg.ReminderCron,
		DigestCron:    cfg.DigestCron,
		Locks:         slotLocks,
		Limiter:       m.limiter,
		Progress:      m.Metrics.BroadcastProgress,
		Outcome:       m.Metrics.BroadcastOutcome,
		Log:           m.Log,
	})
	if err != nil {
		return err
	}

	if m.Site, err = openSite(db, m.loc, cfg.PublicURL, m.Log); err != nil {
		return err
	}
	extra["GET /"] = m.Site.Handler()
	if m.HTTP, err = httpserver.New(cfg.HTTPAddr, m.checks, m.Metrics.Handler(), extra); err != nil {
		return fmt.Errorf("TELEGRAM_WEBHOOK_URL, VIBER_WEBHOOK_URL: %w", err)
	}
	m.HTTP.Log = m.Log
	// Bound now, so that a port in use is an error at start.
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	m.listener = ln
	m.closers = append(m.closers, func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	return nil
}

// openTelegram opens the Telegram channel and its sender, and adds its
// webhook, if any, to the HTTP handlers.
func (m *Main) openTelegram(ctx context.Context, inbox bot.Inbox, extra map[string]http.Handler) error {
	cfg := m.Config
	var err error
	tc := telegram.Config{
		Token:         cfg.TelegramToken,
		APIURL:        cfg.TelegramAPIURL,
		WebhookURL:    cfg.WebhookURL,
		WebhookSecret: cfg.WebhookSecret,
		Commands:      telegramCommands,
		Inbox:         inbox,
		Log:           m.Log,
	}
	if m.redis != nil {
		// The inbox of an earlier single process is moved into the stream.
		tc.Stream = redis.NewStream(m.redis, redis.StreamOptions{Prefix: cfg.RedisPrefix, Channel: hromadabot.PlatformTelegram})
		tc.Leases = redis.NewLeases(m.redis, cfg.RedisPrefix, hromadabot.PlatformTelegram)
	}
	m.Telegram, err = telegram.New(ctx, tc)
	if err != nil {
		// Telegram answers 401 (or 404 for a malformed token) to a bad
		// token; anything else means the Bot API was not reached.
		var te *telegram.Error
		if errors.As(err, &te) && (te.Code == http.StatusUnauthorized || te.Code == http.StatusNotFound) {
			return fmt.Errorf("TELEGRAM_TOKEN: Telegram refused the token: %w", err)
		}
		return fmt.Errorf("TELEGRAM_API_URL: cannot use the Bot API: %w", err)
	}
	// The metrics see every delivery attempt, retries included.
	m.Senders[hromadabot.PlatformTelegram] = bot.NewSender(m.Metrics.Transport(m.Telegram), bot.SenderOptions{
		GlobalRate: cfg.SenderRate(),
		OnBlocked:  m.blocked(hromadabot.PlatformTelegram),
		Limiter:    m.limiter,
		Platform:   hromadabot.PlatformTelegram,
		Log:        m.Log,
	})
	if cfg.WebhookURL != "" {
		extra["POST "+urlPath(cfg.WebhookURL)] = m.Telegram
	}
	if m.redis != nil {
		m.checks["telegram-stream"] = m.Telegram.Check
	}
	return nil
}

// openViber opens the Viber channel and its sender, and adds its webhook
// and the pictures it serves to the HTTP handlers.
func (m *Main) openViber(ctx context.Context, extra map[string]http.Handler) error {
	cfg := m.Config
	var err error
	vc := viber.Config{
		Token:        cfg.ViberToken,
		APIURL:       cfg.ViberAPIURL,
		WebhookURL:   cfg.ViberWebhookURL,
		PublicURL:    cfg.ViberPublicURL(),
		SenderName:   cfg.ViberSenderName,
		SenderAvatar: cfg.ViberSenderAvatar,
		Files:        m.DB,
		OnGone:       m.blocked(hromadabot.PlatformViber),
		OnReceipt:    func(event string) { m.Metrics.Receipt(hromadabot.PlatformViber, event) },
		Log:          m.Log,
	}
	if m.redis != nil {
		vc.Stream = redis.NewStream(m.redis, redis.StreamOptions{Prefix: cfg.RedisPrefix, Channel: hromadabot.PlatformViber})
		vc.Leases = redis.NewLeases(m.redis, cfg.RedisPrefix, hromadabot.PlatformViber)
	}
	m.Viber, err = viber.New(ctx, vc)
	if err != nil {
		var ve *viber.Error
		if errors.As(err, &ve) && ve.Status == 2 {
			return fmt.Errorf("VIBER_TOKEN: Viber refused the token: %w", err)
		}
		return fmt.Errorf("VIBER_API_URL: cannot use the Viber API: %w", err)
	}
	m.Senders[hromadabot.PlatformViber] = bot.NewSender(m.Metrics.Transport(m.Viber), bot.SenderOptions{
		GlobalRate: cfg.ViberSenderRate(),
		OnBlocked:  m.blocked(hromadabot.PlatformViber),
		Limiter:    m.limiter,
		Platform:   hromadabot.PlatformViber,
		Log:        m.Log,
	})
	extra["POST "+urlPath(cfg.ViberWebhookURL)] = m.Viber
	extra[m.Viber.MediaPattern()] = m.Viber.MediaHandler()
	if m.redis != nil {
		m.checks["viber-stream"] = m.Viber.Check
	}
	return nil
}

// urlPath is the path a webhook URL is served at.
func urlPath(s string) string {
	if u, err := url.Parse(s); err == nil && u.Path != "" {
		return u.Path
	}
	return "/"
}

// loadCommunities fills an empty database with every community of Ukraine,
// so that a new bot answers /score at once.
func (m *Main) loadCommunities(ctx context.Context) error {
	n, err := m.DB.CountCommunities(ctx)
	if err != nil {
		return fmt.Errorf("count communities: %w", err)
	}
	if n > 0 {
		return nil
	}
	all, err := hromadabot.Hromadas()
	if err != nil {
		return err
	}
	added, err := m.DB.LoadHromadas(ctx, all, "cli")
	if err != nil {
		return fmt.Errorf("load communities: %w", err)
	}
	m.Log.Info("empty database: communities loaded", "communities", added)
	return nil
}

// Addr is the address the HTTP server listens on, once opened.
func (m *Main) Addr() string {
	if m.listener == nil {
		return ""
	}
	return m.listener.Addr().String()
}

// Handler is what every update goes through: metrics, the log line (ids
// only), the apology for a panic, then the dialogs.
func (m *Main) Handler() bot.Handler {
	apology := func(ev bot.Event) bot.Reply {
		return bot.Reply{Text: m.loc.T(hromadabot.NormalizeLanguage(ev.LanguageCode), "reply.internal", nil)}
	}
	return bot.Chain(m.Engine, m.Metrics.Middleware(), bot.Log(m.Log), bot.Recover(m.Log, apology))
}

// Run serves HTTP (the webhooks, /healthz, /readyz, /metrics), receives
// the updates of every enabled channel and sends the broadcasts until ctx
// is cancelled or any of them fails; then all stop: receiving ends with the
// updates in hand handled, the server with the requests under way answered.
func (m *Main) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h := m.Handler()
	var parts []func(context.Context) error
	parts = append(parts, func(ctx context.Context) error { return m.HTTP.Serve(ctx, m.listener) })
	m.Log.Info("http listening", "addr", m.Addr())
	if m.Telegram != nil {
		s := m.Senders[hromadabot.PlatformTelegram]
		parts = append(parts, func(ctx context.Context) error { return m.Telegram.Run(ctx, h, s) })
	}
	if m.Viber != nil {
		s := m.Senders[hromadabot.PlatformViber]
		parts = append(parts, func(ctx context.Context) error { return m.Viber.Run(ctx, h, s) })
	}
	done := make(chan error, len(parts))
	for _, run := range parts {
		go func() { done <- run(ctx) }()
	}
	broadcasted := make(chan error, 1)
	go func() { broadcasted <- m.Broadcast.Run(ctx) }()

	// The first part to end ends the others.
	err := <-done
	cancel()
	for range len(parts) - 1 {
		if perr := <-done; err == nil {
			err = perr
		}
	}
	if berr := <-broadcasted; err == nil {
		err = berr
	}
	m.Log.Info("stopped")
	return err
}

// blocked returns what marks a person of the platform who blocked the bot
// (or unsubscribed from it on Viber) as blocked and unsubscribed, so that
// broadcasts skip them until they write again. Private chats have the
// user's id.
func (m *Main) blocked(platform string) func(chatID string) {
	return func(chatID string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		u, err := m.DB.UserByPlatform(ctx, platform, chatID)
		if err != nil {
			m.Log.Warn("blocked chat without a user", "platform", platform, "chat", chatID, "err", err)
			return
		}
		if u.Blocked && !u.Subscribed {
			return
		}
		u.Blocked, u.Subscribed = true, false
		if err := m.DB.UpdateUser(ctx, u, u.Ref()); err != nil {
			m.Log.Error("mark user blocked", "user", u.ID, "err", err)
			return
		}
		m.Log.Info("user blocked the bot: marked blocked and unsubscribed", "platform", platform, "user", u.ID)
	}
}

// redisLog sends the Redis client's own messages (reconnection attempts)
// to the bot's log instead of the standard logger. The client's logger is
// global, so it is set once, by the first bot of the process.
type redisLog struct{ log *slog.Logger }

var redisLogOnce sync.Once

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// Close closes what Open opened, in reverse order.
func (m *Main) Close() error {
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		if err := m.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	m.closers = nil
	return errors.Join(errs...)
}

// openSite returns the public web site over the records, its links and
// shared cards under the public URL when there is one.
func openSite(db storage.Records, loc *locales.Catalog, publicURL string, log *slog.Logger) (*site.Site, error) {
	s, err := site.New(site.Config{Records: db, Locales: loc, ScoreCard: chart.ScoreCard, ScoreCardSVG: chart.ScoreCardSVG, BaseURL: publicURL, Log: log})
	if err != nil {
		return nil, fmt.Errorf("PUBLIC_URL: %w", err)
	}
	return s, nil
}
