package bot

import (
	"context"
	"math"
	"time"
)

// Limiter is a rate limit that every process sending for the bot shares,
// such as storage/redis's Limiter: the processes that ask it for the same
// key stay within one limit together. Its shape is that of GCRA (the
// generic cell rate algorithm): one event per interval, burst of them at
// once after a quiet spell.
type Limiter interface {
	// Allow takes one event of key's limit and returns 0 if one is free
	// now. Otherwise it takes nothing and returns how long until one is
	// free, when the caller asks again: an event is never promised ahead,
	// so a caller that gives up leaves nothing reserved behind.
	Allow(ctx context.Context, key string, interval time.Duration, burst int) (wait time.Duration, err error)
}

// Interval is the time between events at perSecond events a second, the
// interval a Limiter takes; 0 for no limit (perSecond +Inf or 0). It is a
// microsecond longer than the exact quotient: a limiter in float seconds
// (Redis's Lua) rounds its sums, and perSecond+1 events must never fit in
// one second.
func Interval(perSecond float64) time.Duration {
	if perSecond <= 0 || math.IsInf(perSecond, 1) {
		return 0
	}
	return time.Duration(math.Ceil(float64(time.Second)/perSecond)) + time.Microsecond
}
