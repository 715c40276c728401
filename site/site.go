// Package site is the public web site of the index: the national ranking,
// a page per community and per oblast, the methodology, the open data as
// downloads and a JSON API, all read-only and served from the same records
// as the bot. Pages are rendered on the server and work without JavaScript;
// Ukrainian is at /, English at /en/.
//
// Everything the site shows is derived from a snapshot of the records that
// is taken again when their data version moves (checked at most once per
// RefreshEvery), and each response is kept, compressed, until then: a
// caller polling a page costs a map lookup, or a 304.
package site

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/locales"
	"github.com/hromadabot/hromadabot/opendata"
)

// Records is what the site reads: the open data's source and a little more.
type Records interface {
	opendata.Source
	Plan(ctx context.Context, communityID int64) (*hromadabot.Plan, error)
	// ValueHistory is the values of a community's reports, oldest first;
	// CurrentReports its current report of each indicator.
	ValueHistory(ctx context.Context, communityID int64) ([]hromadabot.ValuePoint, error)
	CurrentReports(ctx context.Context, communityID int64) ([]hromadabot.Report, error)
	Reports(ctx context.Context, f hromadabot.ReportFilter) ([]hromadabot.Report, error)
	LastReportTimes(ctx context.Context) (map[int64]time.Time, error)
	DataVersion(ctx context.Context) (int64, error)
	// FreshRanking is Ranking computed now: a snapshot keeps it for as
	// long as the data version stands.
	FreshRanking(ctx context.Context, year int) (hromadabot.Ranking, error)
}

// Config configures a Site.
type Config struct {
	Records Records
	Locales *locales.Catalog
	// ScoreCard draws a community's score card as PNG; SVG, when set, as
	// SVG. Nil leaves the card's URL unserved.
	ScoreCard    func(score *hromadabot.Score, plan *hromadabot.Plan, lang string) ([]byte, error)
	ScoreCardSVG func(score *hromadabot.Score, plan *hromadabot.Plan, lang string) ([]byte, error)
	// BaseURL is the site's public origin ("https://index.example.org"),
	// for the sitemap and the links shared in chats; empty takes the
	// request's host.
	BaseURL string
	// RefreshEvery is how often the data version is read (default 1s): a
	// new report shows within about that. Below zero, every request reads
	// it.
	RefreshEvery time.Duration
	// CacheBytes bounds the responses kept, compressed, outside the Go
	// heap (default 16 MiB, of which every community page of the country
	// takes about 7.5; memory becomes resident only as it is filled).
	CacheBytes int
	Now        func() time.Time
	Log        *slog.Logger
}

// Site serves the public web site.
type Site struct {
	cfg   Config
	base  *url.URL
	pages *pages
	snap  *snapshots
	cache *responses
	mux   *http.ServeMux
	years []int
	// making bounds the answers made at once.
	making chan struct{}
}

// New returns the site over cfg.Records.
func New(cfg Config) (*Site, error) {
	if cfg.Records == nil || cfg.Locales == nil {
		return nil, errors.New("site: records and locales are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.RefreshEvery == 0 {
		cfg.RefreshEvery = time.Second
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = 16 << 20
	}
	s := &Site{cfg: cfg, years: planYears(cfg.Records.DefaultPlan()), making: make(chan struct{}, runtime.GOMAXPROCS(0))}
	if cfg.BaseURL != "" {
		u, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("site: base URL %q is not an http(s) origin", cfg.BaseURL)
		}
		s.base = u
	}
	var err error
	if s.pages, err = newPages(cfg.Locales); err != nil {
		return nil, err
	}
	s.snap = newSnapshots(cfg.Records, cfg.RefreshEvery, cfg.Now, cfg.Log, s.years)
	if s.cache, err = newResponses(cfg.CacheBytes); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Handler returns the site's routes, security headers included.
func (s *Site) Handler() http.Handler { return secure(s.mux) }

func (s *Site) routes() {
	s.mux = http.NewServeMux()
	for _, lang := range locales.Languages {
		p := langPrefix(lang)
		s.page("GET "+p+"/{$}", lang, rankingParams, s.rankingPage)
		s.page("GET "+p+"/hromada/{ref}", lang, yearParam, s.communityPage)
		s.page("GET "+p+"/oblast/{slug}", lang, rankingParams, s.oblastPage)
		s.page("GET "+p+"/methodology", lang, nil, s.methodologyPage)
		s.page("GET "+p+"/about", lang, nil, s.aboutPage)
	}
	s.mux.Handle("GET /en", http.RedirectHandler("/en/", http.StatusMovedPermanently))
	s.mux.Handle("GET /static/", s.staticFiles())
	s.mux.HandleFunc("GET /robots.txt", s.robots)
	// For the clients that ask for it without reading the page's icon link.
	s.mux.Handle("GET /favicon.ico", http.RedirectHandler("/static/favicon.svg", http.StatusMovedPermanently))
	s.mux.HandleFunc("GET /sitemap.xml", s.cached(nil, s.sitemap))
	s.mux.HandleFunc("GET /chart/{ref}/{file}", s.cached([]string{"lang"}, s.chart))
	s.mux.HandleFunc("GET /data/{file}", s.cached(yearParam, s.download))
	s.apiRoutes()
	// Whatever else is asked is the 404 page, in the language of its path.
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		lang := hromadabot.LangUK
		if r.URL.Path == "/en" || strings.HasPrefix(r.URL.Path, "/en/") {
			lang = hromadabot.LangEN
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			s.errorPage(w, r, lang, http.StatusMethodNotAllowed, s.pages.cat.Plain(lang, "site.error.method", nil))
			return
		}
		s.errorPage(w, r, lang, http.StatusNotFound, "")
	})
}

// The query parameters the routes read.
var (
	yearParam = []string{"year"}
	// rankingParams are the ranking's filters and sort; the oblast page
	// answers its oblast filter with a 400.
	rankingParams = []string{"year", "oblast", "type", "q", "sort", "dir"}
)

// langPrefix is the path under which a language's pages are: "" for the
// default, "/en" for English.
func langPrefix(lang string) string {
	if lang == hromadabot.LangUK {
		return ""
	}
	return "/" + lang
}

// secure sets the headers every answer carries: a strict policy that lets
// the pages load only the site's own style sheet and pictures, and no
// scripts at all.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// badRequest is a query parameter the site cannot read; the page says which
// and why.
type badRequest struct{ param, value string }

func (e *badRequest) Error() string {
	return fmt.Sprintf("parameter %s: %q is not a valid value", e.param, e.value)
}

// origin is the site's public origin: the configured one, else the
// request's own.
func (s *Site) origin(r *http.Request) string {
	if s.base != nil {
		return s.base.String()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// planYears are the years the plan has targets for, ascending: the years a
// page may show.
func planYears(p hromadabot.Plan) []int {
	var years []int
	for _, ind := range p.Indicators {
		for _, y := range ind.Targets.Years() {
			if !slices.Contains(years, y) {
				years = append(years, y)
			}
		}
	}
	slices.Sort(years)
	return years
}
