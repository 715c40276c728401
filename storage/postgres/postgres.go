// Package postgres is the record store in PostgreSQL, through pgx's
// database/sql driver: for several bot processes on several machines
// serving one bot. It gives storage/sqldb its connections, its migrations
// and the SQL that is PostgreSQL's own; everything else is sqldb's, so that
// both engines give the same results to the digit.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"runtime"
	"time"

	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// lockKeys are the keys of the advisory locks of the deployment whose
// tables are in schema: one that every write transaction takes, so that
// writers take turns as SQLite's single writer makes them, whichever
// process they run in, and what a transaction reads before it writes
// stays true until it commits (writes are a CDTO's report, a user's
// setting, a broadcast's progress: a few hundred a second at most, each a
// millisecond or two); and goose's, so that processes starting together
// migrate once. Advisory locks are the database's, so the keys are the
// schema's: deployments in two schemas of one database do not wait for
// each other.
func lockKeys(schema string) (write, migrate int64) {
	h := fnv.New64a()
	h.Write([]byte("hromadabot:" + schema))
	k := int64(h.Sum64() &^ (1 << 63))
	return k, k ^ 1
}

// Open connects to the PostgreSQL database at url (postgres://…), applies
// the migrations (one process at a time, under goose's session lock),
// seeds the default plan into a fresh database and loads it.
func Open(ctx context.Context, url string) (*sqldb.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// The URL may hold a password: it is never part of an error.
		return nil, errors.New("open database: not a valid PostgreSQL URL")
	}
	pool := sqlx.NewDb(stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(inUTC)), "pgx")
	n := max(8, 4*runtime.GOMAXPROCS(0))
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	migrations, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var schema sql.NullString
	if err := pool.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	if !schema.Valid {
		pool.Close()
		return nil, errors.New("open database: the search_path names no schema that exists")
	}
	writeKey, migrateKey := lockKeys(schema.String)
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrateKey))
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return sqldb.Open(ctx, sqldb.Engine{
		Write:        pool,
		Read:         pool,
		Migrations:   migrations,
		Dialect:      goose.DialectPostgres,
		Migrate:      []goose.ProviderOption{goose.WithSessionLocker(locker)},
		FormatError:  FormatError,
		LockWrites:   fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", writeKey),
		ReadOptions:  &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		ValueHistory: SelectValueHistory,
	})
}

// inUTC makes a connection return times in UTC, as SQLite's driver does,
// rather than in the process's local zone: the same instant either way,
// but the store hands out times that compare and print alike.
func inUTC(_ context.Context, conn *pgx.Conn) error {
	conn.TypeMap().RegisterType(&pgtype.Type{
		Name: "timestamptz", OID: pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
	return nil
}

// SelectValueHistory packs a community's value history into one text for
// sqldb's ValueHistory, from reports_community_history alone (an
// index-only scan). float8's text is the shortest that reads back as the
// same value; the time is written in sqldb's layout.
const SelectValueHistory = `
SELECT COALESCE(string_agg(
	id || ' ' || indicator_id || ' ' || value::text || ' ' ||
	to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
	E'\n' ORDER BY created_at, id), '')
FROM reports WHERE community_id = ? AND retracted_at IS NULL`

// The SQLSTATE codes of the constraint violations FormatError maps.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// FormatError returns err as a *hromadabot.Error when it is a PostgreSQL
// constraint violation, so that callers see ECONFLICT instead of a driver
// message; other errors are returned unchanged.
func FormatError(err error) error {
	var pe *pgconn.PgError
	if err == nil || !errors.As(err, &pe) || len(pe.Code) != 5 || pe.Code[:2] != "23" {
		return err
	}
	switch pe.Code {
	case uniqueViolation:
		switch pe.ConstraintName {
		case "communities_katottg_key":
			return sqldb.ErrCommunityExists
		case "users_platform_key":
			return sqldb.ErrUserExists
		case "invites_code_hash_key":
			return sqldb.ErrInviteExists
		case "reports_dedup_key":
			return sqldb.ErrReportDuplicate
		}
		return sqldb.ErrConflict
	case foreignKeyViolation:
		return sqldb.ErrReferenceMissing
	}
	return sqldb.ErrConstraintFailed
}
