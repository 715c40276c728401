package main_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage/sqldb"
)

// withAudience adds two CDTOs and a subscribed resident, in Bucha and Irpin.
func withAudience(t *testing.T, c *cli) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	db := c.open()
	for i, who := range []struct {
		community string
		role      hromadabot.Role
	}{{"Буча", hromadabot.RoleCDTO}, {"Ірпінь", hromadabot.RoleCDTO}, {"Буча", hromadabot.RoleResident}} {
		com, err := db.FindCommunity(ctx, who.community)
		if err != nil {
			t.Fatal(err)
		}
		u, err := db.EnsureUser(ctx, hromadabot.PlatformTelegram, string(rune('1'+i)), "uk")
		if err != nil {
			t.Fatal(err)
		}
		u.Role, u.CommunityID, u.Subscribed = who.role, com.ID, who.role == hromadabot.RoleResident
		if err := db.UpdateUser(ctx, u, "cli"); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func TestBroadcastSend(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		c := newCLI(t)
		db := withAudience(t, c)
		out := c.mustRun("broadcast", "send", "--audience", "cdto", "--text", "Звіт до п'ятниці")
		if !strings.Contains(out, "Broadcast 1 stored: announcement to 2 recipients (cdto, every community).") ||
			!strings.Contains(out, "after quiet hours") {
			t.Fatalf("output %q", out)
		}
		p, err := db.BroadcastProgress(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != hromadabot.BroadcastAnnouncement || p.Pending != 2 || p.OverrideQuiet || p.CreatedBy != "cli" || p.Status != hromadabot.BroadcastPending {
			t.Fatalf("job %+v", p)
		}
	})

	t.Run("OKCommunityNow", func(t *testing.T) {
		c := newCLI(t)
		db := withAudience(t, c)
		out := c.mustRun("broadcast", "send", "--audience", "all", "--community", "Буча", "--text", "Відключення світла", "--now")
		if !strings.Contains(out, "to 2 recipients (all, Бучанська") || !strings.Contains(out, "quiet hours or not") {
			t.Fatalf("output %q", out)
		}
		p, err := db.BroadcastProgress(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if !p.OverrideQuiet || p.Total != 2 {
			t.Fatalf("job %+v", p)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ErrAudienceInvalid", []string{"--audience", "everyone", "--text", "x"}, 1, `--audience: audience must be cdto, residents or all, got "everyone"`},
		{"ErrTextRequired", []string{"--audience", "cdto"}, 2, "--text is required"},
		{"ErrTextBlank", []string{"--audience", "cdto", "--text", "   "}, 2, "--text is required"},
		{"ErrTextTooLong", []string{"--audience", "cdto", "--text", strings.Repeat("я", 4001)}, 1, "--text: announcement text is longer than 4000 characters"},
		{"ErrCommunityUnknown", []string{"--audience", "cdto", "--community", "Атлантида", "--text", "x"}, 1, "--community:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			withAudience(t, c)
			before := c.dump()
			_, stderr, code := c.run(append([]string{"broadcast", "send"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Fatalf("exit %d, stderr %q; want %d and %q on one line", code, stderr, tc.code, tc.want)
			}
			if after := c.dump(); after != before {
				t.Fatalf("a failed broadcast changed the database: %s", firstDifference(before, after))
			}
		})
	}
}

func TestBroadcastStatus(t *testing.T) {
	t.Run("OKNone", func(t *testing.T) {
		c := newCLI(t)
		if out := c.mustRun("broadcast", "status"); out != "No broadcasts yet.\n" {
			t.Fatalf("output %q", out)
		}
	})

	t.Run("OKList", func(t *testing.T) {
		c := newCLI(t)
		withAudience(t, c)
		c.mustRun("broadcast", "send", "--audience", "cdto", "--text", "Перше")
		c.mustRun("broadcast", "send", "--audience", "residents", "--text", "Друге")
		out := c.mustRun("broadcast", "status")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
			!strings.HasPrefix(lines[1], "2 ") || !strings.Contains(lines[1], "0/1") ||
			!strings.HasPrefix(lines[2], "1 ") || !strings.Contains(lines[2], "0/2") || !strings.Contains(lines[2], "pending") {
			t.Fatalf("output:\n%s", out)
		}
	})

	t.Run("OKJobWithRate", func(t *testing.T) {
		c := newCLI(t)
		withAudience(t, c)
		c.mustRun("broadcast", "send", "--audience", "cdto", "--text", "Перше")
		c.env["BROADCAST_RATE"] = "1"
		out := c.mustRun("broadcast", "status", "--job", "1")
		for _, want := range []string{"Broadcast 1 (announcement, announce:", "): pending", "by cli",
			"Sent 0 of 2, failed 0, blocked 0, pending 2; about 2s left at 1 a second"} {
			if !strings.Contains(out, want) {
				t.Fatalf("output lacks %q:\n%s", want, out)
			}
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		env  string
		code int
		want string
	}{
		{"ErrJobUnknown", []string{"--job", "99"}, "", 1, "--job: broadcast 99 not found"},
		{"ErrJobNegative", []string{"--job", "-1"}, "", 1, "--job: -1 is not a broadcast id"},
		{"ErrRateInvalid", nil, "fast", 1, `BROADCAST_RATE: "fast" must be a whole number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			c.env["BROADCAST_RATE"] = tc.env
			_, stderr, code := c.run(append([]string{"broadcast", "status"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}
