package chart

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"strconv"
	"sync"

	"golang.org/x/sync/singleflight"

	"github.com/hromadabot/hromadabot"
)

// Cache keeps the latest score cards, keyed by everything a card shows, so
// that a card asked for again (the same community, or any communities whose
// scores are alike, such as all that have not reported yet) is not drawn
// again. It is safe for concurrent use.
type Cache struct {
	max int

	mu    sync.Mutex
	order *list.List // of *cached, most recently used first
	byKey map[[sha256.Size]byte]*list.Element

	// drawing makes the people who ask for the same new card at once wait
	// for one drawing of it; drawers bounds the drawings under way, each
	// tens of milliseconds of CPU and megabytes of pixels.
	drawing singleflight.Group
	drawers chan struct{}
}

type cached struct {
	key  [sha256.Size]byte
	card []byte
}

// NewCache returns a cache of at most max cards: about 30 KB a PNG, and
// about 1.1 MB an SVG, nearly all of it the fonts the SVG carries.
func NewCache(max int) *Cache {
	return &Cache{max: max, order: list.New(), byKey: make(map[[sha256.Size]byte]*list.Element),
		drawers: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// ScoreCard returns a key naming what the card of score, plan and lang
// shows (the same key, the same card) and a function that draws it: once
// per distinct card while it stays among the latest. Nothing is drawn until
// draw is called, so a channel that already has the card by its key never
// draws it. score and plan must not change afterwards.
func (c *Cache) ScoreCard(score *hromadabot.Score, plan *hromadabot.Plan, lang string) (cardID string, draw func() ([]byte, error)) {
	return c.card(cardKey(score, plan, lang), ScoreCard, score, plan, lang)
}

// ScoreCardSVG is ScoreCard for the card drawn by ScoreCardSVG. Its key
// differs from the PNG's, as the two are different bytes: whoever keeps
// cards by key (a channel its uploads, a browser by ETag) must not take one
// for the other.
func (c *Cache) ScoreCardSVG(score *hromadabot.Score, plan *hromadabot.Plan, lang string) (cardID string, draw func() ([]byte, error)) {
	key := cardKey(score, plan, lang)
	return c.card(sha256.Sum256(append(key[:], ".svg"...)), ScoreCardSVG, score, plan, lang)
}

// card returns the ID of the card keyed key and a function that takes it
// from the cache or draws it with render.
func (c *Cache) card(key [sha256.Size]byte, render renderer, score *hromadabot.Score, plan *hromadabot.Plan, lang string) (cardID string, draw func() ([]byte, error)) {
	cardID = hex.EncodeToString(key[:])
	return cardID, func() ([]byte, error) { return c.draw(key, cardID, render, score, plan, lang) }
}

// renderer draws a card in one format: ScoreCard or ScoreCardSVG.
type renderer func(score *hromadabot.Score, plan *hromadabot.Plan, lang string) ([]byte, error)

func (c *Cache) draw(key [sha256.Size]byte, cardID string, render renderer, score *hromadabot.Score, plan *hromadabot.Plan, lang string) ([]byte, error) {
	c.mu.Lock()
	if e, ok := c.byKey[key]; ok {
		c.order.MoveToFront(e)
		card := e.Value.(*cached).card
		c.mu.Unlock()
		return card, nil
	}
	c.mu.Unlock()

	drawn, err, _ := c.drawing.Do(cardID, func() (any, error) {
		c.drawers <- struct{}{}
		defer func() { <-c.drawers }()
		return render(score, plan, lang)
	})
	if err != nil {
		return nil, err
	}
	card := drawn.([]byte)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; !ok {
		c.byKey[key] = c.order.PushFront(&cached{key: key, card: card})
		for c.order.Len() > c.max {
			last := c.order.Back()
			c.order.Remove(last)
			delete(c.byKey, last.Value.(*cached).key)
		}
	}
	return card, nil
}

// cardKey digests what the card draws: the language, the year, the index
// and fulfilment in its title, and each indicator's title, completion,
// target and status.
func cardKey(score *hromadabot.Score, plan *hromadabot.Plan, lang string) [sha256.Size]byte {
	// Appended rather than printed: a key is made for every score card.
	b := make([]byte, 0, 64+48*len(score.Indicators))
	num := func(v float64) { b = strconv.AppendFloat(append(b, '|'), v, 'f', 6, 64) }
	b = append(b, lang...)
	b = strconv.AppendInt(append(b, '|'), int64(score.Year), 10)
	num(score.Index)
	num(score.PlanFulfillment)
	for _, is := range score.Indicators {
		title := ""
		if ind, ok := plan.Indicator(is.ID); ok {
			title = ind.Short.In(lang)
		}
		b = strconv.AppendInt(append(b, '|'), int64(is.ID), 10)
		b = append(append(b, ':'), title...)
		num(is.Completion)
		num(is.Target)
		b = append(append(b, '|'), is.Status...)
	}
	return sha256.Sum256(b)
}
