package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"
)

// Limiter is a rate limit shared by every process on one Redis
// (bot.Limiter), by GCRA in go-redis/redis_rate. Its script reads the time
// from Redis itself, so processes on hosts whose clocks disagree still keep
// one limit. Each key is one string in Redis that expires once its limit is
// full again.
type Limiter struct {
	rl     *redis_rate.Limiter
	prefix string
}

// NewLimiter returns a limiter on client whose keys start with prefix
// (DefaultPrefix when empty). redis_rate puts "rate:" before every key of
// its own, so the key send:telegram is rate:PREFIXsend:telegram in Redis.
func NewLimiter(client goredis.UniversalClient, prefix string) *Limiter {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Limiter{rl: redis_rate.NewLimiter(client), prefix: prefix}
}

// Allow takes one event of key's limit, one per interval with burst at
// once, and returns 0 if one is free now; otherwise it takes nothing and
// returns how long until one is free. An interval of 0 is no limit.
func (l *Limiter) Allow(ctx context.Context, key string, interval time.Duration, burst int) (time.Duration, error) {
	if interval <= 0 {
		return 0, nil
	}
	// Rate 1 per Period interval says the interval exactly; a rate per
	// second would have to be a whole number.
	limit := redis_rate.Limit{Rate: 1, Period: interval, Burst: max(burst, 1)}
	res, err := l.rl.Allow(ctx, l.prefix+key, limit)
	if err != nil {
		return 0, fmt.Errorf("rate limit %s: %w", key, err)
	}
	if res.Allowed > 0 {
		return 0, nil
	}
	// The script computes in float seconds from Redis's microsecond clock,
	// about 0.1µs off: rounded up to the next microsecond, a wait finds the
	// event free, and a refusal never reads as 0.
	return res.RetryAfter.Truncate(time.Microsecond) + 2*time.Microsecond, nil
}
