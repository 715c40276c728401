package hromadabot

import (
	"strconv"
	"strings"
	"time"
)

// Role is what a user may do.
type Role string

// Roles. Admins are configured by platform id, not stored as a role.
const (
	RoleResident Role = "resident"
	RoleCDTO     Role = "cdto"
)

// Chat platforms.
const (
	PlatformTelegram = "telegram"
	PlatformViber    = "viber"
	PlatformConsole  = "console"
)

// User is a person talking to the bot on one platform.
type User struct {
	ID         int64  `json:"id" db:"id"`
	Platform   string `json:"platform" db:"platform"`
	PlatformID string `json:"platform_id" db:"platform_id"`
	Language   string `json:"language" db:"language"`
	Role       Role   `json:"role" db:"role"`
	// CommunityID is "my community": the one a resident follows, or the one
	// a CDTO reports for. 0 when not chosen yet.
	CommunityID int64     `json:"community_id" db:"community_id"`
	Subscribed  bool      `json:"subscribed" db:"subscribed"`
	Blocked     bool      `json:"blocked" db:"blocked"`
	CreatedAt   time.Time `json:"created_at" db:"created_at"`
	LastSeenAt  time.Time `json:"last_seen_at" db:"last_seen_at"`
}

// Ref is the user's platform-qualified id, as used in ADMIN_IDS and the audit
// log: "telegram:12345".
func (u *User) Ref() string { return u.Platform + ":" + u.PlatformID }

// IsCDTOOf reports whether the user may report for the community.
func (u *User) IsCDTOOf(communityID int64) bool {
	return u.Role == RoleCDTO && communityID > 0 && u.CommunityID == communityID
}

// ParseUserRef splits "telegram:12345" into platform and id.
func ParseUserRef(s string) (platform, id string, err error) {
	platform, id, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || platform == "" || id == "" {
		return "", "", FieldErrorf("user", "user_ref_invalid", "user %q must look like platform:id, e.g. telegram:12345", s)
	}
	switch platform {
	case PlatformTelegram:
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return "", "", FieldErrorf("user", "user_ref_invalid", "telegram user id %q must be a number", id)
		}
	case PlatformViber, PlatformConsole:
	default:
		return "", "", FieldErrorf("user", "user_ref_invalid", "unknown platform %q in %q (telegram, viber or console)", platform, s)
	}
	return platform, id, nil
}

// NormalizeLanguage maps a platform language code ("en-US", "uk") to one of
// the bot's languages: English for English, Ukrainian for everything else.
func NormalizeLanguage(code string) string {
	if strings.HasPrefix(strings.ToLower(code), "en") {
		return LangEN
	}
	return LangUK
}
