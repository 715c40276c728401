// Package sqldb stores communities, plans, reports, users, invites, files,
// broadcasts and the audit log in a SQL database through sqlx, whichever
// engine an Engine describes: storage/sqlite and storage/postgres give it
// theirs. What is not an engine's own lives here once: the queries, the
// transactions, the change counters and the caches kept above them.
//
// Reports are append-only. The latest non-retracted report of every
// community and indicator is kept in the current_values table, updated in the
// same transaction as each report, so that scores and the national ranking
// read a few thousand rows instead of the whole history.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
)

// timeLayout is how every time is written: UTC, fixed width, so that text
// order is time order where an engine keeps times as text (SQLite).
// Milliseconds are enough to order a chat's reports; ties are broken by id.
const timeLayout = "2006-01-02T15:04:05.000Z"

// Engine is what a SQL engine gives the store: its connections, its
// migrations and what differs in its SQL.
type Engine struct {
	// Write serves the write transactions and Read the queries; they may
	// be one pool. Their driver names decide the placeholders (? or $1).
	Write, Read *sqlx.DB
	// Migrations are the engine's goose migrations, applied at open.
	Migrations fs.FS
	Dialect    goose.Dialect
	// Migrate are further options of the goose provider: a lock, where
	// several processes may start at once.
	Migrate []goose.ProviderOption
	// FormatError turns the engine's constraint violations into
	// *hromadabot.Error values and returns other errors unchanged.
	FormatError func(error) error
	// LockWrites, when set, is run first in every write transaction, so
	// that writers take turns as SQLite's single writer makes them: what
	// a transaction reads before it writes (the latest report it
	// replaces, an invite not yet used) stays true until it commits.
	LockWrites string
	// ReadOptions begin the read transactions: several queries of one
	// answer see one snapshot.
	ReadOptions *sql.TxOptions
	// ValueHistory is the engine's form of the query that packs a
	// community's value history into one text (see ValueHistory).
	ValueHistory string
}

// DB is the hromadabot database. It is safe for concurrent use.
type DB struct {
	// Now returns the current time. Tests replace it to control the undo
	// window and invite expiry; set it before the DB is shared.
	Now func() time.Time

	write, read pool
	engine      Engine

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

// Open applies the engine's migrations, seeds the default plan into a fresh
// database and loads it. The DB closes the engine's pools when it closes,
// also when Open fails.
func Open(ctx context.Context, e Engine) (*DB, error) {
	db := &DB{Now: time.Now, engine: e, write: newPool(e.Write), read: newPool(e.Read)}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// migrate applies the engine's goose migrations.
func (db *DB) migrate(ctx context.Context) error {
	p, err := goose.NewProvider(db.engine.Dialect, db.write.DB.DB, db.engine.Migrations,
		append([]goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}, db.engine.Migrate...)...)
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
	if db.read.DB != nil && db.read.DB != db.write.DB {
		errs = append(errs, db.read.Close())
	}
	if db.write.DB != nil {
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

// The conflicts an engine's FormatError reports, one per rule of the
// schema that a caller can break.
var (
	ErrCommunityExists  = hromadabot.Errorf(hromadabot.ECONFLICT, "community_exists", "a community with this KATOTTG code already exists")
	ErrUserExists       = hromadabot.Errorf(hromadabot.ECONFLICT, "user_exists", "this platform user already exists")
	ErrInviteExists     = hromadabot.Errorf(hromadabot.ECONFLICT, "invite_exists", "this invite code already exists")
	ErrReportDuplicate  = hromadabot.Errorf(hromadabot.ECONFLICT, "report_duplicate", "this report is already stored")
	ErrConflict         = hromadabot.Errorf(hromadabot.ECONFLICT, "conflict", "the record already exists")
	ErrReferenceMissing = hromadabot.Errorf(hromadabot.ECONFLICT, "reference_missing", "a record this change refers to does not exist")
	ErrConstraintFailed = hromadabot.Errorf(hromadabot.ECONFLICT, "constraint_failed", "the change breaks a database rule")
)

// SetClock replaces db.Now; call it before the DB is shared.
func (db *DB) SetClock(now func() time.Time) { db.Now = now }

// formatError is the engine's FormatError.
func (db *DB) formatError(err error) error {
	if err == nil || db.engine.FormatError == nil {
		return err
	}
	return db.engine.FormatError(err)
}

// pool is a connection pool whose queries, written with ? placeholders,
// are rebound to the engine's own ($1 for PostgreSQL) on the way.
type pool struct {
	*sqlx.DB
	binds *rebinds
}

func newPool(db *sqlx.DB) pool { return pool{DB: db, binds: newRebinds(db)} }

func (p pool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return p.DB.ExecContext(ctx, p.binds.of(q), args...)
}

func (p pool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return p.DB.QueryContext(ctx, p.binds.of(q), args...)
}

func (p pool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return p.DB.QueryRowContext(ctx, p.binds.of(q), args...)
}

func (p pool) GetContext(ctx context.Context, dest any, q string, args ...any) error {
	return p.DB.GetContext(ctx, dest, p.binds.of(q), args...)
}

func (p pool) SelectContext(ctx context.Context, dest any, q string, args ...any) error {
	return p.DB.SelectContext(ctx, dest, p.binds.of(q), args...)
}

// rebinds keeps each query's rebound form: the queries are constants, a
// few dozen, and rewriting one on every call would be needless work.
type rebinds struct {
	bind  int
	forms sync.Map // query → its form for the engine
}

func newRebinds(db *sqlx.DB) *rebinds {
	if db == nil {
		return &rebinds{bind: sqlx.QUESTION}
	}
	return &rebinds{bind: sqlx.BindType(db.DriverName())}
}

// of returns q with the engine's placeholders.
func (r *rebinds) of(q string) string {
	if r.bind == sqlx.QUESTION || r.bind == sqlx.UNKNOWN {
		return q
	}
	if f, ok := r.forms.Load(q); ok {
		return f.(string)
	}
	f := sqlx.Rebind(r.bind, q)
	r.forms.Store(q, f)
	return f
}

// txn is a transaction stamped with the time it began: every row it writes
// carries the same time, taken from db.Now. Its queries are rebound as a
// pool's are.
type txn struct {
	*sqlx.Tx
	db  *DB
	now time.Time
	// ctx is the one the transaction began with, as *sql.Tx keeps it too:
	// committing tells its turn, if any, that the counters may have moved.
	ctx context.Context
}

// beginWrite starts a write transaction: BEGIN IMMEDIATE in SQLite, and
// in an engine with many writers one that waits for the others first.
func (db *DB) beginWrite(ctx context.Context) (*txn, error) {
	tx, err := db.write.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	t := &txn{Tx: tx, db: db, now: db.now(), ctx: ctx}
	if db.engine.LockWrites != "" {
		if _, err := tx.ExecContext(ctx, db.engine.LockWrites); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("begin: lock writes: %w", err)
		}
	}
	return t, nil
}

// beginRead starts a read transaction, so that several queries see one
// snapshot of the database.
func (db *DB) beginRead(ctx context.Context) (*txn, error) {
	tx, err := db.read.BeginTxx(ctx, db.engine.ReadOptions)
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

func (tx *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.db.write.binds.of(q), args...)
}

func (tx *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.db.write.binds.of(q), args...)
}

func (tx *txn) QueryxContext(ctx context.Context, q string, args ...any) (*sqlx.Rows, error) {
	return tx.Tx.QueryxContext(ctx, tx.db.write.binds.of(q), args...)
}

func (tx *txn) QueryRowxContext(ctx context.Context, q string, args ...any) *sqlx.Row {
	return tx.Tx.QueryRowxContext(ctx, tx.db.write.binds.of(q), args...)
}

func (tx *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.db.write.binds.of(q), args...)
}

func (tx *txn) GetContext(ctx context.Context, dest any, q string, args ...any) error {
	return tx.Tx.GetContext(ctx, dest, tx.db.write.binds.of(q), args...)
}

func (tx *txn) SelectContext(ctx context.Context, dest any, q string, args ...any) error {
	return tx.Tx.SelectContext(ctx, dest, tx.db.write.binds.of(q), args...)
}

func (tx *txn) PreparexContext(ctx context.Context, q string) (*sqlx.Stmt, error) {
	return tx.Tx.PreparexContext(ctx, tx.db.write.binds.of(q))
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
	// A driver's time may come in its local zone.
	return t.UTC(), nil
}

// nullTime is the stored form of an optional time.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

// flag is the stored form of a yes/no column, 0 or 1 in every engine: the
// queries then compare it with a literal the same way everywhere, and
// SQLite's partial index on "subscribed = 1" serves them.
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
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

// EventQueries returns the queries run for every event or report, by
// name, written with ? placeholders. Each engine's tests check that they
// find their rows through an index whatever the size of the tables.
func EventQueries() map[string]string {
	return map[string]string{
		"ReportByDedupKey": sqlSelectReportByDedupKey,
		"CurrentValue":     sqlSelectCurrentValue,
		"LatestValues":     sqlSelectLatestValues,
		"LastByReporter":   sqlSelectLastByReporter,
		"LatestReport":     sqlSelectLatestReport,
		"User":             sqlSelectUser,
		"UserByPlatform":   sqlSelectUserByPlatform,
		"Changes":          sqlSelectChanges,
	}
}
