package site

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/locales"
)

//go:embed templates/*.html
var templateFiles embed.FS

// pages holds the parsed templates, one set per page.
type pages struct {
	cat         *locales.Catalog
	sets        map[string]*template.Template
	methodology template.HTML
}

func newPages(cat *locales.Catalog) (*pages, error) {
	p := &pages{cat: cat, sets: map[string]*template.Template{}}
	base, err := template.ParseFS(templateFiles, "templates/layout.html", "templates/table.html")
	if err != nil {
		return nil, fmt.Errorf("site: templates: %w", err)
	}
	for _, name := range []string{"ranking", "community", "oblast", "text", "error"} {
		t, err := template.Must(base.Clone()).ParseFS(templateFiles, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("site: template %s: %w", name, err)
		}
		p.sets[name] = t
	}
	if p.methodology, err = renderMethodology(); err != nil {
		return nil, err
	}
	return p, nil
}

// view is what every page's layout reads.
type view struct {
	Lang        string
	Title       string
	Description string
	// Path is the page's path in its language; PathUK and PathEN the same
	// page in each, with the same query.
	Path, PathUK, PathEN string
	Origin               string
	Image                string
	Updated              time.Time
	Asset                string
	cat                  *locales.Catalog
}

// T renders a message of the catalogue: its arguments are escaped, the
// message itself is trusted markup.
func (v *view) T(key string, kv ...any) template.HTML {
	var args locales.Args
	if len(kv) > 0 {
		args = locales.Args{}
		for i := 0; i+1 < len(kv); i += 2 {
			args[fmt.Sprint(kv[i])] = kv[i+1]
		}
	}
	return template.HTML(v.cat.T(v.Lang, key, args))
}

// P is T as plain text, for attributes and titles.
func (v *view) P(key string, kv ...any) string {
	return string(v.T(key, kv...))
}

// Num writes a figure with one decimal in the page's language: "47,3".
func (v *view) Num(x float64) string { return hromadabot.FormatNumber(x, 1, v.Lang) }

// Int writes a whole number with its thousands apart: "58 286" in
// Ukrainian (a no-break space), "58,286" in English.
func (v *view) Int(n int) string {
	sep := "\u00a0"
	if v.Lang == hromadabot.LangEN {
		sep = ","
	}
	digits := strconv.Itoa(n)
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 && digits[i-1] != '-' {
			b.WriteString(sep)
		}
		b.WriteRune(d)
	}
	return b.String()
}

// Prefix is the page language's path prefix: "" or "/en".
func (v *view) Prefix() string { return langPrefix(v.Lang) }

func (s *Site) newView(r *http.Request, lang string, snap *snapshot) *view {
	uk, en := otherLanguagePaths(r.URL)
	path := uk
	if lang == hromadabot.LangEN {
		path = en
	}
	return &view{Lang: lang, Path: path, PathUK: uk, PathEN: en, Origin: s.origin(r), Updated: snap.taken, Asset: assetVersion, cat: s.pages.cat}
}

// otherLanguagePaths returns a page's path with its query in Ukrainian and
// in English.
func otherLanguagePaths(u *url.URL) (uk, en string) {
	p := u.Path
	if p == "/en" || strings.HasPrefix(p, "/en/") {
		p = strings.TrimPrefix(p, "/en")
		if p == "" {
			p = "/"
		}
	}
	q := ""
	if u.RawQuery != "" {
		q = "?" + u.Query().Encode()
	}
	return p + q, "/en" + p + q
}

// render executes a page's template set into a result.
func (s *Site) render(name string, data any) (*result, error) {
	var buf bytes.Buffer
	if err := s.pages.sets[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return &result{status: http.StatusOK, contentType: "text/html; charset=utf-8", body: buf.Bytes()}, nil
}

// page mounts a page of a language; its errors are pages in that language.
func (s *Site) page(pattern, lang string, params []string, fn func(ctx context.Context, r *http.Request, snap *snapshot, lang string) (*result, error)) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		s.serveCached(w, r, params, func(ctx context.Context, r *http.Request, snap *snapshot) (*result, error) {
			return fn(ctx, r, snap, lang)
		}, func(r *http.Request, status int, err error) *result {
			return s.errorResult(r, lang, status, err)
		})
	})
}

// errorPage writes an error page that is not kept.
func (s *Site) errorPage(w http.ResponseWriter, r *http.Request, lang string, status int, message string) {
	res := s.errorResult(r, lang, status, nil)
	if message != "" {
		res = s.errorResultMessage(r, lang, status, message)
	}
	s.send(w, r, newAnswer(res, s.cfg.Now()))
}

func (s *Site) errorResult(r *http.Request, lang string, status int, err error) *result {
	var msg string
	if bad, ok := err.(*badRequest); ok {
		msg = s.pages.cat.Plain(lang, "site.error.param", locales.Args{"Param": bad.param, "Value": clip(bad.value, 40)})
	}
	return s.errorResultMessage(r, lang, status, msg)
}

type errorView struct {
	*view
	Heading string
	Message string
}

func (s *Site) errorResultMessage(r *http.Request, lang string, status int, msg string) *result {
	key := "site.error.other"
	switch status {
	case http.StatusNotFound:
		key = "site.error.not_found"
	case http.StatusBadRequest:
		key = "site.error.bad_request"
	case http.StatusServiceUnavailable:
		key = "site.error.unavailable"
	}
	v := s.newView(r, lang, &snapshot{taken: s.cfg.Now()})
	ev := &errorView{view: v, Heading: s.pages.cat.Plain(lang, key, nil), Message: msg}
	if msg == "" {
		ev.Message = s.pages.cat.Plain(lang, key+"_text", nil)
	}
	ev.Title = ev.Heading
	ev.Description = ev.Message
	res, err := s.render("error", ev)
	if err != nil {
		res = &result{contentType: "text/plain; charset=utf-8", body: []byte(http.StatusText(status))}
	}
	res.status = status
	return res
}

// clip shortens a user's text to n characters for echoing it back.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// year reads the "year" parameter: one of the plan's years, by default the
// current one (or the nearest the plan has).
func (s *Site) year(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("year")
	if raw == "" {
		cur := hromadabot.CurrentYear(s.cfg.Now())
		return min(max(cur, s.years[0]), s.years[len(s.years)-1]), nil
	}
	y, err := strconv.Atoi(raw)
	if err != nil || !contains(s.years, y) {
		return 0, &badRequest{"year", raw}
	}
	return y, nil
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// communityName is a community's name in the page's language.
func communityName(c *hromadabot.Community, lang string) string {
	if lang == hromadabot.LangEN {
		return hromadabot.Latin(c.Name)
	}
	return c.Name
}

// oblastName is an oblast's name in the page's language.
func (s *Site) oblastName(name, lang string) string {
	if lang == hromadabot.LangEN {
		return s.pages.cat.Plain(lang, "site.oblast.name", locales.Args{"Name": hromadabot.Latin(name)})
	}
	return s.pages.cat.Plain(lang, "site.oblast.name", locales.Args{"Name": name})
}

// typeName is a community type ("міська") in the page's language.
func (s *Site) typeName(t, lang string) string {
	if t == "" {
		return ""
	}
	return s.pages.cat.Plain(lang, "site.type."+slug(t), nil)
}

func (s *Site) communityHref(snap *snapshot, i int, lang string) string {
	return langPrefix(lang) + "/hromada/" + url.PathEscape(snap.refs[i])
}

func oblastHref(o string, lang string) string {
	if o == "" {
		return ""
	}
	return langPrefix(lang) + "/oblast/" + url.PathEscape(slug(o))
}

// textView is a page of prose.
type textView struct {
	*view
	Body template.HTML
}

func (s *Site) methodologyPage(ctx context.Context, r *http.Request, snap *snapshot, lang string) (*result, error) {
	v := s.newView(r, lang, snap)
	v.Title = s.pages.cat.Plain(lang, "site.nav.methodology", nil)
	v.Description = s.pages.cat.Plain(lang, "site.methodology.description", nil)
	return s.render("text", &textView{view: v, Body: s.pages.methodology})
}

func (s *Site) aboutPage(ctx context.Context, r *http.Request, snap *snapshot, lang string) (*result, error) {
	v := s.newView(r, lang, snap)
	v.Title = s.pages.cat.Plain(lang, "site.nav.about", nil)
	v.Description = s.pages.cat.Plain(lang, "site.about.description", nil)
	year, _ := s.year(&http.Request{URL: &url.URL{}})
	body := s.pages.cat.T(lang, "site.about.body", locales.Args{
		"Communities": len(snap.communities), "Reported": len(snap.lastReport), "Year": year,
	})
	return s.render("text", &textView{view: v, Body: template.HTML(body)})
}
