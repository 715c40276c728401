package main_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/hromadabot/hromadabot"
)

// reported returns a command line whose database has all communities and
// three reports: Буча's indicator 1 at 50 % with a comment and evidence,
// its indicator 11 "так", and Ірпінь's indicator 5 at 20,5 %.
func reported(t *testing.T) *cli {
	c := newEmptyCLI(t)
	copyFile(t, withReports, c.db)
	return c
}

func TestExport(t *testing.T) {
	c := reported(t)

	t.Run("CSVValuesOK", func(t *testing.T) {
		rows, err := csv.NewReader(strings.NewReader(c.mustRun("export"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 4 || strings.Join(rows[0][:3], ",") != "community,community_id,community_name" {
			t.Fatalf("values table: %v", rows)
		}
		byIndicator := map[string][]string{}
		for _, r := range rows[1:] {
			byIndicator[r[4]] = r
		}
		// community, …, value (7), completion (8), comment (9), evidence (10).
		if r := byIndicator["1"]; r[2] != "Бучанська" || r[7] != "50" || r[8] != "0.5" || r[9] != "Аудит даних, етап 1" || r[10] != "https://example.org/audit" {
			t.Errorf("indicator 1 row: %v", r)
		}
		if r := byIndicator["11"]; r[7] != "yes" || r[8] != "1" {
			t.Errorf("indicator 11 row: %v", r)
		}
		if r := byIndicator["5"]; r[2] != "Ірпінська" || r[7] != "20.5" {
			t.Errorf("indicator 5 row: %v", r)
		}
	})

	t.Run("CSVScoresOK", func(t *testing.T) {
		rows, err := csv.NewReader(strings.NewReader(c.mustRun("export", "--table", "scores", "--year", "2026"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1470 {
			t.Fatalf("%d rows, want a header and 1469 communities", len(rows))
		}
		// Буча: (0.5 + 1) / 23 → 6.52; Ірпінь: 0.205 / 23 → 0.89.
		if got := strings.Join(rows[1][2:8], ","); got != "Бучанська,Київська,2026,6.52,7.67,1" {
			t.Errorf("first place: %s", got)
		}
		if got := strings.Join(rows[2][2:8], ","); got != "Ірпінська,Київська,2026,0.89,1.05,2" {
			t.Errorf("second place: %s", got)
		}
	})

	t.Run("JSONOK", func(t *testing.T) {
		var doc struct {
			Year        int              `json:"year"`
			Communities []map[string]any `json:"communities"`
			Indicators  []map[string]any `json:"indicators"`
			Values      []map[string]any `json:"values"`
			Scores      []map[string]any `json:"scores"`
		}
		if err := json.Unmarshal([]byte(c.mustRun("export", "--format", "json", "--year", "2026")), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Year != 2026 || len(doc.Communities) != 1469 || len(doc.Indicators) != 23 || len(doc.Values) != 3 || len(doc.Scores) != 1469 {
			t.Fatalf("year %d, %d communities, %d indicators, %d values, %d scores",
				doc.Year, len(doc.Communities), len(doc.Indicators), len(doc.Values), len(doc.Scores))
		}
		if ind := doc.Indicators[17]; ind["indicator"] != 18.0 || ind["2025"] != 88.6 || ind["2027"] != "-" {
			t.Errorf("indicator 18: %v", ind)
		}
		if s := doc.Scores[0]; s["community_name"] != "Бучанська" || s["rank"] != 1.0 || s["of"] != 1469.0 {
			t.Errorf("first score: %v", s)
		}
	})

	t.Run("XLSXOK", func(t *testing.T) {
		out := c.path("open.xlsx")
		_, stderr, code := c.run("export", "--out", out)
		if code != 0 || !strings.Contains(stderr, "3 current values") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		f, err := excelize.OpenFile(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if got := strings.Join(f.GetSheetList(), ","); got != "communities,indicators,values,scores" {
			t.Errorf("sheets %s", got)
		}
		rows, err := f.GetRows("values")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 4 {
			t.Errorf("values sheet has %d rows, want 4", len(rows))
		}
	})

	bad := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ErrXLSXToStdout", []string{"--format", "xlsx"}, 2, "--out: xlsx is a binary file"},
		{"ErrTableWithJSON", []string{"--format", "json", "--table", "scores"}, 2, "--table: json holds every table"},
		{"ErrTableUnknown", []string{"--table", "users"}, 1, `--table: table "users" is not one of communities, indicators, values, scores`},
		{"ErrFormatUnknown", []string{"--format", "pdf"}, 1, `--format: format "pdf" is not one of csv, json, xlsx`},
		{"ErrOutDirectoryMissing", []string{"--out", "/nonexistent/dir/open.csv"}, 1, "--out: create /nonexistent/dir/open.csv"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := c.run(append([]string{"export"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.want) || stdout != "" {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

// history returns every stored report, oldest first, without the fields
// that differ between databases.
func history(t *testing.T, c *cli) []hromadabot.Report {
	rs, err := c.open().Reports(context.Background(), hromadabot.ReportFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rs {
		rs[i].ID, rs[i].Source, rs[i].DedupKey, rs[i].ReporterID = 0, "", "", 0
		rs[i].CreatedAt = rs[i].CreatedAt.Truncate(1e9)
	}
	return rs
}

func TestImportRoundTrip(t *testing.T) {
	for _, format := range []string{"csv", "xlsx"} {
		t.Run(strings.ToUpper(format)+"OK", func(t *testing.T) {
			from := reported(t)
			file := from.path("open." + format)
			from.mustRun("export", "--out", file)

			to := newCLI(t)
			out := to.mustRun("import", file)
			if !strings.Contains(out, "3 reports for 2 communities") {
				t.Errorf("import output %q", out)
			}
			for _, ref := range []string{"Буча", "Ірпінь"} {
				if got, want := to.latest(ref), from.latest(ref); !reflect.DeepEqual(got, want) {
					t.Errorf("%s: imported values %v, exported %v", ref, got, want)
				}
			}
			// Comments, evidence and report times come along.
			if got, want := history(t, to), history(t, from); !reflect.DeepEqual(got, want) {
				t.Errorf("imported reports\n%+v\nexported\n%+v", got, want)
			}
			// The same file imported again stores nothing twice.
			to.unchanged(func() { to.mustRun("import", file) })
		})
	}
}

func TestImportReports(t *testing.T) {
	t.Run("CommunityFlagOK", func(t *testing.T) {
		c := newCLI(t)
		file := c.write("bucha.csv", "indicator;value;comment\n1;55,5;перший етап\n11;так;\n")
		c.mustRun("import", file, "--community", "Буча")
		if got := c.latest("Буча"); len(got) != 2 || got[1] != 55.5 || got[11] != 1 {
			t.Errorf("values %v", got)
		}
	})

	t.Run("UkrainianHeaderOK", func(t *testing.T) {
		c := newCLI(t)
		file := c.write("звіт.csv", "\uFEFFГромада,Індикатор,Значення,Коментар\nБуча,2,40%,\"Петиції, звернення\"\n\nІрпінь,2,ні%,\n")
		_, stderr, code := c.run("import", file)
		// The last row is wrong on purpose: the error names it, counting the blank line.
		if want := `import ` + file + `: row 4, column value: "ні%" is not a number from 0 to 100`; code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr %q; want %q", code, stderr, want)
		}
		c.write("звіт.csv", "\uFEFFГромада,Індикатор,Значення,Коментар\nБуча,2,40%,\"Петиції, звернення\"\n\nІрпінь,2,0,\n")
		c.mustRun("import", file)
		if got := c.latest("Буча"); got[2] != 40 {
			t.Errorf("values %v", got)
		}
	})

	csvHeader := "community,indicator,value,comment,evidence\n"
	bad := []struct {
		name    string
		file    string
		content string
		args    []string
		code    int
		want    string
	}{
		{"ErrValueNotNumber", "reports.csv", csvHeader + "Буча,1,50,,\nБуча,2,abc,,\n", nil, 1,
			`hromadabot: import FILE: row 3, column value: "abc" is not a number from 0 to 100`},
		{"ErrValueOutOfRange", "reports.csv", csvHeader + "Буча,1,101,,\n", nil, 1,
			"row 2, column value: 101 is out of range: a percentage must be from 0 to 100"},
		{"ErrValueNegative", "reports.csv", csvHeader + "Буча,1,-1,,\n", nil, 1,
			"row 2, column value: -1 is out of range"},
		{"ErrYesNoForPercent", "reports.csv", csvHeader + "Буча,1,так,,\n", nil, 1,
			`row 2, column value: "так" is yes/no, but this indicator takes a percentage from 0 to 100`},
		{"ErrNumberForYesNo", "reports.csv", csvHeader + "Буча,11,1,,\n", nil, 1,
			`row 2, column value: "1" is a number, but this indicator takes yes or no`},
		{"ErrValueEmpty", "reports.csv", csvHeader + "Буча,1,,,\n", nil, 1,
			"row 2, column value: the cell is empty"},
		{"ErrCommunityNotFound", "reports.csv", csvHeader + "Буча,1,5,,\nАтлантида,1,5,,\n", nil, 1,
			`row 3, column community: no community matches "Атлантида"`},
		{"ErrCommunityAmbiguous", "reports.csv", csvHeader + "Миколаївська,1,5,,\n", nil, 1,
			`row 2, column community: "Миколаївська" matches 8 communities`},
		{"ErrCommunityOther", "reports.csv", csvHeader + "Ірпінь,1,5,,\n", []string{"--community", "Буча"}, 1,
			"row 2, column community: Ірпінська (Київська обл.) is not Бучанська (Київська обл.), the community the import is for"},
		{"ErrCommunityColumnMissing", "reports.csv", "indicator,value\n1,5\n", nil, 1,
			"row 1, column community: the column is missing"},
		{"ErrIndicatorNotFound", "reports.csv", csvHeader + "Буча,24,5,,\n", nil, 1,
			"row 2, column indicator: indicator 24 is not in the plan (1..23)"},
		{"ErrIndicatorNotNumber", "reports.csv", csvHeader + "Буча,перший,5,,\n", nil, 1,
			`row 2, column indicator: "перший" is not an indicator number (1..23)`},
		{"ErrCommentTooLong", "reports.csv", csvHeader + "Буча,1,5," + strings.Repeat("я", 1001) + ",\n", nil, 1,
			"row 2, column comment: comment is longer than 1000 characters"},
		{"ErrReportedInFuture", "reports.csv", "community,indicator,value,reported_at\nБуча,1,5,2999-01-01\n", nil, 1,
			"row 2, column reported_at: 2999-01-01 is in the future"},
		{"ErrUnknownColumn", "reports.csv", "community,indicator,value,notes\nБуча,1,5,x\n", nil, 1,
			"row 1, column notes: unknown column in a reports file"},
		{"ErrDuplicateColumn", "reports.csv", "community,indicator,value,value\nБуча,1,5,6\n", nil, 1,
			"row 1, column value: the column appears twice"},
		{"ErrHeaderUnknown", "reports.csv", "a,b,c\n1,2,3\n", nil, 1,
			"row 1: the header is neither reports"},
		{"ErrMalformedCSV", "reports.csv", csvHeader + "Буча,1,5,\"unterminated\n", nil, 1,
			"row 2: malformed CSV"},
		{"ErrEmptyFile", "reports.csv", "", nil, 1, "file is empty"},
		{"ErrHeaderOnly", "reports.csv", csvHeader, nil, 1, "the file has a header but no reports"},
		{"ErrExtension", "reports.txt", csvHeader + "Буча,1,5,,\n", nil, 1, "file name must end in .csv or .xlsx"},
		{"ErrNotXLSX", "reports.xlsx", csvHeader + "Буча,1,5,,\n", nil, 1, "not a readable XLSX workbook"},
		{"ErrPlanWithoutCommunity", "plan.csv", "indicator,year,target\n1,2025,50\n", nil, 1,
			"a plan file is one community's: name it with --community"},
		{"ErrPlanSharesOver100", "plan.csv", "indicator,year,target\n1,2025,50\n1,2026,60\n", []string{"--community", "Буча"}, 1,
			"row 3, column indicator: the yearly shares of indicator 1 add up to 110, more than 100"},
		{"ErrPlanYear", "plan.csv", "indicator,year,target\n1,наступний,50\n", []string{"--community", "Буча"}, 1,
			`row 2, column year: "наступний" is not a year`},
		{"ErrPlanTargetNotNumber", "plan.csv", "indicator,year,target\n1,2025,половина\n", []string{"--community", "Буча"}, 1,
			`row 2, column target: "половина" is not a number from 0 to 100`},
		{"ErrPlanYesNoTarget", "plan.csv", "indicator,2025,2026\n11,так,50\n", []string{"--community", "Буча"}, 1,
			`row 2, column 2026: "50" is a number, but this indicator takes yes or no`},
		{"ErrPlanSecondTarget", "plan.csv", "indicator,year,target\n1,2025,50\n1,2025,40\n", []string{"--community", "Буча"}, 1,
			"row 3, column target: indicator 1 has a second target for 2025"},
		{"ErrPlanIndicatorTwice", "plan.csv", "indicator,2025,2026\n1,50,50\n1,40,60\n", []string{"--community", "Буча"}, 1,
			"row 3, column indicator: indicator 1 appears twice"},
		{"ErrNoFile", "", "", nil, 2, "import: name one FILE"},
		{"ErrFileMissing", "", "", []string{"missing.csv"}, 1, "missing.csv: no such file or directory"},
		{"ErrCommunityFlagUnknown", "reports.csv", csvHeader + "Буча,1,5,,\n", []string{"--community", "Атлантида"}, 1,
			`hromadabot: --community: no community matches "Атлантида"`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := reported(t)
			args := []string{"import"}
			if tt.file != "" {
				args = append(args, c.write(tt.file, tt.content))
			}
			args = append(args, tt.args...)
			c.unchanged(func() {
				stdout, stderr, code := c.run(args...)
				want := tt.want
				if tt.file != "" {
					want = strings.ReplaceAll(want, "FILE", c.path(tt.file))
				}
				if code != tt.code || !strings.Contains(stderr, want) || stdout != "" {
					t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout, stderr, tt.code, want)
				}
				if strings.Count(stderr, "\n") != 1 {
					t.Errorf("the error is not one line: %q", stderr)
				}
			})
		})
	}
}

// writeXLSX writes a one-sheet workbook.
func writeXLSX(t *testing.T, path string, rows [][]any) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

func TestImportXLSX(t *testing.T) {
	t.Run("ReportsOK", func(t *testing.T) {
		c := newCLI(t)
		file := c.path("reports.xlsx")
		writeXLSX(t, file, [][]any{
			{"community", "indicator", "value", "comment"},
			{"Буча", 3, 30, "брендбук"},
			{"UA32080070000050759", 11, "Так", nil},
		})
		c.mustRun("import", file)
		if got := c.latest("Буча"); len(got) != 2 || got[3] != 30 || got[11] != 1 {
			t.Errorf("values %v", got)
		}
	})

	t.Run("ErrBadRow", func(t *testing.T) {
		c := reported(t)
		file := c.path("reports.xlsx")
		writeXLSX(t, file, [][]any{
			{"community", "indicator", "value"},
			{"Буча", 3, 30},
			{"Буча", 4, 40},
			{"Буча", 5, 140},
		})
		c.unchanged(func() {
			_, stderr, code := c.run("import", file)
			if want := "import " + file + ": row 4, column value: 140 is out of range"; code != 1 || !strings.Contains(stderr, want) {
				t.Errorf("exit %d, stderr %q; want %q", code, stderr, want)
			}
		})
	})

	t.Run("PlanWideOK", func(t *testing.T) {
		c := newCLI(t)
		file := c.path("plan.xlsx")
		writeXLSX(t, file, [][]any{
			{"№", "title", "2025", "2026", "2027"},
			{1, "Аналіз даних", 50, 50, "-"},
			{11, "Геопортал", "ні", "так", "так"},
		})
		out := c.mustRun("import", file, "--community", "Буча")
		if !strings.Contains(out, "own targets of 2 indicators for Бучанська (Київська обл.)") {
			t.Errorf("output %q", out)
		}
		plan, err := c.open().Plan(context.Background(), c.communityID("Буча"))
		if err != nil {
			t.Fatal(err)
		}
		one, _ := plan.Indicator(1)
		eleven, _ := plan.Indicator(11)
		two, _ := plan.Indicator(2)
		if !reflect.DeepEqual(one.Targets, hromadabot.Targets{2025: 50, 2026: 50}) ||
			!reflect.DeepEqual(eleven.Targets, hromadabot.Targets{2025: 0, 2026: 1, 2027: 1}) ||
			!reflect.DeepEqual(two.Targets, hromadabot.DefaultPlan().Indicators[1].Targets) {
			t.Errorf("targets: 1 %v, 11 %v, 2 %v", one.Targets, eleven.Targets, two.Targets)
		}
		// The community's own targets count: half of indicator 1 is due in 2025.
		var s scoreOutput
		if err := json.Unmarshal([]byte(c.mustRun("score", "--community", "Буча", "--year", "2025", "--json")), &s); err != nil {
			t.Fatal(err)
		}
		if !near(s.Indicators[0].Target, 0.5) || s.Indicators[10].Target != 0 {
			t.Errorf("targets in 2025: %v, %v", s.Indicators[0].Target, s.Indicators[10].Target)
		}
	})

	t.Run("PlanRoundTripOK", func(t *testing.T) {
		c := newCLI(t)
		file := c.path("indicators.csv")
		if err := os.WriteFile(file, []byte(c.mustRun("export", "--table", "indicators")), 0o600); err != nil {
			t.Fatal(err)
		}
		out := c.mustRun("import", file, "--community", "Буча")
		if !strings.Contains(out, "own targets of 23 indicators") {
			t.Errorf("output %q", out)
		}
		plan, err := c.open().Plan(context.Background(), c.communityID("Буча"))
		if err != nil {
			t.Fatal(err)
		}
		for i, ind := range hromadabot.DefaultPlan().Indicators {
			if !reflect.DeepEqual(plan.Indicators[i].Targets, ind.Targets) {
				t.Errorf("indicator %d: %v, want %v", ind.ID, plan.Indicators[i].Targets, ind.Targets)
			}
		}
	})
}
