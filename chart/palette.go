package chart

import (
	"cmp"
	"encoding/binary"
	"image"
	"image/color"
	"slices"
)

// paletted returns m with at most 256 colours, to be encoded as an 8-bit
// paletted PNG: Go's encoder tries no row filters on a paletted image and
// deflates one byte a pixel instead of four, which takes most of the cost
// out of encoding a card. A card's flat bars take few colours, its
// anti-aliased text a few hundred more, mostly on a handful of pixels each.
// With at most 256 colours the conversion is exact; otherwise the 256 most
// frequent stay exact and every other colour becomes the palette colour
// nearest to it, which moves only pale text edges, and them slightly.
func paletted(m *image.RGBA) *image.Paletted {
	b := m.Bounds()
	w := 4 * b.Dx()

	// Count the pixels of each colour. Neighbouring pixels are mostly
	// alike, so counting runs saves a map access on most pixels.
	counts := make(map[uint32]int)
	var last uint32
	run := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := m.Pix[m.PixOffset(b.Min.X, y):][:w]
		for i := 0; i < len(row); i += 4 {
			c := binary.LittleEndian.Uint32(row[i:])
			if c != last && run > 0 {
				counts[last] += run
				run = 0
			}
			last = c
			run++
		}
	}
	if run > 0 {
		counts[last] += run
	}

	// The most frequent colours first, ties broken by value so that the
	// same picture always encodes to the same bytes.
	byCount := make([]colourCount, 0, len(counts))
	for c, n := range counts {
		byCount = append(byCount, colourCount{c, n})
	}
	slices.SortFunc(byCount, func(a, b colourCount) int {
		if a.n != b.n {
			return cmp.Compare(b.n, a.n)
		}
		return cmp.Compare(a.c, b.c)
	})

	// From here on counts holds each colour's palette index.
	pal := make(color.Palette, min(len(byCount), 256))
	for i := range pal {
		c := byCount[i].c
		pal[i] = color.RGBA{R: uint8(c), G: uint8(c >> 8), B: uint8(c >> 16), A: uint8(c >> 24)}
		counts[c] = i
	}
	for _, cc := range byCount[len(pal):] {
		counts[cc.c] = nearest(byCount[:len(pal)], cc.c)
	}

	p := image.NewPaletted(b, pal)
	lastIndex := uint8(counts[last])
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := m.Pix[m.PixOffset(b.Min.X, y):][:w]
		out := p.Pix[p.PixOffset(b.Min.X, y):][:b.Dx()]
		for i := range out {
			c := binary.LittleEndian.Uint32(row[4*i:])
			if c != last {
				last, lastIndex = c, uint8(counts[c])
			}
			out[i] = lastIndex
		}
	}
	return p
}

// colourCount is a colour, packed as four bytes of RGBA pixels read little
// endian, and how many pixels have it.
type colourCount struct {
	c uint32
	n int
}

// nearest returns the index in pal of the colour at the least squared
// distance from c; on a tie the first, the more frequent.
func nearest(pal []colourCount, c uint32) int {
	best, bestDist := 0, -1
	for i, p := range pal {
		d := 0
		for shift := 0; shift < 32; shift += 8 {
			diff := int(uint8(p.c>>shift)) - int(uint8(c>>shift))
			d += diff * diff
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = i, d
		}
	}
	return best
}
