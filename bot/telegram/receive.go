package telegram

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
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

// errStopped is the outcome of an update that was queued but not started
// when Run stopped: it was not handled, so Telegram delivers it again.
var errStopped = errors.New("telegram: stopped before the update was handled")

// Run receives and handles updates until ctx is cancelled: by long polling,
// or, with a webhook URL configured, by setting the webhook and handling
// what arrives through ServeHTTP. Each update's event goes to h and each
// reply to s. On cancellation Run stops receiving, lets the updates being
// handled finish (for at most ShutdownGrace), leaves the queued ones to be
// delivered again and returns nil. It returns an error only when receiving
// cannot go on: the webhook cannot be set or the token was revoked.
func (c *Channel) Run(ctx context.Context, h bot.Handler, s Sender) error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return errors.New("telegram: Run may be called once")
	}
	c.started = true
	c.mu.Unlock()

	// Handling outlives ctx by the grace period, so that an update cut off
	// mid-way does not leave half its replies unsent.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	stop := make(chan struct{})
	// The workers start first: a webhook may deliver as soon as it is set.
	p := c.startPool(hctx, stop, h, s)
	c.mu.Lock()
	c.pool, c.running = p, true
	c.mu.Unlock()

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
	if err == nil {
		if cerr := c.setCommands(ctx); cerr != nil && ctx.Err() == nil {
			c.log.Warn("telegram: set command menu failed", "err", cerr)
		}
		if c.cfg.WebhookURL != "" {
			c.log.Info("telegram: receiving updates by webhook", "bot", c.Username())
			<-ctx.Done()
		} else {
			c.log.Info("telegram: receiving updates by long polling", "bot", c.Username())
			err = c.receive(ctx, p)
		}
	}

	grace := time.AfterFunc(c.cfg.ShutdownGrace, hcancel)
	defer grace.Stop()
	close(stop)
	c.mu.Lock()
	c.running = false
	c.mu.Unlock()
	c.hooks.Wait()
	p.close()
	if c.afterPool != nil {
		c.afterPool()
	}
	c.mu.Lock()
	c.pool = nil
	c.mu.Unlock()
	if c.cfg.WebhookURL == "" {
		p.tracker.confirm(c)
	}
	c.log.Info("telegram: stopped")
	return err
}

// job is one update waiting for its worker.
type job struct {
	update tgbotapi.Update
	// attempts is how many times a failed handling is tried.
	attempts int
	done     func(error)
}

// pool runs jobs on workers sharded by chat: a chat's updates always go to
// the same worker, in order; different chats spread over the workers.
type pool struct {
	queues  []chan *job
	wg      sync.WaitGroup
	stop    <-chan struct{}
	tracker *tracker
	// inboxDone collects the handled updates that were kept in the
	// inbox; nil without an inbox.
	inboxDone *handledIDs
}

// handled notes that an update kept in the inbox was handled.
func (p *pool) handled(id int) {
	if p.inboxDone != nil {
		p.inboxDone.add(id)
	}
}

func (c *Channel) startPool(ctx context.Context, stop <-chan struct{}, h bot.Handler, s Sender) *pool {
	p := &pool{queues: make([]chan *job, c.cfg.Workers), stop: stop, tracker: newTracker()}
	for i := range p.queues {
		q := make(chan *job, 32)
		p.queues[i] = q
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for j := range q {
				select {
				case <-stop:
					j.done(errStopped)
					continue
				default:
				}
				j.done(c.work(ctx, stop, h, s, j))
			}
		}()
	}
	return p
}

// submit queues a job on its chat's worker, waiting while that worker's
// queue is full.
func (p *pool) submit(ctx context.Context, key int64, j *job) error {
	q := p.queues[uint64(key)%uint64(len(p.queues))]
	select {
	case q <- j:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.stop:
		return errStopped
	}
}

// close waits for the workers to finish; nothing may submit any more.
func (p *pool) close() {
	for _, q := range p.queues {
		close(q)
	}
	p.wg.Wait()
}

// work handles one update, trying a failed handling again with backoff.
func (c *Channel) work(ctx context.Context, stop <-chan struct{}, h bot.Handler, s Sender, j *job) error {
	id := j.update.UpdateID
	if c.recent.has(id) {
		return nil
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = c.handle(ctx, h, s, j.update, attempt == 1)
		if err == nil {
			c.recent.add(id)
			return nil
		}
		if ctx.Err() != nil {
			// Cut off by shutdown: not handled, so not confirmed either.
			return fmt.Errorf("%w: %v", errStopped, err)
		}
		if attempt >= j.attempts || !bot.IsRetryable(err) {
			break
		}
		c.log.Warn("telegram: handling failed, trying again", "update", id, "attempt", attempt, "err", err)
		select {
		case <-time.After(backoff(attempt)):
		case <-stop:
			return fmt.Errorf("%w: %v", errStopped, err)
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", errStopped, err)
		}
	}
	c.log.Error("telegram: handling failed", "update", id, "err", err)
	return err
}

// handle answers a pressed button, runs the event through h and sends the
// replies. A reply that cannot be delivered is logged, not retried by
// handling the update again: the dialog has already moved on, and doing
// it twice would be worse than a lost message.
func (c *Channel) handle(ctx context.Context, h bot.Handler, s Sender, u tgbotapi.Update, first bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("telegram: panic handling update %d: %v", u.UpdateID, r)
		}
	}()
	if first && u.CallbackQuery != nil {
		// Every pressed button is answered, or the client keeps a spinner.
		if err := c.answerCallback(ctx, u.CallbackQuery.ID); err != nil {
			c.log.Debug("telegram: answer callback failed", "update", u.UpdateID, "err", err)
		}
	}
	ev, ok := toEvent(u, c.now())
	if !ok {
		return nil
	}
	replies, err := h.Handle(ctx, ev)
	if err != nil && !first {
		// The replies that come with a failure ("temporarily unavailable")
		// went out with the first attempt.
		replies = nil
	}
	if err != nil && !bot.IsRetryable(err) {
		return fmt.Errorf("handle update %d: %w", u.UpdateID, err)
	}
	for _, r := range replies {
		err := s.Send(ctx, bot.Outgoing{ChatID: ev.ChatID, Reply: r, MenuID: ev.MenuID})
		if errors.Is(err, bot.ErrBlocked) {
			c.log.Info("telegram: chat unreachable, replies dropped", "update", u.UpdateID, "chat", ev.ChatID)
			break
		}
		if err != nil {
			c.log.Error("telegram: reply not delivered", "update", u.UpdateID, "chat", ev.ChatID, "err", err)
		}
	}
	if err != nil {
		return fmt.Errorf("handle update %d: %w", u.UpdateID, err)
	}
	return nil
}

// backoff is the wait before attempt+1: exponential from 500ms, capped at
// 30s, with ±50% jitter so that many waiting clients do not retry at once.
func backoff(attempt int) time.Duration {
	d := min(500*time.Millisecond<<min(attempt-1, 6), 30*time.Second)
	return d/2 + rand.N(d)
}

// tracker computes the getUpdates offset: the lowest update id not yet
// handled. Telegram forgets every update below the offset it is sent, so
// an update is confirmed only once it and every update before it were
// handled, and a crash loses none.
type tracker struct {
	mu sync.Mutex
	// pending are the fetched ids not yet confirmable, ascending; done
	// marks the handled ones among them.
	pending []int
	done    map[int]bool
	// replayed are updates an earlier process left in the inbox: handled
	// from there, they are known though Telegram may return them once more.
	replayed map[int]bool
	offset   int
	// sent is the offset the last successful getUpdates carried.
	sent     int
	progress chan struct{}
}

func newTracker() *tracker {
	return &tracker{done: map[int]bool{}, progress: make(chan struct{})}
}

// add registers a fetched update; false means it is known already (being
// handled, or handled and confirmed) and must not be handled again.
func (t *tracker) add(id int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id < t.offset {
		return false
	}
	if _, known := t.done[id]; known || t.replayed[id] {
		return false
	}
	t.done[id] = false
	i := len(t.pending)
	for i > 0 && t.pending[i-1] > id {
		i--
	}
	t.pending = append(t.pending, 0)
	copy(t.pending[i+1:], t.pending[i:])
	t.pending[i] = id
	return true
}

// known reports whether an update was fetched before: it is being
// handled, or was handled and confirmed.
func (t *tracker) known(id int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id < t.offset || t.replayed[id] {
		return true
	}
	_, ok := t.done[id]
	return ok
}

// remember marks an update replayed from the inbox as known.
func (t *tracker) remember(id int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.replayed == nil {
		t.replayed = make(map[int]bool)
	}
	t.replayed[id] = true
}

// finish marks an update handled and moves the offset past every handled
// update at the front.
func (t *tracker) finish(id int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done[id] = true
	moved := false
	for len(t.pending) > 0 && t.done[t.pending[0]] {
		t.offset = t.pending[0] + 1
		delete(t.done, t.pending[0])
		t.pending = t.pending[1:]
		moved = true
	}
	if moved {
		close(t.progress)
		t.progress = make(chan struct{})
	}
}

// waitHandled waits up to d for every fetched update to be handled; false
// means ctx ended.
func (t *tracker) waitHandled(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		t.mu.Lock()
		idle, progress := len(t.pending) == 0, t.progress
		t.mu.Unlock()
		if idle {
			return true
		}
		select {
		case <-progress:
		case <-timer.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
}

// state returns the offset to send, whether it confirms more than the last
// poll did, and a channel closed at the next progress.
func (t *tracker) state() (offset int, unsent bool, progress <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.offset, t.offset > t.sent, t.progress
}

func (t *tracker) sentOffset(o int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent = max(t.sent, o)
}

// confirm tells Telegram about updates handled since the last poll, so a
// restart does not receive them again. It asks for at most one update and
// does not wait; what it returns stays unconfirmed.
func (t *tracker) confirm(c *Channel) {
	offset, unsent, _ := t.state()
	if !unsent {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.getUpdates(ctx, offset, 1, 0, nil); err != nil {
		c.log.Warn("telegram: final confirmation failed; handled updates will be delivered again", "offset", offset, "err", err)
		return
	}
	t.sentOffset(offset)
}

// receive polls, first handing over what an earlier process left in the
// inbox, and removes handled updates from the inbox until the workers stop.
func (c *Channel) receive(ctx context.Context, p *pool) error {
	if c.cfg.Inbox == nil {
		return c.poll(ctx, p)
	}
	p.inboxDone = &handledIDs{}
	stopFlush, flushed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(flushed)
		p.inboxDone.run(c, stopFlush)
	}()
	// The workers may still finish updates after polling stops: the last
	// flush waits for them (Run closes the pool after receive returns).
	c.afterPool = func() {
		close(stopFlush)
		<-flushed
	}
	if err := c.replay(ctx, p); err != nil {
		// Stopping before the inbox could be read or replayed: what is left
		// there stays for the next start.
		return nil
	}
	return c.poll(ctx, p)
}

// poll is the long-polling loop. A poll parked in its long wait is cut
// short when handling confirms more updates, so that the offset reaches
// Telegram promptly and a crash redelivers as little as possible.
func (c *Channel) poll(ctx context.Context, p *pool) error {
	t := p.tracker
	failures := 0
	for ctx.Err() == nil {
		offset, _, progress := t.state()
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
		fetched, err := c.getUpdates(pollCtx, offset, 100, c.cfg.PollTimeout, t.known)
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
			wait := backoff(failures)
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
		t.sentOffset(offset)
		var fresh []fetchedUpdate
		for _, f := range fetched {
			if t.known(f.id) {
				// Fetched again only because it is not confirmed yet.
				continue
			}
			if f.err != nil {
				// An update the library cannot read would block every later
				// one if it stayed unconfirmed: log it and move past it.
				c.log.Error("telegram: undecodable update skipped", "update", f.id, "err", f.err)
				if t.add(f.id) {
					t.finish(f.id)
				}
				continue
			}
			fresh = append(fresh, f)
		}
		stored := c.store(ctx, fresh)
		for _, f := range fresh {
			id := f.id
			if !t.add(id) {
				continue
			}
			done := func(err error) {
				if !errors.Is(err, errStopped) {
					t.finish(id)
				}
			}
			if stored {
				// Kept in the inbox: Telegram may forget it now.
				t.finish(id)
				done = func(err error) {
					if !errors.Is(err, errStopped) {
						p.handled(id)
					}
				}
			}
			j := &job{update: f.update, attempts: c.cfg.Attempts, done: done}
			if err := p.submit(ctx, chatKey(f.update), j); err != nil {
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
			} else if !t.waitHandled(ctx, pollGap) {
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
// delivers the update again.
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
	c.mu.Lock()
	if !c.running {
		c.mu.Unlock()
		http.Error(w, "stopping", http.StatusServiceUnavailable)
		return
	}
	p := c.pool
	c.hooks.Add(1)
	c.mu.Unlock()
	defer c.hooks.Done()

	done := make(chan error, 1)
	if err := p.submit(r.Context(), chatKey(u), &job{update: u, attempts: 1, done: func(err error) { done <- err }}); err != nil {
		http.Error(w, "stopping", http.StatusServiceUnavailable)
		return
	}
	select {
	case err := <-done:
		switch {
		case err == nil:
			w.WriteHeader(http.StatusOK)
		case errors.Is(err, errStopped):
			http.Error(w, "stopping", http.StatusServiceUnavailable)
		default:
			http.Error(w, "handling failed", http.StatusInternalServerError)
		}
	case <-r.Context().Done():
		// Telegram stopped waiting; the update is still handled, and its
		// redelivery finds it among the recent ones.
	}
}
