package redis_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/storage/redis"
)

var _ bot.Limiter = (*redis.Limiter)(nil)

// limiterBackend is a backend whose time a test moves on: on miniredis it
// sets the server's clock, which its TIME (and so redis_rate's script)
// reads, so nothing waits; on a real Redis it sleeps.
type limiterBackend struct {
	*backend
	now time.Time // miniredis's clock; unused on a real Redis
}

func newLimiterBackend(t *testing.T) *limiterBackend {
	t.Helper()
	b := &limiterBackend{backend: newBackend(t)}
	if b.mr != nil {
		b.now = time.Now()
		b.mr.SetTime(b.now)
	} else {
		// redis_rate puts "rate:" before the test's prefix, out of reach
		// of the backend's own cleanup.
		t.Cleanup(func() { removeRateKeys(t, b.opts, b.prefix) })
	}
	return b
}

// advance moves the time on by d.
func (b *limiterBackend) advance(d time.Duration) {
	if b.mr == nil {
		time.Sleep(d)
		return
	}
	b.now = b.now.Add(d)
	b.mr.SetTime(b.now)
}

// removeRateKeys deletes the limiter's keys of the prefix from a real Redis.
func removeRateKeys(t *testing.T, opts *goredis.Options, prefix string) {
	c := goredis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, "rate:"+prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("remove limiter keys: %v", err)
	}
}

// allow calls l.Allow and fails the test on an error.
func allow(t *testing.T, l *redis.Limiter, key string, interval time.Duration, burst int) time.Duration {
	t.Helper()
	wait, err := l.Allow(t.Context(), key, interval, burst)
	if err != nil {
		t.Fatal(err)
	}
	return wait
}

func TestLimiter(t *testing.T) {
	const interval = 100 * time.Millisecond

	t.Run("OKBurstThenOnePerInterval", func(t *testing.T) {
		b := newLimiterBackend(t)
		l := redis.NewLimiter(b.client(), b.prefix)
		for i := range 3 {
			if wait := allow(t, l, "chat:telegram:1", interval, 3); wait != 0 {
				t.Fatalf("event %d of the burst: wait %s, want 0", i+1, wait)
			}
			// As between two round trips: within one microsecond the
			// script's float sums may refuse the burst's last event by a
			// rounding error.
			b.advance(time.Microsecond)
		}
		wait := allow(t, l, "chat:telegram:1", interval, 3)
		if wait <= 0 || wait > interval+time.Millisecond {
			t.Fatalf("after the burst: wait %s, want up to %s", wait, interval)
		}
		// Refused is refused: asking again takes nothing.
		if again := allow(t, l, "chat:telegram:1", interval, 3); again <= 0 {
			t.Fatalf("asked again at once: wait %s, want still refused", again)
		}
		b.advance(wait)
		if got := allow(t, l, "chat:telegram:1", interval, 3); got != 0 {
			t.Fatalf("after waiting %s: wait %s, want the event free", wait, got)
		}
		if got := allow(t, l, "chat:telegram:1", interval, 3); got <= 0 {
			t.Fatalf("right after: wait %s, want one per %s", got, interval)
		}
	})

	t.Run("OKKeysApart", func(t *testing.T) {
		b := newLimiterBackend(t)
		l := redis.NewLimiter(b.client(), b.prefix)
		if wait := allow(t, l, "send:telegram", time.Hour, 1); wait != 0 {
			t.Fatalf("first of send:telegram: wait %s", wait)
		}
		if wait := allow(t, l, "send:viber", time.Hour, 1); wait != 0 {
			t.Fatalf("send:viber waited %s for send:telegram", wait)
		}
	})

	t.Run("OKSharedByProcesses", func(t *testing.T) {
		b := newLimiterBackend(t)
		// Two clients, as two processes; a third with another prefix is
		// another bot on the same Redis.
		first := redis.NewLimiter(b.client(), b.prefix)
		second := redis.NewLimiter(b.client(), b.prefix)
		other := redis.NewLimiter(b.client(), b.prefix+"other:")
		if wait := allow(t, first, "send:telegram", time.Hour, 1); wait != 0 {
			t.Fatalf("first process: wait %s", wait)
		}
		if wait := allow(t, second, "send:telegram", time.Hour, 1); wait <= time.Hour-time.Minute {
			t.Fatalf("second process: wait %s, want the hour the first one left", wait)
		}
		if wait := allow(t, other, "send:telegram", time.Hour, 1); wait != 0 {
			t.Fatalf("another prefix: wait %s, want a limit of its own", wait)
		}
	})

	t.Run("OKZeroIntervalIsNoLimit", func(t *testing.T) {
		b := newLimiterBackend(t)
		l := redis.NewLimiter(b.client(), b.prefix)
		for range 10 {
			if wait := allow(t, l, "send:telegram", 0, 1); wait != 0 {
				t.Fatalf("wait %s without a limit", wait)
			}
		}
	})

	t.Run("OKKeyUnderPrefixExpires", func(t *testing.T) {
		b := newLimiterBackend(t)
		c := b.client()
		l := redis.NewLimiter(c, b.prefix)
		allow(t, l, "send:telegram", interval, 1)
		key := "rate:" + b.prefix + "send:telegram"
		// The key lives until its limit is full again, rounded up to a
		// second, so that idle chats leave nothing behind.
		if ttl, err := c.PTTL(t.Context(), key).Result(); err != nil || ttl <= 0 || ttl > time.Second {
			t.Fatalf("TTL of %s = %s, %v; want it to go once the limit is full", key, ttl, err)
		}
		if b.mr != nil {
			b.mr.FastForward(time.Second)
			if b.mr.Exists(key) {
				t.Fatalf("%s outlived its TTL", key)
			}
		}
	})

	t.Run("ErrRedisDown", func(t *testing.T) {
		// Nothing listens on this address: every call fails at once.
		c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
		t.Cleanup(func() { c.Close() })
		l := redis.NewLimiter(c, "")
		_, err := l.Allow(t.Context(), "send:telegram", interval, 1)
		if err == nil || !strings.HasPrefix(err.Error(), "rate limit send:telegram: ") {
			t.Fatalf("err = %v, want it to name the key", err)
		}
	})
}

// sendTimes is a bot.Transport that records when each message reached it.
type sendTimes struct {
	mu    sync.Mutex
	times map[string][]time.Time // by chat
	all   []time.Time
}

func (s *sendTimes) Deliver(ctx context.Context, out bot.Outgoing) error {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.times == nil {
		s.times = map[string][]time.Time{}
	}
	s.times[out.ChatID] = append(s.times[out.ChatID], now)
	s.all = append(s.all, now)
	return nil
}

// mostWithin returns the most times within any window [t, t+w).
func mostWithin(times []time.Time, w time.Duration) int {
	most := 0
	for _, a := range times {
		n := 0
		for _, b := range times {
			if !b.Before(a) && b.Before(a.Add(w)) {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// TestSendersShareLimiter runs two Senders, as two processes of one bot,
// each sending from several goroutines, on one Redis limiter: together
// they keep the global and the per-chat limits that each would keep alone
// without it. It asserts a property of the recorded send times, not a
// speed, in real time: Redis's clock is what the limiter reads.
func TestSendersShareLimiter(t *testing.T) {
	const (
		globalRate   = 10
		perChatRate  = 2
		perChatBurst = 2
		chats        = 5
		perSender    = 15
		workers      = 3
	)
	b := newBackend(t)
	if b.mr == nil {
		t.Cleanup(func() { removeRateKeys(t, b.opts, b.prefix) })
	}
	tr := &sendTimes{}
	var wg sync.WaitGroup
	for p := range 2 {
		s := bot.NewSender(tr, bot.SenderOptions{
			GlobalRate: globalRate, PerChatRate: perChatRate, PerChatBurst: perChatBurst,
			Limiter: redis.NewLimiter(b.client(), b.prefix), Platform: "telegram",
		})
		for w := range workers {
			wg.Go(func() {
				for i := w; i < perSender; i += workers {
					out := bot.Outgoing{ChatID: strconv.Itoa(i % chats), Reply: bot.Reply{Text: fmt.Sprintf("%d from %d", i, p)}}
					if err := s.Send(t.Context(), out); err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
	wg.Wait()

	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.all) != 2*perSender {
		t.Fatalf("%d messages sent, want %d", len(tr.all), 2*perSender)
	}
	// GCRA lets the burst go at once, then one per interval: in any window
	// of w at most burst + rate·w.
	for _, w := range []time.Duration{time.Second, 2 * time.Second} {
		secs := int(w / time.Second)
		if got, most := mostWithin(tr.all, w), 1+globalRate*secs; got > most {
			t.Errorf("%d messages within %s, want at most %d in all", got, w, most)
		}
		for chat, times := range tr.times {
			if got, most := mostWithin(times, w), perChatBurst+perChatRate*secs; got > most {
				t.Errorf("chat %s got %d messages within %s, want at most %d", chat, got, w, most)
			}
		}
	}
}

// BenchmarkLimiter measures one Allow, a round trip and redis_rate's
// script, on the Redis at REDIS_URL, or on miniredis when it is not set.
func BenchmarkLimiter(b *testing.B) {
	var opts *goredis.Options
	if url := os.Getenv("REDIS_URL"); url != "" {
		var err error
		if opts, err = goredis.ParseURL(url); err != nil {
			b.Fatalf("REDIS_URL: %v", err)
		}
		b.Logf("on the Redis at REDIS_URL (%s)", opts.Addr)
	} else {
		opts = &goredis.Options{Addr: miniredis.RunT(b).Addr()}
		b.Log("on miniredis: set REDIS_URL for a real figure")
	}
	c := goredis.NewClient(opts)
	b.Cleanup(func() { c.Close() })
	prefix := "hromadabot-bench:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	l := redis.NewLimiter(c, prefix)
	ctx := context.Background()
	// A limit far above the loop's pace: every call takes an event and
	// writes the key, as a send does.
	for b.Loop() {
		if _, err := l.Allow(ctx, "send:telegram", time.Nanosecond, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	c.Del(ctx, "rate:"+prefix+"send:telegram")
}
