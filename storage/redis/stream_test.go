package redis_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/storage/redis"
)

var _ bot.Stream = (*redis.Stream)(nil)

func newStream(t *testing.T, b *backend, channel string) *redis.Stream {
	t.Helper()
	return redis.NewStream(b.client(), redis.StreamOptions{Prefix: b.prefix, Channel: channel, Shards: 4})
}

func update(shard int, key string) redis.Entry {
	return redis.Entry{Shard: shard, Key: key, Chat: "chat-" + key, Raw: fmt.Appendf(nil, `{"update":%q}`, key)}
}

// keys are the entries' keys, in order.
func keys(entries []redis.Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Key)
	}
	return out
}

func mustAdd(t *testing.T, s *redis.Stream, entries ...redis.Entry) []bool {
	t.Helper()
	added, err := s.Add(t.Context(), entries)
	if err != nil {
		t.Fatal(err)
	}
	return added
}

func mustRead(t *testing.T, s *redis.Stream, consumer string, shards ...int) []redis.Entry {
	t.Helper()
	got, err := s.Read(t.Context(), consumer, shards, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestStreamAddOnce(t *testing.T) {
	ctx := t.Context()
	b := newBackend(t)
	s := newStream(t, b, "telegram")
	// Another process's view of the same streams.
	other := newStream(t, b, "telegram")

	t.Run("OKFirstAdded", func(t *testing.T) {
		if got := mustAdd(t, s, update(0, "u1"), update(1, "u2")); !slices.Equal(got, []bool{true, true}) {
			t.Fatalf("added %v, want both", got)
		}
	})
	t.Run("OKRedeliveryNotAdded", func(t *testing.T) {
		if got := mustAdd(t, other, update(0, "u1"), update(0, "u3")); !slices.Equal(got, []bool{false, true}) {
			t.Fatalf("added %v, want the new one only", got)
		}
	})
	t.Run("OKTwiceInOneBatchAddedOnce", func(t *testing.T) {
		if got := mustAdd(t, s, update(2, "u4"), update(2, "u4")); !slices.Equal(got, []bool{true, false}) {
			t.Fatalf("added %v, want the first only", got)
		}
	})
	t.Run("OKNoKeyAlwaysAdded", func(t *testing.T) {
		if got := mustAdd(t, s, update(3, ""), update(3, "")); !slices.Equal(got, []bool{true, true}) {
			t.Fatalf("added %v, want both", got)
		}
	})
	t.Run("OKOtherChannelApart", func(t *testing.T) {
		v := newStream(t, b, "viber")
		if got := mustAdd(t, v, update(0, "u1")); !slices.Equal(got, []bool{true}) {
			t.Fatalf("added %v to another channel, want it", got)
		}
	})
	t.Run("ErrShardOutOfRange", func(t *testing.T) {
		if _, err := s.Add(ctx, []redis.Entry{update(4, "u9")}); err == nil {
			t.Fatal("an entry for shard 4 of 4 was added")
		}
	})
	if n, err := s.Len(ctx); err != nil || n != 6 {
		t.Fatalf("Len = %d, %v; want 6", n, err)
	}
}

func TestStreamReadAck(t *testing.T) {
	ctx := t.Context()
	b := newBackend(t)
	s := newStream(t, b, "telegram")
	// Added before anyone read: the group, made at the first read, sees them.
	mustAdd(t, s, update(0, "a1"), update(1, "b1"), update(0, "a2"))

	got := mustRead(t, s, "p1", 0, 1)
	if len(got) != 3 {
		t.Fatalf("read %d entries, want 3", len(got))
	}
	byShard := map[int][]string{}
	for _, e := range got {
		byShard[e.Shard] = append(byShard[e.Shard], e.Key)
		if e.ID == "" || e.Chat != "chat-"+e.Key || string(e.Raw) != fmt.Sprintf(`{"update":%q}`, e.Key) {
			t.Fatalf("entry %+v does not carry what was added", e)
		}
	}
	if !slices.Equal(byShard[0], []string{"a1", "a2"}) || !slices.Equal(byShard[1], []string{"b1"}) {
		t.Fatalf("read %v, want each shard in order", byShard)
	}
	t.Run("OKReadOnce", func(t *testing.T) {
		if again := mustRead(t, s, "p2", 0, 1); len(again) != 0 {
			t.Fatalf("read again by another consumer: %v", keys(again))
		}
	})
	t.Run("OKPendingUntilAcked", func(t *testing.T) {
		if n, err := s.Pending(ctx, "p1"); err != nil || n != 3 {
			t.Fatalf("Pending = %d, %v; want 3", n, err)
		}
		if err := s.Ack(ctx, got[:2]); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Pending(ctx, "p1"); err != nil || n != 1 {
			t.Fatalf("Pending after ack = %d, %v; want 1", n, err)
		}
		// Acknowledged entries are deleted.
		if n, err := s.Len(ctx); err != nil || n != 1 {
			t.Fatalf("Len after ack = %d, %v; want 1", n, err)
		}
	})
	t.Run("OKBlockedReadGetsNewEntry", func(t *testing.T) {
		done := make(chan []redis.Entry)
		go func() {
			e, err := s.Read(ctx, "p1", []int{2, 3}, 100, 10*time.Second)
			if err != nil {
				t.Error(err)
			}
			done <- e
		}()
		// Added while the read waits or before it starts: read either way.
		mustAdd(t, newStream(t, b, "telegram"), update(3, "d1"))
		if e := <-done; !slices.Equal(keys(e), []string{"d1"}) || e[0].Shard != 3 {
			t.Fatalf("blocked read returned %+v", e)
		}
	})
}

func TestStreamClaim(t *testing.T) {
	ctx := t.Context()
	b := newBackend(t)
	s := newStream(t, b, "telegram")
	for i := range 5 {
		mustAdd(t, s, update(1, fmt.Sprintf("u%d", i)))
	}
	// p1 reads everything, handles u0 and stops.
	read := mustRead(t, s, "p1", 1)
	if err := s.Ack(ctx, read[:1]); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, update(1, "u5"))

	// p2 takes the shard: first what p1 left, page by page, in order.
	next := newStream(t, b, "telegram")
	var claimed []redis.Entry
	after := ""
	for {
		page, n, err := next.Claim(ctx, 1, "p2", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		claimed = append(claimed, page...)
		if n == "" {
			break
		}
		after = n
	}
	if want := []string{"u1", "u2", "u3", "u4"}; !slices.Equal(keys(claimed), want) {
		t.Fatalf("claimed %v, want %v", keys(claimed), want)
	}
	t.Run("OKClaimedNowPendingForNewOwner", func(t *testing.T) {
		if n, err := s.Pending(ctx, "p1"); err != nil || n != 0 {
			t.Fatalf("Pending(p1) = %d, %v; want 0", n, err)
		}
		if n, err := s.Pending(ctx, "p2"); err != nil || n != 4 {
			t.Fatalf("Pending(p2) = %d, %v; want 4", n, err)
		}
		// p1, with nothing left pending, was forgotten by the group.
		consumers, err := b.client().XInfoConsumers(ctx, b.prefix+"updates:{telegram}:1", "bot").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range consumers {
			if c.Name == "p1" {
				t.Fatalf("consumer p1 kept after its entries were claimed: %+v", consumers)
			}
		}
	})
	t.Run("OKThenNewEntries", func(t *testing.T) {
		if fresh := mustRead(t, next, "p2", 1); !slices.Equal(keys(fresh), []string{"u5"}) {
			t.Fatalf("read %v after the claim, want u5", keys(fresh))
		}
	})
	t.Run("OKNothingLeftToClaim", func(t *testing.T) {
		if err := next.Ack(ctx, claimed); err != nil {
			t.Fatal(err)
		}
		// u5 is still p2's: another owner claims it, nothing else.
		rest, n, err := s.Claim(ctx, 1, "p3", "", 100)
		if err != nil || n != "" || !slices.Equal(keys(rest), []string{"u5"}) {
			t.Fatalf("Claim = %v, %q, %v; want u5 alone", keys(rest), n, err)
		}
	})
	t.Run("OKEmptyShard", func(t *testing.T) {
		rest, n, err := s.Claim(ctx, 3, "p3", "", 100)
		if err != nil || n != "" || len(rest) != 0 {
			t.Fatalf("Claim of a shard never used = %v, %q, %v", rest, n, err)
		}
	})
}

func TestStreamErrRedisDown(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t)
	c := b.client()
	s := redis.NewStream(c, redis.StreamOptions{Prefix: b.prefix, Channel: "telegram"})
	c.Close()
	if _, err := s.Add(ctx, []redis.Entry{update(0, "u")}); err == nil {
		t.Error("Add on a closed client succeeded")
	}
	if _, err := s.Read(ctx, "p", []int{0}, 10, 0); err == nil {
		t.Error("Read on a closed client succeeded")
	}
	if _, _, err := s.Claim(ctx, 0, "p", "", 10); err == nil {
		t.Error("Claim on a closed client succeeded")
	}
	if err := s.Ack(ctx, []redis.Entry{{Shard: 0, ID: "1-0"}}); err == nil {
		t.Error("Ack on a closed client succeeded")
	}
	if _, err := s.Pending(ctx, "p"); err == nil {
		t.Error("Pending on a closed client succeeded")
	}
}
