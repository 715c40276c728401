package memory_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/storage/memory"
	"github.com/hromadabot/hromadabot/storage/storetest"
)

// clock is a fake clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return true
}

// store is the memory store with its fake clock, as storetest needs it.
type store struct {
	*memory.StateStore
	*clock
	ttl time.Duration
}

func (s store) TTL() time.Duration { return s.ttl }

// Reopen returns the same store: within one process the memory store is
// the backend every user shares.
func (s store) Reopen(*testing.T) storetest.Store { return s.StateStore }

func newStore(ttl time.Duration) store {
	c := &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s := memory.NewStateStore(ttl)
	s.Now = c.Now
	return store{StateStore: s, clock: c, ttl: ttl}
}

func TestStateStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return newStore(time.Hour) })
}

func TestStateStoreDefaultTTL(t *testing.T) {
	s := newStore(0)
	s.ttl = memory.DefaultTTL
	ctx := t.Context()
	if err := s.Update(ctx, "chat:1", func([]byte) ([]byte, error) { return []byte("x"), nil }); err != nil {
		t.Fatal(err)
	}
	s.Advance(memory.DefaultTTL - time.Minute)
	if got := memory.Len(s.StateStore); got != 1 {
		t.Fatalf("entries = %d before the default TTL, want 1", got)
	}
	var seen []byte
	_ = s.Update(ctx, "chat:1", func(state []byte) ([]byte, error) {
		seen = state
		return nil, context.Canceled
	})
	if string(seen) != "x" {
		t.Fatalf("state = %q before the default TTL, want %q", seen, "x")
	}
	s.Advance(2 * time.Minute)
	_ = s.Update(ctx, "chat:1", func(state []byte) ([]byte, error) {
		seen = state
		return nil, context.Canceled
	})
	if seen != nil {
		t.Fatalf("state = %q after the default TTL, want nil", seen)
	}
}

// TestStateStoreEvictsExpired checks that chats whose state expired do not
// stay in memory: the store does not grow with every chat ever seen.
func TestStateStoreEvictsExpired(t *testing.T) {
	s := newStore(time.Hour)
	ctx := t.Context()
	for i := range 1000 {
		chat := fmt.Sprintf("chat:%d", i)
		if err := s.Update(ctx, chat, func([]byte) ([]byte, error) { return []byte("state"), nil }); err != nil {
			t.Fatal(err)
		}
	}
	if got := memory.Len(s.StateStore); got != 1000 {
		t.Fatalf("entries = %d, want 1000", got)
	}
	s.Advance(2 * time.Hour)
	if err := s.Update(ctx, "chat:last", func([]byte) ([]byte, error) { return []byte("state"), nil }); err != nil {
		t.Fatal(err)
	}
	if got := memory.Len(s.StateStore); got != 1 {
		t.Fatalf("entries = %d after the TTL passed, want 1", got)
	}
	// Chats that never stored state leave nothing behind either.
	for i := range 100 {
		chat := fmt.Sprintf("reader:%d", i)
		_ = s.Update(ctx, chat, func([]byte) ([]byte, error) { return nil, nil })
	}
	if got := memory.Len(s.StateStore); got != 1 {
		t.Fatalf("entries = %d after updates that stored nothing, want 1", got)
	}
}
