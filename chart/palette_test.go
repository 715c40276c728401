package chart

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hromadabot/hromadabot"
)

// rgbaImage returns a w×h picture with the pixels given row by row.
func rgbaImage(w, h int, pixels []color.RGBA) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, c := range pixels {
		m.SetRGBA(i%w, i/w, c)
	}
	return m
}

// roundTrip encodes m as a PNG and decodes it again.
func roundTrip(t *testing.T, m image.Image) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	dec, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return dec
}

func rgbaAt(m image.Image, x, y int) color.RGBA {
	return color.RGBAModel.Convert(m.At(x, y)).(color.RGBA)
}

func distance(a, b color.RGBA) int {
	d := 0
	for _, v := range [][2]uint8{{a.R, b.R}, {a.G, b.G}, {a.B, b.B}, {a.A, b.A}} {
		diff := int(v[0]) - int(v[1])
		d += diff * diff
	}
	return d
}

// manyColours returns a picture of 256 colours three pixels each and 200
// other colours one pixel each, interleaved, and the 256 frequent ones.
func manyColours() (*image.RGBA, map[color.RGBA]bool) {
	frequent := make(map[color.RGBA]bool)
	var pixels []color.RGBA
	for i := range 256 {
		c := color.RGBA{R: uint8(i), G: uint8(255 - i), B: uint8(i * 7), A: 0xff}
		frequent[c] = true
		pixels = append(pixels, c, c, c)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for rare := 0; rare < 200; {
		c := color.RGBA{R: uint8(r.Uint32()), G: uint8(r.Uint32()), B: uint8(r.Uint32()), A: 0xff}
		if frequent[c] {
			continue
		}
		// Spread the rare colours among the frequent ones.
		pixels = slices.Insert(pixels, 4*rare, c)
		rare++
	}
	// 968 pixels in 8 rows.
	return rgbaImage(len(pixels)/8, 8, pixels), frequent
}

func TestPaletted(t *testing.T) {
	a := color.RGBA{R: 0x21, G: 0x21, B: 0x21, A: 0xff}
	b := color.RGBA{R: 0xee, G: 0xee, B: 0xee, A: 0xff}
	var gradient []color.RGBA
	for i := range 256 {
		gradient = append(gradient, color.RGBA{R: uint8(i), G: uint8(i / 16 * 16), B: 0x80, A: 0xff})
	}
	// Outside the sub-picture are colours it must not take.
	framed := rgbaImage(32, 16, gradient)
	sub := framed.SubImage(image.Rect(3, 4, 9, 7)).(*image.RGBA)
	for y := 4; y < 7; y++ {
		for x := 3; x < 9; x++ {
			framed.SetRGBA(x, y, []color.RGBA{a, b}[(x+y)%2])
		}
	}
	many, frequent := manyColours()

	tests := []struct {
		name string
		img  *image.RGBA
		// frequent are the colours that must stay exact; nil means all.
		frequent    map[color.RGBA]bool
		wantColours int
	}{
		// b is the most frequent, so index 0; the first pixel's colour is
		// the last's, which the second pass must not take for b.
		{"OKFirstIsLast", rgbaImage(5, 1, []color.RGBA{a, b, b, b, a}), nil, 2},
		{"OKExact256", rgbaImage(32, 8, gradient), nil, 256},
		{"OKSubImage", sub, nil, 2},
		{"OKNearestBeyond256", many, frequent, 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := paletted(tt.img)
			if len(p.Palette) != tt.wantColours {
				t.Fatalf("palette of %d colours, want %d", len(p.Palette), tt.wantColours)
			}
			if p.Rect != tt.img.Rect {
				t.Fatalf("bounds %v, want %v", p.Rect, tt.img.Rect)
			}
			palette := make([]color.RGBA, len(p.Palette))
			for i, c := range p.Palette {
				palette[i] = c.(color.RGBA)
				if tt.frequent != nil && !tt.frequent[palette[i]] {
					t.Errorf("palette has %v, not one of the most frequent colours", palette[i])
				}
			}
			dec := roundTrip(t, p)
			if _, ok := dec.(*image.Paletted); !ok {
				t.Fatalf("decoded as %T, want a paletted picture", dec)
			}
			b := tt.img.Rect
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					want, got := tt.img.RGBAAt(x, y), rgbaAt(dec, x-b.Min.X, y-b.Min.Y)
					if tt.frequent == nil || tt.frequent[want] {
						if got != want {
							t.Fatalf("pixel (%d, %d) is %v, want %v exactly", x, y, got, want)
						}
						continue
					}
					best := distance(want, palette[0])
					for _, c := range palette {
						best = min(best, distance(want, c))
					}
					if d := distance(want, got); d != best {
						t.Fatalf("pixel (%d, %d) %v became %v at distance %d, the nearest is at %d", x, y, want, got, d, best)
					}
				}
			}
		})
	}
}

// TestScoreCardFidelity checks that the paletted card looks like the one
// drawn in full colour: a few anti-aliased text edges move slightly.
func TestScoreCardFidelity(t *testing.T) {
	plan := hromadabot.DefaultPlan()
	tests := []struct {
		name   string
		latest map[int]float64
		lang   string
	}{
		{"OKNothingReported", nil, hromadabot.LangUK},
		{"OKSomeReported", map[int]float64{1: 100, 2: 90, 3: 5, 7: 40, 12: 1}, hromadabot.LangUK},
		{"OKEnglish", map[int]float64{1: 100, 2: 90, 3: 5, 7: 40, 12: 1}, hromadabot.LangEN},
	}
	// Measured on these cards: at most 0.05% of pixels differ (none when
	// nothing is reported, which has fewer than 256 colours), by at most 31
	// in a channel.
	const (
		minIdentical = 0.995
		maxDiff      = 48
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			score := hromadabot.ComputeScore(&plan, tt.latest, 2026)
			full, err := render(&score, &plan, tt.lang)
			if err != nil {
				t.Fatal(err)
			}
			b, err := ScoreCard(&score, &plan, tt.lang)
			if err != nil {
				t.Fatal(err)
			}
			card, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if card.Bounds() != full.Rect {
				t.Fatalf("card bounds %v, full colour %v", card.Bounds(), full.Rect)
			}
			identical, worst := 0, 0
			for y := full.Rect.Min.Y; y < full.Rect.Max.Y; y++ {
				for x := full.Rect.Min.X; x < full.Rect.Max.X; x++ {
					want, got := full.RGBAAt(x, y), rgbaAt(card, x, y)
					if got == want {
						identical++
						continue
					}
					for _, v := range [][2]uint8{{want.R, got.R}, {want.G, got.G}, {want.B, got.B}, {want.A, got.A}} {
						worst = max(worst, int(max(v[0], v[1])-min(v[0], v[1])))
					}
				}
			}
			n := full.Rect.Dx() * full.Rect.Dy()
			t.Logf("%d of %d pixels differ, by at most %d", n-identical, n, worst)
			if float64(identical) < minIdentical*float64(n) || worst > maxDiff {
				t.Fatalf("%d of %d pixels identical, a channel off by up to %d", identical, n, worst)
			}
		})
	}
}
