package main

import (
	"math"
	"slices"
	"time"
)

// Pacer paces the injection of updates open-loop: the updates due by a
// moment depend on the time since the start and the rate alone, not on how
// fast the bot answers, so a slow bot meets the same offered load. A pause
// of the harness is made up at once rather than lost.
type Pacer struct {
	rate  float64
	start time.Time
	taken int64
}

// NewPacer returns a Pacer of rate updates per second from start.
func NewPacer(rate float64, start time.Time) *Pacer {
	return &Pacer{rate: rate, start: start}
}

// Due takes and returns the number of updates due by now and not taken yet.
func (p *Pacer) Due(now time.Time) int {
	want := int64(now.Sub(p.start).Seconds() * p.rate)
	if want <= p.taken {
		return 0
	}
	n := want - p.taken
	p.taken = want
	return int(n)
}

// Percentile returns the p-th percentile (0 < p <= 100) of ascending
// durations by the nearest-rank method: the smallest value with at least
// p percent of the values at or below it. It is 0 for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Latencies are the reply latencies of one step.
type Latencies []time.Duration

// Summary returns the 50th, 95th and 99th percentiles and the maximum.
func (l Latencies) Summary() (p50, p95, p99, maximum time.Duration) {
	s := slices.Clone(l)
	slices.Sort(s)
	if len(s) == 0 {
		return 0, 0, 0, 0
	}
	return Percentile(s, 50), Percentile(s, 95), Percentile(s, 99), s[len(s)-1]
}

// Sustained reports whether a step kept up with its offered load: at least
// 95% of it answered, no update timed out and under 1% of the answers were
// wrong.
func Sustained(offered, achieved float64, timeouts, failures, replies int) bool {
	return achieved >= 0.95*offered && timeouts == 0 && float64(failures) < 0.01*float64(max(replies, 1))
}
