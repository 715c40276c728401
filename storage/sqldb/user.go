package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hromadabot/hromadabot"
)

// userColumns selects a user into hromadabot.User.
const userColumns = `id, platform, platform_id, language, role, COALESCE(community_id, 0) AS community_id, subscribed, blocked, created_at, last_seen_at`

const (
	sqlSelectUser           = `SELECT ` + userColumns + ` FROM users WHERE id = ?`
	sqlSelectUserByPlatform = `SELECT ` + userColumns + ` FROM users WHERE platform = ? AND platform_id = ?`
	sqlSelectUsers          = `SELECT ` + userColumns + ` FROM users WHERE 1 = 1`
	sqlSelectUserRef        = `SELECT platform || ':' || platform_id FROM users WHERE id = ?`

	// A concurrent first contact of the same user finds the row inserted and
	// inserts nothing instead of failing on the unique key.
	sqlInsertUser = `
INSERT INTO users (platform, platform_id, language, role, subscribed, blocked, created_at, last_seen_at)
VALUES (?, ?, ?, ?, 0, 0, ?, ?)
ON CONFLICT (platform, platform_id) DO NOTHING`

	sqlTouchUser = `UPDATE users SET last_seen_at = ? WHERE platform = ? AND platform_id = ?`

	sqlUpdateUser = `
UPDATE users SET language = ?, role = ?, community_id = ?, subscribed = ?, blocked = ? WHERE id = ?`
)

// EnsureUser returns the user of a platform account, creating a resident
// with the platform's language (hromadabot.NormalizeLanguage) on first
// contact, and records the contact in last_seen_at. A later contact keeps
// the language the user has.
func (db *DB) EnsureUser(ctx context.Context, platform, platformID, language string) (*hromadabot.User, error) {
	if _, _, err := hromadabot.ParseUserRef(platform + ":" + platformID); err != nil {
		return nil, err
	}
	ch, err := db.changes(ctx)
	if err != nil {
		return nil, err
	}
	// Most updates come from someone seen a moment ago: answer from memory
	// while no user changed, else read them without queueing for the one
	// writer.
	seen, ok := db.users.get(platform, platformID, ch.users)
	if !ok {
		switch err := db.read.GetContext(ctx, &seen, sqlSelectUserByPlatform, platform, platformID); {
		case err == nil:
			db.users.put(&seen, ch.users)
			ok = true
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("select user: %w", err)
		}
	}
	if ok && db.now().Sub(seen.LastSeenAt) < lastSeenPrecision {
		return &seen, nil
	}
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	u, err := ensureUser(ctx, tx, platform, platformID, hromadabot.NormalizeLanguage(language))
	if err != nil {
		return nil, db.formatError(err)
	}
	if err := tx.commit(); err != nil {
		return nil, err
	}
	// A contact moves no counter: the row read in the transaction is the
	// user as of ch unless the turn wrote, and then the next one reads it.
	db.users.put(u, ch.users)
	return u, nil
}

// lastSeenPrecision is how stale a user's last_seen_at may be: contacts
// closer together than this write nothing.
const lastSeenPrecision = time.Minute

// maxCachedUsers bounds the users kept in memory, a few hundred bytes
// each; past it, a quarter of them are forgotten.
const maxCachedUsers = 16384

// userCache keeps the users the bot talks to, keyed by platform account,
// as of a users counter (see changes): every event starts by looking its
// person up, and reading the row costs more than the rest of a simple
// answer. When the counter moves, all of them are forgotten.
type userCache struct {
	mu      sync.Mutex
	changes int64
	byRef   map[string]hromadabot.User
}

func (c *userCache) get(platform, platformID string, changes int64) (hromadabot.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if changes != c.changes {
		return hromadabot.User{}, false
	}
	u, ok := c.byRef[platform+":"+platformID]
	return u, ok
}

// put keeps u as read when the counter stood at changes.
func (c *userCache) put(u *hromadabot.User, changes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case changes < c.changes:
		// Read before a change that emptied the cache: it may be stale.
		return
	case changes > c.changes || c.byRef == nil:
		c.changes, c.byRef = changes, make(map[string]hromadabot.User)
	case len(c.byRef) >= maxCachedUsers:
		for ref := range c.byRef {
			if len(c.byRef) < maxCachedUsers*3/4 {
				break
			}
			delete(c.byRef, ref)
		}
	}
	c.byRef[u.Ref()] = *u
}

func ensureUser(ctx context.Context, tx *txn, platform, platformID, language string) (*hromadabot.User, error) {
	now := formatTime(tx.now)
	res, err := tx.ExecContext(ctx, sqlInsertUser, platform, platformID, language, hromadabot.RoleResident, now, now)
	if err != nil {
		return nil, fmt.Errorf("insert user: %w", err)
	}
	created, err := res.RowsAffected()
	if err != nil {
		return nil, fmt.Errorf("insert user: %w", err)
	}
	if created == 0 {
		if _, err := tx.ExecContext(ctx, sqlTouchUser, now, platform, platformID); err != nil {
			return nil, fmt.Errorf("touch user: %w", err)
		}
	}
	var u hromadabot.User
	if err := tx.GetContext(ctx, &u, sqlSelectUserByPlatform, platform, platformID); err != nil {
		return nil, fmt.Errorf("select user: %w", err)
	}
	if created > 0 {
		if err := insertAudit(ctx, tx, hromadabot.AuditEntry{
			Actor: u.Ref(), Action: "user.create", Entity: "user", EntityID: strconv.FormatInt(u.ID, 10),
			NewValue: describeUser(&u, nil),
		}); err != nil {
			return nil, err
		}
	}
	return &u, nil
}

// User returns the user with the given id, or ENOTFOUND.
func (db *DB) User(ctx context.Context, id int64) (*hromadabot.User, error) {
	var u hromadabot.User
	if err := db.read.GetContext(ctx, &u, sqlSelectUser, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errNotFound("user_not_found", "user %d not found", id)
		}
		return nil, fmt.Errorf("select user: %w", err)
	}
	return &u, nil
}

// UserByPlatform returns the user of a platform account, or ENOTFOUND.
func (db *DB) UserByPlatform(ctx context.Context, platform, platformID string) (*hromadabot.User, error) {
	var u hromadabot.User
	if err := db.read.GetContext(ctx, &u, sqlSelectUserByPlatform, platform, platformID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errNotFound("user_not_found", "user %s:%s not found", platform, platformID)
		}
		return nil, fmt.Errorf("select user: %w", err)
	}
	return &u, nil
}

// Users returns the users matching f, by id. The weekly digest asks for
// subscribed, not blocked users; reminders for the CDTOs of a community.
func (db *DB) Users(ctx context.Context, f hromadabot.UserFilter) ([]hromadabot.User, error) {
	q := newFilterQuery(sqlSelectUsers)
	if f.CommunityID != 0 {
		q.and(`community_id = ?`, f.CommunityID)
	}
	if f.Role != "" {
		q.and(`role = ?`, f.Role)
	}
	if f.Subscribed {
		q.and(`subscribed = 1`)
	}
	if f.NotBlocked {
		q.and(`blocked = 0`)
	}
	q.sql.WriteString(` ORDER BY id`)
	var us []hromadabot.User
	if err := db.read.SelectContext(ctx, &us, q.sql.String(), q.args...); err != nil {
		return nil, fmt.Errorf("select users: %w", err)
	}
	return us, nil
}

// UpdateUser stores the user's language, role, community, subscription and
// blocked flag (other fields are ignored) and writes the changes to the
// audit log; u is then refreshed from the database. ENOTFOUND for an unknown
// user or community, EINVALID for an unknown language or role or a CDTO
// without a community.
func (db *DB) UpdateUser(ctx context.Context, u *hromadabot.User, actor string) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := updateUser(ctx, tx, u, actor); err != nil {
		return db.formatError(err)
	}
	return tx.commit()
}

func updateUser(ctx context.Context, tx *txn, u *hromadabot.User, actor string) error {
	switch {
	case u.Language != hromadabot.LangUK && u.Language != hromadabot.LangEN:
		return hromadabot.FieldErrorf("language", "language_invalid", "language must be %s or %s, got %q", hromadabot.LangUK, hromadabot.LangEN, u.Language)
	case u.Role != hromadabot.RoleResident && u.Role != hromadabot.RoleCDTO:
		return hromadabot.FieldErrorf("role", "role_invalid", "role must be %s or %s, got %q", hromadabot.RoleResident, hromadabot.RoleCDTO, u.Role)
	case u.Role == hromadabot.RoleCDTO && u.CommunityID == 0:
		return hromadabot.FieldErrorf("community", "cdto_community_required", "a CDTO needs a community")
	case u.CommunityID < 0:
		return errNotFound("community_not_found", "community %d not found", u.CommunityID)
	}
	var old hromadabot.User
	if err := tx.GetContext(ctx, &old, sqlSelectUser, u.ID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return errNotFound("user_not_found", "user %d not found", u.ID)
		}
		return fmt.Errorf("select user: %w", err)
	}
	if u.CommunityID != 0 && u.CommunityID != old.CommunityID {
		if err := checkCommunity(ctx, tx, u.CommunityID); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, sqlUpdateUser,
		u.Language, u.Role, nullID(u.CommunityID), flag(u.Subscribed), flag(u.Blocked), u.ID,
	); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	if oldV, newV := describeUser(&old, u), describeUser(u, &old); newV != "" {
		if err := insertAudit(ctx, tx, hromadabot.AuditEntry{
			Actor: actor, Action: "user.update", Entity: "user", EntityID: strconv.FormatInt(u.ID, 10),
			OldValue: oldV, NewValue: newV,
		}); err != nil {
			return err
		}
	}
	if err := tx.GetContext(ctx, u, sqlSelectUser, u.ID); err != nil {
		return fmt.Errorf("select user: %w", err)
	}
	return nil
}

// describeUser writes the audit form of the user's stored fields that
// differ from other, or all of them when other is nil:
// "role=cdto community=12".
func describeUser(u, other *hromadabot.User) string {
	var parts []string
	all := other == nil
	if all {
		other = &hromadabot.User{}
	}
	add := func(name string, differs bool, v string) {
		if all || differs {
			parts = append(parts, name+"="+v)
		}
	}
	add("language", u.Language != other.Language, u.Language)
	add("role", u.Role != other.Role, string(u.Role))
	add("community", u.CommunityID != other.CommunityID, strconv.FormatInt(u.CommunityID, 10))
	add("subscribed", u.Subscribed != other.Subscribed, strconv.FormatBool(u.Subscribed))
	add("blocked", u.Blocked != other.Blocked, strconv.FormatBool(u.Blocked))
	return strings.Join(parts, " ")
}

// userRef returns the user's "platform:id", the actor of what the user does
// without an actor being passed.
func userRef(ctx context.Context, tx *txn, id int64) (string, error) {
	var ref string
	if err := tx.GetContext(ctx, &ref, sqlSelectUserRef, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", errNotFound("user_not_found", "user %d not found", id)
		}
		return "", fmt.Errorf("select user: %w", err)
	}
	return ref, nil
}
