package main

import (
	"context"
	"errors"
	"io"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// ParseSteps is parseSteps, for the tests.
var ParseSteps = parseSteps

// EchoBot and NextEchoState are the echo bot's, for the tests.
var (
	EchoBot       = echoBot
	NextEchoState = nextEchoState
)

// StateStore is the echo bot's dialog state store.
type StateStore = stateStore

// WriteOnlyStates is the echo bot's state store that only writes.
func WriteOnlyStates(client goredis.UniversalClient, prefix string) StateStore {
	return writeOnlyStates{client: client, prefix: prefix}
}

// EchoStateFlag is the -echo-state that args come to.
func EchoStateFlag(args ...string) (string, error) {
	o, err := parseFlags(args, func(string) string { return "" }, io.Discard)
	return o.echoState, err
}

// ViberID, PathsOf and HasButton are the Viber mode's, for the tests.
var (
	ViberID   = viberID
	PathsOf   = pathsOf
	HasButton = hasButton
)

// ChannelFlags are the -channel and -viber-conns that args come to.
func ChannelFlags(args ...string) (string, int, error) {
	o, err := parseFlags(args, func(string) string { return "" }, io.Discard)
	return o.channel, o.viberConns, err
}

// Steps makes steps of (offered, answered) pairs, each answered without
// failures or timeouts.
func Steps(pairs ...[2]float64) []*step {
	var out []*step
	for _, p := range pairs {
		out = append(out, &step{offered: p[0], answered: p[1], t: &tally{replies: int(p[1])}})
	}
	return out
}

// Compare is compare's ratio and bothKeptUp.
func Compare(telegram, viber []*step, offered int) (float64, bool) {
	c := compare(telegram, viber, offered)
	return c.ratio, c.bothKeptUp
}

// StepAt is the offered rate of stepAt's step, 0 for none.
func StepAt(steps []*step, rate float64) float64 {
	if s := stepAt(steps, rate); s != nil {
		return s.offered
	}
	return 0
}

// SiteRef, Scheduled and Thousands are the site mode's, for the tests.
var (
	SiteRef   = siteRef
	Scheduled = scheduled
	Thousands = thousands
)

// SiteFlags are the site mode's flags that args come to.
func SiteFlags(args ...string) (scale string, conns int, rate float64, openConns int, err error) {
	o, err := parseFlags(args, func(string) string { return "" }, io.Discard)
	return o.siteScale.Name, o.siteConns, o.siteRate, o.siteOpenConns, err
}

// Hit is one request's outcome, for a Tally.
type Hit struct {
	Status     int // 0: no answer
	Bytes      int64
	Gzip, ETag bool
}

// TallyOf sums hits up as a step does and returns its errors, their
// description, the mean bytes of a 200 and the shares of them gzipped and
// with an ETag.
func TallyOf(hits ...Hit) (errs int, describe string, perResponse float64, gzipped, tagged string) {
	t := &siteTally{}
	for _, h := range hits {
		var err error
		if h.Status == 0 {
			err = errors.New("connection refused")
		}
		t.add(hit{status: h.Status, bytes: h.Bytes, gzip: h.Gzip, etag: h.ETag, err: err})
	}
	return t.errors(), t.describe(), t.perResponse(), t.share(t.gzipped), t.share(t.tagged)
}

// CheckServed is checkServed with a client of its own.
func CheckServed(ctx context.Context, base string, paths ...string) error {
	var ps []*pages
	for _, p := range paths {
		ps = append(ps, newPages(p))
	}
	return checkServed(ctx, siteClient(1, 5*time.Second), base, ps...)
}

// LoopResult is what a loop of the site mode counted.
type LoopResult struct {
	Requests, OK, Errors, Unsent, InStep int
	// First and Again are the first and later visits to a path.
	First, Again int
	PerResponse  float64
	Gzipped      string
	Lats         Latencies
}

func loopResult(t *siteTally) LoopResult {
	return LoopResult{Requests: len(t.lat), OK: t.ok, Errors: t.errors(), Unsent: t.unsent, InStep: t.inStep,
		First: len(t.first), Again: len(t.again), PerResponse: t.perResponse(), Gzipped: t.share(t.gzipped), Lats: t.lat}
}

// SiteClosedLoop is siteClosedLoop on a client of conns connections.
func SiteClosedLoop(ctx context.Context, base string, paths []string, conns int, d time.Duration) LoopResult {
	c := siteClient(conns, 5*time.Second)
	defer c.CloseIdleConnections()
	t, _ := siteClosedLoop(ctx, c, base, newPages(paths...), conns, d)
	return loopResult(t)
}

// SiteOpenLoop is siteOpenLoop on a client of conns connections.
func SiteOpenLoop(ctx context.Context, base string, paths []string, rate float64, d time.Duration, conns int, drain time.Duration) LoopResult {
	c := siteClient(conns, 5*time.Second)
	defer c.CloseIdleConnections()
	return loopResult(siteOpenLoop(ctx, c, base, newPages(paths...), rate, d, conns, drain))
}

// SiteStep is a step of the site mode: closed loop of 16 clients when
// offered is 0, else open loop.
type SiteStep struct {
	Class         string
	Offered, Rate float64
	P99           time.Duration
	Errors        int
	RSS           int64
}

// Target is a target as judged.
type Target struct {
	What   string
	Met    bool
	Figure string
}

// SiteTargets judges the site's targets of steps, offered at rate, with
// the bot's memory once ready, the baseline bot's and the bot's at rest
// after the steps.
func SiteTargets(rate float64, ready, baseline, rested int64, steps ...SiteStep) []Target {
	r := &siteResult{ready: ready, baseline: baseline, rested: rested}
	for _, s := range steps {
		t := &siteTally{ok: int(s.Rate)}
		if s.Errors > 0 {
			t.statuses = map[int]int{500: s.Errors}
		}
		r.steps = append(r.steps, &siteStep{class: s.Class, conns: 16, offered: s.Offered, rate: s.Rate, p99: s.P99, t: t, rss: s.RSS})
	}
	var out []Target
	for _, t := range siteTargets(options{siteRate: rate}, r) {
		out = append(out, Target{t.what, t.met, t.figure})
	}
	return out
}
