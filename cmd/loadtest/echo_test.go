package main_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot/bot/telegramtest"
	main "github.com/hromadabot/hromadabot/cmd/loadtest"
	"github.com/hromadabot/hromadabot/storage/redis"
)

// redisClient is REDIS_URL's Redis when set, else an in-process miniredis.
func redisClient(t *testing.T) *goredis.Client {
	t.Helper()
	opts := &goredis.Options{}
	if url := os.Getenv("REDIS_URL"); url != "" {
		var err error
		if opts, err = goredis.ParseURL(url); err != nil {
			t.Fatalf("REDIS_URL: %v", err)
		}
	} else {
		opts.Addr = miniredis.RunT(t).Addr()
	}
	c := goredis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// statesDownFor is a state store whose Redis is gone for one chat: Update
// fails for it and says so on failed; other chats' states are moved on
// and dropped.
type statesDownFor struct {
	chat   string
	failed chan struct{}
}

func (s statesDownFor) Update(_ context.Context, chat string, fn func([]byte) ([]byte, error)) error {
	if chat == s.chat {
		s.failed <- struct{}{}
		return errors.New("redis: connection refused")
	}
	_, err := fn(nil)
	return err
}

func startEcho(t *testing.T, states main.StateStore) *telegramtest.Server {
	t.Helper()
	srv := telegramtest.New(telegramtest.Options{Token: "1:test"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- main.EchoBot(ctx, srv.Token(), srv.URL(), states) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("echo bot: %v", err)
		}
		srv.Close()
	})
	wait, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	if err := srv.WaitPolling(wait); err != nil {
		t.Fatalf("echo bot not polling: %v", err)
	}
	return srv
}

// cleanPrefix deletes the test's keys afterwards.
func cleanPrefix(t *testing.T, client *goredis.Client, prefix string) {
	t.Cleanup(func() {
		keys, _ := client.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			client.Del(context.Background(), keys...)
		}
	})
}

func TestEchoBotKeepsDialogState(t *testing.T) {
	tests := []struct {
		name   string
		states func(c *goredis.Client, prefix string) main.StateStore
		// wantSeq is the state's counter after two updates: the store
		// that only writes never reads the state it moves on.
		wantSeq int
	}{
		{"Update", func(c *goredis.Client, prefix string) main.StateStore {
			return redis.NewStateStore(c, redis.Options{Prefix: prefix})
		}, 2},
		{"WriteOnly", func(c *goredis.Client, prefix string) main.StateStore {
			return main.WriteOnlyStates(c, prefix)
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := redisClient(t)
			prefix := "hromadabot-loadtest-test:" + rand.Text() + ":"
			cleanPrefix(t, client, prefix)
			srv := startEcho(t, tt.states(client, prefix))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			u := telegramtest.User{ID: 42, FirstName: "Оксана", LanguageCode: "uk"}
			srv.AddUser(u)
			srv.UserText(u, "/score <Буча>")
			if _, err := srv.WaitN(ctx, 1, telegramtest.SentTo("sendMessage", u.ID)); err != nil {
				t.Fatalf("no echo: %v", err)
			}
			if _, err := srv.UserClick(u, "↩"); err != nil {
				t.Fatalf("press: %v", err)
			}
			if _, err := srv.WaitN(ctx, 2, telegramtest.SentTo("sendMessage", u.ID)); err != nil {
				t.Fatalf("no answer to the button: %v", err)
			}
			chat := srv.Chat(u.ID)
			if got, want := chat[1].HTML, "echo: /score &lt;Буча&gt;"; got != want {
				t.Errorf("echo = %q, want %q", got, want)
			}

			raw, err := client.Get(ctx, prefix+"state:{"+strconv.FormatInt(u.ID, 10)+"}").Bytes()
			if err != nil {
				t.Fatalf("the chat's state is not in Redis: %v", err)
			}
			var st struct{ Seq int }
			if err := json.Unmarshal(raw, &st); err != nil {
				t.Fatalf("state %q: %v", raw, err)
			}
			if st.Seq != tt.wantSeq {
				t.Errorf("state seq = %d after two updates, want %d", st.Seq, tt.wantSeq)
			}
		})
	}
}

func TestEchoBotLeavesUnansweredWhatItCannotStore(t *testing.T) {
	down := telegramtest.User{ID: 43, FirstName: "Тарас", LanguageCode: "uk"}
	up := telegramtest.User{ID: 44, FirstName: "Ірина", LanguageCode: "uk"}
	failed := make(chan struct{}, 1)
	srv := startEcho(t, statesDownFor{chat: "43", failed: failed})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.AddUser(down)
	srv.AddUser(up)

	srv.UserText(down, "привіт")
	select {
	case <-failed:
	case <-ctx.Done():
		t.Fatal("the update never reached the state store")
	}
	// Another chat's update goes all the way round after the failure.
	srv.UserText(up, "привіт")
	if _, err := srv.WaitFor(ctx, telegramtest.SentTo("sendMessage", up.ID)); err != nil {
		t.Fatalf("the other chat got no echo: %v", err)
	}
	if sent := srv.Requests(telegramtest.SentTo("sendMessage", down.ID)); len(sent) != 0 {
		t.Errorf("sent %d replies to the chat whose state could not be stored, want none", len(sent))
	}
}

func TestNextEchoState(t *testing.T) {
	first, err := main.NextEchoState(nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := main.NextEchoState(first)
	if err != nil {
		t.Fatal(err)
	}
	var a, b struct {
		Seq   int
		Draft struct{ Community int64 }
	}
	if err := json.Unmarshal(first, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(second, &b); err != nil {
		t.Fatal(err)
	}
	if a.Seq != 1 || b.Seq != 2 || b.Draft.Community != a.Draft.Community {
		t.Errorf("states %s then %s: want seq 1 then 2, the draft kept", first, second)
	}
	if _, err := main.NextEchoState([]byte("{not json")); err == nil {
		t.Error("a corrupt state was accepted")
	}
}

func TestEchoStateFlag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{"DefaultIsTheBotsWay", nil, "update", ""},
		{"WriteOnly", []string{"-echo-state", "write"}, "write", ""},
		{"QuickLeavesItOut", []string{"-quick"}, "off", ""},
		{"QuickKeepsAGivenOne", []string{"-quick", "-echo-state", "update"}, "update", ""},
		{"Unknown", []string{"-echo-state", "lock"}, "", "-echo-state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := main.EchoStateFlag(tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("-echo-state = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
