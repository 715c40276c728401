package bot

import (
	"context"
	"errors"
	"fmt"
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
	// Now and Sleep are the clock (default time.Now and Sleep); tests
	// replace them. Sleep returns early with ctx.Err() when ctx ends.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Sender is the one way messages leave the bot: every channel and the
// broadcast use it. It keeps a global and a per-chat rate limit, sends to
// each chat one message at a time in call order, and retries what may pass
// with time, never forever. It is safe for concurrent use.
type Sender struct {
	t      Transport
	opts   SenderOptions
	global *rate.Limiter
	idle   time.Duration // a chat's limiter is full again after this long

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
	refill := time.Duration(float64(opts.PerChatBurst) / opts.PerChatRate * float64(time.Second))
	return &Sender{
		t:    t,
		opts: opts,
		// A burst of 1 keeps every one-second window within GlobalRate.
		global: rate.NewLimiter(rate.Limit(opts.GlobalRate), 1),
		idle:   max(refill, time.Second),
		chats:  make(map[string]*chatLimit),
	}
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
		if err := s.wait(ctx, c); err != nil {
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
// message now, and takes a token from each. Both are taken for the same
// instant, so the deliveries keep both limits exactly. The caller holds
// c.turn, so nobody else takes the chat's tokens meanwhile.
func (s *Sender) wait(ctx context.Context, c *chatLimit) error {
	for {
		now := s.opts.Now()
		if tokens := c.lim.TokensAt(now); tokens < 1 {
			d := time.Duration(math.Ceil((1 - tokens) / s.opts.PerChatRate * float64(time.Second)))
			if err := s.opts.Sleep(ctx, d); err != nil {
				return err
			}
			continue
		}
		r := s.global.ReserveN(now, 1)
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
			lim:  rate.NewLimiter(rate.Limit(s.opts.PerChatRate), s.opts.PerChatBurst),
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
