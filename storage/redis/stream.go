package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Defaults of StreamOptions.
const (
	// DefaultShards is how many streams a channel's updates are spread
	// over. A chat's shard is a hash of its id modulo the shards, so every
	// process of a deployment must use the same number, and changing it
	// moves chats to other streams: do it only with every process stopped
	// and the streams empty (XLEN 0), or a chat's order breaks once.
	DefaultShards = 32
	// DefaultSeenTTL is how long an update's key is remembered, so that a
	// redelivery adds nothing: a day, as long as Telegram keeps an update.
	DefaultSeenTTL = 24 * time.Hour
	// group is the one consumer group of every shard's stream.
	group = "bot"
)

// StreamOptions configure a Stream. Zero fields take the defaults.
type StreamOptions struct {
	// Prefix starts every key (DefaultPrefix when empty).
	Prefix string
	// Channel names the channel ("telegram"); each has streams of its own.
	Channel string
	// Shards is the number of streams (DefaultShards); see there before
	// changing it.
	Shards int
	// SeenTTL is how long an added update's key keeps a redelivery out.
	SeenTTL time.Duration
}

// Entry is one update in a shard's stream. It is bot.StreamEntry, declared
// again as the same unnamed struct type: this package may not import bot,
// and so *Stream implements bot.Stream without an adapter. Fields must stay
// as bot.StreamEntry has them, which the build checks wherever a *Stream is
// used as a bot.Stream.
type Entry = struct {
	Shard int
	ID    string
	Key   string
	Chat  string
	Raw   []byte
}

// Stream is a channel's updates in Redis Streams: one stream per shard,
// each with one consumer group, so that any number of processes add
// updates and work on them (bot.Stream). Keys:
//
//	<prefix>updates:{<channel>}:<shard>   the shard's stream, group "bot"
//	<prefix>seen:{<channel>}:<key>        an added update's key, for SeenTTL
//
// The channel is a hash tag, so that one script may touch a shard's stream
// and the keys it adds, and one read every shard, on Redis Cluster too.
type Stream struct {
	client goredis.UniversalClient
	opts   StreamOptions
	tag    string
}

// NewStream returns the streams of opts.Channel on client. It does not
// contact Redis; a shard's group is made when it is first read.
func NewStream(client goredis.UniversalClient, opts StreamOptions) *Stream {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Shards <= 0 {
		opts.Shards = DefaultShards
	}
	if opts.SeenTTL <= 0 {
		opts.SeenTTL = DefaultSeenTTL
	}
	return &Stream{client: client, opts: opts, tag: "{" + opts.Channel + "}"}
}

// Shards is the number of streams.
func (s *Stream) Shards() int { return s.opts.Shards }

func (s *Stream) key(shard int) string {
	return s.opts.Prefix + "updates:" + s.tag + ":" + strconv.Itoa(shard)
}

func (s *Stream) seenKey(key string) string { return s.opts.Prefix + "seen:" + s.tag + ":" + key }

// addScript adds updates, each unless its key was seen: setting the key
// and adding the entry in one script, a redelivery racing the first
// delivery in another process adds nothing, and nothing is seen that was
// not added. KEYS are pairs of (stream, seen key); ARGV[1] is the seen TTL
// in ms, then (key, chat, raw) per update. It returns 1 or 0 per update.
var addScript = goredis.NewScript(`
local out = {}
for i = 1, #KEYS, 2 do
  local a = 2 + 3 * (i - 1) / 2
  local fresh = true
  if ARGV[a] ~= '' then
    fresh = redis.call('SET', KEYS[i + 1], '1', 'NX', 'PX', ARGV[1])
  end
  if fresh then
    redis.call('XADD', KEYS[i], '*', 'key', ARGV[a], 'chat', ARGV[a + 1], 'raw', ARGV[a + 2])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out`)

// Add appends the entries to their shards' streams in order, each unless
// an entry with its key was added within SeenTTL (an empty key is always
// added), all in one atomic script; added tells which went in. Once it
// returns nil the entries are as durable as Redis is.
func (s *Stream) Add(ctx context.Context, entries []Entry) ([]bool, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, 2*len(entries))
	args := make([]any, 0, 1+3*len(entries))
	args = append(args, s.opts.SeenTTL.Milliseconds())
	for _, e := range entries {
		if e.Shard < 0 || e.Shard >= s.opts.Shards {
			return nil, fmt.Errorf("stream add: shard %d out of 0..%d", e.Shard, s.opts.Shards-1)
		}
		keys = append(keys, s.key(e.Shard), s.seenKey(e.Key))
		args = append(args, e.Key, e.Chat, e.Raw)
	}
	res, err := addScript.Run(ctx, s.client, keys, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("stream add: %w", err)
	}
	added := make([]bool, len(res))
	for i, n := range res {
		added[i] = n == 1
	}
	return added, nil
}

// Read returns new entries of the shards for consumer, at most count per
// shard, waiting up to block while there are none (0: no wait). What it
// returns is pending for consumer until acknowledged.
func (s *Stream) Read(ctx context.Context, consumer string, shards []int, count int, block time.Duration) ([]Entry, error) {
	if len(shards) == 0 {
		return nil, nil
	}
	streams := make([]string, 0, 2*len(shards))
	for _, sh := range shards {
		streams = append(streams, s.key(sh))
	}
	for range shards {
		streams = append(streams, ">")
	}
	args := &goredis.XReadGroupArgs{Group: group, Consumer: consumer, Streams: streams, Count: int64(count), Block: block}
	if block <= 0 {
		// Zero would be BLOCK 0, which waits for ever.
		args.Block = -1
	}
	res, err := s.client.XReadGroup(ctx, args).Result()
	if isNoGroup(err) {
		if err = s.makeGroups(ctx, shards); err == nil {
			res, err = s.client.XReadGroup(ctx, args).Result()
		}
	}
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stream read: %w", err)
	}
	var out []Entry
	for _, st := range res {
		sh, ok := s.shardOf(st.Stream)
		if !ok {
			return nil, fmt.Errorf("stream read: unexpected stream %q", st.Stream)
		}
		for _, m := range st.Messages {
			out = append(out, entry(sh, m))
		}
	}
	return out, nil
}

// Claim makes consumer the reader of the shard's entries that any consumer
// read and did not acknowledge, from after (the start when empty), at most
// count, in stream order; next continues there, and is empty when none are
// left. It claims them whatever their idle time: it is for the process that
// just took the shard's lease, which tells that their reader is gone. With
// none left, it also forgets the consumers that have nothing pending, so
// that the group does not grow with every restart.
func (s *Stream) Claim(ctx context.Context, shard int, consumer, after string, count int) ([]Entry, string, error) {
	if after == "" {
		after = "0-0"
	}
	key := s.key(shard)
	args := &goredis.XAutoClaimArgs{Stream: key, Group: group, Consumer: consumer, Start: after, Count: int64(count)}
	msgs, next, err := s.client.XAutoClaim(ctx, args).Result()
	if isNoGroup(err) {
		if err = s.makeGroups(ctx, []int{shard}); err == nil {
			msgs, next, err = s.client.XAutoClaim(ctx, args).Result()
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("stream claim shard %d: %w", shard, err)
	}
	out := make([]Entry, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, entry(shard, m))
	}
	if next == "0-0" {
		next = ""
		s.forgetIdle(ctx, key, consumer)
	}
	return out, next, nil
}

// forgetIdle deletes the group's consumers other than keep that have
// nothing pending. It is tidying only: a failure is left for the next time.
func (s *Stream) forgetIdle(ctx context.Context, key, keep string) {
	consumers, err := s.client.XInfoConsumers(ctx, key, group).Result()
	if err != nil {
		return
	}
	for _, c := range consumers {
		if c.Name != keep && c.Pending == 0 {
			s.client.XGroupDelConsumer(ctx, key, group, c.Name)
		}
	}
}

// Ack acknowledges handled entries and deletes them, so that the streams
// hold only what is not handled yet; both in one transaction, so that no
// entry is left in a stream after it stopped being pending.
func (s *Stream) Ack(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	byShard := map[int][]string{}
	var order []int
	for _, e := range entries {
		if _, ok := byShard[e.Shard]; !ok {
			order = append(order, e.Shard)
		}
		byShard[e.Shard] = append(byShard[e.Shard], e.ID)
	}
	_, err := s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for _, sh := range order {
			ids := byShard[sh]
			p.XAck(ctx, s.key(sh), group, ids...)
			p.XDel(ctx, s.key(sh), ids...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("stream ack: %w", err)
	}
	return nil
}

// Pending is how many entries consumer read and did not acknowledge, over
// every shard: what a crashed process leaves to be claimed.
func (s *Stream) Pending(ctx context.Context, consumer string) (int64, error) {
	cmds := make([]*goredis.XPendingCmd, s.opts.Shards)
	_, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for sh := range cmds {
			cmds[sh] = p.XPending(ctx, s.key(sh), group)
		}
		return nil
	})
	var n int64
	for _, cmd := range cmds {
		p, cerr := cmd.Result()
		if isNoGroup(cerr) {
			continue
		}
		if cerr != nil {
			return 0, fmt.Errorf("stream pending: %w", cerr)
		}
		n += p.Consumers[consumer]
	}
	if err != nil && !isNoGroup(err) {
		return 0, fmt.Errorf("stream pending: %w", err)
	}
	return n, nil
}

// Len is how many entries the shards' streams hold: handled ones are
// deleted, so this is what waits or is being handled.
func (s *Stream) Len(ctx context.Context) (int64, error) {
	cmds := make([]*goredis.IntCmd, s.opts.Shards)
	if _, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for sh := range cmds {
			cmds[sh] = p.XLen(ctx, s.key(sh))
		}
		return nil
	}); err != nil {
		return 0, fmt.Errorf("stream len: %w", err)
	}
	var n int64
	for _, cmd := range cmds {
		n += cmd.Val()
	}
	return n, nil
}

// makeGroups makes the shards' groups (and streams) where missing. A group
// starts at the stream's beginning, not its end: updates added before any
// process read the shard are read all the same.
func (s *Stream) makeGroups(ctx context.Context, shards []int) error {
	cmds := make([]*goredis.StatusCmd, len(shards))
	_, _ = s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, sh := range shards {
			cmds[i] = p.XGroupCreateMkStream(ctx, s.key(sh), group, "0")
		}
		return nil
	})
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !goredis.HasErrorPrefix(err, "BUSYGROUP") {
			return fmt.Errorf("make consumer group: %w", err)
		}
	}
	return nil
}

// shardOf is the shard of a stream key.
func (s *Stream) shardOf(key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, s.opts.Prefix+"updates:"+s.tag+":")
	if !ok {
		return 0, false
	}
	sh, err := strconv.Atoi(rest)
	return sh, err == nil && sh >= 0 && sh < s.opts.Shards
}

func entry(shard int, m goredis.XMessage) Entry {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	return Entry{Shard: shard, ID: m.ID, Key: str("key"), Chat: str("chat"), Raw: []byte(str("raw"))}
}

func isNoGroup(err error) bool { return err != nil && goredis.HasErrorPrefix(err, "NOGROUP") }
