package hromadabot

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
)

// Unit is how an indicator is measured.
type Unit string

// The two units of the seed plan: percent of completion ("%") and yes/no ("Так/Ні").
const (
	UnitPercent Unit = "percent"
	UnitYesNo   Unit = "yesno"
)

// Valid reports whether u is a known unit.
func (u Unit) Valid() bool { return u == UnitPercent || u == UnitYesNo }

// Language codes the bot speaks; Ukrainian is the default everywhere.
const (
	LangUK = "uk"
	LangEN = "en"
)

// Text is a string in Ukrainian with an optional English translation.
type Text struct {
	UK string `json:"uk"`
	EN string `json:"en,omitempty"`
}

// In returns the text in lang, falling back to Ukrainian when there is no
// translation.
func (t Text) In(lang string) string {
	if lang == LangEN && t.EN != "" {
		return t.EN
	}
	return t.UK
}

// Targets maps a year to that year's target. For a percent indicator the
// value is the year's share of the work in percent (the shares of all years
// add up to 100); for a yes/no indicator it is 1 for "Так" and 0 for "Ні".
// A year missing from the map is the plan's "-": no share that year.
type Targets map[int]float64

// Years returns the target years in ascending order.
func (t Targets) Years() []int {
	years := make([]int, 0, len(t))
	for y := range t {
		years = append(years, y)
	}
	sort.Ints(years)
	return years
}

// MarshalJSON writes the years as string keys in ascending order.
func (t Targets) MarshalJSON() ([]byte, error) {
	m := make(map[string]float64, len(t))
	for y, v := range t {
		m[strconv.Itoa(y)] = v
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads years written as string keys.
func (t *Targets) UnmarshalJSON(b []byte) error {
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*t = make(Targets, len(m))
	for k, v := range m {
		y, err := strconv.Atoi(k)
		if err != nil {
			return fmt.Errorf("target year %q: %w", k, err)
		}
		(*t)[y] = v
	}
	return nil
}

// Indicator is one line of a community's digital-transformation plan.
type Indicator struct {
	// ID is the line's number in the plan, 1..23 in the seed plan.
	ID int `json:"id"`
	// Short is a title of at most MaxShortTitle characters, for buttons.
	Short       Text `json:"short"`
	Title       Text `json:"title"`
	Description Text `json:"description"`
	Unit        Unit `json:"unit"`
	// Baseline is the completion (0..1) before any report.
	Baseline float64 `json:"baseline"`
	Targets  Targets `json:"targets"`
	// Weight is the indicator's weight in the index; 1 unless a plan says otherwise.
	Weight float64 `json:"weight"`
}

// MaxShortTitle is the longest short title, in characters, that fits a chat button.
const MaxShortTitle = 32

// Validate reports the first problem with the indicator, as an EINVALID error.
func (ind *Indicator) Validate() error {
	switch {
	case ind.ID <= 0:
		return FieldErrorf("indicator", "indicator_invalid", "indicator id must be a positive number, got %d", ind.ID)
	case ind.Title.UK == "":
		return FieldErrorf("title", "indicator_invalid", "indicator %d: title is required", ind.ID)
	case len([]rune(ind.Short.UK)) > MaxShortTitle || len([]rune(ind.Short.EN)) > MaxShortTitle:
		return FieldErrorf("short", "indicator_invalid", "indicator %d: short title is longer than %d characters", ind.ID, MaxShortTitle)
	case !ind.Unit.Valid():
		return FieldErrorf("unit", "indicator_invalid", "indicator %d: unit must be percent or yesno, got %q", ind.ID, ind.Unit)
	case ind.Weight < 0:
		return FieldErrorf("weight", "indicator_invalid", "indicator %d: weight must not be negative", ind.ID)
	case ind.Baseline < 0 || ind.Baseline > 1:
		return FieldErrorf("baseline", "indicator_invalid", "indicator %d: baseline must be between 0 and 1", ind.ID)
	}
	return ind.Targets.validate(ind.ID, ind.Unit)
}

func (t Targets) validate(id int, unit Unit) error {
	for y, v := range t {
		if y < 2000 || y > 2100 {
			return FieldErrorf("year", "target_invalid", "indicator %d: target year %d is out of range", id, y)
		}
		switch unit {
		case UnitPercent:
			if v < 0 || v > 100 {
				return FieldErrorf("target", "target_invalid", "indicator %d: target share for %d must be between 0 and 100, got %g", id, y, v)
			}
		case UnitYesNo:
			if v != 0 && v != 1 {
				return FieldErrorf("target", "target_invalid", "indicator %d: yes/no target for %d must be yes or no", id, y)
			}
		}
	}
	return nil
}

// Plan is the ordered list of a community's indicators.
type Plan struct {
	Indicators []Indicator `json:"indicators"`
}

// Indicator returns the indicator with the given id.
func (p *Plan) Indicator(id int) (*Indicator, bool) {
	for i := range p.Indicators {
		if p.Indicators[i].ID == id {
			return &p.Indicators[i], true
		}
	}
	return nil, false
}

// Validate checks every indicator and that ids are unique.
func (p *Plan) Validate() error {
	if len(p.Indicators) == 0 {
		return Errorf(EINVALID, "plan_empty", "plan has no indicators")
	}
	seen := make(map[int]bool, len(p.Indicators))
	for i := range p.Indicators {
		if err := p.Indicators[i].Validate(); err != nil {
			return err
		}
		if seen[p.Indicators[i].ID] {
			return Errorf(EINVALID, "indicator_duplicate", "indicator %d appears twice in the plan", p.Indicators[i].ID)
		}
		seen[p.Indicators[i].ID] = true
	}
	return nil
}

// Clone returns a deep copy, so that a community's own targets never alter
// the shared default plan.
func (p Plan) Clone() Plan {
	out := Plan{Indicators: slices.Clone(p.Indicators)}
	for i := range out.Indicators {
		t := make(Targets, len(out.Indicators[i].Targets))
		for y, v := range out.Indicators[i].Targets {
			t[y] = v
		}
		out.Indicators[i].Targets = t
	}
	return out
}

// WithTargets returns a copy of the plan in which the given indicators'
// targets (and, when non-zero, weights) are replaced: a community's own plan.
func (p Plan) WithTargets(own map[int]Targets) Plan {
	out := p.Clone()
	for i := range out.Indicators {
		if t, ok := own[out.Indicators[i].ID]; ok {
			out.Indicators[i].Targets = t
		}
	}
	return out
}

//go:embed data/plan.json
var defaultPlanJSON []byte

// DefaultPlan returns the seed plan of 23 indicators with targets for
// 2025–2027, as transcribed into data/plan.json. Each call returns a fresh copy.
func DefaultPlan() Plan {
	var doc struct {
		Indicators []Indicator `json:"indicators"`
	}
	if err := json.Unmarshal(defaultPlanJSON, &doc); err != nil {
		panic(fmt.Sprintf("embedded plan.json: %v", err)) // a build-time mistake, caught by tests
	}
	return Plan{Indicators: doc.Indicators}
}
