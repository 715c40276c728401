// Package opendata is the bot's exchange with spreadsheets: it writes the
// open data (communities, indicators, latest values and scores) as CSV, JSON
// and XLSX, and reads reports and a community's own plan from CSV and XLSX
// files, the way communities keep their plans today.
//
// The column layouts are documented in README.md; the header row decides
// which layout a file has. The package knows formats only: storage is
// reached through the small Resolver interface the importer needs.
package opendata

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
)

// Format is a file format of the open data.
type Format string

// The formats the exporter writes; the importer reads CSV and XLSX.
const (
	CSV  Format = "csv"
	JSON Format = "json"
	XLSX Format = "xlsx"
)

// ParseFormat reads "csv", "json" or "xlsx" (any case).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case CSV, JSON, XLSX:
		return f, nil
	}
	return "", hromadabot.FieldErrorf("format", "format_unknown", "format %q is not one of csv, json, xlsx", s)
}

// FormatOf returns the format a file name's extension stands for, or "".
func FormatOf(name string) Format {
	f, err := ParseFormat(strings.TrimPrefix(filepath.Ext(name), "."))
	if err != nil {
		return ""
	}
	return f
}

// Table names of the open data, in the order the XLSX sheets appear.
const (
	TableCommunities = "communities"
	TableIndicators  = "indicators"
	TableValues      = "values"
	TableScores      = "scores"
)

// TableNames lists the tables of a Dataset.
var TableNames = []string{TableCommunities, TableIndicators, TableValues, TableScores}

// Dataset is everything the bot publishes as open data for one year.
type Dataset struct {
	Year        int
	GeneratedAt time.Time
	Communities []hromadabot.Community
	// Indicators is the default plan.
	Indicators []hromadabot.Indicator
	// Latest holds the current report of every community and indicator that
	// has one: the latest that was not retracted.
	Latest []hromadabot.Report
	Scores hromadabot.Ranking
}

// Table is one table of the open data: a header and rows of cells. A cell
// is a string, an int, an int64, a float64 or nil (empty).
type Table struct {
	Name   string
	Header []string
	Rows   [][]any
}

// Tables returns the dataset's tables in TableNames order.
func (d *Dataset) Tables() []Table {
	return []Table{d.communities(), d.indicators(), d.values(), d.scores()}
}

// Table returns the named table.
func (d *Dataset) Table(name string) (Table, error) {
	for _, t := range d.Tables() {
		if t.Name == name {
			return t, nil
		}
	}
	return Table{}, hromadabot.FieldErrorf("table", "table_unknown", "table %q is not one of %s", name, strings.Join(TableNames, ", "))
}

// CommunityRef is how a file names a community: its KATOTTG code, or the
// database id for a community added by hand without one. The importer
// resolves either.
func CommunityRef(c *hromadabot.Community) string { return c.Ref() }

func (d *Dataset) communities() Table {
	t := Table{Name: TableCommunities, Header: []string{"community", "community_id", "name", "type", "full_name", "oblast", "raion", "center", "population"}}
	for i := range d.Communities {
		c := &d.Communities[i]
		t.Rows = append(t.Rows, []any{CommunityRef(c), c.ID, c.Name, c.Type, c.FullName, c.Oblast, c.Raion, c.Center, c.Population})
	}
	return t
}

// planYears are the target years of the indicators, ascending.
func planYears(inds []hromadabot.Indicator) []int {
	seen := map[int]bool{}
	var years []int
	for _, ind := range inds {
		for _, y := range ind.Targets.Years() {
			if !seen[y] {
				seen[y] = true
				years = append(years, y)
			}
		}
	}
	slices.Sort(years)
	return years
}

// indicators is the plan in the wide layout the plan importer reads back:
// an indicator per row, a column per target year.
func (d *Dataset) indicators() Table {
	years := planYears(d.Indicators)
	t := Table{Name: TableIndicators, Header: []string{"indicator", "short_uk", "short_en", "title_uk", "title_en", "unit", "baseline", "weight"}}
	for _, y := range years {
		t.Header = append(t.Header, strconv.Itoa(y))
	}
	for i := range d.Indicators {
		ind := &d.Indicators[i]
		row := []any{ind.ID, ind.Short.UK, ind.Short.EN, ind.Title.UK, ind.Title.EN, string(ind.Unit), ind.Baseline, ind.Weight}
		for _, y := range years {
			row = append(row, targetCell(ind, y))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// targetCell writes a year's target as the seed plan does: the share in
// percent, "yes"/"no", or "-" for no share that year.
func targetCell(ind *hromadabot.Indicator, year int) any {
	v, ok := ind.Targets[year]
	switch {
	case !ok:
		return "-"
	case ind.Unit == hromadabot.UnitYesNo:
		return yesNo(v)
	}
	return v
}

func yesNo(v float64) string {
	if v >= 0.5 {
		return "yes"
	}
	return "no"
}

// valueCell writes a reported value so that ParseValue reads it back: a
// number for a percent indicator, "yes"/"no" for a yes/no one.
func valueCell(unit hromadabot.Unit, v float64) any {
	if unit == hromadabot.UnitYesNo {
		return yesNo(v)
	}
	return v
}

func (d *Dataset) values() Table {
	t := Table{Name: TableValues, Header: []string{"community", "community_id", "community_name", "oblast", "indicator", "indicator_title", "unit", "value", "completion", "comment", "evidence", "reported_at", "source"}}
	byID := d.communityByID()
	plan := hromadabot.Plan{Indicators: d.Indicators}
	for _, r := range d.Latest {
		c, ok := byID[r.CommunityID]
		ind, ok2 := plan.Indicator(r.IndicatorID)
		if !ok || !ok2 {
			continue
		}
		t.Rows = append(t.Rows, []any{
			CommunityRef(c), c.ID, c.Name, c.Oblast, ind.ID, ind.Title.UK, string(ind.Unit),
			valueCell(ind.Unit, r.Value), round(ind.Completion(r.Value), 4), r.Comment, r.Evidence,
			r.CreatedAt.UTC().Format(time.RFC3339), r.Source,
		})
	}
	return t
}

func (d *Dataset) scores() Table {
	t := Table{Name: TableScores, Header: []string{"community", "community_id", "community_name", "oblast", "year", "index", "plan_fulfillment", "rank", "of"}}
	byID := d.communityByID()
	reported := make(map[int64]bool, len(d.Scores))
	for _, r := range d.Latest {
		reported[r.CommunityID] = true
	}
	// A community that has not reported has no place (the methodology's
	// rule): its rank is empty, and it comes after the ranked ones.
	var silent [][]any
	for _, e := range d.Scores {
		ref := strconv.FormatInt(e.CommunityID, 10)
		if c, ok := byID[e.CommunityID]; ok {
			ref = CommunityRef(c)
		}
		row := []any{ref, e.CommunityID, e.Name, e.Oblast, d.Year, round(e.Index, 2), round(e.PlanFulfillment, 2), e.Rank, len(d.Scores)}
		if !reported[e.CommunityID] {
			row[7] = nil
			silent = append(silent, row)
			continue
		}
		t.Rows = append(t.Rows, row)
	}
	t.Rows = append(t.Rows, silent...)
	return t
}

func (d *Dataset) communityByID() map[int64]*hromadabot.Community {
	byID := make(map[int64]*hromadabot.Community, len(d.Communities))
	for i := range d.Communities {
		byID[d.Communities[i].ID] = &d.Communities[i]
	}
	return byID
}

func round(x float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(x*p) / p
}

// cellText writes a cell as CSV text: numbers with a decimal point and no
// exponent, so that every spreadsheet and script reads them alike.
func cellText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
