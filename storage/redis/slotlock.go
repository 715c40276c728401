package redis

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// SlotLock takes the locks of the broadcast scheduler's slots
// (broadcast.SlotLock), so that of the processes sharing one Redis, one
// composes each scheduled job.
type SlotLock struct {
	client goredis.UniversalClient
	prefix string
	owner  string
}

// NewSlotLock returns a slot lock on client whose keys start with prefix
// (DefaultPrefix when empty) and whose value names owner, the process that
// took it; an empty owner is this host's name and process id.
func NewSlotLock(client goredis.UniversalClient, prefix, owner string) *SlotLock {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if owner == "" {
		host, _ := os.Hostname()
		owner = host + ":" + strconv.Itoa(os.Getpid())
	}
	return &SlotLock{client: client, prefix: prefix, owner: owner}
}

// TryLock takes key for ttl unless another holder has it, and reports
// whether it did. A lock is never released: it ends with its ttl, so that
// a process that took a slot and died before storing its job keeps the
// others from it only that long.
func (l *SlotLock) TryLock(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		// SET without an expiry would hold the slot for good.
		return false, fmt.Errorf("slot lock %s: ttl %s must be positive", key, ttl)
	}
	took, err := l.client.SetNX(ctx, l.prefix+key, l.owner, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("slot lock %s: %w", key, err)
	}
	return took, nil
}
