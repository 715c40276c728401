package bot_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hromadabot/hromadabot/bot"
)

// offsetsAfter returns a tracker that fetched add, in that order, and then
// handled finish, in that order.
func offsetsAfter(t *testing.T, add, finish []int) *bot.Offsets {
	t.Helper()
	o := bot.NewOffsets()
	for _, id := range add {
		if !o.Add(id) {
			t.Fatalf("Add(%d) = false for a new update", id)
		}
	}
	for _, id := range finish {
		o.Finish(id)
	}
	return o
}

func TestOffsetsFinish(t *testing.T) {
	for _, tc := range []struct {
		name       string
		add        []int
		finish     []int
		wantOffset int
	}{
		{"OKNothingFetched", nil, nil, 0},
		{"OKNothingHandled", []int{5, 6}, nil, 0},
		{"OKInOrder", []int{1, 2, 3}, []int{1, 2, 3}, 4},
		{"OKGapKeepsOffset", []int{1, 2, 3}, []int{1, 3}, 2},
		{"OKGapClosed", []int{1, 2, 3}, []int{1, 3, 2}, 4},
		{"OKFirstUnhandledKeepsOffset", []int{1, 2, 3}, []int{3, 2}, 0},
		{"OKReverseOrder", []int{1, 2, 3}, []int{3, 2, 1}, 4},
		{"OKFetchedOutOfOrder", []int{3, 1, 2}, []int{1}, 2},
		{"OKFetchedOutOfOrderAllHandled", []int{3, 1, 2}, []int{2, 3, 1}, 4},
		{"OKIdsWithHoles", []int{10, 20, 30}, []int{10, 20}, 21},
		{"OKFinishedTwice", []int{1, 2}, []int{1, 1}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := offsetsAfter(t, tc.add, tc.finish)
			if got, _, _ := o.State(); got != tc.wantOffset {
				t.Fatalf("offset = %d, want %d", got, tc.wantOffset)
			}
		})
	}
}

func TestOffsetsKnownAndAdd(t *testing.T) {
	// 1 and 2 handled and confirmed (offset 3), 3 in flight, 4 handled
	// behind it, 10 replayed from the inbox.
	setup := func(t *testing.T) *bot.Offsets {
		o := offsetsAfter(t, []int{1, 2, 3, 4}, []int{1, 2, 4})
		o.Remember(10)
		return o
	}
	for _, tc := range []struct {
		name string
		id   int
		want bool
	}{
		{"OKConfirmed", 1, true},
		{"OKConfirmedLast", 2, true},
		{"OKBelowEverything", 0, true},
		{"OKInFlight", 3, true},
		{"OKHandledNotConfirmed", 4, true},
		{"OKRemembered", 10, true},
		{"OKNew", 5, false},
		{"OKNewAboveRemembered", 11, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := setup(t)
			if got := o.Known(tc.id); got != tc.want {
				t.Errorf("Known(%d) = %v, want %v", tc.id, got, tc.want)
			}
			// Add takes exactly the updates not known.
			if got := o.Add(tc.id); got != !tc.want {
				t.Errorf("Add(%d) = %v, want %v", tc.id, got, !tc.want)
			}
			if !o.Known(tc.id) {
				t.Errorf("Known(%d) = false after Add", tc.id)
			}
			if o.Add(tc.id) {
				t.Errorf("second Add(%d) = true, want false", tc.id)
			}
		})
	}
}

func TestOffsetsNewHoldsOffset(t *testing.T) {
	// An update fetched after the offset moved holds it until handled.
	o := offsetsAfter(t, []int{1}, []int{1})
	if !o.Add(2) {
		t.Fatal("Add(2) = false for a new update")
	}
	if got, _, _ := o.State(); got != 2 {
		t.Fatalf("offset = %d, want 2", got)
	}
	o.Finish(2)
	if got, _, _ := o.State(); got != 3 {
		t.Fatalf("offset = %d, want 3", got)
	}
}

func TestOffsetsState(t *testing.T) {
	for _, tc := range []struct {
		name       string
		finish     []int
		sent       []int
		wantOffset int
		wantUnsent bool
	}{
		{"OKNothingToSend", nil, nil, 0, false},
		{"OKUnsent", []int{1, 2}, nil, 3, true},
		{"OKSent", []int{1, 2}, []int{3}, 3, false},
		{"OKSentOlderOffset", []int{1, 2}, []int{2}, 3, true},
		{"OKSentNeverGoesBack", []int{1, 2}, []int{3, 1}, 3, false},
		{"OKMovedAfterSent", []int{1, 2, 3}, []int{3}, 4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := offsetsAfter(t, []int{1, 2, 3, 4}, nil)
			// Handle the first two, note what was sent, then the rest.
			for _, id := range tc.finish[:min(len(tc.finish), 2)] {
				o.Finish(id)
			}
			for _, s := range tc.sent {
				o.SentOffset(s)
			}
			for _, id := range tc.finish[min(len(tc.finish), 2):] {
				o.Finish(id)
			}
			offset, unsent, _ := o.State()
			if offset != tc.wantOffset || unsent != tc.wantUnsent {
				t.Errorf("State = %d, %v, want %d, %v", offset, unsent, tc.wantOffset, tc.wantUnsent)
			}
		})
	}
}

func TestOffsetsProgress(t *testing.T) {
	o := offsetsAfter(t, []int{1, 2}, nil)
	_, _, progress := o.State()
	o.Finish(2)
	select {
	case <-progress:
		t.Fatal("progress closed though the offset did not move")
	default:
	}
	o.Finish(1)
	select {
	case <-progress:
	default:
		t.Fatal("progress not closed when the offset moved")
	}
	if _, _, next := o.State(); next == progress {
		t.Error("State returns the closed progress channel again")
	}
}

func TestOffsetsWaitHandled(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  []int
		// finish are handled while WaitHandled waits, in that order.
		finish []int
		// cancel ends ctx after the handling.
		cancel bool
		want   bool
	}{
		{"OKNothingInFlight", nil, nil, false, true},
		{"OKAllHandled", []int{1, 2, 3}, []int{3, 1, 2}, false, true},
		{"OKWaitedUpToTheLimit", []int{1, 2}, []int{2}, false, true},
		{"ErrContextEnded", []int{1, 2}, []int{1}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := offsetsAfter(t, tc.add, nil)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				limit := time.Hour
				if tc.cancel {
					limit = 1000 * time.Hour
				}
				got := make(chan bool, 1)
				go func() { got <- o.WaitHandled(ctx, limit) }()
				for _, id := range tc.finish {
					synctest.Wait()
					select {
					case v := <-got:
						t.Fatalf("WaitHandled = %v before update %d was handled", v, id)
					default:
					}
					o.Finish(id)
				}
				if tc.cancel {
					synctest.Wait()
					cancel()
				}
				if v := <-got; v != tc.want {
					t.Errorf("WaitHandled = %v, want %v", v, tc.want)
				}
			})
		})
	}
}
