package site_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/chart"
	"github.com/hromadabot/hromadabot/locales"
	"github.com/hromadabot/hromadabot/site"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// testNow is the tests' clock: a Wednesday in 2026.
var testNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// fixture is a database of every community with reports from a few, and
// the site over it.
type fixture struct {
	db     *sqldb.DB
	site   *site.Site
	server *httptest.Server
	// bucha, lviv and irpin reported; the rest did not.
	bucha, lviv, irpin *hromadabot.Community
	cdto               *hromadabot.User
}

var (
	catalogOnce sync.Once
	catalog     *locales.Catalog
)

func mustCatalog(tb testing.TB) *locales.Catalog {
	tb.Helper()
	catalogOnce.Do(func() {
		var err error
		if catalog, err = locales.New(); err != nil {
			panic(err)
		}
	})
	return catalog
}

// newFixture loads all 1,469 communities and reports for three of them:
// Бучанська in the weeks before testNow, Львівська and Ірпінська once.
func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "site.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	db.Now = func() time.Time { return testNow }
	all, err := hromadabot.Hromadas()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.LoadHromadas(ctx, all, "test"); err != nil {
		tb.Fatal(err)
	}
	f := &fixture{db: db}
	find := func(ref string) *hromadabot.Community {
		c, err := db.FindCommunity(ctx, ref)
		if err != nil {
			tb.Fatalf("find %s: %v", ref, err)
		}
		return c
	}
	f.bucha, f.lviv, f.irpin = find("Бучанська"), find("Львівська Львівська"), find("Ірпінська")
	var reports []hromadabot.Report
	for week, v := range []float64{10, 20, 35, 50} {
		at := testNow.AddDate(0, 0, -7*(4-week))
		reports = append(reports,
			hromadabot.Report{CommunityID: f.bucha.ID, IndicatorID: 1, Value: v, Source: hromadabot.SourceImport, CreatedAt: at, Comment: "тиждень <" + strconv.Itoa(week) + ">"},
			hromadabot.Report{CommunityID: f.bucha.ID, IndicatorID: 11, Value: 1, Source: hromadabot.SourceImport, CreatedAt: at, Evidence: "https://bucha.example/metadata?a=1&b=2"})
	}
	reports = append(reports,
		hromadabot.Report{CommunityID: f.lviv.ID, IndicatorID: 2, Value: 90, Source: hromadabot.SourceImport, CreatedAt: testNow.AddDate(0, 0, -3)},
		hromadabot.Report{CommunityID: f.lviv.ID, IndicatorID: 5, Value: 100, Source: hromadabot.SourceImport, CreatedAt: testNow.AddDate(0, 0, -3)},
		hromadabot.Report{CommunityID: f.irpin.ID, IndicatorID: 3, Value: 5, Source: hromadabot.SourceImport, CreatedAt: testNow.AddDate(0, 0, -40)})
	if err := db.CreateReports(ctx, reports, "test"); err != nil {
		tb.Fatal(err)
	}
	if f.cdto, err = db.EnsureUser(ctx, hromadabot.PlatformTelegram, "100", hromadabot.LangUK); err != nil {
		tb.Fatal(err)
	}
	code, err := db.CreateInvite(ctx, f.irpin.ID, "test")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.AcceptInvite(ctx, code, f.cdto.ID); err != nil {
		tb.Fatal(err)
	}
	f.site, err = site.New(site.Config{
		Records: db, Locales: mustCatalog(tb), ScoreCard: chart.ScoreCard,
		// Every request reads the data version: a test sees its own writes.
		RefreshEvery: -1,
		Now:          func() time.Time { return testNow },
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.server = httptest.NewServer(f.site.Handler())
	tb.Cleanup(f.server.Close)
	return f
}

// do asks the site as a client that takes no gzip unless asked and
// follows no redirect, and returns the answer with its body, decompressed.
// A "Host: h" header is sent as the request's host.
func (f *fixture) do(tb testing.TB, method, path string, headers ...string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, f.server.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		if v = strings.TrimSpace(v); strings.EqualFold(k, "Host") {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	// Compression is the test's to ask for and to undo.
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			tb.Fatalf("%s %s: gzip: %v", method, path, err)
		}
		r = zr
	}
	body, err := io.ReadAll(r)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, body
}

// get is do for a GET, with the body as text.
func (f *fixture) get(tb testing.TB, path string, headers ...string) (*http.Response, string) {
	tb.Helper()
	resp, body := f.do(tb, http.MethodGet, path, headers...)
	return resp, string(body)
}

func TestPages(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, path string
		status     int
		contains   []string
		lacks      []string
	}{
		{"ranking", "/", 200, []string{`<html lang="uk">`, "Бучанська", "Львівська", "ще не звітувала", "1469 громад, з них звітували 3"}, nil},
		{"ranking in English", "/en/", 200, []string{`<html lang="en">`, "Buchanska", "Lvivska", "no reports yet", "Kyivska oblast"}, []string{"Бучанська"}},
		{"filtered by oblast", "/?oblast=kyivska", 200, []string{"Бучанська", "Ірпінська"}, []string{">Львівська</a>"}},
		{"filtered by type", "/?type=silska", 200, []string{"Агрономічна"}, []string{">Бучанська</a>"}},
		{"search by centre", "/?q=Буча", 200, []string{">Бучанська</a>"}, nil},
		{"search in Latin", "/?q=bucha", 200, []string{">Бучанська</a>"}, nil},
		{"search with an apostrophe", "/?q=Кам’янець", 200, []string{"Кам’янець-Подільська"}, nil},
		{"community", "/hromada/" + f.bucha.Code, 200, []string{"<h1>Бучанська</h1>", "Аналіз наявності", "50%", "https://bucha.example/metadata?a=1&amp;b=2", "тиждень &lt;3&gt;", "<polyline"}, nil},
		{"community in English", "/en/hromada/" + f.bucha.Code, 200, []string{"<h1>Buchanska</h1>", "Buchanska urban territorial community", "centre: Bucha", "residents (2022)"}, nil},
		{"community with no report", "/hromada/UA05020010000053508", 200, []string{"<h1>Агрономічна</h1>", "ще не звітувала", "Громада ще не подала жодного звіту."}, []string{"<polyline"}},
		{"oblast", "/oblast/kyivska", 200, []string{"Київська область", ">Бучанська</a>", "Звітували цього тижня"}, []string{">Львівська</a>"}},
		{"methodology", "/methodology", 200, []string{`id="українською"`, `href="#%D1%83%D0%BA%D1%80%D0%B0%D1%97%D0%BD%D1%81%D1%8C%D0%BA%D0%BE%D1%8E"`, "Digital index"}, nil},
		{"about", "/about", 200, []string{"/data/values.csv", "/api/v1/openapi.json"}, nil},
		{"unknown page", "/nope", 404, []string{"Сторінку не знайдено", `<html lang="uk">`}, nil},
		{"unknown page in English", "/en/nope", 404, []string{"Page not found", `<html lang="en">`}, nil},
		{"unknown community", "/hromada/UA00000000000000000", 404, []string{"Сторінку не знайдено"}, nil},
		{"bad year", "/?year=1999", 400, []string{"Неправильний запит", "«year»", "«1999»"}, nil},
		{"bad sort", "/en/?sort=evil", 400, []string{"Bad request", "“sort”"}, nil},
		{"bad oblast", "/?oblast=%3Cscript%3E", 400, []string{"&lt;script&gt;"}, []string{"<script>"}},
		{"oblast filter on an oblast page", "/oblast/kyivska?oblast=lvivska", 400, []string{"«oblast»"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.get(t, tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s: %d, want %d\n%s", tc.path, resp.StatusCode, tc.status, clipBody(body))
			}
			for _, s := range tc.contains {
				if !strings.Contains(body, s) {
					t.Errorf("GET %s lacks %q", tc.path, s)
				}
			}
			for _, s := range tc.lacks {
				if strings.Contains(body, s) {
					t.Errorf("GET %s has %q", tc.path, s)
				}
			}
		})
	}
}

func clipBody(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

func TestSearchOrder(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ q, first string }{
		{"Буча", "Бучанська"},   // the centre beats the raion's other communities
		{"bucha", "Бучанська"},  // in Latin letters
		{"Ірпінь", "Ірпінська"}, // a centre whose name differs from the community's
		{"миколаївська", "Миколаївська"},
	} {
		_, body := f.get(t, "/?q="+url.QueryEscape(tc.q))
		m := firstCommunity.FindStringSubmatch(body)
		if m == nil || m[1] != tc.first {
			t.Errorf("q=%s: first community %v, want %s", tc.q, m, tc.first)
		}
	}
}

var firstCommunity = regexp.MustCompile(`class="community" href="[^"]*">([^<]*)<`)

func TestHeaders(t *testing.T) {
	f := newFixture(t)
	resp, _ := f.get(t, "/", "Accept-Encoding: gzip")
	for k, want := range map[string]string{
		"Content-Encoding":       "gzip",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "strict-origin-when-cross-origin",
		"Content-Type":           "text/html; charset=utf-8",
		"Vary":                   "Accept-Encoding",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy %q allows inline code", csp)
	}
	if resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" {
		t.Errorf("no ETag or Last-Modified: %v", resp.Header)
	}

	plain, body := f.get(t, "/")
	if plain.Header.Get("Content-Encoding") != "" || !strings.Contains(body, "Бучанська") {
		t.Errorf("without gzip: encoding %q, body %q", plain.Header.Get("Content-Encoding"), clipBody(body))
	}
}

func TestConditionalRequests(t *testing.T) {
	f := newFixture(t)
	first, _ := f.get(t, "/api/v1/ranking")
	etag, modified := first.Header.Get("ETag"), first.Header.Get("Last-Modified")
	if resp, body := f.get(t, "/api/v1/ranking", "If-None-Match: "+etag); resp.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("If-None-Match: %d %q, want 304 and no body", resp.StatusCode, body)
	}
	if resp, _ := f.get(t, "/api/v1/ranking", "If-Modified-Since: "+modified); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-Modified-Since: %d, want 304", resp.StatusCode)
	}

	// A new report changes the answer at once (RefreshEvery < 0): the old
	// tag no longer matches.
	r := &hromadabot.Report{CommunityID: f.irpin.ID, IndicatorID: 7, Value: 80, ReporterID: f.cdto.ID, Source: hromadabot.SourceTelegram}
	if _, err := f.db.CreateReport(context.Background(), r, f.cdto.Ref()); err != nil {
		t.Fatal(err)
	}
	resp, body := f.get(t, "/api/v1/ranking", "If-None-Match: "+etag)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag {
		t.Fatalf("after a report: %d with ETag %s (was %s)", resp.StatusCode, resp.Header.Get("ETag"), etag)
	}
	if !strings.Contains(body, `"community_id":`+strconv.FormatInt(f.irpin.ID, 10)) {
		t.Fatalf("ranking lacks the community: %s", clipBody(body))
	}
}

// TestNewReportShows checks the default refresh: a saved report shows once
// the data version is next read, at most a second later, and until then
// the answer kept is served without reading the records again.
func TestNewReportShows(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	now := testNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	s, err := site.New(site.Config{Records: f.db, Locales: mustCatalog(t), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	path := srv.URL + "/api/v1/communities/" + f.irpin.Code
	index := func() float64 {
		t.Helper()
		resp, err := http.Get(path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got struct {
			Index float64 `json:"index"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		return got.Index
	}
	before := index()
	r := &hromadabot.Report{CommunityID: f.irpin.ID, IndicatorID: 7, Value: 80, ReporterID: f.cdto.ID, Source: hromadabot.SourceTelegram}
	if _, err := f.db.CreateReport(context.Background(), r, f.cdto.Ref()); err != nil {
		t.Fatal(err)
	}
	advance(500 * time.Millisecond)
	if got := index(); got != before {
		t.Errorf("half a second after the report: index %v, want the kept %v", got, before)
	}
	advance(500 * time.Millisecond)
	if got := index(); got <= before {
		t.Errorf("a second after the report: index %v, want more than %v", got, before)
	}
}

func TestReadOnly(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/", "/hromada/" + f.bucha.Code, "/api/v1/ranking"} {
		resp, err := http.Post(f.server.URL+path, "application/x-www-form-urlencoded", strings.NewReader("a=1"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d, want 405", path, resp.StatusCode)
		}
	}
}

func TestOblastPlaces(t *testing.T) {
	f := newFixture(t)
	// Nationally Бучанська and Ірпінська are behind Львівська; in Київська
	// oblast they are first and second, also when a search leaves one.
	for _, tc := range []struct{ path, name, place string }{
		{"/oblast/kyivska", "Бучанська", "1"},
		{"/oblast/kyivska", "Ірпінська", "2"},
		{"/oblast/kyivska?q=Ірпінь", "Ірпінська", "2"},
	} {
		_, body := f.get(t, tc.path)
		m := regexp.MustCompile(`<td class="num">(\d+)</td>\s*<th scope="row"><a class="community" href="[^"]*">` + tc.name + `<`).FindStringSubmatch(body)
		if m == nil || m[1] != tc.place {
			t.Errorf("%s: %s's place %v, want %s", tc.path, tc.name, m, tc.place)
		}
	}
}

// TestCacheKeys checks what an answer kept for one request may be served
// for: never for another host (its links name the host when no base URL is
// configured), and for the same request with parameters the route does not
// read, which change nothing.
func TestCacheKeys(t *testing.T) {
	f := newFixture(t)
	ogURL := regexp.MustCompile(`<meta property="og:url" content="([^"]*)">`)
	t.Run("Host", func(t *testing.T) {
		for _, host := range []string{"one.example", "two.example", "one.example"} {
			_, body := f.get(t, "/hromada/"+f.bucha.Code, "Host: "+host)
			m := ogURL.FindStringSubmatch(body)
			if want := "http://" + host + "/hromada/" + f.bucha.Code; m == nil || m[1] != want {
				t.Errorf("Host %s: og:url %q, want %q", host, m, want)
			}
		}
	})
	t.Run("UnreadParameters", func(t *testing.T) {
		for _, tc := range []struct{ plain, extra string }{
			{"/", "/?utm_source=chat&_=1"},
			{"/?year=2025", "/?utm_source=chat&year=2025"},
			{"/?year=2025", "/?year=2025&year=2027"},
			{"/hromada/" + f.bucha.Code + "?year=2026", "/hromada/" + f.bucha.Code + "?year=2026&q=x&sort=name"},
			{"/api/v1/indicators", "/api/v1/indicators?year=2025"},
			{"/data/scores.csv?year=2026", "/data/scores.csv?fbclid=1&year=2026"},
		} {
			plain, plainBody := f.get(t, tc.plain)
			extra, extraBody := f.get(t, tc.extra)
			if plain.StatusCode != http.StatusOK || extra.StatusCode != http.StatusOK {
				t.Errorf("%s: %d, %s: %d, want 200", tc.plain, plain.StatusCode, tc.extra, extra.StatusCode)
				continue
			}
			if plain.Header.Get("ETag") != extra.Header.Get("ETag") || plainBody != extraBody {
				t.Errorf("%s answers other than %s (ETag %s, %s)", tc.extra, tc.plain, extra.Header.Get("ETag"), plain.Header.Get("ETag"))
			}
			if strings.Contains(extraBody, "utm_source") || strings.Contains(extraBody, "fbclid") {
				t.Errorf("%s: a parameter the page does not read is in its links", tc.extra)
			}
		}
	})
}

// TestCommunityReferences checks that a community asked for by its id or
// by its code in lower case is sent to its own address, and that a
// reference of no community is not found.
func TestCommunityReferences(t *testing.T) {
	f := newFixture(t)
	id := strconv.FormatInt(f.bucha.ID, 10)
	lower := strings.ToLower(f.bucha.Code)
	for _, tc := range []struct {
		path, location string
		status         int
	}{
		{"/hromada/" + id, "/hromada/" + f.bucha.Code, http.StatusMovedPermanently},
		{"/hromada/" + lower + "?year=2025", "/hromada/" + f.bucha.Code + "?year=2025", http.StatusMovedPermanently},
		{"/en/hromada/" + id, "/en/hromada/" + f.bucha.Code, http.StatusMovedPermanently},
		{"/api/v1/communities/" + id, "/api/v1/communities/" + f.bucha.Code, http.StatusMovedPermanently},
		{"/chart/" + lower + "/2026.png", "/chart/" + f.bucha.Code + "/2026.png", http.StatusMovedPermanently},
		{"/hromada/" + f.bucha.Code, "", http.StatusOK},
		{"/hromada/999999", "", http.StatusNotFound},
		{"/hromada/0" + id, "", http.StatusNotFound},
		{"/api/v1/communities/ua00000000000000000", "", http.StatusNotFound},
	} {
		resp, _ := f.get(t, tc.path)
		if resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.location {
			t.Errorf("GET %s: %d to %q, want %d to %q", tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.status, tc.location)
		}
	}
}
