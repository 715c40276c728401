package site_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot/chart"
	"github.com/hromadabot/hromadabot/site"
	dbfixture "github.com/hromadabot/hromadabot/storage/fixture"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// benchSite is the site over a fixture: national unless -short. The
// fixture is opened read as it is: the site writes nothing.
func benchSite(b *testing.B) (*site.Site, *sqldb.DB) {
	b.Helper()
	scale := dbfixture.National
	if testing.Short() {
		scale = dbfixture.Small
	}
	path, _, err := dbfixture.Cached(context.Background(), scale)
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	db.Now = func() time.Time { return dbfixture.Now }
	s, err := site.New(site.Config{Records: db, Locales: mustCatalog(b), ScoreCard: chart.ScoreCard, Now: func() time.Time { return dbfixture.Now }})
	if err != nil {
		b.Fatal(err)
	}
	return s, db
}

// BenchmarkCommunityPageMiss makes community pages nobody asked for yet:
// the cost of a page after every change to the records.
func BenchmarkCommunityPageMiss(b *testing.B) {
	s, db := benchSite(b)
	cs, err := db.Communities(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	paths := make([]string, 0, 6*len(cs))
	for _, prefix := range []string{"", "/en"} {
		for _, y := range []string{"2027", "2026", "2025"} {
			for i := range cs {
				paths = append(paths, prefix+"/hromada/"+cs[i].Ref()+"?year="+y)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, paths[i%len(paths)], nil)
		req.Header.Set("Accept-Encoding", "gzip")
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d", req.URL, rec.Code)
		}
	}
}
