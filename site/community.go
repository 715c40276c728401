package site

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/locales"
)

// historyRows is how many of a community's latest reports its page lists.
const historyRows = 50

// communityData is what a community's page and its API answer show, read
// from the records once per data version.
type communityData struct {
	c        *hromadabot.Community
	ref      string
	plan     *hromadabot.Plan
	history  []hromadabot.ValuePoint // oldest first
	latest   map[int]hromadabot.Report
	score    hromadabot.Score
	rank     hromadabot.RankEntry
	reported bool
	last     time.Time
	total    int
}

func (s *Site) communityData(ctx context.Context, snap *snapshot, ref string, year int) (*communityData, error) {
	c, err := snap.community(ref)
	if err != nil {
		return nil, err
	}
	plan, err := s.cfg.Records.Plan(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("plan of %d: %w", c.ID, err)
	}
	d := &communityData{c: c, ref: ref, plan: plan, latest: map[int]hromadabot.Report{}, total: len(snap.communities)}
	if d.history, err = s.cfg.Records.ValueHistory(ctx, c.ID); err != nil {
		return nil, fmt.Errorf("history of %d: %w", c.ID, err)
	}
	current, err := s.cfg.Records.CurrentReports(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("current reports of %d: %w", c.ID, err)
	}
	values := map[int]float64{}
	for _, r := range current {
		d.latest[r.IndicatorID] = r
		values[r.IndicatorID] = r.Value
	}
	d.score = hromadabot.ComputeScore(plan, values, year)
	d.rank, _ = snap.rankings[year].entry(c.ID)
	d.last, d.reported = snap.lastReport[c.ID]
	return d, nil
}

// requestedCommunity is the communityData of the request's {ref}, in the
// year of its query.
func (s *Site) requestedCommunity(ctx context.Context, r *http.Request, snap *snapshot) (*communityData, int, error) {
	year, err := s.year(r)
	if err != nil {
		return nil, 0, err
	}
	d, err := s.communityData(ctx, snap, r.PathValue("ref"), year)
	return d, year, err
}

// indicatorRow is an indicator's line on a community's page.
type indicatorRow struct {
	ID                        int
	Title                     string
	Value, Target             string
	Status, StatusName        string
	Reported                  string
	EvidenceURL, EvidenceFile string
}

type historyRow struct {
	Date, ISO, Indicator, Value, Comment string
}

// chartView is the index over time as an SVG line.
type chartView struct {
	Width, Height, Left, Right, LabelX, TickY int
	Points                                    string
	Grid                                      []gridLine
	Ticks                                     []tick
}

type gridLine struct {
	Y     int
	Label string
}

type tick struct {
	X     int
	Label string
}

type communityView struct {
	*view
	Name, FullName, Center string
	Population             int
	OblastName, OblastHref string
	Year                   int
	Years                  []int
	Score                  hromadabot.Score
	Rank, Total            int
	Reported               bool
	Last                   string
	Indicators             []indicatorRow
	History                []historyRow
	HistoryCaption         string
	Chart                  chartView
	Card, CardSVG          string
}

func (s *Site) communityPage(ctx context.Context, r *http.Request, snap *snapshot, lang string) (*result, error) {
	d, year, err := s.requestedCommunity(ctx, r, snap)
	if err != nil {
		return nil, err
	}
	cat := s.pages.cat
	v := s.newView(r, lang, snap)
	c := d.c
	cv := &communityView{view: v, Name: communityName(c, lang), FullName: c.FullName, Center: c.Center, Population: c.Population,
		Year: year, Years: s.years, Score: d.score, Rank: d.rank.Rank, Total: d.total, Reported: d.reported}
	if lang == hromadabot.LangEN {
		cv.FullName = cat.Plain(lang, "site.community.full_name", locales.Args{"Name": cv.Name, "Type": s.typeName(c.Type, lang)})
		cv.Center = hromadabot.Latin(c.Center)
	}
	if c.Oblast != "" {
		cv.OblastName, cv.OblastHref = s.oblastName(c.Oblast, lang), oblastHref(c.Oblast, lang)
	}
	if d.reported {
		cv.Last = locales.Date(d.last, lang)
	}
	for _, is := range d.score.Indicators {
		ind, _ := d.plan.Indicator(is.ID)
		row := indicatorRow{ID: is.ID, Title: ind.Title.In(lang), Status: string(is.Status), StatusName: cat.Status(lang, is.Status),
			Target: s.target(ind, is.Target, lang), Value: "—"}
		if rep, ok := d.latest[is.ID]; ok {
			row.Value = cat.Plain(lang, "site.value", locales.Args{"Value": locales.HTML(cat.Value(lang, ind.Unit, rep.Value))})
			row.Reported = locales.Date(rep.CreatedAt, lang)
			row.EvidenceURL, row.EvidenceFile = evidence(rep.Evidence)
		}
		cv.Indicators = append(cv.Indicators, row)
	}
	recent, err := s.cfg.Records.Reports(ctx, hromadabot.ReportFilter{CommunityID: c.ID, Limit: historyRows})
	if err != nil {
		return nil, fmt.Errorf("reports of %d: %w", c.ID, err)
	}
	for _, rep := range recent {
		ind, _ := d.plan.Indicator(rep.IndicatorID)
		title := strconv.Itoa(rep.IndicatorID)
		unit := hromadabot.UnitPercent
		if ind != nil {
			title = strconv.Itoa(ind.ID) + ". " + ind.Short.In(lang)
			unit = ind.Unit
		}
		cv.History = append(cv.History, historyRow{
			Date: locales.Date(rep.CreatedAt, lang), ISO: rep.CreatedAt.UTC().Format(time.RFC3339),
			Indicator: title, Value: cat.Plain(lang, "site.value", locales.Args{"Value": locales.HTML(cat.Value(lang, unit, rep.Value))}),
			Comment: clip(rep.Comment, 200),
		})
	}
	cv.HistoryCaption = cat.Plain(lang, "site.community.history_caption", locales.Args{"Count": len(cv.History), "Total": len(d.history)})
	cv.Chart = indexChart(d.plan, d.history, s.cfg.Now(), lang)
	if s.cfg.ScoreCard != nil {
		cv.Card = chartPath(d.ref, year, lang, "png")
		cv.Image = cv.Card
	}
	if s.cfg.ScoreCardSVG != nil {
		cv.CardSVG = chartPath(d.ref, year, lang, "svg")
	}
	cv.Title = cat.Plain(lang, "site.community.title", locales.Args{"Name": cv.Name, "Year": year})
	if d.reported {
		cv.Description = cat.Plain(lang, "site.community.description", locales.Args{
			"Name": cv.Name, "Year": year, "Index": d.score.Index, "Rank": d.rank.Rank, "Total": d.total, "Fulfillment": d.score.PlanFulfillment,
		})
	} else {
		cv.Description = cat.Plain(lang, "site.community.description_none", locales.Args{"Name": cv.Name})
	}
	return s.render("community", cv)
}

// chartPath is the score card's URL: /chart/{ref}/{year}.png, English with
// ?lang=en.
func chartPath(ref string, year int, lang, ext string) string {
	p := "/chart/" + url.PathEscape(ref) + "/" + strconv.Itoa(year) + "." + ext
	if lang != hromadabot.LangUK {
		p += "?lang=" + lang
	}
	return p
}

// target writes an indicator's cumulative target for the year.
func (s *Site) target(ind *hromadabot.Indicator, t float64, lang string) string {
	if ind == nil {
		return ""
	}
	if ind.Unit == hromadabot.UnitYesNo {
		return s.pages.cat.Value(lang, ind.Unit, t)
	}
	return s.pages.cat.Value(lang, ind.Unit, 100*t)
}

// evidence tells a link, shown as one, from a file kept by the bot, which
// the site does not publish.
func evidence(e string) (link, file string) {
	switch {
	case e == "":
		return "", ""
	case strings.HasPrefix(e, "https://") || strings.HasPrefix(e, "http://"):
		if u, err := url.Parse(e); err == nil && u.Host != "" {
			return u.String(), ""
		}
		return "", ""
	default:
		return "", e
	}
}

// Chart geometry, in SVG units.
const (
	chartWidth, chartHeight = 720, 250
	chartLeft, chartRight   = 60, 704
	chartTop, chartBottom   = 14, 206
)

// indexChart draws the index week by week, from the week of the first
// report to now: each point is the index as the values stood at the end of
// that week.
func indexChart(plan *hromadabot.Plan, rs []hromadabot.ValuePoint, now time.Time, lang string) chartView {
	cv := chartView{Width: chartWidth, Height: chartHeight, Left: chartLeft, Right: chartRight, LabelX: chartLeft - 6, TickY: chartBottom + 30}
	for _, g := range []float64{0, 25, 50, 75, 100} {
		cv.Grid = append(cv.Grid, gridLine{Y: chartY(g), Label: hromadabot.FormatNumber(g, 0, lang)})
	}
	if len(rs) == 0 {
		return cv
	}
	start := isoWeekStart(rs[0].At)
	end := isoWeekStart(now).AddDate(0, 0, 7)
	var weeks []time.Time
	for w := start.AddDate(0, 0, 7); !w.After(end); w = w.AddDate(0, 0, 7) {
		weeks = append(weeks, w)
	}
	values := map[int]float64{}
	var pts []string
	next := 0
	for i, w := range weeks {
		for next < len(rs) && rs[next].At.Before(w) {
			values[rs[next].IndicatorID] = rs[next].Value
			next++
		}
		sc := hromadabot.ComputeScore(plan, values, w.Year())
		x := chartLeft
		if len(weeks) > 1 {
			x += i * (chartRight - chartLeft) / (len(weeks) - 1)
		}
		pts = append(pts, strconv.Itoa(x)+","+strconv.Itoa(chartY(sc.Index)))
		if i == 0 || w.Year() != weeks[i-1].Year() {
			cv.Ticks = append(cv.Ticks, tick{X: x, Label: strconv.Itoa(w.AddDate(0, 0, -1).Year())})
		}
	}
	cv.Points = strings.Join(pts, " ")
	return cv
}

func chartY(index float64) int {
	return chartBottom - int(index*float64(chartBottom-chartTop)/100+0.5)
}
