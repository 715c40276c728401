package sqldb

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/hromadabot/hromadabot"
)

const (
	sqlSelectDirectory = `SELECT ` + communityColumns + `, search_key FROM communities`
)

// maxCachedSearches bounds the answers a directory keeps; past it they are
// dropped all at once, which costs one scan each to rebuild.
const maxCachedSearches = 4096

// directory keeps every community, and the plans of those asked about, in
// memory: residents look communities up by name with almost every question
// and each score card needs the community's plan, and a scan of 1,469
// search keys in Go costs a fraction of the same LIKE scan in SQLite. It is
// loaded again whenever catalog_changes moves, whichever process changed
// the communities or their targets, and remembers recent answers by search
// key.
type directory struct {
	mu       sync.Mutex
	loaded   bool
	changes  int64
	entries  []directoryEntry
	byID     map[int64]int // index into entries
	searches map[string][]searchResult
	// plans are the community plans read so far, nil for the default plan.
	plans map[int64]*hromadabot.Plan
}

type directoryEntry struct {
	hromadabot.Community
	SearchKey string `db:"search_key"`
}

// search returns the scored matches of key (a hromadabot.SearchKey of at
// most maxSearchWords words), best first. The results are shared: callers
// copy what they hand out.
func (d *directory) search(ctx context.Context, db *DB, key string) ([]searchResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.refresh(ctx, db); err != nil {
		return nil, err
	}
	if rs, ok := d.searches[key]; ok {
		return rs, nil
	}
	rs := d.scan(key)
	if d.searches == nil || len(d.searches) >= maxCachedSearches {
		d.searches = make(map[string][]searchResult)
	}
	d.searches[key] = rs
	return rs, nil
}

// refresh loads the communities again if the catalogue changed since they
// were loaded, and forgets the answers and plans of before. d.mu is held.
func (d *directory) refresh(ctx context.Context, db *DB) error {
	ch, err := db.changes(ctx)
	if err != nil {
		return err
	}
	if d.loaded && d.changes == ch.catalog {
		return nil
	}
	var entries []directoryEntry
	if err := db.read.SelectContext(ctx, &entries, sqlSelectDirectory); err != nil {
		return fmt.Errorf("select communities: %w", err)
	}
	byID := make(map[int64]int, len(entries))
	for i := range entries {
		byID[entries[i].ID] = i
	}
	d.loaded, d.changes, d.entries, d.byID = true, ch.catalog, entries, byID
	d.searches, d.plans = nil, nil
	return nil
}

// community returns a copy of the community with the id, or ENOTFOUND.
func (d *directory) community(ctx context.Context, db *DB, id int64) (*hromadabot.Community, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.refresh(ctx, db); err != nil {
		return nil, err
	}
	i, ok := d.byID[id]
	if !ok {
		return nil, errNotFound("community_not_found", "community %d not found", id)
	}
	c := d.entries[i].Community
	return &c, nil
}

// plan returns the community's plan, shared and read-only: the default plan
// or one with the community's own targets; ENOTFOUND for an unknown
// community.
func (d *directory) plan(ctx context.Context, db *DB, communityID int64) (*hromadabot.Plan, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.refresh(ctx, db); err != nil {
		return nil, err
	}
	if _, ok := d.byID[communityID]; !ok {
		return nil, errNotFound("community_not_found", "community %d not found", communityID)
	}
	p, ok := d.plans[communityID]
	if !ok {
		var rows []targetRow
		if err := db.read.SelectContext(ctx, &rows, sqlSelectCommunityTargets, communityID); err != nil {
			return nil, fmt.Errorf("select community targets: %w", err)
		}
		if len(rows) > 0 {
			own := db.plan.WithTargets(groupTargets(rows))
			p = &own
		}
		if d.plans == nil {
			d.plans = make(map[int64]*hromadabot.Plan)
		}
		d.plans[communityID] = p
	}
	if p == nil {
		return &db.plan, nil
	}
	return p, nil
}

// scan matches key against every community: each word must occur in the
// community's search key, and hromadabot.SearchMatch scores the rest.
func (d *directory) scan(key string) []searchResult {
	words := strings.Fields(key)
	var rs []searchResult
	for i := range d.entries {
		e := &d.entries[i]
		if !containsAll(e.SearchKey, words) {
			continue
		}
		if s := hromadabot.SearchMatch(&e.Community, key); s > 0 {
			rs = append(rs, searchResult{Community: e.Community, score: s})
		}
	}
	slices.SortFunc(rs, func(a, b searchResult) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		if a.Population != b.Population {
			return cmp.Compare(b.Population, a.Population)
		}
		if c := hromadabot.CompareUkrainian(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return rs
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}
