package recordtest

import (
	"context"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
)

func testStats(t *testing.T, e Engine) {
	ctx := context.Background()
	db, clock := MustOpenDB(t, e)
	bucha := MustCreateCommunity(t, db, "Бучанська", "Київська")
	irpin := MustCreateCommunity(t, db, "Ірпінська", "Київська")
	hostomel := MustCreateCommunity(t, db, "Гостомельська", "Київська")

	active := MustEnsureUser(t, db, "1")
	MustMakeCDTO(t, db, active, bucha.ID)
	lapsed := MustEnsureUser(t, db, "2")
	MustMakeCDTO(t, db, lapsed, irpin.ID)
	never := MustEnsureUser(t, db, "3")
	MustMakeCDTO(t, db, never, hostomel.ID)
	never.Blocked = true
	if err := db.UpdateUser(ctx, never, "cli"); err != nil {
		t.Fatal(err)
	}
	undone := MustEnsureUser(t, db, "4")
	MustMakeCDTO(t, db, undone, bucha.ID)
	MustEnsureUser(t, db, "5") // a resident is never silent

	lapsedAt := clock.Now()
	MustCreateReport(t, db, irpin.ID, 1, 10, lapsed.ID)
	clock.Add(8 * 24 * time.Hour)
	since := clock.Now().Add(-7 * 24 * time.Hour)
	MustCreateReport(t, db, bucha.ID, 1, 10, active.ID)
	MustCreateReport(t, db, bucha.ID, 2, 10, active.ID)
	MustCreateReport(t, db, bucha.ID, 3, 10, undone.ID)
	if _, err := db.RetractLastReport(ctx, undone.ID); err != nil {
		t.Fatal(err)
	}
	MustCreateReport(t, db, hostomel.ID, 1, 10, 0) // from the CLI

	st, err := db.Stats(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	if st.Reports != 3 || st.CommunitiesReported != 2 {
		t.Fatalf("reports %d in %d communities, want 3 in 2", st.Reports, st.CommunitiesReported)
	}
	// Ukrainian order of community: Бучанська, Гостомельська, Ірпінська.
	want := []struct {
		id      int64
		c       int64
		last    *time.Time
		blocked bool
	}{{undone.ID, bucha.ID, nil, false}, {never.ID, hostomel.ID, nil, true}, {lapsed.ID, irpin.ID, &lapsedAt, false}}
	if len(st.SilentCDTOs) != len(want) {
		t.Fatalf("silent = %+v, want %d", st.SilentCDTOs, len(want))
	}
	for i, w := range want {
		s := st.SilentCDTOs[i]
		if s.UserID != w.id || s.CommunityID != w.c || s.Blocked != w.blocked || s.Ref != "telegram:"+itoa(w.id) || s.Language != hromadabot.LangUK {
			t.Fatalf("silent[%d] = %+v, want user %d of community %d", i, s, w.id, w.c)
		}
		if (s.LastReport == nil) != (w.last == nil) || (w.last != nil && !s.LastReport.Equal(*w.last)) {
			t.Fatalf("silent[%d].LastReport = %v, want %v", i, s.LastReport, w.last)
		}
	}
	if st.SilentCDTOs[2].Name != "Ірпінська" {
		t.Fatalf("name = %q", st.SilentCDTOs[2].Name)
	}
}

func testAuditLog(t *testing.T, e Engine) {
	ctx := context.Background()
	db, clock := MustOpenDB(t, e)
	for _, n := range []string{"Бучанська", "Ірпінська", "Гостомельська"} {
		clock.Add(time.Second)
		MustCreateCommunity(t, db, n, "Київська")
	}

	t.Run("OKNewestFirst", func(t *testing.T) {
		es, err := db.AuditLog(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 2 || es[0].NewValue != "Гостомельська (Київська обл.)" || es[1].NewValue != "Ірпінська (Київська обл.)" {
			t.Fatalf("audit = %+v", es)
		}
		if !es[0].At.Equal(clock.Now()) || es[0].At.Location() != time.UTC {
			t.Fatalf("at = %v, want %v in UTC", es[0].At, clock.Now())
		}
	})

	t.Run("OKDefaultLimit", func(t *testing.T) {
		es, err := db.AuditLog(ctx, 0)
		if err != nil || len(es) != 4 { // plan seed + 3 communities
			t.Fatalf("%d entries, %v; want 4", len(es), err)
		}
	})
}
