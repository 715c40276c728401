package site_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/opendata"
	"github.com/hromadabot/hromadabot/site"
)

// communitiesPerLanguage is how many community pages of each language the
// crawl follows besides the fixture's reported ones: every
// communityStride-th it finds, so that the sample spreads over the
// alphabet. The other 1,400-odd pages differ only in their data.
const (
	communitiesPerLanguage = 20
	communityStride        = 73
)

var (
	communityPath = regexp.MustCompile(`^(/en)?/hromada/[^/]+$`)
	oblastPath    = regexp.MustCompile(`^(/en)?/oblast/[^/]+$`)
)

// sortSeeds are the ranking pages whose sort and filter links the crawl
// follows: the national ranking, and an oblast's in each language. The
// same links on every other ranking page differ only in their path, and
// each national page is 600 kB to parse.
var sortSeeds = map[string]bool{"/": true, "/oblast/kyivska": true, "/en/oblast/kyivska": true}

// sortKeys are the ranking table's columns, each a sort link.
var sortKeys = []string{"rank", "name", "oblast", "type", "index", "fulfilment", "reported"}

// crawl walks the site breadth-first from its home pages.
type crawl struct {
	t    *testing.T
	f    *fixture
	host string
	// queue and queued hold what is to be fetched, by request URI.
	queue  []*target
	queued map[string]*target
	pages  map[string]*crawled
	// always are the community pages followed whatever the sample.
	always      map[string]bool
	communities map[string]map[string]bool // language → community paths followed
	found       map[string]int             // language → community paths seen
	fragments   []fragmentRef
	external    []string
	skipped     int
	stylesheets map[string]bool
	// problems are the pages' structural faults, each with the pages that
	// have it: one template's fault is reported once.
	problems map[string][]string
}

// target is a URI to fetch and how it was found.
type target struct {
	uri, from, kind string
}

// crawled is what a fetched URI answered.
type crawled struct {
	status      int
	contentType string
	ids         map[string]bool // of an HTML page
}

// fragmentRef is a link to an element of another page.
type fragmentRef struct{ from, uri, id string }

func newCrawl(t *testing.T, f *fixture) *crawl {
	u, err := url.Parse(f.server.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := &crawl{t: t, f: f, host: u.Host, queued: map[string]*target{}, pages: map[string]*crawled{},
		always: map[string]bool{}, communities: map[string]map[string]bool{"uk": {}, "en": {}}, found: map[string]int{},
		stylesheets: map[string]bool{}, problems: map[string][]string{}}
	for _, com := range []string{f.bucha.Code, f.lviv.Code, f.irpin.Code} {
		c.always["/hromada/"+com] = true
		c.always["/en/hromada/"+com] = true
	}
	return c
}

func (c *crawl) enqueue(uri, from, kind string) {
	if _, ok := c.queued[uri]; ok {
		return
	}
	tg := &target{uri: uri, from: from, kind: kind}
	c.queued[uri] = tg
	c.queue = append(c.queue, tg)
}

func (c *crawl) run() {
	for len(c.queue) > 0 {
		tg := c.queue[0]
		c.queue = c.queue[1:]
		c.visit(tg)
	}
}

func (c *crawl) visit(tg *target) {
	t := c.t
	resp, body := c.f.get(t, tg.uri)
	p := &crawled{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type")}
	c.pages[tg.uri] = p
	if resp.StatusCode != 200 && resp.StatusCode != 304 {
		t.Errorf("GET %s (a %s on %s): status %d, want 200", tg.uri, tg.kind, tg.from, resp.StatusCode)
		return
	}
	u, err := url.Parse(tg.uri)
	if err != nil {
		t.Errorf("%s: %v", tg.uri, err)
		return
	}
	if want := contentTypeOf(u.Path); p.contentType != want {
		t.Errorf("GET %s (a %s on %s): Content-Type %q, want %q", tg.uri, tg.kind, tg.from, p.contentType, want)
	}
	switch {
	case tg.kind == "link rel=stylesheet" && !strings.HasPrefix(p.contentType, "text/css"):
		t.Errorf("the style sheet %s (on %s) is %s", tg.uri, tg.from, p.contentType)
	case tg.kind == "img" && !strings.HasPrefix(p.contentType, "image/"):
		t.Errorf("the picture %s (on %s) is %s", tg.uri, tg.from, p.contentType)
	}
	if strings.HasPrefix(u.Path, "/data/") && !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment; filename=") {
		t.Errorf("GET %s: Content-Disposition %q, want an attachment", tg.uri, resp.Header.Get("Content-Disposition"))
	}
	if err := checkBody(p.contentType, body); err != nil {
		t.Errorf("GET %s: %v", tg.uri, err)
	}
	if u.Path == "/api/v1/openapi.json" {
		c.apiPaths(tg.uri, body)
	}
	if !strings.HasPrefix(p.contentType, "text/html") {
		return
	}
	doc, ids, problems := checkPage(langOf(u.Path), body)
	for _, pr := range problems {
		if uris := c.problems[pr]; len(uris) == 0 || uris[len(uris)-1] != tg.uri {
			c.problems[pr] = append(uris, tg.uri)
		}
	}
	p.ids = ids
	if doc == nil {
		return
	}
	base := c.f.server.URL + tg.uri
	for _, l := range pageLinks(doc) {
		c.link(tg.uri, base, ids, l)
	}
}

// apiPaths follows every GET path the OpenAPI description names, with a
// reported community for {ref}.
func (c *crawl) apiPaths(from, body string) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		c.t.Errorf("%s: %v", from, err)
		return
	}
	if len(doc.Paths) == 0 {
		c.t.Errorf("%s names no paths", from)
	}
	for p, ops := range doc.Paths {
		if _, ok := ops["get"]; !ok {
			continue
		}
		p = regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(p, c.f.bucha.Code)
		if !strings.HasPrefix(p, "/api/") {
			p = "/api/v1" + p
		}
		c.enqueue(p, from, "OpenAPI path")
	}
}

// link checks a link of a page and queues it when the crawl follows it.
func (c *crawl) link(from, base string, ids map[string]bool, l pageLink) {
	t := c.t
	b, _ := url.Parse(base)
	u, err := b.Parse(l.raw)
	if err != nil {
		t.Errorf("%s: %s %q: %v", from, l.kind, l.raw, err)
		return
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		t.Errorf("%s: %s %q is not an http(s) link", from, l.kind, l.raw)
		return
	}
	if u.Host != c.host {
		if !strings.HasPrefix(l.raw, "http://") && !strings.HasPrefix(l.raw, "https://") {
			t.Errorf("%s: %s %q leaves the site without being an absolute http(s) URL", from, l.kind, l.raw)
		}
		c.external = append(c.external, l.raw)
		return
	}
	if strings.HasPrefix(l.raw, "#") {
		if !ids[u.Fragment] {
			t.Errorf("%s: %s %q points to no element: no id %q on the page", from, l.kind, l.raw, u.Fragment)
		}
		return
	}
	uri := u.RequestURI()
	if u.Fragment != "" {
		c.fragments = append(c.fragments, fragmentRef{from, uri, u.Fragment})
	}
	if l.kind == "link rel=stylesheet" {
		c.stylesheets[uri] = true
	}
	if !c.follows(from, u) {
		c.skipped++
		return
	}
	c.enqueue(uri, from, l.kind)
}

// follows tells whether the crawl fetches a link of the site: all of it
// but a sample of the community pages and the sort links of most ranking
// pages.
func (c *crawl) follows(from string, u *url.URL) bool {
	switch {
	case communityPath.MatchString(u.Path):
		lang := langOf(u.Path)
		if c.always[u.Path] || c.communities[lang][u.Path] {
			return true
		}
		if u.RawQuery != "" {
			return false // a variant of a page the sample left out
		}
		n := c.found[lang]
		c.found[lang]++
		if n%communityStride == 0 && len(c.communities[lang]) < communitiesPerLanguage {
			c.communities[lang][u.Path] = true
			return true
		}
		return false
	case (u.Path == "/" || u.Path == "/en/" || oblastPath.MatchString(u.Path)) && u.RawQuery != "":
		return sortSeeds[from]
	}
	return true
}

// check runs the checks that need the whole crawl.
func (c *crawl) check(oblasts int) {
	t := c.t
	msgs := make([]string, 0, len(c.problems))
	for m := range c.problems {
		msgs = append(msgs, m)
	}
	slices.Sort(msgs)
	for _, m := range msgs {
		uris := c.problems[m]
		t.Errorf("%s\n\ton %d pages: %s", m, len(uris), strings.Join(uris[:min(len(uris), 3)], " "))
	}
	for _, fr := range c.fragments {
		p, ok := c.pages[fr.uri]
		switch {
		case !ok:
			t.Errorf("%s links %s#%s, which the crawl did not fetch", fr.from, fr.uri, fr.id)
		case p.ids != nil && !p.ids[fr.id]:
			t.Errorf("%s links %s#%s: no id %q on that page", fr.from, fr.uri, fr.id, fr.id)
		}
	}
	for p := range c.always {
		if _, ok := c.pages[p]; !ok {
			t.Errorf("no page links the reported community %s", p)
		}
	}
	for _, lang := range []string{"uk", "en"} {
		if n := len(c.communities[lang]); n != communitiesPerLanguage {
			t.Errorf("%s: the sample has %d community pages, want %d (found %d links)", lang, n, communitiesPerLanguage, c.found[lang])
		}
		prefix := strings.TrimSuffix(langPrefixOf(lang), "/")
		n := 0
		for uri := range c.pages {
			if strings.HasPrefix(uri, prefix+"/oblast/") && !strings.Contains(uri, "?") && oblastPath.MatchString(uri) && langOf(uri) == lang {
				n++
			}
		}
		if n != oblasts {
			t.Errorf("%s: %d oblast pages crawled, want %d", lang, n, oblasts)
		}
	}
	for seed := range sortSeeds {
		for _, key := range sortKeys {
			if !c.fetched(func(u *url.URL) bool { return u.Path == seed && u.Query().Get("sort") == key }) {
				t.Errorf("%s has no sort link by %s, or the crawl did not follow it", seed, key)
			}
		}
	}
	if !c.fetched(func(u *url.URL) bool { return u.Path == "/" && u.Query().Has("q") && u.Query().Has("year") }) {
		t.Error("/: the filter form was not followed with its default query")
	}
	for _, want := range []string{
		"/data/communities.csv", "/data/indicators.csv", "/data/values.csv", "/data/scores.csv",
		"/data/opendata.json", "/data/opendata.xlsx", "/api/v1/ranking", "/api/v1/openapi.json",
		"/api/v1/communities", "/api/v1/communities/" + c.f.bucha.Code, "/api/v1/indicators", "/api/v1/scores",
		"/static/site.css", "/chart/" + c.f.bucha.Code + "/2026.png", "/methodology", "/en/methodology", "/about", "/en/about",
	} {
		if !c.fetched(func(u *url.URL) bool { return u.Path == want }) {
			t.Errorf("nothing the crawl found links %s", want)
		}
	}
	if len(c.stylesheets) != 1 {
		t.Errorf("pages link %d different style sheets, want one: %v", len(c.stylesheets), c.stylesheets)
	}
	if len(c.external) == 0 {
		t.Error("no external link found: the evidence link of Бучанська should be one")
	}
}

func (c *crawl) fetched(match func(*url.URL) bool) bool {
	for uri := range c.pages {
		if u, err := url.Parse(uri); err == nil && match(u) {
			return true
		}
	}
	return false
}

func TestCrawl(t *testing.T) {
	f := newFixture(t)
	start := time.Now()
	c := newCrawl(t, f)
	c.enqueue("/", "the test", "start")
	c.enqueue("/en/", "the test", "start")
	c.run()
	_, oblasts := communitiesAndOblasts(t, f)
	c.check(len(oblasts))
	t.Logf("crawled %d URIs in %v (%d links not followed, %d external)", len(c.pages), time.Since(start).Round(time.Millisecond), c.skipped, len(c.external))
}

// TestErrorPages checks that the error pages are as sound as the others.
func TestErrorPages(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/nope", 404}, {"/en/nope", 404}, {"/hromada/UA00000000000000000", 404}, {"/en/oblast/nowhere", 404},
		{"/?year=1999", 400}, {"/en/?sort=evil", 400}, {"/oblast/kyivska?oblast=lvivska", 400},
	} {
		resp, body := f.get(t, tc.path)
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s: %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
		if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", tc.path, got)
		}
		u, _ := url.Parse(tc.path)
		_, _, problems := checkPage(langOf(u.Path), body)
		for _, p := range problems {
			t.Errorf("%s: %s", tc.path, p)
		}
	}
}

// TestPageChecks shows that each of checkPage's checks finds what it is
// for, so that the crawl passing means something.
func TestPageChecks(t *testing.T) {
	page := func(lang, head, main string) string {
		return `<!doctype html>
<html lang="` + lang + `">
<head>
<meta charset="utf-8">
<title>T</title>
<meta name="description" content="D">
<link rel="stylesheet" href="/static/site.css?v=1">` + head + `
</head>
<body><main id="main">` + main + `</main></body>
</html>`
	}
	good := `<h1>A</h1><h2 id="b">B</h2><h3>C</h3>
<form action="/"><label for="q">Q</label><input id="q" name="q"><input type="hidden" name="s" value="1"><button type="submit">Go</button></form>
<table><caption>Cap</caption><thead><tr><th scope="col">X</th></tr></thead><tbody><tr><th scope="row">1</th></tr></tbody></table>
<img src="/x.png" alt=""><a href="#b">to B</a>
<svg viewBox="0 0 1 1" role="img" aria-labelledby="t"><title id="t">Chart</title><line x1="0" x2="1" y1="0" y2="1"/></svg>`
	for _, tc := range []struct {
		name, lang, head, main, want string
	}{
		{"OK", "uk", "", good, ""},
		{"ErrLang", "en", "", good, `<html lang="en">, want "uk"`},
		{"ErrTwoH1", "uk", "", good + "<h1>Again</h1>", "2 <h1>"},
		{"ErrNoH1", "uk", "", "<h2>B</h2>", "0 <h1>"},
		{"ErrSkippedLevel", "uk", "", "<h1>A</h1><h3>C</h3>", "a heading level is skipped"},
		{"ErrNoDescription", "uk", `<meta name="description" content="again">`, good, "2 meta descriptions"},
		{"ErrNoCaption", "uk", "", good + `<table><tr><th scope="col">X</th></tr></table>`, "has no <caption>"},
		{"ErrUnscopedTh", "uk", "", good + `<table><caption>C</caption><tr><th>X</th></tr></table>`, "have no scope"},
		{"ErrUnlabelled", "uk", "", good + `<select id="s" name="s"><option>1</option></select>`, `<select id="s"> has no <label for="s">`},
		{"ErrNoID", "uk", "", good + `<input name="x">`, "has no id for a label"},
		{"ErrLabelsNothing", "uk", "", good + `<label for="nope">N</label>`, `<label for="nope"> labels nothing`},
		{"ErrNoAlt", "uk", "", good + `<img src="/y.png">`, "has no alt"},
		{"ErrDuplicateID", "uk", "", good + `<p id="b">x</p>`, `id "b" appears twice`},
		{"ErrInlineStyle", "uk", "", good + `<p style="color:red">x</p>`, "blocks inline style"},
		{"ErrStyleElement", "uk", "<style>p{}</style>", good, "a <style> element"},
		{"ErrScript", "uk", "", good + `<script>alert(1)</script>`, "a <script>"},
		{"ErrHandler", "uk", "", good + `<p onclick="x()">x</p>`, "blocks inline script"},
		{"ErrJavascriptLink", "uk", "", good + `<a href="javascript:x()">x</a>`, "script in a link"},
		{"ErrDanglingLabelledby", "uk", "", good + `<div role="region" aria-labelledby="gone">x</div>`, `aria-labelledby="gone": no such id`},
		{"ErrEmptyLink", "uk", "", good + `<a href="/x"></a>`, "has no text"},
		{"ErrMisnested", "uk", "", good + `<p><div>x</div></p>`, "misnested"},
		{"ErrUnclosed", "uk", "", good + `<div>x`, "</main> closes <div> too"},
		{"ErrStrayEndTag", "uk", "", good + `</p>`, "</p> closes nothing"},
		{"ErrDuplicateAttribute", "uk", "", good + `<p class="a" class="b">x</p>`, "the attribute class twice"},
		{"ErrSelfClosingDiv", "uk", "", good + `<div/>`, "not closed by />"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, problems := checkPage("uk", page(tc.lang, tc.head, tc.main))
			if tc.want == "" {
				if len(problems) > 0 {
					t.Errorf("problems in a sound page: %q", problems)
				}
				return
			}
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("no problem %q among %q", tc.want, problems)
			}
		})
	}
}

func langOf(path string) string {
	if path == "/en" || strings.HasPrefix(path, "/en/") {
		return "en"
	}
	return "uk"
}

func langPrefixOf(lang string) string {
	if lang == "en" {
		return "/en/"
	}
	return "/"
}

// contentTypeOf is the Content-Type a path of the site must answer with.
func contentTypeOf(path string) string {
	ext := path[strings.LastIndex(path, "/")+1:]
	if i := strings.LastIndex(ext, "."); i >= 0 {
		ext = ext[i:]
	} else {
		ext = ""
	}
	switch {
	case path == "/robots.txt":
		return "text/plain; charset=utf-8"
	case path == "/sitemap.xml":
		return "application/xml; charset=utf-8"
	case strings.HasPrefix(path, "/static/") && ext == ".css":
		return "text/css; charset=utf-8"
	case strings.HasPrefix(path, "/api/"):
		return "application/json; charset=utf-8"
	case strings.HasPrefix(path, "/chart/") && ext == ".png":
		return "image/png"
	case (strings.HasPrefix(path, "/chart/") || strings.HasPrefix(path, "/static/")) && ext == ".svg":
		return "image/svg+xml"
	case strings.HasPrefix(path, "/data/") && ext == ".csv":
		return "text/csv; charset=utf-8"
	case strings.HasPrefix(path, "/data/") && ext == ".json":
		return "application/json; charset=utf-8"
	case strings.HasPrefix(path, "/data/") && ext == ".xlsx":
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/html; charset=utf-8"
}

// checkBody tells whether a body is what its type says.
func checkBody(contentType, body string) error {
	mediaType, _, _ := strings.Cut(contentType, ";")
	switch mediaType {
	case "application/json":
		if !json.Valid([]byte(body)) {
			return fmt.Errorf("not valid JSON: %s", clipBody(body))
		}
	case "text/csv":
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(rows) == 0 {
			return fmt.Errorf("not CSV with a header (%v)", err)
		}
	case "image/png":
		if !strings.HasPrefix(body, "\x89PNG\r\n\x1a\n") {
			return fmt.Errorf("not a PNG")
		}
	case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		if !strings.HasPrefix(body, "PK\x03\x04") {
			return fmt.Errorf("not a ZIP file")
		}
	case "text/css", "text/html":
		if strings.TrimSpace(body) == "" {
			return fmt.Errorf("empty")
		}
	}
	return nil
}

// pageLink is a URL a page refers to: what it is and its raw text.
type pageLink struct{ kind, raw string }

// pageLinks returns the page's links: a[href], link[href], img[src], a
// GET form's action with its default query, and the og:url and og:image a
// chat shows.
func pageLinks(doc *html.Node) []pageLink {
	var out []pageLink
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode || n.Namespace != "" {
			return
		}
		switch n.DataAtom {
		case atom.A:
			if v, ok := attr(n, "href"); ok {
				out = append(out, pageLink{"a", v})
			}
		case atom.Link:
			if v, ok := attr(n, "href"); ok {
				rel, _ := attr(n, "rel")
				out = append(out, pageLink{"link rel=" + rel, v})
			}
		case atom.Img:
			if v, ok := attr(n, "src"); ok {
				out = append(out, pageLink{"img", v})
			}
		case atom.Form:
			action, _ := attr(n, "action")
			if m, _ := attr(n, "method"); m == "" || strings.EqualFold(m, "get") {
				// A GET form's submission replaces the action's query.
				action, _, _ = strings.Cut(action, "?")
				action += "?" + formQuery(n).Encode()
			}
			out = append(out, pageLink{"form", action})
		case atom.Meta:
			if p, _ := attr(n, "property"); p == "og:url" || p == "og:image" {
				v, _ := attr(n, "content")
				out = append(out, pageLink{"meta " + p, v})
			}
		}
	})
	return out
}

// formQuery is what a form submits untouched.
func formQuery(form *html.Node) url.Values {
	q := url.Values{}
	walk(form, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		name, _ := attr(n, "name")
		if name == "" {
			return
		}
		switch n.DataAtom {
		case atom.Input:
			typ, _ := attr(n, "type")
			switch strings.ToLower(typ) {
			case "submit", "button", "reset", "image", "file":
				return
			case "checkbox", "radio":
				if _, checked := attr(n, "checked"); !checked {
					return
				}
			}
			v, _ := attr(n, "value")
			q.Add(name, v)
		case atom.Select:
			var first, selected *html.Node
			walk(n, func(o *html.Node) {
				if o.Type == html.ElementNode && o.DataAtom == atom.Option {
					if first == nil {
						first = o
					}
					if _, ok := attr(o, "selected"); ok && selected == nil {
						selected = o
					}
				}
			})
			if selected == nil {
				selected = first
			}
			if selected != nil {
				v, ok := attr(selected, "value")
				if !ok {
					v = strings.TrimSpace(text(selected))
				}
				q.Add(name, v)
			}
		case atom.Textarea:
			q.Add(name, text(n))
		}
	})
	return q
}

// checkPage parses an HTML page and checks what every page must be: its
// language, one h1, a title and description, tables with captions and
// scoped heads, labelled controls, pictures with alt, unique ids, headings
// that do not skip a level, and nothing the Content-Security-Policy blocks
// (inline style and script). It returns the page and its ids.
func checkPage(lang, body string) (doc *html.Node, ids map[string]bool, problems []string) {
	errorf := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	starts := checkTokens(errorf, body)
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		errorf("does not parse: %v", err)
		return nil, nil, problems
	}
	if doc.FirstChild == nil || doc.FirstChild.Type != html.DoctypeNode || doc.FirstChild.Data != "html" {
		errorf("does not start with <!doctype html>")
	}
	elements := 0
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode {
			elements++
		}
	})
	if elements != starts {
		// The parser added or moved elements: the markup is misnested,
		// or leaves out tags that the templates write everywhere else.
		errorf("the markup has %d start tags but parses into %d elements: it is misnested or leaves tags implied", starts, elements)
	}

	ids = map[string]bool{}
	var (
		h1s, titles, descriptions, stylesheets int
		labelFor                               = map[string]bool{}
		controls                               []*html.Node
		refs                                   [][2]string // attribute, id
		level                                  int
	)
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		for _, a := range n.Attr {
			switch {
			case a.Key == "style":
				errorf("<%s style=%q>: the Content-Security-Policy (style-src 'self') blocks inline style", n.Data, a.Val)
			case strings.HasPrefix(a.Key, "on"):
				errorf("<%s %s=…>: the Content-Security-Policy blocks inline script", n.Data, a.Key)
			case a.Key == "id":
				switch {
				case a.Val == "" || strings.ContainsAny(a.Val, " \t\n\f\r"):
					errorf("<%s id=%q> is not a valid id", n.Data, a.Val)
				case ids[a.Val]:
					errorf("id %q appears twice", a.Val)
				}
				ids[a.Val] = true
			case a.Key == "aria-labelledby" || a.Key == "aria-describedby" || a.Key == "aria-controls":
				for _, id := range strings.Fields(a.Val) {
					refs = append(refs, [2]string{a.Key, id})
				}
			case a.Key == "href" || a.Key == "src" || a.Key == "action":
				if strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
					errorf("<%s %s=%q>: script in a link", n.Data, a.Key, a.Val)
				}
			}
		}
		if n.Namespace != "" {
			return // inside <svg>: its <title> is the picture's, not the page's
		}
		switch n.DataAtom {
		case atom.Html:
			if got, _ := attr(n, "lang"); got != lang {
				errorf("<html lang=%q>, want %q", got, lang)
			}
		case atom.Title:
			titles++
			if n.Parent == nil || n.Parent.DataAtom != atom.Head {
				errorf("<title> outside <head>")
			}
			if strings.TrimSpace(text(n)) == "" {
				errorf("the <title> is empty")
			}
		case atom.Meta:
			if name, _ := attr(n, "name"); name == "description" {
				descriptions++
				if c, _ := attr(n, "content"); strings.TrimSpace(c) == "" {
					errorf("the meta description is empty")
				}
			}
		case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
			l := int(n.Data[1] - '0')
			if l > level+1 {
				errorf("<%s> %q follows an h%d: a heading level is skipped", n.Data, clip(text(n)), level)
			}
			level = l
			if l == 1 {
				h1s++
			}
			if strings.TrimSpace(text(n)) == "" {
				errorf("an empty <%s>", n.Data)
			}
		case atom.Script:
			errorf("a <script>: the Content-Security-Policy blocks it and the site works without")
		case atom.Style:
			errorf("a <style> element: the Content-Security-Policy (style-src 'self') blocks it")
		case atom.Img:
			if _, ok := attr(n, "alt"); !ok {
				src, _ := attr(n, "src")
				errorf("<img src=%q> has no alt", src)
			}
		case atom.Table:
			checkTable(errorf, n)
		case atom.Label:
			if v, ok := attr(n, "for"); ok {
				labelFor[v] = true
			} else {
				errorf("<label> %q has no for=", clip(text(n)))
			}
		case atom.Input:
			switch typ, _ := attr(n, "type"); strings.ToLower(typ) {
			case "hidden", "submit", "button", "reset", "image":
			default:
				controls = append(controls, n)
			}
		case atom.Select, atom.Textarea:
			controls = append(controls, n)
		case atom.Link:
			if rel, _ := attr(n, "rel"); rel == "stylesheet" {
				stylesheets++
				href, _ := attr(n, "href")
				if u, err := url.Parse(href); err != nil || u.Path != "/static/site.css" {
					errorf("the style sheet is %q, want /static/site.css", href)
				}
			}
		case atom.A:
			label, _ := attr(n, "aria-label")
			if strings.TrimSpace(text(n)) == "" && strings.TrimSpace(label) == "" {
				href, _ := attr(n, "href")
				errorf("the link %q has no text", href)
			}
		}
	})
	if h1s != 1 {
		errorf("%d <h1>, want one", h1s)
	}
	if titles != 1 {
		errorf("%d <title>, want one", titles)
	}
	if descriptions != 1 {
		errorf("%d meta descriptions, want one", descriptions)
	}
	if stylesheets != 1 {
		errorf("%d style sheets linked, want /static/site.css", stylesheets)
	}
	for _, n := range controls {
		id, _ := attr(n, "id")
		name, _ := attr(n, "name")
		switch {
		case id == "":
			errorf("<%s name=%q> has no id for a label", n.Data, name)
		case !labelFor[id]:
			errorf("<%s id=%q> has no <label for=%q>", n.Data, id, id)
		}
	}
	for id := range labelFor {
		if !ids[id] {
			errorf("<label for=%q> labels nothing: no such id", id)
		}
	}
	for _, r := range refs {
		if !ids[r[1]] {
			errorf("%s=%q: no such id", r[0], r[1])
		}
	}
	return doc, ids, problems
}

// checkTable checks that a table has a caption first and header cells.
func checkTable(errorf func(string, ...any), table *html.Node) {
	id, _ := attr(table, "id")
	class, _ := attr(table, "class")
	name := fmt.Sprintf("<table id=%q class=%q>", id, class)
	first := table.FirstChild
	for first != nil && first.Type != html.ElementNode {
		first = first.NextSibling
	}
	switch {
	case first == nil || first.DataAtom != atom.Caption:
		head := ""
		walk(table, func(n *html.Node) {
			if head == "" && n.Type == html.ElementNode && (n.DataAtom == atom.Th || n.DataAtom == atom.Td) {
				head = clip(text(n))
			}
		})
		errorf("%s (first cell %q) has no <caption> as its first child", name, head)
	case strings.TrimSpace(text(first)) == "":
		errorf("%s has an empty caption", name)
	}
	ths, unscoped, firstUnscoped := 0, 0, ""
	walk(table, func(n *html.Node) {
		if n.Type != html.ElementNode || n.DataAtom != atom.Th {
			return
		}
		ths++
		switch scope, _ := attr(n, "scope"); scope {
		case "col", "row", "colgroup", "rowgroup":
		default:
			if unscoped++; unscoped == 1 {
				firstUnscoped = clip(text(n))
			}
		}
	})
	if ths == 0 {
		errorf("%s has no header cells", name)
	}
	if unscoped > 0 {
		errorf("%s: %d of its %d <th> have no scope=col or row (the first: %q)", name, unscoped, ths, firstUnscoped)
	}
}

// voidElements have no end tag.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// checkTokens reads the markup tag by tag: every element closed in order,
// no attribute twice. It returns the number of start tags.
func checkTokens(errorf func(string, ...any), body string) int {
	z := html.NewTokenizer(strings.NewReader(body))
	var stack []string
	starts := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				errorf("tokenizer: %v", z.Err())
			}
			if len(stack) > 0 {
				errorf("elements left open: %v", stack)
			}
			return starts
		case html.StartTagToken:
			raw := slices.Clone(z.Raw())
			tok := z.Token()
			starts++
			checkAttrs(errorf, tok.Data, raw)
			if !voidElements[tok.Data] {
				stack = append(stack, tok.Data)
			}
		case html.SelfClosingTagToken:
			raw := slices.Clone(z.Raw())
			tok := z.Token()
			starts++
			checkAttrs(errorf, tok.Data, raw)
			if !voidElements[tok.Data] && !slices.Contains(stack, "svg") {
				errorf("<%s/>: an HTML element that is not void is not closed by />", tok.Data)
			}
		case html.EndTagToken:
			name := z.Token().Data
			switch i := lastIndex(stack, name); {
			case voidElements[name]:
				errorf("</%s>: a void element has no end tag", name)
			case i < 0:
				errorf("</%s> closes nothing (open: %v)", name, stack)
			case i != len(stack)-1:
				errorf("</%s> closes <%s> too (open: %v)", name, strings.Join(stack[i+1:], "> <"), stack)
				stack = stack[:i]
			default:
				stack = stack[:i]
			}
		}
	}
}

func lastIndex(stack []string, name string) int {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i] == name {
			return i
		}
	}
	return -1
}

// checkAttrs finds an attribute written twice in a tag, which the
// tokenizer drops silently (the first one wins). raw is the tag's markup.
func checkAttrs(errorf func(string, ...any), name string, raw []byte) {
	var seen []string
	b := raw[1+len(name):] // after "<name"
	space := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
	for i := 0; i < len(b); {
		for i < len(b) && (space(b[i]) || b[i] == '/') {
			i++
		}
		if i >= len(b) || b[i] == '>' {
			return
		}
		start := i
		for i < len(b) && !space(b[i]) && b[i] != '=' && b[i] != '>' && b[i] != '/' {
			i++
		}
		key := strings.ToLower(string(b[start:i]))
		if slices.Contains(seen, key) {
			errorf("<%s> has the attribute %s twice", name, key)
		}
		seen = append(seen, key)
		for i < len(b) && space(b[i]) {
			i++
		}
		if i >= len(b) || b[i] != '=' {
			continue
		}
		i++
		for i < len(b) && space(b[i]) {
			i++
		}
		if i < len(b) && (b[i] == '"' || b[i] == '\'') {
			q := b[i]
			i++
			for i < len(b) && b[i] != q {
				i++
			}
			i++
			continue
		}
		for i < len(b) && !space(b[i]) && b[i] != '>' {
			i++
		}
	}
}

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val, true
		}
	}
	return "", false
}

func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

// sitemapDoc is sitemap.xml as the protocol defines it.
type sitemapDoc struct {
	XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []struct {
		Loc     string `xml:"loc"`
		LastMod string `xml:"lastmod"`
	} `xml:"url"`
}

// fixedPages are the pages the sitemap lists besides communities and
// oblasts, in each language.
// communitiesAndOblasts returns the fixture's communities and the set of
// their oblasts.
func communitiesAndOblasts(t *testing.T, f *fixture) ([]hromadabot.Community, map[string]bool) {
	t.Helper()
	all, err := f.db.Communities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	oblasts := map[string]bool{}
	for _, com := range all {
		if com.Oblast != "" {
			oblasts[com.Oblast] = true
		}
	}
	return all, oblasts
}

var fixedPages = []string{"/", "/methodology", "/about", "/en/", "/en/methodology", "/en/about"}

func TestSitemap(t *testing.T) {
	f := newFixture(t)
	all, oblasts := communitiesAndOblasts(t, f)
	if len(all) != 1469 {
		t.Fatalf("the fixture has %d communities, want 1469", len(all))
	}

	resp, body := f.get(t, "/sitemap.xml")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/xml; charset=utf-8" {
		t.Fatalf("GET /sitemap.xml: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc sitemapDoc
	if err := xml.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("sitemap.xml: %v", err)
	}
	if want := 2 * (len(all) + len(oblasts) + len(fixedPages)/2); len(doc.URLs) != want {
		t.Errorf("the sitemap lists %d URLs, want %d: 2 × (%d communities + %d oblasts + %d fixed pages)",
			len(doc.URLs), want, len(all), len(oblasts), len(fixedPages)/2)
	}
	listed := map[string]string{} // path → lastmod
	oblastPages := 0
	for _, u := range doc.URLs {
		path, ok := strings.CutPrefix(u.Loc, f.server.URL)
		if !ok || !strings.HasPrefix(path, "/") {
			t.Errorf("<loc>%s</loc> is not a URL of the site (%s)", u.Loc, f.server.URL)
			continue
		}
		if _, dup := listed[path]; dup {
			t.Errorf("%s is listed twice", u.Loc)
		}
		listed[path] = u.LastMod
		if u.LastMod != "" {
			if _, err := time.Parse("2006-01-02", u.LastMod); err != nil {
				t.Errorf("%s: lastmod %q is not a W3C date", u.Loc, u.LastMod)
			}
		}
		if oblastPath.MatchString(path) {
			oblastPages++
		}
	}
	for _, com := range all {
		ref := url.PathEscape(opendata.CommunityRef(&com))
		for _, p := range []string{"/hromada/" + ref, "/en/hromada/" + ref} {
			if _, ok := listed[p]; !ok {
				t.Errorf("the sitemap lacks %s (%s)", p, com.Name)
			}
		}
	}
	if oblastPages != 2*len(oblasts) {
		t.Errorf("the sitemap lists %d oblast pages, want 2 × %d", oblastPages, len(oblasts))
	}
	// Бучанська last reported 7 days before testNow.
	if got, want := listed["/hromada/"+f.bucha.Code], testNow.AddDate(0, 0, -7).UTC().Format("2006-01-02"); got != want {
		t.Errorf("Бучанська's lastmod %q, want %q (its last report)", got, want)
	}

	// Every fixed page, every oblast page and a sample of 30 communities
	// spread over the list answer.
	var sample []string
	sample = append(sample, fixedPages...)
	paths := make([]string, 0, len(listed))
	for p := range listed {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		if oblastPath.MatchString(p) {
			sample = append(sample, p)
		}
	}
	var communities []string
	for _, p := range paths {
		if communityPath.MatchString(p) {
			communities = append(communities, p)
		}
	}
	for i := 0; i < 30 && len(communities) > 0; i++ {
		sample = append(sample, communities[i*len(communities)/30])
	}
	for _, p := range sample {
		if _, ok := listed[p]; !ok && slices.Contains(fixedPages, p) {
			t.Errorf("the sitemap lacks the fixed page %s", p)
		}
		if resp, _ := f.get(t, p); resp.StatusCode != 200 {
			t.Errorf("GET %s (in the sitemap): %d", p, resp.StatusCode)
		}
	}

	resp, body = f.get(t, "/robots.txt")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("GET /robots.txt: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if want := "Sitemap: " + f.server.URL + "/sitemap.xml"; !slices.Contains(strings.Split(body, "\n"), want) {
		t.Errorf("robots.txt lacks the line %q:\n%s", want, body)
	}
}

// TestSitemapBaseURL checks that a configured public origin is the one
// the sitemap and robots.txt name, whatever host was asked.
func TestSitemapBaseURL(t *testing.T) {
	f := newFixture(t)
	s, err := site.New(site.Config{Records: f.db, Locales: mustCatalog(t), BaseURL: "https://index.example.org/", Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	g := &fixture{server: httptestServer(t, s)}
	_, body := g.get(t, "/robots.txt")
	if !strings.Contains(body, "Sitemap: https://index.example.org/sitemap.xml\n") {
		t.Errorf("robots.txt:\n%s", body)
	}
	_, body = g.get(t, "/sitemap.xml")
	var doc sitemapDoc
	if err := xml.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	for _, u := range doc.URLs {
		if !strings.HasPrefix(u.Loc, "https://index.example.org/") {
			t.Fatalf("<loc>%s</loc> is not under the public origin", u.Loc)
		}
	}
}

func httptestServer(t *testing.T, s *site.Site) *httptest.Server {
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// WCAG 2.1 contrast: https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio.
func relativeLuminance(hex string) (float64, error) {
	h := strings.TrimPrefix(hex, "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return 0, fmt.Errorf("colour %q is not #rgb or #rrggbb", hex)
	}
	var lin [3]float64
	for i := range lin {
		v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return 0, fmt.Errorf("colour %q: %v", hex, err)
		}
		c := float64(v) / 255
		if c <= 0.04045 {
			lin[i] = c / 12.92
		} else {
			lin[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*lin[0] + 0.7152*lin[1] + 0.0722*lin[2], nil
}

func contrastRatio(a, b float64) float64 {
	return (max(a, b) + 0.05) / (min(a, b) + 0.05)
}

func TestContrastRatio(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"#000000", "#ffffff", 21},
		{"#ffffff", "#ffffff", 1},
		{"#777777", "#ffffff", 4.48}, // the classic grey just under AA
		{"#767676", "#fff", 4.54},
	} {
		la, _ := relativeLuminance(tc.a)
		lb, _ := relativeLuminance(tc.b)
		if got := contrastRatio(la, lb); math.Abs(got-tc.want) > 0.01 {
			t.Errorf("%s on %s: %.3f, want %.2f", tc.a, tc.b, got, tc.want)
		}
	}
}

// contrastPair is a foreground on a background the sheet puts it on.
type contrastPair struct {
	fg, bg string
	where  string
}

// sheetColours reads site.css: the custom properties of :root, and the
// colours it writes in place for the focus ring and the controls' border.
func sheetColours(t *testing.T) (css string, colours map[string]string) {
	t.Helper()
	b, err := os.ReadFile("static/site.css")
	if err != nil {
		t.Fatal(err)
	}
	css = string(b)
	root := regexp.MustCompile(`(?s):root\s*\{([^}]*)\}`).FindStringSubmatch(css)
	if root == nil {
		t.Fatal("site.css has no :root rule")
	}
	colours = map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+)\s*:\s*(#[0-9a-fA-F]{3,6})\b`).FindAllStringSubmatch(root[1], -1) {
		colours[m[1]] = m[2]
	}
	if m := regexp.MustCompile(`outline:\s*\d+px solid (#[0-9a-fA-F]{3,6})`).FindStringSubmatch(css); m != nil {
		colours["focus ring"] = m[1]
	}
	if m := regexp.MustCompile(`\.top a:focus-visible \{ outline-color: (#[0-9a-fA-F]{3,6})`).FindStringSubmatch(css); m != nil {
		colours["header focus ring"] = m[1]
	}
	if m := regexp.MustCompile(`input, select, button \{[^}]*border: 1px solid (#[0-9a-fA-F]{3,6})`).FindStringSubmatch(css); m != nil {
		colours["control border"] = m[1]
	}
	return css, colours
}

func checkContrast(t *testing.T, colours map[string]string, want float64, pairs []contrastPair) {
	t.Helper()
	for _, p := range pairs {
		fg, bg := colours[p.fg], colours[p.bg]
		if fg == "" || bg == "" {
			t.Errorf("site.css has no colour %q or %q", p.fg, p.bg)
			continue
		}
		lf, err1 := relativeLuminance(fg)
		lb, err2 := relativeLuminance(bg)
		if err1 != nil || err2 != nil {
			t.Errorf("%s on %s: %v %v", p.fg, p.bg, err1, err2)
			continue
		}
		if r := contrastRatio(lf, lb); r < want {
			t.Errorf("%s (%s) on %s (%s), %s: contrast %.2f:1, want at least %.1f:1", p.fg, fg, p.bg, bg, p.where, r, want)
		} else {
			t.Logf("%s on %s: %.2f:1", p.fg, p.bg, r)
		}
	}
}

// TestContrast checks the sheet's text colours on the backgrounds it puts
// them on against WCAG 2.1 AA for normal text (1.4.3): 4.5:1.
func TestContrast(t *testing.T) {
	css, colours := sheetColours(t)
	for _, name := range []string{"ink", "muted", "accent", "bg", "band", "done", "behind", "track", "accent-ink"} {
		if _, ok := colours[name]; !ok {
			t.Errorf("site.css's :root lacks --%s", name)
		}
		if !strings.Contains(css, "var(--"+name+")") {
			t.Errorf("site.css does not use --%s", name)
		}
	}
	checkContrast(t, colours, 4.5, []contrastPair{
		{"ink", "bg", "body text"},
		{"ink", "band", "table heads, cards, the empty notice"},
		{"muted", "bg", "leads, counts, silent rows, the chart's axes and caption, the footer"},
		{"muted", "band", "card labels, filter labels"},
		{"accent", "bg", "links"},
		{"accent", "band", "the reset link in the filters"},
		{"accent-ink", "accent", "the header, buttons, the skip link"},
		{"done", "bg", "status done"},
		{"behind", "bg", "status behind"},
		{"track", "bg", "status on track"},
	})
}

// TestNonTextContrast checks what shows a control and its focus against
// WCAG 2.1 AA for user interface components (1.4.11): 3:1 against the
// colours next to it.
func TestNonTextContrast(t *testing.T) {
	_, colours := sheetColours(t)
	checkContrast(t, colours, 3, []contrastPair{
		{"focus ring", "bg", "the focus outline on the page"},
		{"focus ring", "band", "the focus outline in the filters and cards"},
		{"header focus ring", "accent", "the focus outline in the header"},
		{"control border", "bg", "inputs and selects (the year form)"},
		{"control border", "band", "inputs and selects in the filters"},
	})
}
