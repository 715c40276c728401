package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/opendata"
)

// cmdExport writes the open data: communities, indicators, latest values
// and scores for a year.
func cmdExport(ctx context.Context, e *env, args []string) error {
	fs := newFlags("export")
	dbPath := dbFlag(fs, e)
	format := fs.String("format", "", "`FORMAT`: csv, json or xlsx (default: from --out's extension, else csv)")
	table := fs.String("table", opendata.TableValues, "for csv, the `TABLE`: "+strings.Join(opendata.TableNames, ", ")+"; json and xlsx hold all")
	out := fs.String("out", "", "write to `FILE` instead of stdout (required for xlsx)")
	year := yearFlag(fs)
	if err := noArgs(e, fs, args); err != nil {
		return err
	}
	if err := checkYear(*year); err != nil {
		return err
	}
	f, err := exportFormat(*format, *out)
	if err != nil {
		return err
	}
	tableSet := false
	fs.Visit(func(fl *flag.Flag) { tableSet = tableSet || fl.Name == "table" })
	if tableSet && f != opendata.CSV {
		return usagef("--table: %s holds every table; --table is for csv", f)
	}

	db, err := openDB(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := opendata.Assemble(ctx, db, *year, time.Now())
	if err != nil {
		return err
	}
	var t opendata.Table
	if f == opendata.CSV {
		if t, err = d.Table(*table); err != nil {
			return onFlag("--table", err)
		}
	}
	write := func(w io.Writer) error {
		switch f {
		case opendata.CSV:
			return opendata.WriteCSV(w, t)
		case opendata.JSON:
			return opendata.WriteJSON(w, d)
		}
		return opendata.WriteXLSX(w, d)
	}
	if *out == "" {
		return write(e.stdout)
	}
	if err := writeFileAtomic(*out, write); err != nil {
		return onFlag("--out", err)
	}
	fmt.Fprintf(e.stderr, "Wrote %s: %d communities, %d current values, scores of %d.\n", *out, len(d.Communities), len(d.Latest), *year)
	return nil
}

// exportFormat decides the format from --format and --out.
func exportFormat(format, out string) (opendata.Format, error) {
	if format == "" {
		format = string(opendata.FormatOf(out))
		if format == "" {
			format = string(opendata.CSV)
		}
	}
	f, err := opendata.ParseFormat(format)
	if err != nil {
		return "", onFlag("--format", err)
	}
	if f == opendata.XLSX && out == "" {
		return "", usagef("--out: xlsx is a binary file: name it with --out FILE.xlsx")
	}
	return f, nil
}

// writeFileAtomic writes through a temporary file renamed into place, so
// that a failed export never leaves half a file behind.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// cmdImport stores the reports, or a community's own plan, of a CSV or XLSX
// file: every row is checked first, and nothing is stored unless all are good.
func cmdImport(ctx context.Context, e *env, args []string) error {
	fs := newFlags("import")
	dbPath := dbFlag(fs, e)
	ref := fs.String("community", "", "the community every row is about: its `ID_OR_NAME` or KATOTTG code (required for a plan)")
	pos, err := parseFlags(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("import: name one FILE (.csv or .xlsx) (run 'hromadabot help import')")
	}
	name := pos[0]
	file, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	sheet, err := opendata.ReadSheet(name, file)
	file.Close()
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}

	db, err := openDB(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	var community *hromadabot.Community
	if *ref != "" {
		if community, err = findCommunity(ctx, db, *ref); err != nil {
			return err
		}
	}
	im, err := opendata.Parse(ctx, sheet, db, community)
	if err != nil {
		return fmt.Errorf("import %s: %w", name, err)
	}

	switch im.Layout {
	case opendata.LayoutPlan:
		if err := db.SetCommunityTargets(ctx, im.Community.ID, im.Targets, actorCLI); err != nil {
			return fmt.Errorf("import %s: store plan: %w", name, err)
		}
		fmt.Fprintf(e.stdout, "Imported %s: own targets of %d indicators for %s.\n", name, len(im.Targets), im.Community.Label())
	default:
		if err := db.CreateReports(ctx, im.Reports, actorCLI); err != nil {
			return fmt.Errorf("import %s: store reports: %w", name, err)
		}
		communities := map[int64]bool{}
		for _, r := range im.Reports {
			communities[r.CommunityID] = true
		}
		fmt.Fprintf(e.stdout, "Imported %s: %d reports for %d communities (rows imported before are stored once).\n", name, len(im.Reports), len(communities))
	}
	return nil
}
