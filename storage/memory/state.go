// Package memory keeps dialog state in process memory: the default store
// when no Redis is configured. State does not survive a restart and is not
// shared between processes; storage/redis is the store for that.
package memory

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultTTL is how long a chat's dialog state lives after its last update
// when NewStateStore is given no TTL.
const DefaultTTL = 24 * time.Hour

// StateStore holds each chat's dialog state as opaque bytes with a TTL.
// Updates of one chat run one at a time under that chat's own lock, so a
// slow update never holds up other chats. Expired entries are evicted as
// the store is used, so the map does not grow without bound.
type StateStore struct {
	// Now is the clock; tests replace it. Set it before first use.
	Now func() time.Time

	ttl time.Duration

	mu        sync.Mutex // guards chats and lastSweep, never held while fn runs
	chats     map[string]*entry
	lastSweep time.Time
}

// entry is one chat's state. lock is a one-slot semaphore rather than a
// sync.Mutex so that waiting for it respects the caller's context.
type entry struct {
	lock    chan struct{}
	users   int // Update calls holding or waiting for lock; guarded by StateStore.mu
	state   []byte
	expires time.Time
}

// NewStateStore returns an empty store whose states expire ttl after their
// last update; ttl <= 0 means DefaultTTL.
func NewStateStore(ttl time.Duration) *StateStore {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &StateStore{Now: time.Now, ttl: ttl, chats: make(map[string]*entry)}
}

// Update runs fn with the chat's stored state (nil if none or expired) while
// holding the chat's lock, and stores what fn returns; a nil or empty result
// deletes the state. An error from fn (or a panic, which propagates) leaves
// the stored state as it was. Storing refreshes the TTL.
func (s *StateStore) Update(ctx context.Context, chat string, fn func(state []byte) ([]byte, error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("update state of chat %s: %w", chat, err)
	}
	e := s.acquire(chat)
	defer s.release(chat, e)

	select {
	case e.lock <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("update state of chat %s: %w", chat, ctx.Err())
	}
	defer func() { <-e.lock }()

	var cur []byte
	if e.state != nil && s.Now().Before(e.expires) {
		// fn gets a copy: if it edits the bytes in place and then fails,
		// the stored state must stay untouched.
		cur = bytes.Clone(e.state)
	}
	next, err := fn(cur)
	if err != nil {
		return err
	}
	if len(next) == 0 {
		e.state = nil
		return nil
	}
	e.state = bytes.Clone(next)
	e.expires = s.Now().Add(s.ttl)
	return nil
}

// Delete removes the chat's state. It waits for an Update of the same chat
// in progress, so the deletion is never undone by that update's write.
func (s *StateStore) Delete(ctx context.Context, chat string) error {
	return s.Update(ctx, chat, func([]byte) ([]byte, error) { return nil, nil })
}

// acquire returns the chat's entry, creating it, and counts the caller as
// its user so that the sweep leaves it alone.
func (s *StateStore) acquire(chat string) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	e := s.chats[chat]
	if e == nil {
		e = &entry{lock: make(chan struct{}, 1)}
		s.chats[chat] = e
	}
	e.users++
	return e
}

// release drops the caller's use of e and removes the entry when nobody
// uses it and it holds no state.
func (s *StateStore) release(chat string, e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.users--
	if e.users == 0 && e.state == nil {
		delete(s.chats, chat)
	}
}

// sweepLocked evicts expired entries. It walks the whole map, so it runs at
// most once per sweepInterval, which keeps the cost per Update constant on
// average. The caller holds s.mu.
func (s *StateStore) sweepLocked() {
	now := s.Now()
	if now.Sub(s.lastSweep) < s.sweepInterval() {
		return
	}
	s.lastSweep = now
	for chat, e := range s.chats {
		// An entry in use is skipped: its state is guarded by its own lock,
		// and the last user removes it if it ends up empty.
		if e.users == 0 && !now.Before(e.expires) {
			delete(s.chats, chat)
		}
	}
}

// sweepInterval bounds how long an expired entry can stay in memory.
func (s *StateStore) sweepInterval() time.Duration {
	return min(s.ttl, time.Minute)
}
