// Package redis keeps in Redis (go-redis v9) what the processes of one bot
// share: the dialog state, so that a conversation survives a restart and
// any process can serve any chat (each chat's state one key with a TTL,
// its updates serialized by a per-chat lock); the streams of updates and
// the leases that give each shard of them, and the polling, to one
// process at a time; the send limits; and the broadcast scheduler's slot
// locks.
package redis

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot"
)

// Defaults for Options fields left zero.
const (
	DefaultPrefix = "hromadabot:"
	DefaultTTL    = 24 * time.Hour
	// DefaultLockTTL bounds how long the lock of a crashed process blocks
	// its chat. A live holder renews it, so it does not bound an update.
	DefaultLockTTL = 5 * time.Second
	// DefaultLockWait exceeds DefaultLockTTL so that a lock left behind by
	// a crashed process is waited out rather than reported as busy.
	DefaultLockWait = 6 * time.Second
)

// ErrLockTimeout is returned (wrapped) by Update when the chat's lock stayed
// held by another update until LockWait or the context ran out.
var ErrLockTimeout = &hromadabot.Error{
	Code:    hromadabot.ECONFLICT,
	Reason:  "state_busy",
	Message: "dialog state is busy: timed out waiting for the chat's lock",
}

// ErrLockLost is returned (wrapped) by Update when the chat's lock expired
// while fn ran (the process stalled longer than LockTTL) and another update
// may have taken it: fn's result is not stored, so newer state is never
// overwritten.
var ErrLockLost = &hromadabot.Error{
	Code:    hromadabot.ECONFLICT,
	Reason:  "state_lock_lost",
	Message: "dialog state lock was lost before the write; nothing stored",
}

// Options configure a StateStore. Zero fields take the defaults above.
type Options struct {
	// Prefix starts every key, so several bots can share one Redis.
	Prefix string
	// TTL is how long a chat's state lives after its last update.
	TTL time.Duration
	// LockTTL is the lifetime of a chat's lock; the holder renews it every
	// LockTTL/3 while fn runs.
	LockTTL time.Duration
	// LockWait is the longest Update waits for another update's lock.
	LockWait time.Duration
}

// StateStore keeps dialog state in Redis as opaque bytes per chat.
type StateStore struct {
	client goredis.UniversalClient
	opts   Options
	// batch carries the scripts of every update, taking and writing a
	// chat's state, to Redis with those of other chats.
	batch *batcher
}

// Scripts run atomically in Redis. KEYS[1] is the lock, KEYS[2] the state;
// ARGV[1] is the caller's lock token.
var (
	// acquireScript takes the lock and, if it got it, returns the state in
	// the same round trip: {1, state or false} or {0}.
	acquireScript = goredis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2])}
end
return {0}`)
	// writeScript stores (ARGV[2] with TTL ARGV[3] ms) or deletes (ARGV[2]
	// empty) the state and releases the lock, only if the lock is still
	// the caller's; it returns 0 otherwise and changes nothing.
	writeScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
end
redis.call('DEL', KEYS[1])
return 1`)
	// releaseScript deletes the lock if it is still the caller's.
	releaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
	// renewScript extends the lock to ARGV[2] ms if it is still the caller's.
	renewScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)
)

// NewStateStore returns a store on client. It does not contact Redis; call
// Ping to check the connection at start.
func NewStateStore(client goredis.UniversalClient, opts Options) *StateStore {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = DefaultLockTTL
	}
	if opts.LockWait <= 0 {
		opts.LockWait = DefaultLockWait
	}
	return &StateStore{client: client, opts: opts, batch: &batcher{client: client}}
}

// Ping checks that Redis answers.
func (s *StateStore) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// keys returns the chat's lock and state keys. The chat is a hash tag, so
// both keys land in one slot and the scripts also work on Redis Cluster.
func (s *StateStore) keys(chat string) []string {
	tag := "{" + chat + "}"
	return []string{s.opts.Prefix + "lock:" + tag, s.opts.Prefix + "state:" + tag}
}

// Update runs fn with the chat's stored state (nil if none or expired) while
// holding the chat's lock in Redis, and stores what fn returns with a fresh
// TTL; a nil or empty result deletes the state. Updates of one chat are
// applied one at a time, also across processes sharing the Redis. An error
// from fn is returned as is and nothing is stored. If the lock cannot be had
// within LockWait, the error wraps ErrLockTimeout; if it was lost while fn
// ran, the error wraps ErrLockLost and nothing is stored.
func (s *StateStore) Update(ctx context.Context, chat string, fn func(state []byte) ([]byte, error)) error {
	keys := s.keys(chat)
	token, err := newToken()
	if err != nil {
		return fmt.Errorf("update state of chat %s: %w", chat, err)
	}
	state, err := s.lock(ctx, keys, token)
	if err != nil {
		return fmt.Errorf("update state of chat %s: %w", chat, err)
	}
	written := false
	defer func() {
		if !written {
			// fn failed or panicked: free the chat now rather than after
			// LockTTL. The caller's context may be done, hence WithoutCancel.
			_ = releaseScript.Run(context.WithoutCancel(ctx), s.client, keys, token).Err()
		}
	}()

	stop := s.keepLock(ctx, keys, token)
	next, err := fn(state)
	stop()
	if err != nil {
		return err
	}

	ok, err := s.batch.run(ctx, writeScript, keys, token, next, s.opts.TTL.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("write state of chat %s: %w", chat, err)
	}
	written = true
	if ok == 0 {
		return fmt.Errorf("write state of chat %s: %w", chat, ErrLockLost)
	}
	return nil
}

// Delete removes the chat's state. It takes the chat's lock like Update, so
// an update in progress cannot bring the deleted state back.
func (s *StateStore) Delete(ctx context.Context, chat string) error {
	return s.Update(ctx, chat, func([]byte) ([]byte, error) { return nil, nil })
}

// lock takes the chat's lock and returns the current state (nil if none).
// While another update holds the lock it polls with a short, jittered,
// growing pause until LockWait or ctx runs out.
func (s *StateStore) lock(ctx context.Context, keys []string, token string) ([]byte, error) {
	deadline := time.Now().Add(s.opts.LockWait)
	pause := time.Millisecond
	for {
		res, err := s.batch.run(ctx, acquireScript, keys, token, s.opts.LockTTL.Milliseconds()).Slice()
		if err != nil {
			return nil, fmt.Errorf("acquire lock: %w", err)
		}
		if got, _ := res[0].(int64); got == 1 {
			if len(res) < 2 || res[1] == nil {
				return nil, nil
			}
			v, ok := res[1].(string)
			if !ok {
				return nil, fmt.Errorf("acquire lock: unexpected state value %T", res[1])
			}
			return []byte(v), nil
		}
		wait := pause/2 + rand.N(pause/2+1)
		if time.Now().Add(wait).After(deadline) {
			return nil, ErrLockTimeout
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w: %w", ErrLockTimeout, ctx.Err())
		case <-t.C:
		}
		pause = min(pause*2, 32*time.Millisecond)
	}
}

// keepLock renews the lock every LockTTL/3 until the returned stop is
// called, so a slow fn keeps its chat. A timer rather than a goroutine per
// update: most updates finish before the first renewal is due.
func (s *StateStore) keepLock(ctx context.Context, keys []string, token string) (stop func()) {
	every := s.opts.LockTTL / 3
	var (
		mu      sync.Mutex
		stopped bool
		timer   *time.Timer
	)
	var renew func()
	renew = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		ok, err := renewScript.Run(ctx, s.client, keys, token, s.opts.LockTTL.Milliseconds()).Int()
		if err != nil && errors.Is(err, ctx.Err()) || err == nil && ok == 0 {
			// The context ended or the lock is gone: the write will find
			// out and report it, there is nothing left to keep.
			return
		}
		// A transient Redis error is retried on the next tick.
		timer = time.AfterFunc(every, renew)
	}
	timer = time.AfterFunc(every, renew)
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		timer.Stop()
	}
}

// newToken returns a random lock token that identifies one Update call.
func newToken() (string, error) {
	var b [16]byte
	if _, err := crand.Read(b[:]); err != nil {
		return "", fmt.Errorf("lock token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
