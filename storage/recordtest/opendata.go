package recordtest

import (
	"context"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
)

func testLatestReports(t *testing.T, e Engine) {
	ctx := context.Background()
	db, clock := MustOpenDB(t, e)
	bucha := MustCreateCommunity(t, db, "Бучанська", "Київська")
	irpin := MustCreateCommunity(t, db, "Ірпінська", "Київська")
	u := MustEnsureUser(t, db, "100")
	MustMakeCDTO(t, db, u, bucha.ID)
	v := MustEnsureUser(t, db, "200")
	MustMakeCDTO(t, db, v, irpin.ID)

	MustCreateReport(t, db, bucha.ID, 5, 20, u.ID)
	clock.Add(1)
	MustCreateReport(t, db, bucha.ID, 5, 40, u.ID)
	clock.Add(1)
	MustCreateReport(t, db, bucha.ID, 1, 1, u.ID)
	clock.Add(1)
	MustCreateReport(t, db, irpin.ID, 5, 10, v.ID)
	clock.Add(1)
	MustCreateReport(t, db, irpin.ID, 5, 30, v.ID)
	// Irpin's latest is taken back: its current report is the earlier one.
	if _, err := db.RetractLastReport(ctx, v.ID); err != nil {
		t.Fatal(err)
	}

	got, err := db.LatestReports(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		community int64
		indicator int
		value     float64
	}{{bucha.ID, 1, 1}, {bucha.ID, 5, 40}, {irpin.ID, 5, 10}}
	if len(got) != len(want) {
		t.Fatalf("got %d reports, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].CommunityID != w.community || got[i].IndicatorID != w.indicator || got[i].Value != w.value {
			t.Errorf("report %d = community %d, indicator %d, value %v; want %+v", i, got[i].CommunityID, got[i].IndicatorID, got[i].Value, w)
		}
		// Each is the same report Reports gives as the latest.
		latest, err := db.Reports(ctx, hromadabot.ReportFilter{CommunityID: w.community, IndicatorID: w.indicator, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(latest) != 1 || latest[0].ID != got[i].ID {
			t.Errorf("report %d has id %d, Reports' latest is %+v", i, got[i].ID, latest)
		}
	}
}

func testDataVersion(t *testing.T, e Engine) {
	ctx := context.Background()
	db, _ := MustOpenDB(t, e)
	version := func() int64 {
		t.Helper()
		n, err := db.DataVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	seen := map[int64]string{version(): "empty"}
	step := func(name string, change func()) {
		t.Helper()
		change()
		v := version()
		if earlier, ok := seen[v]; ok {
			t.Fatalf("after %s the version is %d, as after %s", name, v, earlier)
		}
		seen[v] = name
	}
	var c *hromadabot.Community
	var u *hromadabot.User
	step("a community", func() { c = MustCreateCommunity(t, db, "Бучанська", "Київська") })
	step("a CDTO", func() { u = MustEnsureUser(t, db, "100"); MustMakeCDTO(t, db, u, c.ID) })
	step("a report", func() { MustCreateReport(t, db, c.ID, 5, 40, u.ID) })
	step("a retraction", func() {
		if _, err := db.RetractLastReport(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	})
	step("own targets", func() {
		if err := db.SetCommunityTargets(ctx, c.ID, map[int]hromadabot.Targets{5: {2025: 10, 2026: 50, 2027: 40}}, "cli"); err != nil {
			t.Fatal(err)
		}
	})
	if v := version(); seen[v] != "own targets" {
		t.Fatalf("the version moved with nothing changed: %d", v)
	}
}

func testValueHistory(t *testing.T, e Engine) {
	ctx := context.Background()
	db, clock := MustOpenDB(t, e)
	c := MustCreateCommunity(t, db, "Бучанська", "Київська")
	other := MustCreateCommunity(t, db, "Ірпінська", "Київська")
	u := MustEnsureUser(t, db, "100")
	MustMakeCDTO(t, db, u, c.ID)
	v := MustEnsureUser(t, db, "200")
	MustMakeCDTO(t, db, v, other.ID)
	for i, value := range []float64{10, 20, 30} {
		r := &hromadabot.Report{CommunityID: c.ID, IndicatorID: 1 + i%2, Value: value, Comment: "крок", Evidence: "https://e.example/" + string(rune('a'+i)),
			ReporterID: u.ID, Source: hromadabot.SourceTelegram}
		if _, err := db.CreateReport(ctx, r, u.Ref()); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Hour)
	}
	MustCreateReport(t, db, other.ID, 1, 99, v.ID)
	MustCreateReport(t, db, c.ID, 3, 1, u.ID)
	// The latest is taken back: the history leaves it out.
	if _, err := db.RetractLastReport(ctx, u.ID); err != nil {
		t.Fatal(err)
	}

	got, err := db.ValueHistory(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want, err := db.Reports(ctx, hromadabot.ReportFilter{CommunityID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(want) != 3 {
		t.Fatalf("history has %d reports, Reports %d; want 3", len(got), len(want))
	}
	for i, g := range got {
		w := want[len(want)-1-i] // Reports is newest first
		if g.ReportID != w.ID || g.IndicatorID != w.IndicatorID || g.Value != w.Value || !g.At.Equal(w.CreatedAt) {
			t.Errorf("history[%d] = %+v, want %+v", i, g, w)
		}
	}

	current, err := db.CurrentReports(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Indicator 1's latest is the third report, 2's the second.
	if len(current) != 2 || current[0].ID != want[0].ID || current[1].ID != want[1].ID || current[0].Evidence != want[0].Evidence {
		t.Fatalf("current reports %+v, want the latest of indicators 1 and 2: %+v", current, want[:2])
	}
}
