package main_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	main "github.com/hromadabot/hromadabot/cmd/loadtest"
)

func TestSiteFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		scale     string
		conns     int
		rate      float64
		openConns int
		wantErr   string
	}{
		{"DefaultsNational", []string{"-channel", "site"}, "national", 16, 2000, 64, ""},
		{"QuickIsSmall", []string{"-quick", "-channel", "site"}, "small", 16, 2000, 64, ""},
		{"QuickKeepsAGivenScale", []string{"-quick", "-channel", "site", "-site-scale", "national"}, "national", 16, 2000, 64, ""},
		{"Given", []string{"-channel", "site", "-site-scale", "small", "-site-conns", "32", "-site-rate", "500", "-site-open-conns", "8"},
			"small", 32, 500, 8, ""},
		{"ErrScale", []string{"-channel", "site", "-site-scale", "regional"}, "", 0, 0, 0, "-site-scale"},
		{"ErrNoConns", []string{"-channel", "site", "-site-conns", "0"}, "", 0, 0, 0, "-site-conns"},
		{"ErrNoOpenConns", []string{"-channel", "site", "-site-open-conns", "0"}, "", 0, 0, 0, "-site-open-conns"},
		{"ErrNoRate", []string{"-channel", "site", "-site-rate", "0"}, "", 0, 0, 0, "-site-rate"},
		{"ErrEchoOnlyOnPolling", []string{"-channel", "site", "-only", "echo"}, "", 0, 0, 0, "-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scale, conns, rate, openConns, err := main.SiteFlags(tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || scale != tt.scale || conns != tt.conns || rate != tt.rate || openConns != tt.openConns {
				t.Errorf("got %q, %d, %v, %d, %v; want %q, %d, %v, %d", scale, conns, rate, openConns, err,
					tt.scale, tt.conns, tt.rate, tt.openConns)
			}
		})
	}
}

func TestSiteRef(t *testing.T) {
	tests := []struct {
		name string
		c    hromadabot.Community
		want string
	}{
		{"CodeWhenRegistered", hromadabot.Community{ID: 7, Code: "UA32080070000043076"}, "UA32080070000043076"},
		{"IDWhenAddedByHand", hromadabot.Community{ID: 1470}, "1470"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := main.SiteRef(tt.c); got != tt.want {
				t.Errorf("SiteRef = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTally(t *testing.T) {
	ok := main.Hit{Status: 200, Bytes: 1000, Gzip: true, ETag: true}
	plain := main.Hit{Status: 200, Bytes: 3000}
	tests := []struct {
		name        string
		hits        []main.Hit
		errs        int
		describe    string
		perResponse float64
		gzipped     string
		tagged      string
	}{
		{"NoneIsNone", nil, 0, "none", 0, "-", "-"},
		{"AllOK", []main.Hit{ok, ok}, 0, "none", 1000, "100%", "100%"},
		{"MeanOfTheOKs", []main.Hit{ok, plain}, 0, "none", 2000, "50%", "50%"},
		{"NotFoundByStatus", []main.Hit{{Status: 404}, {Status: 404}, {Status: 500}, ok}, 3, "404 ×2, 500 ×1", 1000, "100%", "100%"},
		{"NoAnswer", []main.Hit{{}, ok}, 1, "1 without answer (last: connection refused)", 1000, "100%", "100%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs, describe, per, gz, tagged := main.TallyOf(tt.hits...)
			if errs != tt.errs || describe != tt.describe || per != tt.perResponse || gz != tt.gzipped || tagged != tt.tagged {
				t.Errorf("got %d, %q, %v, %s, %s; want %d, %q, %v, %s, %s", errs, describe, per, gz, tagged,
					tt.errs, tt.describe, tt.perResponse, tt.gzipped, tt.tagged)
			}
		})
	}
}

// gzipped is body compressed.
func gzipped(t *testing.T, body string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fakeSite serves "/" and "/page/…" gzipped when asked, with an ETag, and
// 404 elsewhere; delay is each answer's.
func fakeSite(t *testing.T, delay time.Duration) (*httptest.Server, int) {
	t.Helper()
	body := gzipped(t, strings.Repeat("<tr><td>громада</td></tr>", 200))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" && !strings.HasPrefix(r.URL.Path, "/page/") {
			http.NotFound(w, r)
			return
		}
		time.Sleep(delay)
		w.Header().Set("ETag", `"v1"`)
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Write([]byte("plain"))
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, len(body)
}

func TestCheckServed(t *testing.T) {
	srv, _ := fakeSite(t, 0)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	tests := []struct {
		name    string
		base    string
		paths   []string
		wantErr string
	}{
		{"OK", srv.URL, []string{"/", "/page/UA1"}, ""},
		{"ErrNotFound", srv.URL, []string{"/", "/api/v1/ranking?year=2026"}, "site not served: GET /api/v1/ranking?year=2026 answered 404"},
		{"ErrNoServer", gone.URL, []string{"/"}, "site not served: GET /: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := main.CheckServed(context.Background(), tt.base, tt.paths...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestSiteClosedLoop: the clients take the paths in turn, every request is
// counted once, and the bytes are the compressed body's.
func TestSiteClosedLoop(t *testing.T) {
	srv, size := fakeSite(t, 0)
	r := main.SiteClosedLoop(context.Background(), srv.URL, []string{"/", "/page/1", "/missing"}, 4, 200*time.Millisecond)
	if r.Requests < 30 {
		t.Fatalf("%d requests in 200ms", r.Requests)
	}
	if r.OK+r.Errors != r.Requests || r.InStep != r.Requests {
		t.Errorf("%d OK and %d errors of %d requests, %d in the step", r.OK, r.Errors, r.Requests, r.InStep)
	}
	// Request i takes path i % 3: a third of them, rounded, are the 404s.
	if want := r.Requests / 3; r.Errors != want {
		t.Errorf("%d errors of %d requests, want %d", r.Errors, r.Requests, want)
	}
	if r.PerResponse != float64(size) || r.Gzipped != "100%" {
		t.Errorf("%v bytes a response, %s gzipped; want %d, 100%%", r.PerResponse, r.Gzipped, size)
	}
	// Each of the three paths is visited first once.
	if r.First != 3 || r.Again != r.Requests-3 {
		t.Errorf("%d first and %d later visits of %d requests, want 3 and the rest", r.First, r.Again, r.Requests)
	}
}

func TestSiteOpenLoop(t *testing.T) {
	t.Run("OKSendsTheOfferedLoad", func(t *testing.T) {
		srv, _ := fakeSite(t, 0)
		r := main.SiteOpenLoop(context.Background(), srv.URL, []string{"/"}, 500, 200*time.Millisecond, 4, time.Second)
		if r.Requests != 100 || r.OK != 100 || r.Errors != 0 || r.First != 1 {
			t.Errorf("%d requests, %d OK, %d errors, %d first visits; want 100 of 100 OK, one first visit", r.Requests, r.OK, r.Errors, r.First)
		}
		// The last is due at the step's end and answered after it.
		if r.InStep < 80 || r.InStep > 99 {
			t.Errorf("%d answered within the step, want 80 to 99", r.InStep)
		}
	})
	t.Run("OKLatencyFromTheSchedule", func(t *testing.T) {
		// One client and 20ms an answer: 50 a second at most, against 200
		// offered. The requests wait their turn, and the wait counts.
		srv, _ := fakeSite(t, 20*time.Millisecond)
		r := main.SiteOpenLoop(context.Background(), srv.URL, []string{"/"}, 200, 100*time.Millisecond, 1, 5*time.Second)
		if r.Requests != 20 || r.OK != 20 {
			t.Fatalf("%d requests, %d OK; want 20 of 20", r.Requests, r.OK)
		}
		_, _, _, maximum := r.Lats.Summary()
		// The last is due at 100ms and answered after 20 answers, at 400ms.
		if maximum < 250*time.Millisecond {
			t.Errorf("latest latency %v, want the queue's wait of about 300ms counted", maximum)
		}
		if r.InStep > 7 {
			t.Errorf("%d answered within the 100ms step, want at most 5 or so", r.InStep)
		}
	})
	t.Run("ErrUnsentAfterTheDrain", func(t *testing.T) {
		srv, _ := fakeSite(t, 20*time.Millisecond)
		r := main.SiteOpenLoop(context.Background(), srv.URL, []string{"/"}, 200, 100*time.Millisecond, 1, 0)
		if r.Unsent == 0 || r.OK == 20 || r.Errors != 20-r.OK {
			t.Errorf("%d OK, %d errors, %d unsent of 20; want some unsent, the rest OK or failed", r.OK, r.Errors, r.Unsent)
		}
	})
}

func TestScheduled(t *testing.T) {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		rate float64
		k    int
		want time.Duration
	}{
		{"FirstAfterOneInterval", 2000, 0, 500 * time.Microsecond},
		{"LastOfTheSecondAtIt", 2000, 1999, time.Second},
		{"SlowRate", 4, 2, 750 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := main.Scheduled(start, tt.rate, tt.k).Sub(start); got != tt.want {
				t.Errorf("scheduled %v after the start, want %v", got, tt.want)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {2000, "2,000"}, {1234567, "1,234,567"}, {-2500, "-2,500"}} {
		if got := main.Thousands(tt.v); got != tt.want {
			t.Errorf("Thousands(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestSiteTargets(t *testing.T) {
	const mb = 1 << 20
	good := func() []main.SiteStep {
		return []main.SiteStep{
			{Class: "ranking page", Rate: 3000, P99: 8 * time.Millisecond},
			{Class: "ranking page", Offered: 2000, Rate: 1995, P99: 5 * time.Millisecond},
			{Class: "ranking API", Rate: 4000, P99: 6 * time.Millisecond},
			{Class: "ranking API", Offered: 2000, Rate: 1990, P99: 4 * time.Millisecond},
			{Class: "community page", Rate: 900, P99: 30 * time.Millisecond},
			{Class: "community page", Offered: 2000, Rate: 1999, P99: 12 * time.Millisecond},
		}
	}
	with := func(i int, f func(s *main.SiteStep)) []main.SiteStep {
		steps := good()
		f(&steps[i])
		return steps
	}
	tests := []struct {
		name                  string
		ready, baseline, rest int64
		steps                 []main.SiteStep
		missed                []string // prefixes of the targets missed; the rest are met
		figure                string   // in the memory target's figure
	}{
		{"AllMet", 40 * mb, 0, 50 * mb, good(), nil, "+10.0 MiB"},
		{"ErrSlowRanking", 40 * mb, 0, 50 * mb, with(0, func(s *main.SiteStep) { s.Rate = 1500 }),
			[]string{"ranking page ≥ 2,000 requests/s"}, ""},
		{"ErrThroughputWithErrors", 40 * mb, 0, 50 * mb, with(2, func(s *main.SiteStep) { s.Errors = 3 }),
			[]string{"ranking API ≥ 2,000 requests/s"}, ""},
		{"ErrP99", 40 * mb, 0, 50 * mb, with(3, func(s *main.SiteStep) { s.P99 = 25 * time.Millisecond }),
			[]string{"ranking API p99 ≤ 20.0ms"}, ""},
		{"ErrNotKeptUp", 40 * mb, 0, 50 * mb, with(5, func(s *main.SiteStep) { s.Rate = 1800 }),
			[]string{"community page p99 ≤ 20.0ms"}, ""},
		{"ErrMemoryAfterAStep", 40 * mb, 0, 50 * mb, with(4, func(s *main.SiteStep) { s.RSS = 65 * mb }),
			[]string{"the site adds ≤ 20 MiB"}, "+25.0 MiB"},
		{"OKAgainstTheBaseline", 45 * mb, 30 * mb, 48 * mb, good(), nil, "+18.0 MiB"},
		{"ErrAgainstTheBaseline", 40 * mb, 25 * mb, 50 * mb, good(), []string{"the site adds ≤ 20 MiB"}, "-site-baseline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := main.SiteTargets(2000, tt.ready, tt.baseline, tt.rest, tt.steps...)
			// Two of each ranking class, one of community pages, memory.
			if len(ts) != 6 {
				t.Fatalf("%d targets, want 6: %v", len(ts), ts)
			}
			for _, target := range ts {
				missed := false
				for _, m := range tt.missed {
					missed = missed || strings.HasPrefix(target.What, m)
				}
				if target.Met == missed {
					t.Errorf("%s: met %v, want %v (%s)", target.What, target.Met, !missed, target.Figure)
				}
				if strings.HasPrefix(target.What, "the site adds") && !strings.Contains(target.Figure, tt.figure) {
					t.Errorf("memory figure %q, want it to hold %q", target.Figure, tt.figure)
				}
			}
		})
	}
}
