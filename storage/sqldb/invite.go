package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/hromadabot/hromadabot"
)

const (
	sqlInsertInvite = `
INSERT INTO invites (code_hash, community_id, created_by, created_at, expires_at)
VALUES (?, ?, ?, ?, ?)
RETURNING id`

	sqlSelectInviteByHash = `
SELECT id, code_hash, community_id, created_by, created_at, expires_at, used_at, used_by
FROM invites WHERE code_hash = ?`

	sqlUseInvite = `UPDATE invites SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL`
)

// CreateInvite makes a single-use code that turns whoever accepts it into a
// CDTO of the community, valid for hromadabot.InviteTTL. Only the code's hash
// is stored, so the code is shown once, to the caller; the audit log records
// the invite, never the code. ENOTFOUND for an unknown community.
func (db *DB) CreateInvite(ctx context.Context, communityID int64, actor string) (code string, err error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()

	if code, err = createInvite(ctx, tx, communityID, actor); err != nil {
		return "", db.formatError(err)
	}
	return code, tx.commit()
}

func createInvite(ctx context.Context, tx *txn, communityID int64, actor string) (string, error) {
	if err := checkCommunity(ctx, tx, communityID); err != nil {
		return "", err
	}
	code, err := hromadabot.NewInviteCode()
	if err != nil {
		return "", fmt.Errorf("new invite code: %w", err)
	}
	expires := tx.now.Add(hromadabot.InviteTTL)
	var id int64
	if err := tx.QueryRowContext(ctx, sqlInsertInvite,
		hromadabot.HashInviteCode(code), communityID, actor, formatTime(tx.now), formatTime(expires),
	).Scan(&id); err != nil {
		return "", fmt.Errorf("insert invite: %w", err)
	}
	if err := insertAudit(ctx, tx, hromadabot.AuditEntry{
		Actor: actor, Action: "invite.create", Entity: "invite", EntityID: strconv.FormatInt(id, 10),
		NewValue: fmt.Sprintf("community %d, expires %s", communityID, formatTime(expires)),
	}); err != nil {
		return "", err
	}
	return code, nil
}

// AcceptInvite makes the user a CDTO of the invite's community and uses the
// invite up, in one transaction, and returns the community. An unknown,
// used or expired code is an EINVALID error with reason "invite_unknown",
// "invite_used" or "invite_expired", and changes nothing.
func (db *DB) AcceptInvite(ctx context.Context, code string, userID int64) (*hromadabot.Community, error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	c, err := acceptInvite(ctx, tx, code, userID)
	if err != nil {
		return nil, db.formatError(err)
	}
	return c, tx.commit()
}

func acceptInvite(ctx context.Context, tx *txn, code string, userID int64) (*hromadabot.Community, error) {
	var inv hromadabot.Invite
	if err := tx.GetContext(ctx, &inv, sqlSelectInviteByHash, hromadabot.HashInviteCode(code)); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, hromadabot.FieldErrorf("code", "invite_unknown", "invite code is not known")
		}
		return nil, fmt.Errorf("select invite: %w", err)
	}
	switch {
	case inv.UsedAt != nil:
		return nil, hromadabot.FieldErrorf("code", "invite_used", "invite code has already been used")
	case !tx.now.Before(inv.ExpiresAt):
		return nil, hromadabot.FieldErrorf("code", "invite_expired", "invite code expired on %s", formatTime(inv.ExpiresAt))
	}

	var u hromadabot.User
	if err := tx.GetContext(ctx, &u, sqlSelectUser, userID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errNotFound("user_not_found", "user %d not found", userID)
		}
		return nil, fmt.Errorf("select user: %w", err)
	}
	if _, err := tx.ExecContext(ctx, sqlUseInvite, formatTime(tx.now), userID, inv.ID); err != nil {
		return nil, fmt.Errorf("use invite: %w", err)
	}
	actor := u.Ref()
	if err := insertAudit(ctx, tx, hromadabot.AuditEntry{
		Actor: actor, Action: "invite.accept", Entity: "invite", EntityID: strconv.FormatInt(inv.ID, 10),
		OldValue: "unused", NewValue: fmt.Sprintf("used by user %d for community %d", userID, inv.CommunityID),
	}); err != nil {
		return nil, err
	}
	u.Role, u.CommunityID = hromadabot.RoleCDTO, inv.CommunityID
	if err := updateUser(ctx, tx, &u, actor); err != nil {
		return nil, err
	}

	var c hromadabot.Community
	if err := tx.GetContext(ctx, &c, sqlSelectCommunity, inv.CommunityID); err != nil {
		return nil, fmt.Errorf("select community: %w", err)
	}
	return &c, nil
}
