package main_test

import (
	"bytes"
	"log/slog"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	main "github.com/hromadabot/hromadabot/cmd/hromadabot"
)

func getenv(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

func TestLoadConfig(t *testing.T) {
	t.Run("DefaultsOK", func(t *testing.T) {
		c, err := main.LoadConfig(getenv(nil))
		if err != nil {
			t.Fatal(err)
		}
		want := main.DefaultConfig()
		if !reflect.DeepEqual(c, want) {
			t.Errorf("config from an empty environment:\n%+v\nwant\n%+v", c, want)
		}
		if c.Database != "./hromada.db" || c.RedisURL != "" || c.RedisPrefix != "hromadabot:" || c.DialogTTL != 24*time.Hour ||
			c.TelegramAPIURL != "https://api.telegram.org" || c.HTTPAddr != ":8080" || c.LogLevel != slog.LevelInfo ||
			c.Timezone.String() != "Europe/Kyiv" || c.ReminderCron != "0 10 * * 1" || c.DigestCron != "0 18 * * 5" ||
			c.BroadcastRate != 25 || c.QuietHours.String() != "21-8" || c.GCPercent != 200 || c.MemoryLimit != 56<<20 {
			t.Errorf("defaults: %+v", c)
		}
	})

	t.Run("CollectorOffOK", func(t *testing.T) {
		c, err := main.LoadConfig(getenv(map[string]string{"GOGC": "off", "GOMEMLIMIT": "off"}))
		if err != nil || c.GCPercent != -1 || c.MemoryLimit != 0 {
			t.Fatalf("GOGC=off GOMEMLIMIT=off: %d, %d, %v; want -1, 0", c.GCPercent, c.MemoryLimit, err)
		}
	})

	t.Run("GOMEMLIMITUnitsOK", func(t *testing.T) {
		for v, want := range map[string]int64{"123": 123, "123B": 123, "2KiB": 2048, "64MiB": 64 << 20, "3GiB": 3 << 30, "1TiB": 1 << 40} {
			if got, err := main.ParseMemoryLimit(v); err != nil || got != want {
				t.Errorf("ParseMemoryLimit(%q) = %d, %v; want %d", v, got, err, want)
			}
		}
	})

	t.Run("AllSetOK", func(t *testing.T) {
		c, err := main.LoadConfig(getenv(map[string]string{
			"DATABASE_PATH":           "/data/hromada.db",
			"REDIS_URL":               "redis://:pw@127.0.0.1:6379/2",
			"REDIS_PREFIX":            "test:",
			"DIALOG_TTL":              "2h",
			"TELEGRAM_TOKEN":          "123456:ABC-def_1",
			"TELEGRAM_API_URL":        "http://127.0.0.1:8081/",
			"TELEGRAM_WEBHOOK_URL":    "https://bot.example.org/telegram",
			"TELEGRAM_WEBHOOK_SECRET": "s3cr3t_-X",
			"HTTP_ADDR":               "127.0.0.1:9090",
			"ADMIN_IDS":               " telegram:1, viber:abc ,",
			"LOG_LEVEL":               "debug",
			"GOGC":                    "150",
			"GOMEMLIMIT":              "1GiB",
			"BOT_TIMEZONE":            "UTC",
			"REMINDER_CRON":           "30 9 * * 2",
			"DIGEST_CRON":             "0 17 * * 5",
			"BROADCAST_RATE":          "10",
			"SEND_RATE":               "30",
			"QUIET_HOURS":             "off",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Database != "/data/hromada.db" || c.RedisPrefix != "test:" || c.DialogTTL != 2*time.Hour ||
			c.TelegramAPIURL != "http://127.0.0.1:8081" || c.HTTPAddr != "127.0.0.1:9090" ||
			!reflect.DeepEqual(c.AdminIDs, []string{"telegram:1", "viber:abc"}) || c.LogLevel != slog.LevelDebug || c.GCPercent != 150 || c.MemoryLimit != 1<<30 ||
			c.Timezone.String() != "UTC" || c.BroadcastRate != 10 || c.SendRate != 30 || c.QuietHours.Enabled {
			t.Errorf("config: %+v", c)
		}
		if !c.IsAdmin("telegram:1") || c.IsAdmin("telegram:2") {
			t.Error("IsAdmin does not follow ADMIN_IDS")
		}
	})

	t.Run("OKDatabaseURLWins", func(t *testing.T) {
		for _, tc := range []struct{ name, url string }{
			{"Postgres", "postgres://bot:pw@db:5432/hromadabot"},
			{"SQLiteURL", "sqlite:/data/other.db"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c, err := main.LoadConfig(getenv(map[string]string{"DATABASE_PATH": "/data/hromada.db", "DATABASE_URL": tc.url}))
				if err != nil {
					t.Fatal(err)
				}
				if c.Database != tc.url {
					t.Fatalf("database = %q, want DATABASE_URL's %q", c.Database, tc.url)
				}
				if strings.Contains(c.LogValue().String(), "pw") {
					t.Fatalf("the logged configuration shows the password: %s", c.LogValue())
				}
			})
		}
	})

	bad := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"ErrDatabaseURL", map[string]string{"DATABASE_URL": "mysql://db/hromadabot"}, "DATABASE_URL: must be a postgres:// or sqlite: URL"},
		{"ErrRedisURL", map[string]string{"REDIS_URL": "localhost:6379"}, "REDIS_URL: must be a URL such as redis://127.0.0.1:6379/0"},
		{"ErrDialogTTL", map[string]string{"DIALOG_TTL": "a day"}, `DIALOG_TTL: "a day" is not a duration`},
		{"ErrDialogTTLNegative", map[string]string{"DIALOG_TTL": "-1h"}, "DIALOG_TTL: must be a positive duration"},
		{"ErrTelegramToken", map[string]string{"TELEGRAM_TOKEN": "not a token"}, "TELEGRAM_TOKEN: must look like 123456:ABC-def"},
		{"ErrTelegramAPIURL", map[string]string{"TELEGRAM_API_URL": "api.telegram.org"}, "TELEGRAM_API_URL: must be an http(s) URL"},
		{"ErrTelegramAPIURLScheme", map[string]string{"TELEGRAM_API_URL": "ftp://api.telegram.org"}, "TELEGRAM_API_URL: must be an http(s) URL"},
		{"ErrWebhookURL", map[string]string{"TELEGRAM_TOKEN": "1:x", "TELEGRAM_WEBHOOK_URL": "bot.example.org", "TELEGRAM_WEBHOOK_SECRET": "s"}, "TELEGRAM_WEBHOOK_URL: must be an http(s) URL"},
		{"ErrWebhookWithoutToken", map[string]string{"TELEGRAM_WEBHOOK_URL": "https://bot.example.org", "TELEGRAM_WEBHOOK_SECRET": "s"}, "TELEGRAM_WEBHOOK_URL: needs TELEGRAM_TOKEN"},
		{"ErrWebhookSecretRequired", map[string]string{"TELEGRAM_TOKEN": "1:x", "TELEGRAM_WEBHOOK_URL": "https://bot.example.org"}, "TELEGRAM_WEBHOOK_SECRET: required with TELEGRAM_WEBHOOK_URL"},
		{"ErrWebhookSecretChars", map[string]string{"TELEGRAM_TOKEN": "1:x", "TELEGRAM_WEBHOOK_URL": "https://bot.example.org", "TELEGRAM_WEBHOOK_SECRET": "no spaces"}, "TELEGRAM_WEBHOOK_SECRET: must be 1 to 256 characters"},
		{"ErrWebhookSecretLong", map[string]string{"TELEGRAM_TOKEN": "1:x", "TELEGRAM_WEBHOOK_URL": "https://bot.example.org", "TELEGRAM_WEBHOOK_SECRET": strings.Repeat("a", 257)}, "TELEGRAM_WEBHOOK_SECRET: must be 1 to 256 characters"},
		{"ErrHTTPAddr", map[string]string{"HTTP_ADDR": "8080"}, "HTTP_ADDR: must be host:port or :port"},
		{"ErrAdminIDs", map[string]string{"ADMIN_IDS": "telegram:1,12345"}, `ADMIN_IDS: user "12345" must look like platform:id`},
		{"ErrAdminIDsPlatform", map[string]string{"ADMIN_IDS": "signal:1"}, `ADMIN_IDS: unknown platform "signal"`},
		{"ErrLogLevel", map[string]string{"LOG_LEVEL": "loud"}, `LOG_LEVEL: "loud" is not one of debug, info, warn, error`},
		{"ErrGOGC", map[string]string{"GOGC": "lots"}, `GOGC: "lots" is not a positive whole percentage or off`},
		{"ErrGOGCZero", map[string]string{"GOGC": "0"}, `GOGC: "0" is not a positive whole percentage or off`},
		{"ErrGOMEMLIMIT", map[string]string{"GOMEMLIMIT": "64MB"}, `GOMEMLIMIT: "64MB" is not a size such as 64MiB or 1GiB, or off`},
		{"ErrGOMEMLIMITHuge", map[string]string{"GOMEMLIMIT": "9999999999TiB"}, `GOMEMLIMIT: "9999999999TiB" is not a size`},
		{"ErrTimezone", map[string]string{"BOT_TIMEZONE": "Europe/Kiev2"}, `BOT_TIMEZONE: "Europe/Kiev2" is not a time zone`},
		{"ErrReminderCron", map[string]string{"REMINDER_CRON": "every monday"}, `REMINDER_CRON: "every monday" is not a cron schedule`},
		{"ErrDigestCron", map[string]string{"DIGEST_CRON": "0 25 * * 5"}, `DIGEST_CRON: "0 25 * * 5" is not a cron schedule`},
		{"ErrBroadcastRate", map[string]string{"BROADCAST_RATE": "fast"}, `BROADCAST_RATE: "fast" is not a whole number`},
		{"ErrBroadcastRateZero", map[string]string{"BROADCAST_RATE": "0"}, "BROADCAST_RATE: must be from 1 to 1000"},
		{"ErrSendRate", map[string]string{"SEND_RATE": "fast"}, `SEND_RATE: "fast" is not a positive whole number of messages per second, 0 or off`},
		{"ErrSendRateNegative", map[string]string{"SEND_RATE": "-5"}, `SEND_RATE: "-5" is not a positive whole number`},
		{"ErrViberToken", map[string]string{"VIBER_TOKEN": "not a token!", "VIBER_WEBHOOK_URL": "https://bot.example.org/viber"}, "VIBER_TOKEN: must look like"},
		{"ErrViberWebhookRequired", map[string]string{"VIBER_TOKEN": "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"}, "VIBER_WEBHOOK_URL: required with VIBER_TOKEN"},
		{"ErrViberWebhookWithoutToken", map[string]string{"VIBER_WEBHOOK_URL": "https://bot.example.org/viber"}, "VIBER_WEBHOOK_URL: needs VIBER_TOKEN"},
		{"ErrViberWebhookHTTP", map[string]string{"VIBER_TOKEN": "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9", "VIBER_WEBHOOK_URL": "http://bot.example.org/viber"}, "VIBER_WEBHOOK_URL: must be an https URL"},
		{"ErrViberAPIURL", map[string]string{"VIBER_API_URL": "chatapi.viber.com"}, "VIBER_API_URL: must be an http(s) URL"},
		{"ErrViberSenderName", map[string]string{"VIBER_SENDER_NAME": strings.Repeat("г", 29)}, "VIBER_SENDER_NAME: must be 1 to 28 characters"},
		{"ErrViberSenderAvatar", map[string]string{"VIBER_SENDER_AVATAR": "avatar.png"}, "VIBER_SENDER_AVATAR: must be an http(s) URL"},
		{"ErrViberRate", map[string]string{"VIBER_RATE": "fast"}, `VIBER_RATE: "fast" is not a whole number`},
		{"ErrViberRateZero", map[string]string{"VIBER_RATE": "0"}, "VIBER_RATE: must be from 1 to 1000"},
		{"ErrPublicURL", map[string]string{"PUBLIC_URL": "http://bot.example.org"}, "PUBLIC_URL: must be an https URL"},
		{"ErrQuietHours", map[string]string{"QUIET_HOURS": "evening"}, `QUIET_HOURS: "evening" must be hours like 21-8`},
		{"ErrQuietHoursRange", map[string]string{"QUIET_HOURS": "21-24"}, "QUIET_HOURS: quiet hours 21-24 must be two different hours from 0 to 23"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := main.LoadConfig(getenv(tt.env))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line starting %q", err, tt.want)
			}
		})
	}
}

// TestSenderRate: the sender's global limit follows BROADCAST_RATE unless
// SEND_RATE sets it, and SEND_RATE=off (or 0) lifts it.
func TestSenderRate(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want float64
	}{
		{"BroadcastRateByDefault", nil, 25},
		{"BroadcastRateFollowed", map[string]string{"BROADCAST_RATE": "12"}, 12},
		{"SendRateSet", map[string]string{"BROADCAST_RATE": "12", "SEND_RATE": "200"}, 200},
		{"UnlimitedOff", map[string]string{"SEND_RATE": "off"}, math.Inf(1)},
		{"UnlimitedOFF", map[string]string{"SEND_RATE": "OFF"}, math.Inf(1)},
		{"UnlimitedZero", map[string]string{"SEND_RATE": "0"}, math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := main.LoadConfig(getenv(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.SenderRate(); got != tt.want {
				t.Errorf("SenderRate() = %v, want %v", got, tt.want)
			}
			var logged bytes.Buffer
			slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c)
			if !strings.Contains(logged.String(), `"send_rate":`) || strings.Contains(logged.String(), "ERROR") {
				t.Errorf("logged config %s", logged.String())
			}
		})
	}
	c := main.DefaultConfig()
	c.SendRate = -2
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "SEND_RATE: ") {
		t.Errorf("SendRate -2: error %v, want one naming SEND_RATE", err)
	}
}

func TestConfigHidesSecrets(t *testing.T) {
	c, err := main.LoadConfig(getenv(map[string]string{
		"TELEGRAM_TOKEN":          "123456:SECRETtoken",
		"TELEGRAM_WEBHOOK_URL":    "https://bot.example.org/hook?key=SECRETquery",
		"TELEGRAM_WEBHOOK_SECRET": "SECRETwebhook",
		"REDIS_URL":               "redis://user:SECRETredis@redis:6379/0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c)
	for name, text := range map[string]string{"String": c.String(), "LogValue": logged.String()} {
		if strings.Contains(text, "SECRET") {
			t.Errorf("%s shows a secret: %s", name, text)
		}
		if !strings.Contains(text, "redis:6379") || !strings.Contains(text, "bot.example.org") {
			t.Errorf("%s leaves out what is not secret: %s", name, text)
		}
	}
}

func TestQuietHours(t *testing.T) {
	kyiv, _ := time.LoadLocation("Europe/Kyiv")
	tests := []struct {
		name  string
		spec  string
		hour  int
		quiet bool
	}{
		{"OvernightLate", "21-8", 22, true},
		{"OvernightEarly", "21-8", 7, true},
		{"OvernightEnd", "21-8", 8, false},
		{"OvernightDay", "21-8", 12, false},
		{"SameDay", "13-15", 14, true},
		{"SameDayOutside", "13-15", 15, false},
		{"Off", "off", 23, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := main.ParseQuietHours(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 3, 2, tt.hour, 30, 0, 0, kyiv)
			if got := q.Contains(at, kyiv); got != tt.quiet {
				t.Errorf("%s at %d:30: quiet = %v, want %v", tt.spec, tt.hour, got, tt.quiet)
			}
		})
	}
}

// TestEnvExample keeps .env.example complete: it names every variable the
// configuration reads, and its values are the defaults.
func TestEnvExample(t *testing.T) {
	data, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	example := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf(".env.example: %q is not NAME=value", line)
		}
		example[name] = value
	}
	read := map[string]bool{}
	c, err := main.LoadConfig(func(name string) string {
		read[name] = true
		return example[name]
	})
	if err != nil {
		t.Fatalf(".env.example does not load: %v", err)
	}
	if !reflect.DeepEqual(c, main.DefaultConfig()) {
		t.Errorf(".env.example differs from the defaults:\n%+v\nwant\n%+v", c, main.DefaultConfig())
	}
	for name := range read {
		if _, ok := example[name]; !ok {
			t.Errorf(".env.example lacks %s", name)
		}
	}
	for name := range example {
		if !read[name] {
			t.Errorf(".env.example lists %s, which the configuration does not read", name)
		}
	}
}

// TestViberConfig: a webhook on this machine may be http (a test's fake
// Viber), and the pictures are served under the webhook's origin unless
// PUBLIC_URL says otherwise.
func TestViberConfig(t *testing.T) {
	token := "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
	for _, tt := range []struct {
		name, webhook, public, want string
	}{
		{"OKPublicFromWebhook", "https://bot.example.org/hromada/viber", "", "https://bot.example.org"},
		{"OKPublicGiven", "https://bot.example.org/viber", "https://files.example.org/hromada", "https://files.example.org/hromada"},
		{"OKLoopbackHTTP", "http://127.0.0.1:8081/viber", "", "http://127.0.0.1:8081"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := main.LoadConfig(getenv(map[string]string{"VIBER_TOKEN": token, "VIBER_WEBHOOK_URL": tt.webhook, "PUBLIC_URL": tt.public}))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.ViberPublicURL(); got != tt.want {
				t.Errorf("public URL %q, want %q", got, tt.want)
			}
			if s := cfg.String(); strings.Contains(s, token) {
				t.Errorf("the configuration reveals the Viber token: %s", s)
			}
		})
	}
}
