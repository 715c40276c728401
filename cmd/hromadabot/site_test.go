package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/locales"
	"github.com/hromadabot/hromadabot/opendata"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// Communities of the site test, by KATOTTG code.
const (
	siteBucha       = "UA32080070000050759" // Бучанська: three reports now, evidence and a comment
	siteIrpin       = "UA32080150000035443" // Ірпінська: one report
	siteLviv        = "UA46060250000025047" // Львівська: reports of two years, two at the same time
	siteShevchenko1 = "UA48060370000016130" // Шевченківська (Миколаївська) and
	siteShevchenko2 = "UA63080150000094794" // Шевченківська (Харківська): the same name, the same reports, one rank
	siteOwnPlan     = "UA05020210000033427" // Погребищенська: its own plan
	siteNo          = "UA18040430000080827" // Пулинська: reported "ні", so reported with index 0
	siteSilent      = "UA65060010000033335" // Асканія-Нова: never reported
)

// siteCLI runs the command line in-process against one database.
type siteCLI struct {
	t  *testing.T
	db string
}

func (c *siteCLI) run(args ...string) string {
	c.t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	if code := run(context.Background(), append(args, "--db", c.db), e); code != 0 {
		c.t.Fatalf("hromadabot %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	return out.String()
}

// newSiteCLI makes a database of every community with reports of a few,
// through the commands an operator uses: community load, report and
// import.
func newSiteCLI(t *testing.T) *siteCLI {
	t.Helper()
	dir := t.TempDir()
	c := &siteCLI{t: t, db: filepath.Join(dir, "site.db")}
	c.run("community", "load")
	for _, r := range [][]string{
		{siteBucha, "1", "50", "Аудит даних, етап <1> & 2", "https://example.org/audit?a=1&b=2"},
		{siteBucha, "11", "так", "", ""},
		{siteBucha, "5", "33,3", "", ""},
		{siteIrpin, "5", "20,5", "", ""},
		{siteShevchenko1, "2", "40", "", ""},
		{siteShevchenko2, "2", "40", "", ""},
		{siteNo, "12", "ні", "", ""},
	} {
		args := []string{"report", "--community", r[0], "--indicator", r[1], "--value", r[2]}
		if r[3] != "" {
			args = append(args, "--comment", r[3])
		}
		if r[4] != "" {
			args = append(args, "--evidence", r[4])
		}
		c.run(args...)
	}
	day := func(years, days int) string { return time.Now().AddDate(years, 0, days).Format("2006-01-02") }
	reports := filepath.Join(dir, "reports.csv")
	csv := "community,indicator,value,comment,evidence,reported_at\n" +
		siteLviv + ",3,10,,," + day(-1, 0) + "\n" +
		siteLviv + ",3,60,перший,," + day(0, -30) + "\n" +
		siteLviv + ",3,45,другий того ж часу,," + day(0, -30) + "\n" +
		siteLviv + ",9,100,,," + day(0, -2) + "\n" +
		siteLviv + ",13,так,,," + day(0, -2) + "\n" +
		siteOwnPlan + ",1,25,,," + day(0, -1) + "\n" +
		siteOwnPlan + ",2,100,,," + day(0, -1) + "\n"
	if err := os.WriteFile(reports, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	c.run("import", reports)
	plan := filepath.Join(dir, "plan.csv")
	if err := os.WriteFile(plan, []byte("indicator,2025,2026,2027\n1,10,20,70\n2,50,50,-\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.run("import", plan, "--community", siteOwnPlan)
	return c
}

// siteServer serves the site over the command line's database, as run
// and demo do.
func siteServer(t *testing.T, dbPath string) (*httptest.Server, *sqldb.DB, *locales.Catalog) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	loc, err := locales.New()
	if err != nil {
		t.Fatal(err)
	}
	s, err := openSite(db, loc, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, db, loc
}

func siteGet(t *testing.T, srv *httptest.Server, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
	}
	return resp, body
}

// siteYears are the plan's years, which the site offers; defaultYear the
// one it shows unasked: the current year, or the nearest the plan has.
func siteYears(t *testing.T, db *sqldb.DB) (years []int, defaultYear int) {
	years = db.DefaultPlan().Indicators[0].Targets.Years()
	cur := hromadabot.CurrentYear(time.Now())
	return years, min(max(cur, years[0]), years[len(years)-1])
}

// TestSiteFiguresMatchCommands checks that the site shows, for the same
// database, the figures of score --json and ranking --json as the site
// writes them (one decimal, a comma in Ukrainian), and serves the files of
// export.
func TestSiteFiguresMatchCommands(t *testing.T) {
	start := time.Now()
	c := newSiteCLI(t)
	t.Logf("database made in %v", time.Since(start).Round(time.Millisecond))
	srv, db, loc := siteServer(t, c.db)
	years, defaultYear := siteYears(t, db)
	all, err := db.Communities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	idByRef := map[string]int64{}
	for i := range all {
		idByRef[opendata.CommunityRef(&all[i])] = all[i].ID
	}
	reported := map[int64]bool{}
	for _, ref := range []string{siteBucha, siteIrpin, siteLviv, siteShevchenko1, siteShevchenko2, siteOwnPlan, siteNo} {
		reported[idByRef[ref]] = true
	}

	for _, year := range years {
		y := strconv.Itoa(year)
		t.Run("Ranking"+y, func(t *testing.T) {
			var rk rankingJSON
			if err := json.Unmarshal([]byte(c.run("ranking", "--json", "--year", y)), &rk); err != nil {
				t.Fatal(err)
			}
			paths := []string{"/?year=" + y, "/en/?year=" + y, "/oblast/kyivska?year=" + y}
			if year == defaultYear {
				paths = append(paths, "/", "/en/")
			}
			for _, path := range paths {
				checkRankingPage(t, srv, path, rk, reported, idByRef)
			}
			checkRankingAPI(t, srv, "/api/v1/ranking?year="+y, rk, reported)
		})
		t.Run("Communities"+y, func(t *testing.T) {
			for _, ref := range []string{siteBucha, siteIrpin, siteLviv, siteShevchenko2, siteOwnPlan, siteNo, siteSilent} {
				var sc scoreJSON
				if err := json.Unmarshal([]byte(c.run("score", "--community", ref, "--json", "--year", y)), &sc); err != nil {
					t.Fatal(err)
				}
				for _, lang := range []string{hromadabot.LangUK, hromadabot.LangEN} {
					path := "/hromada/" + ref + "?year=" + y
					if lang == hromadabot.LangEN {
						path = "/en" + path
					}
					checkCommunityPage(t, srv, loc, path, lang, sc, reported[sc.CommunityID])
				}
				if year == defaultYear {
					checkCommunityPage(t, srv, loc, "/hromada/"+ref, hromadabot.LangUK, sc, reported[sc.CommunityID])
				}
				checkCommunityAPI(t, srv, "/api/v1/communities/"+ref+"?year="+y, sc, reported[sc.CommunityID])
			}
		})
		t.Run("Downloads"+y, func(t *testing.T) {
			for _, table := range opendata.TableNames {
				checkSameBytes(t, "/data/"+table+".csv?year="+y, siteGetBody(t, srv, "/data/"+table+".csv?year="+y),
					"export --table "+table+" --year "+y, c.run("export", "--table", table, "--year", y))
			}
			checkSameJSON(t, siteGetBody(t, srv, "/data/opendata.json?year="+y), c.run("export", "--format", "json", "--year", y))
			if year != defaultYear {
				return // the workbook holds the same tables: one year is enough
			}
			out := filepath.Join(t.TempDir(), "open.xlsx")
			c.run("export", "--out", out, "--year", y)
			cli, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			checkSameWorkbook(t, siteGetBody(t, srv, "/data/opendata.xlsx?year="+y), cli)
		})
	}

	t.Run("HistoryText", func(t *testing.T) {
		// What a reporter typed comes back as typed: escaped in the
		// markup, the same text once parsed.
		doc := parseHTML(t, "/hromada/"+siteBucha, siteGetBody(t, srv, "/hromada/"+siteBucha))
		comment := findElement(doc, func(n *html.Node) bool {
			return n.DataAtom == atom.Td && textOf(n) == "Аудит даних, етап <1> & 2"
		})
		if comment == nil {
			t.Error("the history lacks the comment «Аудит даних, етап <1> & 2»")
		}
		link := findElement(doc, func(n *html.Node) bool {
			return n.DataAtom == atom.A && strings.HasPrefix(attrOf(n, "href"), "https://example.org/")
		})
		if href := attrOf(orEmpty(link), "href"); href != "https://example.org/audit?a=1&b=2" {
			t.Errorf("the evidence link is %q, want https://example.org/audit?a=1&b=2", href)
		}
	})

	t.Run("DownloadsDefaultYear", func(t *testing.T) {
		if hromadabot.CurrentYear(time.Now()) != defaultYear {
			t.Skipf("the current year %d is outside the plan's years: export's default year is not the site's", hromadabot.CurrentYear(time.Now()))
		}
		for _, table := range opendata.TableNames {
			checkSameBytes(t, "/data/"+table+".csv", siteGetBody(t, srv, "/data/"+table+".csv"),
				"export --table "+table, c.run("export", "--table", table))
		}
		checkSameJSON(t, siteGetBody(t, srv, "/data/opendata.json"), c.run("export", "--format", "json"))
	})
	t.Logf("whole test: %v", time.Since(start).Round(time.Millisecond))
}

func siteGetBody(t *testing.T, srv *httptest.Server, path string) string {
	t.Helper()
	_, body := siteGet(t, srv, path)
	return string(body)
}

// checkRankingPage compares the ranking table of a page with ranking
// --json: every reported community's rank, index and plan fulfilment as
// the page writes them, in the ranking's order; the others without
// figures.
func checkRankingPage(t *testing.T, srv *httptest.Server, path string, rk rankingJSON, reported map[int64]bool, idByRef map[string]int64) {
	t.Helper()
	u, _ := url.Parse(path)
	lang := hromadabot.LangUK
	if strings.HasPrefix(u.Path, "/en/") {
		lang = hromadabot.LangEN
	}
	oblast := ""
	if strings.Contains(u.Path, "/oblast/") {
		oblast = "Київська"
	}
	doc := parseHTML(t, path, siteGetBody(t, srv, path))
	table := findElement(doc, func(n *html.Node) bool { return n.DataAtom == atom.Table && attrOf(n, "id") == "ranking" })
	if table == nil {
		t.Fatalf("%s: no ranking table", path)
	}
	byID := map[int64]hromadabot.RankEntry{}
	var wantOrder []int64
	var national []int // ranks of the page's reported communities
	for _, e := range rk.Ranking {
		byID[e.CommunityID] = e
		if reported[e.CommunityID] && (oblast == "" || e.Oblast == oblast) {
			wantOrder = append(wantOrder, e.CommunityID)
			national = append(national, e.Rank)
		}
	}
	// An oblast's page gives the place in the oblast: one more than its
	// reported communities ranked strictly higher in the country.
	place := func(rank int) int {
		if oblast == "" {
			return rank
		}
		higher := 0
		for _, r := range national {
			if r < rank {
				higher++
			}
		}
		return 1 + higher
	}
	var gotOrder []int64
	rows := 0
	for _, tr := range findElements(table, func(n *html.Node) bool { return n.DataAtom == atom.Tr && n.Parent.DataAtom == atom.Tbody }) {
		rows++
		cells := childElements(tr)
		if len(cells) != 7 {
			t.Errorf("%s: a row of %d cells", path, len(cells))
			continue
		}
		link := findElement(cells[1], func(n *html.Node) bool { return n.DataAtom == atom.A && attrOf(n, "class") == "community" })
		if link == nil {
			t.Errorf("%s: a row without a community link", path)
			continue
		}
		ref, err := url.PathUnescape(strings.TrimPrefix(strings.TrimPrefix(attrOf(link, "href"), "/en"), "/hromada/"))
		id, ok := idByRef[ref]
		if err != nil || !ok {
			t.Errorf("%s: the link %q names no community", path, attrOf(link, "href"))
			continue
		}
		e := byID[id]
		rank, index, fulfilment := textOf(cells[0]), textOf(cells[4]), textOf(cells[5])
		silent := attrOf(tr, "class") == "silent"
		if silent != !reported[id] {
			t.Errorf("%s: %s is shown silent=%v, but reported=%v", path, e.Name, silent, reported[id])
		}
		if !reported[id] {
			if rank != "—" || index != "—" || fulfilment != "—" {
				t.Errorf("%s: %s never reported but shows rank %q, index %q, fulfilment %q", path, e.Name, rank, index, fulfilment)
			}
			continue
		}
		gotOrder = append(gotOrder, id)
		want := [3]string{strconv.Itoa(place(e.Rank)), hromadabot.FormatNumber(e.Index, 1, lang), hromadabot.FormatNumber(e.PlanFulfillment, 1, lang) + "%"}
		if got := [3]string{rank, index, fulfilment}; got != want {
			t.Errorf("%s: %s shows rank, index, fulfilment %q; ranking --json has %q (rank %d, %v, %v)", path, e.Name, got, want, e.Rank, e.Index, e.PlanFulfillment)
		}
		if lang == hromadabot.LangUK && textOf(link) != e.Name {
			t.Errorf("%s: the row of %s is named %q", path, e.Name, textOf(link))
		}
	}
	if !slices.Equal(gotOrder, wantOrder) {
		t.Errorf("%s: the reported communities are in the order %v, ranking --json has %v", path, gotOrder, wantOrder)
	}
	if oblast == "" && rows != rk.Of {
		t.Errorf("%s: %d rows, ranking --json has %d communities", path, rows, rk.Of)
	}
}

// checkRankingAPI compares the API's ranking with ranking --json, to the
// last bit.
func checkRankingAPI(t *testing.T, srv *httptest.Server, path string, rk rankingJSON, reported map[int64]bool) {
	t.Helper()
	var api struct {
		Year        int `json:"year"`
		Total       int `json:"total"`
		Communities []struct {
			ID              int64   `json:"community_id"`
			Index           float64 `json:"index"`
			PlanFulfillment float64 `json:"plan_fulfillment"`
			Rank            *int    `json:"rank"`
			Reported        bool    `json:"reported"`
		} `json:"communities"`
	}
	if err := json.Unmarshal([]byte(siteGetBody(t, srv, path)), &api); err != nil {
		t.Fatal(err)
	}
	if api.Year != rk.Year || api.Total != rk.Of || len(api.Communities) != len(rk.Ranking) {
		t.Errorf("%s: year %d, total %d, %d entries; ranking --json: %d, %d, %d", path, api.Year, api.Total, len(api.Communities), rk.Year, rk.Of, len(rk.Ranking))
	}
	byID := map[int64]hromadabot.RankEntry{}
	for _, e := range rk.Ranking {
		byID[e.CommunityID] = e
	}
	for _, a := range api.Communities {
		e := byID[a.ID]
		if a.Reported != reported[a.ID] {
			t.Errorf("%s: %s reported=%v", path, e.Name, a.Reported)
		}
		if a.Index != e.Index || a.PlanFulfillment != e.PlanFulfillment {
			t.Errorf("%s: %s index %v, fulfilment %v; ranking --json %v, %v", path, e.Name, a.Index, a.PlanFulfillment, e.Index, e.PlanFulfillment)
		}
		if a.Reported && (a.Rank == nil || *a.Rank != e.Rank) {
			t.Errorf("%s: %s rank %v; ranking --json %d", path, e.Name, a.Rank, e.Rank)
		}
	}
}

// checkCommunityPage compares a community's page with score --json: the
// index, plan fulfilment and rank cards, and every indicator's value,
// target and status.
func checkCommunityPage(t *testing.T, srv *httptest.Server, loc *locales.Catalog, path, lang string, sc scoreJSON, reported bool) {
	t.Helper()
	doc := parseHTML(t, path, siteGetBody(t, srv, path))
	var big, small []string
	for _, card := range findElements(doc, func(n *html.Node) bool { return n.DataAtom == atom.Div && attrOf(n, "class") == "card" }) {
		b := findElement(card, func(n *html.Node) bool { return n.DataAtom == atom.P && strings.HasPrefix(attrOf(n, "class"), "big") })
		s := findElement(card, func(n *html.Node) bool { return n.DataAtom == atom.P && attrOf(n, "class") == "small" })
		big, small = append(big, textOf(b)), append(small, textOf(s))
	}
	if len(big) != 4 {
		t.Fatalf("%s: %d cards, want index, fulfilment, rank and last report", path, len(big))
	}
	want := [3]string{"—", "—", "—"}
	if reported {
		want = [3]string{hromadabot.FormatNumber(sc.Index, 1, lang), hromadabot.FormatNumber(sc.PlanFulfillment, 1, lang) + "%", strconv.Itoa(sc.Rank)}
		of := map[string]string{hromadabot.LangUK: "з ", hromadabot.LangEN: "of "}[lang] + strconv.Itoa(sc.Of)
		if small[2] != of {
			t.Errorf("%s: the rank is %q, score --json has of %d", path, small[2], sc.Of)
		}
	}
	if got := [3]string(big[:3]); got != want {
		t.Errorf("%s: index, fulfilment, rank %q; score --json has %q (%v, %v, %d)", path, got, want, sc.Index, sc.PlanFulfillment, sc.Rank)
	}

	table := findElement(doc, func(n *html.Node) bool { return n.DataAtom == atom.Table && attrOf(n, "class") == "indicators" })
	if table == nil {
		t.Fatalf("%s: no indicators table", path)
	}
	rows := findElements(table, func(n *html.Node) bool { return n.DataAtom == atom.Tr && n.Parent.DataAtom == atom.Tbody })
	if len(rows) != len(sc.Indicators) {
		t.Errorf("%s: %d indicators, score --json has %d", path, len(rows), len(sc.Indicators))
	}
	for i, tr := range rows[:min(len(rows), len(sc.Indicators))] {
		is := sc.Indicators[i]
		cells := childElements(tr)
		if len(cells) != 7 {
			t.Errorf("%s: an indicator row of %d cells", path, len(cells))
			continue
		}
		value := "—"
		if is.Value != nil {
			value = siteValue(loc, lang, is.Unit, *is.Value)
		}
		target := siteValue(loc, lang, is.Unit, is.Target)
		if is.Unit != hromadabot.UnitYesNo {
			target = siteValue(loc, lang, is.Unit, 100*is.Target)
		}
		got := [5]string{textOf(cells[0]), textOf(cells[2]), textOf(cells[3]), textOf(cells[4]), attrOf(tr, "class")}
		wantRow := [5]string{strconv.Itoa(is.ID), value, target, loc.Status(lang, is.Status), "st-" + string(is.Status)}
		if got != wantRow {
			t.Errorf("%s: indicator %d: id, value, target, status, class %q; score --json has %q (value %v, target %v)", path, is.ID, got, wantRow, is.Value, is.Target)
		}
		if lang == hromadabot.LangUK && textOf(cells[1]) != is.Title {
			t.Errorf("%s: indicator %d is titled %q, score --json %q", path, is.ID, textOf(cells[1]), is.Title)
		}
	}
}

// siteValue writes a value as score --json's reader would: one decimal
// and a percent sign, or yes/no in the page's language.
func siteValue(loc *locales.Catalog, lang string, unit hromadabot.Unit, v float64) string {
	if unit == hromadabot.UnitYesNo {
		if v >= 0.5 {
			return loc.T(lang, "value.yes", nil)
		}
		return loc.T(lang, "value.no", nil)
	}
	return hromadabot.FormatNumber(v, 1, lang) + "%"
}

// checkCommunityAPI compares the API's community with score --json, to
// the last bit.
func checkCommunityAPI(t *testing.T, srv *httptest.Server, path string, sc scoreJSON, reported bool) {
	t.Helper()
	var api struct {
		ID              int64   `json:"community_id"`
		Year            int     `json:"year"`
		Index           float64 `json:"index"`
		PlanFulfillment float64 `json:"plan_fulfillment"`
		Rank            *int    `json:"rank"`
		Of              int     `json:"of"`
		Reported        bool    `json:"reported"`
		Indicators      []struct {
			ID         int               `json:"id"`
			Value      *float64          `json:"value"`
			Completion float64           `json:"completion"`
			Target     float64           `json:"target"`
			Status     hromadabot.Status `json:"status"`
		} `json:"indicators"`
	}
	if err := json.Unmarshal([]byte(siteGetBody(t, srv, path)), &api); err != nil {
		t.Fatal(err)
	}
	if api.ID != sc.CommunityID || api.Year != sc.Year || api.Index != sc.Index || api.PlanFulfillment != sc.PlanFulfillment || api.Of != sc.Of || api.Reported != reported {
		t.Errorf("%s: id %d, year %d, index %v, fulfilment %v, of %d, reported %v; score --json %d, %d, %v, %v, %d (reported %v)",
			path, api.ID, api.Year, api.Index, api.PlanFulfillment, api.Of, api.Reported, sc.CommunityID, sc.Year, sc.Index, sc.PlanFulfillment, sc.Of, reported)
	}
	if reported && (api.Rank == nil || *api.Rank != sc.Rank) {
		t.Errorf("%s: rank %v, score --json %d", path, api.Rank, sc.Rank)
	}
	if len(api.Indicators) != len(sc.Indicators) {
		t.Fatalf("%s: %d indicators, score --json %d", path, len(api.Indicators), len(sc.Indicators))
	}
	for i, a := range api.Indicators {
		is := sc.Indicators[i]
		if a.ID != is.ID || !sameValue(a.Value, is.Value) || a.Completion != is.Completion || a.Target != is.Target || a.Status != is.Status {
			t.Errorf("%s: indicator %d: %+v; score --json %+v", path, is.ID, a, is)
		}
	}
}

func sameValue(a, b *float64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// checkSameBytes compares a download with the command's output byte for
// byte and says where they part.
func checkSameBytes(t *testing.T, siteName, site, cliName, cli string) {
	t.Helper()
	if site == cli {
		return
	}
	sl, cl := strings.Split(site, "\n"), strings.Split(cli, "\n")
	for i := 0; i < len(sl) || i < len(cl); i++ {
		var s, c string
		if i < len(sl) {
			s = sl[i]
		}
		if i < len(cl) {
			c = cl[i]
		}
		if s != c {
			t.Errorf("%s differs from %s (%d and %d lines) first at line %d:\n site: %q\n  cli: %q", siteName, cliName, len(sl), len(cl), i+1, s, c)
			return
		}
	}
}

// checkSameJSON compares /data/opendata.json with export --format json but
// for the time each was generated, which it reports.
func checkSameJSON(t *testing.T, site, cli string) {
	t.Helper()
	generated := func(doc string) (string, string) {
		var lines []string
		at := ""
		for _, l := range strings.Split(doc, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), `"generated_at":`) {
				at = l
				continue
			}
			lines = append(lines, l)
		}
		return strings.Join(lines, "\n"), at
	}
	s, sAt := generated(site)
	c, cAt := generated(cli)
	if sAt == "" || cAt == "" {
		t.Errorf("no generated_at line: site %q, export %q", sAt, cAt)
	}
	checkSameBytes(t, "/data/opendata.json (but generated_at)", s, "export --format json", c)
	if sAt != cAt {
		t.Logf("generated_at differs, as it may: site %s, export %s", strings.TrimSpace(sAt), strings.TrimSpace(cAt))
	}
}

// checkSameWorkbook compares two XLSX files sheet by sheet, cell by cell:
// their bytes differ by the times in the ZIP.
func checkSameWorkbook(t *testing.T, site string, cli []byte) {
	t.Helper()
	open := func(b []byte) *excelize.File {
		f, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	s, c := open([]byte(site)), open(cli)
	if got, want := s.GetSheetList(), c.GetSheetList(); !slices.Equal(got, want) {
		t.Fatalf("/data/opendata.xlsx has the sheets %v, export %v", got, want)
	}
	for _, sheet := range c.GetSheetList() {
		sr, err1 := s.GetRows(sheet)
		cr, err2 := c.GetRows(sheet)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if len(sr) != len(cr) {
			t.Errorf("sheet %s: %d rows on the site, %d from export", sheet, len(sr), len(cr))
		}
		for i := range min(len(sr), len(cr)) {
			if !slices.Equal(sr[i], cr[i]) {
				t.Errorf("sheet %s, row %d: site %q, export %q", sheet, i+1, sr[i], cr[i])
				break
			}
		}
	}
}

func parseHTML(t *testing.T, path, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc
}

func findElements(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func findElement(n *html.Node, match func(*html.Node) bool) *html.Node {
	if found := findElements(n, match); len(found) > 0 {
		return found[0]
	}
	return nil
}

func orEmpty(n *html.Node) *html.Node {
	if n == nil {
		return &html.Node{}
	}
	return n
}

func childElements(n *html.Node) []*html.Node {
	var out []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			out = append(out, c)
		}
	}
	return out
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// textOf is an element's text, its white space collapsed.
func textOf(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}
