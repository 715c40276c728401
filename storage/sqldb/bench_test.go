package sqldb_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage/fixture"
	"github.com/hromadabot/hromadabot/storage/postgres"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// The benchmarks run at two scales of package fixture: fixture.Small, and
// fixture.National, whose database is built once (half a minute, about a
// gigabyte) in a file under os.TempDir() and reused by later runs; -short
// leaves it out.

// benchNow is the benchmarks' clock: after the last generated report.
var benchNow = fixture.Now

// benchScales returns the scales to run: national unless -short.
func benchScales() []fixture.Scale {
	if testing.Short() {
		return []fixture.Scale{fixture.Small}
	}
	return []fixture.Scale{fixture.Small, fixture.National}
}

// fixturePath returns a database file with the scale's data, building it if
// needed: the national one once per fixture version under os.TempDir(), the
// small one in the benchmark's own temporary directory.
func fixturePath(b *testing.B, s fixture.Scale) string {
	b.Helper()
	ctx := context.Background()
	if s.Communities > 0 {
		path := filepath.Join(b.TempDir(), "bench.db")
		if err := fixture.Build(ctx, path, s); err != nil {
			b.Fatal(err)
		}
		return path
	}
	start := time.Now()
	path, built, err := fixture.Cached(ctx, s)
	if err != nil {
		b.Fatal(err)
	}
	if built {
		b.Logf("built %s in %v", path, time.Since(start).Round(time.Second))
	}
	return path
}

// openFixture opens a fixture with the benchmark clock.
func openFixture(b *testing.B, path string) *sqldb.DB {
	b.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	db.Now = func() time.Time { return benchNow }
	return db
}

// engine opens a scale's fixture on one engine: to read, or a copy of
// its own to write.
type engine struct {
	name     string
	open     func(b *testing.B, s fixture.Scale) *sqldb.DB
	openCopy func(b *testing.B, s fixture.Scale) *sqldb.DB
}

// engines are SQLite and, with POSTGRES_URL set, PostgreSQL, holding the
// same rows: the PostgreSQL fixture is the SQLite one copied with Copy,
// in a database of its own kept between runs.
func engines(b *testing.B) []engine {
	es := []engine{{
		name: "sqlite",
		open: func(b *testing.B, s fixture.Scale) *sqldb.DB { return openFixture(b, fixturePath(b, s)) },
		openCopy: func(b *testing.B, s fixture.Scale) *sqldb.DB {
			path := filepath.Join(b.TempDir(), "bench.db")
			if err := fixture.Copy(fixturePath(b, s), path); err != nil {
				b.Fatal(err)
			}
			return openFixture(b, path)
		},
	}}
	server := os.Getenv("POSTGRES_URL")
	if server == "" {
		b.Log("POSTGRES_URL is not set: the benchmarks run on SQLite only")
		return es
	}
	pgFixture := func(b *testing.B, s fixture.Scale) string {
		start := time.Now()
		u, built, err := fixture.CachedPostgres(context.Background(), server, s)
		if err != nil {
			b.Fatal(err)
		}
		if built {
			b.Logf("built the %s fixture on PostgreSQL in %v", s.Name, time.Since(start).Round(time.Second))
		}
		return u
	}
	openPG := func(b *testing.B, u string) *sqldb.DB {
		db, err := postgres.Open(context.Background(), u)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		db.Now = func() time.Time { return benchNow }
		return db
	}
	return append(es, engine{
		name: "postgres",
		open: func(b *testing.B, s fixture.Scale) *sqldb.DB { return openPG(b, pgFixture(b, s)) },
		openCopy: func(b *testing.B, s fixture.Scale) *sqldb.DB {
			u, drop, err := fixture.CopyPostgres(context.Background(), server, pgFixture(b, s))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				if err := drop(); err != nil {
					b.Error(err)
				}
			})
			return openPG(b, u)
		},
	})
}

// communityIDs returns the ids of the fixture's communities.
func communityIDs(b *testing.B, db *sqldb.DB) []int64 {
	b.Helper()
	cs, err := db.Communities(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func BenchmarkScore(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchScales() {
		for _, e := range engines(b) {
			db := e.open(b, s)
			ids := communityIDs(b, db)
			b.Run(s.Name+"/"+e.name, func(b *testing.B) {
				i := 0
				for b.Loop() {
					sc, err := db.Score(ctx, ids[i%len(ids)], 2026)
					if err != nil {
						b.Fatal(err)
					}
					if len(sc.Indicators) != 23 {
						b.Fatalf("%d indicators scored", len(sc.Indicators))
					}
					i += 7
				}
			})
		}
	}
}

func BenchmarkRanking(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchScales() {
		for _, e := range engines(b) {
			db := e.open(b, s)
			n := len(communityIDs(b, db))
			// Uncached is the computation itself: every community scored and
			// ranked. Cached is what a score card pays while nothing changes.
			for _, v := range []struct {
				name    string
				ranking func(context.Context, int) (hromadabot.Ranking, error)
			}{{"Uncached", db.RankingUncached}, {"Cached", db.Ranking}} {
				b.Run(s.Name+"/"+v.name+"/"+e.name, func(b *testing.B) {
					for b.Loop() {
						r, err := v.ranking(ctx, 2026)
						if err != nil {
							b.Fatal(err)
						}
						if len(r) != n {
							b.Fatalf("%d ranked, want %d", len(r), n)
						}
					}
				})
			}
		}
	}
}

func BenchmarkCreateReport(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchScales() {
		for _, e := range engines(b) {
			// The benchmark writes, so it works on a copy and the cached fixture
			// stays as built.
			db := e.openCopy(b, s)
			ids := communityIDs(b, db)
			plan := db.DefaultPlan()
			b.Run(s.Name+"/"+e.name, func(b *testing.B) {
				i := 0
				for b.Loop() {
					ind := plan.Indicators[i%len(plan.Indicators)]
					v := float64(i % 101)
					if ind.Unit == hromadabot.UnitYesNo {
						v = float64(i % 2)
					}
					// Keyed by its update, as the bot's reports are.
					r := &hromadabot.Report{CommunityID: ids[i%len(ids)], IndicatorID: ind.ID, Value: v, Source: hromadabot.SourceTelegram,
						DedupKey: "telegram:" + strconv.Itoa(i)}
					if _, err := db.CreateReport(ctx, r, "telegram:1"); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkDigestAudience is the weekly digest's first query: every
// subscribed user who has not blocked the bot, the CDTOs (one a
// community, all subscribed) and two in five of the residents among them.
func BenchmarkDigestAudience(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchScales() {
		for _, e := range engines(b) {
			db := e.open(b, s)
			want := len(communityIDs(b, db))
			for i := range s.Residents {
				if i%5 < 2 && i%31 != 0 {
					want++
				}
			}
			b.Run(s.Name+"/"+e.name, func(b *testing.B) {
				for b.Loop() {
					us, err := db.Users(ctx, hromadabot.UserFilter{Subscribed: true, NotBlocked: true})
					if err != nil {
						b.Fatal(err)
					}
					if len(us) != want {
						b.Fatalf("%d subscribers, want %d", len(us), want)
					}
				}
			})
		}
	}
}

// BenchmarkScoresAsOf scores every community as its values stood at a
// time, from the report history: the digest does it for now and for a
// week ago, the reminders for now.
func BenchmarkScoresAsOf(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchScales() {
		for _, e := range engines(b) {
			db := e.open(b, s)
			n := len(communityIDs(b, db))
			b.Run(s.Name+"/"+e.name, func(b *testing.B) {
				i := 0
				for b.Loop() {
					// This week and the one before, as the digest asks.
					at := benchNow.AddDate(0, 0, -7*(i%2))
					scores, err := db.ScoresAsOf(ctx, 2026, at)
					if err != nil {
						b.Fatal(err)
					}
					if len(scores) != n {
						b.Fatalf("%d communities scored, want %d", len(scores), n)
					}
					i++
				}
			})
		}
	}
}
