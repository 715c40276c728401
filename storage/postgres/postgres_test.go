package postgres_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"github.com/hromadabot/hromadabot/storage"
	"github.com/hromadabot/hromadabot/storage/postgres"
	"github.com/hromadabot/hromadabot/storage/postgres/pgtest"
	"github.com/hromadabot/hromadabot/storage/recordtest"
	"github.com/jmoiron/sqlx"
)

// engine gives every store a schema of its own on the server, dropped when
// the test ends: a fresh database in milliseconds.
type engine struct {
	urls sync.Map // storage.Records → its URL
}

func (e *engine) Open(tb testing.TB) storage.Records {
	tb.Helper()
	return e.openAt(tb, pgtest.Schema(tb))
}

func (e *engine) Reopen(tb testing.TB, db storage.Records) storage.Records {
	tb.Helper()
	return e.openAt(tb, e.url(tb, db))
}

func (e *engine) Raw(tb testing.TB, db storage.Records) recordtest.Raw {
	tb.Helper()
	raw, err := sqlx.Open("pgx", e.url(tb, db))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	return rebound{raw}
}

func (e *engine) openAt(tb testing.TB, u string) storage.Records {
	tb.Helper()
	db, err := postgres.Open(context.Background(), u)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	e.urls.Store(storage.Records(db), u)
	return db
}

func (e *engine) url(tb testing.TB, db storage.Records) string {
	tb.Helper()
	u, ok := e.urls.Load(db)
	if !ok {
		tb.Fatal("not a store this engine opened")
	}
	return u.(string)
}

// rebound runs queries written with ? placeholders.
type rebound struct{ db *sqlx.DB }

func (r rebound) Exec(q string, args ...any) (sql.Result, error) {
	return r.db.Exec(r.db.Rebind(q), args...)
}

func (r rebound) Query(q string, args ...any) (*sql.Rows, error) {
	return r.db.Query(r.db.Rebind(q), args...)
}

func (r rebound) QueryRow(q string, args ...any) *sql.Row {
	return r.db.QueryRow(r.db.Rebind(q), args...)
}

// TestRecords runs the record store conformance suite on PostgreSQL.
func TestRecords(t *testing.T) {
	pgtest.ServerURL(t)
	recordtest.Run(t, &engine{})
}
