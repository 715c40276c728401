package telegram

import (
	"context"
	"errors"

	"github.com/hromadabot/hromadabot/bot"
)

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
// workers, oldest first, before anything new is fetched. Their ids are
// marked known: until confirmed Telegram may return them once more.
func (c *Channel) replay(ctx context.Context, t *bot.Offsets, cleaner *bot.InboxCleaner) error {
	return bot.ReplayInbox(ctx, c.cfg.Inbox, c.log.With("channel", "telegram"), func(id int, raw []byte) error {
		t.Remember(id)
		f := decodeUpdate(raw)
		if f.err != nil {
			c.log.Error("telegram: undecodable update dropped from the inbox", "update", id, "err", f.err)
			cleaner.Handled(id)
			return nil
		}
		done := func(err error) {
			if !errors.Is(err, bot.ErrStopped) {
				cleaner.Handled(id)
			}
		}
		u, ok := c.update(f.update, c.cfg.Attempts, done)
		if !ok {
			done(nil)
			return nil
		}
		return c.recv.Submit(ctx, u)
	})
}
