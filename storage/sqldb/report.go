package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/hromadabot/hromadabot"
)

// reportColumns selects a report into hromadabot.Report.
const reportColumns = `id, community_id, indicator_id, value, comment, evidence, COALESCE(reporter_id, 0) AS reporter_id, source, created_at, dedup_key, retracted_at`

const (
	// The repeated condition is the partial index's own: without it SQLite
	// cannot tell that the index covers the key and scans every report.
	sqlSelectReportByDedupKey = `SELECT ` + reportColumns + ` FROM reports WHERE dedup_key = ? AND dedup_key <> ''`

	sqlInsertReport = `
INSERT INTO reports (community_id, indicator_id, value, comment, evidence, reporter_id, source, created_at, dedup_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id`

	sqlSelectCurrentValue = `
SELECT value FROM current_values WHERE community_id = ? AND indicator_id = ?`

	// The new report becomes the current value unless the current one is
	// newer, which only an import with historical times can cause.
	sqlUpsertCurrentValue = `
INSERT INTO current_values (community_id, indicator_id, report_id, value, updated_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (community_id, indicator_id) DO UPDATE
SET report_id = excluded.report_id, value = excluded.value, updated_at = excluded.updated_at
WHERE excluded.updated_at > current_values.updated_at
   OR (excluded.updated_at = current_values.updated_at AND excluded.report_id > current_values.report_id)`

	sqlReplaceCurrentValue = `
INSERT INTO current_values (community_id, indicator_id, report_id, value, updated_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (community_id, indicator_id) DO UPDATE
SET report_id = excluded.report_id, value = excluded.value, updated_at = excluded.updated_at`

	sqlDeleteCurrentValue = `DELETE FROM current_values WHERE community_id = ? AND indicator_id = ?`

	sqlSelectLatestValues = `SELECT indicator_id, value FROM current_values WHERE community_id = ?`

	sqlSelectLastByReporter = `
SELECT ` + reportColumns + ` FROM reports
WHERE reporter_id = ? AND retracted_at IS NULL
ORDER BY created_at DESC, id DESC
LIMIT 1`

	sqlSelectLatestReport = `
SELECT ` + reportColumns + ` FROM reports
WHERE community_id = ? AND indicator_id = ? AND retracted_at IS NULL
ORDER BY created_at DESC, id DESC
LIMIT 1`

	sqlRetractReport = `UPDATE reports SET retracted_at = ? WHERE id = ?`

	sqlSelectReports = `SELECT ` + reportColumns + ` FROM reports WHERE retracted_at IS NULL`
)

// CreateReport stores a report after validating it against the community's
// own plan (ENOTFOUND for an unknown community or indicator, EINVALID for a
// bad value) and sets r.ID and r.CreatedAt (db.Now). It returns the value
// the report replaced as the current value, nil when there was none.
//
// When r.DedupKey is set and a report with that key is already stored, it
// stores nothing, fills r from the stored report and returns nil, nil: an
// update delivered twice is recorded once.
func (db *DB) CreateReport(ctx context.Context, r *hromadabot.Report, actor string) (old *float64, err error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	// r changes only once the report is stored.
	c := *r
	c.CreatedAt = tx.now
	if old, err = createReport(ctx, tx, &c, nil, actor); err != nil {
		return nil, db.formatError(err)
	}
	if err := tx.commit(); err != nil {
		return nil, err
	}
	*r = c
	return old, nil
}

// CreateReports stores reports all or nothing, as an import needs. A report
// with a zero CreatedAt gets db.Now; a set one is kept (historical data) and
// must not be in the future. On the first bad report the error names its
// 1-based position ("row 3: …"), keeps its code and reason, and nothing is
// stored. On success the IDs and times are set in rs.
func (db *DB) CreateReports(ctx context.Context, rs []hromadabot.Report, actor string) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	out := make([]hromadabot.Report, len(rs))
	copy(out, rs)
	plans := make(map[int64]*hromadabot.Plan)
	for i := range out {
		r := &out[i]
		switch {
		case r.CreatedAt.IsZero():
			r.CreatedAt = tx.now
		case r.CreatedAt.After(tx.now):
			return tx.db.rowError(i, hromadabot.FieldErrorf("created_at", "report_time_future",
				"report time %s is in the future", r.CreatedAt.UTC().Format(time.RFC3339)))
		default:
			r.CreatedAt = r.CreatedAt.UTC().Truncate(time.Millisecond)
		}
		if _, err := createReport(ctx, tx, r, plans, actor); err != nil {
			return tx.db.rowError(i, err)
		}
	}
	if err := tx.commit(); err != nil {
		return err
	}
	copy(rs, out)
	return nil
}

// createReport stores r with r.CreatedAt as given, keeps current_values up
// to date and writes the audit row. plans caches community plans across a
// batch; it may be nil.
func createReport(ctx context.Context, tx *txn, r *hromadabot.Report, plans map[int64]*hromadabot.Plan, actor string) (*float64, error) {
	if r.DedupKey != "" {
		var stored hromadabot.Report
		switch err := tx.GetContext(ctx, &stored, sqlSelectReportByDedupKey, r.DedupKey); {
		case err == nil:
			*r = stored
			return nil, nil
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("select report: %w", err)
		}
	}

	if r.CommunityID > 0 {
		plan := plans[r.CommunityID]
		if plan == nil {
			var err error
			if plan, err = communityPlan(ctx, tx, r.CommunityID); err != nil {
				return nil, err
			}
			if plans != nil {
				plans[r.CommunityID] = plan
			}
		}
		if err := r.Validate(plan); err != nil {
			return nil, err
		}
	} else if err := r.Validate(&tx.db.plan); err != nil {
		return nil, err
	}

	if err := checkReporter(ctx, tx, r); err != nil {
		return nil, err
	}

	old, err := currentValue(ctx, tx, r.CommunityID, r.IndicatorID)
	if err != nil {
		return nil, err
	}
	if err := tx.QueryRowContext(ctx, sqlInsertReport,
		r.CommunityID, r.IndicatorID, r.Value, r.Comment, r.Evidence, nullID(r.ReporterID),
		r.Source, formatTime(r.CreatedAt), r.DedupKey,
	).Scan(&r.ID); err != nil {
		return nil, fmt.Errorf("insert report: %w", err)
	}
	r.RetractedAt = nil
	if _, err := tx.ExecContext(ctx, sqlUpsertCurrentValue,
		r.CommunityID, r.IndicatorID, r.ID, r.Value, formatTime(r.CreatedAt),
	); err != nil {
		return nil, fmt.Errorf("update current value: %w", err)
	}
	if err := insertAudit(ctx, tx, hromadabot.AuditEntry{
		Actor: actor, Action: "report.create", Entity: "report", EntityID: strconv.FormatInt(r.ID, 10),
		OldValue: describeValue(r.CommunityID, r.IndicatorID, old),
		NewValue: describeValue(r.CommunityID, r.IndicatorID, &r.Value),
	}); err != nil {
		return nil, err
	}
	return old, nil
}

// checkReporter makes sure that a report made by a user comes from a CDTO
// of the community, whatever the caller checked before: ENOTFOUND for an
// unknown user, EFORBIDDEN for anyone else. Reports from the CLI and
// imports have no reporter.
func checkReporter(ctx context.Context, tx *txn, r *hromadabot.Report) error {
	if r.ReporterID == 0 {
		return nil
	}
	var u hromadabot.User
	if err := tx.GetContext(ctx, &u, sqlSelectUser, r.ReporterID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return errNotFound("user_not_found", "reporter %d not found", r.ReporterID)
		}
		return fmt.Errorf("select reporter: %w", err)
	}
	if !u.IsCDTOOf(r.CommunityID) {
		return hromadabot.Errorf(hromadabot.EFORBIDDEN, "not_cdto", "user %s is not a CDTO of community %d", u.Ref(), r.CommunityID)
	}
	return nil
}

// currentValue returns the current value of an indicator, nil when none.
func currentValue(ctx context.Context, tx *txn, communityID int64, indicatorID int) (*float64, error) {
	var v float64
	switch err := tx.GetContext(ctx, &v, sqlSelectCurrentValue, communityID, indicatorID); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("select current value: %w", err)
	}
	return &v, nil
}

// describeValue is an indicator value's audit form: "community 12, indicator 5: 47.5".
func describeValue(communityID int64, indicatorID int, v *float64) string {
	s := "none"
	if v != nil {
		s = formatValue(*v)
	}
	return fmt.Sprintf("community %d, indicator %d: %s", communityID, indicatorID, s)
}

// LatestValues returns the community's current value of every reported
// indicator (indicator id → value); ENOTFOUND for an unknown community.
func (db *DB) LatestValues(ctx context.Context, communityID int64) (map[int]float64, error) {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	if err := checkCommunity(ctx, tx, communityID); err != nil {
		return nil, err
	}
	return latestValues(ctx, tx, communityID)
}

func latestValues(ctx context.Context, q sqlx.QueryerContext, communityID int64) (map[int]float64, error) {
	rows, err := q.QueryContext(ctx, sqlSelectLatestValues, communityID)
	if err != nil {
		return nil, fmt.Errorf("select current values: %w", err)
	}
	defer rows.Close()
	out := make(map[int]float64)
	for rows.Next() {
		var id int
		var v float64
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("scan current value: %w", err)
		}
		out[id] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select current values: %w", err)
	}
	return out, nil
}

// Reports returns the reports matching f, newest first, leaving out
// retracted ones.
func (db *DB) Reports(ctx context.Context, f hromadabot.ReportFilter) ([]hromadabot.Report, error) {
	q := newFilterQuery(sqlSelectReports)
	if f.CommunityID != 0 {
		q.and(`community_id = ?`, f.CommunityID)
	}
	if f.IndicatorID != 0 {
		q.and(`indicator_id = ?`, f.IndicatorID)
	}
	if f.ReporterID != 0 {
		q.and(`reporter_id = ?`, f.ReporterID)
	}
	if !f.Since.IsZero() {
		q.and(`created_at >= ?`, formatTime(f.Since))
	}
	q.sql.WriteString(` ORDER BY created_at DESC, id DESC`)
	if f.Limit > 0 {
		q.sql.WriteString(` LIMIT ?`)
		q.args = append(q.args, f.Limit)
	}
	var rs []hromadabot.Report
	if err := db.read.SelectContext(ctx, &rs, q.sql.String(), q.args...); err != nil {
		return nil, fmt.Errorf("select reports: %w", err)
	}
	return rs, nil
}

// RetractLastReport takes back the reporter's own latest report, if it was
// made within hromadabot.UndoWindow of db.Now: the report stays in the
// history marked retracted, and the indicator's current value falls back to
// the previous report (or to none). It returns the retracted report; with
// nothing to take back the error is ENOTFOUND with reason "undo_nothing".
func (db *DB) RetractLastReport(ctx context.Context, reporterID int64) (*hromadabot.Report, error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	r, err := retractLastReport(ctx, tx, reporterID)
	if err != nil {
		return nil, db.formatError(err)
	}
	return r, tx.commit()
}

func retractLastReport(ctx context.Context, tx *txn, reporterID int64) (*hromadabot.Report, error) {
	var r hromadabot.Report
	if err := tx.GetContext(ctx, &r, sqlSelectLastByReporter, reporterID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errNotFound("undo_nothing", "there is no report of yours to take back")
		}
		return nil, fmt.Errorf("select last report: %w", err)
	}
	if tx.now.Sub(r.CreatedAt) > hromadabot.UndoWindow {
		return nil, errNotFound("undo_nothing", "your last report is older than %s and can no longer be taken back", hromadabot.UndoWindow)
	}

	old, err := currentValue(ctx, tx, r.CommunityID, r.IndicatorID)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, sqlRetractReport, formatTime(tx.now), r.ID); err != nil {
		return nil, fmt.Errorf("retract report: %w", err)
	}
	now := tx.now
	r.RetractedAt = &now

	var cur *float64
	var prev hromadabot.Report
	switch err := tx.GetContext(ctx, &prev, sqlSelectLatestReport, r.CommunityID, r.IndicatorID); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, sqlDeleteCurrentValue, r.CommunityID, r.IndicatorID); err != nil {
			return nil, fmt.Errorf("delete current value: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("select previous report: %w", err)
	default:
		if _, err := tx.ExecContext(ctx, sqlReplaceCurrentValue,
			prev.CommunityID, prev.IndicatorID, prev.ID, prev.Value, formatTime(prev.CreatedAt),
		); err != nil {
			return nil, fmt.Errorf("update current value: %w", err)
		}
		cur = &prev.Value
	}

	actor, err := userRef(ctx, tx, reporterID)
	if err != nil {
		return nil, err
	}
	if err := insertAudit(ctx, tx, hromadabot.AuditEntry{
		Actor: actor, Action: "report.retract", Entity: "report",
		EntityID: strconv.FormatInt(r.ID, 10),
		OldValue: describeValue(r.CommunityID, r.IndicatorID, old),
		NewValue: describeValue(r.CommunityID, r.IndicatorID, cur),
	}); err != nil {
		return nil, err
	}
	return &r, nil
}

const sqlSelectCurrentReports = `
SELECT ` + reportColumns + ` FROM reports
WHERE id IN (SELECT report_id FROM current_values)
ORDER BY community_id, indicator_id`

// LatestReports returns the current report of every community and indicator
// that has one (the latest not retracted), ordered by community and
// indicator, in one query: the open data's table of values.
func (db *DB) LatestReports(ctx context.Context) ([]hromadabot.Report, error) {
	var rs []hromadabot.Report
	if err := db.read.SelectContext(ctx, &rs, sqlSelectCurrentReports); err != nil {
		return nil, fmt.Errorf("select current reports: %w", err)
	}
	return rs, nil
}

const sqlSelectCommunityCurrentReports = `
SELECT ` + reportColumns + ` FROM reports
WHERE id IN (SELECT report_id FROM current_values WHERE community_id = ?)
ORDER BY indicator_id`

// ValueHistory returns the values of the community's reports that are not
// retracted, oldest first. A community's page reads its whole history on
// every change, so the engine's query (Engine.ValueHistory) packs it into
// one text, a line per report ("id indicator value time", the time in
// timeLayout, the value with every bit): through database/sql every row
// costs microseconds, and a community with three years of weekly reports
// has 3,600. Each line is parsed in place.
func (db *DB) ValueHistory(ctx context.Context, communityID int64) ([]hromadabot.ValuePoint, error) {
	var text string
	if err := db.read.QueryRowContext(ctx, db.engine.ValueHistory, communityID).Scan(&text); err != nil {
		return nil, fmt.Errorf("select value history: %w", err)
	}
	if text == "" {
		return nil, nil
	}
	out := make([]hromadabot.ValuePoint, 0, strings.Count(text, "\n")+1)
	for line := range strings.Lines(text) {
		p, err := parseValuePoint(strings.TrimSuffix(line, "\n"))
		if err != nil {
			return nil, fmt.Errorf("value history of %d: line %q: %w", communityID, line, err)
		}
		out = append(out, p)
	}
	// Ordered as the current values take reports, also those of one time
	// (an import): by time, then as stored. The index gives them nearly so.
	slices.SortStableFunc(out, func(a, b hromadabot.ValuePoint) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ReportID, b.ReportID))
	})
	return out, nil
}

// parseValuePoint reads a line of the value history: id, indicator,
// value and time, separated by spaces.
func parseValuePoint(line string) (hromadabot.ValuePoint, error) {
	var p hromadabot.ValuePoint
	id, rest, ok1 := strings.Cut(line, " ")
	ind, rest, ok2 := strings.Cut(rest, " ")
	value, at, ok3 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !ok3 {
		return p, errors.New("not four fields")
	}
	var err error
	if p.ReportID, err = strconv.ParseInt(id, 10, 64); err != nil {
		return p, err
	}
	if p.IndicatorID, err = strconv.Atoi(ind); err != nil {
		return p, err
	}
	if p.Value, err = strconv.ParseFloat(value, 64); err != nil {
		return p, err
	}
	p.At, err = parseTime(at)
	return p, err
}

// CurrentReports returns the community's current report of every indicator
// that has one, by indicator: LatestReports for one community.
func (db *DB) CurrentReports(ctx context.Context, communityID int64) ([]hromadabot.Report, error) {
	var rs []hromadabot.Report
	if err := db.read.SelectContext(ctx, &rs, sqlSelectCommunityCurrentReports, communityID); err != nil {
		return nil, fmt.Errorf("select current reports: %w", err)
	}
	return rs, nil
}
