package broadcast

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
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
// platform has asked the bot to wait. It is safe for concurrent use.
type pacer struct {
	clock Clock
	lim   *rate.Limiter

	mu sync.Mutex
	// hold is when the platform allows sending again after a 429.
	hold time.Time
}

func newPacer(clock Clock, perSecond int) *pacer {
	// A burst of 1 spaces sends evenly. The spacing is a microsecond more
	// than 1/rate because the limiter computes in float seconds and
	// truncates to nanoseconds: rate+1 sends must never fit in one second.
	every := time.Second/time.Duration(perSecond) + time.Microsecond
	return &pacer{clock: clock, lim: rate.NewLimiter(rate.Every(every), 1)}
}

// wait returns when one message may go out, or with ctx.Err(). Slots are
// reserved under the lock from a time that never goes back (now, or the
// end of a hold), so the limiter's spacing holds across workers.
func (p *pacer) wait(ctx context.Context) error {
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

// holdFor stops every send for d from now, as a 429 asks.
func (p *pacer) holdFor(d time.Duration) {
	until := p.clock.Now().Add(d)
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.hold) {
		p.hold = until
	}
}
