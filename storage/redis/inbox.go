package redis

import (
	"context"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"
)

// Inbox keeps a chat channel's updates from their receipt until they are
// handled (telegram.Inbox): one hash, the update id its field and the raw
// update its value, so that a crash leaves the unhandled ones to the next
// start and Telegram can be told at once that they arrived.
type Inbox struct {
	client goredis.UniversalClient
	key    string
}

// NewInbox returns the inbox of the named channel ("telegram") under prefix
// (DefaultPrefix when empty).
func NewInbox(client goredis.UniversalClient, prefix, channel string) *Inbox {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Inbox{client: client, key: prefix + "inbox:" + channel}
}

// Put stores the updates, all or none, in one round trip.
func (in *Inbox) Put(ctx context.Context, updates map[int][]byte) error {
	if len(updates) == 0 {
		return nil
	}
	fields := make([]any, 0, 2*len(updates))
	for id, raw := range updates {
		fields = append(fields, strconv.Itoa(id), raw)
	}
	if err := in.client.HSet(ctx, in.key, fields...).Err(); err != nil {
		return fmt.Errorf("inbox put: %w", err)
	}
	return nil
}

// Done removes handled updates; ids not stored are ignored.
func (in *Inbox) Done(ctx context.Context, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	fields := make([]string, len(ids))
	for i, id := range ids {
		fields[i] = strconv.Itoa(id)
	}
	if err := in.client.HDel(ctx, in.key, fields...).Err(); err != nil {
		return fmt.Errorf("inbox done: %w", err)
	}
	return nil
}

// Pending returns the updates stored and not done. A field that is not an
// update id (written by something else) is an error rather than skipped.
func (in *Inbox) Pending(ctx context.Context) (map[int][]byte, error) {
	all, err := in.client.HGetAll(ctx, in.key).Result()
	if err != nil {
		return nil, fmt.Errorf("inbox pending: %w", err)
	}
	out := make(map[int][]byte, len(all))
	for field, raw := range all {
		id, err := strconv.Atoi(field)
		if err != nil {
			return nil, fmt.Errorf("inbox pending: field %q of %s is not an update id", field, in.key)
		}
		out[id] = []byte(raw)
	}
	return out, nil
}
