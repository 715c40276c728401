package sqlite_test

import (
	"context"
	"testing"

	"github.com/hromadabot/hromadabot"
)

func TestLatestReports(t *testing.T) {
	ctx := context.Background()
	db, clock := MustOpenDB(t)
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

func TestDataVersion(t *testing.T) {
	ctx := context.Background()
	db, _ := MustOpenDB(t)
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
