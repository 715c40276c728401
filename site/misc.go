package site

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/locales"
	"github.com/hromadabot/hromadabot/opendata"
)

func itoa(n int) string { return strconv.Itoa(n) }

func (s *Site) robots(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /data/\nSitemap: %s/sitemap.xml\n", s.origin(r))
}

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

// sitemap lists every page in both languages.
func (s *Site) sitemap(ctx context.Context, r *http.Request, snap *snapshot) (*result, error) {
	origin := s.origin(r)
	var urls []sitemapURL
	add := func(path, lastmod string) {
		for _, lang := range locales.Languages {
			urls = append(urls, sitemapURL{Loc: origin + langPrefix(lang) + path, LastMod: lastmod})
		}
	}
	modified := snap.taken.UTC().Format("2006-01-02")
	add("/", modified)
	add("/methodology", "")
	add("/about", "")
	for _, o := range snap.oblasts {
		add("/oblast/"+o.Slug, modified)
	}
	for i := range snap.communities {
		lastmod := ""
		if t, ok := snap.lastReport[snap.communities[i].ID]; ok {
			lastmod = t.UTC().Format("2006-01-02")
		}
		add("/hromada/"+snap.refs[i], lastmod)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	doc := struct {
		XMLName xml.Name     `xml:"urlset"`
		NS      string       `xml:"xmlns,attr"`
		URLs    []sitemapURL `xml:"url"`
	}{NS: "http://www.sitemaps.org/schemas/sitemap/0.9", URLs: urls}
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("sitemap: %w", err)
	}
	return &result{status: http.StatusOK, contentType: "application/xml; charset=utf-8", body: buf.Bytes()}, nil
}

// chart serves a community's score card: /chart/{ref}/{year}.png or .svg,
// ?lang=en for English.
func (s *Site) chart(ctx context.Context, r *http.Request, snap *snapshot) (*result, error) {
	file := r.PathValue("file")
	yearText, ext, _ := strings.Cut(file, ".")
	draw, contentType := s.cfg.ScoreCard, "image/png"
	if ext == "svg" {
		draw, contentType = s.cfg.ScoreCardSVG, "image/svg+xml"
	} else if ext != "png" {
		return nil, errNotFound
	}
	if draw == nil {
		return nil, errNotFound
	}
	year, err := strconv.Atoi(yearText)
	if err != nil || !contains(s.years, year) {
		return nil, &badRequest{"year", yearText}
	}
	lang := r.URL.Query().Get("lang")
	switch lang {
	case "":
		lang = hromadabot.LangUK
	case hromadabot.LangUK, hromadabot.LangEN:
	default:
		return nil, &badRequest{"lang", lang}
	}
	d, err := s.communityData(ctx, snap, r.PathValue("ref"), year)
	if err != nil {
		return nil, err
	}
	img, err := draw(&d.score, d.plan, lang)
	if err != nil {
		return nil, fmt.Errorf("score card: %w", err)
	}
	return &result{status: http.StatusOK, contentType: contentType, body: img, cors: true}, nil
}

// download serves the open data: /data/{table}.csv, /data/opendata.json
// and /data/opendata.xlsx, ?year= as the export's --year.
func (s *Site) download(ctx context.Context, r *http.Request, snap *snapshot) (*result, error) {
	file := r.PathValue("file")
	name, ext, _ := strings.Cut(file, ".")
	f := opendata.FormatOf(file)
	switch {
	case f == "":
		return nil, errNotFound
	case f == opendata.CSV && !contains(opendata.TableNames, name):
		return nil, errNotFound
	case f != opendata.CSV && name != "opendata":
		return nil, errNotFound
	}
	d, err := s.requestedDataset(ctx, r, snap)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	res := &result{status: http.StatusOK, cors: true,
		disposition: fmt.Sprintf(`attachment; filename="hromadabot-%s-%d.%s"`, name, d.Year, ext)}
	switch f {
	case opendata.CSV:
		t, err := d.Table(name)
		if err != nil {
			return nil, err
		}
		res.contentType = "text/csv; charset=utf-8"
		err = opendata.WriteCSV(&buf, t)
		if err != nil {
			return nil, err
		}
	case opendata.JSON:
		res.contentType = "application/json; charset=utf-8"
		if err := opendata.WriteJSON(&buf, d); err != nil {
			return nil, err
		}
	case opendata.XLSX:
		res.contentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		if err := opendata.WriteXLSX(&buf, d); err != nil {
			return nil, err
		}
	}
	res.body = buf.Bytes()
	return res, nil
}

// requestedDataset is the open data of the year of the request's query.
func (s *Site) requestedDataset(ctx context.Context, r *http.Request, snap *snapshot) (*opendata.Dataset, error) {
	year, err := s.year(r)
	if err != nil {
		return nil, err
	}
	return opendata.Assemble(ctx, source{s.cfg.Records, snap}, year, snap.taken)
}
