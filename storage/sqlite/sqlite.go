// Package sqlite is the record store in one SQLite file, through
// mattn/go-sqlite3: the default, for one bot process on one machine. It
// gives storage/sqldb its connections, its migrations and the SQL that is
// SQLite's own; everything else is sqldb's.
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
	"strings"

	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Open opens (creating if needed) the database file at path, applies the
// embedded migrations, seeds the default plan into a fresh database and
// loads it.
func Open(ctx context.Context, path string) (*sqldb.DB, error) {
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
	migrations, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
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

	write, err := sqlx.Open("sqlite3", path+"?"+wparams.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// One connection writes: SQLite allows one writer at a time, so writers
	// queue in the pool instead of failing with SQLITE_BUSY. It stays open:
	// closing it would throw away SQLite's page cache and, for the last
	// connection, checkpoint the WAL each time.
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)

	// Readers run concurrently; in WAL mode they never wait for the writer.
	read, err := sqlx.Open("sqlite3", path+"?"+rparams.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	return sqldb.Open(ctx, sqldb.Engine{
		Write:        write,
		Read:         read,
		Migrations:   migrations,
		Dialect:      goose.DialectSQLite3,
		FormatError:  FormatError,
		ValueHistory: SelectValueHistory,
	})
}

// SelectValueHistory packs a community's value history into one text for
// sqldb's ValueHistory. Every column is in reports_community_history, so
// the table itself is not read, in the index's order of time; %.17g keeps
// every bit of a value.
const SelectValueHistory = `
SELECT COALESCE(group_concat(printf('%d %d %.17g %s', id, indicator_id, value, created_at), char(10)), '')
FROM reports WHERE community_id = ? AND retracted_at IS NULL`

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
			return sqldb.ErrCommunityExists
		case strings.Contains(msg, "users.platform"):
			return sqldb.ErrUserExists
		case strings.Contains(msg, "invites.code_hash"):
			return sqldb.ErrInviteExists
		case strings.Contains(msg, "reports.dedup_key"):
			return sqldb.ErrReportDuplicate
		}
		return sqldb.ErrConflict
	case sqlite3.ErrConstraintForeignKey:
		return sqldb.ErrReferenceMissing
	}
	return sqldb.ErrConstraintFailed
}
