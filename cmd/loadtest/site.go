package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot/telegramtest"
	"github.com/hromadabot/hromadabot/storage/fixture"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// With -channel site the harness measures the public web site that
// `hromadabot run` serves on HTTP_ADDR, on a copy of a fixture database
// (package fixture) and with no chat traffic at all: for each class of
// page, a closed loop of -site-conns keep-alive clients as fast as the bot
// answers, then an open loop offering -site-rate requests a second, every
// request asking for gzip.

const (
	// siteYear is the year the ranking API is asked for, the one the
	// sqlite benchmarks score: the national fixture has reports all
	// through it.
	siteYear = 2026
	// siteSettle is how long the bot is left alone once ready before its
	// memory is read: what it allocated at start has settled by then.
	siteSettle = 2 * time.Second
	// siteRest is how long it is left alone after the last step before the
	// memory is read again, for the runtime to hand back what the
	// requests' garbage took.
	siteRest = 3 * time.Second
	// siteTarget is the latency the site is to keep at p99, and
	// siteTargetRate the requests a second it is to answer at least.
	siteTarget     = 20 * time.Millisecond
	siteTargetRate = 2000
	// siteMemoryTarget is what the site may add to the bot's memory.
	siteMemoryTarget = 20 << 20
)

// noTokenRefusal is what `hromadabot run` says when it refuses to start
// without a chat token (errNoToken in cmd/hromadabot/run.go).
const noTokenRefusal = "TELEGRAM_TOKEN: not set, nor VIBER_TOKEN"

// siteClass is one kind of page measured.
type siteClass struct {
	name  string
	pages *pages
}

// pages are the paths a class's requests cycle over, with whether each
// was asked for yet: a site that renders a page at its first visit and
// keeps it pays the rendering at the first visits alone.
type pages struct {
	paths []string
	seen  []atomic.Bool
}

func newPages(paths ...string) *pages {
	return &pages{paths: paths, seen: make([]atomic.Bool, len(paths))}
}

// take returns request i's path, and whether it is the path's first visit.
func (p *pages) take(i int) (path string, first bool) {
	i %= len(p.paths)
	return p.paths[i], !p.seen[i].Swap(true)
}

// siteClasses are the pages measured: the ranking page, the ranking API,
// and the community pages of all the refs in turn.
func siteClasses(refs []string) []siteClass {
	paths := make([]string, len(refs))
	for i, ref := range refs {
		paths[i] = "/hromada/" + url.PathEscape(ref)
	}
	return []siteClass{
		{name: "ranking page", pages: newPages("/")},
		{name: "ranking API", pages: newPages("/api/v1/ranking?year=" + strconv.Itoa(siteYear))},
		{name: "community page", pages: newPages(paths...)},
	}
}

// siteRef is the site's name of a community in its URLs: the KATOTTG
// code, or the numeric id of a community that has none.
func siteRef(c hromadabot.Community) string {
	if c.Code != "" {
		return c.Code
	}
	return strconv.FormatInt(c.ID, 10)
}

// hit is the outcome of one request.
type hit struct {
	lat    time.Duration
	status int // 0 when there was no answer
	// bytes of the body as sent, compressed when gzip is set.
	bytes      int64
	gzip, etag bool
	// first is set on the first visit to the path.
	first bool
	err   error
}

// siteTally sums up the requests of a step.
type siteTally struct {
	// lat has every request's latency, answered or not; first and again
	// split them into first and later visits to a path.
	lat, first, again Latencies
	// ok are the 200s; bytes, gzipped and tagged are theirs.
	ok              int
	bytes           int64
	gzipped, tagged int
	// statuses counts the answers other than 200, by status.
	statuses map[int]int
	// failed had no answer (a connection error or a timeout); unsent were
	// never sent, the step having ended long before their turn came.
	failed, unsent int
	lastErr        error
	// inStep are the requests answered before the step's end.
	inStep int
}

func (t *siteTally) add(h hit) {
	t.lat = append(t.lat, h.lat)
	if h.first {
		t.first = append(t.first, h.lat)
	} else {
		t.again = append(t.again, h.lat)
	}
	switch {
	case h.status == 0:
		t.failed++
		t.lastErr = h.err
	case h.status != http.StatusOK:
		if t.statuses == nil {
			t.statuses = map[int]int{}
		}
		t.statuses[h.status]++
	default:
		t.ok++
		t.bytes += h.bytes
		if h.gzip {
			t.gzipped++
		}
		if h.etag {
			t.tagged++
		}
	}
}

func (t *siteTally) merge(o *siteTally) {
	t.lat = append(t.lat, o.lat...)
	t.first = append(t.first, o.first...)
	t.again = append(t.again, o.again...)
	t.ok += o.ok
	t.bytes += o.bytes
	t.gzipped += o.gzipped
	t.tagged += o.tagged
	for s, n := range o.statuses {
		if t.statuses == nil {
			t.statuses = map[int]int{}
		}
		t.statuses[s] += n
	}
	t.failed += o.failed
	t.unsent += o.unsent
	if o.lastErr != nil {
		t.lastErr = o.lastErr
	}
	t.inStep += o.inStep
}

// errors are the requests not answered 200.
func (t *siteTally) errors() int {
	n := t.failed + t.unsent
	for _, c := range t.statuses {
		n += c
	}
	return n
}

// describe lists the errors: "404 ×3, 2 without answer (last: …)".
func (t *siteTally) describe() string {
	var parts []string
	codes := make([]int, 0, len(t.statuses))
	for s := range t.statuses {
		codes = append(codes, s)
	}
	slices.Sort(codes)
	for _, s := range codes {
		parts = append(parts, fmt.Sprintf("%d ×%d", s, t.statuses[s]))
	}
	if t.failed > 0 {
		p := fmt.Sprintf("%d without answer", t.failed)
		if t.lastErr != nil {
			p += fmt.Sprintf(" (last: %v)", t.lastErr)
		}
		parts = append(parts, p)
	}
	if t.unsent > 0 {
		parts = append(parts, fmt.Sprintf("%d never sent, their turn coming too long after the step", t.unsent))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// visits compares the first visits to a path with the later ones.
func (t *siteTally) visits() string {
	_, _, f99, fmax := t.first.Summary()
	_, _, a99, amax := t.again.Summary()
	return fmt.Sprintf("first visits to a page %d (p99 %s, max %s), later visits %d (p99 %s, max %s)",
		len(t.first), ms(f99), ms(fmax), len(t.again), ms(a99), ms(amax))
}

// perResponse is the mean body of the 200s in bytes, as sent.
func (t *siteTally) perResponse() float64 {
	if t.ok == 0 {
		return 0
	}
	return float64(t.bytes) / float64(t.ok)
}

// share is n as a percentage of the 200s.
func (t *siteTally) share(n int) string {
	if t.ok == 0 {
		return "-"
	}
	return strconv.Itoa(int(float64(n)/float64(t.ok)*100+0.5)) + "%"
}

// siteClient returns a client of at most conns keep-alive connections
// that leaves the answers compressed, so that the bytes counted are the
// bytes sent.
func siteClient(conns int, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
		Timeout: timeout,
	}
}

// get requests base+path with Accept-Encoding: gzip and reads the whole
// answer.
func get(ctx context.Context, client *http.Client, base, path string) hit {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return hit{err: err}
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return hit{lat: time.Since(start), err: err}
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	h := hit{lat: time.Since(start), status: resp.StatusCode, bytes: n,
		gzip: resp.Header.Get("Content-Encoding") == "gzip", etag: resp.Header.Get("ETag") != ""}
	if err != nil {
		h.status, h.err = 0, err
	}
	return h
}

// checkServed asks for the first path of each of ps and fails on the
// first that is not answered 200: until the site exists, every figure
// would be of a 404.
func checkServed(ctx context.Context, client *http.Client, base string, ps ...*pages) error {
	for _, pg := range ps {
		p, _ := pg.take(0)
		h := get(ctx, client, base, p)
		if h.status == 0 {
			return fmt.Errorf("site not served: GET %s: %v", p, h.err)
		}
		if h.status != http.StatusOK {
			return fmt.Errorf("site not served: GET %s answered %d", p, h.status)
		}
	}
	return nil
}

// siteClosedLoop runs conns clients for d, each sending its next request as
// soon as the last one is answered, over the pages in turn. It returns their
// tally and the time until the last answer.
func siteClosedLoop(ctx context.Context, client *http.Client, base string, pg *pages, conns int, d time.Duration) (*siteTally, time.Duration) {
	var next atomic.Int64
	tallies := make([]siteTally, conns)
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			t := &tallies[w]
			for ctx.Err() == nil && time.Now().Before(end) {
				path, first := pg.take(int(next.Add(1) - 1))
				h := get(ctx, client, base, path)
				h.first = first
				t.add(h)
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	all := &siteTally{}
	for i := range tallies {
		all.merge(&tallies[i])
	}
	all.inStep = len(all.lat)
	return all, wall
}

// scheduled is when the open loop's request k (from 0) is due: requests
// are spread evenly, the first one interval after the start.
func scheduled(start time.Time, rate float64, k int) time.Time {
	return start.Add(time.Duration(float64(k+1) / rate * float64(time.Second)))
}

// siteOpenLoop offers rate requests a second over the pages for d, each sent at
// its scheduled time whatever the bot's speed, by at most conns clients at
// once. A request's latency runs from its scheduled time, so that time
// spent waiting for a free client, when the bot falls behind, counts. The
// requests still unsent drain after d have passed are left out.
func siteOpenLoop(ctx context.Context, client *http.Client, base string, pg *pages, rate float64, d time.Duration, conns int,
	drain time.Duration) *siteTally {
	n := int(rate * d.Seconds())
	queue := make(chan int, n)
	start := time.Now()
	end := start.Add(d)
	ctx, cancel := context.WithDeadline(ctx, end.Add(drain))
	defer cancel()
	tallies := make([]siteTally, conns)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			t := &tallies[w]
			for k := range queue {
				if ctx.Err() != nil {
					t.unsent++
					continue
				}
				path, first := pg.take(k)
				h := get(ctx, client, base, path)
				h.first = first
				done := time.Now()
				h.lat = done.Sub(scheduled(start, rate, k))
				t.add(h)
				if !done.After(end) {
					t.inStep++
				}
			}
		})
	}
	for k := range n {
		if ctx.Err() != nil {
			// Cancelled: the rest are never sent.
			for range n - k {
				queue <- k
			}
			break
		}
		if wait := time.Until(scheduled(start, rate, k)); wait > 0 {
			time.Sleep(wait)
		}
		queue <- k
	}
	close(queue)
	wg.Wait()
	all := &siteTally{}
	for i := range tallies {
		all.merge(&tallies[i])
	}
	return all
}

// siteStep is one step of a class of pages.
type siteStep struct {
	class string
	// conns is the closed loop's clients; offered the open loop's rate, 0
	// for a closed loop.
	conns   int
	offered float64
	t       *siteTally
	wall    time.Duration
	// rate is the requests answered a second: all of them over the time to
	// the last answer in a closed loop, those answered before the step's
	// end in an open one.
	rate               float64
	p50, p95, p99, max time.Duration
	// Cores used on average during the step, -1 when unknown.
	botCPU, harnessCPU float64
	// rss is the bot's VmRSS right after the step, peak its VmHWM over
	// the step (over its life when ownPeak is unset).
	rss, peak int64
	ownPeak   bool
}

// keptUp reports whether an open-loop step answered its offered load: at
// least 95% of it within the step, and every request 200.
func (s *siteStep) keptUp() bool {
	return s.t.errors() == 0 && s.rate >= 0.95*s.offered
}

// load says how the step loaded the bot.
func (s *siteStep) load() string {
	if s.offered > 0 {
		return fmt.Sprintf("%.0f/s offered", s.offered)
	}
	return fmt.Sprintf("%d clients", s.conns)
}

// siteResult is what the site mode measured, for the targets.
type siteResult struct {
	steps []*siteStep
	// ready is the bot's VmRSS once ready, before any site request;
	// baseline that of the -site-baseline bot, 0 without one; rested the
	// bot's after the last step and a rest.
	ready, baseline, rested int64
}

// after is the most resident memory read after any step, or after the
// rest.
func (r *siteResult) after() int64 {
	m := r.rested
	for _, s := range r.steps {
		m = max(m, s.rss)
	}
	return m
}

// find returns the class's closed or open step, nil if it was not run.
func (r *siteResult) find(class string, open bool) *siteStep {
	i := slices.IndexFunc(r.steps, func(s *siteStep) bool { return s.class == class && (s.offered > 0) == open })
	if i < 0 {
		return nil
	}
	return r.steps[i]
}

// siteTargets judges the site's targets: the ranking page and API answer
// at least siteTargetRate a second to the closed loop and keep p99 within
// siteTarget at the open loop's rate; community pages keep p99 within it
// there too; and what the site adds to the bot's memory stays within
// siteMemoryTarget.
func siteTargets(o options, r *siteResult) []target {
	var ts []target
	rate := fmt.Sprintf("%s/s offered", thousands(o.siteRate))
	for _, class := range []string{"ranking page", "ranking API", "community page"} {
		if class != "community page" {
			if s := r.find(class, false); s != nil {
				ts = append(ts, target{fmt.Sprintf("%s ≥ %s requests/s (%d keep-alive clients)", class, thousands(siteTargetRate), s.conns),
					s.t.errors() == 0 && s.rate >= siteTargetRate,
					fmt.Sprintf("%.0f requests/s, p99 %s, %d errors", s.rate, ms(s.p99), s.t.errors())})
			}
		}
		if s := r.find(class, true); s != nil {
			figure := fmt.Sprintf("p99 %s (p50 %s), answered %.0f/s, %d errors", ms(s.p99), ms(s.p50), s.rate, s.t.errors())
			if len(s.t.first) > 0 && len(s.t.again) > 0 {
				figure += "; " + s.t.visits()
			}
			if c := r.find(class, false); c != nil {
				figure += fmt.Sprintf("; with %d clients as fast as answered: p99 %s at %.0f/s", c.conns, ms(c.p99), c.rate)
			}
			ts = append(ts, target{fmt.Sprintf("%s p99 ≤ %s at %s", class, ms(siteTarget), rate),
				s.keptUp() && s.p99 <= siteTarget, figure})
		}
	}
	if len(r.steps) > 0 && r.ready > 0 {
		base, from := r.ready, "once ready, before any site request"
		if r.baseline > 0 {
			base, from = r.baseline, "the -site-baseline bot's, idle on the same database"
		}
		added := r.after() - base
		ts = append(ts, target{"the site adds ≤ 20 MiB to the bot's resident memory", added <= siteMemoryTarget,
			fmt.Sprintf("%+.1f MiB: %s after the steps against %s %s", float64(added)/(1<<20), mib(r.after()), mib(base), from)})
	}
	return ts
}

// thousands writes a whole number with a comma between thousands: 2,000.
func thousands(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// measureSite builds (or takes the cached) fixture, starts the bot on a
// copy of it, and measures every class of page.
func measureSite(ctx context.Context, o options, out io.Writer, dir string) error {
	bin := o.bot
	if bin == "" {
		fmt.Fprintln(out, "Building cmd/hromadabot...")
		var err error
		if bin, err = buildBot(ctx, dir); err != nil {
			return err
		}
	}
	s := o.siteScale
	cached := fixture.Path(os.TempDir(), s)
	if _, err := os.Stat(cached); err != nil {
		fmt.Fprintf(out, "Building the %s fixture at %s (the national one takes about a minute and a gigabyte; it is kept for later runs)...\n", s.Name, cached)
	}
	start := time.Now()
	cached, built, err := fixture.Cached(ctx, s)
	if err != nil {
		return err
	}
	if built {
		fmt.Fprintf(out, "  built in %v\n", time.Since(start).Round(time.Second))
	}
	dbPath := filepath.Join(dir, "hromada.db")
	if err := fixture.Copy(cached, dbPath); err != nil {
		return err
	}
	refs, err := fixtureRefs(ctx, dbPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Fixture %s (v%d): %s communities, %d weeks of reports on every indicator, %s residents; the bot runs on a copy, %s.\n",
		s.Name, fixture.Version, thousands(float64(len(refs))), s.Weeks, thousands(float64(s.Residents)), dbPath)

	res := &siteResult{}
	if o.siteBaseline != "" {
		if res.baseline, err = baselineRSS(ctx, o, out, dir, dbPath); err != nil {
			return err
		}
	}
	bot, how, stop, err := startSiteBot(ctx, out, bin, dir, dbPath, "bot")
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	idle := newCPUMeter(bot.proc.cpu)
	time.Sleep(siteSettle)
	idleCores := idle.cores()
	if res.ready, err = bot.proc.memory("VmRSS"); err != nil {
		return err
	}
	heap := scrapeGauge(bot.metrics, "go_memstats_heap_inuse_bytes")
	fmt.Fprintf(out, "hromadabot run (pid %d, %s): %.2f cores idle; resident memory before any site request %s (Go heap in use %s).\n",
		bot.proc.pid, how, idleCores, mib(res.ready), mib(int64(heap)))
	fmt.Fprintf(out, "  %s\n", memoryParts(bot.child))

	base := "http://" + bot.addr
	classes := siteClasses(refs)
	check := siteClient(1, o.timeout)
	defer check.CloseIdleConnections()
	for _, c := range classes {
		if err := checkServed(ctx, check, base, c.pages); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "Pages: %s GET %s, %s GET %s, %s GET /hromada/{ref} over the %s communities in turn (KATOTTG code, else id).\n",
		classes[0].name, classes[0].pages.paths[0], classes[1].name, classes[1].pages.paths[0], classes[2].name, thousands(float64(len(refs))))
	fmt.Fprintf(out, "Steps of %v: %d keep-alive clients as fast as answered, then %s requests/s offered open loop (at most %d clients at once, latency from each request's scheduled time); every request with Accept-Encoding: gzip.\n",
		o.stepDur, o.siteConns, thousands(o.siteRate), o.siteOpenConns)
	fmt.Fprintf(out, "The harness and the bot share the %d cores; the CPU columns say who used what.\n", runtime.NumCPU())
	printSiteHeader(out)
	closed, open := siteClient(o.siteConns, o.timeout), siteClient(o.siteOpenConns, o.timeout)
	defer closed.CloseIdleConnections()
	defer open.CloseIdleConnections()
	for _, c := range classes {
		for _, isOpen := range []bool{false, true} {
			if ended, err := bot.exited(); ended {
				return fmt.Errorf("the bot exited (%v):\n%s", err, bot.tail(20))
			}
			st := &siteStep{class: c.name, conns: o.siteConns}
			drive := func() { st.t, st.wall = siteClosedLoop(ctx, closed, base, c.pages, o.siteConns, o.stepDur) }
			if isOpen {
				st.conns, st.offered = o.siteOpenConns, o.siteRate
				drive = func() {
					st.t = siteOpenLoop(ctx, open, base, c.pages, o.siteRate, o.stepDur, o.siteOpenConns, o.timeout)
					st.wall = o.stepDur
				}
			}
			measureSiteStep(bot, st, drive)
			printSiteLine(out, st)
			res.steps = append(res.steps, st)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	time.Sleep(siteRest)
	res.rested, _ = bot.proc.memory("VmRSS")
	heap = scrapeGauge(bot.metrics, "go_memstats_heap_inuse_bytes")
	fmt.Fprintf(out, "  bot resident memory %v after the last step: %s (Go heap in use %s); %+.1f MiB since before the first site request\n",
		siteRest, mib(res.rested), mib(int64(heap)), float64(res.rested-res.ready)/(1<<20))
	fmt.Fprintf(out, "  %s\n", memoryParts(bot.child))
	stopped = true
	// The figures stand whatever the stop: they are printed first.
	stopErr := stop()
	if n := countErrors(bot.log); n > 0 {
		fmt.Fprintf(out, "The bot logged %d errors; the last lines:\n%s\n", n, bot.tail(5))
	}
	fmt.Fprintln(out)
	printTargets(out, siteTargets(o, res))
	if stopErr != nil {
		return fmt.Errorf("bot: %w\n%s", stopErr, bot.tail(20))
	}
	return nil
}

// measureSiteStep runs drive and reads what the bot and the harness used.
func measureSiteStep(bot *siteBot, st *siteStep, drive func()) {
	self := proc{pid: os.Getpid()}
	st.ownPeak = bot.proc.resetPeak()
	botCPU, harnessCPU := newCPUMeter(bot.proc.cpu), newCPUMeter(self.cpu)
	drive()
	st.botCPU, st.harnessCPU = botCPU.cores(), harnessCPU.cores()
	st.rss, _ = bot.proc.memory("VmRSS")
	st.peak, _ = bot.proc.memory("VmHWM")
	if st.offered > 0 {
		st.rate = float64(st.t.inStep) / st.wall.Seconds()
	} else {
		st.rate = float64(len(st.t.lat)) / st.wall.Seconds()
	}
	st.p50, st.p95, st.p99, st.max = st.t.lat.Summary()
}

func printSiteHeader(out io.Writer) {
	fmt.Fprintf(out, "  %-14s %-15s %8s %8s %8s %8s %8s %7s %10s %5s %5s %6s %8s %9s %9s\n",
		"page", "load", "req/s", "p50", "p95", "p99", "max", "errors", "bytes/resp", "gzip", "ETag", "bot", "harness", "bot RSS", "bot peak")
	fmt.Fprintf(out, "  %-14s %-15s %8s %8s %8s %8s %8s %7s %10s %5s %5s %6s %8s %9s %9s\n",
		"", "", "", "", "", "", "", "", "", "", "", "cores", "cores", "after", "RSS")
}

func printSiteLine(out io.Writer, s *siteStep) {
	fmt.Fprintf(out, "  %-14s %-15s %8.1f %8s %8s %8s %8s %7d %10.0f %5s %5s %6s %8s %9s %9s\n",
		s.class, s.load(), s.rate, ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max), s.t.errors(), s.t.perResponse(),
		s.t.share(s.t.gzipped), s.t.share(s.t.tagged), cores(s.botCPU), cores(s.harnessCPU), mib(s.rss), mib(s.peak))
	if d := s.t.describe(); d != "none" {
		fmt.Fprintf(out, "    errors: %s\n", d)
	}
	if len(s.t.first) > 0 && len(s.t.again) > 0 {
		fmt.Fprintf(out, "    %s\n", s.t.visits())
	}
	if s.offered > 0 && !s.keptUp() {
		fmt.Fprintf(out, "    did not keep up: %.0f of the %.0f/s offered answered within the step\n", s.rate, s.offered)
	}
}

// printTargets prints the Targets block: a line a target, met or MISSED.
func printTargets(out io.Writer, ts []target) {
	if len(ts) == 0 {
		return
	}
	fmt.Fprintln(out, "Targets")
	for _, t := range ts {
		verdict := "MISSED"
		if t.met {
			verdict = "met"
		}
		fmt.Fprintf(out, "  %-6s  %s: %s\n", verdict, t.what, t.figure)
	}
}

// fixtureRefs returns the site's ref of every community of the database.
func fixtureRefs(ctx context.Context, path string) ([]string, error) {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	cs, err := db.Communities(ctx)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%s has no communities", path)
	}
	refs := make([]string, len(cs))
	for i, c := range cs {
		refs[i] = siteRef(c)
	}
	return refs, db.Close()
}

// siteBot is the bot serving the site, and where.
type siteBot struct {
	*child
	addr string
}

// startSiteBot starts `hromadabot run` on the database with no chat
// token, as the site alone would run. If run refuses to start without one,
// it is started again with the token of an in-process fake Bot API that
// never has an update: the bot only long-polls it, and is idle. how says
// which; stop stops the bot, then the fake.
func startSiteBot(ctx context.Context, out io.Writer, bin, dir, dbPath, name string) (bot *siteBot, how string, stop func() error, err error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", nil, err
	}
	env := []string{
		"DATABASE_PATH=" + dbPath,
		"HTTP_ADDR=" + addr,
		"LOG_LEVEL=warn",
		// Keep the weekly reminder and digest out of the measurement.
		"REMINDER_CRON=0 3 1 1 *",
		"DIGEST_CRON=0 3 1 1 *",
	}
	readyCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c, err := start(name, bin, []string{"run"}, env, filepath.Join(dir, name+"-no-token.log"))
	if err != nil {
		return nil, "", nil, err
	}
	c.metrics = "http://" + addr + "/metrics"
	err = c.waitReady(readyCtx, "http://"+addr+"/readyz")
	if err == nil {
		return &siteBot{child: c, addr: addr}, "no chat token: HTTP only", func() error { return c.stop(30 * time.Second) }, nil
	}
	if ended, _ := c.exited(); !ended || !strings.Contains(c.tail(5), noTokenRefusal) {
		if !ended {
			c.stop(10 * time.Second)
		}
		return nil, "", nil, err
	}
	if name == "bot" {
		fmt.Fprintf(out, "`hromadabot run` refuses to start without a chat token (%q); it runs with an idle fake Telegram Bot API instead.\n", noTokenRefusal)
	}

	srv := telegramtest.New(telegramtest.Options{Token: token, RecordLimit: recordLimit, HistoryLimit: historyLimit})
	env = append(env, "TELEGRAM_TOKEN="+token, "TELEGRAM_API_URL="+srv.URL())
	if c, err = start(name, bin, []string{"run"}, env, filepath.Join(dir, name+".log")); err != nil {
		srv.Close()
		return nil, "", nil, err
	}
	stop = func() error {
		defer srv.Close()
		return c.stop(30 * time.Second)
	}
	c.metrics = "http://" + addr + "/metrics"
	if err := c.waitReady(readyCtx, "http://"+addr+"/readyz"); err != nil {
		stop()
		return nil, "", nil, err
	}
	if err := srv.WaitPolling(readyCtx); err != nil {
		stop()
		return nil, "", nil, fmt.Errorf("%s not polling: %w\n%s", name, err, c.tail(20))
	}
	return &siteBot{child: c, addr: addr}, "Telegram polling an idle fake Bot API, no updates", stop, nil
}

// baselineRSS starts the -site-baseline bot on the database as the
// measured one is started and reads its resident memory once settled.
func baselineRSS(ctx context.Context, o options, out io.Writer, dir, dbPath string) (int64, error) {
	bot, how, stop, err := startSiteBot(ctx, out, o.siteBaseline, dir, dbPath, "baseline")
	if err != nil {
		return 0, fmt.Errorf("-site-baseline: %w", err)
	}
	time.Sleep(siteSettle)
	rss, err := bot.proc.memory("VmRSS")
	// Its memory is read; how it stops is no part of the figures.
	if serr := stop(); serr != nil {
		fmt.Fprintf(out, "  the baseline bot did not stop cleanly: %v\n", serr)
	}
	if err != nil {
		return 0, fmt.Errorf("-site-baseline: %w", err)
	}
	fmt.Fprintf(out, "Baseline %s (pid %d, %s): resident memory once ready %s.\n", o.siteBaseline, bot.proc.pid, how, mib(rss))
	return rss, nil
}

// memoryParts says where the bot's resident memory is: file-backed pages
// (the binary), and anonymous ones, of which the Go heap's and what the
// collector aims at; the rest of the anonymous memory is C's (SQLite's
// page caches, malloc) and the goroutines' stacks.
func memoryParts(bot *child) string {
	anon, _ := bot.proc.memory("RssAnon")
	file, _ := bot.proc.memory("RssFile")
	gauge := func(name string) int64 { return int64(scrapeGauge(bot.metrics, "go_memstats_"+name+"_bytes")) }
	heap := gauge("heap_sys") - gauge("heap_released")
	return fmt.Sprintf("resident: file-backed %s, anonymous %s; Go heap kept %s (%s of it idle), next collection at %s",
		mib(file), mib(anon), mib(heap), mib(gauge("heap_idle")-gauge("heap_released")), mib(gauge("next_gc")))
}
