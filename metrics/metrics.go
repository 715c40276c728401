// Package metrics counts what the bot does, for Prometheus to scrape:
// updates by channel and kind, how long handling took, replies delivered
// and failed, dialog-state operations and broadcast progress. The
// collectors live in a registry of their own rather than the global one, so
// that tests and several bots in one process never share counts.
//
// Labels carry only bounded values (channels, kinds, reasons, operations);
// never user ids or message texts.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
)

// Namespace starts every metric name.
const Namespace = "hromadabot"

// Reasons a reply delivery failed, as the replies_failed_total counter
// labels them.
const (
	ReasonRetryAfter = "retry_after" // the platform rate-limited the bot
	ReasonBlocked    = "blocked"     // the person blocked the bot or the chat is gone
	ReasonTemporary  = "temporary"   // 5xx, timeout, broken connection
	ReasonOther      = "other"       // anything else: a bad request, a cancelled send
)

// Outcomes of a broadcast to one recipient, as the broadcast messages
// counter labels them; they are the recipient states of the domain.
var broadcastOutcomes = []string{hromadabot.RecipientSent, hromadabot.RecipientFailed, hromadabot.RecipientBlocked, hromadabot.RecipientPending}

// LatencyBuckets are the handling-latency histogram's upper bounds in
// seconds, from 1 ms (an answer from memory) to 10 s (a stuck database).
var LatencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Metrics holds the bot's collectors and the registry they are in. The
// fields are exported for tests and for code that needs a collector
// directly; the methods are the usual way to record.
type Metrics struct {
	Registry *prometheus.Registry

	// Updates counts handled updates by channel and kind (bot.KindOf).
	Updates *prometheus.CounterVec
	// UpdateErrors counts updates whose handler returned an error.
	UpdateErrors *prometheus.CounterVec
	// Latency observes how long handling an update took, in seconds.
	Latency *prometheus.HistogramVec
	// RepliesSent counts messages the platform accepted.
	RepliesSent prometheus.Counter
	// RepliesFailed counts failed delivery attempts by reason.
	RepliesFailed *prometheus.CounterVec
	// StateOps and StateErrors count dialog-state operations (update,
	// delete) and those the store failed.
	StateOps    *prometheus.CounterVec
	StateErrors *prometheus.CounterVec
	// BroadcastSent and BroadcastTotal are the running job's recipients
	// done so far and in all, by job kind.
	BroadcastSent  *prometheus.GaugeVec
	BroadcastTotal *prometheus.GaugeVec
	// BroadcastMessages counts broadcast recipients by job kind and outcome.
	BroadcastMessages *prometheus.CounterVec
	// Receipts counts what a platform reported of sent messages
	// (Viber's delivered, seen and failed callbacks), by channel and event.
	Receipts *prometheus.CounterVec
}

// New returns the collectors registered in a fresh registry, together with
// the Go runtime and process collectors (memory, CPU, goroutines).
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Updates: counterVec("updates_total",
			"Updates handled, by channel and kind (command, text, button, attachment).", "channel", "kind"),
		UpdateErrors: counterVec("update_errors_total",
			"Updates whose handling failed, by channel and kind.", "channel", "kind"),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "update_duration_seconds",
			Help:    "Time from receiving an update to having its replies, by channel and kind.",
			Buckets: LatencyBuckets,
		}, []string{"channel", "kind"}),
		RepliesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "replies_sent_total",
			Help: "Messages the chat platform accepted.",
		}),
		RepliesFailed: counterVec("replies_failed_total",
			"Failed delivery attempts, by reason (retry_after, blocked, temporary, other); a retried message may fail more than once.", "reason"),
		StateOps: counterVec("dialog_state_operations_total",
			"Dialog-state store operations, by operation.", "op"),
		StateErrors: counterVec("dialog_state_errors_total",
			"Dialog-state store operations that failed, by operation.", "op"),
		BroadcastSent: gaugeVec("broadcast_sent",
			"Recipients of the latest broadcast job of each kind already done.", "kind"),
		BroadcastTotal: gaugeVec("broadcast_recipients",
			"Recipients of the latest broadcast job of each kind in all.", "kind"),
		BroadcastMessages: counterVec("broadcast_messages_total",
			"Broadcast recipients handled, by job kind and outcome (sent, failed, blocked, pending for a retry).", "kind", "outcome"),
		Receipts: counterVec("receipts_total",
			"What the platform reported of sent messages (delivered, seen, failed), by channel and event.", "channel", "event"),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Updates, m.UpdateErrors, m.Latency, m.RepliesSent, m.RepliesFailed,
		m.StateOps, m.StateErrors, m.BroadcastSent, m.BroadcastTotal, m.BroadcastMessages, m.Receipts,
	)
	// Known label values start at zero, so that a rate over them exists
	// before the first failure does.
	for _, r := range []string{ReasonRetryAfter, ReasonBlocked, ReasonTemporary, ReasonOther} {
		m.RepliesFailed.WithLabelValues(r)
	}
	for _, op := range []string{OpUpdate, OpDelete} {
		m.StateOps.WithLabelValues(op)
		m.StateErrors.WithLabelValues(op)
	}
	return m
}

// Receipt counts one report of the platform on a sent message.
func (m *Metrics) Receipt(channel, event string) {
	m.Receipts.WithLabelValues(channel, event).Inc()
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
}

func gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Middleware counts every update by channel (the event's platform) and
// kind, counts failed ones, and observes how long the rest of the chain
// took. Put it outside the recover middleware so that a panic is measured
// as the apology it becomes.
func (m *Metrics) Middleware() bot.Middleware {
	return func(next bot.Handler) bot.Handler {
		return bot.HandlerFunc(func(ctx context.Context, ev bot.Event) ([]bot.Reply, error) {
			start := time.Now()
			replies, err := next.Handle(ctx, ev)
			channel, kind := ev.Platform, bot.KindOf(ev)
			m.Updates.WithLabelValues(channel, kind).Inc()
			m.Latency.WithLabelValues(channel, kind).Observe(time.Since(start).Seconds())
			if err != nil {
				m.UpdateErrors.WithLabelValues(channel, kind).Inc()
			}
			return replies, err
		})
	}
}

// SendReason names the kind of a delivery failure: ReasonRetryAfter,
// ReasonBlocked, ReasonTemporary or ReasonOther.
func SendReason(err error) string {
	var ra *bot.RetryAfterError
	var te *bot.TemporaryError
	switch {
	case errors.As(err, &ra):
		return ReasonRetryAfter
	case errors.Is(err, bot.ErrBlocked):
		return ReasonBlocked
	case errors.As(err, &te):
		return ReasonTemporary
	}
	return ReasonOther
}

// ObserveSend records one delivery attempt: a nil err counts a reply sent,
// any other a failure by its SendReason.
func (m *Metrics) ObserveSend(err error) {
	if err == nil {
		m.RepliesSent.Inc()
		return
	}
	m.RepliesFailed.WithLabelValues(SendReason(err)).Inc()
}

// Transport wraps a channel's transport so that every delivery attempt is
// recorded with ObserveSend. Give the wrapped transport to bot.NewSender:
// the Sender retries through it, so each retry is counted as it happens.
func (m *Metrics) Transport(t bot.Transport) bot.Transport {
	return transport{next: t, m: m}
}

type transport struct {
	next bot.Transport
	m    *Metrics
}

func (t transport) Deliver(ctx context.Context, out bot.Outgoing) error {
	err := t.next.Deliver(ctx, out)
	t.m.ObserveSend(err)
	return err
}

// Dialog-state operations, as the state counters label them.
const (
	OpUpdate = "update"
	OpDelete = "delete"
)

// ObserveStateOp records one dialog-state operation (OpUpdate, OpDelete or
// another short fixed name) and, when err is not nil, its failure.
func (m *Metrics) ObserveStateOp(op string, err error) {
	m.StateOps.WithLabelValues(op).Inc()
	if err != nil {
		m.StateErrors.WithLabelValues(op).Inc()
	}
}

// StateStore is the dialog-state store as the dialogs use it; it has the
// method set of dialogs.StateStore, so either converts to the other.
type StateStore interface {
	Update(ctx context.Context, chat string, fn func(state []byte) ([]byte, error)) error
	Delete(ctx context.Context, chat string) error
}

// StateStore wraps s so that every operation is recorded with
// ObserveStateOp. An error returned by the dialog's own function passes
// through Update unchanged and is not the store's failure, so it is not
// counted as one.
func (m *Metrics) StateStore(s StateStore) StateStore {
	return stateStore{next: s, m: m}
}

type stateStore struct {
	next StateStore
	m    *Metrics
}

func (s stateStore) Update(ctx context.Context, chat string, fn func(state []byte) ([]byte, error)) error {
	var fnErr error
	err := s.next.Update(ctx, chat, func(state []byte) ([]byte, error) {
		b, err := fn(state)
		fnErr = err
		return b, err
	})
	storeErr := err
	if err != nil && fnErr != nil && errors.Is(err, fnErr) {
		storeErr = nil
	}
	s.m.ObserveStateOp(OpUpdate, storeErr)
	return err
}

func (s stateStore) Delete(ctx context.Context, chat string) error {
	err := s.next.Delete(ctx, chat)
	s.m.ObserveStateOp(OpDelete, err)
	return err
}

// BroadcastProgress sets the progress of the running broadcast job of the
// kind (hromadabot.BroadcastReminder, BroadcastDigest,
// BroadcastAnnouncement): sent recipients are done out of total.
func (m *Metrics) BroadcastProgress(kind string, sent, total int) {
	m.BroadcastSent.WithLabelValues(kind).Set(float64(sent))
	m.BroadcastTotal.WithLabelValues(kind).Set(float64(total))
}

// BroadcastOutcome counts n recipients of a job of the kind that ended in
// outcome: a recipient state (hromadabot.RecipientSent, RecipientFailed,
// RecipientBlocked, or RecipientPending for one kept for a retry). Any
// other outcome is counted as failed, so that a label never grows unbounded.
func (m *Metrics) BroadcastOutcome(kind, outcome string, n int) {
	known := false
	for _, o := range broadcastOutcomes {
		known = known || o == outcome
	}
	if !known {
		outcome = hromadabot.RecipientFailed
	}
	m.BroadcastMessages.WithLabelValues(kind, outcome).Add(float64(n))
}
