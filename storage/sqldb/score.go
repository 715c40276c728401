package sqldb

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/hromadabot/hromadabot"
)

const (
	sqlSelectRankingCommunities = `SELECT id, name, oblast FROM communities`
	sqlSelectAllCurrentValues   = `SELECT community_id, indicator_id, value FROM current_values`
)

// validateYear rejects years no plan can be about.
func validateYear(year int) error {
	if year < 2000 || year > 2100 {
		return hromadabot.FieldErrorf("year", "year_invalid", "year %d is out of range", year)
	}
	return nil
}

// Score computes the community's digital index and plan fulfilment for the
// year from its own plan and current values; ENOTFOUND for an unknown
// community.
func (db *DB) Score(ctx context.Context, communityID int64, year int) (*hromadabot.Score, error) {
	if err := validateYear(year); err != nil {
		return nil, err
	}
	plan, err := db.directory.plan(ctx, db, communityID)
	if err != nil {
		return nil, db.formatError(err)
	}
	latest, err := latestValues(ctx, db.read, communityID)
	if err != nil {
		return nil, err
	}
	s := hromadabot.ComputeScore(plan, latest, year)
	return &s, nil
}

// Ranking scores every community for the year and ranks them with
// hromadabot.Rank. It reads the communities, the current values and the own
// targets in one snapshot, three queries in all, whatever the number of
// communities. The ranking may be shared with other callers: it is
// read-only.
func (db *DB) Ranking(ctx context.Context, year int) (hromadabot.Ranking, error) {
	if err := validateYear(year); err != nil {
		return nil, err
	}
	now := db.Now()
	r, age, ok := db.rankings.get(year, now)
	if ok && age >= 0 && age < rankingTTL {
		if age >= rankingRefreshAfter && db.rankings.startRefresh(year) {
			// Computed anew before it expires, so that under steady use
			// nobody waits for the computation.
			db.background.Add(1)
			go func() {
				defer db.background.Done()
				defer db.rankings.endRefresh(year)
				_, _ = db.computeRanking(context.Background(), year)
			}()
		}
		return r, nil
	}
	return db.computeRanking(ctx, year)
}

// FreshRanking computes the year's ranking from the records as they are
// now, never from the ranking kept for a moment, and keeps it for the
// callers of Ranking: what is derived from it for as long as the data
// version stands (the public site) must not be a second old.
func (db *DB) FreshRanking(ctx context.Context, year int) (hromadabot.Ranking, error) {
	if err := validateYear(year); err != nil {
		return nil, err
	}
	now := db.Now()
	r, err := db.ranking(ctx, year)
	if err != nil {
		return nil, err
	}
	db.rankings.put(year, now, r)
	return r, nil
}

// computeRanking computes the year's ranking and keeps it. Everyone asking
// while it is computed waits for that one computation, which no single
// caller's cancellation stops.
func (db *DB) computeRanking(ctx context.Context, year int) (hromadabot.Ranking, error) {
	r, err, _ := db.rankings.computing.Do(strconv.Itoa(year), func() (any, error) {
		now := db.Now()
		r, err := db.ranking(context.WithoutCancel(ctx), year)
		if err == nil {
			db.rankings.put(year, now, r)
		}
		return r, err
	})
	if err != nil {
		return nil, err
	}
	return r.(hromadabot.Ranking), nil
}

// rankingTTL is how long a ranking is reused: the ranks a score card shows
// are at most a second old, whichever process saved the reports, and
// reports saved many times a second cost one national ranking a second.
const rankingTTL = time.Second

// rankingRefreshAfter is the age from which a ranking in use is computed
// anew in the background, a quarter of a second before it would expire:
// otherwise every second everyone asking would wait for the computation,
// tens of milliseconds at national scale.
const rankingRefreshAfter = rankingTTL * 3 / 4

// rankingCache keeps each year's latest ranking for a moment: every score
// card shows the community's rank, and scoring all 1,469 communities for
// every card would be most of the bot's work.
type rankingCache struct {
	mu        sync.Mutex
	byYear    map[int]cachedRanking
	computing singleflight.Group
	// refreshing are the years computed anew in the background now.
	refreshing map[int]bool
}

type cachedRanking struct {
	at      time.Time
	ranking hromadabot.Ranking
}

// get returns the year's latest ranking and its age. It is shared, not
// copied: a copy for every score card would be most of what the bot
// allocates.
func (c *rankingCache) get(year int, now time.Time) (hromadabot.Ranking, time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byYear[year]
	if !ok {
		return nil, 0, false
	}
	return e.ranking, now.Sub(e.at), true
}

// startRefresh reports whether the caller is to compute the year's ranking
// in the background: no other refresh of it is under way.
func (c *rankingCache) startRefresh(year int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refreshing[year] {
		return false
	}
	if c.refreshing == nil {
		c.refreshing = make(map[int]bool)
	}
	c.refreshing[year] = true
	return true
}

func (c *rankingCache) endRefresh(year int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.refreshing, year)
}

func (c *rankingCache) put(year int, now time.Time, r hromadabot.Ranking) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byYear == nil {
		c.byYear = make(map[int]cachedRanking)
	}
	c.byYear[year] = cachedRanking{at: now, ranking: r}
}

func (db *DB) ranking(ctx context.Context, year int) (hromadabot.Ranking, error) {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	var cs []struct {
		ID     int64  `db:"id"`
		Name   string `db:"name"`
		Oblast string `db:"oblast"`
	}
	if err := tx.SelectContext(ctx, &cs, sqlSelectRankingCommunities); err != nil {
		return nil, fmt.Errorf("select communities: %w", err)
	}
	values, err := communityValues(ctx, tx, sqlSelectAllCurrentValues)
	if err != nil {
		return nil, err
	}
	planOf, err := communityPlans(ctx, tx)
	if err != nil {
		return nil, err
	}
	entries := make([]hromadabot.RankEntry, len(cs))
	for i, c := range cs {
		s := hromadabot.ComputeScore(planOf(c.ID), values[c.ID], year)
		entries[i] = hromadabot.RankEntry{
			CommunityID: c.ID, Name: c.Name, Oblast: c.Oblast,
			Index: s.Index, PlanFulfillment: s.PlanFulfillment,
		}
	}
	return hromadabot.Rank(entries), nil
}

// communityValues reads rows of (community, indicator, value) that query
// selects into community id → indicator id → value.
func communityValues(ctx context.Context, tx *txn, query string, args ...any) (map[int64]map[int]float64, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("select values: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]map[int]float64)
	for rows.Next() {
		var cid int64
		var iid int
		var v float64
		if err := rows.Scan(&cid, &iid, &v); err != nil {
			return nil, fmt.Errorf("scan value: %w", err)
		}
		m := out[cid]
		if m == nil {
			m = make(map[int]float64, len(tx.db.plan.Indicators))
			out[cid] = m
		}
		m[iid] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select values: %w", err)
	}
	return out, nil
}

// communityPlans reads every community's own targets in one query and
// returns a function giving a community's plan: the default plan, or a copy
// of it with the community's own targets.
func communityPlans(ctx context.Context, tx *txn) (func(communityID int64) *hromadabot.Plan, error) {
	var targets []targetRow
	if err := tx.SelectContext(ctx, &targets, sqlSelectAllCommunityTargets); err != nil {
		return nil, fmt.Errorf("select community targets: %w", err)
	}
	own := make(map[int64][]targetRow)
	for _, t := range targets {
		own[t.CommunityID] = append(own[t.CommunityID], t)
	}
	return func(communityID int64) *hromadabot.Plan {
		if rows := own[communityID]; len(rows) > 0 {
			p := tx.db.plan.WithTargets(groupTargets(rows))
			return &p
		}
		return &tx.db.plan
	}, nil
}
