package site_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"iter"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser tests drive the site in headless Chromium, as a visitor's
// browser sees it: the style sheet under the site's Content-Security-Policy,
// the layout at a phone's width and a desktop's, the forms, the sort links
// and the keyboard.
//
// CHROME_PATH names the browser; without it chromium, chromium-browser or
// google-chrome is looked up on PATH. With none the tests skip, unless
// BROWSER_TESTS=1 (as .ci/run sets it), which makes a missing browser a
// failure. SITE_SCREENSHOTS=dir keeps the screenshots in dir for a person to
// look at.

// knownBug is a fault of the site that has been reported and is not fixed
// yet.
type knownBug struct {
	fault string // a part of the fault as the tests word it
	fix   string // where it is, and what would fix it
}

// knownBugs are logged instead of failing the tests; the first visit's
// subtest fails when one no longer shows, so that its entry goes with the
// bug.
var knownBugs = []knownBug{}

// viewportWidths are a small phone's and a desktop's.
var viewportWidths = []int64{360, 1280}

const (
	viewportHeight = 800
	// tabTimeout only keeps a broken browser from hanging the run: no
	// assertion is timed.
	tabTimeout = 2 * time.Minute
)

// browser is one Chromium shared by the subtests; each opens its own tab.
type browser struct {
	ctx context.Context
}

// chromePath is the browser to run: CHROME_PATH, else the first of the
// usual names on PATH. A CHROME_PATH that names no program is an error, not
// a reason to skip: someone asked for that browser.
func chromePath() (path string, found bool, err error) {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", false, fmt.Errorf("CHROME_PATH=%s: %w", p, err)
		}
		return path, true, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, true, nil
		}
	}
	return "", false, nil
}

// newBrowser starts headless Chromium for the test and its subtests, or
// skips the test when there is none and BROWSER_TESTS is not 1.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path, found, err := chromePath()
	switch {
	case err != nil:
		t.Fatal(err)
	case !found && os.Getenv("BROWSER_TESTS") == "1":
		t.Fatal("BROWSER_TESTS=1 but no Chromium: install Debian's chromium (apt-get install chromium) or set CHROME_PATH")
	case !found:
		t.Skip("no Chromium: install Debian's chromium (apt-get install chromium) or set CHROME_PATH; BROWSER_TESTS=1 makes this a failure")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		// CI runs as root, where Chromium refuses its sandbox; the tab only
		// ever loads the test's own server.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	// The first Do starts the browser and ties it to ctx, which has no
	// deadline: the tabs' timeouts end tabs, not the browser.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return &browser{ctx: ctx}
}

// tab is a browser tab of one viewport width. It records what goes wrong
// on its pages: console errors, uncaught exceptions, errors of the
// browser's log (where a Content-Security-Policy violation shows), failed
// requests and answers of status 400 and above.
type tab struct {
	ctx  context.Context
	base string

	mu       sync.Mutex
	urls     map[network.RequestID]string
	problems []string
	// own404 is the URL of a not-found page being looked at: its own 404
	// is the answer expected.
	own404 string
}

func (b *browser) openTab(t *testing.T, base string, width int64) *tab {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, tabTimeout)
	t.Cleanup(cancel)
	// A browser context of its own, like a fresh profile: what one tab's
	// pages left in the cache cannot hide a failed request from another.
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelTab)
	tb := &tab{ctx: ctx, base: base, urls: map[network.RequestID]string{}}
	// Focus emulation: tabs run side by side, and each must behave as the
	// focused one for the keyboard and :focus.
	focus := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, viewportHeight), focus); err != nil {
		t.Fatalf("open a tab %d px wide: %v", width, err)
	}
	if err := chromedp.Listen(ctx, tb.record); err != nil {
		t.Fatal(err)
	}
	return tb
}

// record runs in the tab's event loop: it only notes what it sees.
func (tb *tab) record(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				var text string
				if json.Unmarshal(a.Value, &text) != nil {
					text = strings.TrimSpace(string(a.Value) + " " + a.Description)
				}
				args = append(args, text)
			}
			tb.problems = append(tb.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		tb.problems = append(tb.problems, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *log.EventEntryAdded:
		e := ev.Entry
		if e.Level != log.EntryLevelError || (e.Source == log.EntrySourceNetwork && e.URL != "" && e.URL == tb.own404) {
			return
		}
		tb.problems = append(tb.problems, fmt.Sprintf("log %s error: %s (%s)", e.Source, e.Text, e.URL))
	case *network.EventRequestWillBeSent:
		tb.urls[ev.RequestID] = ev.Request.URL
	case *network.EventLoadingFailed:
		tb.problems = append(tb.problems, fmt.Sprintf("request for %s failed: %s (canceled %v, blocked %q)", tb.urls[ev.RequestID], ev.ErrorText, ev.Canceled, ev.BlockedReason))
	case *network.EventResponseReceived:
		r := ev.Response
		if r.Status < 400 || (ev.Type == network.ResourceTypeDocument && r.Status == http.StatusNotFound && r.URL == tb.own404) {
			return
		}
		tb.problems = append(tb.problems, fmt.Sprintf("%s %s: status %d", ev.Type, r.URL, r.Status))
	}
}

// expect404 tells the tab that the page at path is a not-found page: its
// own 404 is no fault.
func (tb *tab) expect404(path string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.own404 = tb.base + path
}

// take returns what went wrong on the tab's pages since the last call.
func (tb *tab) take(t *testing.T) []string {
	t.Helper()
	// A round trip: the events the browser sent before its answer have
	// been recorded when it returns.
	if err := chromedp.Do(tb.ctx, chromedp.Evaluate[chromedp.Void](`0`)); err != nil {
		t.Fatal(err)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	problems := tb.problems
	tb.problems = nil
	return problems
}

// check fails the test with what went wrong on the tab's pages since the
// last call and with the faults given; a known bug is logged instead, and
// returned.
func (tb *tab) check(t *testing.T, faults ...string) (known []*knownBug) {
	t.Helper()
	for _, fault := range append(tb.take(t), faults...) {
		i := slices.IndexFunc(knownBugs, func(b knownBug) bool { return strings.Contains(fault, b.fault) })
		if i < 0 {
			t.Error(fault)
			continue
		}
		t.Logf("known site bug: %s", fault)
		if !slices.Contains(known, &knownBugs[i]) {
			known = append(known, &knownBugs[i])
		}
	}
	return known
}

// open loads a page of the site and returns its answer's status.
func (tb *tab) open(t *testing.T, path string) int64 {
	t.Helper()
	return tb.load(t, "open "+path, false, func() (*network.Response, error) {
		return chromedp.Run(tb.ctx, chromedp.NavigateResponse(tb.base+path))
	})
}

// openSettled is open, and waits until the page's network is idle: the
// browser asks for some things only after the load event (the favicon),
// and their failures count too.
func (tb *tab) openSettled(t *testing.T, path string) int64 {
	t.Helper()
	return tb.load(t, "open "+path, true, func() (*network.Response, error) {
		return chromedp.Run(tb.ctx, chromedp.NavigateResponse(tb.base+path))
	})
}

// follow runs an action that loads another page, such as a click on a link,
// and waits for that page, which must be found.
func (tb *tab) follow(t *testing.T, what string, action chromedp.Action[chromedp.Void]) {
	t.Helper()
	status := tb.load(t, what, false, func() (*network.Response, error) {
		return chromedp.RunResponse(tb.ctx, action)
	})
	if status != http.StatusOK {
		t.Fatalf("%s: status %d", what, status)
	}
}

// load runs a navigation, waits for the page (and, to settle, for its
// network to go idle) and returns the page's status.
func (tb *tab) load(t *testing.T, what string, settle bool, navigate func() (*network.Response, error)) int64 {
	t.Helper()
	var lifecycle iter.Seq2[page.EventLifecycleEvent, error]
	if settle {
		// Subscribed before the navigation, so its events are all seen.
		lifecycle = chromedp.Events(tb.ctx, page.LifecycleEvent)
	}
	resp, err := navigate()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !settle {
		return resp.Status
	}
	var loader cdp.LoaderID
	for ev, err := range lifecycle {
		if err != nil {
			t.Fatalf("%s: waiting for the network to go idle: %v", what, err)
		}
		if ev.Name == "init" {
			loader = ev.LoaderID
		}
		if ev.Name == "networkIdle" && loader != "" && ev.LoaderID == loader {
			break
		}
	}
	return resp.Status
}

// location is the tab's URL.
func (tb *tab) location(t *testing.T) *url.URL {
	t.Helper()
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// evaluate runs JavaScript in the tab's page and decodes its result.
func evaluate[T any](t *testing.T, tb *tab, js string) T {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %.60q: %v", js, err)
	}
	return v
}

// do runs actions that load no page.
func (tb *tab) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// pageFacts is what every page is checked for.
type pageFacts struct {
	Lang        string   `json:"lang"`
	H1          []string `json:"h1"`
	ScrollWidth int      `json:"scrollWidth"`
	InnerWidth  int      `json:"innerWidth"`
	// Wide lists the elements that reach past the viewport's right edge,
	// outside a .scroll region, which may scroll a table on its own.
	Wide []string `json:"wide"`
	// Access lists accessibility faults: duplicate ids, form controls
	// without a label, labels that point at nothing, links without text.
	Access []string `json:"access"`
}

const pageFactsJS = `(() => {
	const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.classList.length ? '.' + [...el.classList].join('.') : '');
	const vw = window.innerWidth;
	// The outermost elements past the edge, and any that reach farther
	// than their parent: the ones to fix.
	const wide = [];
	if (document.documentElement.scrollWidth > vw) {
		for (const el of document.body.querySelectorAll('*')) {
			if (el.parentElement.closest('.scroll')) continue;
			const right = el.getBoundingClientRect().right, parent = el.parentElement.getBoundingClientRect().right;
			if (right > vw + 0.5 && (parent <= vw + 0.5 || right > parent + 0.5)) {
				wide.push(name(el) + ' in ' + name(el.parentElement) + ' reaches ' + Math.round(right) + ' px');
			}
		}
	}
	const access = [];
	const ids = {};
	for (const el of document.querySelectorAll('[id]')) ids[el.id] = (ids[el.id] || 0) + 1;
	for (const [id, n] of Object.entries(ids)) if (n > 1) access.push('id ' + id + ' used ' + n + ' times');
	for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
		if (!el.labels.length && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) access.push(name(el) + ' has no label');
	}
	for (const el of document.querySelectorAll('[aria-labelledby]')) {
		for (const id of el.getAttribute('aria-labelledby').split(/\s+/)) if (!document.getElementById(id)) access.push(name(el) + ' is labelled by missing #' + id);
	}
	for (const el of document.querySelectorAll('label[for]')) if (!document.getElementById(el.htmlFor)) access.push('label for missing #' + el.htmlFor);
	for (const a of document.querySelectorAll('a[href]')) if (!a.textContent.trim() && !a.getAttribute('aria-label')) access.push(name(a) + ' to ' + a.getAttribute('href') + ' has no text');
	for (const img of document.querySelectorAll('img:not([alt])')) access.push(name(img) + ' has no alt');
	return {
		lang: document.documentElement.lang,
		h1: [...document.querySelectorAll('h1')].map(h => h.textContent.trim()),
		scrollWidth: document.documentElement.scrollWidth,
		innerWidth: vw,
		wide: wide.slice(0, 10),
		access: access,
	};
})()`

func TestBrowser(t *testing.T) {
	b := newBrowser(t)
	f := newFixture(t)
	bucha := "/hromada/" + url.PathEscape(f.bucha.Code)
	start := time.Now()
	t.Cleanup(func() { t.Logf("browser tests took %v", time.Since(start).Round(time.Millisecond)) })

	// The browser asks for what a page does not name (the favicon) once
	// per run, on its first visit: this is where it shows.
	t.Run("first visit loads clean", func(t *testing.T) {
		tb := b.openTab(t, f.server.URL, viewportWidths[len(viewportWidths)-1])
		tb.openSettled(t, "/")
		known := tb.check(t)
		for i := range knownBugs {
			if !slices.Contains(known, &knownBugs[i]) {
				t.Errorf("known bug no longer shows; remove it from knownBugs: %s", knownBugs[i].fix)
			}
		}
	})

	// The checks below pass when nothing is recorded, so first make sure
	// that the tab records each kind of fault.
	t.Run("tab records deliberate faults", func(t *testing.T) {
		tb := b.openTab(t, f.server.URL, viewportWidths[0])
		tb.open(t, "/")
		tb.take(t) // the page's own faults are the other subtests' to report
		faults := []struct{ name, js, want string }{
			{"console error", `console.error('deliberate')`, "console.error: deliberate"},
			{"uncaught exception", `new Promise(done => {
				setTimeout(() => { throw new Error('deliberate') });
				setTimeout(done);
			})`, "exception"},
			{"inline script refused", `new Promise(done => {
				document.addEventListener('securitypolicyviolation', done, {once: true});
				document.body.appendChild(document.createElement('script')).textContent = '1';
			})`, "Content Security Policy"},
			{"missing image", `new Promise(done => {
				const img = new Image();
				img.onload = img.onerror = done;
				img.src = '/deliberately-missing.png';
			})`, "status 404"},
			{"image from another origin", `new Promise(done => {
				const img = new Image();
				img.onload = img.onerror = done;
				img.src = 'http://elsewhere.invalid/x.png';
			})`, "failed"},
		}
		for _, fault := range faults {
			if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[chromedp.Void](fault.js, chromedp.EvalAwaitPromise)); err != nil {
				t.Fatalf("%s: %v", fault.name, err)
			}
			if got := tb.take(t); !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, fault.want) }) {
				t.Errorf("%s: recorded %q, want one with %q", fault.name, got, fault.want)
			}
		}
	})

	for _, width := range viewportWidths {
		t.Run(strconv.FormatInt(width, 10)+"px", func(t *testing.T) {
			t.Parallel()
			t.Run("pages load clean", func(t *testing.T) {
				for _, tc := range []struct {
					name, path, lang string
					status           int64
				}{
					{"ranking", "/", "uk", 200},
					{"ranking in English", "/en/", "en", 200},
					{"community", bucha, "uk", 200},
					{"community in English", "/en" + bucha, "en", 200},
					{"oblast", "/oblast/kyivska", "uk", 200},
					{"methodology", "/methodology", "uk", 200},
					{"about", "/about", "uk", 200},
					{"not found", "/nope", "uk", 404},
				} {
					t.Run(tc.name, func(t *testing.T) {
						t.Parallel()
						tb := b.openTab(t, f.server.URL, width)
						if tc.status == http.StatusNotFound {
							tb.expect404(tc.path)
						}
						if got := tb.openSettled(t, tc.path); got != tc.status {
							t.Errorf("status %d, want %d", got, tc.status)
						}
						p := evaluate[pageFacts](t, tb, pageFactsJS)
						if p.Lang != tc.lang {
							t.Errorf("<html lang=%q>, want %q", p.Lang, tc.lang)
						}
						if len(p.H1) == 0 || p.H1[0] == "" {
							t.Errorf("no h1 (h1s: %q)", p.H1)
						}
						var faults []string
						if p.ScrollWidth > p.InnerWidth {
							faults = append(faults, fmt.Sprintf("the page is %d px wide in a %d px window: %s", p.ScrollWidth, p.InnerWidth, strings.Join(p.Wide, "; ")))
						}
						for _, a := range p.Access {
							faults = append(faults, "accessibility: "+a)
						}
						tb.check(t, faults...)
					})
				}
			})

			t.Run("oblast filter keeps one oblast", func(t *testing.T) {
				t.Parallel()
				tb := b.openTab(t, f.server.URL, width)
				tb.open(t, "/")
				label := evaluate[string](t, tb, `document.querySelector('#f-oblast option[value="kyivska"]').textContent`)
				tb.do(t, "choose the oblast", chromedp.SetValue(chromedp.ID("f-oblast"), "kyivska"))
				tb.follow(t, "submit the filters", chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)))
				tb.check(t)
				if got := tb.location(t).Query().Get("oblast"); got != "kyivska" {
					t.Errorf("URL has oblast=%q, want kyivska", got)
				}
				oblasts := column(t, tb, "oblast")
				if len(oblasts) == 0 {
					t.Fatal("no rows")
				}
				for i, o := range oblasts {
					if o != label {
						t.Errorf("row %d is in %q, want %q", i+1, o, label)
					}
				}
				if got := evaluate[string](t, tb, `document.getElementById('f-oblast').value`); got != "kyivska" {
					t.Errorf("the select shows %q after the filter, want kyivska", got)
				}
			})

			t.Run("search puts the centre first", func(t *testing.T) {
				t.Parallel()
				tb := b.openTab(t, f.server.URL, width)
				tb.open(t, "/")
				tb.do(t, "type the query", chromedp.SendKeys(chromedp.ID("f-q"), "Буча"))
				tb.follow(t, "submit the search", chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`)))
				tb.check(t)
				if got := tb.location(t).Query().Get("q"); got != "Буча" {
					t.Errorf("URL has q=%q, want Буча", got)
				}
				if got := evaluate[string](t, tb, `document.querySelector('#ranking a.community').textContent`); got != "Бучанська" {
					t.Errorf("first community %q, want Бучанська", got)
				}
			})

			t.Run("index head sorts both ways", func(t *testing.T) {
				t.Parallel()
				tb := b.openTab(t, f.server.URL, width)
				tb.open(t, "/")
				head := `//table[@id="ranking"]/thead//a[starts-with(normalize-space(), "Індекс")]`
				for _, want := range []string{"descending", "ascending"} {
					tb.follow(t, "click the index head", chromedp.Click(head))
					tb.check(t)
					sort := evaluate[string](t, tb, `document.querySelector('#ranking th:has(a[href*="sort=index"])').getAttribute('aria-sort')`)
					if sort != want {
						t.Errorf("aria-sort=%q, want %q", sort, want)
					}
					checkIndexOrder(t, column(t, tb, "index"), want)
				}
			})

			t.Run("community link opens its page", func(t *testing.T) {
				t.Parallel()
				tb := b.openTab(t, f.server.URL, width)
				tb.open(t, "/")
				tb.follow(t, "click Бучанська", chromedp.Click(`//table[@id="ranking"]//a[@class="community"][normalize-space()="Бучанська"]`))
				tb.check(t)
				if got := tb.location(t).EscapedPath(); got != bucha {
					t.Errorf("at %s, want %s", got, bucha)
				}
				if got := evaluate[string](t, tb, `document.querySelector('h1').textContent`); got != "Бучанська" {
					t.Errorf("h1 %q, want Бучанська", got)
				}
			})

			t.Run("language link switches the page", func(t *testing.T) {
				t.Parallel()
				tb := b.openTab(t, f.server.URL, width)
				tb.open(t, bucha)
				for _, want := range []struct{ hreflang, path, h1 string }{
					{"en", "/en" + bucha, "Buchanska"},
					{"uk", bucha, "Бучанська"},
				} {
					tb.follow(t, "click the "+want.hreflang+" link", chromedp.Click(chromedp.CSS(`a[hreflang="`+want.hreflang+`"]`)))
					tb.check(t)
					if got := tb.location(t).EscapedPath(); got != want.path {
						t.Errorf("at %s, want %s", got, want.path)
					}
					if got := evaluate[string](t, tb, `document.documentElement.lang`); got != want.hreflang {
						t.Errorf("<html lang=%q>, want %q", got, want.hreflang)
					}
					if got := evaluate[string](t, tb, `document.querySelector('h1').textContent`); got != want.h1 {
						t.Errorf("h1 %q, want %q", got, want.h1)
					}
				}
			})

			t.Run("first tab shows the skip link", func(t *testing.T) {
				t.Parallel()
				tb := b.openTab(t, f.server.URL, width)
				tb.open(t, "/")
				tb.do(t, "press Tab", chromedp.KeyEvent(kb.Tab))
				focus := evaluate[focusFacts](t, tb, `(() => {
					const a = document.activeElement, r = a.getBoundingClientRect();
					return {skip: a.matches('a.skip'), href: a.getAttribute('href') || '',
						left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: innerWidth, height: innerHeight};
				})()`)
				if !focus.Skip {
					t.Fatalf("Tab focused %q, not the skip link", focus.Href)
				}
				if focus.Left < 0 || focus.Top < 0 || focus.Right > focus.Width || focus.Bottom > focus.Height || focus.Right <= focus.Left {
					t.Errorf("the focused skip link is at (%v,%v)–(%v,%v), outside the %vx%v window", focus.Left, focus.Top, focus.Right, focus.Bottom, focus.Width, focus.Height)
				}
				tb.do(t, "press Enter", chromedp.KeyEvent(kb.Enter))
				if got := tb.location(t).Fragment; got != "main" {
					t.Errorf("the skip link led to #%s, want #main", got)
				}
				tb.check(t)
			})

			t.Run("screenshots", func(t *testing.T) {
				t.Parallel()
				keep := os.Getenv("SITE_SCREENSHOTS")
				if keep != "" {
					if err := os.MkdirAll(keep, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				dir := t.TempDir()
				for _, shot := range []struct{ name, path string }{
					{"ranking", "/"},
					{"community", bucha},
				} {
					tb := b.openTab(t, f.server.URL, width)
					tb.open(t, shot.path)
					img, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100)) // 100 is PNG
					if err != nil {
						t.Fatalf("screenshot of %s: %v", shot.path, err)
					}
					tb.check(t)
					cfg, err := png.DecodeConfig(bytes.NewReader(img))
					if err != nil {
						t.Fatalf("screenshot of %s: %v", shot.path, err)
					}
					if int64(cfg.Width) != width {
						t.Errorf("screenshot of %s is %d px wide, want %d", shot.path, cfg.Width, width)
					}
					file := fmt.Sprintf("%s-%d.png", shot.name, width)
					for _, d := range []string{dir, keep} {
						if d == "" {
							continue
						}
						if err := os.WriteFile(filepath.Join(d, file), img, 0o644); err != nil {
							t.Fatal(err)
						}
					}
					t.Logf("%s: %dx%d", file, cfg.Width, cfg.Height)
				}
			})
		})
	}

	t.Run("CSV link downloads every community", func(t *testing.T) {
		t.Parallel()
		tb := b.openTab(t, f.server.URL, viewportWidths[0])
		tb.open(t, "/")
		// The browser's own download is awkward to catch headless, and a
		// fetch() from the page is what the site's CSP (default-src 'none')
		// rightly refuses: Go follows the link instead.
		href := evaluate[string](t, tb, `document.querySelector('a[href^="/data/scores.csv"]').href`)
		u, err := url.Parse(href)
		if err != nil || u.Host != strings.TrimPrefix(f.server.URL, "http://") {
			t.Fatalf("the CSV link %q is not the site's", href)
		}
		resp, body := f.do(t, http.MethodGet, u.RequestURI())
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("GET %s: %d %s", href, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatalf("GET %s: %v", href, err)
		}
		if len(records) == 0 || len(records[0]) < 2 || records[0][0] != "community" || records[0][1] != "community_id" {
			t.Fatalf("header %q, want community, community_id, …", records[:min(1, len(records))])
		}
		if got := len(records) - 1; got != 1469 {
			t.Errorf("%d rows, want 1469", got)
		}
		if !slices.ContainsFunc(records[1:], func(r []string) bool { return r[0] == f.bucha.Code }) {
			t.Errorf("no row for %s", f.bucha.Code)
		}
		tb.check(t)
	})
}

// focusFacts is where the focused element is, against the window.
type focusFacts struct {
	Skip   bool    `json:"skip"`
	Href   string  `json:"href"`
	Left   float64 `json:"left"`
	Top    float64 `json:"top"`
	Right  float64 `json:"right"`
	Bottom float64 `json:"bottom"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// column reads the text of a ranking column, named by its sort key, row by
// row. Hidden cells (the phone layout hides the oblast) are read all the
// same.
func column(t *testing.T, tb *tab, key string) []string {
	t.Helper()
	return evaluate[[]string](t, tb, `(() => {
		const table = document.getElementById('ranking');
		const heads = [...table.tHead.rows[0].cells];
		const i = heads.findIndex(th => th.querySelector('a[href*="sort=`+key+`&"], a[href$="sort=`+key+`"]'));
		if (i < 0) throw new Error('no column sorted by `+key+`');
		return [...table.tBodies[0].rows].map(r => r.cells[i].textContent.trim());
	})()`)
}

// checkIndexOrder checks the index column is sorted: figures in the given
// direction, written with a decimal comma, and the communities without a
// report ("—") after them whichever way.
func checkIndexOrder(t *testing.T, cells []string, dir string) {
	t.Helper()
	var figures []float64
	for i, c := range cells {
		if c == "—" {
			if slices.ContainsFunc(cells[i:], func(c string) bool { return c != "—" }) {
				t.Errorf("row %d has no figure but a later row has", i+1)
			}
			break
		}
		x, err := strconv.ParseFloat(strings.ReplaceAll(strings.ReplaceAll(c, "\u00a0", ""), ",", "."), 64)
		if err != nil {
			t.Fatalf("row %d: index %q: %v", i+1, c, err)
		}
		figures = append(figures, x)
	}
	if len(figures) < 2 {
		t.Fatalf("only %d figures to compare: %q", len(figures), cells[:min(5, len(cells))])
	}
	for i := 1; i < len(figures); i++ {
		if (dir == "descending" && figures[i] > figures[i-1]) || (dir == "ascending" && figures[i] < figures[i-1]) {
			t.Errorf("%s: row %d has %v after %v", dir, i+1, figures[i], figures[i-1])
		}
	}
}
