package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage"
	"github.com/hromadabot/hromadabot/storage/recordtest"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// engine opens SQLite files in the test's temporary directory.
type engine struct {
	paths sync.Map // storage.Records → its file
}

func (e *engine) Open(tb testing.TB) storage.Records {
	tb.Helper()
	return e.openAt(tb, filepath.Join(tb.TempDir(), "hromada.db"))
}

func (e *engine) Reopen(tb testing.TB, db storage.Records) storage.Records {
	tb.Helper()
	return e.openAt(tb, e.path(tb, db))
}

func (e *engine) Raw(tb testing.TB, db storage.Records) recordtest.Raw {
	tb.Helper()
	return MustOpenRaw(tb, e.path(tb, db))
}

func (e *engine) openAt(tb testing.TB, path string) storage.Records {
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
	e.paths.Store(storage.Records(db), path)
	return db
}

func (e *engine) path(tb testing.TB, db storage.Records) string {
	tb.Helper()
	p, ok := e.paths.Load(db)
	if !ok {
		tb.Fatal("not a store this engine opened")
	}
	return p.(string)
}

// TestRecords runs the record store conformance suite on SQLite.
func TestRecords(t *testing.T) {
	recordtest.Run(t, &engine{})
}

// MustOpenDB opens a fresh database file in a temporary directory.
func MustOpenDB(tb testing.TB) (storage.Records, *recordtest.Clock) {
	tb.Helper()
	return recordtest.MustOpenDB(tb, &engine{})
}

// MustOpenDBAt opens the database file at path, closed when the test ends.
func MustOpenDBAt(tb testing.TB, path string) storage.Records {
	tb.Helper()
	return (&engine{}).openAt(tb, path)
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
		e := recordtest.LastAudit(t, db)
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

		db2 := MustOpenDBAt(t, path)
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
		recordtest.AssertError(t, sqlite.FormatError(unique), hromadabot.ECONFLICT, "conflict")
	})
	t.Run("OKWrappedUniqueIsConflict", func(t *testing.T) {
		err := sqlite.FormatError(errors.Join(errors.New("insert"), unique))
		recordtest.AssertError(t, err, hromadabot.ECONFLICT, "conflict")
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

// TestEventQueriesUseIndexes: what runs for every event or report reads a
// few rows through an index; a scan would grow with millions of reports.
func TestEventQueriesUseIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hromada.db")
	MustOpenDBAt(t, path)
	raw := MustOpenRaw(t, path)
	for name, q := range sqldb.EventQueries() {
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

func TestValueHistoryReadsTheIndexOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hromada.db")
	MustOpenDBAt(t, path)
	rows, err := MustOpenRaw(t, path).Query(`EXPLAIN QUERY PLAN `+sqlite.SelectValueHistory, 1)
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
	joined := strings.Join(plan, "; ")
	if !strings.Contains(joined, "SEARCH reports USING COVERING INDEX reports_community_history") || strings.Contains(joined, "SCAN") {
		t.Fatalf("query plan %q, want a search of the covering index alone", plan)
	}
}
