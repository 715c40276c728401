package main

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot/viber"
	"github.com/hromadabot/hromadabot/broadcast"
	"github.com/hromadabot/hromadabot/storage"
)

// Config is every setting of the bot, read from the environment once at
// start and validated in one pass, so that a mistake is a one-line error
// before anything runs rather than a failure later.
type Config struct {
	// Database is where the records are: a SQLite file path (DATABASE_PATH,
	// or a sqlite: URL) or a postgres:// URL (DATABASE_URL).
	Database string
	// RedisURL holds dialog state (REDIS_URL); empty keeps it in memory.
	RedisURL string
	// RedisPrefix starts every Redis key (REDIS_PREFIX).
	RedisPrefix string
	// DialogTTL is how long an unfinished dialog is kept (DIALOG_TTL).
	DialogTTL time.Duration

	// TelegramToken enables the Telegram channel (TELEGRAM_TOKEN). Secret.
	TelegramToken string
	// TelegramAPIURL is the Bot API base URL (TELEGRAM_API_URL); the bot
	// calls TelegramAPIURL/bot<token>/<method>.
	TelegramAPIURL string
	// WebhookURL switches Telegram from long polling to a webhook
	// (TELEGRAM_WEBHOOK_URL).
	WebhookURL string
	// WebhookSecret is the secret_token Telegram sends back in every webhook
	// request (TELEGRAM_WEBHOOK_SECRET). Secret.
	WebhookSecret string

	// ViberToken enables the Viber channel (VIBER_TOKEN, the
	// X-Viber-Auth-Token). Secret.
	ViberToken string
	// ViberWebhookURL is the public HTTPS address Viber calls
	// (VIBER_WEBHOOK_URL), served on HTTPAddr at its path.
	ViberWebhookURL string
	// ViberAPIURL is the Viber REST API base (VIBER_API_URL).
	ViberAPIURL string
	// ViberSenderName and ViberSenderAvatar go with every Viber message
	// (VIBER_SENDER_NAME, VIBER_SENDER_AVATAR).
	ViberSenderName   string
	ViberSenderAvatar string
	// ViberRate is the most Viber messages per second (VIBER_RATE).
	ViberRate int
	// PublicURL is the public base under which the bot serves the files
	// Viber fetches (PUBLIC_URL); empty takes VIBER_WEBHOOK_URL's origin.
	PublicURL string

	// HTTPAddr serves the webhook, /healthz, /readyz and /metrics (HTTP_ADDR).
	HTTPAddr string
	// AdminIDs are the platform-qualified ids of admins, e.g. "telegram:12345" (ADMIN_IDS).
	AdminIDs []string
	// LogLevel is the slog level (LOG_LEVEL: debug, info, warn, error).
	LogLevel slog.Level
	// GCPercent is the Go collector's target (GOGC), -1 for off; MemoryLimit
	// the Go runtime's soft memory limit in bytes (GOMEMLIMIT), 0 for none.
	// The runtime reads both itself; the bot reads them to apply its own
	// defaults.
	GCPercent   int
	MemoryLimit int64

	// Timezone decides when reminders and digests go out (BOT_TIMEZONE).
	Timezone *time.Location
	// ReminderCron schedules the weekly reminder to silent CDTOs (REMINDER_CRON).
	ReminderCron string
	// DigestCron schedules the weekly digest to subscribers (DIGEST_CRON).
	DigestCron string
	// BroadcastRate is the global limit of outgoing messages per second (BROADCAST_RATE).
	BroadcastRate int
	// SendRate is the sender's limit of messages per second over all chats,
	// replies and broadcasts together (SEND_RATE): 0 (unset) keeps it at
	// BroadcastRate, SendUnlimited lifts it for a local Bot API server or a
	// load test. See SenderRate.
	SendRate int
	// QuietHours are hours in Timezone when broadcasts wait (QUIET_HOURS).
	QuietHours QuietHours
}

// Defaults of the settings, also listed in .env.example and README.md.
const (
	DefaultDatabasePath   = "./hromada.db"
	DefaultRedisPrefix    = "hromadabot:"
	DefaultDialogTTL      = 24 * time.Hour
	DefaultTelegramAPIURL = "https://api.telegram.org"
	DefaultHTTPAddr       = ":8080"
	DefaultTimezone       = "Europe/Kyiv"
	DefaultReminderCron   = "0 10 * * 1"
	DefaultDigestCron     = "0 18 * * 5"
	DefaultBroadcastRate  = 25
	DefaultViberAPIURL    = "https://chatapi.viber.com/pa"
	DefaultViberSender    = "Цифрова громада"
	DefaultViberRate      = 25
	DefaultQuietHours     = "21-8"
	// DefaultGCPercent collects at three times the live heap rather than
	// twice, and DefaultMemoryLimit collects sooner when the Go memory nears
	// it: the bot's live heap is small (about 25 MiB with 10,000 dialogs
	// open), so a busy bot gets about a tenth more CPU, and a burst of
	// queued updates still leaves the process well under 100 MB.
	DefaultGCPercent   = 200
	DefaultMemoryLimit = 56 << 20
)

// SendUnlimited is the SendRate of SEND_RATE=off (or 0): no global limit.
const SendUnlimited = -1

// MaxBroadcastRate is the highest BROADCAST_RATE accepted: Telegram's paid
// broadcast ceiling. Free bots should stay below 30.
const MaxBroadcastRate = 1000

// DefaultConfig returns the configuration with every default applied: the
// bot runs on it with a local SQLite file and in-memory dialog state.
func DefaultConfig() Config {
	return Config{
		Database:        DefaultDatabasePath,
		RedisPrefix:     DefaultRedisPrefix,
		DialogTTL:       DefaultDialogTTL,
		TelegramAPIURL:  DefaultTelegramAPIURL,
		HTTPAddr:        DefaultHTTPAddr,
		LogLevel:        slog.LevelInfo,
		GCPercent:       DefaultGCPercent,
		MemoryLimit:     DefaultMemoryLimit,
		Timezone:        hromadabot.Kyiv,
		ReminderCron:    DefaultReminderCron,
		DigestCron:      DefaultDigestCron,
		BroadcastRate:   DefaultBroadcastRate,
		ViberAPIURL:     DefaultViberAPIURL,
		ViberSenderName: DefaultViberSender,
		ViberRate:       DefaultViberRate,
		QuietHours:      QuietHours{Enabled: true, Start: 21, End: 8},
	}
}

// databaseRef is DATABASE_URL, else DATABASE_PATH, else the default; the
// admin commands use it without loading the rest of the configuration,
// which they do not need.
func databaseRef(getenv func(string) string) string {
	if u := strings.TrimSpace(getenv("DATABASE_URL")); u != "" {
		return u
	}
	if p := strings.TrimSpace(getenv("DATABASE_PATH")); p != "" {
		return p
	}
	return DefaultDatabasePath
}

// LoadConfig reads the configuration from the environment (getenv is
// os.Getenv in production) over DefaultConfig and validates it. The error is
// one line naming the variable: "TELEGRAM_API_URL: must be an http(s) URL".
func LoadConfig(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	get := func(name string) (string, bool) {
		v := strings.TrimSpace(getenv(name))
		return v, v != ""
	}
	var errs []error
	fail := func(name string, err error) { errs = append(errs, fmt.Errorf("%s: %w", name, err)) }

	// DATABASE_URL wins over DATABASE_PATH, which the container image sets.
	path, pathSet := get("DATABASE_PATH")
	dbURL, urlSet := get("DATABASE_URL")
	switch {
	case urlSet:
		if _, _, err := storage.Parse(dbURL); err != nil {
			fail("DATABASE_URL", errors.New("must be a postgres:// or sqlite: URL"))
		}
		c.Database = dbURL
	case pathSet:
		c.Database = path
	}
	c.RedisURL, _ = get("REDIS_URL")
	if v, ok := get("REDIS_PREFIX"); ok {
		c.RedisPrefix = v
	}
	if v, ok := get("DIALOG_TTL"); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			fail("DIALOG_TTL", fmt.Errorf("%q is not a duration such as 24h or 90m", v))
		}
		c.DialogTTL = d
	}
	c.TelegramToken, _ = get("TELEGRAM_TOKEN")
	if v, ok := get("TELEGRAM_API_URL"); ok {
		c.TelegramAPIURL = strings.TrimRight(v, "/")
	}
	c.WebhookURL, _ = get("TELEGRAM_WEBHOOK_URL")
	c.WebhookSecret, _ = get("TELEGRAM_WEBHOOK_SECRET")
	c.ViberToken, _ = get("VIBER_TOKEN")
	c.ViberWebhookURL, _ = get("VIBER_WEBHOOK_URL")
	if v, ok := get("VIBER_API_URL"); ok {
		c.ViberAPIURL = strings.TrimRight(v, "/")
	}
	if v, ok := get("VIBER_SENDER_NAME"); ok {
		c.ViberSenderName = v
	}
	c.ViberSenderAvatar, _ = get("VIBER_SENDER_AVATAR")
	if v, ok := get("VIBER_RATE"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			fail("VIBER_RATE", fmt.Errorf("%q is not a whole number of messages per second", v))
		}
		c.ViberRate = n
	}
	if v, ok := get("PUBLIC_URL"); ok {
		c.PublicURL = strings.TrimRight(v, "/")
	}
	if v, ok := get("HTTP_ADDR"); ok {
		c.HTTPAddr = v
	}
	if v, ok := get("ADMIN_IDS"); ok {
		ids, err := parseAdminIDs(v)
		if err != nil {
			fail("ADMIN_IDS", err)
		}
		c.AdminIDs = ids
	}
	if v, ok := get("LOG_LEVEL"); ok {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			fail("LOG_LEVEL", fmt.Errorf("%q is not one of debug, info, warn, error", v))
		}
	}
	if v, ok := get("GOGC"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			c.GCPercent = n
		} else if strings.EqualFold(v, "off") {
			c.GCPercent = -1
		} else {
			fail("GOGC", fmt.Errorf("%q is not a positive whole percentage or off", v))
		}
	}
	if v, ok := get("GOMEMLIMIT"); ok {
		n, err := ParseMemoryLimit(v)
		if err != nil {
			fail("GOMEMLIMIT", err)
		}
		c.MemoryLimit = n
	}
	if v, ok := get("BOT_TIMEZONE"); ok {
		loc, err := time.LoadLocation(v)
		if err != nil {
			fail("BOT_TIMEZONE", fmt.Errorf("%q is not a time zone such as Europe/Kyiv", v))
		} else {
			c.Timezone = loc
		}
	}
	if v, ok := get("REMINDER_CRON"); ok {
		c.ReminderCron = v
	}
	if v, ok := get("DIGEST_CRON"); ok {
		c.DigestCron = v
	}
	if v, ok := get("BROADCAST_RATE"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			fail("BROADCAST_RATE", fmt.Errorf("%q is not a whole number of messages per second", v))
		}
		c.BroadcastRate = n
	}
	if v, ok := get("SEND_RATE"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			c.SendRate = n
		} else if v == "0" || strings.EqualFold(v, "off") {
			c.SendRate = SendUnlimited
		} else {
			fail("SEND_RATE", fmt.Errorf("%q is not a positive whole number of messages per second, 0 or off", v))
		}
	}
	if v, ok := get("QUIET_HOURS"); ok {
		q, err := ParseQuietHours(v)
		if err != nil {
			fail("QUIET_HOURS", err)
		}
		c.QuietHours = q
	}
	if len(errs) > 0 {
		return c, errs[0]
	}
	return c, c.Validate()
}

// webhookSecretRe is Telegram's rule for secret_token.
var webhookSecretRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// viberTokenRe is the shape of a Viber auth token: letters, digits and dashes.
var viberTokenRe = regexp.MustCompile(`^[A-Za-z0-9-]{16,128}$`)

// telegramTokenRe is the shape of a bot token: "<bot id>:<secret>".
var telegramTokenRe = regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`)

// Validate reports the first invalid setting as a one-line error naming its
// environment variable.
func (c *Config) Validate() error {
	switch {
	case c.Database == "":
		return errors.New("DATABASE_PATH: must not be empty")
	case c.RedisURL != "" && !validRedisURL(c.RedisURL):
		return errors.New("REDIS_URL: must be a URL such as redis://127.0.0.1:6379/0")
	case c.RedisPrefix == "":
		return errors.New("REDIS_PREFIX: must not be empty")
	case c.DialogTTL <= 0:
		return errors.New("DIALOG_TTL: must be a positive duration such as 24h")
	case c.TelegramToken != "" && !telegramTokenRe.MatchString(c.TelegramToken):
		return errors.New("TELEGRAM_TOKEN: must look like 123456:ABC-def (the token from @BotFather)")
	case !validHTTPURL(c.TelegramAPIURL):
		return errors.New("TELEGRAM_API_URL: must be an http(s) URL")
	case c.WebhookURL != "" && !validHTTPURL(c.WebhookURL):
		return errors.New("TELEGRAM_WEBHOOK_URL: must be an http(s) URL")
	case c.WebhookURL != "" && c.TelegramToken == "":
		return errors.New("TELEGRAM_WEBHOOK_URL: needs TELEGRAM_TOKEN")
	case c.WebhookURL != "" && c.WebhookSecret == "":
		return errors.New("TELEGRAM_WEBHOOK_SECRET: required with TELEGRAM_WEBHOOK_URL")
	case c.WebhookSecret != "" && !webhookSecretRe.MatchString(c.WebhookSecret):
		return errors.New("TELEGRAM_WEBHOOK_SECRET: must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -")
	case c.ViberToken != "" && !viberTokenRe.MatchString(c.ViberToken):
		return errors.New("VIBER_TOKEN: must look like 445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9 (the token of the Viber bot account)")
	case c.ViberToken != "" && c.ViberWebhookURL == "":
		return errors.New("VIBER_WEBHOOK_URL: required with VIBER_TOKEN: the public HTTPS address Viber calls")
	case c.ViberWebhookURL != "" && c.ViberToken == "":
		return errors.New("VIBER_WEBHOOK_URL: needs VIBER_TOKEN")
	case c.ViberWebhookURL != "" && !publicURL(c.ViberWebhookURL):
		return errors.New("VIBER_WEBHOOK_URL: must be an https URL (http only on this machine, for tests)")
	case !validHTTPURL(c.ViberAPIURL):
		return errors.New("VIBER_API_URL: must be an http(s) URL")
	case strings.TrimSpace(c.ViberSenderName) == "" || utf8.RuneCountInString(c.ViberSenderName) > viber.MaxSenderName:
		return fmt.Errorf("VIBER_SENDER_NAME: must be 1 to %d characters", viber.MaxSenderName)
	case c.ViberSenderAvatar != "" && !validHTTPURL(c.ViberSenderAvatar):
		return errors.New("VIBER_SENDER_AVATAR: must be an http(s) URL of the picture")
	case c.PublicURL != "" && !publicURL(c.PublicURL):
		return errors.New("PUBLIC_URL: must be an https URL (http only on this machine, for tests)")
	case c.ViberRate < 1 || c.ViberRate > MaxBroadcastRate:
		return fmt.Errorf("VIBER_RATE: must be from 1 to %d messages per second", MaxBroadcastRate)
	case !validAddr(c.HTTPAddr):
		return errors.New("HTTP_ADDR: must be host:port or :port, e.g. :8080")
	case c.Timezone == nil:
		return errors.New("BOT_TIMEZONE: must be set")
	case c.BroadcastRate < 1 || c.BroadcastRate > MaxBroadcastRate:
		return fmt.Errorf("BROADCAST_RATE: must be from 1 to %d messages per second", MaxBroadcastRate)
	case c.SendRate < SendUnlimited:
		return errors.New("SEND_RATE: must be a positive whole number of messages per second, 0 or off")
	}
	for _, ref := range c.AdminIDs {
		if _, _, err := hromadabot.ParseUserRef(ref); err != nil {
			return fmt.Errorf("ADMIN_IDS: %s", hromadabot.ErrorMessage(err))
		}
	}
	if _, err := cron.ParseStandard(c.ReminderCron); err != nil {
		return fmt.Errorf("REMINDER_CRON: %q is not a cron schedule (minute hour day month weekday): %v", c.ReminderCron, err)
	}
	if _, err := cron.ParseStandard(c.DigestCron); err != nil {
		return fmt.Errorf("DIGEST_CRON: %q is not a cron schedule (minute hour day month weekday): %v", c.DigestCron, err)
	}
	if err := c.QuietHours.Validate(); err != nil {
		return fmt.Errorf("QUIET_HOURS: %w", err)
	}
	return nil
}

// ViberPublicURL is PUBLIC_URL, or else the origin of VIBER_WEBHOOK_URL.
func (c *Config) ViberPublicURL() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	u, err := url.Parse(c.ViberWebhookURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// ViberSenderRate is the Viber sender's global limit: VIBER_RATE, or none
// with SEND_RATE=off.
func (c *Config) ViberSenderRate() float64 {
	if c.SendRate == SendUnlimited {
		return math.Inf(1)
	}
	return float64(c.ViberRate)
}

// SenderRate is the sender's global limit in messages per second:
// SEND_RATE when set, +Inf for SEND_RATE=off, else BROADCAST_RATE.
func (c *Config) SenderRate() float64 {
	switch {
	case c.SendRate == SendUnlimited:
		return math.Inf(1)
	case c.SendRate > 0:
		return float64(c.SendRate)
	}
	return float64(c.BroadcastRate)
}

// sendRateString is SenderRate as SEND_RATE would say it.
func (c *Config) sendRateString() string {
	if c.SendRate == SendUnlimited {
		return "off"
	}
	return strconv.FormatFloat(c.SenderRate(), 'f', -1, 64)
}

// IsAdmin reports whether the platform-qualified user ref ("telegram:12345")
// is one of the configured admins.
func (c *Config) IsAdmin(ref string) bool {
	for _, id := range c.AdminIDs {
		if id == ref {
			return true
		}
	}
	return false
}

func parseAdminIDs(s string) ([]string, error) {
	var ids []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		platform, id, err := hromadabot.ParseUserRef(part)
		if err != nil {
			return nil, errors.New(hromadabot.ErrorMessage(err))
		}
		ids = append(ids, platform+":"+id)
	}
	return ids, nil
}

func validHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// publicURL reports whether s is an address the platform can call: https,
// or http to this machine, which only a test's fake platform can call.
func publicURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		ip := net.ParseIP(u.Hostname())
		return u.Hostname() == "localhost" || ip != nil && ip.IsLoopback()
	}
	return false
}

func validRedisURL(s string) bool {
	_, err := redis.ParseURL(s)
	return err == nil
}

func validAddr(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// String describes the configuration for a log line or a terminal with
// every secret left out: the token, the webhook secret and the Redis password.
func (c Config) String() string {
	var b strings.Builder
	for i, a := range c.attrs() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", a.Key, a.Value)
	}
	return b.String()
}

// LogValue implements slog.LogValuer with the same redaction as String.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(c.attrs()...)
}

func (c Config) attrs() []slog.Attr {
	tz := ""
	if c.Timezone != nil {
		tz = c.Timezone.String()
	}
	return []slog.Attr{
		slog.String("database", redactURL(c.Database)),
		slog.String("redis_url", redactURL(c.RedisURL)),
		slog.String("redis_prefix", c.RedisPrefix),
		slog.Duration("dialog_ttl", c.DialogTTL),
		slog.Bool("telegram", c.TelegramToken != ""),
		slog.String("telegram_api_url", redactURL(c.TelegramAPIURL)),
		slog.String("telegram_webhook_url", redactURL(c.WebhookURL)),
		slog.Bool("telegram_webhook_secret_set", c.WebhookSecret != ""),
		slog.Bool("viber", c.ViberToken != ""),
		slog.String("viber_webhook_url", redactURL(c.ViberWebhookURL)),
		slog.String("viber_api_url", redactURL(c.ViberAPIURL)),
		slog.String("viber_sender_name", c.ViberSenderName),
		slog.Int("viber_rate", c.ViberRate),
		slog.String("public_url", redactURL(c.PublicURL)),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("admin_ids", strings.Join(c.AdminIDs, ",")),
		slog.String("log_level", c.LogLevel.String()),
		slog.Int("gogc", c.GCPercent),
		slog.Int64("gomemlimit", c.MemoryLimit),
		slog.String("bot_timezone", tz),
		slog.String("reminder_cron", c.ReminderCron),
		slog.String("digest_cron", c.DigestCron),
		slog.Int("broadcast_rate", c.BroadcastRate),
		slog.String("send_rate", c.sendRateString()),
		slog.String("quiet_hours", c.QuietHours.String()),
	}
}

// redactURL drops the password (and a query string, which may carry a
// token) from a URL that is about to be printed.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if u.RawQuery != "" {
		u.RawQuery = "xxxxx"
	}
	return u.String()
}

// QuietHours is a daily span of hours, in the bot's time zone, when
// broadcasts wait (QUIET_HOURS).
type QuietHours = broadcast.QuietHours

// ParseQuietHours reads "21-8" (from 21:00 to 08:00) or "off".
var ParseQuietHours = broadcast.ParseQuietHours

// ParseMemoryLimit reads a memory limit as GOMEMLIMIT writes it: a whole
// number of bytes with an optional unit (B, KiB, MiB, GiB, TiB), or off for
// none (0).
func ParseMemoryLimit(s string) (int64, error) {
	if strings.EqualFold(s, "off") {
		return 0, nil
	}
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	num, shift := s, uint(0)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = rest, u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%q is not a size such as 64MiB or 1GiB, or off", s)
	}
	return n << shift, nil
}

// databaseVariable names the variable Database came from, for errors.
func (c Config) databaseVariable() string {
	if engine, target, err := storage.Parse(c.Database); err == nil && (engine == storage.EnginePostgres || target != c.Database) {
		return "DATABASE_URL"
	}
	return "DATABASE_PATH"
}
