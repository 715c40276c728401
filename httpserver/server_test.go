package httpserver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot/httpserver"
	"github.com/hromadabot/hromadabot/metrics"
	"github.com/hromadabot/hromadabot/storage/redis"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// get sends a request to h and returns the status and the body.
func get(t *testing.T, h http.Handler, method, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Code, rec.Body.String()
}

// mustNew returns a server or stops the test.
func mustNew(t *testing.T, checks map[string]func(context.Context) error, m http.Handler, extra map[string]http.Handler) *httpserver.Server {
	t.Helper()
	s, err := httpserver.New("127.0.0.1:0", checks, m, extra)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openDB opens a real SQLite file in the test's directory.
func openDB(t *testing.T) *sqldb.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hromada.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// redisStore returns a dialog-state store on a client for opts.
func redisStore(t *testing.T, opts *goredis.Options) *redis.StateStore {
	t.Helper()
	opts.MaxRetries = -1 // a ping to a stopped server fails at once
	c := goredis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return redis.NewStateStore(c, redis.Options{Prefix: "httpserver-test:"})
}

func TestHealth(t *testing.T) {
	// A failing readiness check does not make the process unhealthy:
	// restarting it would not bring the database back.
	s := mustNew(t, map[string]func(context.Context) error{"redis": func(context.Context) error { return errors.New("down") }}, nil, nil)
	tests := []struct {
		name, method string
		status       int
	}{
		{"OK", http.MethodGet, http.StatusOK},
		{"HeadOK", http.MethodHead, http.StatusOK},
		{"ErrMethodNotAllowed", http.MethodPost, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, s.Handler(), tt.method, httpserver.PathHealth)
			if status != tt.status {
				t.Fatalf("status %d, want %d", status, tt.status)
			}
			if tt.method == http.MethodGet && body != "ok\n" {
				t.Errorf("body %q", body)
			}
		})
	}
}

func TestReady(t *testing.T) {
	db := openDB(t)
	var live *redis.StateStore
	if url := os.Getenv("REDIS_URL"); url != "" {
		opts, err := goredis.ParseURL(url)
		if err != nil {
			t.Fatalf("REDIS_URL: %v", err)
		}
		live = redisStore(t, opts)
		t.Log("the live Redis is the one at REDIS_URL")
	} else {
		live = redisStore(t, &goredis.Options{Addr: miniredis.RunT(t).Addr()})
		t.Log("the live Redis is an in-process miniredis (REDIS_URL is not set)")
	}
	// The Redis that goes down is always a miniredis: a test cannot stop
	// a shared server.
	mr := miniredis.RunT(t)
	downAddr := mr.Addr()
	down := redisStore(t, &goredis.Options{Addr: downAddr})
	mr.Close()
	closedDB := openDB(t)
	closedDB.Close()
	slow := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

	tests := []struct {
		name   string
		checks map[string]func(context.Context) error
		status int
		body   string
	}{
		{"OK", map[string]func(context.Context) error{"redis": live.Ping, "sqlite": db.Ping}, http.StatusOK, "redis ok\nsqlite ok\n"},
		{"NoChecksOK", nil, http.StatusOK, "ok\n"},
		{"ErrRedisDown", map[string]func(context.Context) error{"redis": down.Ping, "sqlite": db.Ping}, http.StatusServiceUnavailable, "redis failed\nsqlite ok\n"},
		{"ErrSQLiteClosed", map[string]func(context.Context) error{"redis": live.Ping, "sqlite": closedDB.Ping}, http.StatusServiceUnavailable, "redis ok\nsqlite failed\n"},
		{"ErrCheckTimeout", map[string]func(context.Context) error{"slow": slow, "sqlite": db.Ping}, http.StatusServiceUnavailable, "slow failed\nsqlite ok\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, tt.checks, nil, nil)
			s.CheckTimeout = httpserver.DefaultCheckTimeout / 20
			status, body := get(t, s.Handler(), http.MethodGet, httpserver.PathReady)
			if status != tt.status || body != tt.body {
				t.Errorf("got %d %q, want %d %q", status, body, tt.status, tt.body)
			}
		})
	}
	t.Run("ErrorsNotShown", func(t *testing.T) {
		secret := "redis://:hunter2@10.0.0.7:6379/0"
		s := mustNew(t, map[string]func(context.Context) error{
			"redis": func(context.Context) error { return errors.New("dial " + secret + ": connection refused") },
		}, nil, nil)
		_, body := get(t, s.Handler(), http.MethodGet, httpserver.PathReady)
		for _, leak := range []string{"hunter2", "10.0.0.7", "refused"} {
			if strings.Contains(body, leak) {
				t.Errorf("the body %q shows %q", body, leak)
			}
		}
	})
	t.Run("RecoversWhenRedisIsBack", func(t *testing.T) {
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(mr.Close)
		store := redisStore(t, &goredis.Options{Addr: mr.Addr()})
		s := mustNew(t, map[string]func(context.Context) error{"redis": store.Ping}, nil, nil)
		steps := []struct {
			name   string
			do     func() error
			status int
		}{
			{"Up", func() error { return nil }, http.StatusOK},
			{"Stopped", func() error { mr.Close(); return nil }, http.StatusServiceUnavailable},
			{"Restarted", mr.Restart, http.StatusOK},
		}
		for _, st := range steps {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if status, body := get(t, s.Handler(), http.MethodGet, httpserver.PathReady); status != st.status {
				t.Errorf("%s: status %d (%q), want %d", st.name, status, body, st.status)
			}
		}
	})
}

func TestMetrics(t *testing.T) {
	m := metrics.New()
	m.ObserveSend(nil)
	t.Run("OK", func(t *testing.T) {
		s := mustNew(t, nil, m.Handler(), nil)
		status, body := get(t, s.Handler(), http.MethodGet, httpserver.PathMetrics)
		if status != http.StatusOK || !strings.Contains(body, "hromadabot_replies_sent_total 1") {
			t.Errorf("status %d, body %.200q", status, body)
		}
	})
	t.Run("NoHandlerNotFound", func(t *testing.T) {
		s := mustNew(t, nil, nil, nil)
		if status, _ := get(t, s.Handler(), http.MethodGet, httpserver.PathMetrics); status != http.StatusNotFound {
			t.Errorf("status %d, want 404", status)
		}
	})
}

func TestExtra(t *testing.T) {
	webhook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "update taken") })
	t.Run("OK", func(t *testing.T) {
		s := mustNew(t, nil, nil, map[string]http.Handler{"POST /telegram/webhook": webhook})
		status, body := get(t, s.Handler(), http.MethodPost, "/telegram/webhook")
		if status != http.StatusOK || body != "update taken" {
			t.Errorf("got %d %q", status, body)
		}
		if status, _ := get(t, s.Handler(), http.MethodGet, "/telegram/other"); status != http.StatusNotFound {
			t.Errorf("another path: status %d, want 404", status)
		}
	})
	errs := []struct {
		name    string
		pattern string
		h       http.Handler
	}{
		{"ErrOwnPath", "/healthz", webhook},
		{"ErrOwnPathWithMethod", "POST /metrics", webhook},
		{"ErrInvalidPattern", "POST /hook/{", webhook},
		{"ErrNilHandler", "/hook", nil},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := httpserver.New(":0", nil, nil, map[string]http.Handler{tt.pattern: tt.h}); err == nil {
				t.Errorf("pattern %q accepted", tt.pattern)
			}
		})
	}
	t.Run("ErrCheckName", func(t *testing.T) {
		if _, err := httpserver.New(":0", map[string]func(context.Context) error{"": func(context.Context) error { return nil }}, nil, nil); err == nil {
			t.Error("a check without a name accepted")
		}
	})
}

func TestServe(t *testing.T) {
	t.Run("GracefulShutdown", func(t *testing.T) {
		started, release := make(chan struct{}), make(chan struct{})
		hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release
			io.WriteString(w, "done")
		})
		s := mustNew(t, nil, nil, map[string]http.Handler{"POST /hook": hook})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		served := make(chan error, 1)
		go func() { served <- s.Serve(ctx, ln) }()

		type result struct {
			status int
			body   string
			err    error
		}
		answered := make(chan result, 1)
		go func() {
			resp, err := http.Post("http://"+ln.Addr().String()+"/hook", "application/json", strings.NewReader("{}"))
			if err != nil {
				answered <- result{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			answered <- result{resp.StatusCode, string(b), err}
		}()
		<-started
		cancel()
		// Shutdown closes the listener first; only then may the request
		// under way finish.
		for {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				break
			}
			conn.Close()
			time.Sleep(time.Millisecond)
		}
		close(release)
		if r := <-answered; r.err != nil || r.status != http.StatusOK || r.body != "done" {
			t.Errorf("the request under way got %d %q %v", r.status, r.body, r.err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if _, err := http.Get("http://" + ln.Addr().String() + httpserver.PathHealth); err == nil {
			t.Error("the server still answers after shutdown")
		}
	})
	t.Run("ErrAddressInUse", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		s, err := httpserver.New(ln.Addr().String(), nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Run(context.Background()); err == nil {
			t.Error("Run on a taken address succeeded")
		}
	})
}
