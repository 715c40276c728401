package telegram

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/hromadabot/hromadabot/bot"
)

// SecretHeader carries the webhook's secret_token in every webhook request.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// allowedUpdatesJSON are the update kinds the bot asks for, as the Bot API
// takes them; the rest never reaches it.
const allowedUpdatesJSON = `["message","callback_query"]`

// parkedAfter is how long a getUpdates call must have been waiting before
// it is taken for parked in its long poll; an answer takes far less.
const parkedAfter = 100 * time.Millisecond

// busyPoll is how often getUpdates is called while the oldest unconfirmed
// update is still being handled.
const busyPoll = time.Second

// pollGap is how long the next getUpdates waits for the updates in flight
// to be handled. Telegram returns every unconfirmed update with each call,
// so polling at once after new updates would fetch those in flight over
// and over: under load, several times the new ones.
const pollGap = 5 * time.Millisecond

// Run receives and handles updates until ctx is cancelled: by long polling,
// or, with a webhook URL configured, by setting the webhook and handling
// what arrives through ServeHTTP. Each update's event goes to h and each
// reply to s. On cancellation Run stops receiving, lets the updates being
// handled finish (for at most ShutdownGrace), leaves the queued ones to be
// delivered again and returns nil. It returns an error only when receiving
// cannot go on: the webhook cannot be set or the token was revoked.
func (c *Channel) Run(ctx context.Context, h bot.Handler, s bot.ReplySender) error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return errors.New("telegram: Run may be called once")
	}
	c.started = true
	c.mu.Unlock()

	// The workers start first: a webhook may deliver as soon as it is set.
	if err := c.recv.Start(ctx, h, s); err != nil {
		return err
	}
	// The stream receiver runs until Run ends, whatever ends it.
	streamCtx, stopStream := context.WithCancel(ctx)
	defer stopStream()
	var streamed chan struct{}
	if c.stream != nil {
		streamed = make(chan struct{})
		go func() {
			defer close(streamed)
			if err := c.stream.Run(streamCtx); err != nil {
				c.log.Error("telegram: stream receiver", "err", err)
			}
		}()
	}
	var err error
	if c.cfg.WebhookURL != "" {
		if err = c.setWebhook(ctx); ctx.Err() != nil {
			// Stopped while the webhook was being set: a stop, not a failure.
			err = nil
		}
	} else if derr := c.call(ctx, "deleteWebhook", sendTimeout, func(api *tgbotapi.BotAPI) error {
		// getUpdates refuses to work while a webhook is set.
		_, err := api.Request(tgbotapi.DeleteWebhookConfig{})
		return err
	}); derr != nil && ctx.Err() == nil {
		c.log.Warn("telegram: delete webhook failed", "err", derr)
	}
	offsets := bot.NewOffsets()
	var afterStop func()
	if err == nil {
		if cerr := c.setCommands(ctx); cerr != nil && ctx.Err() == nil {
			c.log.Warn("telegram: set command menu failed", "err", cerr)
		}
		switch {
		case c.cfg.WebhookURL != "":
			c.log.Info("telegram: receiving updates by webhook", "bot", c.Username(), "shared", c.stream != nil)
			<-ctx.Done()
		case c.stream != nil:
			c.log.Info("telegram: receiving updates by long polling, shared: one process polls", "bot", c.Username())
			err = c.stream.Lead(ctx, "poller", c.pollStream)
		default:
			c.log.Info("telegram: receiving updates by long polling", "bot", c.Username())
			afterStop, err = c.receive(ctx, offsets)
		}
	}
	stopStream()
	c.recv.Stop()
	if streamed != nil {
		<-streamed
	}
	c.answering.Wait()
	if afterStop != nil {
		afterStop()
	}
	if c.cfg.WebhookURL == "" && c.stream == nil {
		c.confirm(offsets)
	}
	c.log.Info("telegram: stopped")
	return err
}

// update is the Receiver's update for a Telegram update; false when the
// bot does not handle it. done hears the outcome.
func (c *Channel) update(u tgbotapi.Update, attempts int, done func(error)) (*bot.Update, bool) {
	ev, ok := c.event(u)
	if !ok {
		return nil, false
	}
	bu := &bot.Update{Event: ev, Attempts: attempts, Done: done}
	if q := u.CallbackQuery; q != nil {
		bu.Before = func(ctx context.Context, _ *bot.Event) {
			// Every pressed button is answered, or the client keeps a spinner.
			if err := c.answerCallback(ctx, q.ID); err != nil {
				c.log.Debug("telegram: answer callback failed", "update", u.UpdateID, "err", err)
			}
		}
	}
	return bu, true
}

// event is the neutral event of an update; false when the bot does not
// handle it, whose button, if it is one, is answered all the same, or the
// client keeps a spinner.
func (c *Channel) event(u tgbotapi.Update) (bot.Event, bool) {
	ev, ok := toEvent(u, c.now())
	if !ok {
		if q := u.CallbackQuery; q != nil {
			c.answering.Go(func() { _ = c.answerCallback(context.Background(), q.ID) })
		}
	}
	return ev, ok
}

// confirm tells Telegram about updates handled since the last poll, so a
// restart does not receive them again. It asks for at most one update and
// does not wait; what it returns stays unconfirmed.
func (c *Channel) confirm(t *bot.Offsets) {
	offset, unsent, _ := t.State()
	if !unsent {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.getUpdates(ctx, offset, 1, 0, nil); err != nil {
		c.log.Warn("telegram: final confirmation failed; handled updates will be delivered again", "offset", offset, "err", err)
		return
	}
	t.SentOffset(offset)
}

// receive polls, first handing over what an earlier process left in the
// inbox. With an inbox it returns, besides polling's error, what runs once
// the workers have stopped: the last removal of handled updates from the
// inbox, which waits for the workers' last ones.
func (c *Channel) receive(ctx context.Context, t *bot.Offsets) (afterStop func(), err error) {
	if c.cfg.Inbox == nil {
		return nil, c.poll(ctx, t, nil)
	}
	cleaner := bot.NewInboxCleaner(c.cfg.Inbox, c.log.With("channel", "telegram"))
	stopFlush, flushed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(flushed)
		cleaner.Run(stopFlush)
	}()
	afterStop = func() {
		close(stopFlush)
		<-flushed
	}
	if err := c.replay(ctx, t, cleaner); err != nil {
		// Stopping before the inbox could be read or replayed: what is left
		// there stays for the next start.
		return afterStop, nil
	}
	return afterStop, c.poll(ctx, t, cleaner)
}

// poll is the long-polling loop. A poll parked in its long wait is cut
// short when handling confirms more updates, so that the offset reaches
// Telegram promptly and a crash redelivers as little as possible.
func (c *Channel) poll(ctx context.Context, t *bot.Offsets, cleaner *bot.InboxCleaner) error {
	failures := 0
	for ctx.Err() == nil {
		offset, _, progress := t.State()
		pollCtx, cancel := context.WithCancel(ctx)
		started := time.Now()
		go func() {
			select {
			case <-progress:
			case <-pollCtx.Done():
				return
			}
			// Only a poll parked in its long wait is cut short: cutting one
			// that is about to answer would throw its updates away, and its
			// connection with them, again and again under load.
			select {
			case <-time.After(time.Until(started.Add(parkedAfter))):
				cancel()
			case <-pollCtx.Done():
			}
		}()
		fetched, err := c.getUpdates(pollCtx, offset, 100, c.cfg.PollTimeout, t.Known)
		cut := pollCtx.Err() != nil && ctx.Err() == nil
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if cut {
				continue
			}
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
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		failures = 0
		t.SentOffset(offset)
		var fresh []fetchedUpdate
		for _, f := range fetched {
			if t.Known(f.id) {
				// Fetched again only because it is not confirmed yet.
				continue
			}
			if f.err != nil {
				// An update the library cannot read would block every later
				// one if it stayed unconfirmed: log it and move past it.
				c.log.Error("telegram: undecodable update skipped", "update", f.id, "err", f.err)
				if t.Add(f.id) {
					t.Finish(f.id)
				}
				continue
			}
			fresh = append(fresh, f)
		}
		stored := cleaner != nil && c.store(ctx, fresh)
		for _, f := range fresh {
			id := f.id
			if !t.Add(id) {
				continue
			}
			done := func(err error) {
				if !errors.Is(err, bot.ErrStopped) {
					t.Finish(id)
				}
			}
			if stored {
				// Kept in the inbox: Telegram may forget it now.
				t.Finish(id)
				done = func(err error) {
					if !errors.Is(err, bot.ErrStopped) {
						cleaner.Handled(id)
					}
				}
			}
			u, ok := c.update(f.update, c.cfg.Attempts, done)
			if !ok {
				done(nil)
				continue
			}
			if err := c.recv.Submit(ctx, u); err != nil {
				// Stopping: this and later updates stay unconfirmed, or in
				// the inbox.
				return nil
			}
		}
		if len(fresh) > 0 {
			// Under load the next poll waits a moment, so that it brings a
			// batch rather than an update or two, and without an inbox not
			// the updates still in flight again. A poll that waited for its
			// updates waited long enough.
			if stored {
				if bot.Sleep(ctx, time.Until(started.Add(pollGap))) != nil {
					return nil
				}
			} else if !t.WaitHandled(ctx, pollGap) {
				return nil
			}
			continue
		}
		if len(fetched) > 0 {
			// Everything Telegram returned is still being handled, so it
			// would answer at once again: ask when some of it is done, or
			// after a pause, as updates of other chats may be waiting
			// behind a slow one.
			select {
			case <-progress:
			case <-time.After(busyPoll):
			case <-ctx.Done():
				return nil
			}
		}
	}
	return nil
}

// fetchedUpdate is one update of a getUpdates answer: decoded, or the
// error that kept it from being decoded. An update fetched again because
// it is still in flight has only its id.
type fetchedUpdate struct {
	id     int
	raw    json.RawMessage
	update tgbotapi.Update
	err    error
}

// getUpdates fetches updates and decodes those known tells apart as new;
// each is decoded on its own, so that one the library cannot read does not
// fail the batch. Under load most of an answer is updates still in flight,
// which Telegram sends again until they are confirmed.
func (c *Channel) getUpdates(ctx context.Context, offset, limit int, timeout time.Duration, known func(id int) bool) ([]fetchedUpdate, error) {
	params := tgbotapi.Params{"limit": strconv.Itoa(limit), "timeout": strconv.Itoa(int(timeout / time.Second))}
	if offset != 0 {
		params["offset"] = strconv.Itoa(offset)
	}
	params["allowed_updates"] = allowedUpdatesJSON
	var out []fetchedUpdate
	err := c.call(ctx, "getUpdates", timeout+sendTimeout, func(api *tgbotapi.BotAPI) error {
		resp, err := api.MakeRequest("getUpdates", params)
		if err != nil {
			return err
		}
		out, err = decodeUpdates(resp.Result, known)
		return err
	})
	return out, err
}

func decodeUpdates(result json.RawMessage, known func(id int) bool) ([]fetchedUpdate, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(result, &raws); err != nil {
		return nil, err
	}
	out := make([]fetchedUpdate, len(raws))
	for i, raw := range raws {
		if id, ok := leadingUpdateID(raw); ok && known != nil && known(id) {
			out[i] = fetchedUpdate{id: id}
			continue
		}
		out[i] = decodeUpdate(raw)
	}
	return out, nil
}

// decodeUpdate decodes one raw update; one the library cannot read keeps
// its id, when it has one, and the error.
func decodeUpdate(raw json.RawMessage) fetchedUpdate {
	u, err := parseUpdate(raw)
	if err != nil {
		var id struct {
			UpdateID int `json:"update_id"`
		}
		json.Unmarshal(raw, &id)
		return fetchedUpdate{id: id.UpdateID, err: err}
	}
	return fetchedUpdate{id: u.UpdateID, raw: raw, update: u}
}

// leadingUpdateID reads the update_id of an update that starts with it, as
// the Bot API writes every update, without decoding the rest; false when
// the update is laid out otherwise.
func leadingUpdateID(raw json.RawMessage) (int, bool) {
	const prefix = `{"update_id":`
	rest, ok := bytes.CutPrefix(raw, []byte(prefix))
	if !ok {
		return 0, false
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || n > 18 || n == len(rest) || (rest[n] != ',' && rest[n] != '}') {
		return 0, false
	}
	id, err := strconv.Atoi(string(rest[:n]))
	return id, err == nil
}

// setWebhook registers the webhook with its secret token. The library's
// WebhookConfig has no secret_token, so the call is made by hand.
func (c *Channel) setWebhook(ctx context.Context) error {
	params := tgbotapi.Params{
		"url":             c.cfg.WebhookURL,
		"secret_token":    c.cfg.WebhookSecret,
		"max_connections": strconv.Itoa(min(max(c.cfg.Workers, 1), 100)),
		"allowed_updates": allowedUpdatesJSON,
	}
	if err := c.call(ctx, "setWebhook", sendTimeout, func(api *tgbotapi.BotAPI) error {
		_, err := api.MakeRequest("setWebhook", params)
		return err
	}); err != nil {
		return fmt.Errorf("telegram: set webhook: %w", err)
	}
	return nil
}

// ServeHTTP receives one webhook update. The secret token is checked in
// constant time before anything else (wrong or missing: 401, nothing
// handled). The answer waits until the update was handled: 200 then, 500
// when handling failed and 503 when the bot is stopping, so that Telegram
// delivers the update again. With a Stream it waits until the update is
// in the stream instead: 200 then (or when it was there already), 503
// when Redis does not take it.
func (c *Channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	got := []byte(r.Header.Get(SecretHeader))
	if c.cfg.WebhookSecret == "" || subtle.ConstantTimeCompare(got, []byte(c.cfg.WebhookSecret)) != 1 {
		c.log.Warn("telegram: webhook request with a wrong secret token refused")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "bad update", http.StatusBadRequest)
		return
	}
	u, err := parseUpdate(body)
	if err != nil || u.UpdateID == 0 {
		http.Error(w, "bad update", http.StatusBadRequest)
		return
	}
	if c.stream != nil {
		c.accept(w, r, u, body)
		return
	}
	bu, ok := c.update(u, 1, nil)
	if !ok {
		w.WriteHeader(http.StatusOK)
		return
	}
	switch err := c.recv.HandleWait(r.Context(), bu); {
	case err == nil:
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, bot.ErrStopped):
		http.Error(w, "stopping", http.StatusServiceUnavailable)
	case r.Context().Err() != nil:
		// Telegram stopped waiting; the update is still handled, and its
		// redelivery finds it among the recent ones.
	default:
		http.Error(w, "handling failed", http.StatusInternalServerError)
	}
}
