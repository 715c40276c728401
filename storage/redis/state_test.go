package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage/redis"
	"github.com/hromadabot/hromadabot/storage/storetest"
)

var _ storetest.Store = (*redis.StateStore)(nil)

// backend is the Redis a test runs on: the real one from REDIS_URL when it
// is set, an in-process miniredis otherwise.
type backend struct {
	t      *testing.T
	mr     *miniredis.Miniredis // nil on a real Redis
	opts   *goredis.Options
	prefix string // unique per test; its keys are removed at the end
}

var logBackend sync.Once

func newBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{t: t, prefix: "hromadabot-test:" + randomHex(t) + ":"}
	if url := os.Getenv("REDIS_URL"); url != "" {
		opts, err := goredis.ParseURL(url)
		if err != nil {
			t.Fatalf("REDIS_URL: %v", err)
		}
		b.opts = opts
		logBackend.Do(func() { t.Logf("dialog state tests run on the Redis at REDIS_URL (%s)", opts.Addr) })
		t.Cleanup(b.removeKeys)
	} else {
		b.mr = miniredis.RunT(t)
		b.opts = &goredis.Options{Addr: b.mr.Addr()}
		logBackend.Do(func() { t.Log("dialog state tests run on an in-process miniredis (REDIS_URL is not set)") })
	}
	return b
}

// client opens a new connection pool, as a separate process would.
func (b *backend) client() *goredis.Client {
	c := goredis.NewClient(b.opts)
	b.t.Cleanup(func() { c.Close() })
	return c
}

// removeKeys deletes the test's keys from the shared real Redis.
func (b *backend) removeKeys() {
	c := goredis.NewClient(b.opts)
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, b.prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		b.t.Errorf("remove test keys: %v", err)
	}
}

// store is the Redis store with what storetest needs besides it.
type store struct {
	*redis.StateStore
	b    *backend
	opts redis.Options
}

func (s store) TTL() time.Duration { return s.opts.TTL }

// Advance moves miniredis's clock; a real Redis's clock cannot be moved.
func (s store) Advance(d time.Duration) bool {
	if s.b.mr == nil {
		return false
	}
	s.b.mr.FastForward(d)
	return true
}

func (s store) Reopen(*testing.T) storetest.Store {
	return redis.NewStateStore(s.b.client(), s.opts)
}

func TestStateStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		b := newBackend(t)
		opts := redis.Options{Prefix: b.prefix, TTL: time.Hour}
		if b.mr == nil {
			// A real Redis expires keys by its own clock: a short TTL lets
			// the suite wait for expiry. No test assumes anything about it.
			opts.TTL = time.Second
		}
		return store{StateStore: redis.NewStateStore(b.client(), opts), b: b, opts: opts}
	})
}

func TestStateStoreKeys(t *testing.T) {
	ctx := t.Context()
	b := newBackend(t)
	c := b.client()
	chat := "telegram:" + randomHex(t)
	// The default prefix and TTL; the key is removed at the end.
	s := redis.NewStateStore(c, redis.Options{})
	key := redis.DefaultPrefix + "state:{" + chat + "}"
	t.Cleanup(func() { goredis.NewClient(b.opts).Del(context.Background(), key) })

	put(t, s, chat, `{"step":"menu"}`)
	if got, err := c.Get(ctx, key).Result(); err != nil || got != `{"step":"menu"}` {
		t.Fatalf("GET %s = %q, %v", key, got, err)
	}
	ttl, err := c.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= redis.DefaultTTL-time.Hour || ttl > redis.DefaultTTL {
		t.Fatalf("TTL of the state = %s, want about %s", ttl, redis.DefaultTTL)
	}

	// Using the state refreshes the TTL.
	if err := c.PExpire(ctx, key, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	put(t, s, chat, `{"step":"report"}`)
	if ttl, err = c.PTTL(ctx, key).Result(); err != nil {
		t.Fatal(err)
	}
	if ttl <= redis.DefaultTTL-time.Hour {
		t.Fatalf("TTL after an update = %s, want it refreshed to about %s", ttl, redis.DefaultTTL)
	}
	if n, err := c.Exists(ctx, redis.DefaultPrefix+"lock:{"+chat+"}").Result(); err != nil || n != 0 {
		t.Fatalf("lock key exists = %d, %v after the update, want released", n, err)
	}
}

func TestStateStoreReleasesLock(t *testing.T) {
	errInput := errors.New("invalid input")
	for _, tc := range []struct {
		name string
		fn   func([]byte) ([]byte, error)
	}{
		{"OK", func([]byte) ([]byte, error) { return []byte("x"), nil }},
		{"Deleted", func([]byte) ([]byte, error) { return nil, nil }},
		{"ErrFn", func([]byte) ([]byte, error) { return nil, errInput }},
		{"Panic", func([]byte) ([]byte, error) { panic("handler bug") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t)
			c := b.client()
			s := redis.NewStateStore(c, redis.Options{Prefix: b.prefix})
			func() {
				defer func() { _ = recover() }()
				_ = s.Update(t.Context(), "chat:1", tc.fn)
			}()
			n, err := c.Exists(t.Context(), b.prefix+"lock:{chat:1}").Result()
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatal("the chat's lock is still held after Update returned")
			}
		})
	}
}

// holdLock starts an Update of chat on s whose fn blocks until the returned
// release is called; it returns once fn is running, so the lock is held.
func holdLock(t *testing.T, s *redis.StateStore, chat, result string) (release func() error) {
	t.Helper()
	entered, proceed := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(context.Background(), chat, func([]byte) ([]byte, error) {
			close(entered)
			<-proceed
			return []byte(result), nil
		})
	}()
	select {
	case <-entered:
	case err := <-done:
		t.Fatalf("holding update ended early: %v", err)
	}
	var (
		once sync.Once
		err  error
	)
	release = func() error {
		once.Do(func() {
			close(proceed)
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = release() })
	return release
}

func TestStateStoreErrLockTimeout(t *testing.T) {
	b := newBackend(t)
	a := redis.NewStateStore(b.client(), redis.Options{Prefix: b.prefix})
	// The second process gives up quickly; the first holds the chat.
	other := redis.NewStateStore(b.client(), redis.Options{Prefix: b.prefix, LockWait: 50 * time.Millisecond})
	release := holdLock(t, a, "chat:1", "first")

	err := other.Update(t.Context(), "chat:1", func([]byte) ([]byte, error) {
		t.Error("fn ran while another process held the chat")
		return []byte("second"), nil
	})
	if !errors.Is(err, redis.ErrLockTimeout) {
		t.Fatalf("err = %v, want ErrLockTimeout", err)
	}
	if code := hromadabot.ErrorCode(err); code != hromadabot.ECONFLICT {
		t.Fatalf("error code = %q, want %q", code, hromadabot.ECONFLICT)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if got := get(t, other, "chat:1"); got != "first" {
		t.Fatalf("state = %q, want %q", got, "first")
	}
}

// TestStateStoreErrLockLost simulates a process that stalled past its lock's
// TTL: another process took the chat and stored newer state, which the
// stalled one must not overwrite.
func TestStateStoreErrLockLost(t *testing.T) {
	b := newBackend(t)
	c := b.client()
	stalled := redis.NewStateStore(c, redis.Options{Prefix: b.prefix})
	other := redis.NewStateStore(b.client(), redis.Options{Prefix: b.prefix})
	put(t, other, "chat:1", "old")
	release := holdLock(t, stalled, "chat:1", "stale")

	// The lock expires (deleted here rather than waited for).
	if err := c.Del(t.Context(), b.prefix+"lock:{chat:1}").Err(); err != nil {
		t.Fatal(err)
	}
	put(t, other, "chat:1", "newer")

	err := release()
	if !errors.Is(err, redis.ErrLockLost) {
		t.Fatalf("err = %v, want ErrLockLost", err)
	}
	if code := hromadabot.ErrorCode(err); code != hromadabot.ECONFLICT {
		t.Fatalf("error code = %q, want %q", code, hromadabot.ECONFLICT)
	}
	if got := get(t, other, "chat:1"); got != "newer" {
		t.Fatalf("state = %q, want %q", got, "newer")
	}
}

// TestStateStoreRenewsLock checks that a slow fn keeps its chat: the lock's
// TTL goes back up while fn runs.
func TestStateStoreRenewsLock(t *testing.T) {
	b := newBackend(t)
	c := b.client()
	const lockTTL = 900 * time.Millisecond
	s := redis.NewStateStore(c, redis.Options{Prefix: b.prefix, LockTTL: lockTTL})
	release := holdLock(t, s, "chat:1", "done")
	lockKey := b.prefix + "lock:{chat:1}"

	if b.mr != nil {
		b.mr.FastForward(lockTTL / 2) // miniredis's clock moves only when told
	}
	lowest := lockTTL
	deadline := time.Now().Add(20 * time.Second)
	for {
		ttl, err := c.PTTL(t.Context(), lockKey).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 0 {
			t.Fatalf("lock TTL = %s: the lock was lost while fn ran", ttl)
		}
		if ttl > lowest {
			break // renewed
		}
		lowest = ttl
		if time.Now().After(deadline) {
			t.Fatal("the lock was not renewed while fn ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "chat:1"); got != "done" {
		t.Fatalf("state = %q, want %q", got, "done")
	}
}

func TestStateStoreErrRedisDown(t *testing.T) {
	// Nothing listens on this address: every operation fails at once.
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	s := redis.NewStateStore(c, redis.Options{})

	err := s.Ping(t.Context())
	if err == nil || !strings.HasPrefix(err.Error(), "ping redis: ") {
		t.Fatalf("Ping err = %v, want it to name the operation", err)
	}
	called := false
	err = s.Update(t.Context(), "chat:1", func([]byte) ([]byte, error) {
		called = true
		return nil, nil
	})
	if err == nil || !strings.Contains(err.Error(), "acquire lock") {
		t.Fatalf("Update err = %v, want it to name the operation", err)
	}
	if called {
		t.Fatal("fn ran without the chat's lock")
	}
}

// TestStateStoreRedisRestart checks that the store recovers by itself when
// Redis comes back. It needs a Redis it can stop, so it always runs on
// miniredis.
func TestStateStoreRedisRestart(t *testing.T) {
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	s := redis.NewStateStore(c, redis.Options{})
	put(t, s, "chat:1", "before")

	mr.Close()
	if err := s.Ping(t.Context()); err == nil {
		t.Fatal("Ping succeeded with Redis down")
	}
	if err := s.Update(t.Context(), "chat:1", func([]byte) ([]byte, error) { return []byte("lost"), nil }); err == nil {
		t.Fatal("Update succeeded with Redis down")
	}

	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
	if got := get(t, s, "chat:1"); got != "before" {
		t.Fatalf("state = %q after the restart, want %q", got, "before")
	}
}

func TestStateStorePing(t *testing.T) {
	b := newBackend(t)
	if err := redis.NewStateStore(b.client(), redis.Options{Prefix: b.prefix}).Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func put(t *testing.T, s *redis.StateStore, chat, state string) {
	t.Helper()
	if err := s.Update(t.Context(), chat, func([]byte) ([]byte, error) { return []byte(state), nil }); err != nil {
		t.Fatalf("store state of %s: %v", chat, err)
	}
}

var errReadOnly = errors.New("read only")

func get(t *testing.T, s *redis.StateStore, chat string) string {
	t.Helper()
	var got string
	err := s.Update(t.Context(), chat, func(state []byte) ([]byte, error) {
		got = string(state)
		return nil, errReadOnly
	})
	if !errors.Is(err, errReadOnly) {
		t.Fatalf("read state of %s: %v", chat, err)
	}
	return got
}

func randomHex(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// TestStateStoreManyChatsAtOnce: updates of many chats at once travel to
// Redis together, and each gets its own chat's state back.
func TestStateStoreManyChatsAtOnce(t *testing.T) {
	b := newBackend(t)
	s := redis.NewStateStore(b.client(), redis.Options{Prefix: b.prefix})
	ctx := context.Background()
	const chats, updates = 100, 5
	var wg sync.WaitGroup
	errs := make(chan error, chats)
	for i := range chats {
		wg.Go(func() {
			chat := "telegram:" + strconv.Itoa(i)
			for range updates {
				err := s.Update(ctx, chat, func(st []byte) ([]byte, error) {
					return append(st, chat+";"...), nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range chats {
		chat := "telegram:" + strconv.Itoa(i)
		if err := s.Update(ctx, chat, func(st []byte) ([]byte, error) {
			if want := strings.Repeat(chat+";", updates); string(st) != want {
				t.Errorf("chat %s has %q, want %q", chat, st, want)
			}
			return st, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStateStoreAfterScriptFlush: a Redis that lost the scripts (restarted,
// or flushed) gets them again.
func TestStateStoreAfterScriptFlush(t *testing.T) {
	b := newBackend(t)
	client := b.client()
	s := redis.NewStateStore(client, redis.Options{Prefix: b.prefix})
	ctx := context.Background()
	set := func(v string) error {
		return s.Update(ctx, "telegram:1", func([]byte) ([]byte, error) { return []byte(v), nil })
	}
	if err := set("a"); err != nil {
		t.Fatal(err)
	}
	if err := client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := set("b"); err != nil {
		t.Fatalf("update after the scripts were flushed: %v", err)
	}
	if err := s.Update(ctx, "telegram:1", func(st []byte) ([]byte, error) {
		if string(st) != "b" {
			t.Errorf("state %q, want %q", st, "b")
		}
		return st, nil
	}); err != nil {
		t.Fatal(err)
	}
}
