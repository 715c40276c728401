package bot

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// Defaults of ReceiverOptions.
const (
	// DefaultWorkers: handlers mostly wait on Redis, the database and the
	// platform's API, and each chat has one worker, so many workers keep a
	// chat from queuing behind another's slow update.
	DefaultWorkers       = 64
	DefaultShutdownGrace = 10 * time.Second
	// recentUpdates is how many handled update keys are remembered, so that
	// an exact redelivery within this process is skipped.
	recentUpdates = 4096
)

// ErrStopped is the outcome of an update that was queued but not started
// when its Receiver stopped, or when its Cancel was closed: it was not
// handled, so the platform (the inbox, or the stream) delivers it again.
var ErrStopped = errors.New("stopped before the update was handled")

// ReplySender sends replies: the one rate-limited, retrying *Sender,
// which delivers through the channel.
type ReplySender interface {
	Send(ctx context.Context, out Outgoing) error
}

// Update is one incoming update on its way through a Receiver: the neutral
// event and what the channel does around its handling.
type Update struct {
	// Event is what the person did. Its UpdateID keys de-duplication, its
	// Platform and ChatID the order: one chat's updates are handled one
	// after another, in the order submitted.
	Event Event
	// Before, when set, runs once, before the first handling, on the
	// chat's worker, and may complete the event: Telegram answers a
	// pressed button there so that the client's spinner stops; Viber
	// downloads a message's media, so that a redelivery skipped as a
	// repeat downloads nothing.
	Before func(ctx context.Context, ev *Event)
	// Deliver, when set, takes the replies instead of the Sender: Viber's
	// welcome message goes back in the callback's HTTP answer.
	Deliver func(ctx context.Context, replies []Reply) error
	// Attempts is how many times a handling that failed for a passing
	// reason (IsRetryable) is tried before the update is given up; 1 when
	// zero, as for a webhook, whose platform delivers it again instead.
	Attempts int
	// Done, when set, hears the outcome: nil once handled (or skipped as a
	// repeat), ErrStopped (wrapped) when cut off by the stop or Cancel,
	// else the handling's error.
	Done func(error)
	// Cancel, when set and closed before the update's turn comes (or
	// while it waits to be tried again), hands it back unhandled, as the
	// stop does: a process that lost a stream shard to another must not
	// handle what it queued of it, which the new owner handles.
	Cancel <-chan struct{}
}

// ReceiverOptions configure a Receiver. Zero fields take the defaults.
type ReceiverOptions struct {
	// Name is the channel, for the log ("telegram").
	Name string
	// Workers is the number of concurrent handlers (DefaultWorkers).
	Workers int
	// ShutdownGrace bounds how long the updates being handled may run
	// after Stop (DefaultShutdownGrace).
	ShutdownGrace time.Duration
	// Log gets ids and errors, never message texts; nil discards.
	Log *slog.Logger
}

// Receiver is the machinery every channel shares between receiving an
// update and sending its replies: a bounded pool of workers sharded by
// chat, so that one chat's updates are handled in order while different
// chats proceed concurrently; skipping of exact redeliveries; retries with
// backoff of a handling that failed for a passing reason; and a stop that
// lets the updates in hand finish while the queued ones are handed back.
// A channel translates its wire format into Updates and nothing else.
type Receiver struct {
	opts   ReceiverOptions
	log    *slog.Logger
	seed   maphash.Seed
	recent *recentSet

	mu      sync.Mutex
	queues  []chan *Update
	stop    chan struct{}
	running bool
	// waiting counts HandleWait calls under way, so that Stop lets them
	// submit or give up before the queues close.
	waiting sync.WaitGroup
	workers sync.WaitGroup
	cancel  context.CancelFunc
}

// NewReceiver returns a Receiver; Start starts its workers.
func NewReceiver(opts ReceiverOptions) *Receiver {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = DefaultShutdownGrace
	}
	if opts.Name == "" {
		opts.Name = "channel"
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Receiver{opts: opts, log: log, seed: maphash.MakeSeed(), recent: newRecentSet(recentUpdates)}
}

// Workers is the number of concurrent handlers.
func (r *Receiver) Workers() int { return r.opts.Workers }

// Start starts the workers, which hand each update's event to h and each
// reply to s. Handling outlives ctx by the shutdown grace, so that an
// update cut off mid-way does not leave half its replies unsent; Stop ends
// it. Start may be called once.
func (r *Receiver) Start(ctx context.Context, h Handler, s ReplySender) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.queues != nil {
		return fmt.Errorf("%s: the receiver may be started once", r.opts.Name)
	}
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	r.stop = make(chan struct{})
	r.queues = make([]chan *Update, r.opts.Workers)
	for i := range r.queues {
		q := make(chan *Update, 32)
		r.queues[i] = q
		r.workers.Go(func() {
			for u := range q {
				select {
				case <-r.stop:
					u.done(ErrStopped)
					continue
				case <-u.Cancel:
					// A nil Cancel never gets here.
					u.done(fmt.Errorf("%w: cancelled", ErrStopped))
					continue
				default:
				}
				u.done(r.work(hctx, h, s, u))
			}
		})
	}
	r.running = true
	return nil
}

// Submit queues u on its chat's worker, waiting while that worker's queue
// is full; it returns ErrStopped once the receiver stops, and ctx's error
// when ctx ends first. u.Done hears the outcome.
func (r *Receiver) Submit(ctx context.Context, u *Update) error {
	r.mu.Lock()
	if !r.running {
		r.mu.Unlock()
		return ErrStopped
	}
	r.waiting.Add(1)
	r.mu.Unlock()
	defer r.waiting.Done()
	return r.submit(ctx, u)
}

func (r *Receiver) submit(ctx context.Context, u *Update) error {
	q := r.queues[r.shard(u.Event.ChatID)]
	select {
	case q <- u:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stop:
		return ErrStopped
	}
}

// shard is the worker of a chat. A numeric chat id (Telegram's) is taken
// modulo the workers, which spreads consecutive ids over distinct workers;
// any other is hashed. A receiver serves one platform, so the id alone
// tells its chats apart.
func (r *Receiver) shard(chat string) int {
	n := uint64(len(r.queues))
	if id, err := strconv.ParseInt(chat, 10, 64); err == nil {
		return int(uint64(id) % n)
	}
	return int(maphash.String(r.seed, chat) % n)
}

// HandleWait submits u and waits until it was handled, for a webhook whose
// answer must say whether the update was handled: nil then, ErrStopped
// (wrapped) when the receiver is stopping, or the handling's error. When
// ctx ends first (the platform stopped waiting) it returns ctx's error;
// the update is still handled, and its redelivery is skipped as a repeat.
func (r *Receiver) HandleWait(ctx context.Context, u *Update) error {
	done := make(chan error, 1)
	inner := u.Done
	u.Done = func(err error) {
		if inner != nil {
			inner(err)
		}
		done <- err
	}
	if err := r.Submit(ctx, u); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop stops taking updates, hands the queued ones back (ErrStopped), lets
// those being handled finish for at most the shutdown grace and returns
// once every worker has stopped. It is safe to call more than once.
func (r *Receiver) Stop() {
	r.mu.Lock()
	if !r.running {
		r.mu.Unlock()
		r.workers.Wait()
		return
	}
	r.running = false
	close(r.stop)
	r.mu.Unlock()
	grace := time.AfterFunc(r.opts.ShutdownGrace, r.cancel)
	defer grace.Stop()
	r.waiting.Wait()
	for _, q := range r.queues {
		close(q)
	}
	r.workers.Wait()
	r.cancel()
}

func (u *Update) done(err error) {
	if u.Done != nil {
		u.Done(err)
	}
}

// work handles one update, trying a failed handling again with backoff.
func (r *Receiver) work(ctx context.Context, h Handler, s ReplySender, u *Update) error {
	id := u.Event.UpdateID
	if id != "" && r.recent.has(id) {
		return nil
	}
	attempts := max(u.Attempts, 1)
	var err error
	for attempt := 1; ; attempt++ {
		err = r.handle(ctx, h, s, u, attempt == 1)
		if err == nil {
			if id != "" {
				r.recent.add(id)
			}
			return nil
		}
		if ctx.Err() != nil {
			// Cut off by shutdown: not handled, so not confirmed either.
			return fmt.Errorf("%w: %v", ErrStopped, err)
		}
		if attempt >= attempts || !IsRetryable(err) {
			break
		}
		r.log.Warn(r.opts.Name+": handling failed, trying again", "update", id, "attempt", attempt, "err", err)
		select {
		case <-time.After(Backoff(attempt)):
		case <-r.stop:
			return fmt.Errorf("%w: %v", ErrStopped, err)
		case <-u.Cancel:
			return fmt.Errorf("%w: cancelled: %v", ErrStopped, err)
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ErrStopped, err)
		}
	}
	r.log.Error(r.opts.Name+": handling failed", "update", id, "err", err)
	return err
}

// handle runs the update's Before, its event through h and sends the
// replies. A reply that cannot be delivered is logged, not retried by
// handling the update again: the dialog has already moved on, and doing
// it twice would be worse than a lost message.
func (r *Receiver) handle(ctx context.Context, h Handler, s ReplySender, u *Update, first bool) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: panic handling update %s: %v", r.opts.Name, u.Event.UpdateID, p)
		}
	}()
	if first && u.Before != nil {
		u.Before(ctx, &u.Event)
	}
	ev := u.Event
	replies, err := h.Handle(ctx, ev)
	if err != nil && !first {
		// The replies that come with a failure ("temporarily unavailable")
		// went out with the first attempt.
		replies = nil
	}
	if err != nil && !IsRetryable(err) {
		return fmt.Errorf("handle update %s: %w", ev.UpdateID, err)
	}
	if u.Deliver != nil {
		if derr := u.Deliver(ctx, replies); derr != nil {
			r.log.Error(r.opts.Name+": reply not delivered", "update", ev.UpdateID, "chat", ev.ChatID, "err", derr)
		}
	} else {
		for _, reply := range replies {
			serr := s.Send(ctx, Outgoing{ChatID: ev.ChatID, Reply: reply, MenuID: ev.MenuID})
			if errors.Is(serr, ErrBlocked) {
				r.log.Info(r.opts.Name+": chat unreachable, replies dropped", "update", ev.UpdateID, "chat", ev.ChatID)
				break
			}
			if serr != nil {
				r.log.Error(r.opts.Name+": reply not delivered", "update", ev.UpdateID, "chat", ev.ChatID, "err", serr)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("handle update %s: %w", ev.UpdateID, err)
	}
	return nil
}

// Backoff is the wait before attempt+1 of something that failed for a
// passing reason: exponential from 500ms, capped at 30s, with ±50% jitter
// so that many waiting clients do not retry at once.
func Backoff(attempt int) time.Duration {
	d := min(500*time.Millisecond<<min(max(attempt, 1)-1, 6), 30*time.Second)
	return d/2 + rand.N(d)
}

// recentSet is a bounded set of update keys, the oldest forgotten first.
type recentSet struct {
	mu    sync.Mutex
	ids   map[string]struct{}
	order []string
	next  int
}

func newRecentSet(size int) *recentSet {
	return &recentSet{ids: make(map[string]struct{}, size), order: make([]string, 0, size)}
}

func (s *recentSet) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok
}

func (s *recentSet) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return
	}
	if len(s.order) < cap(s.order) {
		s.order = append(s.order, id)
	} else {
		delete(s.ids, s.order[s.next])
		s.order[s.next] = id
		s.next = (s.next + 1) % len(s.order)
	}
	s.ids[id] = struct{}{}
}
