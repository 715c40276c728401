package hromadabot

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Invite lets one person become the CDTO of a community. Only the code's
// hash is stored; the code itself is shown once, to the admin who made it.
type Invite struct {
	ID          int64      `db:"id"`
	CodeHash    string     `db:"code_hash"`
	CommunityID int64      `db:"community_id"`
	CreatedBy   string     `db:"created_by"`
	CreatedAt   time.Time  `db:"created_at"`
	ExpiresAt   time.Time  `db:"expires_at"`
	UsedAt      *time.Time `db:"used_at"`
	UsedBy      *int64     `db:"used_by"`
}

// InviteTTL is how long an invite code stays valid.
const InviteTTL = 7 * 24 * time.Hour

// inviteAlphabet leaves out characters that are easy to misread (0/O, 1/I/L).
const inviteAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// NewInviteCode returns a random code such as "K7MX-Q2RP-HD4A" (60 bits).
func NewInviteCode() (string, error) {
	buf := make([]byte, 12)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, c := range buf {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(inviteAlphabet[int(c)%len(inviteAlphabet)])
	}
	return b.String(), nil
}

// HashInviteCode returns the stored form of a code. The code is normalized
// first, so "k7mx q2rp hd4a" matches "K7MX-Q2RP-HD4A".
func HashInviteCode(code string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		if strings.ContainsRune(inviteAlphabet, r) || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// AuditEntry records one change: who did what, when, and the old and new values.
type AuditEntry struct {
	ID       int64     `json:"id" db:"id"`
	At       time.Time `json:"at" db:"at"`
	Actor    string    `json:"actor" db:"actor"`
	Action   string    `json:"action" db:"action"`
	Entity   string    `json:"entity" db:"entity"`
	EntityID string    `json:"entity_id" db:"entity_id"`
	OldValue string    `json:"old_value,omitempty" db:"old_value"`
	NewValue string    `json:"new_value,omitempty" db:"new_value"`
}
