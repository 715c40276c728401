package site

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/locales"
)

// rankRow is a community's line in a ranking table.
type rankRow struct {
	Rank              int
	Reported          bool
	Name, Href        string
	Oblast, Type      string
	OblastHref        string
	Index, Fulfilment float64
	Last, LastISO     string

	at         time.Time
	nameKey    string
	oblastKey  string
	typeKey    string
	communityI int
	match      int
}

// column is a sortable column head.
type column struct {
	Key, Label, Class string
	Href              string
	Sort              string // aria-sort: ascending, descending or empty
	Arrow             string
}

// option is a filter's choice.
type option struct{ Slug, Label string }

// rankingFilter is what a ranking page was asked for.
type rankingFilter struct {
	Oblast, Type, Q string
	Sort, Dir       string
}

// sortDefaults is each column's first direction: best first.
var sortDefaults = map[string]string{
	"rank": "asc", "name": "asc", "oblast": "asc", "type": "asc",
	"index": "desc", "fulfilment": "desc", "reported": "desc",
}

var columnOrder = []string{"rank", "name", "oblast", "type", "index", "fulfilment", "reported"}

type rankingView struct {
	*view
	Heading, Lead  string
	Action         string
	Year           int
	Years          []int
	Filter         rankingFilter
	Filtered       bool
	Oblasts, Types []option
	Columns        []column
	Rows           []rankRow
	Caption, Count string
	Members        int
	Average        float64
	ReportedWeek   int
	ReportedEver   int
}

// parseRankingQuery reads the filters and the sort; a value it cannot use
// is a bad request naming the parameter.
func (s *Site) parseRankingQuery(r *http.Request, snap *snapshot, withOblast bool) (rankingFilter, error) {
	q := r.URL.Query()
	f := rankingFilter{Oblast: q.Get("oblast"), Type: q.Get("type"), Q: q.Get("q"), Sort: q.Get("sort"), Dir: q.Get("dir")}
	if f.Oblast != "" {
		if _, ok := snap.oblast(f.Oblast); !ok || !withOblast {
			return f, &badRequest{"oblast", f.Oblast}
		}
	}
	if f.Type != "" && !slices.ContainsFunc(snap.types, func(t string) bool { return slug(t) == f.Type }) {
		return f, &badRequest{"type", f.Type}
	}
	if utf8.RuneCountInString(f.Q) > hromadabot.MaxNameLength || !utf8.ValidString(f.Q) {
		return f, &badRequest{"q", f.Q}
	}
	if f.Sort != "" {
		if _, ok := sortDefaults[f.Sort]; !ok {
			return f, &badRequest{"sort", f.Sort}
		}
	}
	switch f.Dir {
	case "":
		if f.Sort != "" {
			f.Dir = sortDefaults[f.Sort]
		}
	case "asc", "desc":
		if f.Sort == "" {
			f.Sort = "rank"
		}
	default:
		return f, &badRequest{"dir", f.Dir}
	}
	return f, nil
}

// rows builds the ranking table of the given communities, filtered and
// sorted.
func (s *Site) rows(snap *snapshot, members []int, year int, f rankingFilter, lang string) []rankRow {
	rk := snap.rankings[year]
	key := hromadabot.SearchKey(f.Q)
	rows := make([]rankRow, 0, len(members))
	for _, i := range members {
		c := &snap.communities[i]
		if f.Oblast != "" && slug(c.Oblast) != f.Oblast {
			continue
		}
		if f.Type != "" && slug(c.Type) != f.Type {
			continue
		}
		match := 0
		if key != "" {
			if match = hromadabot.SearchMatch(c, key); match == 0 {
				continue
			}
		}
		e, _ := rk.entry(c.ID)
		at, reported := snap.lastReport[c.ID]
		row := rankRow{
			Rank: e.Rank, Reported: reported, Name: communityName(c, lang), Href: s.communityHref(snap, i, lang),
			Oblast: s.oblastName(c.Oblast, lang), OblastHref: oblastHref(c.Oblast, lang), Type: s.typeName(c.Type, lang),
			Index: e.Index, Fulfilment: e.PlanFulfillment, at: at,
			nameKey: c.Name, oblastKey: c.Oblast, typeKey: c.Type, communityI: i, match: match,
		}
		if c.Oblast == "" {
			row.Oblast = ""
		}
		if reported {
			row.Last, row.LastISO = locales.Date(at, lang), at.UTC().Format(time.RFC3339)
		}
		rows = append(rows, row)
	}
	by, dir := f.Sort, f.Dir
	if by == "" && key != "" {
		// A search lists the best matches first, as the bot answers it.
		by = "match"
	}
	sortRows(rows, by, dir)
	return rows
}

// sortRows orders the table: by rank unless asked otherwise. Communities
// with no report come after those with one whichever way a figure is
// sorted: they have no figure to sort by.
func sortRows(rows []rankRow, by, dir string) {
	if by == "" {
		by, dir = "rank", "asc"
	}
	byFigure := by == "rank" || by == "index" || by == "fulfilment" || by == "reported"
	slices.SortStableFunc(rows, func(a, b rankRow) int {
		if byFigure && a.Reported != b.Reported {
			if a.Reported {
				return -1
			}
			return 1
		}
		var c int
		switch by {
		case "match":
			c = cmp.Compare(b.match, a.match)
		case "rank":
			c = cmp.Compare(a.Rank, b.Rank)
		case "name":
			c = hromadabot.CompareUkrainian(a.nameKey, b.nameKey)
		case "oblast":
			c = hromadabot.CompareUkrainian(a.oblastKey, b.oblastKey)
		case "type":
			c = hromadabot.CompareUkrainian(a.typeKey, b.typeKey)
		case "index":
			c = cmp.Compare(a.Index, b.Index)
		case "fulfilment":
			c = cmp.Compare(a.Fulfilment, b.Fulfilment)
		case "reported":
			c = a.at.Compare(b.at)
		}
		if dir == "desc" {
			c = -c
		}
		if c != 0 {
			return c
		}
		// Ties keep the ranking's order, then the name's.
		return cmp.Or(cmp.Compare(a.Rank, b.Rank), hromadabot.CompareUkrainian(a.nameKey, b.nameKey), cmp.Compare(a.communityI, b.communityI))
	})
}

// columns are the table's heads, each a link that sorts by it (and back).
func (s *Site) columns(base string, f rankingFilter, year int, lang string) []column {
	cur, dir := f.Sort, f.Dir
	if cur == "" && f.Q == "" {
		cur, dir = "rank", "asc"
	}
	out := make([]column, 0, len(columnOrder))
	for _, key := range columnOrder {
		next := sortDefaults[key]
		col := column{Key: key, Label: s.pages.cat.Plain(lang, "site.col."+key, nil)}
		if key == "rank" || key == "index" || key == "fulfilment" {
			col.Class = "num"
		}
		if key == cur {
			col.Sort, col.Arrow = "ascending", "▲"
			if dir == "desc" {
				col.Sort, col.Arrow = "descending", "▼"
			}
			next = "asc"
			if dir == "asc" {
				next = "desc"
			}
		}
		q := url.Values{}
		for k, v := range map[string]string{"oblast": f.Oblast, "type": f.Type, "q": f.Q} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if y := r0(year); y != "" {
			q.Set("year", y)
		}
		q.Set("sort", key)
		q.Set("dir", next)
		col.Href = base + "?" + q.Encode()
		out = append(out, col)
	}
	return out
}

// r0 is the year as a query value.
func r0(year int) string {
	if year == 0 {
		return ""
	}
	return itoa(year)
}

func (s *Site) rankingPage(ctx context.Context, r *http.Request, snap *snapshot, lang string) (*result, error) {
	year, err := s.year(r)
	if err != nil {
		return nil, err
	}
	f, err := s.parseRankingQuery(r, snap, true)
	if err != nil {
		return nil, err
	}
	all := make([]int, len(snap.communities))
	for i := range all {
		all[i] = i
	}
	v := s.newView(r, lang, snap)
	base := langPrefix(lang) + "/"
	rv := &rankingView{view: v, Action: base, Year: year, Years: s.years, Filter: f,
		Filtered: f.Oblast != "" || f.Type != "" || f.Q != ""}
	rv.Rows = s.rows(snap, all, year, f, lang)
	rv.Columns = s.columns(base, f, year, lang)
	for _, o := range snap.oblasts {
		rv.Oblasts = append(rv.Oblasts, option{o.Slug, s.oblastName(o.Name, lang)})
	}
	for _, t := range snap.types {
		rv.Types = append(rv.Types, option{slug(t), s.typeName(t, lang)})
	}
	cat := s.pages.cat
	rv.Heading = cat.Plain(lang, "site.ranking.heading", locales.Args{"Year": year})
	rv.Title = rv.Heading
	rv.Lead = cat.Plain(lang, "site.ranking.lead", locales.Args{"Count": len(snap.communities), "Reported": len(snap.lastReport)})
	rv.Description = rv.Lead
	rv.Caption = cat.Plain(lang, "site.ranking.caption", locales.Args{"Year": year})
	rv.Count = cat.Plain(lang, "site.ranking.shown", locales.Args{"Count": len(rv.Rows), "Total": len(snap.communities)})
	return s.render("ranking", rv)
}

func (s *Site) oblastPage(ctx context.Context, r *http.Request, snap *snapshot, lang string) (*result, error) {
	o, ok := snap.oblast(r.PathValue("slug"))
	if !ok {
		return nil, errNotFound
	}
	year, err := s.year(r)
	if err != nil {
		return nil, err
	}
	f, err := s.parseRankingQuery(r, snap, false)
	if err != nil {
		return nil, err
	}
	v := s.newView(r, lang, snap)
	base := langPrefix(lang) + "/oblast/" + url.PathEscape(o.Slug)
	rv := &rankingView{view: v, Action: base, Year: year, Years: s.years, Filter: f, Members: len(o.members)}
	rv.Rows = s.rows(snap, o.members, year, f, lang)
	rv.Columns = s.columns(base, f, year, lang)
	weekStart := isoWeekStart(s.cfg.Now())
	var sum float64
	var national []int // of the oblast's reported communities
	rk := snap.rankings[year]
	for _, i := range o.members {
		c := &snap.communities[i]
		e, _ := rk.entry(c.ID)
		sum += e.Index
		if at, ok := snap.lastReport[c.ID]; ok {
			national = append(national, e.Rank)
			rv.ReportedEver++
			if !at.Before(weekStart) {
				rv.ReportedWeek++
			}
		}
	}
	if len(o.members) > 0 {
		rv.Average = sum / float64(len(o.members))
	}
	oblastRanks(rv.Rows, national)
	cat := s.pages.cat
	// The messages say "oblast" themselves.
	name := o.Name
	if lang == hromadabot.LangEN {
		name = hromadabot.Latin(o.Name)
	}
	rv.Heading = s.oblastName(o.Name, lang)
	rv.Title = cat.Plain(lang, "site.oblast.title", locales.Args{"Name": name, "Year": year})
	rv.Description = cat.Plain(lang, "site.oblast.description", locales.Args{"Name": name, "Count": len(o.members)})
	rv.Caption = cat.Plain(lang, "site.oblast.caption", locales.Args{"Name": name, "Year": year})
	return s.render("oblast", rv)
}

// isoWeekStart is Monday 00:00 in Kyiv of the week t is in.
func isoWeekStart(t time.Time) time.Time {
	t = t.In(hromadabot.Kyiv)
	day := (int(t.Weekday()) + 6) % 7 // Monday is 0
	y, m, d := t.Date()
	return time.Date(y, m, d-day, 0, 0, 0, 0, hromadabot.Kyiv)
}

// oblastRanks turns national ranks into places within the oblast: one more
// than the oblast's reported communities (national, their national ranks)
// ranked strictly higher, so that equal indexes share a place as they do
// nationally, whatever the rows a search leaves.
func oblastRanks(rows []rankRow, national []int) {
	slices.Sort(national)
	for i := range rows {
		if rows[i].Reported {
			rows[i].Rank = 1 + sort.SearchInts(national, rows[i].Rank)
		}
	}
}
