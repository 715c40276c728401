package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Outgoing is one message on its way to a chat.
type Outgoing struct {
	ChatID string
	Reply  Reply
	// MenuID is the message to replace when Reply.EditMenu is set.
	MenuID string
}

// Transport delivers one message on one platform; each channel implements
// it. It makes a single attempt and reports failures as the send errors of
// this package (*RetryAfterError, ErrBlocked, *TemporaryError) where they
// apply, so that the Sender can decide whether to retry.
type Transport interface {
	Deliver(ctx context.Context, out Outgoing) error
}

// SenderOptions configure a Sender. Zero fields take the defaults given.
type SenderOptions struct {
	// GlobalRate is the most messages per second over all chats (default
	// 25, below Telegram's 30). Sends are spaced evenly: no burst.
	GlobalRate float64
	// PerChatRate is the most messages per second to one chat (default 1);
	// PerChatBurst messages may go at once before it applies (default 3).
	PerChatRate  float64
	PerChatBurst int
	// MaxAttempts bounds the deliveries of one message (default 5).
	MaxAttempts int
	// MaxRetryAfter is the longest rate-limit pause the Sender waits out
	// (default 1 minute); a longer one is returned to the caller at once.
	MaxRetryAfter time.Duration
	// BaseBackoff is the pause after the first temporary failure (default
	// 500ms); it doubles with every further attempt up to MaxBackoff
	// (default 30s), and a random part of it is taken off (jitter) so that
	// many chats failing together do not retry together.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// OnBlocked is called with the chat's id when the platform says the
	// person blocked the bot, so that the caller can mark them blocked and
	// unsubscribed. It runs in the sending goroutine.
	OnBlocked func(chatID string)
	// Limiter, when set, holds the global and the per-chat limits for
	// every process that sends for the bot, under the keys send:PLATFORM
	// and chat:PLATFORM:CHAT, so that several processes stay within the
	// platform's limits together; nil keeps them in this process alone.
	// The order of one chat's messages is kept by this process either way.
	Limiter Limiter
	// FleetSize is how many processes are expected to share Limiter
	// (default 4). While Limiter fails, each Sender falls back to limits
	// of its own, the global one at GlobalRate/FleetSize, so that a fleet
	// of up to FleetSize processes stays within the platform's limit.
	FleetSize int
	// Platform names the Sender's keys in Limiter
	// (hromadabot.PlatformTelegram); default "bot". A Sender serves one
	// platform, and each platform has limits of its own.
	Platform string
	// Log hears when Limiter fails and when it answers again; nil
	// discards.
	Log *slog.Logger
	// Now and Sleep are the clock (default time.Now and Sleep); tests
	// replace them. Sleep returns early with ctx.Err() when ctx ends.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Sender is the one way messages leave the bot: every channel and the
// broadcast use it. It keeps a global and a per-chat rate limit (in this
// process, or with SenderOptions.Limiter shared by every process of the
// bot), sends to each chat one message at a time in call order, and
// retries what may pass with time, never forever. It is safe for
// concurrent use.
type Sender struct {
	t      Transport
	opts   SenderOptions
	global *rate.Limiter
	idle   time.Duration // a chat's limiter is full again after this long
	// chatRate is the rate of each chat's limiter in this process.
	chatRate rate.Limit
	log      *slog.Logger

	// With a shared Limiter: the keys and intervals of the global and the
	// per-chat limit (0 for none); globalTurn, a one-slot semaphore that
	// lets one goroutine at a time ask for the global limit; and fallback,
	// the global limit in this process while Limiter fails.
	globalKey, chatKeys    string
	globalEvery, chatEvery time.Duration
	globalTurn             chan struct{}
	fallback               *rate.Limiter

	downMu   sync.Mutex // guards failures and askAt
	failures int        // Limiter's failures in a row
	askAt    time.Time  // after a failure, when Limiter is asked again

	mu        sync.Mutex // guards chats and lastSweep
	chats     map[string]*chatLimit
	lastSweep time.Time
}

// chatLimit is one chat's limiter. turn is a one-slot semaphore: a
// sync.Mutex could not be given up when the caller's context ends.
type chatLimit struct {
	turn  chan struct{}
	lim   *rate.Limiter
	users int       // Send calls holding or waiting for turn; guarded by Sender.mu
	last  time.Time // last delivery; written while holding turn
}

// NewSender returns a Sender delivering through t.
func NewSender(t Transport, opts SenderOptions) *Sender {
	if opts.GlobalRate <= 0 {
		opts.GlobalRate = 25
	}
	if opts.PerChatRate <= 0 {
		opts.PerChatRate = 1
	}
	if opts.PerChatBurst <= 0 {
		opts.PerChatBurst = 3
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = time.Minute
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = Sleep
	}
	if opts.Platform == "" {
		opts.Platform = "bot"
	}
	if opts.FleetSize <= 0 {
		opts.FleetSize = 4
	}
	refill := time.Duration(float64(opts.PerChatBurst) / opts.PerChatRate * float64(time.Second))
	s := &Sender{
		t:    t,
		opts: opts,
		// A burst of 1 keeps every one-second window within GlobalRate.
		global:   rate.NewLimiter(rate.Limit(opts.GlobalRate), 1),
		idle:     max(refill, time.Second),
		chatRate: rate.Limit(opts.PerChatRate),
		log:      opts.Log,
		chats:    make(map[string]*chatLimit),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.Limiter != nil {
		s.globalKey = "send:" + opts.Platform
		s.chatKeys = "chat:" + opts.Platform + ":"
		s.globalEvery = Interval(opts.GlobalRate)
		s.chatEvery = Interval(opts.PerChatRate)
		s.globalTurn = make(chan struct{}, 1)
		s.fallback = rate.NewLimiter(rate.Limit(opts.GlobalRate/float64(opts.FleetSize)), 1)
		// The chat's limiter here runs at the shared interval, so that it
		// never lets a message ask the shared limit before that allows it.
		s.chatRate = rate.Every(s.chatEvery)
	}
	return s
}

// Send delivers out, waiting for the rate limits. A rate-limit answer is
// waited out and retried, a temporary failure retried with backoff, both
// at most MaxAttempts deliveries in all; a blocked chat is reported to
// OnBlocked and not retried; any other error is returned at once. While a
// message waits for a retry, later messages to the same chat wait too, so
// the chat's order is kept. The returned error wraps the last failure.
func (s *Sender) Send(ctx context.Context, out Outgoing) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send to %s: %w", out.ChatID, err)
	}
	c := s.acquire(out.ChatID)
	defer s.release(out.ChatID, c)
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("send to %s: %w", out.ChatID, ctx.Err())
	}
	defer func() { <-c.turn }()

	for attempt := 1; ; attempt++ {
		if err := s.wait(ctx, out.ChatID, c); err != nil {
			return fmt.Errorf("send to %s: %w", out.ChatID, err)
		}
		err := s.t.Deliver(ctx, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("send to %s: %w", out.ChatID, err)
		}
		var (
			pause time.Duration
			temp  *TemporaryError
		)
		if after, ok := RetryAfter(err); ok {
			if after > s.opts.MaxRetryAfter {
				return fmt.Errorf("send to %s: asked to wait longer than %s: %w", out.ChatID, s.opts.MaxRetryAfter, err)
			}
			pause = after
		} else if errors.As(err, &temp) {
			pause = s.backoff(attempt)
		} else {
			if errors.Is(err, ErrBlocked) && s.opts.OnBlocked != nil {
				s.opts.OnBlocked(out.ChatID)
			}
			return fmt.Errorf("send to %s: %w", out.ChatID, err)
		}
		if attempt >= s.opts.MaxAttempts {
			return fmt.Errorf("send to %s: giving up after %d attempts: %w", out.ChatID, attempt, err)
		}
		if cerr := s.opts.Sleep(ctx, pause); cerr != nil {
			return fmt.Errorf("send to %s: %w (last attempt: %w)", out.ChatID, cerr, err)
		}
	}
}

// wait returns when both the chat's and the global limiter allow one
// message now, and takes a token from each.
func (s *Sender) wait(ctx context.Context, chat string, c *chatLimit) error {
	if s.opts.Limiter != nil {
		return s.waitShared(ctx, chat, c)
	}
	return s.waitLocal(ctx, c, s.global)
}

// waitLocal is wait with the limits in this process, global the global
// one. Both tokens are taken for the same instant, so the deliveries keep
// both limits exactly. The caller holds c.turn, so nobody else takes the
// chat's tokens meanwhile.
func (s *Sender) waitLocal(ctx context.Context, c *chatLimit, global *rate.Limiter) error {
	if err := s.waitChat(ctx, c); err != nil {
		return err
	}
	now := s.opts.Now()
	r := global.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d > 0 {
		if err := s.opts.Sleep(ctx, d); err != nil {
			r.CancelAt(now)
			return err
		}
	}
	at := now.Add(d)
	c.lim.AllowN(at, 1)
	c.last = at
	return nil
}

// waitChat returns once the chat's limiter in this process has a token;
// it takes none.
func (s *Sender) waitChat(ctx context.Context, c *chatLimit) error {
	for {
		tokens := c.lim.TokensAt(s.opts.Now())
		if tokens >= 1 {
			return nil
		}
		d := time.Duration(math.Ceil((1 - tokens) / float64(s.chatRate) * float64(time.Second)))
		if err := s.opts.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// waitShared is wait with the limits held by the shared Limiter. The
// global event is taken first and the chat's right after it, then the
// message goes: both are spent within a round trip of the delivery. When
// the chat's limit says wait (another process has just sent to the chat;
// this process's own sends were held back by the chat's limiter here
// before asking), the global event taken goes unused: that costs one slot
// of throughput and never exceeds a limit. The other order would, when the
// global limit made the message wait, deliver it later than its chat's
// event was counted, and bunch up the chat's messages.
//
// While the Limiter fails, the Sender falls back to limits in this
// process: the chat's, as without a Limiter (a chat's replies come from the
// process that handles its updates, and the broadcasts wait for the
// limiter), and a global one at GlobalRate/FleetSize. Waiting for the Limiter instead would
// silence the bot just when it must tell people that it is briefly
// unavailable (Redis holds the dialog state too); the full local rate
// would be multiplied by the number of processes. No process knows that
// number, so FleetSize is a guess that errs large: up to FleetSize
// processes keep the limit together, more overrun it by the ratio and get
// 429s, which the Sender waits out. After a failure the Limiter is asked
// again only after bot.Backoff, so that an outage does not cost every
// message a failed round trip.
func (s *Sender) waitShared(ctx context.Context, chat string, c *chatLimit) error {
	for {
		if err := s.waitChat(ctx, c); err != nil {
			return err
		}
		ok, err := s.takeGlobal(ctx)
		if err != nil {
			return err
		}
		if ok && s.chatEvery > 0 {
			var wait time.Duration
			if wait, ok, err = s.allow(ctx, s.chatKeys+chat, s.chatEvery, s.opts.PerChatBurst); err != nil {
				return err
			}
			if ok && wait > 0 {
				if err := s.opts.Sleep(ctx, wait); err != nil {
					return err
				}
				continue
			}
		}
		if !ok {
			return s.waitLocal(ctx, c, s.fallback)
		}
		at := s.opts.Now()
		c.lim.AllowN(at, 1)
		c.last = at
		return nil
	}
}

// takeGlobal returns true once the shared global limit has given this
// process one event, false if the Limiter failed. One goroutine of the
// process asks at a time and the others queue here: the workers of a
// broadcast would otherwise all ask at every free slot, and all but one be
// told to wait.
func (s *Sender) takeGlobal(ctx context.Context) (bool, error) {
	if s.globalEvery == 0 {
		return true, nil
	}
	select {
	case s.globalTurn <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.globalTurn }()
	for {
		wait, ok, err := s.allow(ctx, s.globalKey, s.globalEvery, 1)
		if err != nil || !ok || wait <= 0 {
			return ok, err
		}
		if err := s.opts.Sleep(ctx, wait); err != nil {
			return false, err
		}
	}
}

// limiterTimeout bounds one question to the shared Limiter; a slower one
// counts as failed. A healthy Redis answers within a millisecond, and a
// reply should not wait out the client's retries against a Redis that is
// gone, which take seconds.
const limiterTimeout = 250 * time.Millisecond

// allow asks the shared Limiter for one event of key. ok is false when the
// Limiter failed, or was not asked because it failed lately; err is set
// only when ctx has ended.
func (s *Sender) allow(ctx context.Context, key string, every time.Duration, burst int) (wait time.Duration, ok bool, err error) {
	s.downMu.Lock()
	due := s.failures == 0 || !s.opts.Now().Before(s.askAt)
	s.downMu.Unlock()
	if !due {
		return 0, false, nil
	}
	lctx, cancel := context.WithTimeout(ctx, limiterTimeout)
	wait, lerr := s.opts.Limiter.Allow(lctx, key, every, burst)
	cancel()

	s.downMu.Lock()
	defer s.downMu.Unlock()
	if lerr != nil {
		if cerr := ctx.Err(); cerr != nil {
			return 0, false, fmt.Errorf("%w (send limit: %w)", cerr, lerr)
		}
		s.failures++
		s.askAt = s.opts.Now().Add(Backoff(s.failures))
		if s.failures == 1 {
			s.log.WarnContext(ctx, "send limiter failed: sending under this process's own limits", "platform", s.opts.Platform,
				"fleet_size", s.opts.FleetSize, "err", lerr)
		}
		return 0, false, nil
	}
	if s.failures > 0 {
		s.log.InfoContext(ctx, "send limiter answers again: limits shared", "platform", s.opts.Platform, "failures", s.failures)
		s.failures = 0
	}
	return wait, true, nil
}

// backoff returns the pause after the attempt-th temporary failure: an
// exponentially growing ceiling, of which a random half is taken.
func (s *Sender) backoff(attempt int) time.Duration {
	ceiling := s.opts.MaxBackoff
	if shift := attempt - 1; shift < 32 {
		ceiling = min(s.opts.BaseBackoff<<shift, s.opts.MaxBackoff)
	}
	half := ceiling / 2
	return half + rand.N(ceiling-half+1)
}

// acquire returns the chat's limiter, creating it, and counts the caller
// as its user so that the sweep leaves it alone.
func (s *Sender) acquire(chat string) *chatLimit {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	c := s.chats[chat]
	if c == nil {
		c = &chatLimit{
			turn: make(chan struct{}, 1),
			lim:  rate.NewLimiter(s.chatRate, s.opts.PerChatBurst),
		}
		s.chats[chat] = c
	}
	c.users++
	return c
}

// release drops the caller's use of the chat's limiter.
func (s *Sender) release(chat string, c *chatLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.users--
}

// sweepLocked forgets chats idle long enough for their limiter to be full
// again: a new limiter would behave the same, so nothing is lost, and the
// map holds only recently active chats. It walks the map at most once per
// s.idle. The caller holds s.mu.
func (s *Sender) sweepLocked() {
	now := s.opts.Now()
	if now.Sub(s.lastSweep) < s.idle {
		return
	}
	s.lastSweep = now
	for chat, c := range s.chats {
		if c.users == 0 && now.Sub(c.last) >= s.idle {
			delete(s.chats, chat)
		}
	}
}

// Sleep waits d, or returns ctx.Err() as soon as ctx ends. It is the
// default SenderOptions.Sleep and the real clock for anything else that
// waits between sends.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
