package telegram

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/hromadabot/hromadabot/bot"
)

// Check reports, for /readyz, whether the channel can take updates: with
// a Stream, whether it is in touch with Redis; nil without one.
func (c *Channel) Check(ctx context.Context) error {
	if c.stream == nil {
		return nil
	}
	return c.stream.Check(ctx)
}

// accept puts a webhook update into the stream: received once it is there.
func (c *Channel) accept(w http.ResponseWriter, r *http.Request, u tgbotapi.Update, body []byte) {
	ev, ok := c.event(u)
	if !ok {
		w.WriteHeader(http.StatusOK)
		return
	}
	if _, err := c.stream.Add(r.Context(), streamEntry(ev, body)); err != nil {
		c.log.Warn("telegram: webhook update refused: the stream does not take it", "update", u.UpdateID, "err", err)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// streamEntry is what goes into the stream of an update: its raw bytes,
// keyed by its UpdateID, in its chat's shard.
func streamEntry(ev bot.Event, raw []byte) bot.StreamEntry {
	return bot.StreamEntry{Key: ev.UpdateID, Chat: ev.ChatID, Raw: raw}
}

// decodeEntry is the update of a stream entry, for the process that
// handles it, which answers a pressed button (Before) as well.
func (c *Channel) decodeEntry(e bot.StreamEntry) (*bot.Update, bool) {
	f := decodeUpdate(e.Raw)
	if f.err != nil {
		c.log.Error("telegram: undecodable update dropped from the stream", "update", f.id, "err", f.err)
		return nil, false
	}
	return c.update(f.update, c.cfg.Attempts, nil)
}

// pollStream polls while this process holds the poller lease, for every
// process: each update fetched goes into the stream, and is confirmed to
// Telegram (by the next poll's offset) once it is there. An update the
// stream did not take stays unconfirmed and is fetched again. At the end
// the offset reached is confirmed, so that the next poller does not fetch
// it again; what it would fetch again is not added twice all the same.
func (c *Channel) pollStream(ctx context.Context) error {
	c.log.Info("telegram: this process polls")
	if err := c.moveInbox(ctx); err != nil && ctx.Err() == nil {
		c.log.Warn("telegram: moving the inbox to the stream failed; tried again when this process next polls", "err", err)
	}
	offset, sent := 0, 0
	defer func() {
		if offset > sent {
			c.confirmOffset(offset)
		}
	}()
	failures := 0
	for ctx.Err() == nil {
		fetched, err := c.getUpdates(ctx, offset, 100, c.cfg.PollTimeout, nil)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var te *Error
			if errors.As(err, &te) && te.Code == http.StatusUnauthorized {
				return fmt.Errorf("telegram: getUpdates: the token was revoked or is wrong (401)")
			}
			failures++
			wait := bot.Backoff(failures)
			if ra, ok := bot.RetryAfter(err); ok {
				wait = ra
			}
			c.log.Warn("telegram: getUpdates failed", "err", err, "retry_in", wait.String())
			if bot.Sleep(ctx, wait) != nil {
				return nil
			}
			continue
		}
		sent = offset
		next := offset
		var entries []bot.StreamEntry
		for _, f := range fetched {
			next = max(next, f.id+1)
			if f.err != nil {
				// Left unconfirmed, it would block every later update.
				c.log.Error("telegram: undecodable update skipped", "update", f.id, "err", f.err)
				continue
			}
			if ev, ok := c.event(f.update); ok {
				entries = append(entries, streamEntry(ev, f.raw))
			}
		}
		if len(entries) > 0 {
			if _, err := c.stream.Add(ctx, entries...); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				failures++
				wait := bot.Backoff(failures)
				c.log.Warn("telegram: the stream does not take polled updates; they stay with Telegram", "updates", len(entries), "err", err, "retry_in", wait.String())
				if bot.Sleep(ctx, wait) != nil {
					return nil
				}
				continue
			}
		}
		failures = 0
		offset = next
	}
	return nil
}

// confirmOffset tells Telegram that the updates below offset arrived. It
// asks for at most one update and does not wait.
func (c *Channel) confirmOffset(offset int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.getUpdates(ctx, offset, 1, 0, nil); err != nil {
		c.log.Warn("telegram: final confirmation failed; the next poller fetches those updates again", "offset", offset, "err", err)
	}
}

// moveInbox moves into the stream what a process without one left in the
// Inbox: updates it had confirmed to Telegram and not handled, which
// would be lost on the way to a stream otherwise. The poller does it, so
// one process at a time.
func (c *Channel) moveInbox(ctx context.Context) error {
	if c.cfg.Inbox == nil {
		return nil
	}
	pending, err := c.cfg.Inbox.Pending(ctx)
	if err != nil || len(pending) == 0 {
		return err
	}
	ids := slices.Sorted(maps.Keys(pending))
	var entries []bot.StreamEntry
	for _, id := range ids {
		f := decodeUpdate(pending[id])
		if f.err != nil {
			c.log.Error("telegram: undecodable update dropped from the inbox", "update", id, "err", f.err)
			continue
		}
		if ev, ok := toEvent(f.update, c.now()); ok {
			entries = append(entries, streamEntry(ev, pending[id]))
		}
	}
	if len(entries) > 0 {
		if _, err := c.stream.Add(ctx, entries...); err != nil {
			return err
		}
	}
	if err := c.cfg.Inbox.Done(ctx, ids); err != nil {
		return err
	}
	c.log.Info("telegram: updates left in the inbox moved to the stream", "updates", len(entries))
	return nil
}
