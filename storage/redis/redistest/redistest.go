// Package redistest gives a test a Redis of its own key space: the server
// at REDIS_URL when it is set (as .ci/run sets it), else an in-process
// miniredis whose TTLs run on the wall clock, as a real server's do.
package redistest

import (
	"context"
	"crypto/rand"
	"os"
	"testing"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
)

// Open returns the connection options and a key prefix unique to the
// test; the keys under the prefix are deleted when the test ends.
func Open(t *testing.T) (*goredis.Options, string) {
	t.Helper()
	prefix := "hromadabot-test:" + rand.Text()[:12] + ":"
	url := os.Getenv("REDIS_URL")
	if url == "" {
		mr := miniredis.RunT(t)
		mr.ClockTTL(true)
		return &goredis.Options{Addr: mr.Addr()}, prefix
	}
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	t.Cleanup(func() {
		c := goredis.NewClient(opts)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return opts, prefix
}
