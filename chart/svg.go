package chart

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/hromadabot/hromadabot"
)

// ScoreCardSVG draws the card ScoreCard draws as a standalone SVG document,
// for the web: its texts stay text, escaped, and it is as wide as the PNG in
// points (900pt, its viewBox 0 0 900 height).
//
// The document carries the two Liberation Sans faces it uses, about a
// megabyte, because its texts are placed by their widths in those faces.
// Without them vgsvg names "Liberation Sans" alone, with no fallback, and a
// browser that lacks it (Windows, macOS, Android) substitutes its own face,
// whose labels run into the bars or fall short of where the PNG has them.
// With them the card needs neither installed fonts nor the network.
func ScoreCardSVG(score *hromadabot.Score, plan *hromadabot.Plan, lang string) ([]byte, error) {
	c, err := newCard(score, plan, lang)
	if err != nil {
		return nil, err
	}
	h := c.height()
	svg := vgsvg.NewWith(vgsvg.UseWH(width, h), vgsvg.EmbedFonts(true))
	dc := draw.New(svg)
	// An SVG starts transparent and the PNG white: on a dark page the card
	// must look the same.
	dc.FillPolygon(color.White, rect(0, 0, width, h))
	c.draw(dc)
	var buf bytes.Buffer
	if _, err := svg.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("score card: write svg: %w", err)
	}
	return buf.Bytes(), nil
}
