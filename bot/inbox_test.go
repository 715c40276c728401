package bot_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hromadabot/hromadabot/bot"
)

var errInbox = errors.New("inbox unreachable")

// memInbox is an in-memory Inbox. pendingFails and doneFails are how many
// of the next Pending and Done calls fail; every Done call's ids go to
// calls, when set.
type memInbox struct {
	mu           sync.Mutex
	updates      map[int][]byte
	pendingFails int
	pendingCalls int
	doneFails    int
	calls        chan []int
}

var _ bot.Inbox = (*memInbox)(nil)

func newMemInbox(updates map[int][]byte) *memInbox {
	if updates == nil {
		updates = map[int][]byte{}
	}
	return &memInbox{updates: updates, calls: make(chan []int, 100)}
}

func (m *memInbox) Put(ctx context.Context, updates map[int][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	maps.Copy(m.updates, updates)
	return nil
}

func (m *memInbox) Done(ctx context.Context, ids []int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls <- slices.Clone(ids)
	if m.doneFails > 0 {
		m.doneFails--
		return errInbox
	}
	for _, id := range ids {
		delete(m.updates, id)
	}
	return nil
}

func (m *memInbox) Pending(ctx context.Context) (map[int][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pendingCalls++
	if m.pendingFails > 0 {
		m.pendingFails--
		return nil, errInbox
	}
	return maps.Clone(m.updates), nil
}

// Left returns the ids still stored, ascending.
func (m *memInbox) Left() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.updates))
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestReplayInbox(t *testing.T) {
	stored := map[int][]byte{
		30: []byte(`{"update_id":30}`),
		10: []byte(`{"update_id":10}`),
		20: []byte(`{"update_id":20}`),
		11: []byte(`{"update_id":11}`),
	}
	for _, tc := range []struct {
		name         string
		stored       map[int][]byte
		pendingFails int
		// failAt is the id whose submit fails (the receiver stopping).
		failAt int
		// ctxEnds ends the context after a while.
		ctxEnds          bool
		wantErr          error
		wantSubmitted    []int
		wantPendingCalls int
	}{
		{name: "OKAscending", stored: stored, wantSubmitted: []int{10, 11, 20, 30}, wantPendingCalls: 1},
		{name: "OKEmpty", wantPendingCalls: 1},
		{name: "OKPendingRetried", stored: stored, pendingFails: 3, wantSubmitted: []int{10, 11, 20, 30}, wantPendingCalls: 4},
		{name: "ErrSubmitStops", stored: stored, failAt: 11, wantErr: bot.ErrStopped, wantSubmitted: []int{10, 11}, wantPendingCalls: 1},
		{name: "ErrContextEnded", stored: stored, pendingFails: 1 << 30, ctxEnds: true, wantErr: context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				in := newMemInbox(maps.Clone(tc.stored))
				in.pendingFails = tc.pendingFails
				ctx := t.Context()
				if tc.ctxEnds {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, 10*time.Minute)
					defer cancel()
				}
				var submitted []int
				err := bot.ReplayInbox(ctx, in, discardLog(), func(id int, raw []byte) error {
					submitted = append(submitted, id)
					if string(raw) != string(tc.stored[id]) {
						t.Errorf("update %d submitted as %q, want %q", id, raw, tc.stored[id])
					}
					if id == tc.failAt {
						return bot.ErrStopped
					}
					return nil
				})
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("ReplayInbox = %v, want %v", err, tc.wantErr)
				}
				if !slices.Equal(submitted, tc.wantSubmitted) {
					t.Errorf("submitted %v, want %v", submitted, tc.wantSubmitted)
				}
				if tc.wantPendingCalls > 0 && in.pendingCalls != tc.wantPendingCalls {
					t.Errorf("Pending called %d times, want %d", in.pendingCalls, tc.wantPendingCalls)
				}
				if tc.ctxEnds && in.pendingCalls < 2 {
					t.Errorf("Pending called %d times, want it tried until the context ended", in.pendingCalls)
				}
				// Replaying removes nothing: only handled updates are done.
				if got, want := in.Left(), slices.Sorted(maps.Keys(tc.stored)); !slices.Equal(got, want) {
					t.Errorf("inbox holds %v, want %v", got, want)
				}
			})
		})
	}
}

// runCleaner runs c until the returned stop is called, which waits for
// Run to return.
func runCleaner(c *bot.InboxCleaner) (stop func()) {
	stopCh, returned := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(returned)
		c.Run(stopCh)
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(stopCh) })
		<-returned
	}
}

// nextCall waits for the inbox's next Done call. The guard is on the
// bubble's clock: the cleaner's ticker keeps it going, so a call that
// never comes fails the test rather than hanging it.
func nextCall(t *testing.T, in *memInbox) []int {
	t.Helper()
	select {
	case ids := <-in.calls:
		return ids
	case <-time.After(time.Hour):
		t.Fatal("no Done call within an hour of the bubble's clock")
		return nil
	}
}

// noCall checks that the inbox heard no Done call since the last one.
func noCall(t *testing.T, in *memInbox) {
	t.Helper()
	synctest.Wait()
	select {
	case ids := <-in.calls:
		t.Fatalf("Done(%v) called, want no call", ids)
	default:
	}
}

func storedIDs(ids ...int) map[int][]byte {
	m := map[int][]byte{}
	for _, id := range ids {
		m[id] = []byte("{}")
	}
	return m
}

// The cleaner tests run in a bubble: its ticks and the backoff after a
// failure pass on the bubble's clock, which stands still while the test
// goroutine runs, so ids noted together are flushed together.

func TestInboxCleanerBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newMemInbox(storedIDs(1, 2, 3, 4, 5))
		c := bot.NewInboxCleaner(in, nil)
		stop := runCleaner(c)
		defer stop()

		c.Handled(2)
		c.Handled(1)
		c.Handled(3)
		if got := nextCall(t, in); !slices.Equal(got, []int{2, 1, 3}) {
			t.Fatalf("first Done(%v), want Done([2 1 3])", got)
		}
		// Nothing handled since: the ticks make no call.
		time.Sleep(5 * bot.InboxFlushEvery)
		noCall(t, in)

		c.Handled(4)
		if got := nextCall(t, in); !slices.Equal(got, []int{4}) {
			t.Fatalf("second Done(%v), want Done([4])", got)
		}
		if got := in.Left(); !slices.Equal(got, []int{5}) {
			t.Errorf("inbox holds %v, want [5]", got)
		}
	})
}

func TestInboxCleanerFailure(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fails int
	}{
		{"OKRemovedAfterOneFailure", 1},
		{"OKRemovedAfterFailures", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				in := newMemInbox(storedIDs(1, 2, 3, 4))
				in.doneFails = tc.fails
				c := bot.NewInboxCleaner(in, discardLog())
				stop := runCleaner(c)
				defer stop()

				c.Handled(1)
				c.Handled(2)
				if got := nextCall(t, in); !slices.Equal(got, []int{1, 2}) {
					t.Fatalf("Done(%v), want Done([1 2])", got)
				}
				// Handled while the inbox fails: flushed after the kept ones.
				c.Handled(3)
				for i := 1; i < tc.fails; i++ {
					if got := nextCall(t, in); !slices.Equal(got, []int{1, 2, 3}) {
						t.Fatalf("retry %d: Done(%v), want Done([1 2 3])", i, got)
					}
				}
				if got := nextCall(t, in); !slices.Equal(got, []int{1, 2, 3}) {
					t.Fatalf("Done(%v) after the failures, want Done([1 2 3])", got)
				}
				noCall(t, in)
				if got := in.Left(); !slices.Equal(got, []int{4}) {
					t.Errorf("inbox holds %v, want [4]", got)
				}

				// Working again, the cleaner flushes at its usual pace.
				c.Handled(4)
				if got := nextCall(t, in); !slices.Equal(got, []int{4}) {
					t.Fatalf("Done(%v), want Done([4])", got)
				}
			})
		})
	}
}

func TestInboxCleanerStop(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handled []int
		// wantCall is the Done call of the flush on stop; nil for none.
		wantCall []int
	}{
		{"OKFlushedOnStop", []int{7, 8}, []int{7, 8}},
		{"OKNothingHandledNoCall", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				in := newMemInbox(storedIDs(7, 8, 9))
				c := bot.NewInboxCleaner(in, nil)
				stop := runCleaner(c)
				for _, id := range tc.handled {
					c.Handled(id)
				}
				// Stopped before its first tick.
				stop()
				if tc.wantCall == nil {
					noCall(t, in)
					return
				}
				select {
				case got := <-in.calls:
					if !slices.Equal(got, tc.wantCall) {
						t.Errorf("Done(%v) on stop, want Done(%v)", got, tc.wantCall)
					}
				default:
					t.Fatal("Run returned without flushing")
				}
				noCall(t, in)
				if got := in.Left(); !slices.Equal(got, []int{9}) {
					t.Errorf("inbox holds %v, want [9]", got)
				}
			})
		})
	}
}

// TestInboxCleanerConcurrent notes handled updates from many goroutines:
// each is removed exactly once.
func TestInboxCleanerConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 500
		ids := make([]int, n)
		for i := range ids {
			ids[i] = i + 1
		}
		in := newMemInbox(storedIDs(ids...))
		in.calls = make(chan []int, n)
		c := bot.NewInboxCleaner(in, nil)
		stop := runCleaner(c)

		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Go(func() {
				// Spread over several flushes.
				time.Sleep(time.Duration(id%7) * bot.InboxFlushEvery)
				c.Handled(id)
			})
		}
		wg.Wait()
		stop()
		close(in.calls)

		var removed []int
		for call := range in.calls {
			if len(call) == 0 {
				t.Error("Done called with no ids")
			}
			removed = append(removed, call...)
		}
		slices.Sort(removed)
		if !slices.Equal(removed, ids) {
			t.Errorf("removed %d ids (%v…), want each of %d once", len(removed), removed[:min(len(removed), 10)], n)
		}
		if left := in.Left(); len(left) != 0 {
			t.Errorf("inbox holds %v, want nothing", left)
		}
	})
}

// TestInboxCleanerStopAfterFailure: a stop during the pause after a
// failed removal still tries once more, so that a clean shutdown leaves
// nothing handled in the inbox.
func TestInboxCleanerStopAfterFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := newMemInbox(storedIDs(7, 8))
		in.doneFails = 1
		c := bot.NewInboxCleaner(in, nil)
		stop := runCleaner(c)
		c.Handled(7)
		if got := nextCall(t, in); !slices.Equal(got, []int{7}) {
			t.Fatalf("Done(%v), want Done([7])", got)
		}
		c.Handled(8)
		// Stopped well within the pause after the failure.
		stop()
		select {
		case got := <-in.calls:
			if !slices.Equal(got, []int{7, 8}) {
				t.Errorf("Done(%v) on stop, want Done([7 8])", got)
			}
		default:
			t.Fatal("the stop did not try the removal again")
		}
		if got := in.Left(); len(got) != 0 {
			t.Errorf("inbox holds %v after a clean stop", got)
		}
	})
}
