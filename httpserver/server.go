// Package httpserver serves the bot's HTTP endpoints: /healthz says the
// process is alive, /readyz that the databases it needs answer, /metrics
// exposes the Prometheus metrics, and further handlers (the Telegram
// webhook) mount at their own paths.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Paths the server keeps for itself.
const (
	PathHealth  = "/healthz"
	PathReady   = "/readyz"
	PathMetrics = "/metrics"
)

// Defaults of the Server's tunable fields.
const (
	DefaultCheckTimeout    = 2 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
)

// Server is the bot's HTTP server. Set the exported fields before Run.
type Server struct {
	// CheckTimeout bounds each readiness check (default 2s): a database
	// that answers slower than that counts as not ready.
	CheckTimeout time.Duration
	// ShutdownTimeout is how long requests under way (a webhook update)
	// may take to finish once Run's context ends (default 10s).
	ShutdownTimeout time.Duration
	// Log gets the failed readiness checks with their errors and the
	// server's own failures; nil discards. Replies never carry the errors,
	// which may name hosts or paths.
	Log *slog.Logger

	addr   string
	checks map[string]func(ctx context.Context) error
	names  []string // of checks, sorted, so that /readyz reads the same every time
	mux    *http.ServeMux
}

// New returns a server for addr (":8080") answering /healthz, /readyz with
// the named readiness checks, /metrics with the metrics handler (none when
// nil), and each extra pattern ("POST /telegram/webhook") with its handler.
// A check is a Ping of something the bot needs ("redis", "sqlite"); it
// must return once its context ends. An extra pattern that is invalid or
// takes one of the server's own paths is an error.
func New(addr string, checks map[string]func(ctx context.Context) error, metrics http.Handler, extra map[string]http.Handler) (*Server, error) {
	s := &Server{
		CheckTimeout:    DefaultCheckTimeout,
		ShutdownTimeout: DefaultShutdownTimeout,
		addr:            addr,
		checks:          make(map[string]func(ctx context.Context) error, len(checks)),
		mux:             http.NewServeMux(),
	}
	for name, c := range checks {
		if name == "" || strings.ContainsAny(name, ": \n") || c == nil {
			return nil, fmt.Errorf("readiness check %q: needs a one-word name and a function", name)
		}
		s.checks[name] = c
		s.names = append(s.names, name)
	}
	slices.Sort(s.names)
	s.mux.HandleFunc("GET "+PathHealth, s.health)
	s.mux.HandleFunc("GET "+PathReady, s.ready)
	if metrics != nil {
		s.mux.Handle("GET "+PathMetrics, metrics)
	}
	for pattern, h := range extra {
		if err := s.mount(pattern, h); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// mount adds an extra handler, turning the mux's panic on a bad pattern
// into an error: the pattern may come from configuration (a webhook URL).
func (s *Server) mount(pattern string, h http.Handler) (err error) {
	_, path, _ := strings.Cut(pattern, " ")
	if path == "" {
		path = pattern
	}
	path, _, _ = strings.Cut(path, "{")
	if h == nil {
		return fmt.Errorf("handler for %q is nil", pattern)
	}
	for _, own := range []string{PathHealth, PathReady, PathMetrics} {
		if path == own || path == own+"/" {
			return fmt.Errorf("path %q is the server's own", pattern)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pattern %q: %v", pattern, r)
		}
	}()
	s.mux.Handle(pattern, h)
	return nil
}

// Handler returns the server's routes, for tests and for mounting the
// server inside another.
func (s *Server) Handler() http.Handler { return s.mux }

// Run listens on the server's address and serves until ctx ends, then
// shuts down gracefully. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("http listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then stops accepting, lets requests
// under way finish within ShutdownTimeout and returns nil. ln is closed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if s.Log != nil {
		srv.ErrorLog = slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("http serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		srv.Close()
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeText(w, http.StatusOK, "ok\n")
}

// ready runs every check at once, each within CheckTimeout, and answers
// 200 when all passed, else 503; the body has a line per check, "redis ok"
// or "redis failed", and nothing of the errors themselves.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	failed := make([]bool, len(s.names))
	var wg sync.WaitGroup
	for i, name := range s.names {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), s.CheckTimeout)
			defer cancel()
			if err := s.checks[name](ctx); err != nil {
				failed[i] = true
				if s.Log != nil {
					s.Log.LogAttrs(r.Context(), slog.LevelWarn, "readiness check failed",
						slog.String("check", name), slog.String("error", err.Error()))
				}
			}
		})
	}
	wg.Wait()
	if len(s.names) == 0 {
		writeText(w, http.StatusOK, "ok\n")
		return
	}
	var b strings.Builder
	status := http.StatusOK
	for i, name := range s.names {
		if failed[i] {
			status = http.StatusServiceUnavailable
			b.WriteString(name + " failed\n")
		} else {
			b.WriteString(name + " ok\n")
		}
	}
	writeText(w, status, b.String())
}

func writeText(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
