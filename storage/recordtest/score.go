package recordtest

import (
	"context"
	"math"
	"testing"

	"github.com/hromadabot/hromadabot"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// Σ T(2025) of the default plan: the 2025 shares of the 16 percent
// indicators add up to 767 %, and the 7 yes/no indicators are due in 2025.
const defaultDue2025 = 7.67 + 7

func testScore(t *testing.T, e Engine) {
	ctx := context.Background()

	t.Run("OKNoReports", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		s, err := db.Score(ctx, c.ID, 2025)
		if err != nil {
			t.Fatal(err)
		}
		if s.Year != 2025 || s.Index != 0 || s.PlanFulfillment != 0 || len(s.Indicators) != 23 || s.Count(hromadabot.StatusNotStarted) != 23 {
			t.Fatalf("score = %+v", s)
		}
	})

	t.Run("OKFromCurrentValues", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		MustCreateReport(t, db, c.ID, 1, 20, 0)
		MustCreateReport(t, db, c.ID, 1, 50, 0) // the latest counts
		MustCreateReport(t, db, c.ID, 11, 1, 0)
		s, err := db.Score(ctx, c.ID, 2025)
		if err != nil {
			t.Fatal(err)
		}
		// Index = 100 × (0,5 + 1) / 23; fulfilment = 100 × (min(0,5; 0,333) + 1) / 14,67.
		if !near(s.Index, 100*1.5/23) || !near(s.PlanFulfillment, 100*(0.333+1)/defaultDue2025) {
			t.Fatalf("index %v, fulfilment %v", s.Index, s.PlanFulfillment)
		}
		i1, _ := s.Indicator(1)
		i11, _ := s.Indicator(11)
		if i1.Value == nil || *i1.Value != 50 || i1.Status != hromadabot.StatusOnTrack || i11.Status != hromadabot.StatusDone {
			t.Fatalf("indicator 1 = %+v, 11 = %+v", i1, i11)
		}
	})

	t.Run("OKOwnTargetsChangeScore", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		MustCreateReport(t, db, c.ID, 1, 50, 0)
		before, _ := db.Score(ctx, c.ID, 2025)
		if err := db.SetCommunityTargets(ctx, c.ID, map[int]hromadabot.Targets{1: {2025: 100}}, "cli"); err != nil {
			t.Fatal(err)
		}
		after, err := db.Score(ctx, c.ID, 2025)
		if err != nil {
			t.Fatal(err)
		}
		// Index is the same; the fulfilment now expects all of indicator 1 in
		// 2025: 100 × 0,5 / (14,67 − 0,333 + 1).
		if !near(before.PlanFulfillment, 100*0.333/defaultDue2025) || !near(after.PlanFulfillment, 100*0.5/(defaultDue2025-0.333+1)) {
			t.Fatalf("fulfilment before %v, after %v", before.PlanFulfillment, after.PlanFulfillment)
		}
		if !near(after.Index, before.Index) {
			t.Fatalf("index changed from %v to %v", before.Index, after.Index)
		}
		b1, _ := before.Indicator(1)
		a1, _ := after.Indicator(1)
		if b1.Status != hromadabot.StatusOnTrack || a1.Status != hromadabot.StatusBehind || a1.Target != 1 {
			t.Fatalf("indicator 1 before %+v, after %+v", b1, a1)
		}
	})

	t.Run("OKRetractedNotCounted", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		u := MustEnsureUser(t, db, "1")
		MustMakeCDTO(t, db, u, c.ID)
		MustCreateReport(t, db, c.ID, 11, 1, u.ID)
		if _, err := db.RetractLastReport(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if s, _ := db.Score(ctx, c.ID, 2025); s.Index != 0 {
			t.Fatalf("index = %v after the only report was taken back", s.Index)
		}
	})

	t.Run("ErrUnknownCommunity", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		_, err := db.Score(ctx, 7, 2025)
		AssertError(t, err, hromadabot.ENOTFOUND, "community_not_found")
	})

	t.Run("ErrYear", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		_, err := db.Score(ctx, c.ID, 0)
		AssertError(t, err, hromadabot.EINVALID, "year_invalid")
	})
}

func testRanking(t *testing.T, e Engine) {
	ctx := context.Background()

	t.Run("OKTiesShareRank", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		irpin := MustCreateCommunity(t, db, "Ірпінська", "Київська")
		bucha := MustCreateCommunity(t, db, "Бучанська", "Київська")
		hostomel := MustCreateCommunity(t, db, "Гостомельська", "Київська")
		silent := MustCreateCommunity(t, db, "Вишнева", "Київська")
		for _, c := range []*hromadabot.Community{irpin, bucha} {
			MustCreateReport(t, db, c.ID, 11, 1, 0)
			MustCreateReport(t, db, c.ID, 1, 50, 0)
		}
		MustCreateReport(t, db, hostomel.ID, 11, 1, 0)

		r, err := db.Ranking(ctx, 2025)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			id   int64
			rank int
		}{{bucha.ID, 1}, {irpin.ID, 1}, {hostomel.ID, 3}, {silent.ID, 4}}
		if len(r) != len(want) {
			t.Fatalf("ranking has %d entries, want every community (%d)", len(r), len(want))
		}
		for i, w := range want {
			if r[i].CommunityID != w.id || r[i].Rank != w.rank {
				t.Fatalf("place %d = %+v, want community %d rank %d", i, r[i], w.id, w.rank)
			}
		}
		if !near(r[0].Index, 100*1.5/23) || !near(r[2].Index, 100/23.0) || r[3].Index != 0 {
			t.Fatalf("indexes = %v %v %v", r[0].Index, r[2].Index, r[3].Index)
		}
		if r[0].Name != "Бучанська" || r[0].Oblast != "Київська" {
			t.Fatalf("entry = %+v", r[0])
		}
	})

	t.Run("OKOwnTargets", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		a := MustCreateCommunity(t, db, "Бучанська", "Київська")
		b := MustCreateCommunity(t, db, "Ірпінська", "Київська")
		for _, c := range []*hromadabot.Community{a, b} {
			MustCreateReport(t, db, c.ID, 1, 50, 0)
		}
		if err := db.SetCommunityTargets(ctx, b.ID, map[int]hromadabot.Targets{1: {2025: 100}}, "cli"); err != nil {
			t.Fatal(err)
		}
		r, err := db.Ranking(ctx, 2025)
		if err != nil {
			t.Fatal(err)
		}
		ea, _ := r.Find(a.ID)
		eb, _ := r.Find(b.ID)
		if ea.Rank != 1 || eb.Rank != 1 {
			t.Fatalf("equal indexes must share rank 1: %+v %+v", ea, eb)
		}
		sb, _ := db.Score(ctx, b.ID, 2025)
		if !near(eb.PlanFulfillment, sb.PlanFulfillment) || near(ea.PlanFulfillment, eb.PlanFulfillment) {
			t.Fatalf("fulfilment a %v, b %v, b's score %v", ea.PlanFulfillment, eb.PlanFulfillment, sb.PlanFulfillment)
		}
	})

	t.Run("OKNational", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		MustLoadHromadas(t, db)
		r, err := db.Ranking(ctx, 2025)
		if err != nil {
			t.Fatal(err)
		}
		if len(r) != 1469 || r[1468].Rank != 1 {
			t.Fatalf("%d entries, last rank %d; want 1469 all sharing rank 1", len(r), r[len(r)-1].Rank)
		}
	})

	t.Run("ErrYear", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		_, err := db.Ranking(ctx, 3000)
		AssertError(t, err, hromadabot.EINVALID, "year_invalid")
	})
}
