package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/hromadabot/hromadabot"
)

const (
	sqlSelectReportStats = `
SELECT COUNT(*), COUNT(DISTINCT community_id) FROM reports
WHERE created_at >= ? AND retracted_at IS NULL`

	// The subquery walks the (reporter_id, created_at) index from the newest
	// end and stops at the first report not retracted.
	sqlSelectCDTOs = `
SELECT u.id, u.platform, u.platform_id, u.language, u.blocked, u.community_id, c.name,
       (SELECT r.created_at FROM reports r
        WHERE r.reporter_id = u.id AND r.retracted_at IS NULL
        ORDER BY r.created_at DESC, r.id DESC LIMIT 1) AS last_report
FROM users u JOIN communities c ON c.id = u.community_id
WHERE u.role = 'cdto'`

	sqlSelectAudit = `
SELECT id, at, actor, action, entity, entity_id, old_value, new_value
FROM audit ORDER BY id DESC LIMIT ?`
)

// Stats counts the reports since the given time and lists the CDTOs who
// have not reported since then.
func (db *DB) Stats(ctx context.Context, since time.Time) (*hromadabot.Stats, error) {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	var st hromadabot.Stats
	if err := tx.QueryRowContext(ctx, sqlSelectReportStats, formatTime(since)).Scan(&st.Reports, &st.CommunitiesReported); err != nil {
		return nil, fmt.Errorf("count reports: %w", err)
	}

	rows, err := tx.QueryContext(ctx, sqlSelectCDTOs)
	if err != nil {
		return nil, fmt.Errorf("select cdtos: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s hromadabot.SilentCDTO
		var platform, platformID string
		var last sql.NullString
		if err := rows.Scan(&s.UserID, &platform, &platformID, &s.Language, &s.Blocked, &s.CommunityID, &s.Name, &last); err != nil {
			return nil, fmt.Errorf("scan cdto: %w", err)
		}
		s.Ref = platform + ":" + platformID
		if last.Valid {
			t, err := parseTime(last.String)
			if err != nil {
				return nil, err
			}
			if !t.Before(since) {
				continue
			}
			s.LastReport = &t
		}
		st.SilentCDTOs = append(st.SilentCDTOs, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select cdtos: %w", err)
	}
	slices.SortFunc(st.SilentCDTOs, func(a, b hromadabot.SilentCDTO) int {
		if c := hromadabot.CompareUkrainian(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.UserID, b.UserID)
	})
	return &st, nil
}

// defaultAuditLimit is how many audit rows AuditLog returns without a limit.
const defaultAuditLimit = 100

// AuditLog returns the latest limit audit entries (100 when limit <= 0),
// newest first.
func (db *DB) AuditLog(ctx context.Context, limit int) ([]hromadabot.AuditEntry, error) {
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	var es []hromadabot.AuditEntry
	if err := db.read.SelectContext(ctx, &es, sqlSelectAudit, limit); err != nil {
		return nil, fmt.Errorf("select audit: %w", err)
	}
	return es, nil
}

// sqlSelectDataVersion reads the newest audit row and the catalogue's
// change counter: every report, retraction and change to a community or
// its targets moves one of them, in the same transaction.
const sqlSelectDataVersion = `SELECT COALESCE((SELECT MAX(id) FROM audit), 0), (SELECT n FROM catalog_changes WHERE id = 1)`

// DataVersion returns a number that grows with every change to what the
// open data shows, whichever process made it: what was derived from the
// records while it stands still is current. It costs two index lookups.
func (db *DB) DataVersion(ctx context.Context) (int64, error) {
	var audit, catalog int64
	if err := db.read.QueryRowContext(ctx, sqlSelectDataVersion).Scan(&audit, &catalog); err != nil {
		return 0, fmt.Errorf("select data version: %w", err)
	}
	// The catalogue's counter moves far slower than the audit log's; shifted
	// apart, the two never add up to the same version after a change.
	return catalog<<40 | audit, nil
}
