package main_test

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/bot/telegramtest"
)

// TestRunRedisRestart takes Redis away in the middle of a dialog: the bot
// stops taking updates and says so on /readyz, the person's message waits
// at Telegram rather than being lost, and once Redis is back it is
// answered, without being sent again.
func TestRunRedisRestart(t *testing.T) {
	srv, env := fakeTelegram(t, telegramtest.Options{})
	// A Redis server of the test's own, stopped and started again as an
	// operator would; miniredis, restarted, never answers a blocking
	// stream read again, which a real server does.
	redis := startRedis(t)
	env["REDIS_URL"] = redis.url
	env["HTTP_ADDR"] = "127.0.0.1:" + freePort(t)
	b := startBot(t, env)

	c := newConvo(t, srv, 5570001)
	c.send("/start")
	c.expect("Вітаю!")

	redis.stop(t)
	waitReady(t, c.ctx, env["HTTP_ADDR"], http.StatusServiceUnavailable)
	c.send("/score Буча")
	redis.start(t)
	waitReady(t, c.ctx, env["HTTP_ADDR"], http.StatusOK)
	c.expect("Бучанська (Київська обл.)", "Цифровий індекс")
	if err := srv.WaitDrained(c.ctx); err != nil {
		t.Fatal(err)
	}
	checkLog(t, b.stop(t), env, "/score Буча")
}

// waitReady waits until the bot's /readyz answers with status.
func waitReady(t *testing.T, ctx context.Context, addr string, status int) {
	t.Helper()
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("/readyz never answered %d", status)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// redisServer is a redis-server process of a test's own.
type redisServer struct {
	port, url string
}

// startRedis starts a redis-server on a free port, stopped when the test
// ends. Without the redis-server program the test is skipped, saying so:
// .ci/run installs it.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed: the Redis restart test is skipped (.ci/run installs it)")
	}
	r := &redisServer{port: freePort(t)}
	r.url = "redis://127.0.0.1:" + r.port
	r.start(t)
	t.Cleanup(func() { exec.Command("redis-cli", "-p", r.port, "shutdown", "nosave").Run() })
	return r
}

func (r *redisServer) start(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("redis-server", "--port", r.port, "--bind", "127.0.0.1", "--daemonize", "yes",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir()).CombinedOutput(); err != nil {
		t.Fatalf("redis-server: %v: %s", err, out)
	}
	r.wait(t, "PONG")
}

func (r *redisServer) stop(t *testing.T) {
	t.Helper()
	exec.Command("redis-cli", "-p", r.port, "shutdown", "nosave").Run()
	r.wait(t, "")
}

// wait waits until redis-cli's PING prints want: PONG once the server is
// up, nothing once it is down.
func (r *redisServer) wait(t *testing.T, want string) {
	t.Helper()
	ctx := testContext(t)
	for {
		out, _ := exec.Command("redis-cli", "-p", r.port, "ping").Output()
		if got := strings.TrimSpace(string(out)); got == want || (want == "" && got != "PONG") {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redis on port %s: never %q", r.port, want)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
