package sqldb_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage/recordtest"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// openDB opens a store in a fresh SQLite file: the caches are sqldb's,
// the same above every engine.
func openDB(t *testing.T) (*sqldb.DB, *recordtest.Clock) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hromada.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := recordtest.NewClock(time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC))
	db.SetClock(clock.Now)
	return db, clock
}

// TestRankingCache: a ranking is computed once a second at most, and
// computed anew in the background before it expires.
func TestRankingCache(t *testing.T) {
	ctx := context.Background()

	// rankedOne opens a database with two communities, reports on the first
	// and returns the ranking computed then.
	rankedOne := func(t *testing.T) (db *sqldb.DB, clock *recordtest.Clock, a, b *hromadabot.Community, first hromadabot.Ranking) {
		t.Helper()
		db, clock = openDB(t)
		a = recordtest.MustCreateCommunity(t, db, "Бучанська", "Київська")
		b = recordtest.MustCreateCommunity(t, db, "Ірпінська", "Київська")
		recordtest.MustCreateReport(t, db, a.ID, 1, 50, 0)
		first, err := db.Ranking(ctx, 2025)
		if err != nil {
			t.Fatal(err)
		}
		return db, clock, a, b, first
	}

	t.Run("OKCachedForASecond", func(t *testing.T) {
		db, clock, a, b, first := rankedOne(t)
		again, err := db.Ranking(ctx, 2025)
		if err != nil {
			t.Fatal(err)
		}
		if &again[0] != &first[0] {
			t.Fatal("ranking computed again within the second")
		}
		if again[0].CommunityID != a.ID || again[0].Rank != 1 {
			t.Fatalf("ranking before the write = %+v", again)
		}
		// A report shows a second later at the latest, however many follow
		// it; until then callers get the same ranking.
		recordtest.MustCreateReport(t, db, b.ID, 1, 80, 0)
		clock.Add(999 * time.Millisecond)
		if same, err := db.Ranking(ctx, 2025); err != nil || &same[0] != &first[0] {
			t.Fatalf("ranking computed again within the second after a write (%v)", err)
		}
		clock.Add(time.Millisecond)
		after, err := db.Ranking(ctx, 2025)
		if err != nil {
			t.Fatal(err)
		}
		if after[0].CommunityID != b.ID || after[1].CommunityID != a.ID {
			t.Fatalf("ranking after the write = %+v, want Ірпінська first", after)
		}
	})

	t.Run("OKComputedAgainBeforeItExpires", func(t *testing.T) {
		db, clock, _, b, first := rankedOne(t)
		recordtest.MustCreateReport(t, db, b.ID, 1, 80, 0)
		// In use three quarters of a second on, the ranking is still the
		// one computed, and a new one is computed in the background.
		clock.Add(800 * time.Millisecond)
		if same, err := db.Ranking(ctx, 2025); err != nil || &same[0] != &first[0] {
			t.Fatalf("a caller waited for the ranking before it expired (%v)", err)
		}
		db.WaitBackground()
		next, err := db.Ranking(ctx, 2025)
		if err != nil {
			t.Fatal(err)
		}
		if next[0].CommunityID != b.ID {
			t.Fatalf("ranking after the background computation = %+v, want Ірпінська first", next)
		}
	})

}
