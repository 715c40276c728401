// Package storage names what the bot keeps and opens it: the records in
// SQLite (storage/sqlite, the default) or PostgreSQL (storage/postgres),
// both through storage/sqldb, behind the one Records interface that the
// command line works with and the one conformance suite
// (storage/recordtest) checks. The dialog state is apart: storage/redis or
// storage/memory.
package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage/postgres"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// Catalog is the communities and their plans.
type Catalog interface {
	CreateCommunity(ctx context.Context, c *hromadabot.Community, actor string) error
	LoadHromadas(ctx context.Context, cs []hromadabot.Community, actor string) (added int, err error)
	Community(ctx context.Context, id int64) (*hromadabot.Community, error)
	Communities(ctx context.Context) ([]hromadabot.Community, error)
	CountCommunities(ctx context.Context) (int, error)
	SearchCommunities(ctx context.Context, query string, limit int) ([]hromadabot.Community, error)
	FindCommunity(ctx context.Context, ref string) (*hromadabot.Community, error)

	DefaultPlan() hromadabot.Plan
	Plan(ctx context.Context, communityID int64) (*hromadabot.Plan, error)
	SetCommunityTargets(ctx context.Context, communityID int64, own map[int]hromadabot.Targets, actor string) error
}

// Reports is the append-only history of values, and what is computed
// from it.
type Reports interface {
	CreateReport(ctx context.Context, r *hromadabot.Report, actor string) (old *float64, err error)
	CreateReports(ctx context.Context, rs []hromadabot.Report, actor string) error
	RetractLastReport(ctx context.Context, reporterID int64) (*hromadabot.Report, error)
	LatestValues(ctx context.Context, communityID int64) (map[int]float64, error)
	Reports(ctx context.Context, f hromadabot.ReportFilter) ([]hromadabot.Report, error)
	LatestReports(ctx context.Context) ([]hromadabot.Report, error)
	CurrentReports(ctx context.Context, communityID int64) ([]hromadabot.Report, error)
	ValueHistory(ctx context.Context, communityID int64) ([]hromadabot.ValuePoint, error)
	ValuesAsOf(ctx context.Context, at time.Time) (map[int64]map[int]float64, error)
	LastReportTimes(ctx context.Context) (map[int64]time.Time, error)

	Score(ctx context.Context, communityID int64, year int) (*hromadabot.Score, error)
	ScoresAsOf(ctx context.Context, year int, at time.Time) (map[int64]hromadabot.Score, error)
	Ranking(ctx context.Context, year int) (hromadabot.Ranking, error)
	FreshRanking(ctx context.Context, year int) (hromadabot.Ranking, error)
}

// Users is the people the bot talks to, and the invites that make a CDTO.
type Users interface {
	EnsureUser(ctx context.Context, platform, platformID, language string) (*hromadabot.User, error)
	User(ctx context.Context, id int64) (*hromadabot.User, error)
	UserByPlatform(ctx context.Context, platform, platformID string) (*hromadabot.User, error)
	Users(ctx context.Context, f hromadabot.UserFilter) ([]hromadabot.User, error)
	UpdateUser(ctx context.Context, u *hromadabot.User, actor string) error

	CreateInvite(ctx context.Context, communityID int64, actor string) (code string, err error)
	AcceptInvite(ctx context.Context, code string, userID int64) (*hromadabot.Community, error)
}

// Broadcasts is the jobs of reminders, digests and announcements, each
// with its recipients.
type Broadcasts interface {
	CreateBroadcast(ctx context.Context, b *hromadabot.Broadcast, rs []hromadabot.Recipient) (created bool, err error)
	BroadcastByKey(ctx context.Context, key string) (*hromadabot.Broadcast, error)
	RunnableBroadcasts(ctx context.Context, owner string) ([]hromadabot.Broadcast, error)
	ClaimBroadcast(ctx context.Context, id int64, owner string, lease time.Duration) (bool, error)
	ReleaseBroadcast(ctx context.Context, id int64, owner, status string) error
	PendingRecipients(ctx context.Context, jobID, afterID int64, limit int) ([]hromadabot.Recipient, error)
	RecordRecipients(ctx context.Context, jobID int64, owner string, lease time.Duration, rs []hromadabot.RecipientResult) (held bool, err error)
	BroadcastProgress(ctx context.Context, id int64) (*hromadabot.BroadcastProgress, error)
	Broadcasts(ctx context.Context, limit int) ([]hromadabot.BroadcastProgress, error)
}

// Files is the evidence and pictures the bot keeps.
type Files interface {
	PutFile(ctx context.Context, f *hromadabot.File) error
	File(ctx context.Context, id string) (*hromadabot.File, error)
	DeletePictures(ctx context.Context, before time.Time) (int64, error)
}

// Records is everything the bot keeps but the dialog state. Its
// consumers (dialogs, broadcast, the site) each declare the few methods
// they use; the command line, which uses them all, takes Records.
type Records interface {
	Catalog
	Reports
	Users
	Broadcasts
	Files

	// Turn returns a context for the handling of one event, under which
	// what the store keeps in memory is checked for changes once.
	Turn(ctx context.Context) context.Context
	Stats(ctx context.Context, since time.Time) (*hromadabot.Stats, error)
	AuditLog(ctx context.Context, limit int) ([]hromadabot.AuditEntry, error)
	// DataVersion moves whenever anything published changes.
	DataVersion(ctx context.Context) (int64, error)

	// SetClock replaces the store's clock, for tests of what depends on
	// time (the undo window, invite expiry); call it before the store is
	// shared.
	SetClock(now func() time.Time)
	Ping(ctx context.Context) error
	Close() error
}

var _ Records = (*sqldb.DB)(nil)

// Open opens the records at url: a postgres:// or postgresql:// URL for
// PostgreSQL, a sqlite: URL or a plain file path for SQLite.
func Open(ctx context.Context, url string) (Records, error) {
	engine, target, err := Parse(url)
	if err != nil {
		return nil, err
	}
	switch engine {
	case EnginePostgres:
		return postgres.Open(ctx, target)
	default:
		return sqlite.Open(ctx, target)
	}
}

// Copy copies every record of from into the empty to, with the same ids,
// and checks the row counts and checksums of every table on both sides:
// sqldb.Copy, for records opened by Open.
func Copy(ctx context.Context, from, to Records) (*sqldb.CopyReport, error) {
	src, ok := from.(*sqldb.DB)
	if !ok {
		return nil, fmt.Errorf("copy: the source is a %T, not a SQL database", from)
	}
	dst, ok := to.(*sqldb.DB)
	if !ok {
		return nil, fmt.Errorf("copy: the target is a %T, not a SQL database", to)
	}
	return sqldb.Copy(ctx, src, dst)
}

// The engines a database URL can name.
const (
	EngineSQLite   = "sqlite"
	EnginePostgres = "postgres"
)

// Parse returns the engine a database URL names and what that engine
// opens: the file path of a sqlite: URL or a plain path, the URL itself
// for PostgreSQL.
func Parse(raw string) (engine, target string, err error) {
	if raw == "" {
		return "", "", errors.New("database: no path or URL")
	}
	scheme, rest, found := strings.Cut(raw, ":")
	if !found || strings.ContainsAny(scheme, `/\.`) || len(scheme) < 2 {
		// A plain path, "C:\…" included.
		return EngineSQLite, raw, nil
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		// The URL may hold a password: it is never part of an error.
		if _, err := url.Parse(raw); err != nil {
			return "", "", errors.New("database URL: not a valid postgres:// URL")
		}
		return EnginePostgres, raw, nil
	case "sqlite", "sqlite3", "file":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return "", "", errors.New("database URL: sqlite: without a file path")
		}
		return EngineSQLite, path, nil
	}
	return "", "", fmt.Errorf("database URL: unknown engine %q (postgres:// or sqlite:)", scheme)
}
