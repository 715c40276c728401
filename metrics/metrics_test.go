package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/metrics"
	"github.com/hromadabot/hromadabot/storage/memory"
	"github.com/hromadabot/hromadabot/storage/redis"
)

// The wrapper converts to and from the dialogs' interface.
var _ metrics.StateStore = (*memory.StateStore)(nil)

// scrape returns the exposition text the handler serves.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// histogramCount returns how many observations the latency histogram of
// the channel and kind holds.
func histogramCount(t *testing.T, m *metrics.Metrics, channel, kind string) uint64 {
	t.Helper()
	o, err := m.Latency.GetMetricWithLabelValues(channel, kind)
	if err != nil {
		t.Fatal(err)
	}
	var pb dto.Metric
	if err := o.(prometheus.Histogram).Write(&pb); err != nil {
		t.Fatal(err)
	}
	return pb.GetHistogram().GetSampleCount()
}

func TestMiddleware(t *testing.T) {
	tests := []struct {
		name string
		ev   bot.Event
		err  error
		kind string
	}{
		{"CommandOK", bot.Event{Platform: hromadabot.PlatformTelegram, UserID: "42", Text: "/score Буча"}, nil, bot.KindCommand},
		{"TextOK", bot.Event{Platform: hromadabot.PlatformTelegram, UserID: "42", Text: "Буча"}, nil, bot.KindText},
		{"ButtonOK", bot.Event{Platform: hromadabot.PlatformTelegram, UserID: "42", Payload: "1:a:s:1:0"}, nil, bot.KindButton},
		{"AttachmentOK", bot.Event{Platform: hromadabot.PlatformConsole, UserID: "42", Attachment: &bot.Attachment{Kind: "photo", FileID: "f"}}, nil, bot.KindAttachment},
		{"ErrHandlerCounted", bot.Event{Platform: hromadabot.PlatformTelegram, UserID: "42", Text: "55"}, errors.New("database is locked"), bot.KindText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrics.New()
			want := []bot.Reply{{Text: "ok"}}
			h := bot.Chain(bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
				return want, tt.err
			}), m.Middleware())
			got, err := h.Handle(context.Background(), tt.ev)
			if !errors.Is(err, tt.err) || len(got) != 1 || got[0].Text != "ok" {
				t.Fatalf("middleware changed the result: %v, %v", got, err)
			}
			if n := testutil.ToFloat64(m.Updates.WithLabelValues(tt.ev.Platform, tt.kind)); n != 1 {
				t.Errorf("updates{%s,%s} = %v, want 1", tt.ev.Platform, tt.kind, n)
			}
			if n := testutil.CollectAndCount(m.Updates); n != 1 {
				t.Errorf("%d update series, want 1", n)
			}
			if n := histogramCount(t, m, tt.ev.Platform, tt.kind); n != 1 {
				t.Errorf("latency observations %d, want 1", n)
			}
			wantErrs := 0.0
			if tt.err != nil {
				wantErrs = 1
			}
			if n := testutil.ToFloat64(m.UpdateErrors.WithLabelValues(tt.ev.Platform, tt.kind)); n != wantErrs {
				t.Errorf("update errors %v, want %v", n, wantErrs)
			}
		})
	}
}

func TestObserveSend(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		reason string // "" for a reply sent
	}{
		{"OK", nil, ""},
		{"ErrRetryAfter", fmt.Errorf("send message: %w", &bot.RetryAfterError{After: 3 * time.Second}), metrics.ReasonRetryAfter},
		{"ErrBlocked", fmt.Errorf("%w: Forbidden: bot was blocked by the user", bot.ErrBlocked), metrics.ReasonBlocked},
		{"ErrTemporary", &bot.TemporaryError{Err: errors.New("502 Bad Gateway")}, metrics.ReasonTemporary},
		{"ErrOther", errors.New("Bad Request: can't parse entities"), metrics.ReasonOther},
		{"ErrCancelled", context.Canceled, metrics.ReasonOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrics.New()
			m.ObserveSend(tt.err)
			wantSent := 0.0
			if tt.reason == "" {
				wantSent = 1
			}
			if n := testutil.ToFloat64(m.RepliesSent); n != wantSent {
				t.Errorf("sent %v, want %v", n, wantSent)
			}
			for _, r := range []string{metrics.ReasonRetryAfter, metrics.ReasonBlocked, metrics.ReasonTemporary, metrics.ReasonOther} {
				want := 0.0
				if r == tt.reason {
					want = 1
				}
				if n := testutil.ToFloat64(m.RepliesFailed.WithLabelValues(r)); n != want {
					t.Errorf("failed{%s} = %v, want %v", r, n, want)
				}
			}
		})
	}
}

// transport answers deliveries with the errors given, one per call.
type transport struct{ errs []error }

func (tr *transport) Deliver(ctx context.Context, out bot.Outgoing) error {
	err := tr.errs[0]
	tr.errs = tr.errs[1:]
	return err
}

func TestTransport(t *testing.T) {
	m := metrics.New()
	tr := m.Transport(&transport{errs: []error{&bot.RetryAfterError{After: time.Second}, &bot.TemporaryError{}, nil}})
	for range 3 {
		_ = tr.Deliver(context.Background(), bot.Outgoing{ChatID: "1", Reply: bot.Reply{Text: "x"}})
	}
	if n := testutil.ToFloat64(m.RepliesSent); n != 1 {
		t.Errorf("sent %v, want 1", n)
	}
	if n := testutil.ToFloat64(m.RepliesFailed.WithLabelValues(metrics.ReasonRetryAfter)); n != 1 {
		t.Errorf("retry_after %v, want 1", n)
	}
	if n := testutil.ToFloat64(m.RepliesFailed.WithLabelValues(metrics.ReasonTemporary)); n != 1 {
		t.Errorf("temporary %v, want 1", n)
	}
}

func TestStateStore(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		m := metrics.New()
		s := m.StateStore(memory.NewStateStore(time.Hour))
		if err := s.Update(ctx, "1", func([]byte) ([]byte, error) { return []byte("{}"), nil }); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "1"); err != nil {
			t.Fatal(err)
		}
		for _, op := range []string{metrics.OpUpdate, metrics.OpDelete} {
			if n := testutil.ToFloat64(m.StateOps.WithLabelValues(op)); n != 1 {
				t.Errorf("%s operations %v, want 1", op, n)
			}
			if n := testutil.ToFloat64(m.StateErrors.WithLabelValues(op)); n != 0 {
				t.Errorf("%s errors %v, want 0", op, n)
			}
		}
	})
	t.Run("DialogErrorIsNotStoreError", func(t *testing.T) {
		m := metrics.New()
		s := m.StateStore(memory.NewStateStore(time.Hour))
		bad := errors.New("value out of range")
		err := s.Update(ctx, "1", func([]byte) ([]byte, error) { return nil, bad })
		if !errors.Is(err, bad) {
			t.Fatalf("error %v, want the dialog's own", err)
		}
		if n := testutil.ToFloat64(m.StateErrors.WithLabelValues(metrics.OpUpdate)); n != 0 {
			t.Errorf("update errors %v, want 0", n)
		}
	})
	t.Run("ErrRedisDown", func(t *testing.T) {
		mr := miniredis.RunT(t)
		client := goredis.NewClient(&goredis.Options{Addr: mr.Addr(), MaxRetries: -1})
		t.Cleanup(func() { client.Close() })
		m := metrics.New()
		s := m.StateStore(redis.NewStateStore(client, redis.Options{Prefix: "metrics-test:", LockWait: 100 * time.Millisecond}))
		mr.Close()
		called := false
		err := s.Update(ctx, "1", func([]byte) ([]byte, error) { called = true; return []byte("{}"), nil })
		if err == nil {
			t.Fatal("update with Redis down succeeded")
		}
		if called {
			t.Error("the dialog ran without its state")
		}
		if n := testutil.ToFloat64(m.StateErrors.WithLabelValues(metrics.OpUpdate)); n != 1 {
			t.Errorf("update errors %v, want 1", n)
		}
		if err := s.Delete(ctx, "1"); err == nil {
			t.Fatal("delete with Redis down succeeded")
		}
		if n := testutil.ToFloat64(m.StateErrors.WithLabelValues(metrics.OpDelete)); n != 1 {
			t.Errorf("delete errors %v, want 1", n)
		}
	})
}

func TestBroadcast(t *testing.T) {
	m := metrics.New()
	m.BroadcastProgress(hromadabot.BroadcastDigest, 10, 100)
	m.BroadcastProgress(hromadabot.BroadcastDigest, 40, 100)
	m.BroadcastOutcome(hromadabot.BroadcastDigest, hromadabot.RecipientSent, 38)
	m.BroadcastOutcome(hromadabot.BroadcastDigest, hromadabot.RecipientBlocked, 2)
	m.BroadcastOutcome(hromadabot.BroadcastDigest, "exploded", 1)
	checks := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"Sent", m.BroadcastSent.WithLabelValues(hromadabot.BroadcastDigest), 40},
		{"Total", m.BroadcastTotal.WithLabelValues(hromadabot.BroadcastDigest), 100},
		{"OutcomeSent", m.BroadcastMessages.WithLabelValues(hromadabot.BroadcastDigest, hromadabot.RecipientSent), 38},
		{"OutcomeBlocked", m.BroadcastMessages.WithLabelValues(hromadabot.BroadcastDigest, hromadabot.RecipientBlocked), 2},
		{"UnknownOutcomeFailed", m.BroadcastMessages.WithLabelValues(hromadabot.BroadcastDigest, hromadabot.RecipientFailed), 1},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if n := testutil.ToFloat64(c.c); n != c.want {
				t.Errorf("got %v, want %v", n, c.want)
			}
		})
	}
	if n := testutil.CollectAndCount(m.BroadcastMessages); n != 3 {
		t.Errorf("%d outcome series, want 3 (no label for an unknown outcome)", n)
	}
}

func TestHandler(t *testing.T) {
	m := metrics.New()
	h := bot.Chain(bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
		return []bot.Reply{{Text: "Бучанська: 47,3"}}, nil
	}), m.Middleware())
	if _, err := h.Handle(context.Background(), bot.Event{Platform: hromadabot.PlatformTelegram, ChatID: "987654321", UserID: "987654321", Text: "/score Бучанська"}); err != nil {
		t.Fatal(err)
	}
	m.ObserveSend(nil)
	body := scrape(t, m)
	for _, want := range []string{
		`hromadabot_updates_total{channel="telegram",kind="command"} 1`,
		`hromadabot_update_duration_seconds_bucket{channel="telegram",kind="command",le="0.001"}`,
		`hromadabot_update_duration_seconds_bucket{channel="telegram",kind="command",le="10"}`,
		`hromadabot_replies_sent_total 1`,
		`hromadabot_replies_failed_total{reason="blocked"} 0`,
		`hromadabot_dialog_state_errors_total{op="update"} 0`,
		"go_goroutines",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
	for _, secret := range []string{"987654321", "Бучанська", "score"} {
		if strings.Contains(body, secret) {
			t.Errorf("the scrape shows %q, which belongs to a person's message", secret)
		}
	}
	t.Run("RegistriesIndependent", func(t *testing.T) {
		other := metrics.New()
		if n := testutil.ToFloat64(other.RepliesSent); n != 0 {
			t.Errorf("a new registry starts at %v", n)
		}
	})
}
