package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// MustOpenDB opens a fresh database file in a temporary directory, closed
// when the test ends, with its clock set to a fixed time the test controls.
func MustOpenDB(tb testing.TB) (*sqlite.DB, *Clock) {
	tb.Helper()
	return MustOpenDBAt(tb, filepath.Join(tb.TempDir(), "hromada.db"))
}

// MustOpenDBAt opens the database file at path.
func MustOpenDBAt(tb testing.TB, path string) (*sqlite.DB, *Clock) {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	clock := &Clock{t: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)}
	db.Now = clock.Now
	return db, clock
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
func MustCreateCommunity(tb testing.TB, db *sqlite.DB, name, oblast string) *hromadabot.Community {
	tb.Helper()
	c := &hromadabot.Community{Name: name, Oblast: oblast}
	if err := db.CreateCommunity(context.Background(), c, "cli"); err != nil {
		tb.Fatalf("create community %s: %v", name, err)
	}
	return c
}

// MustEnsureUser creates a Telegram user.
func MustEnsureUser(tb testing.TB, db *sqlite.DB, platformID string) *hromadabot.User {
	tb.Helper()
	u, err := db.EnsureUser(context.Background(), hromadabot.PlatformTelegram, platformID, "uk")
	if err != nil {
		tb.Fatalf("ensure user: %v", err)
	}
	return u
}

// MustMakeCDTO makes the user a CDTO of the community.
func MustMakeCDTO(tb testing.TB, db *sqlite.DB, u *hromadabot.User, communityID int64) {
	tb.Helper()
	u.Role, u.CommunityID = hromadabot.RoleCDTO, communityID
	if err := db.UpdateUser(context.Background(), u, "cli"); err != nil {
		tb.Fatalf("update user: %v", err)
	}
}

// MustLoadHromadas loads the national registry.
func MustLoadHromadas(tb testing.TB, db *sqlite.DB) []hromadabot.Community {
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
func AuditCount(tb testing.TB, db *sqlite.DB) int {
	tb.Helper()
	es, err := db.AuditLog(context.Background(), 1_000_000)
	if err != nil {
		tb.Fatal(err)
	}
	return len(es)
}

// LastAudit returns the newest audit row.
func LastAudit(tb testing.TB, db *sqlite.DB) hromadabot.AuditEntry {
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

func TestOpen(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		want := hromadabot.DefaultPlan()
		if got := db.DefaultPlan(); !reflect.DeepEqual(got, want) {
			t.Fatalf("stored default plan differs from hromadabot.DefaultPlan():\n got %+v\nwant %+v", got.Indicators[0], want.Indicators[0])
		}
		e := LastAudit(t, db)
		if e.Action != "plan.seed" || e.Actor != "system" {
			t.Fatalf("last audit = %+v, want plan.seed by system", e)
		}
	})

	t.Run("OKReopenKeepsData", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hromada.db")
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		c := &hromadabot.Community{Name: "Бучанська", Oblast: "Київська"}
		if err := db.CreateCommunity(ctx, c, "cli"); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}

		db2, _ := MustOpenDBAt(t, path)
		if n, err := db2.CountCommunities(ctx); err != nil || n != 1 {
			t.Fatalf("communities after reopen = %d, %v; want 1", n, err)
		}
		es, err := db2.AuditLog(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		seeds := 0
		for _, e := range es {
			if e.Action == "plan.seed" {
				seeds++
			}
		}
		if seeds != 1 {
			t.Fatalf("plan seeded %d times, want once", seeds)
		}
		if got, want := db2.DefaultPlan(), hromadabot.DefaultPlan(); !reflect.DeepEqual(got, want) {
			t.Fatal("default plan changed on reopen")
		}
	})

	t.Run("OKWAL", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hromada.db")
		MustOpenDBAt(t, path)
		raw := MustOpenRaw(t, path)
		var mode string
		if err := raw.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" {
			t.Fatalf("journal_mode = %q, want wal", mode)
		}
	})

	t.Run("ErrPathRequired", func(t *testing.T) {
		if _, err := sqlite.Open(ctx, ""); err == nil {
			t.Fatal("Open(\"\") succeeded")
		}
	})

	t.Run("OKDefaultPlanIsACopy", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		p := db.DefaultPlan()
		p.Indicators[0].Targets[2025] = 99
		p.Indicators[0].Title.UK = "змінено"
		if got := db.DefaultPlan(); got.Indicators[0].Targets[2025] == 99 || got.Indicators[0].Title.UK == "змінено" {
			t.Fatal("changing a returned plan changed the stored default plan")
		}
	})
}

// MustOpenRaw opens the database file with database/sql directly, to look
// at what is stored.
func MustOpenRaw(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	raw, err := sql.Open("sqlite3", path+"?_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	return raw
}

func TestFormatError(t *testing.T) {
	raw := MustOpenRaw(t, filepath.Join(t.TempDir(), "raw.db"))
	if _, err := raw.Exec(`CREATE TABLE t (k TEXT UNIQUE, p INTEGER REFERENCES t (rowid))`); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO t (k) VALUES ('a')`); err != nil {
		t.Fatal(err)
	}
	_, unique := raw.Exec(`INSERT INTO t (k) VALUES ('a')`)
	if unique == nil {
		t.Fatal("duplicate insert succeeded")
	}

	t.Run("OKNil", func(t *testing.T) {
		if err := sqlite.FormatError(nil); err != nil {
			t.Fatalf("FormatError(nil) = %v", err)
		}
	})
	t.Run("OKUniqueIsConflict", func(t *testing.T) {
		AssertError(t, sqlite.FormatError(unique), hromadabot.ECONFLICT, "conflict")
	})
	t.Run("OKWrappedUniqueIsConflict", func(t *testing.T) {
		err := sqlite.FormatError(errors.Join(errors.New("insert"), unique))
		AssertError(t, err, hromadabot.ECONFLICT, "conflict")
		if strings.Contains(err.Error(), "UNIQUE") {
			t.Fatalf("driver message leaked: %v", err)
		}
	})
	t.Run("OKOtherUnchanged", func(t *testing.T) {
		other := errors.New("disk on fire")
		if err := sqlite.FormatError(other); err != other {
			t.Fatalf("FormatError(other) = %v", err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestEventQueriesUseIndexes: what runs for every event or report reads a
// few rows through an index; a scan would grow with millions of reports.
func TestEventQueriesUseIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hromada.db")
	MustOpenDBAt(t, path)
	raw := MustOpenRaw(t, path)
	for name, q := range sqlite.EventQueries {
		t.Run(name, func(t *testing.T) {
			// The plan is made before values are bound; any will do.
			args := make([]any, strings.Count(q, "?"))
			for i := range args {
				args[i] = "1"
			}
			rows, err := raw.Query("EXPLAIN QUERY PLAN "+q, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			for _, step := range plan {
				if strings.HasPrefix(step, "SCAN ") {
					t.Errorf("plan %q scans a table", plan)
				}
			}
		})
	}
}
