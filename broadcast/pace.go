package broadcast

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/hromadabot/hromadabot/bot"
)

// QuietHours is a daily span of hours when no broadcast message goes out:
// Start 21 and End 8 mean from 21:00 to 08:00. The zero value is "off".
type QuietHours struct {
	Enabled    bool
	Start, End int
}

// ParseQuietHours reads QUIET_HOURS: "21-8" (from 21:00 to 08:00) or "off".
func ParseQuietHours(s string) (QuietHours, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "off" || s == "none" {
		return QuietHours{}, nil
	}
	from, to, ok := strings.Cut(s, "-")
	start, err1 := strconv.Atoi(strings.TrimSpace(from))
	end, err2 := strconv.Atoi(strings.TrimSpace(to))
	if !ok || err1 != nil || err2 != nil {
		return QuietHours{}, fmt.Errorf("%q must be hours like 21-8 (from 21:00 to 08:00) or off", s)
	}
	q := QuietHours{Enabled: true, Start: start, End: end}
	return q, q.Validate()
}

// Validate reports hours that are not two different hours of the day.
func (q QuietHours) Validate() error {
	if q.Enabled && (q.Start < 0 || q.Start > 23 || q.End < 0 || q.End > 23 || q.Start == q.End) {
		return fmt.Errorf("quiet hours %s must be two different hours from 0 to 23, or off", q)
	}
	return nil
}

// String writes the quiet hours as QUIET_HOURS takes them.
func (q QuietHours) String() string {
	if !q.Enabled {
		return "off"
	}
	return strconv.Itoa(q.Start) + "-" + strconv.Itoa(q.End)
}

// Contains reports whether t, read in loc, falls within the quiet hours.
func (q QuietHours) Contains(t time.Time, loc *time.Location) bool {
	if !q.Enabled {
		return false
	}
	h := t.In(loc).Hour()
	if q.Start < q.End {
		return h >= q.Start && h < q.End
	}
	return h >= q.Start || h < q.End
}

// Until returns when the quiet hours that contain t end: the next End
// o'clock in loc.
func (q QuietHours) Until(t time.Time, loc *time.Location) time.Time {
	local := t.In(loc)
	end := time.Date(local.Year(), local.Month(), local.Day(), q.End, 0, 0, 0, loc)
	if !end.After(local) {
		end = time.Date(local.Year(), local.Month(), local.Day()+1, q.End, 0, 0, 0, loc)
	}
	return end
}

// pacer spaces the engine's sends to its rate, and holds them all while the
// platform has asked the bot to wait. With a shared limiter it spaces the
// sends of every process sharing it. It is safe for concurrent use.
type pacer struct {
	clock Clock
	lim   *rate.Limiter

	// shared, when set, holds the rate under key instead of lim: one
	// message per every. turn lets one worker at a time ask it, and down
	// notes that it failed last, so that an outage is logged once.
	shared bot.Limiter
	key    string
	every  time.Duration
	turn   chan struct{}
	down   atomic.Bool
	log    *slog.Logger

	mu sync.Mutex
	// hold is when the platform allows sending again after a 429.
	hold time.Time
}

func newPacer(clock Clock, perSecond int, shared bot.Limiter, key string, log *slog.Logger) *pacer {
	// A burst of 1 spaces sends evenly. The spacing is a microsecond more
	// than 1/rate because the limiter computes in float seconds and
	// truncates to nanoseconds: rate+1 sends must never fit in one second.
	every := time.Second/time.Duration(perSecond) + time.Microsecond
	p := &pacer{clock: clock, lim: rate.NewLimiter(rate.Every(every), 1), log: log}
	if shared != nil {
		p.shared, p.key, p.every = shared, key, bot.Interval(float64(perSecond))
		p.turn = make(chan struct{}, 1)
	}
	return p
}

// wait returns when one message may go out, or with ctx.Err(). Slots are
// reserved under the lock from a time that never goes back (now, or the
// end of a hold), so the limiter's spacing holds across workers.
func (p *pacer) wait(ctx context.Context) error {
	if p.shared != nil {
		return p.waitShared(ctx)
	}
	p.mu.Lock()
	now := p.clock.Now()
	from := now
	if p.hold.After(from) {
		from = p.hold
	}
	d := p.lim.ReserveN(from, 1).DelayFrom(now)
	p.mu.Unlock()
	if d <= 0 {
		return ctx.Err()
	}
	// A slot given up when ctx ends is not handed back: the engine is
	// stopping, and a returned slot could let two sends come too close.
	return p.clock.Sleep(ctx, d)
}

// waitShared is wait on the shared limiter. One worker of this process
// asks at a time, the others queue here, so that they do not all ask at
// every free slot. The hold after a 429 stays this process's: the others
// hear their own 429s.
//
// While the limiter fails, the broadcasts wait, and it is asked again
// after bot.Backoff. The Sender falls back to a guessed share of its rate
// instead, because a person waits for a reply; nobody waits for a given
// message of a broadcast, whose recipients stay pending in the database
// meanwhile, and a broadcast is the bulk that a wrong guess of the number
// of processes would push over the platform's limit.
func (p *pacer) waitShared(ctx context.Context) error {
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.turn }()
	failures := 0
	for {
		p.mu.Lock()
		held := p.hold.Sub(p.clock.Now())
		p.mu.Unlock()
		if held > 0 {
			if err := p.clock.Sleep(ctx, held); err != nil {
				return err
			}
			continue
		}
		d, err := p.shared.Allow(ctx, p.key, p.every, 1)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failures++
			if p.down.CompareAndSwap(false, true) {
				p.log.WarnContext(ctx, "broadcast limiter failed: sends wait until it answers", "key", p.key, "err", err)
			}
			d = bot.Backoff(failures)
		} else {
			failures = 0
			if p.down.CompareAndSwap(true, false) {
				p.log.InfoContext(ctx, "broadcast limiter answers again: sending", "key", p.key)
			}
			if d <= 0 {
				return nil
			}
		}
		if err := p.clock.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// holdFor stops every send for d from now, as a 429 asks.
func (p *pacer) holdFor(d time.Duration) {
	until := p.clock.Now().Add(d)
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.hold) {
		p.hold = until
	}
}
