package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// invite is a CDTO's invite code for a community.
type invite struct {
	code      string
	community int64
}

// prepareDB makes the bot's database as `hromadabot run` would find it in
// production: every community loaded, and n invite codes spread over the
// communities, created as `hromadabot invite` does. It returns the
// community names that find exactly one community, which residents ask
// for, and the invites.
func prepareDB(ctx context.Context, path string, n int) ([]string, []invite, error) {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	all, err := hromadabot.Hromadas()
	if err != nil {
		return nil, nil, err
	}
	if _, err := db.LoadHromadas(ctx, all, "cli"); err != nil {
		return nil, nil, err
	}
	cs, err := db.Communities(ctx)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, c := range cs {
		if found, err := db.FindCommunity(ctx, c.Name); err == nil && found.ID == c.ID {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("no community name finds exactly one community")
	}
	invites := make([]invite, n)
	for i := range invites {
		// Spread with a stride, so that neighbours in the user list report
		// for communities far apart in the table.
		c := cs[(i*617)%len(cs)]
		code, err := db.CreateInvite(ctx, c.ID, "cli")
		if err != nil {
			return nil, nil, err
		}
		invites[i] = invite{code: code, community: c.ID}
	}
	return names, invites, db.Close()
}

// redisOf connects to the Redis at url, which must be on this machine: the
// harness loads nothing else.
func redisOf(ctx context.Context, url string) (*goredis.Client, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("REDIS_URL: %s is not on this machine; the harness only loads 127.0.0.1", opts.Addr)
	}
	client := goredis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return client, nil
}

// redisInfo returns one field of INFO.
func redisInfo(ctx context.Context, client *goredis.Client, section, field string) string {
	info, err := client.Info(ctx, section).Result()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	return ""
}

// redisCPU reads the Redis server's CPU time, as INFO reports it.
func redisCPU(ctx context.Context, client *goredis.Client) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		var total float64
		for _, f := range []string{"used_cpu_user", "used_cpu_sys"} {
			v, err := strconv.ParseFloat(redisInfo(ctx, client, "cpu", f), 64)
			if err != nil {
				return 0, fmt.Errorf("redis %s: %w", f, err)
			}
			total += v
		}
		return time.Duration(total * float64(time.Second)), nil
	}
}

// redisKeys counts the keys under prefix.
func redisKeys(ctx context.Context, client *goredis.Client, prefix string) (int, error) {
	n := 0
	it := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for it.Next(ctx) {
		n++
	}
	return n, it.Err()
}

// cleanRedis deletes every key under prefix.
func cleanRedis(ctx context.Context, client *goredis.Client, prefix string) (int, error) {
	n := 0
	it := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := client.Del(ctx, batch...).Err()
		n += len(batch)
		batch = batch[:0]
		return err
	}
	for it.Next(ctx) {
		batch = append(batch, it.Val())
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := it.Err(); err != nil {
		return n, err
	}
	return n, flush()
}
