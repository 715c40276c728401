package main_test

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	main "github.com/hromadabot/hromadabot/cmd/loadtest"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"EmptyIsZero", nil, 99, 0},
		{"OneValue", ms(7), 50, 7 * time.Millisecond},
		{"MedianOfFour", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"P99OfHundred", ms(hundred...), 99, 99 * time.Millisecond},
		{"P95OfHundred", ms(hundred...), 95, 95 * time.Millisecond},
		{"P100IsMax", ms(1, 2, 3), 100, 3 * time.Millisecond},
		{"TinyPIsMin", ms(1, 2, 3), 0.001, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := main.Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestLatenciesSummary(t *testing.T) {
	var l main.Latencies
	for i := 100; i >= 1; i-- {
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	p50, p95, p99, maximum := l.Summary()
	if p50 != 50*time.Millisecond || p95 != 95*time.Millisecond || p99 != 99*time.Millisecond || maximum != 100*time.Millisecond {
		t.Errorf("Summary of 1..100ms unsorted = %v %v %v %v", p50, p95, p99, maximum)
	}
	if l[0] != 100*time.Millisecond {
		t.Error("Summary sorted the latencies in place")
	}
}

// TestPacer: updates are due by the clock alone (open loop), a late look
// gets all that came due meanwhile, and none is due twice.
func TestPacer(t *testing.T) {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		name  string
		after time.Duration
		want  int
	}{
		{"NoneAtStart", 0, 0},
		{"OneAfterFirstInterval", 250 * time.Microsecond, 1},
		{"NoneTwice", 250 * time.Microsecond, 0},
		{"FourPerMillisecond", 1250 * time.Microsecond, 4},
		{"PauseMadeUp", 101250 * time.Microsecond, 400},
		{"ClockBackwardsGivesNone", 50 * time.Millisecond, 0},
	}
	p := main.NewPacer(4000, start)
	total := 0
	for _, s := range steps {
		got := p.Due(start.Add(s.after))
		if got != s.want {
			t.Errorf("%s: Due at +%v = %d, want %d", s.name, s.after, got, s.want)
		}
		total += got
	}
	if total != 405 {
		t.Errorf("%d updates due in all by +101.25ms at 4000/s, want 405", total)
	}
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name      string
		stat      string
		user, sys time.Duration
		err       string
	}{
		{"OK", "20341 (hromadabot) S 1 20339 5043 0 -1 4194304 100 0 0 0 1234 56 0 0 20 0 17 0 435567 3133440 385 0",
			12340 * time.Millisecond, 560 * time.Millisecond, ""},
		{"OKCommandWithSpacesAndParentheses", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 1 1 0",
			30 * time.Millisecond, 40 * time.Millisecond, ""},
		{"ErrNoCommand", "7 a R 1", 0, 0, "no command name"},
		{"ErrShort", "7 (a) R 1 7", 0, 0, "fields after the command name"},
		{"ErrNotNumber", "7 (a) R 1 7 7 0 -1 0 0 0 0 0 x 4 0", 0, 0, "utime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, sys, err := main.ParseProcStat(tt.stat)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one about %q", err, tt.err)
				}
				return
			}
			if err != nil || user != tt.user || sys != tt.sys {
				t.Errorf("ParseProcStat = %v, %v, %v; want %v, %v", user, sys, err, tt.user, tt.sys)
			}
		})
	}
}

func TestParseProcStatus(t *testing.T) {
	const status = "Name:\thromadabot\nVmPeak:\t 1300000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   65536 kB\nThreads:\t12\n"
	tests := []struct {
		name   string
		status string
		field  string
		want   int64
		err    string
	}{
		{"OKRSS", status, "VmRSS", 64 << 20, ""},
		{"OKPeak", status, "VmHWM", 80 << 20, ""},
		{"ErrMissing", status, "VmSwap", 0, "no VmSwap"},
		{"ErrUnit", "VmRSS:\t12 MB\n", "VmRSS", 0, "unit"},
		{"ErrNumber", "VmRSS:\tmany kB\n", "VmRSS", 0, "VmRSS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := main.ParseProcStatus(tt.status, tt.field)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one about %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseProcStatus(%s) = %d, %v; want %d", tt.field, got, err, tt.want)
			}
		})
	}
}

// TestHistogram reads the bot's handling-latency histogram from two
// scrapes and finds the bucket of a percentile of what happened between.
func TestHistogram(t *testing.T) {
	page := func(command, button [4]int) string {
		var b strings.Builder
		b.WriteString("# HELP hromadabot_update_duration_seconds Time from receiving an update to having its replies.\n")
		b.WriteString("# TYPE hromadabot_update_duration_seconds histogram\n")
		for kind, counts := range map[string][4]int{"command": command, "button": button} {
			for i, le := range []string{"0.005", "0.025", "0.1", "+Inf"} {
				b.WriteString(`hromadabot_update_duration_seconds_bucket{channel="telegram",kind="` + kind + `",le="` + le + `"} `)
				b.WriteString(strconv.Itoa(counts[i]) + "\n")
			}
		}
		b.WriteString("hromadabot_update_duration_seconds_count{channel=\"telegram\",kind=\"command\"} 1\n")
		b.WriteString("hromadabot_updates_total{channel=\"telegram\",kind=\"command\"} 1\n")
		return b.String()
	}
	before, err := main.ParseHistogram(strings.NewReader(page([4]int{10, 10, 10, 10}, [4]int{0, 0, 0, 0})), "hromadabot_update_duration_seconds")
	if err != nil {
		t.Fatal(err)
	}
	if before[0.005] != 10 || before[math.Inf(1)] != 10 || len(before) != 4 {
		t.Fatalf("parsed %v", before)
	}
	// Between the scrapes: 90 commands within 5ms, 8 buttons within 25ms,
	// 2 buttons over 100ms.
	after, err := main.ParseHistogram(strings.NewReader(page([4]int{100, 100, 100, 100}, [4]int{0, 8, 8, 10})), "hromadabot_update_duration_seconds")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    float64
		want float64
	}{
		{"P50InFirstBucket", 50, 0.005},
		{"P90InFirstBucket", 90, 0.005},
		{"P95InSecondBucket", 95, 0.025},
		{"P99BeyondLastBound", 99, math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := after.Percentile(before, tt.p); got != tt.want {
				t.Errorf("p%v = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
	if got := after.Percentile(after, 99); got != 0 {
		t.Errorf("p99 of nothing = %v, want 0", got)
	}
	if _, err := main.ParseHistogram(strings.NewReader("hromadabot_update_duration_seconds_bucket{le=\"x\"} 1\n"), "hromadabot_update_duration_seconds"); err == nil {
		t.Error("a bucket bound that is not a number was taken")
	}
}

func TestSustained(t *testing.T) {
	tests := []struct {
		name               string
		offered, achieved  float64
		timeouts, failures int
		replies            int
		want               bool
	}{
		{"OKAllAnswered", 1000, 1000, 0, 0, 10000, true},
		{"OKJustEnough", 1000, 950, 0, 99, 10000, true},
		{"TooFewAnswered", 1000, 949, 0, 0, 9490, false},
		{"ATimeout", 1000, 1000, 1, 0, 10000, false},
		{"TooManyWrong", 1000, 1000, 0, 100, 10000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := main.Sustained(tt.offered, tt.achieved, tt.timeouts, tt.failures, tt.replies); got != tt.want {
				t.Errorf("Sustained = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseSteps(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []float64
		err  string
	}{
		{"OK", "500, 1000,2000", []float64{500, 1000, 2000}, ""},
		{"OKOne", "3000", []float64{3000}, ""},
		{"ErrNotNumber", "500,fast", nil, `"fast" is not a positive number`},
		{"ErrZero", "0", nil, "not a positive number"},
		{"ErrFalling", "1000,500", nil, "steps must rise"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := main.ParseSteps(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("ParseSteps(%q) = %v, %v", tt.in, got, err)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("ParseSteps(%q) = %v, want %v", tt.in, got, tt.want)
				}
			}
		})
	}
}
