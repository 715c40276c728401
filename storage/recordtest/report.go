package recordtest

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage"
)

// MustCreateReport stores a report from the user.
func MustCreateReport(tb testing.TB, db storage.Records, communityID int64, indicatorID int, value float64, reporterID int64) *hromadabot.Report {
	tb.Helper()
	r := &hromadabot.Report{CommunityID: communityID, IndicatorID: indicatorID, Value: value, ReporterID: reporterID, Source: hromadabot.SourceTelegram}
	if _, err := db.CreateReport(context.Background(), r, "telegram:1"); err != nil {
		tb.Fatalf("create report: %v", err)
	}
	return r
}

// AssertNothingStored fails if the database has any report or current value.
func AssertNothingStored(tb testing.TB, db storage.Records, communityID int64) {
	tb.Helper()
	rs, err := db.Reports(context.Background(), hromadabot.ReportFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	if len(rs) != 0 {
		tb.Fatalf("%d reports stored, want none", len(rs))
	}
	vs, err := db.LatestValues(context.Background(), communityID)
	if err != nil {
		tb.Fatal(err)
	}
	if len(vs) != 0 {
		tb.Fatalf("current values %v, want none", vs)
	}
}

func testCreateReport(t *testing.T, e Engine) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		u := MustEnsureUser(t, db, "100")
		MustMakeCDTO(t, db, u, c.ID)
		r := &hromadabot.Report{CommunityID: c.ID, IndicatorID: 5, Value: 47.5, Comment: "  портал запущено ", Evidence: "https://bucha.example/portal",
			ReporterID: u.ID, Source: hromadabot.SourceTelegram}
		old, err := db.CreateReport(ctx, r, u.Ref())
		if err != nil {
			t.Fatal(err)
		}
		if old != nil {
			t.Fatalf("old = %v, want nil for the first report", *old)
		}
		if r.ID == 0 || !r.CreatedAt.Equal(clock.Now()) {
			t.Fatalf("ID = %d, CreatedAt = %v", r.ID, r.CreatedAt)
		}
		e := LastAudit(t, db)
		if e.Action != "report.create" || e.Actor != u.Ref() || e.EntityID != itoa(r.ID) ||
			e.OldValue != fmt.Sprintf("community %d, indicator 5: none", c.ID) || e.NewValue != fmt.Sprintf("community %d, indicator 5: 47.5", c.ID) {
			t.Fatalf("audit = %+v", e)
		}

		clock.Add(time.Hour)
		r2 := &hromadabot.Report{CommunityID: c.ID, IndicatorID: 5, Value: 60, ReporterID: u.ID, Source: hromadabot.SourceTelegram}
		old, err = db.CreateReport(ctx, r2, u.Ref())
		if err != nil {
			t.Fatal(err)
		}
		if old == nil || *old != 47.5 {
			t.Fatalf("old = %v, want 47.5", old)
		}
		if e := LastAudit(t, db); !strings.HasSuffix(e.OldValue, ": 47.5") || !strings.HasSuffix(e.NewValue, ": 60") {
			t.Fatalf("audit = %+v", e)
		}
		vs, err := db.LatestValues(ctx, c.ID)
		if err != nil || len(vs) != 1 || vs[5] != 60 {
			t.Fatalf("LatestValues = %v, %v; want {5: 60}", vs, err)
		}
		rs, err := db.Reports(ctx, hromadabot.ReportFilter{CommunityID: c.ID})
		if err != nil || len(rs) != 2 {
			t.Fatalf("history = %d reports, %v; want both kept", len(rs), err)
		}
		if rs[1].Comment != "портал запущено" || rs[1].Evidence != "https://bucha.example/portal" || rs[1].ReporterID != u.ID || rs[1].Source != hromadabot.SourceTelegram {
			t.Fatalf("stored report = %+v", rs[1])
		}
	})

	t.Run("OKYesNoAndCLI", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		r := &hromadabot.Report{CommunityID: c.ID, IndicatorID: 11, Value: 1, Source: hromadabot.SourceCLI}
		if _, err := db.CreateReport(ctx, r, "cli"); err != nil {
			t.Fatal(err)
		}
		rs, _ := db.Reports(ctx, hromadabot.ReportFilter{})
		if len(rs) != 1 || rs[0].ReporterID != 0 || rs[0].Value != 1 {
			t.Fatalf("reports = %+v", rs)
		}
	})

	t.Run("OKDedup", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		first := &hromadabot.Report{CommunityID: c.ID, IndicatorID: 1, Value: 40, Source: hromadabot.SourceTelegram, DedupKey: "telegram:update:77"}
		if _, err := db.CreateReport(ctx, first, "telegram:1"); err != nil {
			t.Fatal(err)
		}
		audits := AuditCount(t, db)
		again := &hromadabot.Report{CommunityID: c.ID, IndicatorID: 1, Value: 40, Source: hromadabot.SourceTelegram, DedupKey: "telegram:update:77"}
		old, err := db.CreateReport(ctx, again, "telegram:1")
		if err != nil || old != nil {
			t.Fatalf("second delivery: old = %v, err = %v; want nil, nil", old, err)
		}
		if again.ID != first.ID || !again.CreatedAt.Equal(first.CreatedAt) || again.Value != 40 {
			t.Fatalf("second delivery filled %+v, want the stored %+v", again, first)
		}
		rs, _ := db.Reports(ctx, hromadabot.ReportFilter{})
		if len(rs) != 1 {
			t.Fatalf("%d reports stored, want 1", len(rs))
		}
		if AuditCount(t, db) != audits {
			t.Fatal("a duplicate delivery wrote an audit row")
		}
		// Reports without a key are never deduplicated.
		MustCreateReport(t, db, c.ID, 1, 40, 0)
		MustCreateReport(t, db, c.ID, 1, 40, 0)
		if rs, _ := db.Reports(ctx, hromadabot.ReportFilter{}); len(rs) != 3 {
			t.Fatalf("%d reports stored, want 3", len(rs))
		}
	})

	t.Run("OKDedupConcurrent", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		ids := make([]int64, 6)
		RunConcurrently(t, len(ids), func(i int) error {
			r := &hromadabot.Report{CommunityID: c.ID, IndicatorID: 4, Value: 25, Source: hromadabot.SourceTelegram, DedupKey: "telegram:update:9"}
			_, err := db.CreateReport(ctx, r, "telegram:1")
			ids[i] = r.ID
			return err
		})
		AssertSameIDs(t, ids)
		if rs, _ := db.Reports(ctx, hromadabot.ReportFilter{}); len(rs) != 1 {
			t.Fatalf("%d reports stored, want 1", len(rs))
		}
	})

	for _, tc := range []struct {
		name, code, reason string
		r                  hromadabot.Report
		unknownCommunity   bool
	}{
		{"ErrUnknownCommunity", hromadabot.ENOTFOUND, "community_not_found", hromadabot.Report{IndicatorID: 1, Value: 50, Source: "cli"}, true},
		{"ErrCommunityRequired", hromadabot.EINVALID, "community_required", hromadabot.Report{IndicatorID: 1, Value: 50, Source: "cli", CommunityID: -1}, false},
		{"ErrUnknownIndicator", hromadabot.ENOTFOUND, "indicator_not_found", hromadabot.Report{IndicatorID: 24, Value: 50, Source: "cli"}, false},
		{"ErrValueNegative", hromadabot.EINVALID, "value_out_of_range", hromadabot.Report{IndicatorID: 1, Value: -1, Source: "cli"}, false},
		{"ErrValueOver100", hromadabot.EINVALID, "value_out_of_range", hromadabot.Report{IndicatorID: 1, Value: 101, Source: "cli"}, false},
		{"ErrValueNaN", hromadabot.EINVALID, "value_not_number", hromadabot.Report{IndicatorID: 1, Value: math.NaN(), Source: "cli"}, false},
		{"ErrPercentForYesNo", hromadabot.EINVALID, "value_not_yesno", hromadabot.Report{IndicatorID: 11, Value: 55, Source: "cli"}, false},
		{"ErrCommentTooLong", hromadabot.EINVALID, "comment_too_long", hromadabot.Report{IndicatorID: 1, Value: 5, Source: "cli", Comment: strings.Repeat("ї", 1001)}, false},
		{"ErrSourceRequired", hromadabot.EINVALID, "source_required", hromadabot.Report{IndicatorID: 1, Value: 5}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := MustOpenDB(t, e)
			c := MustCreateCommunity(t, db, "Бучанська", "Київська")
			audits := AuditCount(t, db)
			r := tc.r
			if r.CommunityID == 0 {
				r.CommunityID = c.ID
			}
			if tc.unknownCommunity {
				r.CommunityID = c.ID + 1
			}
			old, err := db.CreateReport(ctx, &r, "cli")
			AssertError(t, err, tc.code, tc.reason)
			if old != nil || r.ID != 0 || !r.CreatedAt.IsZero() {
				t.Fatalf("a failed report was given an id or time: %+v", r)
			}
			AssertNothingStored(t, db, c.ID)
			if AuditCount(t, db) != audits {
				t.Fatal("a failed report wrote an audit row")
			}
		})
	}

	t.Run("ErrUnknownReporter", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		r := &hromadabot.Report{CommunityID: c.ID, IndicatorID: 1, Value: 5, Source: "cli", ReporterID: 999}
		_, err := db.CreateReport(ctx, r, "cli")
		AssertError(t, err, hromadabot.ENOTFOUND, "user_not_found")
		AssertNothingStored(t, db, c.ID)
	})

	t.Run("ErrReporterNotCDTO", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		other := MustCreateCommunity(t, db, "Ірпінська", "Київська")
		resident := MustEnsureUser(t, db, "1")
		cdtoElsewhere := MustEnsureUser(t, db, "2")
		MustMakeCDTO(t, db, cdtoElsewhere, other.ID)
		audits := AuditCount(t, db)
		for _, u := range []*hromadabot.User{resident, cdtoElsewhere} {
			r := &hromadabot.Report{CommunityID: c.ID, IndicatorID: 1, Value: 5, Source: hromadabot.SourceTelegram, ReporterID: u.ID}
			_, err := db.CreateReport(ctx, r, u.Ref())
			AssertError(t, err, hromadabot.EFORBIDDEN, "not_cdto")
		}
		AssertNothingStored(t, db, c.ID)
		if AuditCount(t, db) != audits {
			t.Fatal("a refused report wrote an audit row")
		}
	})

	t.Run("OKConcurrent", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		var cs []*hromadabot.Community
		for _, n := range []string{"Бучанська", "Ірпінська", "Гостомельська", "Бородянська"} {
			cs = append(cs, MustCreateCommunity(t, db, n, "Київська"))
		}
		const workers, perWorker = 8, 25
		RunConcurrently(t, workers, func(w int) error {
			for i := range perWorker {
				r := &hromadabot.Report{CommunityID: cs[w%len(cs)].ID, IndicatorID: 1 + i%10, Value: float64(min(100, w*perWorker+i)), Source: "cli"}
				if _, err := db.CreateReport(ctx, r, "cli"); err != nil {
					return err
				}
			}
			return nil
		})
		rs, err := db.Reports(ctx, hromadabot.ReportFilter{})
		if err != nil || len(rs) != workers*perWorker {
			t.Fatalf("%d reports, %v; want %d", len(rs), err, workers*perWorker)
		}
		// Every current value is the latest report of its pair.
		latest := map[[2]int64]float64{}
		for i := len(rs) - 1; i >= 0; i-- {
			latest[[2]int64{rs[i].CommunityID, int64(rs[i].IndicatorID)}] = rs[i].Value
		}
		for _, c := range cs {
			vs, err := db.LatestValues(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			for id, v := range vs {
				if want := latest[[2]int64{c.ID, int64(id)}]; v != want {
					t.Fatalf("community %d indicator %d current = %v, want %v", c.ID, id, v, want)
				}
			}
		}
		if n := AuditCount(t, db); n < workers*perWorker {
			t.Fatalf("%d audit rows, want one per report", n)
		}
	})

	t.Run("OKConcurrentProcesses", func(t *testing.T) {
		// Two handles on one file stand for the bot and the CLI.
		db1, clock := MustOpenDB(t, e)
		db2 := MustReopen(t, e, db1, clock)
		c := MustCreateCommunity(t, db1, "Бучанська", "Київська")
		dbs := []storage.Records{db1, db2, db1, db2}
		RunConcurrently(t, len(dbs), func(w int) error {
			for i := range 20 {
				r := &hromadabot.Report{CommunityID: c.ID, IndicatorID: 1 + i%23, Value: 1, Source: "cli"}
				if _, err := dbs[w].CreateReport(ctx, r, "cli"); err != nil {
					return err
				}
			}
			return nil
		})
		if rs, _ := db2.Reports(ctx, hromadabot.ReportFilter{}); len(rs) != 80 {
			t.Fatalf("%d reports, want 80", len(rs))
		}
	})
}

func testCreateReports(t *testing.T, e Engine) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		other := MustCreateCommunity(t, db, "Ірпінська", "Київська")
		rs := []hromadabot.Report{
			{CommunityID: c.ID, IndicatorID: 1, Value: 30, Source: hromadabot.SourceImport},
			{CommunityID: c.ID, IndicatorID: 11, Value: 1, Source: hromadabot.SourceImport},
			{CommunityID: other.ID, IndicatorID: 1, Value: 70, Source: hromadabot.SourceImport},
			{CommunityID: c.ID, IndicatorID: 1, Value: 35, Source: hromadabot.SourceImport},
		}
		if err := db.CreateReports(ctx, rs, "cli"); err != nil {
			t.Fatal(err)
		}
		for i, r := range rs {
			if r.ID == 0 || !r.CreatedAt.Equal(clock.Now()) {
				t.Fatalf("row %d: ID %d, CreatedAt %v", i+1, r.ID, r.CreatedAt)
			}
		}
		vs, _ := db.LatestValues(ctx, c.ID)
		if len(vs) != 2 || vs[1] != 35 || vs[11] != 1 {
			t.Fatalf("current values = %v", vs)
		}
		if vs, _ := db.LatestValues(ctx, other.ID); vs[1] != 70 {
			t.Fatalf("other community current values = %v", vs)
		}
	})

	t.Run("OKHistoricalTimes", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		MustCreateReport(t, db, c.ID, 1, 50, 0)
		rs := []hromadabot.Report{
			{CommunityID: c.ID, IndicatorID: 1, Value: 20, Source: hromadabot.SourceImport, CreatedAt: clock.Now().Add(-30 * 24 * time.Hour)},
			{CommunityID: c.ID, IndicatorID: 2, Value: 10, Source: hromadabot.SourceImport, CreatedAt: clock.Now().Add(-30 * 24 * time.Hour)},
		}
		if err := db.CreateReports(ctx, rs, "cli"); err != nil {
			t.Fatal(err)
		}
		vs, _ := db.LatestValues(ctx, c.ID)
		if vs[1] != 50 || vs[2] != 10 {
			t.Fatalf("current values = %v; an older imported report must not replace a newer one", vs)
		}
		hist, _ := db.Reports(ctx, hromadabot.ReportFilter{CommunityID: c.ID, IndicatorID: 1})
		if len(hist) != 2 || hist[0].Value != 50 || !hist[1].CreatedAt.Equal(rs[0].CreatedAt) {
			t.Fatalf("history = %+v", hist)
		}
	})

	for _, tc := range []struct {
		name, code, reason, prefix string
		bad                        func(r *hromadabot.Report, c *hromadabot.Community, now time.Time)
	}{
		{"ErrValueOutOfRange", hromadabot.EINVALID, "value_out_of_range", "row 3: ", func(r *hromadabot.Report, _ *hromadabot.Community, _ time.Time) { r.Value = 101 }},
		{"ErrUnknownIndicator", hromadabot.ENOTFOUND, "indicator_not_found", "row 3: ", func(r *hromadabot.Report, _ *hromadabot.Community, _ time.Time) { r.IndicatorID = 99 }},
		{"ErrUnknownCommunity", hromadabot.ENOTFOUND, "community_not_found", "row 3: ", func(r *hromadabot.Report, c *hromadabot.Community, _ time.Time) { r.CommunityID = c.ID + 7 }},
		{"ErrYesNoValue", hromadabot.EINVALID, "value_not_yesno", "row 3: ", func(r *hromadabot.Report, _ *hromadabot.Community, _ time.Time) { r.IndicatorID, r.Value = 12, 40 }},
		{"ErrFutureTime", hromadabot.EINVALID, "report_time_future", "row 3: ", func(r *hromadabot.Report, _ *hromadabot.Community, now time.Time) { r.CreatedAt = now.Add(time.Hour) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, clock := MustOpenDB(t, e)
			c := MustCreateCommunity(t, db, "Бучанська", "Київська")
			audits := AuditCount(t, db)
			rs := make([]hromadabot.Report, 5)
			for i := range rs {
				rs[i] = hromadabot.Report{CommunityID: c.ID, IndicatorID: i + 1, Value: 10, Source: hromadabot.SourceImport}
			}
			tc.bad(&rs[2], c, clock.Now())
			err := db.CreateReports(ctx, rs, "cli")
			AssertError(t, err, tc.code, tc.reason)
			if !strings.HasPrefix(err.Error(), tc.prefix) {
				t.Fatalf("error %q does not start with %q", err, tc.prefix)
			}
			AssertNothingStored(t, db, c.ID)
			if AuditCount(t, db) != audits {
				t.Fatal("a failed import wrote audit rows")
			}
			for i, r := range rs {
				if r.ID != 0 {
					t.Fatalf("row %d was given id %d though nothing was stored", i+1, r.ID)
				}
			}
		})
	}
}

func testLatestValues(t *testing.T, e Engine) {
	ctx := context.Background()
	db, _ := MustOpenDB(t, e)
	c := MustCreateCommunity(t, db, "Бучанська", "Київська")

	t.Run("OKEmpty", func(t *testing.T) {
		vs, err := db.LatestValues(ctx, c.ID)
		if err != nil || len(vs) != 0 {
			t.Fatalf("LatestValues = %v, %v", vs, err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		MustCreateReport(t, db, c.ID, 3, 10, 0)
		MustCreateReport(t, db, c.ID, 3, 20, 0)
		MustCreateReport(t, db, c.ID, 14, 1, 0)
		vs, err := db.LatestValues(ctx, c.ID)
		if err != nil || len(vs) != 2 || vs[3] != 20 || vs[14] != 1 {
			t.Fatalf("LatestValues = %v, %v", vs, err)
		}
	})
	t.Run("ErrUnknownCommunity", func(t *testing.T) {
		_, err := db.LatestValues(ctx, c.ID+1)
		AssertError(t, err, hromadabot.ENOTFOUND, "community_not_found")
	})
}

func testReports(t *testing.T, e Engine) {
	ctx := context.Background()
	db, clock := MustOpenDB(t, e)
	a := MustCreateCommunity(t, db, "Бучанська", "Київська")
	b := MustCreateCommunity(t, db, "Ірпінська", "Київська")
	u1 := MustEnsureUser(t, db, "1")
	MustMakeCDTO(t, db, u1, a.ID)
	u2 := MustEnsureUser(t, db, "2")
	MustMakeCDTO(t, db, u2, b.ID)
	start := clock.Now()
	var ids []int64
	for i, spec := range []struct {
		c    int64
		ind  int
		user int64
	}{{a.ID, 1, u1.ID}, {a.ID, 2, u1.ID}, {b.ID, 1, u2.ID}, {a.ID, 1, 0}, {a.ID, 3, u1.ID}} {
		clock.Add(time.Minute)
		r := MustCreateReport(t, db, spec.c, spec.ind, float64(10*(i+1)), spec.user)
		ids = append(ids, r.ID)
	}
	// The last report is taken back and disappears from the history views.
	if _, err := db.RetractLastReport(ctx, u1.ID); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		f    hromadabot.ReportFilter
		want []int64
	}{
		{"OKAllNewestFirst", hromadabot.ReportFilter{}, []int64{ids[3], ids[2], ids[1], ids[0]}},
		{"OKByCommunity", hromadabot.ReportFilter{CommunityID: a.ID}, []int64{ids[3], ids[1], ids[0]}},
		{"OKByIndicator", hromadabot.ReportFilter{CommunityID: a.ID, IndicatorID: 1}, []int64{ids[3], ids[0]}},
		{"OKByReporter", hromadabot.ReportFilter{ReporterID: u1.ID}, []int64{ids[1], ids[0]}},
		{"OKSince", hromadabot.ReportFilter{Since: start.Add(2 * time.Minute)}, []int64{ids[3], ids[2], ids[1]}},
		{"OKLimit", hromadabot.ReportFilter{Limit: 2}, []int64{ids[3], ids[2]}},
		{"OKNone", hromadabot.ReportFilter{CommunityID: b.ID, IndicatorID: 2}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := db.Reports(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range rs {
				got = append(got, r.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("ids = %v, want %v", got, tc.want)
			}
		})
	}
}

func testRetractLastReport(t *testing.T, e Engine) {
	ctx := context.Background()

	setup := func(t *testing.T) (storage.Records, *Clock, *hromadabot.Community, *hromadabot.User) {
		db, clock := MustOpenDB(t, e)
		c := MustCreateCommunity(t, db, "Бучанська", "Київська")
		u := MustEnsureUser(t, db, "100")
		MustMakeCDTO(t, db, u, c.ID)
		return db, clock, c, u
	}

	t.Run("OKFallsBackToPrevious", func(t *testing.T) {
		db, clock, c, u := setup(t)
		MustCreateReport(t, db, c.ID, 1, 30, u.ID)
		clock.Add(time.Hour)
		last := MustCreateReport(t, db, c.ID, 1, 45, u.ID)
		clock.Add(time.Hour)
		r, err := db.RetractLastReport(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != last.ID || r.Value != 45 || r.RetractedAt == nil || !r.RetractedAt.Equal(clock.Now()) {
			t.Fatalf("retracted %+v, want report %d retracted now", r, last.ID)
		}
		if vs, _ := db.LatestValues(ctx, c.ID); vs[1] != 30 {
			t.Fatalf("current value = %v, want the previous 30", vs[1])
		}
		a := LastAudit(t, db)
		if a.Action != "report.retract" || a.Actor != u.Ref() || a.EntityID != itoa(last.ID) || !strings.HasSuffix(a.OldValue, ": 45") || !strings.HasSuffix(a.NewValue, ": 30") {
			t.Fatalf("audit = %+v", a)
		}
		// Append-only: the retracted report stays in the table.
		raw := e.Raw(t, db)
		var n int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM reports WHERE retracted_at IS NOT NULL`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("retracted rows = %d, %v; want 1", n, err)
		}
	})

	t.Run("OKValueDisappears", func(t *testing.T) {
		db, _, c, u := setup(t)
		MustCreateReport(t, db, c.ID, 7, 30, u.ID)
		if _, err := db.RetractLastReport(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if vs, _ := db.LatestValues(ctx, c.ID); len(vs) != 0 {
			t.Fatalf("current values = %v, want none", vs)
		}
		if e := LastAudit(t, db); !strings.HasSuffix(e.NewValue, ": none") {
			t.Fatalf("audit = %+v", e)
		}
	})

	t.Run("OKOnlyOwnReport", func(t *testing.T) {
		db, clock, c, u := setup(t)
		other := MustEnsureUser(t, db, "200")
		MustMakeCDTO(t, db, other, c.ID)
		mine := MustCreateReport(t, db, c.ID, 2, 10, u.ID)
		clock.Add(time.Minute)
		MustCreateReport(t, db, c.ID, 3, 20, other.ID)
		r, err := db.RetractLastReport(ctx, u.ID)
		if err != nil || r.ID != mine.ID {
			t.Fatalf("retracted %+v, %v; want own report %d", r, err, mine.ID)
		}
		if vs, _ := db.LatestValues(ctx, c.ID); vs[3] != 20 || len(vs) != 1 {
			t.Fatalf("current values = %v, want only the other CDTO's", vs)
		}
	})

	t.Run("OKTwiceTakesBackTheOneBefore", func(t *testing.T) {
		db, clock, c, u := setup(t)
		first := MustCreateReport(t, db, c.ID, 2, 10, u.ID)
		clock.Add(time.Minute)
		MustCreateReport(t, db, c.ID, 3, 20, u.ID)
		if _, err := db.RetractLastReport(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		r, err := db.RetractLastReport(ctx, u.ID)
		if err != nil || r.ID != first.ID {
			t.Fatalf("second undo retracted %+v, %v; want %d", r, err, first.ID)
		}
		AssertNothingStored(t, db, c.ID)
	})

	t.Run("OKAtWindowEdge", func(t *testing.T) {
		db, clock, c, u := setup(t)
		MustCreateReport(t, db, c.ID, 2, 10, u.ID)
		clock.Add(hromadabot.UndoWindow)
		if _, err := db.RetractLastReport(ctx, u.ID); err != nil {
			t.Fatalf("undo exactly at the end of the window: %v", err)
		}
	})

	t.Run("ErrNothing", func(t *testing.T) {
		db, _, _, u := setup(t)
		_, err := db.RetractLastReport(ctx, u.ID)
		AssertError(t, err, hromadabot.ENOTFOUND, "undo_nothing")
	})

	t.Run("ErrWindowPassed", func(t *testing.T) {
		db, clock, c, u := setup(t)
		MustCreateReport(t, db, c.ID, 2, 10, u.ID)
		audits := AuditCount(t, db)
		clock.Add(hromadabot.UndoWindow + time.Second)
		_, err := db.RetractLastReport(ctx, u.ID)
		AssertError(t, err, hromadabot.ENOTFOUND, "undo_nothing")
		if vs, _ := db.LatestValues(ctx, c.ID); vs[2] != 10 {
			t.Fatalf("current values = %v; a refused undo changed them", vs)
		}
		if rs, _ := db.Reports(ctx, hromadabot.ReportFilter{}); len(rs) != 1 {
			t.Fatal("a refused undo retracted the report")
		}
		if AuditCount(t, db) != audits {
			t.Fatal("a refused undo wrote an audit row")
		}
	})

	t.Run("ErrNotReporter", func(t *testing.T) {
		db, _, c, _ := setup(t)
		MustCreateReport(t, db, c.ID, 2, 10, 0)
		_, err := db.RetractLastReport(ctx, 0)
		AssertError(t, err, hromadabot.ENOTFOUND, "undo_nothing")
	})
}
