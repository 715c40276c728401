package main_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestCommunity(t *testing.T) {
	t.Run("LoadOK", func(t *testing.T) {
		c := newEmptyCLI(t)
		out := c.mustRun("community", "load")
		if !strings.Contains(out, "1469 added") {
			t.Errorf("first load: %q", out)
		}
		if n, err := c.open().CountCommunities(context.Background()); err != nil || n != 1469 {
			t.Errorf("the database has %d communities (%v), want 1469", n, err)
		}
		before := c.dump()
		out = c.mustRun("community", "load")
		if !strings.Contains(out, "0 added, 1469 already there") {
			t.Errorf("second load: %q", out)
		}
		if after := c.dump(); after != before {
			t.Errorf("loading twice changed the database: %s", firstDifference(before, after))
		}
	})

	t.Run("AddOK", func(t *testing.T) {
		c := newCLI(t)
		out := c.mustRun("community", "add", "--name", "Тестова", "--oblast", "Київська", "--type", "сільська", "--center", "Тестове")
		if !strings.Contains(out, "Тестова (Київська обл.)") {
			t.Errorf("output %q", out)
		}
		com, err := c.open().FindCommunity(context.Background(), "Тестова")
		if err != nil {
			t.Fatal(err)
		}
		if com.Oblast != "Київська" || com.Type != "сільська" || com.Center != "Тестове" {
			t.Errorf("stored %+v", com)
		}
	})

	t.Run("ListOK", func(t *testing.T) {
		c := newCLI(t)
		var list []hromadabot.Community
		if err := json.Unmarshal([]byte(c.mustRun("community", "list", "--oblast", "kyivska", "--json")), &list); err != nil {
			t.Fatal(err)
		}
		// Kyiv oblast has 69 territorial communities.
		if len(list) != 69 {
			t.Errorf("Kyiv oblast: %d communities, want 69", len(list))
		}
		for _, com := range list {
			if com.Oblast != "Київська" {
				t.Errorf("%s is in %s oblast", com.Name, com.Oblast)
			}
		}
		out := c.mustRun("community", "list", "--oblast", "Київська")
		if !strings.Contains(out, "Бучанська") || strings.Contains(out, "Вінницька") {
			t.Errorf("text list of Kyiv oblast:\n%s", out)
		}
	})

	t.Run("DBFlagOK", func(t *testing.T) {
		c := newEmptyCLI(t)
		other := c.path("other.db")
		c.mustRun("community", "add", "--name", "Тестова", "--db", other)
		if _, err := os.Stat(c.db); !os.IsNotExist(err) {
			t.Errorf("DATABASE_PATH was used although --db was given (%v)", err)
		}
		c.db = other
		if c.communityID("Тестова") == 0 {
			t.Error("the community is not in the --db database")
		}
	})

	t.Run("ListEmptyOK", func(t *testing.T) {
		c := newEmptyCLI(t)
		stdout, stderr, code := c.run("community", "list")
		if code != 0 || stdout != "" || !strings.Contains(stderr, "community load") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
}

func TestInvite(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		c := newCLI(t)
		out := c.mustRun("invite", "--community", "Буча")
		m := regexp.MustCompile(`/join ([A-Z0-9-]+)`).FindStringSubmatch(out)
		if m == nil || !strings.Contains(out, "Бучанська (Київська обл.)") || !strings.Contains(out, "Valid once, until") {
			t.Fatalf("output:\n%s", out)
		}
		db := c.open()
		ctx := context.Background()
		u, err := db.EnsureUser(ctx, hromadabot.PlatformTelegram, "1001", "uk")
		if err != nil {
			t.Fatal(err)
		}
		com, err := db.AcceptInvite(ctx, m[1], u.ID)
		if err != nil {
			t.Fatalf("the printed code does not work: %v", err)
		}
		if com.ID != c.communityID("Буча") {
			t.Errorf("the code is for %s", com.Label())
		}
	})
}

func TestReport(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		c := newCLI(t)
		out := c.mustRun("report", "--community", "Бучанська", "--indicator", "5", "--value", "55,5 %", "--comment", "Запустили чат-бот")
		if !strings.Contains(out, "indicator 5") || !strings.Contains(out, "55.5%") || !strings.Contains(out, "no earlier report") {
			t.Errorf("output:\n%s", out)
		}
		// 0.555 of one of 23 indicators: the index rises by 100 × 0.555 / 23 = 2.41.
		if !strings.Contains(out, "Digital index 2.4 (+2.4)") {
			t.Errorf("output does not give the new index:\n%s", out)
		}
		out = c.mustRun("report", "--community", "Бучанська", "--indicator", "11", "--value", "так", "--evidence", "https://example.org/geo")
		if !strings.Contains(out, ": yes (no earlier report)") {
			t.Errorf("output:\n%s", out)
		}
		out = c.mustRun("report", "--community", "Бучанська", "--indicator", "5", "--value", "60")
		if !strings.Contains(out, "(was 55.5%)") {
			t.Errorf("output:\n%s", out)
		}
		got := c.latest("Бучанська")
		if len(got) != 2 || got[5] != 60 || got[11] != 1 {
			t.Errorf("current values %v, want 5: 60 and 11: 1", got)
		}
		rs, err := c.open().Reports(context.Background(), hromadabot.ReportFilter{CommunityID: c.communityID("Бучанська"), IndicatorID: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 2 || rs[1].Comment != "Запустили чат-бот" || rs[1].Source != hromadabot.SourceCLI {
			t.Errorf("history of indicator 5: %+v", rs)
		}
	})

	bad := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ErrCommunityNotFound", []string{"--community", "Неіснуюча", "--indicator", "1", "--value", "5"}, 1, `hromadabot: --community: no community matches "Неіснуюча"`},
		{"ErrCommunityAmbiguous", []string{"--community", "Миколаївська", "--indicator", "1", "--value", "5"}, 1, `--community: "Миколаївська" matches 8 communities: Миколаївська (`},
		{"ErrIndicatorNotFound", []string{"--community", "Буча", "--indicator", "99", "--value", "5"}, 1, "hromadabot: --indicator: indicator 99 is not in the plan (1..23)"},
		{"ErrIndicatorNotNumber", []string{"--community", "Буча", "--indicator", "п'ять", "--value", "5"}, 1, `--indicator: "п'ять" is not an indicator number`},
		{"ErrValueNegative", []string{"--community", "Буча", "--indicator", "1", "--value", "-1"}, 1, "hromadabot: --value: value -1 is out of range: a percentage must be from 0 to 100"},
		{"ErrValueOutOfRange", []string{"--community", "Буча", "--indicator", "1", "--value", "101"}, 1, "hromadabot: --value: value 101 is out of range: a percentage must be from 0 to 100"},
		{"ErrValueNotNumber", []string{"--community", "Буча", "--indicator", "1", "--value", "abc"}, 1, `hromadabot: --value: value "abc" is not a number from 0 to 100`},
		{"ErrYesNoForPercent", []string{"--community", "Буча", "--indicator", "1", "--value", "так"}, 1, `--value: value "так" is yes/no, but this indicator takes a percentage`},
		{"ErrNumberForYesNo", []string{"--community", "Буча", "--indicator", "11", "--value", "55"}, 1, `--value: value "55" is a number, but this indicator takes yes or no`},
		{"ErrCommentTooLong", []string{"--community", "Буча", "--indicator", "1", "--value", "5", "--comment", strings.Repeat("я", 1001)}, 1, "--comment: comment is longer than 1000 characters"},
		{"ErrValueMissing", []string{"--community", "Буча", "--indicator", "1"}, 2, "hromadabot: --value is required"},
		{"ErrCommunityMissing", []string{"--indicator", "1", "--value", "5"}, 2, "hromadabot: --community is required"},
		{"ErrUnexpectedArgument", []string{"--community", "Буча", "--indicator", "1", "--value", "5", "extra"}, 2, `unexpected argument "extra"`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := reported(t)
			c.unchanged(func() {
				stdout, stderr, code := c.run(append([]string{"report"}, tt.args...)...)
				if code != tt.code || !strings.Contains(stderr, tt.want) || stdout != "" {
					t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout, stderr, tt.code, tt.want)
				}
			})
		})
	}
}

func TestCommunityAddErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ErrNameRequired", []string{"--oblast", "Київська"}, 2, "hromadabot: --name is required"},
		{"ErrNameTooLong", []string{"--name", strings.Repeat("Д", 101)}, 1, "hromadabot: --name: community name is longer than 100 characters"},
		{"ErrTypeUnknown", []string{"--name", "Тестова", "--type", "обласна"}, 1, `hromadabot: --type: "обласна" is not міська, селищна or сільська`},
		{"ErrDuplicate", []string{"--name", "Бучанська", "--oblast", "Київська"}, 1, "hromadabot: add community: community Бучанська (Київська обл.) already exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCLI(t)
			c.unchanged(func() {
				_, stderr, code := c.run(append([]string{"community", "add"}, tt.args...)...)
				if code != tt.code || !strings.Contains(stderr, tt.want) {
					t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
				}
			})
		})
	}
}

// scoreOutput is what score --json prints.
type scoreOutput struct {
	Community       string  `json:"community"`
	Year            int     `json:"year"`
	Index           float64 `json:"index"`
	PlanFulfillment float64 `json:"plan_fulfillment"`
	Rank            int     `json:"rank"`
	Of              int     `json:"of"`
	Indicators      []struct {
		ID         int      `json:"id"`
		Title      string   `json:"title"`
		Value      *float64 `json:"value"`
		Completion float64  `json:"completion"`
		Target     float64  `json:"target"`
		Status     string   `json:"status"`
	} `json:"indicators"`
}

func TestScore(t *testing.T) {
	c := newCLI(t)
	c.mustRun("report", "--community", "Буча", "--indicator", "1", "--value", "50")
	c.mustRun("report", "--community", "Буча", "--indicator", "9", "--value", "100")
	c.mustRun("report", "--community", "Буча", "--indicator", "11", "--value", "ні")
	c.mustRun("report", "--community", "Ірпінь", "--indicator", "2", "--value", "10")

	t.Run("JSONOK", func(t *testing.T) {
		var s scoreOutput
		if err := json.Unmarshal([]byte(c.mustRun("score", "--community", "Буча", "--year", "2026", "--json")), &s); err != nil {
			t.Fatal(err)
		}
		// c = 0.5 + 1 + 0 over 23 indicators: 100 × 1.5 / 23.
		if s.Community != "Бучанська" || s.Year != 2026 || !near(s.Index, 100*1.5/23) {
			t.Errorf("community %q, year %d, index %v", s.Community, s.Year, s.Index)
		}
		// Σ min(c, T(2026)) = 0.5 + 1 + 0; Σ T(2026) over the seed plan = 19.5655.
		if !near(s.PlanFulfillment, 100*1.5/19.5655) {
			t.Errorf("plan fulfilment %v, want %v", s.PlanFulfillment, 100*1.5/19.5655)
		}
		if s.Rank != 1 || s.Of != 1469 || len(s.Indicators) != 23 {
			t.Errorf("rank %d of %d, %d indicators", s.Rank, s.Of, len(s.Indicators))
		}
		first := s.Indicators[0]
		if first.ID != 1 || first.Title == "" || first.Value == nil || *first.Value != 50 ||
			!near(first.Completion, 0.5) || !near(first.Target, 0.666) || first.Status != "behind" {
			t.Errorf("indicator 1: %+v", first)
		}
		if s.Indicators[8].Status != "done" || s.Indicators[10].Status != "not_started" || s.Indicators[17].Value != nil {
			t.Errorf("indicators 9, 11, 18: %+v, %+v, %+v", s.Indicators[8], s.Indicators[10], s.Indicators[17])
		}
	})

	t.Run("TextOK", func(t *testing.T) {
		out := c.mustRun("score", "--community", "Ірпінь", "--year", "2026")
		for _, want := range []string{"Ірпінська (Київська обл.), 2026", "Digital index 0.4", "rank 2 of 1469", "Done 0 · on track 0 · behind 1 · not started 22", "Відкрита громада онлайн"} {
			if !strings.Contains(out, want) {
				t.Errorf("score text lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("EarlierYearOK", func(t *testing.T) {
		var s scoreOutput
		if err := json.Unmarshal([]byte(c.mustRun("score", "--community", "Буча", "--year", "2024", "--json")), &s); err != nil {
			t.Fatal(err)
		}
		// Nothing is due before 2025: plan fulfilment is 100.
		if s.Year != 2024 || s.PlanFulfillment != 100 {
			t.Errorf("year %d, plan fulfilment %v", s.Year, s.PlanFulfillment)
		}
	})

	bad := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ErrCommunityMissing", []string{"--year", "2026"}, 2, "--community is required"},
		{"ErrCommunityNotFound", []string{"--community", "Атлантида"}, 1, "--community: no community matches"},
		{"ErrYearOutOfRange", []string{"--community", "Буча", "--year", "1990"}, 1, "--year: 1990 is not a year from 2000 to 2100"},
		{"ErrYearNotNumber", []string{"--community", "Буча", "--year", "торік"}, 2, `invalid value "торік" for flag -year`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			c.unchanged(func() {
				_, stderr, code := c.run(append([]string{"score"}, tt.args...)...)
				if code != tt.code || !strings.Contains(stderr, tt.want) {
					t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
				}
			})
		})
	}
}

func TestRanking(t *testing.T) {
	c := newCLI(t)
	c.mustRun("report", "--community", "Ірпінь", "--indicator", "1", "--value", "100")
	c.mustRun("report", "--community", "Буча", "--indicator", "1", "--value", "50")
	c.mustRun("report", "--community", "Гостомель", "--indicator", "1", "--value", "50")

	t.Run("JSONOK", func(t *testing.T) {
		var r struct {
			Year    int                    `json:"year"`
			Of      int                    `json:"of"`
			Ranking []hromadabot.RankEntry `json:"ranking"`
		}
		if err := json.Unmarshal([]byte(c.mustRun("ranking", "--year", "2026", "--limit", "4", "--json")), &r); err != nil {
			t.Fatal(err)
		}
		if r.Year != 2026 || r.Of != 1469 || len(r.Ranking) != 4 {
			t.Fatalf("year %d, of %d, %d entries", r.Year, r.Of, len(r.Ranking))
		}
		// Equal indexes share a rank and sort by name; the next rank skips.
		want := []struct {
			name string
			rank int
		}{{"Ірпінська", 1}, {"Бучанська", 2}, {"Гостомельська", 2}, {"", 4}}
		for i, w := range want {
			if (w.name != "" && r.Ranking[i].Name != w.name) || r.Ranking[i].Rank != w.rank {
				t.Errorf("place %d: %s rank %d, want %s rank %d", i, r.Ranking[i].Name, r.Ranking[i].Rank, w.name, w.rank)
			}
		}
	})

	t.Run("TextOK", func(t *testing.T) {
		out := c.mustRun("ranking", "--limit", "2")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 5 || !strings.Contains(lines[3], "Ірпінська (Київська обл.)") || !strings.Contains(lines[4], "Бучанська") {
			t.Errorf("ranking text:\n%s", out)
		}
	})

	t.Run("ErrLimitNegative", func(t *testing.T) {
		_, stderr, code := c.run("ranking", "--limit", "-1")
		if code != 1 || !strings.Contains(stderr, "--limit: -1 is negative") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}
