package redis

import (
	"context"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// maxBatch bounds the scripts sent in one round trip, so that a long queue
// is answered in several replies rather than one very long wait.
const maxBatch = 128

// batcher sends the scripts of concurrent updates to Redis together. While
// one batch is on its way, the scripts that arrive meanwhile gather and go
// in the next round trip, so a lone script goes at once, and under load one
// round trip, with its system calls on both sides, carries many chats'
// scripts. No goroutine runs while nothing is queued.
type batcher struct {
	client goredis.UniversalClient

	mu      sync.Mutex
	pending []*batchCall
	sending bool
}

type batchCall struct {
	script *goredis.Script
	keys   []string
	args   []any
	cmd    *goredis.Cmd
	done   chan struct{}
}

// run runs script with keys and args in the next batch and returns its
// result. When ctx ends first it returns ctx's error, and the script may
// still run: callers treat that as they treat a reply lost on the way.
func (b *batcher) run(ctx context.Context, script *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	c := &batchCall{script: script, keys: keys, args: args, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	if !b.sending {
		b.sending = true
		go b.send()
	}
	b.mu.Unlock()
	select {
	case <-c.done:
		return c.cmd
	case <-ctx.Done():
		cmd := goredis.NewCmd(ctx)
		cmd.SetErr(ctx.Err())
		return cmd
	}
}

// send sends what is queued until nothing is.
func (b *batcher) send() {
	for {
		b.mu.Lock()
		n := min(len(b.pending), maxBatch)
		if n == 0 {
			b.sending = false
			b.mu.Unlock()
			return
		}
		batch := b.pending[:n:n]
		b.pending = b.pending[n:]
		if len(b.pending) == 0 {
			b.pending = nil
		}
		b.mu.Unlock()
		b.sendBatch(batch)
	}
}

// sendBatch runs the batch's scripts in one pipeline. A script Redis does
// not have yet (a new or restarted server) is run again on its own, which
// loads it.
func (b *batcher) sendBatch(batch []*batchCall) {
	// The callers' contexts bound their waits; the client's own timeouts
	// bound the round trip.
	ctx := context.Background()
	pipe := b.client.Pipeline()
	for _, c := range batch {
		c.cmd = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx)
	for _, c := range batch {
		if err := c.cmd.Err(); err != nil && goredis.HasErrorPrefix(err, "NOSCRIPT") {
			c.cmd = c.script.Run(ctx, b.client, c.keys, c.args...)
		}
		close(c.done)
	}
}
