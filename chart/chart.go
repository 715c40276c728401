// Package chart draws a community's score card, as a PNG picture for the
// channels and as an SVG document for the web: one horizontal bar per
// indicator of its plan showing the completion, coloured by status, with a
// mark at the completion the plan expects by the end of the score's year.
// Both are one drawing on two gonum/plot canvases, in gonum's embedded
// Liberation fonts, so Ukrainian text renders the same on every machine and
// the output is deterministic.
package chart

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"sync"

	"git.sr.ht/~sbinet/gg"
	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/hromadabot/hromadabot"
)

// Picture geometry in points; at dpi the picture is 900 pixels wide, sharp on
// a phone and a quarter of the pixels (and the drawing time) of 1200.
const (
	width     = vg.Length(900)
	rowHeight = vg.Length(26)
	header    = vg.Length(78)
	footer    = vg.Length(50)
	dpi       = 72
)

// Colours by status (colour-blind safe: blue/orange contrast) and for the
// track behind each bar and the target mark.
var (
	statusColor = map[hromadabot.Status]color.Color{
		hromadabot.StatusDone:       color.RGBA{R: 0x1b, G: 0x7a, B: 0x3d, A: 0xff},
		hromadabot.StatusOnTrack:    color.RGBA{R: 0x1f, G: 0x6f, B: 0xb4, A: 0xff},
		hromadabot.StatusBehind:     color.RGBA{R: 0xe6, G: 0x7e, B: 0x22, A: 0xff},
		hromadabot.StatusNotStarted: color.RGBA{R: 0x9e, G: 0x9e, B: 0x9e, A: 0xff},
	}
	trackColor  = color.RGBA{R: 0xee, G: 0xee, B: 0xee, A: 0xff}
	targetColor = color.Black
	textColor   = color.RGBA{R: 0x21, G: 0x21, B: 0x21, A: 0xff}
)

// labels are the few words on the picture, by language.
var labels = map[string]struct {
	title    string
	subtitle string
	target   string
	status   map[hromadabot.Status]string
}{
	hromadabot.LangUK: {
		title:    "Індекс цифрової трансформації: %s",
		subtitle: "Виконання плану %d: %s%% · рядок — індикатор, риска — ціль на кінець %d року",
		target:   "Ціль %d",
		status: map[hromadabot.Status]string{
			hromadabot.StatusDone: "Виконано", hromadabot.StatusOnTrack: "За планом",
			hromadabot.StatusBehind: "Відстає", hromadabot.StatusNotStarted: "Не розпочато",
		},
	},
	hromadabot.LangEN: {
		title:    "Digital transformation index: %s",
		subtitle: "Plan fulfilment %d: %s%% · a row per indicator, the mark is the end-of-%d target",
		target:   "Target %d",
		status: map[hromadabot.Status]string{
			hromadabot.StatusDone: "Done", hromadabot.StatusOnTrack: "On track",
			hromadabot.StatusBehind: "Behind", hromadabot.StatusNotStarted: "Not started",
		},
	},
}

func sans(size vg.Length, bold bool) font.Font {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
	if bold {
		f.Weight = stdfont.WeightBold
	}
	return f
}

// row is one indicator line of the card.
type row struct {
	label      string
	completion float64
	target     float64
	status     hromadabot.Status
}

// encoderBuffers lets PNG encodings reuse their compressor state, which is
// larger than many a picture.
var encoderBuffers = &pngBuffers{}

type pngBuffers struct{ pool sync.Pool }

func (p *pngBuffers) Get() *png.EncoderBuffer {
	b, _ := p.pool.Get().(*png.EncoderBuffer)
	return b
}

func (p *pngBuffers) Put(b *png.EncoderBuffer) { p.pool.Put(b) }

// ScoreCard draws the score of a community with the given plan as a PNG in
// lang ("uk" or "en"; anything else is Ukrainian). Indicators appear in plan
// order; an indicator missing from the score is drawn as not started.
func ScoreCard(score *hromadabot.Score, plan *hromadabot.Plan, lang string) ([]byte, error) {
	img, err := render(score, plan, lang)
	if err != nil {
		return nil, err
	}
	defer canvases.Put(img)
	// Encoding was most of the card's cost; a paletted picture is encoded
	// without the row filter search and a quarter of the bytes to deflate,
	// and the fastest compression keeps a bar chart's flat colours nearly as
	// small.
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: encoderBuffers}
	if err := enc.Encode(&buf, paletted(img)); err != nil {
		return nil, fmt.Errorf("score card: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// render draws the score card in full colour.
func render(score *hromadabot.Score, plan *hromadabot.Plan, lang string) (*image.RGBA, error) {
	c, err := newCard(score, plan, lang)
	if err != nil {
		return nil, err
	}
	// Drawn on pixels kept from an earlier card, which the canvas paints
	// white first (its default background). The context is set up as vgimg
	// sets up its own.
	m := canvas(pixels(width), pixels(c.height()))
	gc := gg.NewContextForRGBA(m)
	gc.SetLineCapButt()
	gc.InvertY()
	img := vgimg.NewWith(vgimg.UseImageWithContext(m, gc), vgimg.UseDPI(dpi))
	c.draw(draw.New(img))
	return m, nil
}

// card is what a score card shows, in one language, ready to be drawn on
// any canvas: the PNG and the SVG are one drawing on two canvases.
type card struct {
	lang     string
	title    string
	subtitle string
	status   map[hromadabot.Status]string
	target   string
	rows     []row
}

// newCard checks score and plan and words the card of them in lang.
func newCard(score *hromadabot.Score, plan *hromadabot.Plan, lang string) (*card, error) {
	if score == nil || plan == nil {
		return nil, fmt.Errorf("score card: score and plan are required")
	}
	if len(plan.Indicators) == 0 {
		return nil, fmt.Errorf("score card: the plan has no indicators")
	}
	if lang != hromadabot.LangEN {
		lang = hromadabot.LangUK
	}
	l := labels[lang]

	rows := make([]row, 0, len(plan.Indicators))
	for _, ind := range plan.Indicators {
		r := row{label: fmt.Sprintf("%d. %s", ind.ID, ind.Short.In(lang)), status: hromadabot.StatusNotStarted,
			target: ind.CumulativeTarget(score.Year)}
		if ind.Short.In(lang) == "" {
			r.label = fmt.Sprintf("%d", ind.ID)
		}
		if is, ok := score.Indicator(ind.ID); ok {
			r.completion, r.target, r.status = is.Completion, is.Target, is.Status
		}
		rows = append(rows, r)
	}
	return &card{
		lang:     lang,
		title:    fmt.Sprintf(l.title, hromadabot.FormatNumber(score.Index, 1, lang)),
		subtitle: fmt.Sprintf(l.subtitle, score.Year, hromadabot.FormatNumber(score.PlanFulfillment, 1, lang), score.Year),
		status:   l.status,
		target:   fmt.Sprintf(l.target, score.Year),
		rows:     rows,
	}, nil
}

// height is the card's height in points; its width is always width.
func (c *card) height() vg.Length {
	return header + footer + rowHeight*vg.Length(len(c.rows))
}

// draw draws the card onto dc, which is width × c.height() and white.
func (c *card) draw(dc draw.Canvas) {
	p := plot.New()
	// The canvas is white already; filling the plot's area white again
	// through the rasteriser cost a sixth of the drawing.
	p.BackgroundColor = nil
	n := float64(len(c.rows))
	p.X.Min, p.X.Max = 0, 100
	p.Y.Min, p.Y.Max = -0.6, n-0.4
	p.X.Tick.Marker = plot.ConstantTicks{
		{Value: 0, Label: "0%"}, {Value: 25, Label: "25%"}, {Value: 50, Label: "50%"},
		{Value: 75, Label: "75%"}, {Value: 100, Label: "100%"},
	}
	p.X.Tick.Label.Font = sans(9, false)
	p.X.Tick.Label.Color = textColor
	yTicks := make(plot.ConstantTicks, len(c.rows))
	for i, r := range c.rows {
		yTicks[i] = plot.Tick{Value: n - 1 - float64(i), Label: r.label}
	}
	p.Y.Tick.Marker = yTicks
	p.Y.Tick.Label.Font = sans(9.5, false)
	p.Y.Tick.Label.Color = textColor
	p.Y.Tick.Length = 0
	p.Y.Padding = 4
	p.Add(bars{rows: c.rows, lang: c.lang})

	height := c.height()
	title := text.Style{Color: textColor, Font: sans(17, true), Handler: p.TextHandler, XAlign: draw.XLeft, YAlign: draw.YTop}
	sub := text.Style{Color: textColor, Font: sans(10.5, false), Handler: p.TextHandler, XAlign: draw.XLeft, YAlign: draw.YTop}
	left := vg.Length(16)
	dc.FillText(title, vg.Point{X: left, Y: height - 12}, c.title)
	dc.FillText(sub, vg.Point{X: left, Y: height - 38}, c.subtitle)

	p.Draw(draw.Crop(dc, 8, -16, footer-8, -header))
	drawLegend(dc, c.status, c.target, left, footer/2-4)
}

// canvases keeps the pixels of cards already encoded: 2.6 MB each, which
// allocated anew for every card (twice, by vgimg and by its drawing
// context) made the collector run far more often.
var canvases sync.Pool // of *image.RGBA

// pixels is a length in whole pixels, rounded as vgimg rounds it.
func pixels(l vg.Length) int { return int(l.Dots(dpi) + 0.5) }

// canvas returns w×h pixels, from canvases when they have the size.
func canvas(w, h int) *image.RGBA {
	if m, _ := canvases.Get().(*image.RGBA); m != nil && m.Rect == image.Rect(0, 0, w, h) {
		return m
	}
	return image.NewRGBA(image.Rect(0, 0, w, h))
}

// drawLegend writes one line of colour swatches and the target mark at y.
func drawLegend(dc draw.Canvas, names map[hromadabot.Status]string, target string, x, y vg.Length) {
	sty := text.Style{Color: textColor, Font: sans(10, false), Handler: plot.DefaultTextHandler, XAlign: draw.XLeft, YAlign: draw.YCenter}
	swatch := vg.Length(12)
	for _, st := range hromadabot.Statuses {
		dc.FillPolygon(statusColor[st], rect(x, y-swatch/2, x+swatch, y+swatch/2))
		x += swatch + 5
		dc.FillText(sty, vg.Point{X: x, Y: y}, names[st])
		x += sty.Width(names[st]) + 22
	}
	dc.StrokeLine2(draw.LineStyle{Color: targetColor, Width: 2.5}, x+swatch/2, y-swatch/2-2, x+swatch/2, y+swatch/2+2)
	dc.FillText(sty, vg.Point{X: x + swatch + 5, Y: y}, target)
}

func rect(x0, y0, x1, y1 vg.Length) []vg.Point {
	return []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}

// bars is the plotter drawing every indicator row.
type bars struct {
	rows []row
	lang string
}

// DataRange implements plot.DataRanger.
func (b bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	return 0, 100, -0.6, float64(len(b.rows)) - 0.4
}

// Plot implements plot.Plotter.
func (b bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	n := float64(len(b.rows))
	half := 0.32
	valueStyle := text.Style{Color: textColor, Font: sans(8.5, true), Handler: p.TextHandler, XAlign: draw.XLeft, YAlign: draw.YCenter}
	for i, r := range b.rows {
		y := n - 1 - float64(i)
		y0, y1 := trY(y-half), trY(y+half)
		c.FillPolygon(trackColor, rect(trX(0), y0, trX(100), y1))
		if r.completion > 0 {
			c.FillPolygon(statusColor[r.status], rect(trX(0), y0, trX(100*r.completion), y1))
		}
		if r.target > 0 {
			x := trX(100 * r.target)
			c.StrokeLine2(draw.LineStyle{Color: targetColor, Width: 2.5}, x, trY(y-half-0.12), x, trY(y+half+0.12))
		}
		// The value sits right of the bar, or inside it near the end when
		// the bar is almost full.
		label := hromadabot.FormatNumber(100*r.completion, 0, b.lang) + "%"
		x := trX(100*r.completion) + 4
		sty := valueStyle
		if r.completion > 0.9 {
			x = trX(100*r.completion) - 4 - sty.Width(label)
			sty.Color = color.White
		}
		c.FillText(sty, vg.Point{X: x, Y: trY(y)}, label)
	}
}
