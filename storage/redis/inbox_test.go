package redis_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/hromadabot/hromadabot/storage/redis"
)

func TestInbox(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t)
	in := redis.NewInbox(b.client(), b.prefix, "telegram")

	if p, err := in.Pending(ctx); err != nil || len(p) != 0 {
		t.Fatalf("empty inbox: %v, %v", p, err)
	}
	put := map[int][]byte{
		101: []byte(`{"update_id":101,"message":{"text":"Буча"}}`),
		102: []byte(`{"update_id":102}`),
		103: []byte(`{"update_id":103}`),
	}
	if err := in.Put(ctx, put); err != nil {
		t.Fatal(err)
	}
	if err := in.Put(ctx, nil); err != nil {
		t.Fatalf("putting nothing: %v", err)
	}
	// Another process (a restart) sees the same inbox.
	again := redis.NewInbox(b.client(), b.prefix, "telegram")
	p, err := again.Pending(ctx)
	if err != nil || !maps.EqualFunc(p, put, slices.Equal) {
		t.Fatalf("pending = %v, %v; want %v", p, err, put)
	}
	if err := in.Done(ctx, []int{101, 103, 999}); err != nil {
		t.Fatal(err)
	}
	if p, err := again.Pending(ctx); err != nil || len(p) != 1 || string(p[102]) != `{"update_id":102}` {
		t.Fatalf("pending after done = %v, %v; want 102 alone", p, err)
	}
	if p, err := redis.NewInbox(b.client(), b.prefix, "viber").Pending(ctx); err != nil || len(p) != 0 {
		t.Fatalf("another channel's inbox = %v, %v; want empty", p, err)
	}

	if err := b.client().HSet(ctx, b.prefix+"inbox:telegram", "x", "y").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Pending(ctx); err == nil {
		t.Fatal("a field that is not an update id was accepted")
	}
}

func TestInboxErrRedisDown(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t)
	c := b.client()
	in := redis.NewInbox(c, b.prefix, "telegram")
	c.Close()
	if err := in.Put(ctx, map[int][]byte{1: []byte("{}")}); err == nil {
		t.Error("Put on a closed client succeeded")
	}
	if err := in.Done(ctx, []int{1}); err == nil {
		t.Error("Done on a closed client succeeded")
	}
	if _, err := in.Pending(ctx); err == nil {
		t.Error("Pending on a closed client succeeded")
	}
}
