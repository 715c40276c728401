// Package recordtest is the one conformance suite every record store
// passes (SQLite and PostgreSQL, through storage/sqldb): what the bot relies
// on — reports append-only and never doubled, the latest value current,
// invites single-use, scores and rankings to the digit, a broadcast's
// recipients each sent once, and two processes over one database seeing
// each other's writes.
package recordtest

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage"
)

// Engine opens the stores under test.
type Engine interface {
	// Open returns a store over a fresh, empty database, closed when the
	// test ends.
	Open(tb testing.TB) storage.Records
	// Reopen returns a second store over the database of db, as a second
	// process (the bot beside the command line) would open it, closed
	// when the test ends.
	Reopen(tb testing.TB, db storage.Records) storage.Records
	// Raw returns the database of db as database/sql sees it, to look at
	// what is stored and to change it behind the store's back.
	Raw(tb testing.TB, db storage.Records) Raw
}

// Raw runs queries written with ? placeholders on a database directly.
type Raw interface {
	Exec(query string, args ...any) (sql.Result, error)
	Query(query string, args ...any) (*sql.Rows, error)
	QueryRow(query string, args ...any) *sql.Row
}

// Run runs the suite against the engine.
func Run(t *testing.T, e Engine) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, Engine)
	}{
		{"Stats", testStats},
		{"AuditLog", testAuditLog},
		{"CreateBroadcast", testCreateBroadcast},
		{"ClaimBroadcast", testClaimBroadcast},
		{"RecordRecipients", testRecordRecipients},
		{"PendingRecipients", testPendingRecipients},
		{"Broadcasts", testBroadcasts},
		{"ValuesAsOf", testValuesAsOf},
		{"ScoresAsOf", testScoresAsOf},
		{"LastReportTimes", testLastReportTimes},
		{"CreateCommunity", testCreateCommunity},
		{"LoadHromadas", testLoadHromadas},
		{"Community", testCommunity},
		{"Communities", testCommunities},
		{"SearchCommunities", testSearchCommunities},
		{"SearchSeesOtherProcesses", testSearchSeesOtherProcesses},
		{"PlanSeesOtherProcesses", testPlanSeesOtherProcesses},
		{"FindCommunity", testFindCommunity},
		{"Files", testFiles},
		{"CreateInvite", testCreateInvite},
		{"AcceptInvite", testAcceptInvite},
		{"LatestReports", testLatestReports},
		{"DataVersion", testDataVersion},
		{"ValueHistory", testValueHistory},

		{"Plan", testPlan},
		{"SetCommunityTargets", testSetCommunityTargets},
		{"CreateReport", testCreateReport},
		{"CreateReports", testCreateReports},
		{"LatestValues", testLatestValues},
		{"Reports", testReports},
		{"RetractLastReport", testRetractLastReport},
		{"Score", testScore},
		{"Ranking", testRanking},
		{"EnsureUser", testEnsureUser},
		{"User", testUser},
		{"UpdateUser", testUpdateUser},
		{"Users", testUsers},
		{"EnsureUserSeesOtherProcesses", testEnsureUserSeesOtherProcesses},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, e) })
	}
}

// MustOpenDB opens a fresh store with its clock set to a fixed time the
// test controls.
func MustOpenDB(tb testing.TB, e Engine) (storage.Records, *Clock) {
	tb.Helper()
	db := e.Open(tb)
	clock := &Clock{t: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)}
	db.SetClock(clock.Now)
	return db, clock
}

// MustReopen opens a second store over db's database, on the same clock.
func MustReopen(tb testing.TB, e Engine, db storage.Records, clock *Clock) storage.Records {
	tb.Helper()
	other := e.Reopen(tb, db)
	other.SetClock(clock.Now)
	return other
}

// Clock is a settable time source for db.Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// MustCreateCommunity adds a community by hand.
func MustCreateCommunity(tb testing.TB, db storage.Records, name, oblast string) *hromadabot.Community {
	tb.Helper()
	c := &hromadabot.Community{Name: name, Oblast: oblast}
	if err := db.CreateCommunity(context.Background(), c, "cli"); err != nil {
		tb.Fatalf("create community %s: %v", name, err)
	}
	return c
}

// MustEnsureUser creates a Telegram user.
func MustEnsureUser(tb testing.TB, db storage.Records, platformID string) *hromadabot.User {
	tb.Helper()
	u, err := db.EnsureUser(context.Background(), hromadabot.PlatformTelegram, platformID, "uk")
	if err != nil {
		tb.Fatalf("ensure user: %v", err)
	}
	return u
}

// MustMakeCDTO makes the user a CDTO of the community.
func MustMakeCDTO(tb testing.TB, db storage.Records, u *hromadabot.User, communityID int64) {
	tb.Helper()
	u.Role, u.CommunityID = hromadabot.RoleCDTO, communityID
	if err := db.UpdateUser(context.Background(), u, "cli"); err != nil {
		tb.Fatalf("update user: %v", err)
	}
}

// MustLoadHromadas loads the national registry.
func MustLoadHromadas(tb testing.TB, db storage.Records) []hromadabot.Community {
	tb.Helper()
	cs, err := hromadabot.Hromadas()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.LoadHromadas(context.Background(), cs, "cli"); err != nil {
		tb.Fatalf("load hromadas: %v", err)
	}
	return cs
}

// RunConcurrently calls f(0) … f(n-1) from n goroutines at once and fails
// the test with the first error.
func RunConcurrently(tb testing.TB, n int, f func(i int) error) {
	tb.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
}

// AssertSameIDs fails unless every id is the first, non-zero one.
func AssertSameIDs(tb testing.TB, ids []int64) {
	tb.Helper()
	for i, id := range ids {
		if id == 0 || id != ids[0] {
			tb.Fatalf("call %d got id %d, want %d like the first (all %v)", i, id, ids[0], ids)
		}
	}
}

// AssertError fails unless err is a *hromadabot.Error with the code and reason.
func AssertError(tb testing.TB, err error, code, reason string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("error = nil, want %s/%s", code, reason)
	}
	if got := hromadabot.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	if got := hromadabot.ErrorReason(err); got != reason {
		tb.Fatalf("error reason = %q (%v), want %q", got, err, reason)
	}
}

// AuditCount returns the number of audit rows.
func AuditCount(tb testing.TB, db storage.Records) int {
	tb.Helper()
	es, err := db.AuditLog(context.Background(), 1_000_000)
	if err != nil {
		tb.Fatal(err)
	}
	return len(es)
}

// LastAudit returns the newest audit row.
func LastAudit(tb testing.TB, db storage.Records) hromadabot.AuditEntry {
	tb.Helper()
	es, err := db.AuditLog(context.Background(), 1)
	if err != nil {
		tb.Fatal(err)
	}
	if len(es) == 0 {
		tb.Fatal("audit log is empty")
	}
	return es[0]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }
