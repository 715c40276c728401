package sqlite

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
	sqlSelectCommunityChanges = `SELECT n FROM community_changes WHERE id = 1`
	sqlSelectDirectory        = `SELECT ` + communityColumns + `, search_key FROM communities`
)

// maxCachedSearches bounds the answers a directory keeps; past it they are
// dropped all at once, which costs one scan each to rebuild.
const maxCachedSearches = 4096

// directory keeps every community in memory for search: residents look
// communities up by name with almost every question, and a scan of 1,469
// search keys in Go costs a fraction of the same LIKE scan in SQLite. It is
// loaded again whenever community_changes moves, whichever process changed
// the communities, and remembers recent answers by search key.
type directory struct {
	mu       sync.Mutex
	loaded   bool
	changes  int64
	entries  []directoryEntry
	searches map[string][]searchResult
}

type directoryEntry struct {
	hromadabot.Community
	SearchKey string `db:"search_key"`
}

// search returns the scored matches of key (a hromadabot.SearchKey of at
// most maxSearchWords words), best first. The results are shared: callers
// copy what they hand out.
func (d *directory) search(ctx context.Context, db *DB, key string) ([]searchResult, error) {
	var changes int64
	if err := db.read.GetContext(ctx, &changes, sqlSelectCommunityChanges); err != nil {
		return nil, fmt.Errorf("select community changes: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.loaded || d.changes != changes {
		var entries []directoryEntry
		if err := db.read.SelectContext(ctx, &entries, sqlSelectDirectory); err != nil {
			return nil, fmt.Errorf("select communities: %w", err)
		}
		d.loaded, d.changes, d.entries, d.searches = true, changes, entries, nil
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
