package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Leases are named, expiring leases and a membership list of a channel's
// processes in Redis (bot.Leases): a lease is one key holding its owner,
// set NX with a TTL that its owner renews, so that when the owner dies it
// passes to another within the TTL; the members are a sorted set of owner
// → last heartbeat, in Redis's own clock so that the processes' clocks do
// not matter. Keys:
//
//	<prefix>lease:{<channel>}:<name>   a lease ("poller", "shard:7")
//	<prefix>members:{<channel>}        the members
type Leases struct {
	client  goredis.UniversalClient
	prefix  string
	members string
}

// NewLeases returns the leases of the named channel under prefix
// (DefaultPrefix when empty). It does not contact Redis.
func NewLeases(client goredis.UniversalClient, prefix, channel string) *Leases {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	tag := "{" + channel + "}"
	return &Leases{client: client, prefix: prefix + "lease:" + tag + ":", members: prefix + "members:" + tag}
}

var (
	// acquireLeasesScript takes each lease of KEYS for ARGV[1] for ARGV[2]
	// ms when nobody holds it, or renews it when ARGV[1] does; 1 or 0 each.
	acquireLeasesScript = goredis.NewScript(`
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2])
    out[i] = 1
  elseif redis.call('SET', k, ARGV[1], 'NX', 'PX', ARGV[2]) then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out`)
	// releaseLeasesScript deletes each lease of KEYS that ARGV[1] holds.
	releaseLeasesScript = goredis.NewScript(`
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
return 0`)
	// heartbeatScript notes member ARGV[1] as seen now, forgets those not
	// seen for ARGV[2] ms and returns the rest, in the server's clock.
	heartbeatScript = goredis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return redis.call('ZRANGE', KEYS[1], 0, -1)`)
)

// Acquire takes for owner, for ttl, each named lease that nobody holds,
// and renews those owner holds already; held[i] tells whether owner holds
// names[i] now. It is one script: either all are tried or none.
func (l *Leases) Acquire(ctx context.Context, owner string, ttl time.Duration, names ...string) ([]bool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	res, err := acquireLeasesScript.Run(ctx, l.client, l.keys(names), owner, ttl.Milliseconds()).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("acquire leases: %w", err)
	}
	held := make([]bool, len(res))
	for i, n := range res {
		held[i] = n == 1
	}
	return held, nil
}

// Release gives up the named leases that owner holds, so that another may
// take them at once; those it does not hold are left alone.
func (l *Leases) Release(ctx context.Context, owner string, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	if err := releaseLeasesScript.Run(ctx, l.client, l.keys(names), owner).Err(); err != nil {
		return fmt.Errorf("release leases: %w", err)
	}
	return nil
}

// Heartbeat notes owner as a live member and returns the members seen
// within ttl, owner among them; the others are forgotten.
func (l *Leases) Heartbeat(ctx context.Context, owner string, ttl time.Duration) ([]string, error) {
	members, err := heartbeatScript.Run(ctx, l.client, []string{l.members}, owner, ttl.Milliseconds()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("heartbeat: %w", err)
	}
	return members, nil
}

// Leave removes owner from the members at once, rather than after its
// heartbeat's ttl, so that the others take its share sooner.
func (l *Leases) Leave(ctx context.Context, owner string) error {
	if err := l.client.ZRem(ctx, l.members, owner).Err(); err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	return nil
}

// Holder returns the owner of the named lease, "" when nobody holds it.
func (l *Leases) Holder(ctx context.Context, name string) (string, error) {
	owner, err := l.client.Get(ctx, l.prefix+name).Result()
	if errors.Is(err, goredis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("lease holder: %w", err)
	}
	return owner, nil
}

func (l *Leases) keys(names []string) []string {
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = l.prefix + n
	}
	return keys
}
