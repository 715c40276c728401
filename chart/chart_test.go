package chart_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/chart"
)

// Colours the chart uses for the statuses (see chart.go).
var (
	green  = [3]uint8{0x1b, 0x7a, 0x3d}
	blue   = [3]uint8{0x1f, 0x6f, 0xb4}
	orange = [3]uint8{0xe6, 0x7e, 0x22}
)

// colourCounts counts the pixels of each of the given colours in one pass.
func colourCounts(t *testing.T, img image.Image, cs ...[3]uint8) []int {
	t.Helper()
	counts := make([]int, len(cs))
	count := func(r, g, b uint8, n int) {
		for j, c := range cs {
			if r == c[0] && g == c[1] && b == c[2] {
				counts[j] += n
			}
		}
	}
	var pix []uint8
	switch m := img.(type) {
	case *image.RGBA:
		pix = m.Pix
	case *image.NRGBA:
		pix = m.Pix
	case *image.Paletted:
		perIndex := make([]int, len(m.Palette))
		for _, i := range m.Pix {
			perIndex[i]++
		}
		for i, n := range perIndex {
			c := color.NRGBAModel.Convert(m.Palette[i]).(color.NRGBA)
			count(c.R, c.G, c.B, n)
		}
	default:
		t.Fatalf("unexpected image type %T", img)
	}
	for i := 0; i+3 < len(pix); i += 4 {
		count(pix[i], pix[i+1], pix[i+2], 1)
	}
	return counts
}

func TestScoreCard(t *testing.T) {
	plan := hromadabot.DefaultPlan()
	tests := []struct {
		name   string
		latest map[int]float64
		lang   string
		// want* say whether bars of that status colour appear.
		wantGreen, wantBlue, wantOrange bool
	}{
		{"OKNothingReported", nil, hromadabot.LangUK, false, false, false},
		{"OKDoneAndBehind", map[int]float64{1: 100, 3: 5, 12: 1}, hromadabot.LangEN, true, false, true},
		{"OKOnTrack", map[int]float64{2: 90}, hromadabot.LangUK, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			score := hromadabot.ComputeScore(&plan, tt.latest, 2026)
			b, err := chart.ScoreCard(&score, &plan, tt.lang)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := png.DecodeConfig(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			// Telegram accepts photos up to 10 MB with width+height <= 10000;
			// 23 rows must stay readable on a phone.
			if cfg.Width < 800 || cfg.Width+cfg.Height > 10000 || cfg.Height < 23*30 || len(b) > 10<<20 {
				t.Fatalf("picture %dx%d, %d bytes", cfg.Width, cfg.Height, len(b))
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			// Bars are large areas; the legend swatches alone are about 140
			// pixels per colour.
			const legendOnly = 400
			counts := colourCounts(t, img, green, blue, orange)
			for i, c := range []struct {
				name string
				want bool
			}{{"green", tt.wantGreen}, {"blue", tt.wantBlue}, {"orange", tt.wantOrange}} {
				if got := counts[i] > legendOnly; got != c.want {
					t.Errorf("%s bars drawn = %v (%d pixels), want %v", c.name, got, counts[i], c.want)
				}
			}
		})
	}
}

func TestScoreCardLanguage(t *testing.T) {
	plan := hromadabot.DefaultPlan()
	score := hromadabot.ComputeScore(&plan, map[int]float64{1: 50}, 2026)
	uk, err := chart.ScoreCard(&score, &plan, hromadabot.LangUK)
	if err != nil {
		t.Fatal(err)
	}
	en, err := chart.ScoreCard(&score, &plan, hromadabot.LangEN)
	if err != nil {
		t.Fatal(err)
	}
	other, err := chart.ScoreCard(&score, &plan, "pl")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(uk, en) {
		t.Fatal("Ukrainian and English cards are identical")
	}
	// Also the determinism check: the same input draws the same bytes.
	if !bytes.Equal(uk, other) {
		t.Fatal("an unknown language did not fall back to Ukrainian, or drawing is not deterministic")
	}
}

func TestScoreCardErrors(t *testing.T) {
	plan := hromadabot.DefaultPlan()
	score := hromadabot.ComputeScore(&plan, nil, 2026)
	tests := []struct {
		name  string
		score *hromadabot.Score
		plan  *hromadabot.Plan
	}{
		{"ErrNoScore", nil, &plan},
		{"ErrNoPlan", &score, nil},
		{"ErrEmptyPlan", &score, &hromadabot.Plan{}},
	}
	formats := []struct {
		name string
		draw func(*hromadabot.Score, *hromadabot.Plan, string) ([]byte, error)
	}{{"PNG", chart.ScoreCard}, {"SVG", chart.ScoreCardSVG}}
	for _, f := range formats {
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				if b, err := f.draw(tt.score, tt.plan, hromadabot.LangUK); err == nil || b != nil {
					t.Fatalf("got %d bytes, err %v", len(b), err)
				}
			})
		}
	}
}

// BenchmarkScoreCard draws a card with bars of every status; png-bytes is
// the size of the picture sent.
func BenchmarkScoreCard(b *testing.B) {
	plan := hromadabot.DefaultPlan()
	score := hromadabot.ComputeScore(&plan, map[int]float64{1: 100, 2: 90, 3: 5, 7: 40, 12: 1}, 2026)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		card, err := chart.ScoreCard(&score, &plan, hromadabot.LangUK)
		if err != nil {
			b.Fatal(err)
		}
		size = len(card)
	}
	b.ReportMetric(float64(size), "png-bytes")
}
