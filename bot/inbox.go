package bot

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"
)

// InboxFlushEvery is how often handled updates are removed from the inbox,
// in one call for all of them. A crash repeats at most this much handling.
const InboxFlushEvery = 20 * time.Millisecond

// Inbox is durable storage for polled updates received but not yet handled
// (Redis in production). A platform that returns every unconfirmed update
// with each poll, as Telegram does with at most 100, caps the updates in
// flight at what one poll returns if they are confirmed only once handled.
// With an inbox an update is confirmed once stored, and after a crash the
// updates left in it are handled first.
type Inbox interface {
	// Put stores raw updates by update id.
	Put(ctx context.Context, updates map[int][]byte) error
	// Done removes handled updates.
	Done(ctx context.Context, ids []int) error
	// Pending returns the updates stored and not done.
	Pending(ctx context.Context) (map[int][]byte, error)
}

// ReplayInbox hands the updates an earlier process left in the inbox to
// submit, lowest id first, before anything new is fetched. It tries until
// the inbox answers or ctx ends, and returns the first error of submit
// (the receiver stopping).
func ReplayInbox(ctx context.Context, in Inbox, log *slog.Logger, submit func(id int, raw []byte) error) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var pending map[int][]byte
	for failures := 1; ; failures++ {
		var err error
		if pending, err = in.Pending(ctx); err == nil {
			break
		}
		wait := Backoff(failures)
		log.Warn("reading the inbox failed", "err", err, "retry_in", wait.String())
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ids := slices.Sorted(maps.Keys(pending))
	if len(ids) > 0 {
		log.Info("handling updates left in the inbox", "updates", len(ids))
	}
	for _, id := range ids {
		if err := submit(id, pending[id]); err != nil {
			return err
		}
	}
	return nil
}

// InboxCleaner collects the ids of handled updates and removes them from
// the inbox every InboxFlushEvery, so that a busy bot makes one call for
// many. It is safe for concurrent use.
type InboxCleaner struct {
	in  Inbox
	log *slog.Logger

	mu  sync.Mutex
	ids []int
	// failures and retryAt space out the attempts while the inbox fails.
	failures int
	retryAt  time.Time
}

// NewInboxCleaner returns a cleaner of in; Run starts it.
func NewInboxCleaner(in Inbox, log *slog.Logger) *InboxCleaner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &InboxCleaner{in: in, log: log}
}

// Handled notes that an update kept in the inbox was handled.
func (c *InboxCleaner) Handled(id int) {
	c.mu.Lock()
	c.ids = append(c.ids, id)
	c.mu.Unlock()
}

// Run flushes until stop is closed, then once more.
func (c *InboxCleaner) Run(stop <-chan struct{}) {
	tick := time.NewTicker(InboxFlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			c.flush(false)
		case <-stop:
			// The last flush does not wait out a pause after a failure:
			// what it cannot remove is handled again after a restart.
			c.flush(true)
			return
		}
	}
}

func (c *InboxCleaner) flush(last bool) {
	c.mu.Lock()
	ids := c.ids
	if len(ids) == 0 || !last && time.Now().Before(c.retryAt) {
		c.mu.Unlock()
		return
	}
	c.ids = nil
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.in.Done(ctx, ids); err != nil {
		// Left in the inbox, they are handled again after a restart: a
		// repeat, which the dialogs tell apart, rather than a loss.
		c.mu.Lock()
		c.ids = append(ids, c.ids...)
		c.failures++
		wait := Backoff(c.failures)
		c.retryAt = time.Now().Add(wait)
		c.mu.Unlock()
		c.log.Warn("removing handled updates from the inbox failed", "updates", len(ids), "err", err, "retry_in", wait.String())
		return
	}
	c.mu.Lock()
	c.failures = 0
	c.mu.Unlock()
}
