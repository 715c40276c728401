package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// handlingMetric is the bot's histogram of the time its handler takes for
// an update, from the dialogs' start to their replies (package metrics).
// Read next to the reply latency, it tells time spent handling from time
// spent waiting to be fetched, queued for a worker or sent.
const handlingMetric = "hromadabot_update_duration_seconds"

// Histogram is a Prometheus histogram summed over its labels: the count of
// observations at or below each bucket's upper bound.
type Histogram map[float64]float64

// ParseHistogram reads the buckets of the histogram name from a /metrics
// page in the Prometheus text format, summing series of different labels.
func ParseHistogram(page io.Reader, name string) (Histogram, error) {
	h := Histogram{}
	sc := bufio.NewScanner(page)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prefix := name + "_bucket{"
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		labels, value, ok := strings.Cut(line[len(prefix):], "} ")
		if !ok {
			return nil, fmt.Errorf("metrics: %q: no value", line)
		}
		var le float64
		found := false
		for _, l := range strings.Split(labels, ",") {
			v, ok := strings.CutPrefix(l, `le="`)
			if !ok {
				continue
			}
			v = strings.TrimSuffix(v, `"`)
			var err error
			if le, err = strconv.ParseFloat(v, 64); err != nil {
				return nil, fmt.Errorf("metrics: %q: bucket bound: %w", line, err)
			}
			found = true
		}
		if !found {
			return nil, fmt.Errorf("metrics: %q: no le label", line)
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: %q: %w", line, err)
		}
		h[le] += n
	}
	return h, sc.Err()
}

// Percentile returns the upper bound of the bucket holding the p-th
// percentile of the observations made since before: the time within which
// p percent of them were handled. It is +Inf when they lie beyond the last
// finite bound and 0 when there were none.
func (h Histogram) Percentile(before Histogram, p float64) float64 {
	bounds := make([]float64, 0, len(h))
	for le := range h {
		bounds = append(bounds, le)
	}
	slices.Sort(bounds)
	if len(bounds) == 0 {
		return 0
	}
	total := h[bounds[len(bounds)-1]] - before[bounds[len(bounds)-1]]
	if total <= 0 {
		return 0
	}
	for _, le := range bounds {
		if h[le]-before[le] >= p/100*total {
			return le
		}
	}
	return math.Inf(1)
}

// scrapeHandling reads the bot's handling histogram from its /metrics; nil
// when it cannot.
func scrapeHandling(url string) Histogram {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	h, err := ParseHistogram(resp.Body, handlingMetric)
	if err != nil {
		return nil
	}
	return h
}

// scrapeGauge reads one unlabelled gauge from a /metrics page; -1 when it
// cannot.
func scrapeGauge(url, name string) float64 {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return f
			}
		}
	}
	return -1
}

// bound writes a bucket bound of h as "≤25ms", or beyond the largest.
func (h Histogram) bound(seconds float64) string {
	switch {
	case seconds <= 0:
		return "-"
	case math.IsInf(seconds, 1):
		last := 0.0
		for le := range h {
			if !math.IsInf(le, 1) {
				last = max(last, le)
			}
		}
		return ">" + strconv.FormatFloat(last*1000, 'f', -1, 64) + "ms"
	}
	return "≤" + strconv.FormatFloat(seconds*1000, 'f', -1, 64) + "ms"
}
