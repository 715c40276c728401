package telegram

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"
)

// inboxFlush is how often handled updates are removed from the inbox, in
// one call for all of them. A crash repeats at most this much handling.
const inboxFlush = 20 * time.Millisecond

// store puts fresh updates into the inbox; false means they are not kept
// there (no inbox, or it failed) and must be confirmed only once handled.
func (c *Channel) store(ctx context.Context, fresh []fetchedUpdate) bool {
	if c.cfg.Inbox == nil || len(fresh) == 0 {
		return false
	}
	raws := make(map[int][]byte, len(fresh))
	for _, f := range fresh {
		raws[f.id] = f.raw
	}
	if err := c.cfg.Inbox.Put(ctx, raws); err != nil {
		c.log.Warn("telegram: inbox unavailable; updates confirmed once handled", "updates", len(raws), "err", err)
		return false
	}
	return true
}

// replay hands the updates left in the inbox by an earlier process to the
// workers, oldest first, before anything new is fetched. It tries until the
// inbox answers or ctx ends. Their ids are marked known: until confirmed
// Telegram may return them once more.
func (c *Channel) replay(ctx context.Context, p *pool) error {
	var pending map[int][]byte
	for failures := 1; ; failures++ {
		var err error
		if pending, err = c.cfg.Inbox.Pending(ctx); err == nil {
			break
		}
		wait := backoff(failures)
		c.log.Warn("telegram: reading the inbox failed", "err", err, "retry_in", wait.String())
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ids := slices.Sorted(maps.Keys(pending))
	if len(ids) > 0 {
		c.log.Info("telegram: handling updates left in the inbox", "updates", len(ids))
	}
	for _, id := range ids {
		p.tracker.remember(id)
		f := decodeUpdate(pending[id])
		if f.err != nil {
			c.log.Error("telegram: undecodable update dropped from the inbox", "update", id, "err", f.err)
			p.handled(id)
			continue
		}
		j := &job{update: f.update, attempts: c.cfg.Attempts, done: func(err error) {
			if !errors.Is(err, errStopped) {
				p.handled(id)
			}
		}}
		if err := p.submit(ctx, chatKey(f.update), j); err != nil {
			return err
		}
	}
	return nil
}

// handledIDs collects the ids of handled updates and removes them from the
// inbox every inboxFlush, so that a busy bot makes one call for many.
type handledIDs struct {
	mu  sync.Mutex
	ids []int
	// failures and retryAt space out the attempts while the inbox fails.
	failures int
	retryAt  time.Time
}

func (h *handledIDs) add(id int) {
	h.mu.Lock()
	h.ids = append(h.ids, id)
	h.mu.Unlock()
}

// run flushes until stop is closed, then once more.
func (h *handledIDs) run(c *Channel, stop <-chan struct{}) {
	tick := time.NewTicker(inboxFlush)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			h.flush(c)
		case <-stop:
			h.flush(c)
			return
		}
	}
}

func (h *handledIDs) flush(c *Channel) {
	h.mu.Lock()
	ids := h.ids
	if len(ids) == 0 || time.Now().Before(h.retryAt) {
		h.mu.Unlock()
		return
	}
	h.ids = nil
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	if err := c.cfg.Inbox.Done(ctx, ids); err != nil {
		// Left in the inbox, they are handled again after a restart: a
		// repeat, which the dialogs tell apart, rather than a loss.
		h.mu.Lock()
		h.ids = append(ids, h.ids...)
		h.failures++
		wait := backoff(h.failures)
		h.retryAt = time.Now().Add(wait)
		h.mu.Unlock()
		c.log.Warn("telegram: removing handled updates from the inbox failed", "updates", len(ids), "err", err, "retry_in", wait.String())
		return
	}
	h.mu.Lock()
	h.failures = 0
	h.mu.Unlock()
}
