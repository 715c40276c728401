package opendata_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/opendata"
	"github.com/hromadabot/hromadabot/storage/sqldb"
	"github.com/hromadabot/hromadabot/storage/sqlite"
)

// importDB is a real database with every community of Ukraine, opened
// once per fuzz target (and per fuzzing worker): names then resolve, and
// fail to, as they do in production.
func importDB(f *testing.F) (*sqldb.DB, *hromadabot.Community) {
	f.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "hromada.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	all, err := hromadabot.Hromadas()
	if err != nil {
		f.Fatal(err)
	}
	if _, err := db.LoadHromadas(ctx, all, "cli"); err != nil {
		f.Fatal(err)
	}
	c, err := db.FindCommunity(ctx, "UA32080070000050759") // Бучанська
	if err != nil {
		f.Fatal(err)
	}
	return db, c
}

// rowlessReasons are the errors about a whole file rather than a row.
var rowlessReasons = map[string]bool{
	"import_format": true, "import_too_large": true, "import_xlsx": true,
	"import_empty": true, "community_required": true,
}

var rowPrefix = regexp.MustCompile(`^row ([0-9]+)(, column ("(?:[^"\\]|\\.)*"|[^:"]+))?: `)

// checkImport reads, parses and stores a file as `hromadabot import` does
// and checks the promises of an import: a bad file is refused with an
// EINVALID error naming the row (and the column when it is about a cell)
// and stores nothing; a file the parser accepts is stored whole.
func checkImport(t *testing.T, db *sqldb.DB, name string, data []byte, community *hromadabot.Community) {
	ctx := context.Background()
	before, err := db.AuditLog(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	refused := func(stage string, err error) {
		t.Helper()
		var e *hromadabot.Error
		msg := hromadabot.ErrorMessage(err)
		if hromadabot.ErrorCode(err) != hromadabot.EINVALID || !errors.As(err, &e) {
			t.Fatalf("%s: %v (code %s), want an EINVALID *hromadabot.Error", stage, err, hromadabot.ErrorCode(err))
		}
		if strings.ContainsAny(msg, "\r\n") && !bytes.ContainsAny(data, "\r\n") {
			t.Fatalf("%s: message %q spans lines", stage, msg)
		}
		if m := rowPrefix.FindStringSubmatch(msg); m != nil {
			row, _ := strconv.Atoi(m[1])
			if row < 1 || (strings.HasSuffix(name, ".csv") && row > bytes.Count(data, []byte("\n"))+1) {
				t.Fatalf("%s: %q names row %d of a file of %d lines", stage, msg, row, bytes.Count(data, []byte("\n"))+1)
			}
			if uq, err := strconv.Unquote(m[3]); err == nil {
				m[3] = uq
			}
			if e.Field != "" && m[3] != e.Field && m[3] != "" {
				t.Fatalf("%s: %q names column %q, the error's field is %q", stage, msg, m[3], e.Field)
			}
		} else if !rowlessReasons[e.Reason] {
			t.Fatalf("%s: %q (reason %s) names no row", stage, msg, e.Reason)
		}
		after, err := db.AuditLog(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before) || (len(after) > 0 && after[0].ID != before[0].ID) {
			t.Fatalf("%s: a refused file changed the database", stage)
		}
	}

	sheet, err := opendata.ReadSheet(name, bytes.NewReader(data))
	if err != nil {
		refused("read", err)
		return
	}
	im, err := opendata.Parse(ctx, sheet, db, community)
	if err != nil {
		refused("parse", err)
		return
	}
	switch im.Layout {
	case opendata.LayoutPlan:
		err = db.SetCommunityTargets(ctx, im.Community.ID, im.Targets, "cli")
	default:
		err = db.CreateReports(ctx, im.Reports, "cli")
	}
	if err != nil {
		t.Fatalf("the parser accepted a %s file the database refuses: %v", im.Layout, err)
	}
}

// fuzzImport runs checkImport on the fuzzer's files as the named file,
// with or without the community of every row given.
func fuzzImport(f *testing.F, name string) {
	db, c := importDB(f)
	f.Fuzz(func(t *testing.T, data []byte, forCommunity bool) {
		var community *hromadabot.Community
		if forCommunity {
			community = c
		}
		checkImport(t, db, name, data, community)
	})
}

// FuzzImportCSV feeds arbitrary CSV files through the reader, the parser
// and the database of every community.
func FuzzImportCSV(f *testing.F) { fuzzImport(f, "import.csv") }

// FuzzImportXLSX does the same with workbooks: mostly broken archives,
// which must be refused as such, and changed cells of real ones.
func FuzzImportXLSX(f *testing.F) { fuzzImport(f, "import.xlsx") }
