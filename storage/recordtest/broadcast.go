package recordtest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage"
)

// MustRecipients makes n Telegram users and a recipient for each.
func MustRecipients(tb testing.TB, db storage.Records, n int) []hromadabot.Recipient {
	tb.Helper()
	rs := make([]hromadabot.Recipient, n)
	for i := range rs {
		u := MustEnsureUser(tb, db, strconv.Itoa(1000+i))
		rs[i] = hromadabot.Recipient{UserID: u.ID, Platform: u.Platform, PlatformID: u.PlatformID,
			Text: "Повідомлення " + strconv.Itoa(i), Buttons: `[[{"Text":"Так","Payload":"/report"}]]`}
	}
	return rs
}

// MustCreateBroadcast stores a job with the recipients.
func MustCreateBroadcast(tb testing.TB, db storage.Records, key string, rs []hromadabot.Recipient) *hromadabot.Broadcast {
	tb.Helper()
	b := &hromadabot.Broadcast{Kind: hromadabot.BroadcastDigest, Key: key, CreatedBy: "scheduler"}
	created, err := db.CreateBroadcast(context.Background(), b, rs)
	if err != nil || !created {
		tb.Fatalf("create broadcast: created %v, %v", created, err)
	}
	return b
}

// MustProgress returns the job's progress.
func MustProgress(tb testing.TB, db storage.Records, id int64) *hromadabot.BroadcastProgress {
	tb.Helper()
	p, err := db.BroadcastProgress(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func testCreateBroadcast(t *testing.T, e Engine) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		rs := MustRecipients(t, db, 3)
		b := &hromadabot.Broadcast{Kind: hromadabot.BroadcastAnnouncement, Key: "announce:abc", OverrideQuiet: true, CreatedBy: "cli"}
		created, err := db.CreateBroadcast(ctx, b, rs)
		if err != nil || !created {
			t.Fatalf("created %v, err %v", created, err)
		}
		if b.ID == 0 || b.Status != hromadabot.BroadcastPending || b.Total != 3 || !b.CreatedAt.Equal(clock.Now()) {
			t.Fatalf("job %+v", b)
		}
		p := MustProgress(t, db, b.ID)
		if p.Pending != 3 || p.Sent != 0 || !p.OverrideQuiet || p.Key != "announce:abc" || p.CreatedBy != "cli" {
			t.Fatalf("progress %+v", p)
		}
		got, err := db.PendingRecipients(ctx, b.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[1].Text != rs[1].Text || got[1].Buttons != rs[1].Buttons || got[1].PlatformID != rs[1].PlatformID || got[1].UserID != rs[1].UserID {
			t.Fatalf("recipients %+v", got)
		}
		if a := LastAudit(t, db); a.Action != "broadcast.create" || a.Actor != "cli" || !strings.Contains(a.NewValue, "recipients=3") {
			t.Fatalf("audit %+v", a)
		}
	})

	t.Run("OKSameKeyStoresNothing", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		rs := MustRecipients(t, db, 4)
		first := MustCreateBroadcast(t, db, "digest:2026-W47", rs[:2])
		audits := AuditCount(t, db)
		ids := make([]int64, 6)
		RunConcurrently(t, len(ids), func(i int) error {
			b := &hromadabot.Broadcast{Kind: hromadabot.BroadcastDigest, Key: "digest:2026-W47", CreatedBy: "scheduler"}
			created, err := db.CreateBroadcast(ctx, b, rs)
			if created {
				t.Errorf("call %d created a second job", i)
			}
			ids[i] = b.ID
			return err
		})
		AssertSameIDs(t, append(ids, first.ID))
		if p := MustProgress(t, db, first.ID); p.Total != 2 || p.Pending != 2 {
			t.Fatalf("progress %+v, want the first job's 2 recipients", p)
		}
		if n := AuditCount(t, db); n != audits {
			t.Fatalf("audit rows %d, want %d", n, audits)
		}
	})

	t.Run("OKNoRecipientsIsDone", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		b := MustCreateBroadcast(t, db, "reminder:2026-W48", nil)
		if b.Status != hromadabot.BroadcastDone || b.FinishedAt == nil || b.Total != 0 {
			t.Fatalf("job %+v", b)
		}
		runnable, err := db.RunnableBroadcasts(ctx, "a")
		if err != nil || len(runnable) != 0 {
			t.Fatalf("runnable %v, %v", runnable, err)
		}
	})

	for _, tc := range []struct {
		name         string
		b            hromadabot.Broadcast
		recipient    func(r *hromadabot.Recipient)
		code, reason string
	}{
		{"ErrKindInvalid", hromadabot.Broadcast{Kind: "spam", Key: "k", CreatedBy: "cli"}, nil, hromadabot.EINVALID, "broadcast_kind_invalid"},
		{"ErrKeyRequired", hromadabot.Broadcast{Kind: hromadabot.BroadcastDigest, Key: " ", CreatedBy: "cli"}, nil, hromadabot.EINVALID, "broadcast_key_required"},
		{"ErrActorRequired", hromadabot.Broadcast{Kind: hromadabot.BroadcastDigest, Key: "k"}, nil, hromadabot.EINVALID, "actor_required"},
		{"ErrRecipientWithoutText", hromadabot.Broadcast{Kind: hromadabot.BroadcastDigest, Key: "k", CreatedBy: "cli"},
			func(r *hromadabot.Recipient) { r.Text = "" }, hromadabot.EINVALID, "broadcast_recipient_invalid"},
		{"ErrRecipientUnknownUser", hromadabot.Broadcast{Kind: hromadabot.BroadcastDigest, Key: "k", CreatedBy: "cli"},
			func(r *hromadabot.Recipient) { r.UserID = 999999 }, hromadabot.ECONFLICT, "reference_missing"},
		{"ErrUserTwice", hromadabot.Broadcast{Kind: hromadabot.BroadcastDigest, Key: "k", CreatedBy: "cli"},
			func(r *hromadabot.Recipient) { r.UserID-- }, hromadabot.ECONFLICT, "conflict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := MustOpenDB(t, e)
			rs := MustRecipients(t, db, 3)
			if tc.recipient != nil {
				tc.recipient(&rs[2])
			}
			audits := AuditCount(t, db)
			b := tc.b
			created, err := db.CreateBroadcast(ctx, &b, rs)
			AssertError(t, err, tc.code, tc.reason)
			if created || b.ID != 0 {
				t.Fatalf("created %v, job %+v", created, b)
			}
			if all, err := db.Broadcasts(ctx, 0); err != nil || len(all) != 0 {
				t.Fatalf("jobs %v, %v; want none stored", all, err)
			}
			if n := AuditCount(t, db); n != audits {
				t.Fatalf("audit rows %d, want %d", n, audits)
			}
		})
	}
}

func testClaimBroadcast(t *testing.T, e Engine) {
	ctx := context.Background()
	const lease = time.Minute

	t.Run("OKRunningForItsOwner", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		b := MustCreateBroadcast(t, db, "k", MustRecipients(t, db, 1))
		ok, err := db.ClaimBroadcast(ctx, b.ID, "a", lease)
		if err != nil || !ok {
			t.Fatalf("claim: %v, %v", ok, err)
		}
		p := MustProgress(t, db, b.ID)
		if p.Status != hromadabot.BroadcastRunning || p.Owner != "a" || p.StartedAt == nil || !p.LeaseUntil.Equal(clock.Now().Add(lease)) {
			t.Fatalf("job %+v", p.Broadcast)
		}
		if ok, err := db.ClaimBroadcast(ctx, b.ID, "a", lease); err != nil || !ok {
			t.Fatalf("renew: %v, %v", ok, err)
		}
	})

	t.Run("OKOtherOwnerAfterLease", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		b := MustCreateBroadcast(t, db, "k", MustRecipients(t, db, 1))
		if ok, err := db.ClaimBroadcast(ctx, b.ID, "a", lease); err != nil || !ok {
			t.Fatalf("claim: %v, %v", ok, err)
		}
		if ok, err := db.ClaimBroadcast(ctx, b.ID, "b", lease); err != nil || ok {
			t.Fatalf("second owner during the lease: %v, %v", ok, err)
		}
		if rs, err := db.RunnableBroadcasts(ctx, "b"); err != nil || len(rs) != 0 {
			t.Fatalf("runnable for b during the lease: %v, %v", rs, err)
		}
		clock.Add(lease + time.Second)
		if rs, err := db.RunnableBroadcasts(ctx, "b"); err != nil || len(rs) != 1 {
			t.Fatalf("runnable for b after the lease: %v, %v", rs, err)
		}
		if ok, err := db.ClaimBroadcast(ctx, b.ID, "b", lease); err != nil || !ok {
			t.Fatalf("second owner after the lease: %v, %v", ok, err)
		}
		held, err := db.RecordRecipients(ctx, b.ID, "a", lease, nil)
		if err != nil || held {
			t.Fatalf("the first owner still holds the job: %v, %v", held, err)
		}
	})

	t.Run("OKReleasedPausedThenDone", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		b := MustCreateBroadcast(t, db, "k", MustRecipients(t, db, 1))
		if ok, err := db.ClaimBroadcast(ctx, b.ID, "a", lease); err != nil || !ok {
			t.Fatalf("claim: %v, %v", ok, err)
		}
		if err := db.ReleaseBroadcast(ctx, b.ID, "a", hromadabot.BroadcastPaused); err != nil {
			t.Fatal(err)
		}
		if p := MustProgress(t, db, b.ID); p.Status != hromadabot.BroadcastPaused || p.Owner != "" || p.LeaseUntil != nil {
			t.Fatalf("paused job %+v", p.Broadcast)
		}
		if ok, err := db.ClaimBroadcast(ctx, b.ID, "b", lease); err != nil || !ok {
			t.Fatalf("claim after release: %v, %v", ok, err)
		}
		if err := db.ReleaseBroadcast(ctx, b.ID, "b", hromadabot.BroadcastDone); err != nil {
			t.Fatal(err)
		}
		if p := MustProgress(t, db, b.ID); p.Status != hromadabot.BroadcastDone || p.FinishedAt == nil {
			t.Fatalf("done job %+v", p.Broadcast)
		}
		if ok, err := db.ClaimBroadcast(ctx, b.ID, "a", lease); err != nil || ok {
			t.Fatalf("claimed a done job: %v, %v", ok, err)
		}
	})

	t.Run("ErrReleaseStatusInvalid", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		b := MustCreateBroadcast(t, db, "k", MustRecipients(t, db, 1))
		AssertError(t, db.ReleaseBroadcast(ctx, b.ID, "a", hromadabot.BroadcastRunning), hromadabot.EINVALID, "broadcast_status_invalid")
	})
}

func testRecordRecipients(t *testing.T, e Engine) {
	ctx := context.Background()
	const lease = time.Minute

	t.Run("OK", func(t *testing.T) {
		db, clock := MustOpenDB(t, e)
		rs := MustRecipients(t, db, 4)
		b := MustCreateBroadcast(t, db, "k", rs)
		if ok, err := db.ClaimBroadcast(ctx, b.ID, "a", lease); err != nil || !ok {
			t.Fatalf("claim: %v, %v", ok, err)
		}
		blocked, err := db.User(ctx, rs[2].UserID)
		if err != nil {
			t.Fatal(err)
		}
		blocked.Subscribed = true
		if err := db.UpdateUser(ctx, blocked, "cli"); err != nil {
			t.Fatal(err)
		}
		pending, err := db.PendingRecipients(ctx, b.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		sentAt := clock.Now().Add(-time.Second)
		clock.Add(10 * time.Second)
		held, err := db.RecordRecipients(ctx, b.ID, "a", lease, []hromadabot.RecipientResult{
			{ID: pending[0].ID, UserID: rs[0].UserID, State: hromadabot.RecipientSent, Attempts: 1, At: sentAt},
			{ID: pending[1].ID, UserID: rs[1].UserID, State: hromadabot.RecipientFailed, Attempts: 3, Error: strings.Repeat("є", 400)},
			{ID: pending[2].ID, UserID: rs[2].UserID, State: hromadabot.RecipientBlocked, Attempts: 1, Error: "chat blocked or not found"},
			{ID: pending[3].ID, UserID: rs[3].UserID, State: hromadabot.RecipientPending, Attempts: 2, Error: "temporary failure"},
		})
		if err != nil || !held {
			t.Fatalf("record: %v, %v", held, err)
		}
		p := MustProgress(t, db, b.ID)
		if p.Sent != 1 || p.Failed != 1 || p.Blocked != 1 || p.Pending != 1 || !p.LeaseUntil.Equal(clock.Now().Add(lease)) {
			t.Fatalf("progress %+v", p)
		}
		left, err := db.PendingRecipients(ctx, b.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 1 || left[0].ID != pending[3].ID || left[0].Attempts != 2 || left[0].LastError != "temporary failure" {
			t.Fatalf("left pending %+v", left)
		}
		u, err := db.User(ctx, rs[2].UserID)
		if err != nil {
			t.Fatal(err)
		}
		if !u.Blocked || u.Subscribed {
			t.Fatalf("blocked user %+v, want blocked and unsubscribed", u)
		}
		if a := LastAudit(t, db); a.Action != "user.block" || a.Actor != u.Ref() || a.NewValue != "subscribed=false blocked=true" {
			t.Fatalf("audit %+v", a)
		}
		for _, id := range []int64{rs[0].UserID, rs[1].UserID} {
			if u, err := db.User(ctx, id); err != nil || u.Blocked {
				t.Fatalf("user %d: %+v, %v; want not blocked", id, u, err)
			}
		}
	})

	t.Run("OKOutcomeWrittenOnce", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		rs := MustRecipients(t, db, 1)
		b := MustCreateBroadcast(t, db, "k", rs)
		pending, err := db.PendingRecipients(ctx, b.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, state := range []string{hromadabot.RecipientSent, hromadabot.RecipientBlocked} {
			if _, err := db.RecordRecipients(ctx, b.ID, "a", lease, []hromadabot.RecipientResult{
				{ID: pending[0].ID, UserID: rs[0].UserID, State: state, Attempts: 1},
			}); err != nil {
				t.Fatal(err)
			}
		}
		if p := MustProgress(t, db, b.ID); p.Sent != 1 || p.Blocked != 0 {
			t.Fatalf("progress %+v, want the first outcome kept", p)
		}
		if u, err := db.User(ctx, rs[0].UserID); err != nil || u.Blocked {
			t.Fatalf("user %+v, %v; want not blocked", u, err)
		}
	})

	t.Run("ErrStateInvalid", func(t *testing.T) {
		db, _ := MustOpenDB(t, e)
		rs := MustRecipients(t, db, 2)
		b := MustCreateBroadcast(t, db, "k", rs)
		pending, err := db.PendingRecipients(ctx, b.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.RecordRecipients(ctx, b.ID, "a", lease, []hromadabot.RecipientResult{
			{ID: pending[0].ID, UserID: rs[0].UserID, State: hromadabot.RecipientSent},
			{ID: pending[1].ID, UserID: rs[1].UserID, State: "lost"},
		})
		AssertError(t, err, hromadabot.EINVALID, "recipient_state_invalid")
		if p := MustProgress(t, db, b.ID); p.Pending != 2 {
			t.Fatalf("progress %+v, want nothing recorded", p)
		}
	})
}

func testPendingRecipients(t *testing.T, e Engine) {
	ctx := context.Background()
	db, _ := MustOpenDB(t, e)
	rs := MustRecipients(t, db, 5)
	b := MustCreateBroadcast(t, db, "k", rs)
	MustCreateBroadcast(t, db, "other", rs)

	first, err := db.PendingRecipients(ctx, b.ID, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	rest, err := db.PendingRecipients(ctx, b.ID, first[1].ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	all := append(first, rest...)
	if len(first) != 2 || len(all) != 5 {
		t.Fatalf("pages of %d and %d, want 2 and 3", len(first), len(rest))
	}
	for i, r := range all {
		if r.JobID != b.ID || r.UserID != rs[i].UserID || r.State != hromadabot.RecipientPending || (i > 0 && r.ID <= all[i-1].ID) {
			t.Fatalf("recipient %d: %+v", i, r)
		}
	}
}

func testBroadcasts(t *testing.T, e Engine) {
	ctx := context.Background()
	db, _ := MustOpenDB(t, e)
	rs := MustRecipients(t, db, 2)
	old := MustCreateBroadcast(t, db, "a", rs)
	recent := MustCreateBroadcast(t, db, "b", rs[:1])

	got, err := db.Broadcasts(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != recent.ID || got[1].ID != old.ID || got[0].Pending != 1 || got[1].Pending != 2 {
		t.Fatalf("broadcasts %+v", got)
	}
	if byKey, err := db.BroadcastByKey(ctx, "a"); err != nil || byKey.ID != old.ID {
		t.Fatalf("by key: %+v, %v", byKey, err)
	}
	_, err = db.BroadcastByKey(ctx, "missing")
	AssertError(t, err, hromadabot.ENOTFOUND, "broadcast_not_found")
	_, err = db.BroadcastProgress(ctx, 12345)
	AssertError(t, err, hromadabot.ENOTFOUND, "broadcast_not_found")
}

func testValuesAsOf(t *testing.T, e Engine) {
	ctx := context.Background()
	db, clock := MustOpenDB(t, e)
	bucha := MustCreateCommunity(t, db, "Бучанська", "Київська")
	irpin := MustCreateCommunity(t, db, "Ірпінська", "Київська")
	u := MustEnsureUser(t, db, "1")
	MustMakeCDTO(t, db, u, bucha.ID)

	MustCreateReport(t, db, bucha.ID, 1, 10, 0)
	MustCreateReport(t, db, irpin.ID, 5, 30, 0)
	weekAgo := clock.Now()
	clock.Add(3 * 24 * time.Hour)
	MustCreateReport(t, db, bucha.ID, 1, 40, 0)
	MustCreateReport(t, db, bucha.ID, 2, 100, 0)
	MustCreateReport(t, db, bucha.ID, 3, 20, u.ID)
	clock.Add(time.Hour)
	// A retracted report never counts, not even for the time it stood.
	MustCreateReport(t, db, bucha.ID, 4, 50, u.ID)
	if _, err := db.RetractLastReport(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	now := clock.Now()

	for _, tc := range []struct {
		name string
		at   time.Time
		want map[int64]map[int]float64
	}{
		{"OKNow", now, map[int64]map[int]float64{bucha.ID: {1: 40, 2: 100, 3: 20}, irpin.ID: {5: 30}}},
		{"OKWeekAgo", weekAgo, map[int64]map[int]float64{bucha.ID: {1: 10}, irpin.ID: {5: 30}}},
		{"OKBeforeEverything", weekAgo.Add(-time.Second), map[int64]map[int]float64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.ValuesAsOf(ctx, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("values %v, want %v", got, tc.want)
			}
			for cid, vs := range tc.want {
				if len(got[cid]) != len(vs) {
					t.Fatalf("community %d: %v, want %v", cid, got[cid], vs)
				}
				for iid, v := range vs {
					if got[cid][iid] != v {
						t.Fatalf("community %d indicator %d: %v, want %v", cid, iid, got[cid][iid], v)
					}
				}
			}
		})
	}

	t.Run("OKNowMatchesLatestValues", func(t *testing.T) {
		got, err := db.ValuesAsOf(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		latest, err := db.LatestValues(ctx, bucha.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(latest) != len(got[bucha.ID]) {
			t.Fatalf("as of now %v, latest %v", got[bucha.ID], latest)
		}
		for iid, v := range latest {
			if got[bucha.ID][iid] != v {
				t.Fatalf("indicator %d: as of now %v, latest %v", iid, got[bucha.ID][iid], v)
			}
		}
	})
}

func testScoresAsOf(t *testing.T, e Engine) {
	ctx := context.Background()
	db, clock := MustOpenDB(t, e)
	bucha := MustCreateCommunity(t, db, "Бучанська", "Київська")
	irpin := MustCreateCommunity(t, db, "Ірпінська", "Київська")
	if err := db.SetCommunityTargets(ctx, irpin.ID, map[int]hromadabot.Targets{5: {2025: 100}}, "cli"); err != nil {
		t.Fatal(err)
	}
	MustCreateReport(t, db, bucha.ID, 1, 50, 0)
	weekAgo := clock.Now()
	clock.Add(7 * 24 * time.Hour)
	MustCreateReport(t, db, bucha.ID, 1, 100, 0)
	MustCreateReport(t, db, irpin.ID, 5, 60, 0)
	year := hromadabot.CurrentYear(clock.Now())

	now, err := db.ScoresAsOf(ctx, year, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	then, err := db.ScoresAsOf(ctx, year, weekAgo)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{bucha.ID, irpin.ID} {
		want, err := db.Score(ctx, id, year)
		if err != nil {
			t.Fatal(err)
		}
		got := now[id]
		if !near(got.Index, want.Index) || !near(got.PlanFulfillment, want.PlanFulfillment) {
			t.Fatalf("community %d now: %+v, Score says %+v", id, got, want)
		}
	}
	buchaNow, buchaThen := now[bucha.ID], then[bucha.ID]
	if st, _ := buchaNow.Indicator(1); st.Status != hromadabot.StatusDone {
		t.Fatalf("indicator 1 now %+v, want done", st)
	}
	if st, _ := buchaThen.Indicator(1); st.Status == hromadabot.StatusDone || !(buchaThen.Index < buchaNow.Index) {
		t.Fatalf("a week ago %+v, now index %v", st, buchaNow.Index)
	}
	if then[irpin.ID].Index != 0 {
		t.Fatalf("Irpin a week ago: index %v, want 0", then[irpin.ID].Index)
	}
	_, err = db.ScoresAsOf(ctx, 1900, clock.Now())
	AssertError(t, err, hromadabot.EINVALID, "year_invalid")
}

func testLastReportTimes(t *testing.T, e Engine) {
	ctx := context.Background()
	db, clock := MustOpenDB(t, e)
	bucha := MustCreateCommunity(t, db, "Бучанська", "Київська")
	irpin := MustCreateCommunity(t, db, "Ірпінська", "Київська")
	MustCreateCommunity(t, db, "Гостомельська", "Київська")
	u := MustEnsureUser(t, db, "1")
	MustMakeCDTO(t, db, u, irpin.ID)

	MustCreateReport(t, db, bucha.ID, 1, 10, 0)
	clock.Add(time.Hour)
	last := MustCreateReport(t, db, bucha.ID, 2, 10, 0)
	irpinAt := clock.Now()
	MustCreateReport(t, db, irpin.ID, 1, 10, 0)
	clock.Add(time.Hour)
	MustCreateReport(t, db, irpin.ID, 2, 10, u.ID)
	if _, err := db.RetractLastReport(ctx, u.ID); err != nil {
		t.Fatal(err)
	}

	got, err := db.LastReportTimes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[bucha.ID].Equal(last.CreatedAt) || !got[irpin.ID].Equal(irpinAt) {
		t.Fatalf("last reports %v", got)
	}
}
