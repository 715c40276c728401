package broadcast_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/broadcast"
	"github.com/hromadabot/hromadabot/locales"
	"github.com/hromadabot/hromadabot/storage/sqldb"
)

// friday is the default digest slot, Friday 18:00 in Kyiv.
var friday = Kyiv(2026, time.November, 27, 18, 0, 0)

// MustReportAll reports every indicator of the plan complete.
func MustReportAll(tb testing.TB, db *sqldb.DB, communityID int64, ids ...int) {
	tb.Helper()
	plan := db.DefaultPlan()
	for _, ind := range plan.Indicators {
		if len(ids) > 0 && !contains(ids, ind.ID) {
			continue
		}
		v := 100.0
		if ind.Unit == hromadabot.UnitYesNo {
			v = 1
		}
		MustReport(tb, db, communityID, ind.ID, v)
	}
}

func contains(ids []int, id int) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// Message is a recipient's stored message.
type Message struct {
	Text    string
	Buttons [][]bot.Button
}

// MustMessages returns the job's messages by user id.
func MustMessages(tb testing.TB, db *sqldb.DB, job *hromadabot.Broadcast) map[int64]Message {
	tb.Helper()
	rs, err := db.PendingRecipients(context.Background(), job.ID, 0, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	out := make(map[int64]Message, len(rs))
	for _, r := range rs {
		m := Message{Text: r.Text}
		if r.Buttons == "" {
			out[r.UserID] = m
			continue
		}
		if err := json.Unmarshal([]byte(r.Buttons), &m.Buttons); err != nil {
			tb.Fatalf("buttons %q: %v", r.Buttons, err)
		}
		out[r.UserID] = m
	}
	return out
}

// AssertContains fails unless text contains every part.
func AssertContains(tb testing.TB, text string, parts ...string) {
	tb.Helper()
	for _, p := range parts {
		if !strings.Contains(text, p) {
			tb.Fatalf("message lacks %q:\n%s", p, text)
		}
	}
}

// AssertButton fails unless the message has exactly one button, with the
// label and payload.
func AssertButton(tb testing.TB, m Message, label, payload string) {
	tb.Helper()
	if len(m.Buttons) != 1 || len(m.Buttons[0]) != 1 || m.Buttons[0][0].Text != label || m.Buttons[0][0].Payload != payload {
		tb.Fatalf("buttons %+v, want one %q → %q", m.Buttons, label, payload)
	}
}

func TestReminders(t *testing.T) {
	ctx := context.Background()
	loc := MustCatalog(t)
	clock := NewClock(monday.AddDate(0, 0, -10).Add(-time.Hour))
	db, _ := MustOpenDB(t, clock)

	onTrack := MustCommunity(t, db, "Бучанська")
	lapsed := MustCommunity(t, db, "Ірпінська")
	behind := MustCommunity(t, db, "Гостомельська")
	never := MustCommunity(t, db, "Макарівська")

	MustReportAll(t, db, lapsed.ID)
	clock.Set(monday.AddDate(0, 0, -2))
	MustReportAll(t, db, onTrack.ID)
	clock.Set(monday.Add(-20 * time.Hour))
	MustReport(t, db, behind.ID, 1, 10)
	clock.Set(monday)

	quiet := MustUser(t, db, 1, "uk", hromadabot.RoleCDTO, onTrack.ID, false)
	lapsedCDTO := MustUser(t, db, 2, "en", hromadabot.RoleCDTO, lapsed.ID, false)
	behindCDTO := MustUser(t, db, 3, "uk", hromadabot.RoleCDTO, behind.ID, true)
	neverCDTO := MustUser(t, db, 4, "uk", hromadabot.RoleCDTO, never.ID, false)
	MustBlock(t, db, MustUser(t, db, 5, "uk", hromadabot.RoleCDTO, never.ID, false))
	MustPlatformUser(t, db, hromadabot.PlatformConsole, "demo", "uk", hromadabot.RoleCDTO, never.ID, false)
	MustUser(t, db, 6, "uk", hromadabot.RoleResident, behind.ID, true)

	s := MustService(t, db, clock, &FakeSender{Clock: clock}, nil)
	job, created, err := s.Fire(ctx, hromadabot.BroadcastReminder, monday)
	if err != nil || !created {
		t.Fatalf("fire: %v, %v", created, err)
	}
	msgs := MustMessages(t, db, job)

	t.Run("OKOnTrackGetNothing", func(t *testing.T) {
		if _, ok := msgs[quiet.ID]; ok {
			t.Fatalf("a CDTO who reported this week and is on track got:\n%s", msgs[quiet.ID].Text)
		}
		if len(msgs) != 3 {
			t.Fatalf("%d reminders, want 3 (lapsed, behind, never)", len(msgs))
		}
	})

	t.Run("OKLapsedInTheirLanguage", func(t *testing.T) {
		m := msgs[lapsedCDTO.ID]
		AssertContains(t, m.Text, "Report reminder", "Ірпінська (Київська обл.)", "last report: 10 days ago")
		if strings.Contains(m.Text, "Behind") {
			t.Fatalf("a community on track lists indicators behind:\n%s", m.Text)
		}
		AssertButton(t, m, "✍️ Report", broadcast.PayloadReport)
	})

	t.Run("OKBehindListsIndicators", func(t *testing.T) {
		m := msgs[behindCDTO.ID]
		score, err := db.Score(ctx, behind.ID, 2026)
		if err != nil {
			t.Fatal(err)
		}
		n := score.Count(hromadabot.StatusBehind) + score.Count(hromadabot.StatusNotStarted)
		plan := db.DefaultPlan()
		first, _ := plan.Indicator(1)
		AssertContains(t, m.Text, "Нагадування про звіт", "Гостомельська", "Останній звіт громади: сьогодні.",
			"Відстають від цілі 2026 року — "+loc.T("uk", "count.indicators", locales.Args{"Count": n}),
			"🟠 1. "+first.Short.UK+": 10%, ціль — 66,6%",
			"⚪ 11. Метадані в геопорталі: ще не звітували, ціль — так")
		if lines := strings.Count(m.Text, "\n🟠 ") + strings.Count(m.Text, "\n⚪ "); lines != n {
			t.Fatalf("%d indicator lines, want %d:\n%s", lines, n, m.Text)
		}
		AssertButton(t, m, "✍️ Звітувати", broadcast.PayloadReport)
	})

	t.Run("OKNeverReported", func(t *testing.T) {
		AssertContains(t, msgs[neverCDTO.ID].Text, "Громада ще не звітувала.")
	})
}

func TestDigests(t *testing.T) {
	ctx := context.Background()
	clock := NewClock(friday.AddDate(0, 0, -30))
	db, _ := MustOpenDB(t, clock)

	rising := MustCommunity(t, db, "Бучанська")
	falling := MustCommunity(t, db, "Ірпінська")
	still := MustCommunity(t, db, "Гостомельська")

	// A week ago Irpin led with five indicators done and Bucha had one
	// half done; this week Bucha completed seven and leads.
	MustReportAll(t, db, falling.ID, 2, 3, 4, 5, 6)
	MustReport(t, db, rising.ID, 1, 50)
	clock.Set(friday.AddDate(0, 0, -3))
	MustReportAll(t, db, rising.ID, 1, 2, 3, 4, 5, 6, 7)
	MustReport(t, db, falling.ID, 8, 20)
	clock.Set(friday)

	uk := MustUser(t, db, 1, "uk", hromadabot.RoleResident, rising.ID, true)
	ukToo := MustUser(t, db, 2, "uk", hromadabot.RoleResident, rising.ID, true)
	en := MustUser(t, db, 3, "en", hromadabot.RoleResident, rising.ID, true)
	down := MustUser(t, db, 4, "uk", hromadabot.RoleResident, falling.ID, true)
	same := MustUser(t, db, 5, "uk", hromadabot.RoleCDTO, still.ID, true)
	MustUser(t, db, 6, "uk", hromadabot.RoleResident, rising.ID, false)
	MustBlock(t, db, MustUser(t, db, 7, "uk", hromadabot.RoleResident, rising.ID, true))
	MustUser(t, db, 8, "uk", hromadabot.RoleResident, 0, true)

	s := MustService(t, db, clock, &FakeSender{Clock: clock}, nil)
	job, created, err := s.Fire(ctx, hromadabot.BroadcastDigest, friday)
	if err != nil || !created || job.Key != "digest:2026-W48" {
		t.Fatalf("fire: %+v, %v, %v", job, created, err)
	}
	msgs := MustMessages(t, db, job)

	now, err := db.Score(ctx, rising.ID, 2026)
	if err != nil {
		t.Fatal(err)
	}
	before := hromadabot.ComputeScore(func() *hromadabot.Plan { p := db.DefaultPlan(); return &p }(), map[int]float64{1: 50}, 2026)
	index := hromadabot.FormatNumber(now.Index, 1, "uk")
	change := hromadabot.FormatNumber(now.Index-before.Index, 1, "uk")

	t.Run("OKAudience", func(t *testing.T) {
		if len(msgs) != 5 {
			t.Fatalf("%d digests, want 5 (subscribed, not blocked, with a community)", len(msgs))
		}
		for _, u := range []*hromadabot.User{uk, ukToo, en, down, same} {
			if _, ok := msgs[u.ID]; !ok {
				t.Fatalf("user %d got no digest", u.ID)
			}
		}
	})

	t.Run("OKRisingCommunity", func(t *testing.T) {
		m := msgs[uk.ID]
		AssertContains(t, m.Text, "Тиждень громади Бучанська (Київська обл.)",
			"Цифровий індекс: <b>"+index+"</b> (+"+change+" за тиждень)",
			"Місце в рейтингу: 1 з 3 (↑ на 1 місце)",
			"✅ Цього тижня виконано 7 індикаторів:", "1. Аналіз даних громади", "7. Е-голосування депутатів")
		AssertButton(t, m, "🔕 Відписатися", broadcast.PayloadUnsubscribe)
		if msgs[ukToo.ID].Text != m.Text {
			t.Fatal("two Ukrainian subscribers of one community got different digests")
		}
	})

	t.Run("OKEnglish", func(t *testing.T) {
		m := msgs[en.ID]
		AssertContains(t, m.Text, "The week of Бучанська", "Digital index: <b>"+hromadabot.FormatNumber(now.Index, 1, "en")+"</b>",
			"Rank: 1 of 3 (↑ 1 place)", "Completed this week — 7 indicators:", "1. Community data analysis")
		AssertButton(t, m, "🔕 Unsubscribe", broadcast.PayloadUnsubscribe)
	})

	t.Run("OKFallingCommunity", func(t *testing.T) {
		AssertContains(t, msgs[down.ID].Text, "Місце в рейтингу: 2 з 3 (↓ на 1 місце)", "Цього тижня нових виконаних індикаторів немає.")
	})

	t.Run("OKNothingChanged", func(t *testing.T) {
		AssertContains(t, msgs[same.ID].Text, "Цифровий індекс: <b>0</b> (±0 за тиждень)", "Місце в рейтингу: 3 з 3 (без змін)")
	})
}

func TestAnnounce(t *testing.T) {
	ctx := context.Background()
	clock := NewClock(tuesday)
	db, _ := MustOpenDB(t, clock)
	bucha := MustCommunity(t, db, "Бучанська")
	irpin := MustCommunity(t, db, "Ірпінська")
	cdtoBucha := MustUser(t, db, 1, "uk", hromadabot.RoleCDTO, bucha.ID, false)
	cdtoIrpin := MustUser(t, db, 2, "en", hromadabot.RoleCDTO, irpin.ID, false)
	resBucha := MustUser(t, db, 3, "uk", hromadabot.RoleResident, bucha.ID, true)
	resIrpin := MustUser(t, db, 4, "uk", hromadabot.RoleResident, irpin.ID, true)
	MustUser(t, db, 5, "uk", hromadabot.RoleResident, bucha.ID, false)
	MustPlatformUser(t, db, hromadabot.PlatformConsole, "demo", "uk", hromadabot.RoleResident, bucha.ID, true)

	for _, tc := range []struct {
		name      string
		a         broadcast.Announcement
		users     []*hromadabot.User
		overrides bool
	}{
		{"OKCDTOs", broadcast.Announcement{Audience: broadcast.AudienceCDTO, Text: "Звіт до п'ятниці", Actor: "cli"}, []*hromadabot.User{cdtoBucha, cdtoIrpin}, false},
		{"OKResidentsOfOneCommunity", broadcast.Announcement{Audience: broadcast.AudienceResidents, CommunityID: bucha.ID, Text: "Новини", Actor: "cli"}, []*hromadabot.User{resBucha}, false},
		{"OKAllNow", broadcast.Announcement{Audience: broadcast.AudienceAll, Text: "  Терміново  ", Now: true, Actor: "telegram:1"}, []*hromadabot.User{cdtoBucha, cdtoIrpin, resBucha, resIrpin}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job, err := broadcast.Announce(ctx, db, tc.a)
			if err != nil {
				t.Fatal(err)
			}
			if job.Kind != hromadabot.BroadcastAnnouncement || !strings.HasPrefix(job.Key, "announce:") || job.OverrideQuiet != tc.overrides || job.CreatedBy != tc.a.Actor {
				t.Fatalf("job %+v", job)
			}
			msgs := MustMessages(t, db, job)
			if len(msgs) != len(tc.users) {
				t.Fatalf("%d recipients, want %d", len(msgs), len(tc.users))
			}
			for _, u := range tc.users {
				if m, ok := msgs[u.ID]; !ok || m.Text != strings.TrimSpace(strings.ReplaceAll(tc.a.Text, "'", "&#39;")) || len(m.Buttons) != 0 {
					t.Fatalf("user %d: %+v", u.ID, m)
				}
			}
		})
	}

	for _, tc := range []struct {
		name   string
		a      broadcast.Announcement
		reason string
	}{
		{"ErrAudienceInvalid", broadcast.Announcement{Audience: "everyone", Text: "x", Actor: "cli"}, "audience_invalid"},
		{"ErrTextRequired", broadcast.Announcement{Audience: broadcast.AudienceAll, Text: " \n ", Actor: "cli"}, "announcement_text_required"},
		{"ErrTextTooLong", broadcast.Announcement{Audience: broadcast.AudienceAll, Text: strings.Repeat("я", broadcast.MaxAnnouncement+1), Actor: "cli"}, "announcement_text_too_long"},
		{"ErrActorRequired", broadcast.Announcement{Audience: broadcast.AudienceAll, Text: "x"}, "actor_required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(jobs(t, db))
			job, err := broadcast.Announce(ctx, db, tc.a)
			if hromadabot.ErrorCode(err) != hromadabot.EINVALID || hromadabot.ErrorReason(err) != tc.reason || job != nil {
				t.Fatalf("job %+v, err %v; want %s", job, err, tc.reason)
			}
			if after := len(jobs(t, db)); after != before {
				t.Fatalf("%d jobs stored, want none", after-before)
			}
		})
	}
}
