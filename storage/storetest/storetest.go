// Package storetest is the one conformance suite every dialog state store
// passes (storage/memory, storage/redis): what a dialog relies on — state
// comes back as stored, failed updates store nothing, state expires, and
// concurrent updates of one chat, also from two processes, lose nothing.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Store is the dialog state store under test.
type Store interface {
	Update(ctx context.Context, chat string, fn func(state []byte) ([]byte, error)) error
	Delete(ctx context.Context, chat string) error
}

// Expirer is implemented by the value newStore returns (usually a small
// test wrapper around the store) so that the suite can check expiry.
type Expirer interface {
	// TTL is the lifetime the store gives a state after its last update.
	TTL() time.Duration
	// Advance moves the store's clock forward by d and reports true, or
	// reports false when the clock cannot be moved (a real Redis): the suite
	// then polls until the state has expired by itself.
	Advance(d time.Duration) bool
}

// Reopener is implemented by the value newStore returns so that the suite
// can run two stores over the same backend, as two bot processes would.
type Reopener interface {
	// Reopen returns a second store over the same backend and key space.
	Reopen(t *testing.T) Store
}

// hang bounds every wait of the suite, so a store that deadlocks fails the
// test instead of hanging it. No test asserts how long anything took.
const hang = 20 * time.Second

// Run runs the suite. newStore returns a fresh, empty store for each test;
// it must also implement Expirer and Reopener.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("MissingStateIsNil", func(t *testing.T) {
		s := newStore(t)
		calls := 0
		err := s.Update(ctx(t), "chat:missing", func(state []byte) ([]byte, error) {
			calls++
			if state != nil {
				t.Errorf("state = %q, want nil", state)
			}
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if calls != 1 {
			t.Fatalf("fn called %d times, want 1", calls)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "chat:1", `{"step":"report_value","indicator":7}`)
		put(t, s, "chat:2", `{"step":"menu"}`)
		if got := get(t, s, "chat:1"); got != `{"step":"report_value","indicator":7}` {
			t.Fatalf("chat:1 state = %q", got)
		}
		if got := get(t, s, "chat:2"); got != `{"step":"menu"}` {
			t.Fatalf("chat:2 state = %q", got)
		}
		put(t, s, "chat:1", `{"step":"menu"}`)
		if got := get(t, s, "chat:1"); got != `{"step":"menu"}` {
			t.Fatalf("chat:1 state after overwrite = %q", got)
		}
	})

	t.Run("StateIsCopied", func(t *testing.T) {
		s := newStore(t)
		buf := []byte("original")
		if err := s.Update(ctx(t), "chat:1", func([]byte) ([]byte, error) { return buf, nil }); err != nil {
			t.Fatal(err)
		}
		copy(buf, "CHANGED!")
		if got := get(t, s, "chat:1"); got != "original" {
			t.Fatalf("state = %q after the caller reused its buffer, want %q", got, "original")
		}
	})

	t.Run("ErrFnStoresNothing", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "chat:1", "before")
		errStop := errors.New("invalid input")
		err := s.Update(ctx(t), "chat:1", func(state []byte) ([]byte, error) {
			// Editing in place and then failing must not leak the edit.
			copy(state, "XXXXXX")
			return []byte("after"), errStop
		})
		if !errors.Is(err, errStop) {
			t.Fatalf("err = %v, want %v", err, errStop)
		}
		if got := get(t, s, "chat:1"); got != "before" {
			t.Fatalf("state = %q, want %q", got, "before")
		}
		err = s.Update(ctx(t), "chat:new", func([]byte) ([]byte, error) { return []byte("x"), errStop })
		if !errors.Is(err, errStop) {
			t.Fatalf("err = %v, want %v", err, errStop)
		}
		if got := get(t, s, "chat:new"); got != "" {
			t.Fatalf("state of chat:new = %q, want none", got)
		}
	})

	t.Run("PanicStoresNothingAndFreesChat", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "chat:1", "before")
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("the panic in fn did not propagate")
				}
			}()
			_ = s.Update(ctx(t), "chat:1", func([]byte) ([]byte, error) { panic("handler bug") })
		}()
		if got := get(t, s, "chat:1"); got != "before" {
			t.Fatalf("state = %q, want %q", got, "before")
		}
	})

	for _, tc := range []struct {
		name   string
		result []byte
	}{
		{"NilResultDeletes", nil},
		{"EmptyResultDeletes", []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			put(t, s, "chat:1", "state")
			if err := s.Update(ctx(t), "chat:1", func([]byte) ([]byte, error) { return tc.result, nil }); err != nil {
				t.Fatal(err)
			}
			if got := read(t, s, "chat:1"); got != nil {
				t.Fatalf("state = %q, want nil", got)
			}
		})
	}

	t.Run("DeleteRemoves", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "chat:1", "state")
		put(t, s, "chat:2", "other")
		if err := s.Delete(ctx(t), "chat:1"); err != nil {
			t.Fatal(err)
		}
		if got := read(t, s, "chat:1"); got != nil {
			t.Fatalf("state = %q after Delete, want nil", got)
		}
		if got := get(t, s, "chat:2"); got != "other" {
			t.Fatalf("other chat's state = %q, want %q", got, "other")
		}
		if err := s.Delete(ctx(t), "chat:never"); err != nil {
			t.Fatalf("Delete of a chat without state: %v", err)
		}
	})

	t.Run("Expires", func(t *testing.T) {
		s := newStore(t)
		e, ok := s.(Expirer)
		if !ok {
			t.Fatalf("%T does not implement storetest.Expirer", s)
		}
		ttl := e.TTL()
		put(t, s, "chat:1", "state")
		if e.Advance(ttl * 3 / 4) {
			// Using the state refreshes the TTL: 3/4 + 3/4 of it later the
			// state is still there, and a whole TTL after the last use gone.
			put(t, s, "chat:1", "state")
			e.Advance(ttl * 3 / 4)
			if got := get(t, s, "chat:1"); got != "state" {
				t.Fatalf("state = %q after a refreshing update, want %q", got, "state")
			}
			e.Advance(ttl/4 + time.Second)
			if got := read(t, s, "chat:1"); got != nil {
				t.Fatalf("state = %q after the TTL, want nil", got)
			}
		} else {
			t.Log("the backend's clock cannot be moved: waiting for the state to expire")
			deadline := time.Now().Add(ttl + hang)
			for read(t, s, "chat:1") != nil {
				if time.Now().After(deadline) {
					t.Fatal("state did not expire")
				}
				time.Sleep(ttl / 10)
			}
		}
		put(t, s, "chat:1", "new")
		if got := get(t, s, "chat:1"); got != "new" {
			t.Fatalf("state = %q after storing again, want %q", got, "new")
		}
	})

	t.Run("ConcurrentUpdatesLoseNothing", func(t *testing.T) {
		s := newStore(t)
		incrementConcurrently(t, []Store{s}, 50)
	})

	t.Run("TwoProcessesLoseNothing", func(t *testing.T) {
		s := newStore(t)
		r, ok := s.(Reopener)
		if !ok {
			t.Fatalf("%T does not implement storetest.Reopener", s)
		}
		incrementConcurrently(t, []Store{s, r.Reopen(t)}, 50)
	})

	t.Run("ChatsDoNotBlockEachOther", func(t *testing.T) {
		s := newStore(t)
		entered, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- s.Update(ctx(t), "chat:slow", func([]byte) ([]byte, error) {
				close(entered)
				<-release
				return []byte("slow"), nil
			})
		}()
		select {
		case <-entered:
		case err := <-done:
			t.Fatalf("slow update ended early: %v", err)
		}
		// chat:slow is locked now; another chat must not wait for it.
		put(t, s, "chat:fast", "fast")
		if got := get(t, s, "chat:fast"); got != "fast" {
			t.Fatalf("state = %q, want %q", got, "fast")
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, "chat:slow"); got != "slow" {
			t.Fatalf("state = %q, want %q", got, "slow")
		}
	})

	t.Run("ErrContextCanceledWhileWaiting", func(t *testing.T) {
		s := newStore(t)
		entered, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- s.Update(ctx(t), "chat:1", func([]byte) ([]byte, error) {
				close(entered)
				<-release
				return []byte("first"), nil
			})
		}()
		<-entered
		c, cancel := context.WithCancel(ctx(t))
		cancel()
		err := s.Update(c, "chat:1", func([]byte) ([]byte, error) {
			t.Error("fn ran while another update held the chat")
			return []byte("second"), nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, "chat:1"); got != "first" {
			t.Fatalf("state = %q, want %q", got, "first")
		}
	})
}

// incrementConcurrently runs n updates of one chat's counter from n
// goroutines spread over stores and checks that every increment survived.
func incrementConcurrently(t *testing.T, stores []Store, n int) {
	t.Helper()
	const chat = "chat:counter"
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		s := stores[i%len(stores)]
		wg.Go(func() {
			errs <- s.Update(ctx(t), chat, func(state []byte) ([]byte, error) {
				v := 0
				if state != nil {
					var err error
					if v, err = strconv.Atoi(string(state)); err != nil {
						return nil, fmt.Errorf("counter state %q: %w", state, err)
					}
				}
				return strconv.AppendInt(nil, int64(v+1), 10), nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := get(t, stores[len(stores)-1], chat); got != strconv.Itoa(n) {
		t.Fatalf("counter = %q after %d concurrent increments", got, n)
	}
}

// ctx returns a context that ends with the test or after hang.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), hang)
	t.Cleanup(cancel)
	return c
}

// put stores state for chat.
func put(t *testing.T, s Store, chat, state string) {
	t.Helper()
	if err := s.Update(ctx(t), chat, func([]byte) ([]byte, error) { return []byte(state), nil }); err != nil {
		t.Fatalf("store state of %s: %v", chat, err)
	}
}

// errReadOnly aborts an Update so that reading the state changes nothing,
// not even its TTL.
var errReadOnly = errors.New("read only")

// read returns the chat's state (nil if none) without storing anything.
func read(t *testing.T, s Store, chat string) []byte {
	t.Helper()
	var got []byte
	err := s.Update(ctx(t), chat, func(state []byte) ([]byte, error) {
		got = bytes.Clone(state)
		return nil, errReadOnly
	})
	if !errors.Is(err, errReadOnly) {
		t.Fatalf("read state of %s: %v", chat, err)
	}
	return got
}

// get is read as a string ("" if none).
func get(t *testing.T, s Store, chat string) string {
	t.Helper()
	return string(read(t, s, chat))
}
