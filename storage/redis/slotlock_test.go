package redis_test

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot/storage/redis"
)

func TestSlotLock(t *testing.T) {
	const key = "broadcast:digest:2026-W48"

	t.Run("OKOneOfTwoTakesIt", func(t *testing.T) {
		b := newBackend(t)
		// Two processes, each with a client and a lock of its own.
		lockers := []*redis.SlotLock{
			redis.NewSlotLock(b.client(), b.prefix, "process-a"),
			redis.NewSlotLock(b.client(), b.prefix, "process-b"),
		}
		took := make([]bool, len(lockers))
		var wg sync.WaitGroup
		for i, l := range lockers {
			wg.Go(func() {
				ok, err := l.TryLock(t.Context(), key, time.Minute)
				if err != nil {
					t.Error(err)
				}
				took[i] = ok
			})
		}
		wg.Wait()
		if took[0] == took[1] {
			t.Fatalf("took %v, want exactly one", took)
		}
		winner := "process-a"
		if took[1] {
			winner = "process-b"
		}
		// The key is under the prefix, its value the owner that took it.
		if owner, err := b.client().Get(t.Context(), b.prefix+key).Result(); err != nil || owner != winner {
			t.Fatalf("lock value %q, %v; want %q", owner, err, winner)
		}
	})

	t.Run("OKOtherTakesItAfterTTL", func(t *testing.T) {
		b := newBackend(t)
		const ttl = 200 * time.Millisecond
		first := redis.NewSlotLock(b.client(), b.prefix, "process-a")
		second := redis.NewSlotLock(b.client(), b.prefix, "process-b")
		if ok, err := first.TryLock(t.Context(), key, ttl); err != nil || !ok {
			t.Fatalf("first: %v, %v", ok, err)
		}
		if ok, err := second.TryLock(t.Context(), key, ttl); err != nil || ok {
			t.Fatalf("second while held: %v, %v; want refused", ok, err)
		}
		if b.mr != nil {
			b.mr.FastForward(ttl)
		} else {
			time.Sleep(ttl + 50*time.Millisecond)
		}
		if ok, err := second.TryLock(t.Context(), key, ttl); err != nil || !ok {
			t.Fatalf("second after the ttl: %v, %v; want taken", ok, err)
		}
	})

	t.Run("OKDefaultOwnerNamesProcess", func(t *testing.T) {
		b := newBackend(t)
		l := redis.NewSlotLock(b.client(), b.prefix, "")
		if ok, err := l.TryLock(t.Context(), key, time.Minute); err != nil || !ok {
			t.Fatalf("TryLock: %v, %v", ok, err)
		}
		host, _ := os.Hostname()
		want := host + ":" + strconv.Itoa(os.Getpid())
		if owner, err := b.client().Get(t.Context(), b.prefix+key).Result(); err != nil || owner != want {
			t.Fatalf("lock value %q, %v; want %q", owner, err, want)
		}
	})

	t.Run("ErrTTLNotPositive", func(t *testing.T) {
		b := newBackend(t)
		l := redis.NewSlotLock(b.client(), b.prefix, "process-a")
		if ok, err := l.TryLock(t.Context(), key, 0); err == nil || ok {
			t.Fatalf("TryLock with no ttl: %v, %v; want an error", ok, err)
		}
		if n, err := b.client().Exists(t.Context(), b.prefix+key).Result(); err != nil || n != 0 {
			t.Fatalf("a lock without a ttl was stored: %d, %v", n, err)
		}
	})

	t.Run("ErrRedisDown", func(t *testing.T) {
		// Nothing listens on this address: every call fails at once.
		c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
		t.Cleanup(func() { c.Close() })
		l := redis.NewSlotLock(c, "", "process-a")
		ok, err := l.TryLock(t.Context(), key, time.Minute)
		if ok || err == nil || !strings.HasPrefix(err.Error(), "slot lock "+key+": ") {
			t.Fatalf("TryLock: %v, %v; want an error naming the key", ok, err)
		}
	})
}
