package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// The benchmarks run at two scales. "small" is 50 communities with half a
// year of reports and 2,000 residents. "national" is all 1,469 communities
// with three years of weekly reports on all 23 indicators, about 5.3
// million reports, and 100,000 residents: its fixture is built once (half
// a minute, about a gigabyte) in a file under os.TempDir() and reused by
// later runs; -short leaves it out.

// fixtureVersion names the cached national fixture; bump it whenever the
// generated data or the schema it is generated into changes.
const fixtureVersion = 2

// benchNow is the benchmarks' clock: after the last generated report.
var benchNow = time.Date(2028, 1, 3, 9, 0, 0, 0, time.UTC)

// benchScale is the size of a benchmark fixture.
type benchScale struct {
	name        string
	communities int // 0 = the whole registry
	weeks       int
	residents   int
}

var (
	smallScale    = benchScale{name: "small", communities: 50, weeks: 26, residents: 2000}
	nationalScale = benchScale{name: "national", weeks: 156, residents: 100000}
)

// benchScales returns the scales to run: national unless -short.
func benchScales() []benchScale {
	if testing.Short() {
		return []benchScale{smallScale}
	}
	return []benchScale{smallScale, nationalScale}
}

var fixtureMu sync.Mutex

// fixturePath returns a database file with the scale's data, building it if
// needed: the national one once per fixture version under os.TempDir(), the
// small one in the benchmark's own temporary directory.
func fixturePath(b *testing.B, s benchScale) string {
	b.Helper()
	fixtureMu.Lock()
	defer fixtureMu.Unlock()

	if s.communities > 0 {
		path := filepath.Join(b.TempDir(), "bench.db")
		buildFixture(b, path, s)
		return path
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("hromadabot-bench-v%d-%s.db", fixtureVersion, s.name))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	// Built under another name and renamed when complete, so that an
	// interrupted build is never taken for a fixture.
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	start := time.Now()
	buildFixture(b, tmp, s)
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s in %v", path, time.Since(start).Round(time.Second))
	return path
}

// buildFixture fills a new database with the registry's communities, one
// CDTO each, and weekly reports on every indicator. Reports are generated in
// SQL, since going through CreateReport would take hours at national scale;
// the audit log is left out, as no benchmarked path reads it.
func buildFixture(b *testing.B, path string, s benchScale) {
	b.Helper()
	ctx := context.Background()
	cs, err := hromadabot.Hromadas()
	if err != nil {
		b.Fatal(err)
	}
	if s.communities > 0 {
		cs = cs[:s.communities]
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.LoadHromadas(ctx, cs, "bench"); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}

	raw, err := sql.Open("sqlite3", path+"?_journal_mode=WAL&_synchronous=OFF&_cache_size=-262144")
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	for _, step := range []struct {
		q    string
		args []any
	}{{fixtureUsers, nil}, {fixtureReports, []any{s.weeks - 1}}, {fixtureCurrentValues, nil},
		{fixtureResidents, []any{s.residents}}, {`ANALYZE`, nil}} {
		if _, err := raw.ExecContext(ctx, step.q, step.args...); err != nil {
			b.Fatalf("build fixture: %v\n%s", err, step.q)
		}
	}
	if err := raw.Close(); err != nil {
		b.Fatal(err)
	}
}

const (
	fixtureUsers = `
INSERT INTO users (platform, platform_id, language, role, community_id, subscribed, blocked, created_at, last_seen_at)
SELECT 'telegram', 100000 + id, 'uk', 'cdto', id, 1, 0, '2025-01-01T09:00:00.000Z', '2025-01-01T09:00:00.000Z'
FROM communities`

	// Residents spread over the communities: one in ten speaks English, two
	// in five take the weekly digest, one in 31 has blocked the bot.
	fixtureResidents = `
WITH RECURSIVE n (i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1),
c (id, k) AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 FROM communities)
INSERT INTO users (platform, platform_id, language, role, community_id, subscribed, blocked, created_at, last_seen_at)
SELECT 'telegram', 1000000 + i, CASE WHEN i % 10 = 0 THEN 'en' ELSE 'uk' END, 'resident', c.id,
       i % 5 < 2, i % 31 = 0, '2025-03-01T09:00:00.000Z', '2025-06-01T09:00:00.000Z'
FROM n JOIN c ON c.k = (n.i * 7919) % (SELECT COUNT(*) FROM communities)`

	// Every CDTO reports every indicator weekly from 2025-01-06, at a
	// community's own pace: percent values grow by 0.1–1.0 points a week,
	// yes/no ones turn "yes" in some week. Rows go in (community, indicator,
	// time) order, which is how they sit in the two largest indexes.
	fixtureReports = `
WITH RECURSIVE weeks (w) AS (SELECT 0 UNION ALL SELECT w + 1 FROM weeks WHERE w < ?1)
INSERT INTO reports (community_id, indicator_id, value, comment, evidence, reporter_id, source, created_at, dedup_key)
SELECT c.id, i.id,
       CASE WHEN i.unit = 'yesno' THEN (w >= (c.id * 7 + i.id * 13) % 150)
            ELSE MIN(100.0, ROUND(w * ((c.id * 31 + i.id * 17) % 91 + 10) / 100.0, 1)) END,
       '', '', u.id, 'telegram',
       strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-06 09:00:00', '+' || (w * 7) || ' days', '+' || ((c.id * 13 + i.id) % 600) || ' minutes'),
       ''
FROM communities c
JOIN users u ON u.community_id = c.id AND u.role = 'cdto'
CROSS JOIN indicators i
CROSS JOIN weeks
ORDER BY c.id, i.id, w`

	fixtureCurrentValues = `
INSERT INTO current_values (community_id, indicator_id, report_id, value, updated_at)
SELECT community_id, indicator_id, id, value, created_at
FROM (SELECT community_id, indicator_id, id, value, created_at,
             ROW_NUMBER() OVER (PARTITION BY community_id, indicator_id ORDER BY created_at DESC, id DESC) AS n
      FROM reports WHERE retracted_at IS NULL)
WHERE n = 1`
)

// openFixture opens a fixture with the benchmark clock.
func openFixture(b *testing.B, path string) *sqlite.DB {
	b.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	db.Now = func() time.Time { return benchNow }
	return db
}

// communityIDs returns the ids of the fixture's communities.
func communityIDs(b *testing.B, db *sqlite.DB) []int64 {
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
		db := openFixture(b, fixturePath(b, s))
		ids := communityIDs(b, db)
		b.Run(s.name, func(b *testing.B) {
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

func BenchmarkRanking(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchScales() {
		db := openFixture(b, fixturePath(b, s))
		n := len(communityIDs(b, db))
		// Uncached is the computation itself: every community scored and
		// ranked. Cached is what a score card pays while nothing changes.
		for _, v := range []struct {
			name    string
			ranking func(context.Context, int) (hromadabot.Ranking, error)
		}{{"Uncached", db.RankingUncached}, {"Cached", db.Ranking}} {
			b.Run(s.name+"/"+v.name, func(b *testing.B) {
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

func BenchmarkCreateReport(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchScales() {
		// The benchmark writes, so it works on a copy and the cached fixture
		// stays as built.
		path := filepath.Join(b.TempDir(), "bench.db")
		copyFile(b, fixturePath(b, s), path)
		db := openFixture(b, path)
		ids := communityIDs(b, db)
		plan := db.DefaultPlan()
		b.Run(s.name, func(b *testing.B) {
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

// BenchmarkDigestAudience is the weekly digest's first query: every
// subscribed user who has not blocked the bot, the CDTOs (one a
// community, all subscribed) and two in five of the residents among them.
func BenchmarkDigestAudience(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchScales() {
		db := openFixture(b, fixturePath(b, s))
		want := len(communityIDs(b, db))
		for i := range s.residents {
			if i%5 < 2 && i%31 != 0 {
				want++
			}
		}
		b.Run(s.name, func(b *testing.B) {
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

// BenchmarkScoresAsOf scores every community as its values stood at a
// time, from the report history: the digest does it for now and for a
// week ago, the reminders for now.
func BenchmarkScoresAsOf(b *testing.B) {
	ctx := context.Background()
	for _, s := range benchScales() {
		db := openFixture(b, fixturePath(b, s))
		n := len(communityIDs(b, db))
		b.Run(s.name, func(b *testing.B) {
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

func copyFile(b *testing.B, from, to string) {
	b.Helper()
	src, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		b.Fatal(err)
	}
}
