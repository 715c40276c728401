package hromadabot_test

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestDefaultPlan(t *testing.T) {
	plan := hromadabot.DefaultPlan()
	if err := plan.Validate(); err != nil {
		t.Fatalf("default plan is invalid: %v", err)
	}
	if got := len(plan.Indicators); got != 23 {
		t.Fatalf("default plan has %d indicators, want 23", got)
	}
	percent, yesno := 0, 0
	for _, ind := range plan.Indicators {
		switch ind.Unit {
		case hromadabot.UnitPercent:
			percent++
			// The seed's yearly shares of every percent indicator add up to 100.
			if got := ind.CumulativeTarget(2027); !near(got, 1) {
				t.Errorf("indicator %d: T(2027) = %v, want 1", ind.ID, got)
			}
		case hromadabot.UnitYesNo:
			yesno++
		}
		if ind.Short.EN == "" || ind.Title.EN == "" {
			t.Errorf("indicator %d has no English title", ind.ID)
		}
	}
	if percent != 16 || yesno != 7 {
		t.Errorf("units: %d percent and %d yes/no, want 16 and 7", percent, yesno)
	}
}

func TestCumulativeTarget(t *testing.T) {
	plan := hromadabot.DefaultPlan()
	tests := []struct {
		name      string
		indicator int
		year      int
		want      float64
	}{
		{"BeforeFirstYear", 1, 2024, 0},
		{"FirstShare", 1, 2025, 0.333},
		{"TwoShares", 1, 2026, 0.666},
		{"AllShares", 1, 2027, 1},
		{"AfterLastYear", 1, 2030, 1},
		{"QuarterShares", 4, 2026, 0.6875},
		{"ZeroLastShare", 9, 2025, 0.429},
		{"ZeroLastShareSecondYear", 9, 2026, 1},
		{"ZeroLastShareThirdYear", 9, 2027, 1},
		{"DashLastYear", 18, 2026, 1},
		{"DashLastYearFinal", 18, 2027, 1},
		{"DashLastYearFirst", 18, 2025, 0.886},
		{"YesNoBefore", 11, 2024, 0},
		{"YesNoDue", 11, 2025, 1},
		{"YesNoLater", 11, 2027, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ind, ok := plan.Indicator(tt.indicator)
			if !ok {
				t.Fatalf("indicator %d missing", tt.indicator)
			}
			if got := ind.CumulativeTarget(tt.year); !near(got, tt.want) {
				t.Errorf("T(%d) of indicator %d = %v, want %v", tt.year, tt.indicator, got, tt.want)
			}
		})
	}
}

func TestCumulativeTargetCustom(t *testing.T) {
	tests := []struct {
		name    string
		unit    hromadabot.Unit
		targets hromadabot.Targets
		year    int
		want    float64
	}{
		{"GapYear", hromadabot.UnitPercent, hromadabot.Targets{2025: 40, 2027: 60}, 2026, 0.4},
		{"CappedAtOne", hromadabot.UnitPercent, hromadabot.Targets{2025: 80, 2026: 80}, 2026, 1},
		{"NoTargets", hromadabot.UnitPercent, nil, 2026, 0},
		{"YesNoLateYes", hromadabot.UnitYesNo, hromadabot.Targets{2025: 0, 2026: 1}, 2025, 0},
		{"YesNoLateYesDue", hromadabot.UnitYesNo, hromadabot.Targets{2025: 0, 2026: 1}, 2026, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ind := hromadabot.Indicator{ID: 1, Unit: tt.unit, Targets: tt.targets, Weight: 1}
			if got := ind.CumulativeTarget(tt.year); !near(got, tt.want) {
				t.Errorf("T(%d) = %v, want %v", tt.year, got, tt.want)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		name string
		c, t float64
		want hromadabot.Status
	}{
		{"Done", 1, 0.5, hromadabot.StatusDone},
		{"DoneWithoutTarget", 1, 0, hromadabot.StatusDone},
		{"OnTrackExact", 0.333, 0.333, hromadabot.StatusOnTrack},
		{"OnTrackAhead", 0.7, 0.333, hromadabot.StatusOnTrack},
		{"OnTrackNothingDue", 0, 0, hromadabot.StatusOnTrack},
		{"Behind", 0.2, 0.333, hromadabot.StatusBehind},
		{"NotStarted", 0, 0.333, hromadabot.StatusNotStarted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hromadabot.StatusOf(tt.c, tt.t); got != tt.want {
				t.Errorf("StatusOf(%v, %v) = %s, want %s", tt.c, tt.t, got, tt.want)
			}
		})
	}
}

// TestComputeScoreWorkedExample is the worked example of docs/methodology.md,
// computed by hand there.
func TestComputeScoreWorkedExample(t *testing.T) {
	plan := hromadabot.Plan{Indicators: []hromadabot.Indicator{
		{ID: 1, Unit: hromadabot.UnitPercent, Weight: 1, Targets: hromadabot.Targets{2025: 33.3, 2026: 33.3, 2027: 33.4}},
		{ID: 9, Unit: hromadabot.UnitPercent, Weight: 1, Targets: hromadabot.Targets{2025: 42.9, 2026: 57.1, 2027: 0}},
		{ID: 11, Unit: hromadabot.UnitYesNo, Weight: 1, Targets: hromadabot.Targets{2025: 1, 2026: 1, 2027: 1}},
		{ID: 18, Unit: hromadabot.UnitPercent, Weight: 1, Targets: hromadabot.Targets{2025: 88.6, 2026: 11.4}},
	}}
	// Indicator 1 at 50 %, 9 at 100 %, 11 "Ні", 18 not reported.
	latest := map[int]float64{1: 50, 9: 100, 11: 0}
	score := hromadabot.ComputeScore(&plan, latest, 2026)

	// c = 0.5, 1, 0, 0 → index = 100 × 1.5 / 4 = 37.5
	if !near(score.Index, 37.5) {
		t.Errorf("index = %v, want 37.5", score.Index)
	}
	// T(2026) = 0.666, 1, 1, 1; min(c,T) = 0.5, 1, 0, 0 → 100 × 1.5 / 3.666 = 40.9165…
	if want := 100 * 1.5 / 3.666; !near(score.PlanFulfillment, want) {
		t.Errorf("plan fulfilment = %v, want %v", score.PlanFulfillment, want)
	}
	wantStatus := map[int]hromadabot.Status{1: hromadabot.StatusBehind, 9: hromadabot.StatusDone, 11: hromadabot.StatusNotStarted, 18: hromadabot.StatusNotStarted}
	for _, is := range score.Indicators {
		if is.Status != wantStatus[is.ID] {
			t.Errorf("indicator %d status = %s, want %s", is.ID, is.Status, wantStatus[is.ID])
		}
	}
	if is, _ := score.Indicator(18); is.Value != nil {
		t.Errorf("indicator 18 has value %v, want none (baseline)", *is.Value)
	}
	if got := score.Count(hromadabot.StatusNotStarted); got != 2 {
		t.Errorf("not started = %d, want 2", got)
	}
}

func TestComputeScoreWeightsAndEdges(t *testing.T) {
	plan := hromadabot.Plan{Indicators: []hromadabot.Indicator{
		{ID: 1, Unit: hromadabot.UnitPercent, Weight: 3, Targets: hromadabot.Targets{2025: 50, 2026: 50}},
		{ID: 2, Unit: hromadabot.UnitYesNo, Weight: 1, Targets: hromadabot.Targets{2026: 1}},
	}}
	tests := []struct {
		name            string
		latest          map[int]float64
		year            int
		wantIndex       float64
		wantFulfillment float64
	}{
		{"NothingReportedNothingDue", nil, 2024, 0, 100},
		{"NothingReported", nil, 2025, 0, 0},
		// (3×0.8 + 1×1) / 4 = 0.85; due 3×0.5 = 1.5, achieved 3×0.5 → 100
		{"AheadOfPlan", map[int]float64{1: 80, 2: 1}, 2025, 85, 100},
		// due 3×1 + 1×1 = 4; achieved 3×0.8 + 0 = 2.4 → 60
		{"WeightedFulfillment", map[int]float64{1: 80, 2: 0}, 2026, 60, 60},
		{"UnknownIndicatorIgnored", map[int]float64{99: 100}, 2026, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hromadabot.ComputeScore(&plan, tt.latest, tt.year)
			if !near(s.Index, tt.wantIndex) || !near(s.PlanFulfillment, tt.wantFulfillment) {
				t.Errorf("index, fulfilment = %v, %v; want %v, %v", s.Index, s.PlanFulfillment, tt.wantIndex, tt.wantFulfillment)
			}
		})
	}
}

func TestRank(t *testing.T) {
	entries := []hromadabot.RankEntry{
		{CommunityID: 1, Name: "Яготинська", Index: 50},
		{CommunityID: 2, Name: "Іршавська", Index: 70},
		{CommunityID: 3, Name: "Бучанська", Index: 70},
		{CommunityID: 4, Name: "Ємільчинська", Index: 80},
		{CommunityID: 5, Name: "Авангардівська", Index: 10},
	}
	r := hromadabot.Rank(entries)
	want := []struct {
		id   int64
		rank int
	}{{4, 1}, {3, 2}, {2, 2}, {1, 4}, {5, 5}}
	for i, w := range want {
		if r[i].CommunityID != w.id || r[i].Rank != w.rank {
			t.Errorf("position %d: community %d rank %d, want community %d rank %d", i, r[i].CommunityID, r[i].Rank, w.id, w.rank)
		}
	}
}

func TestCompareUkrainian(t *testing.T) {
	// Unicode puts І, Ї, Є and Ґ before А; the alphabet does not.
	ordered := []string{"Авангардівська", "Гніванська", "Ґалаганівська", "Житомирська", "Іванківська", "Їжакевичівська", "Йосипівська", "Яготинська"}
	for i := 1; i < len(ordered); i++ {
		if hromadabot.CompareUkrainian(ordered[i-1], ordered[i]) >= 0 {
			t.Errorf("%s should sort before %s", ordered[i-1], ordered[i])
		}
	}
}

func TestCurrentYearIsKyivs(t *testing.T) {
	// 23:30 UTC on 31 December is already the new year in Kyiv (UTC+2).
	at := time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC)
	if got := hromadabot.CurrentYear(at); got != 2026 {
		t.Errorf("CurrentYear = %d, want 2026", got)
	}
}

func TestLatin(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Бучанська", "Buchanska"},
		{"Кам'янець-Подільська", "Kamianets-Podilska"},
		{"Кам’янець-Подільська", "Kamianets-Podilska"},
		{"Згурівська", "Zghurivska"},
		{"Єнакіївська", "Yenakiivska"},
		{"Київська", "Kyivska"},
		{"Ясінянська", "Yasinianska"},
		{"Олевська міська", "Olevska miska"},
		{"Bucha", "Bucha"},
		{"", ""},
	} {
		if got := hromadabot.Latin(tc.in); got != tc.want {
			t.Errorf("Latin(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestFiguresHaveNoFloatNoise checks that the targets and scores the API
// and the open data publish are the decimals they stand for: 0.666, not
// 0.6660000000000001.
func TestFiguresHaveNoFloatNoise(t *testing.T) {
	plan := hromadabot.DefaultPlan()
	short := func(x float64) bool {
		s := strconv.FormatFloat(x, 'f', -1, 64)
		_, frac, _ := strings.Cut(s, ".")
		return len(frac) <= 9
	}
	for _, ind := range plan.Indicators {
		for year := 2025; year <= 2027; year++ {
			if got := ind.CumulativeTarget(year); !short(got) {
				t.Errorf("indicator %d, %d: target %v", ind.ID, year, got)
			}
		}
	}
	for _, v := range []float64{33.3, 50, 66.6, 12.5} {
		values := map[int]float64{}
		for _, ind := range plan.Indicators {
			values[ind.ID] = v
		}
		sc := hromadabot.ComputeScore(&plan, values, 2026)
		if !short(sc.Index) || !short(sc.PlanFulfillment) {
			t.Errorf("every value %v: index %v, fulfilment %v", v, sc.Index, sc.PlanFulfillment)
		}
	}
}
