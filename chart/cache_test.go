package chart_test

import (
	"bytes"
	"testing"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/chart"
)

func TestCache(t *testing.T) {
	plan := hromadabot.DefaultPlan()
	score := func(latest map[int]float64) *hromadabot.Score {
		s := hromadabot.ComputeScore(&plan, latest, 2026)
		return &s
	}
	c := chart.NewCache(2)
	card := func(s *hromadabot.Score, lang string) ([]byte, string, error) {
		key, draw := c.ScoreCard(s, &plan, lang)
		png, err := draw()
		return png, key, err
	}
	first, firstKey, err := card(score(map[int]float64{1: 50}), "uk")
	if err != nil {
		t.Fatal(err)
	}
	direct, err := chart.ScoreCard(score(map[int]float64{1: 50}), &plan, "uk")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, direct) {
		t.Fatal("a cached card differs from the one drawn directly")
	}
	again, againKey, _ := card(score(map[int]float64{1: 50}), "uk")
	if &again[0] != &first[0] {
		t.Fatal("the same card was drawn again instead of taken from the cache")
	}
	if firstKey == "" || againKey != firstKey {
		t.Fatalf("keys of the same card: %q, then %q", firstKey, againKey)
	}
	// Keys alone draw nothing: asking for them does not push the first card out.
	for _, v := range []float64{10, 20, 30} {
		c.ScoreCard(score(map[int]float64{1: v}), &plan, "uk")
	}
	kept, _, _ := card(score(map[int]float64{1: 50}), "uk")
	if &kept[0] != &first[0] {
		t.Fatal("keys asked for without drawing pushed a card out of the cache")
	}
	for _, tt := range []struct {
		name   string
		latest map[int]float64
		lang   string
	}{{"OtherValue", map[int]float64{1: 60}, "uk"}, {"OtherLanguage", map[int]float64{1: 50}, "en"}} {
		other, otherKey, err := card(score(tt.latest), tt.lang)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(other, first) || otherKey == firstKey {
			t.Errorf("%s: got the cached card or key of another score", tt.name)
		}
	}
	// Two other cards drawn since: the first was the least recently used and is gone.
	evicted, evictedKey, _ := card(score(map[int]float64{1: 50}), "uk")
	if &evicted[0] == &first[0] || !bytes.Equal(evicted, first) || evictedKey != firstKey {
		t.Fatal("the cache kept more cards than its size, or drew a different card")
	}
}

func TestCacheSVG(t *testing.T) {
	plan := hromadabot.DefaultPlan()
	score := hromadabot.ComputeScore(&plan, map[int]float64{1: 50}, 2026)
	c := chart.NewCache(2)
	pngKey, drawPNG := c.ScoreCard(&score, &plan, "uk")
	svgKey, drawSVG := c.ScoreCardSVG(&score, &plan, "uk")
	if svgKey == "" || svgKey == pngKey {
		t.Fatalf("keys of the PNG and the SVG of one card: %q, %q", pngKey, svgKey)
	}
	if again, _ := c.ScoreCardSVG(&score, &plan, "uk"); again != svgKey {
		t.Fatalf("keys of the same SVG: %q, then %q", svgKey, again)
	}
	svg, err := drawSVG()
	if err != nil {
		t.Fatal(err)
	}
	direct, err := chart.ScoreCardSVG(&score, &plan, "uk")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(svg, direct) {
		t.Fatal("a cached SVG differs from the one drawn directly")
	}
	// The PNG of the same card, drawn after the SVG, is a PNG and leaves the
	// SVG cached.
	png, err := drawPNG()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("the PNG of a card with its SVG cached starts %q", png[:min(len(png), 8)])
	}
	if again, _ := drawSVG(); &again[0] != &svg[0] {
		t.Fatal("the same SVG was drawn again instead of taken from the cache")
	}
	if again, _ := drawPNG(); &again[0] != &png[0] {
		t.Fatal("the same PNG was drawn again instead of taken from the cache")
	}
}
