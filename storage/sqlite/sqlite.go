// Package sqlite stores communities, plans, reports, users, invites and the
// audit log in one SQLite file, through sqlx and mattn/go-sqlite3.
//
// Reports are append-only. The latest non-retracted report of every
// community and indicator is kept in the current_values table, updated in the
// same transaction as each report, so that scores and the national ranking
// read a few thousand rows instead of the whole history.
package sqlite

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// timeLayout is how every time is stored: UTC, fixed width, so that text
// order is time order. Milliseconds are enough to order a chat's reports;
// ties are broken by id.
const timeLayout = "2006-01-02T15:04:05.000Z"

// DB is the hromadabot database. It is safe for concurrent use.
type DB struct {
	// Now returns the current time. Tests replace it to control the undo
	// window and invite expiry; set it before the DB is shared.
	Now func() time.Time

	// write has a single connection: SQLite allows one writer at a time, so
	// writers queue in the pool instead of failing with SQLITE_BUSY.
	write *sqlx.DB
	// read serves queries concurrently; in WAL mode readers never wait for
	// the writer.
	read *sqlx.DB

	// plan is the default plan as stored, loaded once at Open. It is shared
	// and must never be modified; Plan and DefaultPlan hand out copies.
	plan hromadabot.Plan

	rankings rankingCache

	directory directory
	users     userCache
	// reads shares the reads of the change counters between turns.
	reads changeReads
	// background are the computations a caller started and did not wait
	// for; Close waits for them.
	background sync.WaitGroup
}

// Open opens (creating if needed) the database file at path, applies the
// embedded migrations, seeds the default plan into a fresh database and
// loads it.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("open database: path is required")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open database %s: path must not contain ? or #", path)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
	}

	// _txlock=immediate takes the write lock at BEGIN: a deferred transaction
	// that reads and then writes can fail with SQLITE_BUSY when another
	// process (the CLI next to the bot) upgrades first. synchronous=NORMAL is
	// safe in WAL mode: a power loss may drop the last commits, never corrupt.
	params := url.Values{
		"_journal_mode": {"WAL"},
		"_busy_timeout": {"5000"},
		"_foreign_keys": {"on"},
		"_synchronous":  {"NORMAL"},
		// Every statement is a constant, so each connection prepares it once.
		"_stmt_cache_size": {"64"},
	}
	// The writer's 4 MiB page cache holds the upper index pages an insert
	// touches across millions of reports: a national-scale insert takes no
	// longer than with 16 or 64 MiB, the leaves coming from the OS's cache
	// either way. A larger one only fills as the bot writes and keeps the
	// memory, up to 12 MiB more of a 100 MB budget. Readers keep SQLite's
	// default of about 2 MiB each.
	wparams := url.Values{"_txlock": {"immediate"}, "_cache_size": {"-4096"}}
	rparams := url.Values{"_query_only": {"true"}}
	for k, v := range params {
		wparams[k], rparams[k] = v, v
	}

	db := &DB{Now: time.Now}
	var err error
	if db.write, err = sqlx.Open("sqlite3", path+"?"+wparams.Encode()); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.write.SetMaxOpenConns(1)
	// The only connection stays open: closing it would throw away SQLite's
	// page cache and, for the last connection, checkpoint the WAL each time.
	db.write.SetConnMaxIdleTime(0)
	db.write.SetConnMaxLifetime(0)

	if err := db.migrate(ctx); err != nil {
		db.write.Close()
		return nil, err
	}

	if db.read, err = sqlx.Open("sqlite3", path+"?"+rparams.Encode()); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)

	if err := db.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// migrate applies the embedded goose migrations.
func (db *DB) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db.write.DB, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// init seeds the default plan into a fresh database, loads it into db.plan
// and brings stored search keys up to date with hromadabot.SearchKey.
func (db *DB) init(ctx context.Context) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := seedPlan(ctx, tx); err != nil {
		return err
	}
	if db.plan, err = loadDefaultPlan(ctx, tx); err != nil {
		return err
	}
	if err := refreshSearchKeys(ctx, tx); err != nil {
		return err
	}
	return tx.commit()
}

// Close closes the database.
func (db *DB) Close() error {
	db.background.Wait()
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var n int
	if err := db.read.GetContext(ctx, &n, `SELECT 1`); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// txn is a transaction stamped with the time it began: every row it writes
// carries the same time, taken from db.Now.
type txn struct {
	*sqlx.Tx
	db  *DB
	now time.Time
	// ctx is the one the transaction began with, as *sql.Tx keeps it too:
	// committing tells its turn, if any, that the counters may have moved.
	ctx context.Context
}

// beginWrite starts a write transaction (BEGIN IMMEDIATE).
func (db *DB) beginWrite(ctx context.Context) (*txn, error) {
	tx, err := db.write.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &txn{Tx: tx, db: db, now: db.now(), ctx: ctx}, nil
}

// beginRead starts a read transaction, so that several queries see one
// snapshot of the database.
func (db *DB) beginRead(ctx context.Context) (*txn, error) {
	tx, err := db.read.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &txn{Tx: tx, db: db, now: db.now(), ctx: ctx}, nil
}

func (tx *txn) commit() error {
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	tx.db.forgetChanges(tx.ctx)
	return nil
}

// now is db.Now in UTC at the stored precision, so that a time handed back to
// a caller equals the one read later.
func (db *DB) now() time.Time {
	return db.Now().UTC().Truncate(time.Millisecond)
}

// formatTime is the stored form of t.
func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

// parseTime reads a time scanned into a string: stored text, or the RFC 3339
// form database/sql gives a time the driver has already converted.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}

// nullTime is the stored form of an optional time.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

// nullID stores 0 as NULL, for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func formatValue(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// FormatError returns err as a *hromadabot.Error when it is a SQLite
// constraint violation, so that callers see ECONFLICT instead of a driver
// message; other errors are returned unchanged.
func FormatError(err error) error {
	if err == nil {
		return nil
	}
	var se sqlite3.Error
	if !errors.As(err, &se) || se.Code != sqlite3.ErrConstraint {
		return err
	}
	msg := se.Error()
	switch se.ExtendedCode {
	case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
		switch {
		case strings.Contains(msg, "communities.katottg"):
			return hromadabot.Errorf(hromadabot.ECONFLICT, "community_exists", "a community with this KATOTTG code already exists")
		case strings.Contains(msg, "users.platform"):
			return hromadabot.Errorf(hromadabot.ECONFLICT, "user_exists", "this platform user already exists")
		case strings.Contains(msg, "invites.code_hash"):
			return hromadabot.Errorf(hromadabot.ECONFLICT, "invite_exists", "this invite code already exists")
		case strings.Contains(msg, "reports.dedup_key"):
			return hromadabot.Errorf(hromadabot.ECONFLICT, "report_duplicate", "this report is already stored")
		}
		return hromadabot.Errorf(hromadabot.ECONFLICT, "conflict", "the record already exists")
	case sqlite3.ErrConstraintForeignKey:
		return hromadabot.Errorf(hromadabot.ECONFLICT, "reference_missing", "a record this change refers to does not exist")
	}
	return hromadabot.Errorf(hromadabot.ECONFLICT, "constraint_failed", "the change breaks a database rule")
}

// insertAudit writes one audit row stamped with the transaction's time.
func insertAudit(ctx context.Context, tx *txn, e hromadabot.AuditEntry) error {
	if e.Actor == "" {
		return hromadabot.FieldErrorf("actor", "actor_required", "actor is required for the audit log")
	}
	if _, err := tx.ExecContext(ctx, sqlInsertAudit,
		formatTime(tx.now), e.Actor, e.Action, e.Entity, e.EntityID, e.OldValue, e.NewValue,
	); err != nil {
		return fmt.Errorf("insert audit: %w", err)
	}
	return nil
}

const sqlInsertAudit = `
INSERT INTO audit (at, actor, action, entity, entity_id, old_value, new_value)
VALUES (?, ?, ?, ?, ?, ?, ?)`

// filterQuery builds a SELECT whose WHERE clause grows with the fields a
// filter sets; the base query ends in a WHERE clause.
type filterQuery struct {
	sql  strings.Builder
	args []any
}

func newFilterQuery(base string) *filterQuery {
	q := &filterQuery{}
	q.sql.WriteString(base)
	return q
}

// and adds a condition with its arguments.
func (q *filterQuery) and(cond string, args ...any) {
	q.sql.WriteString(" AND ")
	q.sql.WriteString(cond)
	q.args = append(q.args, args...)
}

// errNotFound is the ENOTFOUND error for a missing entity.
func errNotFound(reason, format string, args ...any) error {
	return hromadabot.Errorf(hromadabot.ENOTFOUND, reason, format, args...)
}
