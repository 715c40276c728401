package hromadabot

import (
	"strings"
	"time"
)

// Broadcast kinds.
const (
	BroadcastReminder     = "reminder"
	BroadcastDigest       = "digest"
	BroadcastAnnouncement = "announcement"
)

// Broadcast statuses. A job is pending until a process first takes it,
// running while one sends it, paused during quiet hours or when the process
// sending it stopped, and done when no recipient is pending.
const (
	BroadcastPending = "pending"
	BroadcastRunning = "running"
	BroadcastPaused  = "paused"
	BroadcastDone    = "done"
)

// Recipient states. Only a pending recipient is ever sent to, and a
// recipient leaves pending once.
const (
	RecipientPending = "pending"
	RecipientSent    = "sent"
	RecipientFailed  = "failed"
	RecipientBlocked = "blocked"
)

// Broadcast is a job sending one message to each of its recipients: the
// weekly reminder to CDTOs, the weekly digest to subscribers or an admin's
// announcement.
type Broadcast struct {
	ID   int64  `json:"id" db:"id"`
	Kind string `json:"kind" db:"kind"`
	// Key is the idempotency key: "digest:2026-W47", "announce:…". The same
	// key never makes a second job.
	Key    string `json:"key" db:"idem_key"`
	Status string `json:"status" db:"status"`
	// OverrideQuiet lets the job send during quiet hours.
	OverrideQuiet bool `json:"override_quiet" db:"override_quiet"`
	// CreatedBy is the actor who made the job ("cli", "telegram:123",
	// "scheduler").
	CreatedBy  string     `json:"created_by" db:"created_by"`
	CreatedAt  time.Time  `json:"created_at" db:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty" db:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty" db:"finished_at"`
	// Total is the number of recipients.
	Total int `json:"total" db:"total"`
	// Owner identifies the process sending the job, "" when none is; its
	// hold ends at LeaseUntil unless renewed.
	Owner      string     `json:"owner,omitempty" db:"owner"`
	LeaseUntil *time.Time `json:"lease_until,omitempty" db:"lease_until"`
}

// Validate checks the job's kind, key and actor.
func (b *Broadcast) Validate() error {
	switch {
	case b.Kind != BroadcastReminder && b.Kind != BroadcastDigest && b.Kind != BroadcastAnnouncement:
		return FieldErrorf("kind", "broadcast_kind_invalid", "broadcast kind must be reminder, digest or announcement, got %q", b.Kind)
	case strings.TrimSpace(b.Key) == "":
		return FieldErrorf("key", "broadcast_key_required", "broadcast key is required")
	case b.CreatedBy == "":
		return FieldErrorf("actor", "actor_required", "actor is required for the audit log")
	}
	return nil
}

// Recipient is one person a broadcast goes to, with the message rendered
// for them when the job was made.
type Recipient struct {
	ID     int64 `json:"id" db:"id"`
	JobID  int64 `json:"job_id" db:"job_id"`
	UserID int64 `json:"user_id" db:"user_id"`
	// Platform and PlatformID are the chat: a private chat's id is the
	// user's platform id.
	Platform   string `json:"platform" db:"platform"`
	PlatformID string `json:"platform_id" db:"platform_id"`
	// Text is the message in the reply HTML subset.
	Text string `json:"text" db:"text"`
	// Buttons is the message's buttons as JSON, "" for none; storage keeps
	// it opaque.
	Buttons   string     `json:"buttons,omitempty" db:"buttons"`
	State     string     `json:"state" db:"state"`
	Attempts  int        `json:"attempts" db:"attempts"`
	LastError string     `json:"last_error,omitempty" db:"last_error"`
	SentAt    *time.Time `json:"sent_at,omitempty" db:"sent_at"`
}

// Validate checks that the recipient has a user, a chat and a message.
func (r *Recipient) Validate() error {
	if r.UserID <= 0 || r.Platform == "" || r.PlatformID == "" || r.Text == "" {
		return FieldErrorf("recipient", "broadcast_recipient_invalid", "a recipient needs a user, a chat and a message")
	}
	return nil
}

// RecipientResult is the outcome of sending to one recipient.
type RecipientResult struct {
	// ID is the recipient's id, UserID the user's: the user of a blocked
	// recipient is marked blocked and unsubscribed.
	ID     int64
	UserID int64
	// State is the new state; RecipientPending keeps the recipient for a
	// later attempt and records only Attempts and Error.
	State    string
	Attempts int
	// Error is the last send error, "" after a success.
	Error string
	// At is when the message went out; zero means the time of the write.
	At time.Time
}

// BroadcastProgress is a job with its recipients counted by state, in all
// and on each platform they are reached on.
type BroadcastProgress struct {
	Broadcast
	RecipientCounts
	ByPlatform map[string]RecipientCounts `json:"by_platform,omitempty"`
}

// RecipientCounts counts a job's recipients by state.
type RecipientCounts struct {
	Pending int `json:"pending"`
	Sent    int `json:"sent"`
	Failed  int `json:"failed"`
	Blocked int `json:"blocked"`
}

// Add counts n recipients in state.
func (c *RecipientCounts) Add(state string, n int) {
	switch state {
	case RecipientPending:
		c.Pending += n
	case RecipientSent:
		c.Sent += n
	case RecipientFailed:
		c.Failed += n
	case RecipientBlocked:
		c.Blocked += n
	}
}
