package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
)

// maxRecipientError bounds the stored error of a failed send.
const maxRecipientError = 300

// broadcastColumns selects a job into Broadcast.
const broadcastColumns = `id, kind, idem_key, status, override_quiet, created_by, created_at, started_at, finished_at, total, owner, lease_until`

const (
	sqlInsertBroadcast = `
INSERT INTO broadcasts (kind, idem_key, status, override_quiet, created_by, created_at, finished_at, total)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (idem_key) DO NOTHING
RETURNING id`

	sqlInsertRecipient = `
INSERT INTO broadcast_recipients (job_id, user_id, platform, platform_id, text, buttons)
VALUES (?, ?, ?, ?, ?, ?)`

	sqlSelectBroadcast      = `SELECT ` + broadcastColumns + ` FROM broadcasts WHERE id = ?`
	sqlSelectBroadcastByKey = `SELECT ` + broadcastColumns + ` FROM broadcasts WHERE idem_key = ?`
	sqlSelectBroadcasts     = `SELECT ` + broadcastColumns + ` FROM broadcasts ORDER BY id DESC LIMIT ?`

	// A job whose lease has run out belongs to nobody: its process died.
	sqlSelectRunnable = `
SELECT ` + broadcastColumns + ` FROM broadcasts
WHERE status <> 'done' AND (owner = '' OR owner = ? OR lease_until IS NULL OR lease_until < ?)
ORDER BY id`

	sqlClaimBroadcast = `
UPDATE broadcasts
SET owner = ?, lease_until = ?, status = 'running', started_at = COALESCE(started_at, ?)
WHERE id = ? AND status <> 'done' AND (owner = '' OR owner = ? OR lease_until IS NULL OR lease_until < ?)`

	sqlRenewLease = `UPDATE broadcasts SET lease_until = ? WHERE id = ? AND owner = ?`

	sqlReleaseBroadcast = `
UPDATE broadcasts SET owner = '', lease_until = NULL, status = ?, finished_at = ?
WHERE id = ? AND owner = ?`

	sqlSelectPendingRecipients = `
SELECT id, job_id, user_id, platform, platform_id, text, buttons, state, attempts, last_error, sent_at
FROM broadcast_recipients
WHERE job_id = ? AND state = 'pending' AND id > ?
ORDER BY id
LIMIT ?`

	// The state guard keeps a recipient's outcome from ever being written
	// twice, even by a process that lost its lease.
	sqlUpdateRecipient = `
UPDATE broadcast_recipients SET state = ?, attempts = ?, last_error = ?, sent_at = ?
WHERE id = ? AND job_id = ? AND state = 'pending'`

	sqlBlockUser = `UPDATE users SET blocked = 1, subscribed = 0 WHERE id = ?`

	sqlCountRecipients = `
SELECT platform, state, COUNT(*) FROM broadcast_recipients WHERE job_id = ? GROUP BY platform, state`

	// The latest non-retracted report of every community and indicator
	// created at or before a time: the current values as they were then.
	// Every pair with a value now (current_values) is looked up in the
	// report index as of the time: one short index walk per pair instead of
	// a pass over the whole history. A pair without any report left has no
	// value then either.
	sqlSelectValuesAsOf = `
SELECT community_id, indicator_id, value FROM (
	SELECT cv.community_id, cv.indicator_id, (
		SELECT r.value FROM reports r
		WHERE r.community_id = cv.community_id AND r.indicator_id = cv.indicator_id
		  AND r.retracted_at IS NULL AND r.created_at <= ?
		ORDER BY r.created_at DESC, r.id DESC LIMIT 1
	) AS value
	FROM current_values cv
) AS latest WHERE value IS NOT NULL`

	sqlSelectCommunityIDs = `SELECT id FROM communities`

	// The latest report of a community is the current report of one of
	// its indicators: current_values answers without reading the history.
	sqlSelectLastReportTimes = `
SELECT community_id, MAX(updated_at) FROM current_values GROUP BY community_id`
)

// CreateBroadcast stores the job b with its recipients in one transaction,
// unless a job with the same key exists: then it stores nothing, fills b
// from the stored job and returns created false. It sets b.ID, b.Status,
// b.CreatedAt and b.Total; a job without recipients is done at once.
// EINVALID for an unknown kind, a missing key or actor, or a recipient
// without a chat or a message; ECONFLICT for a user listed twice.
func (db *DB) CreateBroadcast(ctx context.Context, b *hromadabot.Broadcast, rs []hromadabot.Recipient) (created bool, err error) {
	if err := b.Validate(); err != nil {
		return false, err
	}
	for i := range rs {
		if err := rs[i].Validate(); err != nil {
			return false, db.rowError(i, err)
		}
	}
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()

	c := *b
	if created, err = createBroadcast(ctx, tx, &c, rs); err != nil {
		return false, db.formatError(err)
	}
	if err := tx.commit(); err != nil {
		return false, err
	}
	*b = c
	return created, nil
}

func createBroadcast(ctx context.Context, tx *txn, b *hromadabot.Broadcast, rs []hromadabot.Recipient) (bool, error) {
	b.Status, b.FinishedAt = hromadabot.BroadcastPending, nil
	b.CreatedAt, b.Total = tx.now, len(rs)
	if len(rs) == 0 {
		now := tx.now
		b.Status, b.FinishedAt = hromadabot.BroadcastDone, &now
	}
	// A key stored already returns no row: the job stored first is the one.
	switch err := tx.QueryRowContext(ctx, sqlInsertBroadcast,
		b.Kind, b.Key, b.Status, flag(b.OverrideQuiet), b.CreatedBy, formatTime(b.CreatedAt), nullTime(b.FinishedAt), b.Total,
	).Scan(&b.ID); {
	case errors.Is(err, sql.ErrNoRows):
		if err := tx.GetContext(ctx, b, sqlSelectBroadcastByKey, b.Key); err != nil {
			return false, fmt.Errorf("select broadcast: %w", err)
		}
		return false, nil
	case err != nil:
		return false, fmt.Errorf("insert broadcast: %w", err)
	}

	stmt, err := tx.PreparexContext(ctx, sqlInsertRecipient)
	if err != nil {
		return false, fmt.Errorf("insert recipients: %w", err)
	}
	defer stmt.Close()
	for _, r := range rs {
		if _, err := stmt.ExecContext(ctx, b.ID, r.UserID, r.Platform, r.PlatformID, r.Text, r.Buttons); err != nil {
			return false, fmt.Errorf("insert recipient: %w", err)
		}
	}
	if err := insertAudit(ctx, tx, hromadabot.AuditEntry{
		Actor: b.CreatedBy, Action: "broadcast.create", Entity: "broadcast", EntityID: strconv.FormatInt(b.ID, 10),
		NewValue: fmt.Sprintf("kind=%s key=%s recipients=%d", b.Kind, b.Key, b.Total),
	}); err != nil {
		return false, err
	}
	return true, nil
}

// BroadcastByKey returns the job with the given idempotency key, or ENOTFOUND.
func (db *DB) BroadcastByKey(ctx context.Context, key string) (*hromadabot.Broadcast, error) {
	var b hromadabot.Broadcast
	if err := db.read.GetContext(ctx, &b, sqlSelectBroadcastByKey, key); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errNotFound("broadcast_not_found", "broadcast %q not found", key)
		}
		return nil, fmt.Errorf("select broadcast: %w", err)
	}
	return &b, nil
}

// RunnableBroadcasts returns the unfinished jobs that owner may send,
// oldest first: those nobody holds, those whose holder's lease ran out, and
// owner's own.
func (db *DB) RunnableBroadcasts(ctx context.Context, owner string) ([]hromadabot.Broadcast, error) {
	var bs []hromadabot.Broadcast
	if err := db.read.SelectContext(ctx, &bs, sqlSelectRunnable, owner, formatTime(db.now())); err != nil {
		return nil, fmt.Errorf("select broadcasts: %w", err)
	}
	return bs, nil
}

// ClaimBroadcast makes owner the sender of an unfinished job, or renews its
// hold, for lease from now, and marks the job running. It returns false when
// the job is done or another owner's lease is still running.
func (db *DB) ClaimBroadcast(ctx context.Context, id int64, owner string, lease time.Duration) (bool, error) {
	if owner == "" {
		return false, hromadabot.FieldErrorf("owner", "broadcast_owner_required", "broadcast owner is required")
	}
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()

	now := formatTime(tx.now)
	res, err := tx.ExecContext(ctx, sqlClaimBroadcast, owner, formatTime(tx.now.Add(lease)), now, id, owner, now)
	if err != nil {
		return false, fmt.Errorf("claim broadcast: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim broadcast: %w", err)
	}
	return n == 1, tx.commit()
}

// ReleaseBroadcast gives up owner's hold on the job and sets its status:
// hromadabot.BroadcastDone when nothing is pending, BroadcastPaused
// otherwise. A job owner does not hold is left alone.
func (db *DB) ReleaseBroadcast(ctx context.Context, id int64, owner, status string) error {
	var finished any
	switch status {
	case hromadabot.BroadcastDone:
		finished = formatTime(db.now())
	case hromadabot.BroadcastPaused:
	default:
		return hromadabot.FieldErrorf("status", "broadcast_status_invalid", "a released broadcast is done or paused, not %q", status)
	}
	if _, err := db.write.ExecContext(ctx, sqlReleaseBroadcast, status, finished, id, owner); err != nil {
		return fmt.Errorf("release broadcast: %w", err)
	}
	return nil
}

// PendingRecipients returns up to limit pending recipients of the job with
// ids above afterID, in id order.
func (db *DB) PendingRecipients(ctx context.Context, jobID, afterID int64, limit int) ([]hromadabot.Recipient, error) {
	var rs []hromadabot.Recipient
	if err := db.read.SelectContext(ctx, &rs, sqlSelectPendingRecipients, jobID, afterID, limit); err != nil {
		return nil, fmt.Errorf("select recipients: %w", err)
	}
	return rs, nil
}

// RecordRecipients stores the outcomes of a batch of sends in one
// transaction, marks the users of blocked recipients blocked and
// unsubscribed (audited, with the user as the actor: they blocked the bot),
// and renews owner's lease on the job. The outcomes are stored even when the
// lease was lost, since the messages went out; held then reports false.
func (db *DB) RecordRecipients(ctx context.Context, jobID int64, owner string, lease time.Duration, rs []hromadabot.RecipientResult) (held bool, err error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()

	if err := recordRecipients(ctx, tx, jobID, rs); err != nil {
		return false, db.formatError(err)
	}
	res, err := tx.ExecContext(ctx, sqlRenewLease, formatTime(tx.now.Add(lease)), jobID, owner)
	if err != nil {
		return false, fmt.Errorf("renew lease: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("renew lease: %w", err)
	}
	return n == 1, tx.commit()
}

func recordRecipients(ctx context.Context, tx *txn, jobID int64, rs []hromadabot.RecipientResult) error {
	stmt, err := tx.PreparexContext(ctx, sqlUpdateRecipient)
	if err != nil {
		return fmt.Errorf("update recipients: %w", err)
	}
	defer stmt.Close()
	for _, r := range rs {
		switch r.State {
		case hromadabot.RecipientPending, hromadabot.RecipientSent, hromadabot.RecipientFailed, hromadabot.RecipientBlocked:
		default:
			return hromadabot.FieldErrorf("state", "recipient_state_invalid", "recipient %d: unknown state %q", r.ID, r.State)
		}
		var sentAt any
		if r.State == hromadabot.RecipientSent {
			at := r.At
			if at.IsZero() {
				at = tx.now
			}
			sentAt = formatTime(at)
		}
		res, err := stmt.ExecContext(ctx, r.State, r.Attempts, clipError(r.Error), sentAt, r.ID, jobID)
		if err != nil {
			return fmt.Errorf("update recipient: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("update recipient: %w", err)
		} else if n == 1 && r.State == hromadabot.RecipientBlocked {
			if err := blockUser(ctx, tx, r.UserID); err != nil {
				return err
			}
		}
	}
	return nil
}

// blockUser marks a user who blocked the bot, so that no broadcast picks
// them again; writing to the bot later unblocks them but leaves the digest off.
func blockUser(ctx context.Context, tx *txn, userID int64) error {
	var old hromadabot.User
	if err := tx.GetContext(ctx, &old, sqlSelectUser, userID); err != nil {
		return fmt.Errorf("select user: %w", err)
	}
	if old.Blocked && !old.Subscribed {
		return nil
	}
	if _, err := tx.ExecContext(ctx, sqlBlockUser, userID); err != nil {
		return fmt.Errorf("block user: %w", err)
	}
	u := old
	u.Blocked, u.Subscribed = true, false
	return insertAudit(ctx, tx, hromadabot.AuditEntry{
		Actor: old.Ref(), Action: "user.block", Entity: "user", EntityID: strconv.FormatInt(userID, 10),
		OldValue: describeUser(&old, &u), NewValue: describeUser(&u, &old),
	})
}

// clipError bounds a stored send error; a rune cut in half is dropped.
func clipError(s string) string {
	if len(s) <= maxRecipientError {
		return s
	}
	return strings.ToValidUTF8(s[:maxRecipientError], "")
}

// BroadcastProgress returns the job with its recipients counted by state,
// or ENOTFOUND.
func (db *DB) BroadcastProgress(ctx context.Context, id int64) (*hromadabot.BroadcastProgress, error) {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	var p hromadabot.BroadcastProgress
	if err := tx.GetContext(ctx, &p.Broadcast, sqlSelectBroadcast, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errNotFound("broadcast_not_found", "broadcast %d not found", id)
		}
		return nil, fmt.Errorf("select broadcast: %w", err)
	}
	if err := countRecipients(ctx, tx, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Broadcasts returns the latest limit jobs (10 when limit <= 0), newest
// first, with their progress.
func (db *DB) Broadcasts(ctx context.Context, limit int) ([]hromadabot.BroadcastProgress, error) {
	if limit <= 0 {
		limit = 10
	}
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	var bs []hromadabot.Broadcast
	if err := tx.SelectContext(ctx, &bs, sqlSelectBroadcasts, limit); err != nil {
		return nil, fmt.Errorf("select broadcasts: %w", err)
	}
	out := make([]hromadabot.BroadcastProgress, len(bs))
	for i := range bs {
		out[i].Broadcast = bs[i]
		if err := countRecipients(ctx, tx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func countRecipients(ctx context.Context, tx *txn, p *hromadabot.BroadcastProgress) error {
	rows, err := tx.QueryContext(ctx, sqlCountRecipients, p.ID)
	if err != nil {
		return fmt.Errorf("count recipients: %w", err)
	}
	defer rows.Close()
	p.RecipientCounts = hromadabot.RecipientCounts{}
	p.ByPlatform = map[string]hromadabot.RecipientCounts{}
	for rows.Next() {
		var platform, state string
		var n int
		if err := rows.Scan(&platform, &state, &n); err != nil {
			return fmt.Errorf("count recipients: %w", err)
		}
		p.Add(state, n)
		c := p.ByPlatform[platform]
		c.Add(state, n)
		p.ByPlatform[platform] = c
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count recipients: %w", err)
	}
	return nil
}

// ValuesAsOf returns every community's values as they stood at the given
// time (community id → indicator id → value): the latest report made at or
// before it that is not retracted. One query, whatever the number of
// communities.
func (db *DB) ValuesAsOf(ctx context.Context, at time.Time) (map[int64]map[int]float64, error) {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return valuesAsOf(ctx, tx, at)
}

func valuesAsOf(ctx context.Context, tx *txn, at time.Time) (map[int64]map[int]float64, error) {
	return communityValues(ctx, tx, sqlSelectValuesAsOf, formatTime(at))
}

// ScoresAsOf scores every community for the year with its own plan and the
// values as they stood at the given time (ValuesAsOf), in one snapshot: the
// weekly digest compares this week's index and rank with last week's.
func (db *DB) ScoresAsOf(ctx context.Context, year int, at time.Time) (map[int64]hromadabot.Score, error) {
	if err := validateYear(year); err != nil {
		return nil, err
	}
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	var ids []int64
	if err := tx.SelectContext(ctx, &ids, sqlSelectCommunityIDs); err != nil {
		return nil, fmt.Errorf("select communities: %w", err)
	}
	values, err := valuesAsOf(ctx, tx, at)
	if err != nil {
		return nil, err
	}
	planOf, err := communityPlans(ctx, tx)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]hromadabot.Score, len(ids))
	for _, id := range ids {
		out[id] = hromadabot.ComputeScore(planOf(id), values[id], year)
	}
	return out, nil
}

// LastReportTimes returns the time of every community's latest report that
// is not retracted (community id → time); a community never reported on is
// absent.
func (db *DB) LastReportTimes(ctx context.Context) (map[int64]time.Time, error) {
	rows, err := db.read.QueryContext(ctx, sqlSelectLastReportTimes)
	if err != nil {
		return nil, fmt.Errorf("select last reports: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]time.Time)
	for rows.Next() {
		var id int64
		var s string
		if err := rows.Scan(&id, &s); err != nil {
			return nil, fmt.Errorf("scan last report: %w", err)
		}
		t, err := parseTime(s)
		if err != nil {
			return nil, err
		}
		out[id] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select last reports: %w", err)
	}
	return out, nil
}
