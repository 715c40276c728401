package bot

import (
	"context"
	"sync"
	"time"
)

// Offsets tracks the updates in flight of a channel that confirms what it
// received by offset, as Telegram's getUpdates does: the offset is the
// lowest update id not yet handled. The platform forgets every update below
// the offset it is sent, so an update is confirmed only once it and every
// update before it were handled, and a crash loses none. It is safe for
// concurrent use.
type Offsets struct {
	mu sync.Mutex
	// pending are the fetched ids not yet confirmable, ascending; done
	// marks the handled ones among them.
	pending []int
	done    map[int]bool
	// replayed are updates an earlier process left in the inbox: handled
	// from there, they are known though the platform may return them once more.
	replayed map[int]bool
	offset   int
	// sent is the offset the last successful poll carried.
	sent     int
	progress chan struct{}
}

// NewOffsets returns a tracker with nothing in flight.
func NewOffsets() *Offsets {
	return &Offsets{done: map[int]bool{}, progress: make(chan struct{})}
}

// Add registers a fetched update; false means it is known already (being
// handled, or handled and confirmed) and must not be handled again.
func (t *Offsets) Add(id int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id < t.offset {
		return false
	}
	if _, known := t.done[id]; known || t.replayed[id] {
		return false
	}
	t.done[id] = false
	i := len(t.pending)
	for i > 0 && t.pending[i-1] > id {
		i--
	}
	t.pending = append(t.pending, 0)
	copy(t.pending[i+1:], t.pending[i:])
	t.pending[i] = id
	return true
}

// Known reports whether an update was fetched before: it is being
// handled, or was handled and confirmed.
func (t *Offsets) Known(id int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id < t.offset || t.replayed[id] {
		return true
	}
	_, ok := t.done[id]
	return ok
}

// Remember marks an update replayed from the inbox as known.
func (t *Offsets) Remember(id int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.replayed == nil {
		t.replayed = make(map[int]bool)
	}
	t.replayed[id] = true
}

// Finish marks an update handled and moves the offset past every handled
// update at the front.
func (t *Offsets) Finish(id int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done[id] = true
	moved := false
	for len(t.pending) > 0 && t.done[t.pending[0]] {
		t.offset = t.pending[0] + 1
		delete(t.done, t.pending[0])
		t.pending = t.pending[1:]
		moved = true
	}
	if moved {
		close(t.progress)
		t.progress = make(chan struct{})
	}
}

// WaitHandled waits up to d for every fetched update to be handled; false
// means ctx ended.
func (t *Offsets) WaitHandled(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		t.mu.Lock()
		idle, progress := len(t.pending) == 0, t.progress
		t.mu.Unlock()
		if idle {
			return true
		}
		select {
		case <-progress:
		case <-timer.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
}

// State returns the offset to send, whether it confirms more than the last
// poll did, and a channel closed at the next progress.
func (t *Offsets) State() (offset int, unsent bool, progress <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.offset, t.offset > t.sent, t.progress
}

// SentOffset notes the offset a successful poll carried.
func (t *Offsets) SentOffset(o int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent = max(t.sent, o)
}
