package opendata_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/opendata"
)

// resolver knows two communities by id, code or name, both on the default plan.
type resolver struct{}

var communities = []hromadabot.Community{
	{ID: 1, Code: "UA32080070000050759", Name: "Бучанська", Oblast: "Київська"},
	{ID: 2, Name: "Тестова", Oblast: "Київська"},
}

func (resolver) FindCommunity(_ context.Context, ref string) (*hromadabot.Community, error) {
	for i := range communities {
		c := &communities[i]
		if ref == c.Code || ref == c.Name || ref == strconv.FormatInt(c.ID, 10) {
			return c, nil
		}
	}
	return nil, hromadabot.Errorf(hromadabot.ENOTFOUND, "community_not_found", "no community matches %q", ref)
}

func (resolver) Plan(context.Context, int64) (*hromadabot.Plan, error) {
	p := hromadabot.DefaultPlan()
	return &p, nil
}

var _ opendata.Resolver = resolver{}

func parse(t *testing.T, name, content string, community *hromadabot.Community) (*opendata.Import, error) {
	t.Helper()
	s, err := opendata.ReadSheet(name, strings.NewReader(content))
	if err != nil {
		return nil, err
	}
	return opendata.Parse(context.Background(), s, resolver{}, community)
}

func TestReadSheet(t *testing.T) {
	tests := []struct {
		name    string
		content string
		header  []string
		lines   []int
	}{
		{"CommaOK", "a,b\n1,2\n", []string{"a", "b"}, []int{2}},
		{"SemicolonOK", "a;b\n1,5;2\n", []string{"a", "b"}, []int{2}},
		{"TabOK", "a\tb\n1\t2\n", []string{"a", "b"}, []int{2}},
		{"ByteOrderMarkOK", "\uFEFFa,b\n1,2\n", []string{"a", "b"}, []int{2}},
		{"BlankRowsKeepNumbersOK", "a,b\n\n1,2\n,\n3,4\n", []string{"a", "b"}, []int{3, 5}},
		{"QuotedNewlineOK", "a,b\n\"x\ny\",2\n3,4\n", []string{"a", "b"}, []int{2, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := opendata.ReadSheet("f.csv", strings.NewReader(tt.content))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.Header, tt.header) || !reflect.DeepEqual(s.Lines, tt.lines) {
				t.Errorf("header %q, lines %v; want %q, %v", s.Header, s.Lines, tt.header, tt.lines)
			}
		})
	}
	t.Run("ErrTooLarge", func(t *testing.T) {
		_, err := opendata.ReadSheet("f.csv", strings.NewReader("a\n"+strings.Repeat("1\n", opendata.MaxFileSize/2+1)))
		if hromadabot.ErrorReason(err) != "import_too_large" {
			t.Errorf("error %v", err)
		}
	})
	t.Run("DigestFollowsContent", func(t *testing.T) {
		a, _ := opendata.ReadSheet("f.csv", strings.NewReader("a\n1\n"))
		b, _ := opendata.ReadSheet("g.csv", strings.NewReader("a\n1\n"))
		c, _ := opendata.ReadSheet("f.csv", strings.NewReader("a\n2\n"))
		if a.Digest != b.Digest || a.Digest == c.Digest {
			t.Errorf("digests %s %s %s", a.Digest, b.Digest, c.Digest)
		}
	})
}

func TestParseReports(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		im, err := parse(t, "r.csv", "community,indicator,value,comment,evidence,reported_at,community_name\n"+
			"UA32080070000050759,1,\"55,5\",перший,https://example.org,2026-03-01,Бучанська\n"+
			"Тестова,11,Так,,,,\n", nil)
		if err != nil {
			t.Fatal(err)
		}
		if im.Layout != opendata.LayoutReports || len(im.Reports) != 2 {
			t.Fatalf("layout %s, %d reports", im.Layout, len(im.Reports))
		}
		r := im.Reports[0]
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, hromadabot.Kyiv)
		if r.CommunityID != 1 || r.IndicatorID != 1 || r.Value != 55.5 || r.Comment != "перший" || r.Evidence != "https://example.org" ||
			!r.CreatedAt.Equal(at) || r.Source != hromadabot.SourceImport || !strings.HasSuffix(r.DedupKey, ":2") {
			t.Errorf("first report %+v", r)
		}
		if r := im.Reports[1]; r.CommunityID != 2 || r.Value != 1 || !r.CreatedAt.IsZero() || !strings.HasSuffix(r.DedupKey, ":3") {
			t.Errorf("second report %+v", r)
		}
	})

	t.Run("CommunityGivenOK", func(t *testing.T) {
		im, err := parse(t, "r.csv", "indicator,value\n2,10\n", &communities[1])
		if err != nil {
			t.Fatal(err)
		}
		if im.Reports[0].CommunityID != 2 {
			t.Errorf("report %+v", im.Reports[0])
		}
	})

	bad := []struct {
		name, content, want string
	}{
		{"ErrValue", "community,indicator,value\nБучанська,1,50\nБучанська,2,abc\n", `row 3, column value: "abc" is not a number from 0 to 100`},
		{"ErrCommunity", "community,indicator,value\nЖитомирська,1,50\n", `row 2, column community: no community matches "Житомирська"`},
		{"ErrCommunityEmpty", "community,indicator,value\n,1,50\n", "row 2, column community: the community is empty"},
		{"ErrIndicator", "community,indicator,value\nБучанська,0,50\n", "row 2, column indicator: indicator 0 is not in the plan (1..23)"},
		{"ErrReportedAt", "community,indicator,value,reported_at\nБучанська,1,50,вчора\n", `row 2, column reported_at: "вчора" is not a time such as 2026-03-01 or 2026-03-01T10:00:00+02:00`},
		{"ErrEvidenceTooLong", "community,indicator,value,evidence\nБучанська,1,50," + strings.Repeat("x", 501) + "\n", "row 2, column evidence: evidence reference is longer than 500 characters"},
		{"ErrHeaderCellEmpty", "community,,value\nБучанська,1,50\n", "row 1, column B: the header cell is empty"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			im, err := parse(t, "r.csv", tt.content, nil)
			if err == nil || err.Error() != tt.want || hromadabot.ErrorCode(err) != hromadabot.EINVALID || im != nil {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParsePlan(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    map[int]hromadabot.Targets
	}{
		{"LongOK", "indicator,year,target\n1,2025,40\n1,2026,60\n11,2026,так\n4,2025,-\n",
			map[int]hromadabot.Targets{1: {2025: 40, 2026: 60}, 11: {2026: 1}, 4: {}}},
		{"WideOK", "Показник;title_uk;2025;2026;2027\n9;Wi-Fi;42,9;57,1;0\n18;Валіза;88,6;11,4;-\n",
			map[int]hromadabot.Targets{9: {2025: 42.9, 2026: 57.1, 2027: 0}, 18: {2025: 88.6, 2026: 11.4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, err := parse(t, "p.csv", tt.content, &communities[0])
			if err != nil {
				t.Fatal(err)
			}
			if im.Layout != opendata.LayoutPlan || im.Community.ID != 1 || !reflect.DeepEqual(im.Targets, tt.want) {
				t.Errorf("layout %s, targets %v; want %v", im.Layout, im.Targets, tt.want)
			}
		})
	}
	t.Run("ErrYearColumnsWithTarget", func(t *testing.T) {
		_, err := parse(t, "p.csv", "indicator,year,target,2025\n1,2025,40,40\n", &communities[0])
		if err == nil || err.Error() != "row 1, column 2025: unknown column in a plan file" {
			t.Errorf("error %v", err)
		}
	})
}

func dataset() *opendata.Dataset {
	plan := hromadabot.DefaultPlan()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	return &opendata.Dataset{
		Year: 2026, GeneratedAt: at, Communities: communities, Indicators: plan.Indicators,
		Latest: []hromadabot.Report{
			{CommunityID: 1, IndicatorID: 1, Value: 50, Comment: "a, \"b\"", CreatedAt: at, Source: "cli"},
			{CommunityID: 2, IndicatorID: 11, Value: 1, CreatedAt: at, Source: "telegram"},
		},
		Scores: hromadabot.Ranking{
			{CommunityID: 1, Name: "Бучанська", Oblast: "Київська", Index: 100 * 0.5 / 23, PlanFulfillment: 2.5555, Rank: 1},
			{CommunityID: 2, Name: "Тестова", Oblast: "Київська", Index: 100.0 / 23, Rank: 2},
		},
	}
}

func TestWriteCSV(t *testing.T) {
	d := dataset()
	var b bytes.Buffer
	values, _ := d.Table(opendata.TableValues)
	if err := opendata.WriteCSV(&b, values); err != nil {
		t.Fatal(err)
	}
	want := "community,community_id,community_name,oblast,indicator,indicator_title,unit,value,completion,comment,evidence,reported_at,source\n" +
		"UA32080070000050759,1,Бучанська,Київська,1,Аналіз наявності та стану даних територіальної громади,percent,50,0.5,\"a, \"\"b\"\"\",,2026-03-01T10:00:00Z,cli\n" +
		"2,2,Тестова,Київська,11,Занесення метаданих до Національного геопорталу.,yesno,yes,1,,,2026-03-01T10:00:00Z,telegram\n"
	if b.String() != want {
		t.Errorf("values CSV:\n%s\nwant\n%s", b.String(), want)
	}

	// What the exporter writes, the importer reads back.
	im, err := parse(t, "values.csv", b.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Reports) != 2 || im.Reports[0].Comment != `a, "b"` || im.Reports[1].Value != 1 || !im.Reports[0].CreatedAt.Equal(d.Latest[0].CreatedAt) {
		t.Errorf("read back %+v", im.Reports)
	}

	b.Reset()
	scores, _ := d.Table(opendata.TableScores)
	if err := opendata.WriteCSV(&b, scores); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "UA32080070000050759,1,Бучанська,Київська,2026,2.17,2.56,1,2\n") {
		t.Errorf("scores CSV:\n%s", b.String())
	}
	if _, err := d.Table("users"); hromadabot.ErrorCode(err) != hromadabot.EINVALID {
		t.Errorf("unknown table: %v", err)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := opendata.WriteJSON(&b, dataset()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	if doc["year"] != 2026.0 || doc["generated_at"] != "2026-03-01T10:00:00Z" {
		t.Errorf("year %v, generated_at %v", doc["year"], doc["generated_at"])
	}
	for name, n := range map[string]int{"communities": 2, "indicators": 23, "values": 2, "scores": 2} {
		if rows, _ := doc[name].([]any); len(rows) != n {
			t.Errorf("%s: %d rows, want %d", name, len(rows), n)
		}
	}
	v := doc["values"].([]any)[1].(map[string]any)
	if v["value"] != "yes" || v["completion"] != 1.0 || v["community"] != "2" {
		t.Errorf("second value %v", v)
	}
	// Keys keep the columns' order.
	if i, j := strings.Index(b.String(), `"community_id"`), strings.Index(b.String(), `"name"`); i > j {
		t.Errorf("columns out of order")
	}
}

func TestWriteXLSX(t *testing.T) {
	var b bytes.Buffer
	if err := opendata.WriteXLSX(&b, dataset()); err != nil {
		t.Fatal(err)
	}
	s, err := opendata.ReadSheet("open.xlsx", &b)
	if err != nil {
		t.Fatal(err)
	}
	// The importer picks the values sheet of the export.
	if s.Header[0] != "community" || s.Header[7] != "value" || len(s.Rows) != 2 || s.Rows[0][7] != "50" || s.Rows[1][7] != "yes" {
		t.Errorf("values sheet: %q %q", s.Header, s.Rows)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name, file string
		want       opendata.Format
	}{
		{"CSV", "a/b.csv", opendata.CSV},
		{"XLSXUpper", "B.XLSX", opendata.XLSX},
		{"JSON", "open.json", opendata.JSON},
		{"Unknown", "open.txt", ""},
		{"None", "open", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := opendata.FormatOf(tt.file); got != tt.want {
				t.Errorf("FormatOf(%q) = %q, want %q", tt.file, got, tt.want)
			}
		})
	}
}

// FuzzImport feeds arbitrary files through the reader and the parser: any
// input is either imported or refused with an EINVALID error, never a panic.
func FuzzImport(f *testing.F) {
	f.Add("community,indicator,value,comment,evidence\nБучанська,1,55,,\n", false)
	f.Add("indicator;2025;2026;2027\n1;33,3;33,3;33,4\n11;так;так;-\n", true)
	f.Add("indicator,year,target\n1,2025,50\n", true)
	f.Add("\uFEFFгромада,індикатор,значення\n\"Бучанська\",\"1.\",\"55%\"\n", false)
	f.Add("a,\"b\n", false)
	f.Fuzz(func(t *testing.T, content string, withCommunity bool) {
		var c *hromadabot.Community
		if withCommunity {
			c = &communities[0]
		}
		s, err := opendata.ReadSheet("f.csv", strings.NewReader(content))
		if err != nil {
			if hromadabot.ErrorCode(err) != hromadabot.EINVALID {
				t.Fatalf("read: %v", err)
			}
			return
		}
		im, err := opendata.Parse(context.Background(), s, resolver{}, c)
		if err != nil {
			if hromadabot.ErrorCode(err) != hromadabot.EINVALID {
				t.Fatalf("parse: %v", err)
			}
			return
		}
		plan := hromadabot.DefaultPlan()
		for _, r := range im.Reports {
			if err := r.Validate(&plan); err != nil {
				t.Fatalf("an accepted report is invalid: %v", err)
			}
		}
	})
}
