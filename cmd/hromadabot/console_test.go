package main_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot"
	main "github.com/hromadabot/hromadabot/cmd/hromadabot"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// TestDemo scripts a newcomer's first session through the real command:
// a score query, a whole report by the demo CDTO, and the score again.
func TestDemo(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "demo.db")
	script := strings.Join([]string{
		"/score Буча",
		"/report 5",
		"abc",  // re-asked
		"55,5", // a value
		"1",    // [1] Пропустити
		"1",    // [1] Зберегти
		"/score Буча",
		"/broadcast",
		"3", // [3] 📢 Усі
		"Нарада CDTO у четвер",
		"1", // [1] 📨 Надіслати
	}, "\n") + "\n"
	stdout, stderr, code := main.RunMain(ctx, []string{"demo", "--db", path}, strings.NewReader(script), func(string) string { return "" })
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"Ви — CDTO громади Бучанська (Київська обл.) і адміністратор бота.",
		"> /score Буча\nБучанська (Київська обл.)\nЦифровий індекс ",
		"Місце в рейтингу: ",
		"> /report 5\n5. Розширення цифрових комунікаційних каналів",
		"Ціль на кінець ",
		"> abc\nЦе не число.",
		"[1] Пропустити [2] ✖️ Скасувати",
		"[1] 💾 Зберегти [2] ✖️ Скасувати",
		"✅ Звіт збережено: 5. Чат-боти та онлайн-оплата — 55,5%.",
		"[1] 👔 CDTO [2] 🏘 Мешканці [3] 📢 Усі",
		"Кому: усім CDTO і підписникам дайджесту — 0 отримувачів.",
		"✅ Розсилку № 1 збережено, але отримувачів зараз немає.",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Contains(stdout, "<b>") || strings.Contains(stdout, "&lt;") {
		t.Error("demo output has HTML in it")
	}
	if strings.TrimSpace(stderr) != "" {
		t.Errorf("demo wrote to stderr: %s", stderr)
	}

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.CountCommunities(ctx); err != nil || n != 1469 {
		t.Errorf("demo database has %d communities (%v), want 1469", n, err)
	}
	buch, err := db.FindCommunity(ctx, "Буча")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := db.Reports(ctx, hromadabot.ReportFilter{CommunityID: buch.ID, IndicatorID: 5})
	if err != nil {
		t.Fatal(err)
	}
	demo, err := db.UserByPlatform(ctx, hromadabot.PlatformConsole, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Value != 55.5 || rs[0].Source != hromadabot.SourceConsole || rs[0].ReporterID != demo.ID {
		t.Fatalf("reports of indicator 5 = %+v, want one of 55.5 from the console by the demo user", rs)
	}
	score, err := db.Score(ctx, buch.ID, hromadabot.CurrentYear(db.Now()))
	if err != nil {
		t.Fatal(err)
	}
	index := hromadabot.FormatNumber(score.Index, 1, "uk")
	if !regexp.MustCompile(`Індекс громади: ` + regexp.QuoteMeta(index) + ` \(\+[0-9]+,[0-9]\)`).MatchString(stdout) {
		t.Errorf("saved reply lacks the new index %s and its rise", index)
	}
	if js, err := db.Broadcasts(ctx, 10); err != nil || len(js) != 1 || js[0].Kind != hromadabot.BroadcastAnnouncement || js[0].CreatedBy != "console:demo" {
		t.Errorf("demo broadcasts = %+v, %v; want the one announcement", js, err)
	}
	last := stdout[strings.LastIndex(stdout, "> /score Буча"):strings.LastIndex(stdout, "> /broadcast")]
	if !strings.Contains(last, "Цифровий індекс "+strconv.Itoa(hromadabot.CurrentYear(db.Now()))+": "+index+" зі 100") {
		t.Errorf("the second score card does not show the new index %s:\n%s", index, last)
	}

	t.Run("ConsoleGoesOnWithTheDatabase", func(t *testing.T) {
		db.Close()
		stdout, stderr, code := main.RunMain(ctx, []string{"console", "--db", path, "--as", "console:demo"},
			strings.NewReader("/myreports\n"), func(string) string { return "" })
		if code != 0 {
			t.Fatalf("console: exit %d: %s", code, stderr)
		}
		if !strings.Contains(stdout, "5. Чат-боти та онлайн-оплата — 55,5%") {
			t.Errorf("console /myreports lacks the demo report:\n%s", stdout)
		}
	})
}

func TestConsole(t *testing.T) {
	ctx := context.Background()
	t.Run("AsTelegramUserWithAdmins", func(t *testing.T) {
		c := newCLI(t)
		c.env["ADMIN_IDS"] = "telegram:77"
		db := c.open()
		cdto := mustCDTO(t, db, "88", "Ірпінь")
		stdout, stderr, code := main.RunMain(ctx, []string{"console", "--as", "telegram:77"},
			strings.NewReader("/invite Ірпінь\n/stats\n/broadcast\n1\nНарада CDTO у четвер\n1\n"), c.getenv)
		if code != 0 {
			t.Fatalf("console: exit %d: %s", code, stderr)
		}
		if !regexp.MustCompile(`Код запрошення CDTO громади Ірпінська \(Київська обл\.\):\n[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}`).MatchString(stdout) ||
			!strings.Contains(stdout, "За останні 7 днів") ||
			!strings.Contains(stdout, "✅ Розсилку № 1 збережено: 1 отримувач.") {
			t.Errorf("admin console output:\n%s", stdout)
		}
		u, err := db.UserByPlatform(ctx, hromadabot.PlatformTelegram, "77")
		if err != nil || u.Role != hromadabot.RoleResident {
			t.Errorf("console user = %+v, %v", u, err)
		}
		// The job waits in the database for the running bot to send it.
		rs, err := db.PendingRecipients(ctx, 1, 0, 10)
		if err != nil || len(rs) != 1 || rs[0].UserID != cdto.ID || rs[0].Text != "Нарада CDTO у четвер" {
			t.Errorf("pending recipients of the announcement = %+v, %v", rs, err)
		}
	})
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
		code int
	}{
		{"ErrBadUser", []string{"console", "--as", "12345"}, nil, "--as: user \"12345\" must look like platform:id", 1},
		{"ErrUnknownPlatform", []string{"console", "--as", "icq:5"}, nil, "--as: unknown platform", 1},
		{"ErrBadAdmins", []string{"console"}, map[string]string{"ADMIN_IDS": "bob"}, "ADMIN_IDS:", 1},
		{"ErrArgument", []string{"console", "extra"}, nil, "unexpected argument", 2},
		{"ErrDemoOverwrites", []string{"demo", "--db", "EXISTING"}, nil, "--db: ", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			for k, v := range tt.env {
				c.env[k] = v
			}
			args := append([]string(nil), tt.args...)
			for i, a := range args {
				if a == "EXISTING" {
					args[i] = c.db
				}
			}
			_, stderr, code := main.RunMain(ctx, args, strings.NewReader(""), c.getenv)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

// mustCDTO makes the Telegram user the CDTO of the community ref finds.
func mustCDTO(t *testing.T, db *sqldb.DB, userID, ref string) *hromadabot.User {
	t.Helper()
	ctx := context.Background()
	u, err := db.EnsureUser(ctx, hromadabot.PlatformTelegram, userID, hromadabot.LangUK)
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.FindCommunity(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	code, err := db.CreateInvite(ctx, c.ID, "cli")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AcceptInvite(ctx, code, u.ID); err != nil {
		t.Fatal(err)
	}
	return u
}
