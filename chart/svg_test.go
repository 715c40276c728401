package chart_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/chart"
)

// svgDoc is what a test reads out of an SVG document.
type svgDoc struct {
	root  xml.StartElement
	texts []string
}

// parseSVG reads doc with encoding/xml's strict decoder, failing on
// anything that is not well-formed XML, and collects its <text> elements.
func parseSVG(t *testing.T, doc []byte) svgDoc {
	t.Helper()
	var d svgDoc
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var text *strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if d.root.Name.Local == "" {
				d.root = tok.Copy()
			}
			if tok.Name.Local == "text" {
				text = &strings.Builder{}
			}
		case xml.CharData:
			if text != nil {
				text.Write(tok)
			}
		case xml.EndElement:
			if tok.Name.Local == "text" && text != nil {
				d.texts = append(d.texts, text.String())
				text = nil
			}
		}
	}
	return d
}

func (d svgDoc) attr(name string) string {
	for _, a := range d.root.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// hexColour is a colour as vgsvg writes it into a style.
func hexColour(c [3]uint8) string { return fmt.Sprintf("#%02X%02X%02X", c[0], c[1], c[2]) }

func TestScoreCardSVG(t *testing.T) {
	plan := hromadabot.DefaultPlan()
	escaped := hromadabot.DefaultPlan()
	escaped.Indicators[0].Short = hromadabot.Text{UK: `Сайт <b>&"Ко"</b>'`, EN: "Site <&>"}
	tests := []struct {
		name   string
		plan   *hromadabot.Plan
		latest map[int]float64
		lang   string
		// title is the title's format, given the index.
		title string
		// want are texts the card must show besides its title and its
		// rows' labels.
		want []string
		// want* say whether bars of that status colour appear.
		wantGreen, wantBlue, wantOrange bool
	}{
		{"OKUkrainian", &plan, map[int]float64{1: 100, 2: 90, 3: 5}, hromadabot.LangUK, "Індекс цифрової трансформації: %s",
			[]string{"Виконано", "За планом", "Відстає", "Не розпочато", "Ціль 2026", "100%", "90%", "5%"},
			true, true, true},
		{"OKEnglish", &plan, map[int]float64{1: 100, 3: 5}, hromadabot.LangEN, "Digital transformation index: %s",
			[]string{"Done", "On track", "Behind", "Not started", "Target 2026", "100%", "5%"},
			true, false, true},
		{"OKNothingReported", &plan, nil, hromadabot.LangUK, "Індекс цифрової трансформації: %s",
			[]string{"Виконано", "0%", "25%", "100%"},
			false, false, false},
		{"OKEscapedUkrainian", &escaped, map[int]float64{1: 50}, hromadabot.LangUK, "Індекс цифрової трансформації: %s",
			[]string{`1. Сайт <b>&"Ко"</b>'`}, false, false, true},
		{"OKEscapedEnglish", &escaped, map[int]float64{1: 50}, hromadabot.LangEN, "Digital transformation index: %s",
			[]string{"1. Site <&>"}, false, false, true},
	}
	viewBox := regexp.MustCompile(`^0 0 ([0-9.]+) ([0-9.]+)$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			score := hromadabot.ComputeScore(tt.plan, tt.latest, 2026)
			b, err := chart.ScoreCardSVG(&score, tt.plan, tt.lang)
			if err != nil {
				t.Fatal(err)
			}
			doc := parseSVG(t, b)
			if doc.root.Name.Space != "http://www.w3.org/2000/svg" || doc.root.Name.Local != "svg" {
				t.Fatalf("root element %v, want svg", doc.root.Name)
			}
			// The PNG's size in pixels is the SVG's in points.
			m := viewBox.FindStringSubmatch(doc.attr("viewBox"))
			if m == nil || doc.attr("width") != m[1]+"pt" || doc.attr("height") != m[2]+"pt" {
				t.Fatalf("width %q, height %q, viewBox %q", doc.attr("width"), doc.attr("height"), doc.attr("viewBox"))
			}
			if w, _ := strconv.ParseFloat(m[1], 64); w != 900 {
				t.Errorf("width %v, want 900", w)
			}
			if h, _ := strconv.ParseFloat(m[2], 64); h < 23*26 {
				t.Errorf("height %v for 23 rows", h)
			}

			want := append([]string{fmt.Sprintf(tt.title, hromadabot.FormatNumber(score.Index, 1, tt.lang))}, tt.want...)
			for _, ind := range tt.plan.Indicators {
				want = append(want, fmt.Sprintf("%d. %s", ind.ID, ind.Short.In(tt.lang)))
			}
			texts := make(map[string]bool, len(doc.texts))
			for _, s := range doc.texts {
				texts[s] = true
			}
			for _, s := range want {
				if !texts[s] {
					t.Errorf("no text %q", s)
				}
			}

			// White underneath, as the PNG is, rather than transparent.
			background := fmt.Sprintf(`<path d="M0,0L%[1]s,0L%[1]s,%[2]sL0,%[2]sZ" style="fill:#FFFFFF" />`, m[1], m[2])
			if first := bytes.Index(b, []byte("<path ")); first < 0 || !bytes.HasPrefix(b[first:], []byte(background)) {
				t.Errorf("the first shape is not the white background %s", background)
			}

			// Self-contained: nothing is fetched, the fonts are inline.
			if n := bytes.Count(b, []byte("@font-face")); n != 2 {
				t.Errorf("%d fonts embedded, want the regular and the bold", n)
			}
			if n, data := bytes.Count(b, []byte("url(")), bytes.Count(b, []byte("url(data:")); n != data {
				t.Errorf("%d of %d URLs are not data: URLs", n-data, n)
			}
			if bytes.Contains(b, []byte("href=")) {
				t.Error("the document links to something")
			}

			// Every status colour fills its legend swatch once; more fills
			// are bars.
			for _, c := range []struct {
				name   string
				colour [3]uint8
				want   bool
			}{{"green", green, tt.wantGreen}, {"blue", blue, tt.wantBlue}, {"orange", orange, tt.wantOrange}} {
				fills := bytes.Count(b, []byte("fill:"+hexColour(c.colour)))
				if fills < 1 {
					t.Errorf("no %s legend swatch", c.name)
				}
				if got := fills > 1; got != c.want {
					t.Errorf("%s bars drawn = %v (%d fills), want %v", c.name, got, fills, c.want)
				}
			}
		})
	}
}

func TestScoreCardSVGLanguage(t *testing.T) {
	plan := hromadabot.DefaultPlan()
	score := hromadabot.ComputeScore(&plan, map[int]float64{1: 50}, 2026)
	uk, err := chart.ScoreCardSVG(&score, &plan, hromadabot.LangUK)
	if err != nil {
		t.Fatal(err)
	}
	en, err := chart.ScoreCardSVG(&score, &plan, hromadabot.LangEN)
	if err != nil {
		t.Fatal(err)
	}
	other, err := chart.ScoreCardSVG(&score, &plan, "pl")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(uk, en) {
		t.Fatal("Ukrainian and English cards are identical")
	}
	if !bytes.Equal(uk, other) {
		t.Fatal("an unknown language did not fall back to Ukrainian, or drawing is not deterministic")
	}
}

// BenchmarkScoreCardSVG draws the card of BenchmarkScoreCard as SVG;
// svg-bytes is the size of the document served.
func BenchmarkScoreCardSVG(b *testing.B) {
	plan := hromadabot.DefaultPlan()
	score := hromadabot.ComputeScore(&plan, map[int]float64{1: 100, 2: 90, 3: 5, 7: 40, 12: 1}, 2026)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		card, err := chart.ScoreCardSVG(&score, &plan, hromadabot.LangUK)
		if err != nil {
			b.Fatal(err)
		}
		size = len(card)
	}
	b.ReportMetric(float64(size), "svg-bytes")
}
