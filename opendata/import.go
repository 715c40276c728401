package opendata

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hromadabot/hromadabot"
)

// Layout is the kind of content an import file has, told by its header.
type Layout string

// The two import layouts (README.md, "Import").
const (
	// LayoutReports has a value column: one progress report per row.
	LayoutReports Layout = "reports"
	// LayoutPlan has a target column or year columns: a community's own
	// yearly targets.
	LayoutPlan Layout = "plan"
)

// Columns of the import layouts.
const (
	ColCommunity  = "community"
	ColIndicator  = "indicator"
	ColValue      = "value"
	ColComment    = "comment"
	ColEvidence   = "evidence"
	ColReportedAt = "reported_at"
	ColYear       = "year"
	ColTarget     = "target"
)

// headerAliases are the Ukrainian column names a person may type in a
// spreadsheet of their own.
var headerAliases = map[string]string{
	"громада": ColCommunity, "індикатор": ColIndicator, "показник": ColIndicator, "№": ColIndicator,
	"значення": ColValue, "коментар": ColComment, "підтвердження": ColEvidence, "посилання": ColEvidence,
	"рік": ColYear, "ціль": ColTarget, "цільове значення": ColTarget,
}

// informational are columns the export writes for people and the import
// ignores: they are derived from the columns it reads.
var informational = map[Layout]map[string]bool{
	LayoutReports: {"community_id": true, "community_name": true, "oblast": true, "indicator_title": true,
		"unit": true, "completion": true, "source": true},
	LayoutPlan: {"short_uk": true, "short_en": true, "title_uk": true, "title_en": true, "title": true,
		"unit": true, "baseline": true, "weight": true},
}

var yearColumn = regexp.MustCompile(`^20[0-9]{2}$`)

// Resolver finds what an import file refers to; storage's *sqldb.DB
// satisfies it.
type Resolver interface {
	// FindCommunity resolves an id, a KATOTTG code or a name.
	FindCommunity(ctx context.Context, ref string) (*hromadabot.Community, error)
	// Plan returns the community's plan with its own targets applied.
	Plan(ctx context.Context, communityID int64) (*hromadabot.Plan, error)
}

// Import is a file's content, resolved and validated, ready to be stored
// all at once.
type Import struct {
	Layout Layout
	// Reports are the rows of a reports file, in file order.
	Reports []hromadabot.Report
	// Community and Targets are a plan file's: indicator → its yearly targets.
	Community *hromadabot.Community
	Targets   map[int]hromadabot.Targets
}

// Parse validates every row of s and returns what it holds. community, when
// not nil, is the community of every row: a reports file then needs no
// community column (a row that names another community is an error), and a
// plan file always needs it. The first problem found is an EINVALID error
// naming the row and column ("row 3, column value: …"); nothing is partial.
func Parse(ctx context.Context, s *Sheet, res Resolver, community *hromadabot.Community) (*Import, error) {
	cols, layout, err := columns(s.Header)
	if err != nil {
		return nil, err
	}
	p := &parser{ctx: ctx, sheet: s, cols: cols, res: res, community: community,
		found: map[string]*hromadabot.Community{}, plans: map[int64]*hromadabot.Plan{}}
	if layout == LayoutReports {
		return p.reports()
	}
	return p.plan()
}

// columns maps each column name to its index and tells the layout.
func columns(header []string) (map[string]int, Layout, error) {
	cols := make(map[string]int, len(header))
	names := make([]string, 0, len(header)) // in header order, for a stable first error
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if alias, ok := headerAliases[name]; ok {
			name = alias
		}
		if name == "" {
			return nil, "", cellErrorf(1, columnLetter(i), "the header cell is empty")
		}
		if _, dup := cols[name]; dup {
			return nil, "", cellErrorf(1, name, "the column appears twice")
		}
		cols[name] = i
		names = append(names, name)
	}
	var layout Layout
	_, hasValue := cols[ColValue]
	_, hasTarget := cols[ColTarget]
	hasYears := false
	for _, name := range names {
		hasYears = hasYears || yearColumn.MatchString(name)
	}
	switch {
	case hasValue:
		layout = LayoutReports
	case hasTarget || hasYears:
		layout = LayoutPlan
	default:
		return nil, "", hromadabot.Errorf(hromadabot.EINVALID, "import_header",
			"row 1: the header is neither reports (community,indicator,value,comment,evidence) nor a plan (indicator,year,target or indicator,2025,2026,2027)")
	}
	known := map[string]bool{ColIndicator: true}
	switch layout {
	case LayoutReports:
		for _, c := range []string{ColCommunity, ColValue, ColComment, ColEvidence, ColReportedAt} {
			known[c] = true
		}
	case LayoutPlan:
		if hasTarget {
			known[ColYear], known[ColTarget] = true, true
		}
	}
	for _, name := range names {
		if known[name] || informational[layout][name] || (layout == LayoutPlan && !hasTarget && yearColumn.MatchString(name)) {
			continue
		}
		return nil, "", cellErrorf(1, name, "unknown column in a %s file", layout)
	}
	if _, ok := cols[ColIndicator]; !ok {
		return nil, "", cellErrorf(1, ColIndicator, "the column is missing")
	}
	if layout == LayoutPlan && hasTarget {
		if _, ok := cols[ColYear]; !ok {
			return nil, "", cellErrorf(1, ColYear, "the column is missing")
		}
	}
	return cols, layout, nil
}

type parser struct {
	ctx       context.Context
	sheet     *Sheet
	cols      map[string]int
	res       Resolver
	community *hromadabot.Community
	found     map[string]*hromadabot.Community
	plans     map[int64]*hromadabot.Plan
}

// cell returns the row's cell in the named column, "" when absent.
func (p *parser) cell(row []string, col string) string {
	i, ok := p.cols[col]
	if !ok || i >= len(row) {
		return ""
	}
	return row[i]
}

func (p *parser) reports() (*Import, error) {
	out := &Import{Layout: LayoutReports}
	if _, ok := p.cols[ColCommunity]; !ok && p.community == nil {
		return nil, cellErrorf(1, ColCommunity, "the column is missing: add it or name the community of every row with --community")
	}
	for i, row := range p.sheet.Rows {
		line := p.sheet.Lines[i]
		c, err := p.rowCommunity(line, row)
		if err != nil {
			return nil, err
		}
		plan, err := p.planOf(c.ID)
		if err != nil {
			return nil, err
		}
		ind, err := p.indicator(line, row, plan)
		if err != nil {
			return nil, err
		}
		cell := p.cell(row, ColValue)
		if cell == "" {
			return nil, cellErrorf(line, ColValue, "the cell is empty (delete the row if there is nothing to report)")
		}
		v, err := hromadabot.ParseValue(ind.Unit, cell)
		if err != nil {
			return nil, cellErrorf(line, ColValue, "%s", fieldMessage(err))
		}
		at, err := reportedAt(line, p.cell(row, ColReportedAt))
		if err != nil {
			return nil, err
		}
		r := hromadabot.Report{
			CommunityID: c.ID, IndicatorID: ind.ID, Value: v, CreatedAt: at,
			Comment: p.cell(row, ColComment), Evidence: p.cell(row, ColEvidence),
			Source:   hromadabot.SourceImport,
			DedupKey: fmt.Sprintf("import:%s:%d", p.sheet.Digest, line),
		}
		if err := r.Validate(plan); err != nil {
			var col string
			if e := (*hromadabot.Error)(nil); errors.As(err, &e) {
				col = e.Field
			}
			return nil, cellErrorf(line, col, "%s", fieldMessage(err))
		}
		out.Reports = append(out.Reports, r)
	}
	if len(out.Reports) == 0 {
		return nil, hromadabot.Errorf(hromadabot.EINVALID, "import_empty", "the file has a header but no reports")
	}
	return out, nil
}

// timeLayouts are the forms a report time may take; the ones without a
// zone are Kyiv time.
var timeLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02", "02.01.2006"}

// reportedAt reads the time of a historical report; empty means now.
func reportedAt(line int, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range timeLayouts {
		t, err := time.ParseInLocation(layout, s, hromadabot.Kyiv)
		if err != nil {
			continue
		}
		if t.After(time.Now()) {
			return time.Time{}, cellErrorf(line, ColReportedAt, "%s is in the future", s)
		}
		return t, nil
	}
	return time.Time{}, cellErrorf(line, ColReportedAt, "%q is not a time such as 2026-03-01 or 2026-03-01T10:00:00+02:00", s)
}

// rowCommunity resolves the row's community column, or the given community.
func (p *parser) rowCommunity(line int, row []string) (*hromadabot.Community, error) {
	ref := p.cell(row, ColCommunity)
	if ref == "" {
		if p.community != nil {
			return p.community, nil
		}
		return nil, cellErrorf(line, ColCommunity, "the community is empty")
	}
	c, ok := p.found[ref]
	if !ok {
		var err error
		c, err = p.res.FindCommunity(p.ctx, ref)
		if err != nil {
			if hromadabot.ErrorCode(err) == hromadabot.EINTERNAL {
				return nil, fmt.Errorf("row %d: find community: %w", line, err)
			}
			return nil, cellErrorf(line, ColCommunity, "%s", hromadabot.ErrorMessage(err))
		}
		p.found[ref] = c
	}
	if p.community != nil && c.ID != p.community.ID {
		return nil, cellErrorf(line, ColCommunity, "%s is not %s, the community the import is for", c.Label(), p.community.Label())
	}
	return c, nil
}

func (p *parser) planOf(communityID int64) (*hromadabot.Plan, error) {
	if plan, ok := p.plans[communityID]; ok {
		return plan, nil
	}
	plan, err := p.res.Plan(p.ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("plan of community %d: %w", communityID, err)
	}
	p.plans[communityID] = plan
	return plan, nil
}

func (p *parser) indicator(line int, row []string, plan *hromadabot.Plan) (*hromadabot.Indicator, error) {
	ind, err := ParseIndicator(plan, p.cell(row, ColIndicator))
	if err != nil {
		return nil, cellErrorf(line, ColIndicator, "%s", hromadabot.ErrorMessage(err))
	}
	return ind, nil
}

// ParseIndicator finds the plan's indicator named by its number as a person
// writes it ("5", "5."). The error names the plan's range.
func ParseIndicator(plan *hromadabot.Plan, s string) (*hromadabot.Indicator, error) {
	s = strings.TrimSpace(s)
	id, err := strconv.Atoi(strings.TrimSuffix(s, "."))
	if err != nil {
		return nil, hromadabot.FieldErrorf(ColIndicator, "indicator_invalid", "%q is not an indicator number (1..%d)", s, len(plan.Indicators))
	}
	ind, ok := plan.Indicator(id)
	if !ok {
		return nil, &hromadabot.Error{Code: hromadabot.ENOTFOUND, Reason: "indicator_not_found", Field: ColIndicator,
			Message: fmt.Sprintf("indicator %d is not in the plan (1..%d)", id, len(plan.Indicators))}
	}
	return ind, nil
}

func (p *parser) plan() (*Import, error) {
	if p.community == nil {
		return nil, hromadabot.FieldErrorf("community", "community_required", "a plan file is one community's: name it with --community")
	}
	plan, err := p.planOf(p.community.ID)
	if err != nil {
		return nil, err
	}
	out := &Import{Layout: LayoutPlan, Community: p.community, Targets: map[int]hromadabot.Targets{}}
	var years []int
	for name := range p.cols {
		if yearColumn.MatchString(name) {
			y, _ := strconv.Atoi(name)
			years = append(years, y)
		}
	}
	slices.Sort(years)
	lastRow := map[int]int{}
	for i, row := range p.sheet.Rows {
		line := p.sheet.Lines[i]
		ind, err := p.indicator(line, row, plan)
		if err != nil {
			return nil, err
		}
		if _, ok := p.cols[ColTarget]; ok {
			// Long layout: indicator, year, target.
			ys := p.cell(row, ColYear)
			y, err := strconv.Atoi(ys)
			if err != nil || !yearColumn.MatchString(ys) {
				return nil, cellErrorf(line, ColYear, "%q is not a year", ys)
			}
			if err := p.target(out, ind, y, line, ColTarget, p.cell(row, ColTarget)); err != nil {
				return nil, err
			}
		} else {
			// Wide layout: indicator, then a column per year.
			if _, dup := out.Targets[ind.ID]; dup {
				return nil, cellErrorf(line, ColIndicator, "indicator %d appears twice", ind.ID)
			}
			for _, y := range years {
				name := strconv.Itoa(y)
				if err := p.target(out, ind, y, line, name, p.cell(row, name)); err != nil {
					return nil, err
				}
			}
		}
		lastRow[ind.ID] = line
	}
	if len(out.Targets) == 0 {
		return nil, hromadabot.Errorf(hromadabot.EINVALID, "import_empty", "the file has a header but no targets")
	}
	for id, t := range out.Targets {
		ind, _ := plan.Indicator(id)
		if ind.Unit != hromadabot.UnitPercent {
			continue
		}
		var sum float64
		for _, v := range t {
			sum += v
		}
		if sum > 100+1e-6 {
			return nil, cellErrorf(lastRow[id], ColIndicator, "the yearly shares of indicator %d add up to %s, more than 100",
				id, strconv.FormatFloat(math.Round(sum*100)/100, 'f', -1, 64))
		}
	}
	return out, nil
}

// target stores one year's target of an indicator read from a cell: the
// year's share in percent, yes/no, or "-" (or empty) for no share.
func (p *parser) target(out *Import, ind *hromadabot.Indicator, year, line int, col, cell string) error {
	t, ok := out.Targets[ind.ID]
	if !ok {
		t = hromadabot.Targets{}
		out.Targets[ind.ID] = t
	}
	if _, dup := t[year]; dup {
		return cellErrorf(line, col, "indicator %d has a second target for %d", ind.ID, year)
	}
	if cell == "" || cell == "-" || cell == "–" || cell == "—" {
		return nil
	}
	v, err := hromadabot.ParseValue(ind.Unit, cell)
	if err != nil {
		return cellErrorf(line, col, "%s", fieldMessage(err))
	}
	t[year] = v
	return nil
}

// cellErrorf returns the EINVALID error about one cell of the file.
func cellErrorf(line int, col, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if col != "" {
		name := col
		if strings.ContainsAny(col, ":,\"") || strings.TrimSpace(col) != col || !utf8.ValidString(col) || strings.IndexFunc(col, unicode.IsControl) >= 0 {
			name = strconv.Quote(col) // a header cell such as ":" must not read as part of the message
		}
		msg = fmt.Sprintf("row %d, column %s: %s", line, name, msg)
	} else {
		msg = fmt.Sprintf("row %d: %s", line, msg)
	}
	return &hromadabot.Error{Code: hromadabot.EINVALID, Reason: "import_cell", Field: col, Message: msg}
}

// fieldMessage drops the leading field name of a domain message, which the
// error already names as the column: `"abc" is not a number from 0 to 100`.
func fieldMessage(err error) string {
	msg := hromadabot.ErrorMessage(err)
	var e *hromadabot.Error
	if errors.As(err, &e) && e.Field != "" {
		// Only a message that quotes the cell ("value 101 is…") repeats the column.
		if rest, ok := strings.CutPrefix(msg, e.Field+" "); ok && rest != "" && strings.ContainsRune(`"-0123456789`, rune(rest[0])) {
			return rest
		}
	}
	return msg
}

// columnLetter names a column the way a spreadsheet does: A, B, …, AA.
func columnLetter(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}
