package hromadabot

import (
	"math"
	"time"
	_ "time/tzdata" // the current year is Kyiv's, also in images without zoneinfo
)

// Status is where an indicator stands against its cumulative target.
type Status string

// The four statuses of the methodology (docs/methodology.md).
const (
	StatusDone       Status = "done"
	StatusOnTrack    Status = "on_track"
	StatusBehind     Status = "behind"
	StatusNotStarted Status = "not_started"
)

// Statuses lists the statuses in the order the bot shows them.
var Statuses = []Status{StatusDone, StatusOnTrack, StatusBehind, StatusNotStarted}

// epsilon absorbs float noise from decimal shares such as 33,3 + 33,3 + 33,4,
// so that a value equal to its target on paper is equal in code too.
const epsilon = 1e-9

// Kyiv is the time zone that decides the current year and the week.
var Kyiv = mustLoadLocation("Europe/Kyiv")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded, so this cannot fail
	}
	return loc
}

// CurrentYear returns the year in Europe/Kyiv at t.
func CurrentYear(t time.Time) int {
	return t.In(Kyiv).Year()
}

// Completion turns a reported value into completion in [0, 1]: v/100 for a
// percent indicator, 1 for "yes" and 0 for "no".
func (ind *Indicator) Completion(value float64) float64 {
	if ind.Unit == UnitYesNo {
		if value >= 0.5 {
			return 1
		}
		return 0
	}
	return clamp01(value / 100)
}

// CumulativeTarget returns T(year), the completion the plan expects by the
// end of year. For a percent indicator it is the sum of the yearly shares up
// to the year, divided by 100 and capped at 1 (0 before the first target
// year, the final value after the last). For a yes/no indicator it is 1 when
// the target of the year or of an earlier year is "Так".
func (ind *Indicator) CumulativeTarget(year int) float64 {
	var sum float64
	for y, v := range ind.Targets {
		if y > year {
			continue
		}
		if ind.Unit == UnitYesNo {
			if v >= 0.5 {
				return 1
			}
			continue
		}
		sum += v
	}
	if ind.Unit == UnitYesNo {
		return 0
	}
	return clamp01(roundTo(sum/100, 1e-9))
}

// StatusOf classifies completion c against the cumulative target t.
func StatusOf(c, t float64) Status {
	switch {
	case c >= 1-epsilon:
		return StatusDone
	case c >= t-epsilon && (c > epsilon || t <= epsilon):
		return StatusOnTrack
	case c > epsilon:
		return StatusBehind
	default:
		return StatusNotStarted
	}
}

// IndicatorScore is one indicator's standing in a community's score.
type IndicatorScore struct {
	ID     int     `json:"id"`
	Weight float64 `json:"weight"`
	// Value is the latest reported value (percent, or 1/0 for yes/no); nil
	// when nothing has been reported and the baseline applies.
	Value      *float64 `json:"value"`
	Completion float64  `json:"completion"`
	Target     float64  `json:"target"`
	Status     Status   `json:"status"`
}

// Score is a community's digital index and plan fulfilment for one year.
type Score struct {
	Year int `json:"year"`
	// Index is 100 × Σ wᵢcᵢ / Σ wᵢ, in [0, 100].
	Index float64 `json:"index"`
	// PlanFulfillment is 100 × Σ wᵢ·min(cᵢ, Tᵢ) / Σ wᵢTᵢ, or 100 when nothing is due.
	PlanFulfillment float64          `json:"plan_fulfillment"`
	Indicators      []IndicatorScore `json:"indicators"`
}

// Count returns how many indicators have status s.
func (s *Score) Count(st Status) int {
	n := 0
	for _, is := range s.Indicators {
		if is.Status == st {
			n++
		}
	}
	return n
}

// Indicator returns the score line of indicator id.
func (s *Score) Indicator(id int) (IndicatorScore, bool) {
	for _, is := range s.Indicators {
		if is.ID == id {
			return is, true
		}
	}
	return IndicatorScore{}, false
}

// ComputeScore applies the methodology to a plan and the latest reported
// values (indicator id → value) for the given year. Indicators without a
// value take their baseline; values for indicators outside the plan are ignored.
func ComputeScore(plan *Plan, latest map[int]float64, year int) Score {
	score := Score{Year: year, Indicators: make([]IndicatorScore, 0, len(plan.Indicators))}
	// The reported values live in one array rather than one allocation
	// each: a ranking scores every community.
	values := make([]float64, len(plan.Indicators))
	var wSum, wcSum, wtSum, wMinSum float64
	for i := range plan.Indicators {
		ind := &plan.Indicators[i]
		is := IndicatorScore{ID: ind.ID, Weight: ind.Weight, Completion: ind.Baseline, Target: ind.CumulativeTarget(year)}
		if v, ok := latest[ind.ID]; ok {
			values[i] = v
			is.Value = &values[i]
			is.Completion = ind.Completion(v)
		}
		is.Status = StatusOf(is.Completion, is.Target)
		score.Indicators = append(score.Indicators, is)

		wSum += ind.Weight
		wcSum += ind.Weight * is.Completion
		wtSum += ind.Weight * is.Target
		wMinSum += ind.Weight * math.Min(is.Completion, is.Target)
	}
	if wSum > 0 {
		score.Index = roundTo(100*wcSum/wSum, 1e-9)
	}
	score.PlanFulfillment = 100
	if wtSum > epsilon {
		score.PlanFulfillment = roundTo(100*wMinSum/wtSum, 1e-9)
	}
	return score
}

func clamp01(x float64) float64 {
	return math.Max(0, math.Min(1, x))
}

// roundTo rounds x to a multiple of unit, a power of ten. It divides by
// the unit's inverse, an exact integer, so that the result is the float
// nearest the decimal (66.6, not the 66.60000000000001 that multiplying by
// 1e-9 gives).
func roundTo(x, unit float64) float64 {
	inv := math.Round(1 / unit)
	return math.Round(x*inv) / inv
}
