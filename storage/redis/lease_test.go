package redis_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/storage/redis"
)

var _ bot.Leases = (*redis.Leases)(nil)

// clockBackend is a backend whose clock a test moves on: on miniredis the
// server's clock, which its TTLs and TIME follow, so nothing waits; on a
// real Redis it sleeps.
type clockBackend struct {
	*backend
	now time.Time
}

func newClockBackend(t *testing.T) *clockBackend {
	t.Helper()
	b := &clockBackend{backend: newBackend(t)}
	if b.mr != nil {
		b.now = time.Now()
		b.mr.SetTime(b.now)
		b.mr.ClockTTL(true)
	}
	return b
}

// advance moves the time on by d.
func (b *clockBackend) advance(d time.Duration) {
	if b.mr == nil {
		time.Sleep(d)
		return
	}
	b.now = b.now.Add(d)
	b.mr.SetTime(b.now)
}

func TestLeases(t *testing.T) {
	ctx := t.Context()
	b := newClockBackend(t)
	// Two processes, each with its own connections.
	a := redis.NewLeases(b.client(), b.prefix, "telegram")
	o := redis.NewLeases(b.client(), b.prefix, "telegram")
	const ttl = 300 * time.Millisecond

	acquire := func(t *testing.T, l *redis.Leases, owner string, names ...string) []bool {
		t.Helper()
		held, err := l.Acquire(ctx, owner, ttl, names...)
		if err != nil {
			t.Fatal(err)
		}
		return held
	}
	holder := func(t *testing.T, name string) string {
		t.Helper()
		h, err := a.Holder(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	t.Run("OKFreeTaken", func(t *testing.T) {
		if got := acquire(t, a, "a", "poller", "shard:1"); !slices.Equal(got, []bool{true, true}) {
			t.Fatalf("free leases: held %v, want both", got)
		}
		if h := holder(t, "poller"); h != "a" {
			t.Fatalf("holder %q, want a", h)
		}
	})
	t.Run("ErrHeldRefused", func(t *testing.T) {
		if got := acquire(t, o, "o", "poller", "shard:1", "shard:2"); !slices.Equal(got, []bool{false, false, true}) {
			t.Fatalf("held %v, want only the free shard:2", got)
		}
	})
	t.Run("OKRenewedByHolder", func(t *testing.T) {
		b.advance(ttl * 2 / 3)
		if got := acquire(t, a, "a", "poller"); !slices.Equal(got, []bool{true}) {
			t.Fatalf("renewal held %v", got)
		}
		// Past the first ttl, but not the renewed one.
		b.advance(ttl * 2 / 3)
		if got := acquire(t, o, "o", "poller"); !slices.Equal(got, []bool{false}) {
			t.Fatalf("a renewed lease was taken by another: %v", got)
		}
	})
	t.Run("OKReleasedTakenAtOnce", func(t *testing.T) {
		// Releasing what another holds changes nothing.
		if err := o.Release(ctx, "o", "poller"); err != nil {
			t.Fatal(err)
		}
		if h := holder(t, "poller"); h != "a" {
			t.Fatalf("released by a non-holder: holder %q", h)
		}
		if err := a.Release(ctx, "a", "poller"); err != nil {
			t.Fatal(err)
		}
		if got := acquire(t, o, "o", "poller"); !slices.Equal(got, []bool{true}) {
			t.Fatalf("released lease: held %v", got)
		}
	})
	t.Run("OKExpiredTaken", func(t *testing.T) {
		// shard:1 was last renewed long ago.
		b.advance(ttl + 50*time.Millisecond)
		if h := holder(t, "shard:1"); h != "" {
			t.Fatalf("expired lease still held by %q", h)
		}
		if got := acquire(t, o, "o", "shard:1"); !slices.Equal(got, []bool{true}) {
			t.Fatalf("expired lease: held %v", got)
		}
		if got := acquire(t, a, "a", "shard:1"); !slices.Equal(got, []bool{false}) {
			t.Fatalf("its former holder got it back: %v", got)
		}
	})
	t.Run("OKOtherChannelApart", func(t *testing.T) {
		v := redis.NewLeases(b.client(), b.prefix, "viber")
		if got, err := v.Acquire(ctx, "v", ttl, "shard:1"); err != nil || !slices.Equal(got, []bool{true}) {
			t.Fatalf("another channel's shard:1: %v, %v", got, err)
		}
	})
}

func TestLeasesMembers(t *testing.T) {
	ctx := t.Context()
	b := newClockBackend(t)
	l := redis.NewLeases(b.client(), b.prefix, "telegram")
	const ttl = 300 * time.Millisecond
	beat := func(t *testing.T, owner string) []string {
		t.Helper()
		m, err := l.Heartbeat(ctx, owner, ttl)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(m)
		return m
	}

	t.Run("OKJoined", func(t *testing.T) {
		beat(t, "a")
		if m := beat(t, "b"); !slices.Equal(m, []string{"a", "b"}) {
			t.Fatalf("members %v, want a and b", m)
		}
	})
	t.Run("OKLeft", func(t *testing.T) {
		if err := l.Leave(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if m := beat(t, "b"); !slices.Equal(m, []string{"b"}) {
			t.Fatalf("members after a left %v, want b", m)
		}
	})
	t.Run("OKSilentForgotten", func(t *testing.T) {
		beat(t, "c")
		b.advance(ttl * 2 / 3)
		beat(t, "b")
		b.advance(ttl * 2 / 3)
		// c was last seen more than ttl ago, b not.
		if m := beat(t, "b"); !slices.Equal(m, []string{"b"}) {
			t.Fatalf("members %v, want b alone", m)
		}
	})
}

func TestLeasesErrRedisDown(t *testing.T) {
	ctx := t.Context()
	b := newBackend(t)
	c := b.client()
	l := redis.NewLeases(c, b.prefix, "telegram")
	c.Close()
	if _, err := l.Acquire(ctx, "a", time.Second, "poller"); err == nil {
		t.Error("Acquire on a closed client succeeded")
	}
	if err := l.Release(ctx, "a", "poller"); err == nil {
		t.Error("Release on a closed client succeeded")
	}
	if _, err := l.Heartbeat(ctx, "a", time.Second); err == nil {
		t.Error("Heartbeat on a closed client succeeded")
	}
	if err := l.Leave(ctx, "a"); err == nil {
		t.Error("Leave on a closed client succeeded")
	}
}
