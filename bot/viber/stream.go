package viber

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/hromadabot/hromadabot/bot"
)

// Check reports, for /readyz, whether the channel can take callbacks: with
// a Stream, whether it is in touch with Redis; nil without one.
func (c *Channel) Check(ctx context.Context) error {
	if c.stream == nil {
		return nil
	}
	return c.stream.Check(ctx)
}

// accept puts a message callback into the stream, as it came, keyed by its
// message token: received once it is there.
func (c *Channel) accept(w http.ResponseWriter, r *http.Request, cb *callback, body []byte) {
	ev := c.event(cb, cb.Sender)
	if _, err := c.stream.Add(r.Context(), bot.StreamEntry{Key: ev.UpdateID, Chat: ev.ChatID, Raw: body}); err != nil {
		c.log.Warn("viber: callback refused: the stream does not take it", "update", ev.UpdateID, "err", err)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// decodeEntry is the update of a message callback from the stream, for the
// process that handles it, which downloads its media (Before) as well.
func (c *Channel) decodeEntry(e bot.StreamEntry) (*bot.Update, bool) {
	var cb callback
	if err := json.Unmarshal(e.Raw, &cb); err != nil || cb.Event != "message" || cb.Sender == nil || cb.Sender.ID == "" || cb.Message == nil {
		c.log.Error("viber: unreadable callback dropped from the stream", "update", e.Key, "err", err)
		return nil, false
	}
	u := c.messageUpdate(&cb)
	u.Attempts = c.cfg.Attempts
	return u, true
}
