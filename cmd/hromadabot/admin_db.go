package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/hromadabot/hromadabot/storage"
)

// cmdDBCopy copies a whole deployment's records into an empty database of
// either engine, and checks every table on both sides afterwards.
func cmdDBCopy(ctx context.Context, e *env, args []string) error {
	fs := newFlags("db copy")
	from := fs.String("from", databaseRef(e.getenv), "the database to copy: a SQLite `PATH_OR_URL` or a postgres:// URL (DATABASE_URL or DATABASE_PATH when set)")
	to := fs.String("to", "", "the empty database to copy into: a postgres:// `URL` or a SQLite path (required)")
	if err := noArgs(e, fs, args); err != nil {
		return err
	}
	if err := required(fs, "to"); err != nil {
		return err
	}
	fromEngine, fromTarget, err := storage.Parse(*from)
	if err != nil {
		return onFlag("--from", err)
	}
	toEngine, toTarget, err := storage.Parse(*to)
	if err != nil {
		return onFlag("--to", err)
	}
	if fromEngine == toEngine && fromTarget == toTarget {
		return onFlag("--to", errors.New("is the database to copy from"))
	}
	// Opening a SQLite path creates the file: a mistyped source would be
	// copied as an empty database.
	if fromEngine == storage.EngineSQLite {
		if _, err := os.Stat(fromTarget); err != nil {
			return onFlag("--from", fmt.Errorf("%s: no such database file", fromTarget))
		}
	}
	src, err := openDB(ctx, *from)
	if err != nil {
		return onFlag("--from", err)
	}
	defer src.Close()
	dst, err := openDB(ctx, *to)
	if err != nil {
		return onFlag("--to", err)
	}
	defer dst.Close()

	report, err := storage.Copy(ctx, src, dst)
	if err != nil {
		return onFlag("--to", err)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "TABLE\tROWS\tSHA-256 (BOTH SIDES)")
	var rows int64
	for _, t := range report.Tables {
		fmt.Fprintf(w, "%s\t%d\t%s\n", t.Table, t.Rows, t.Checksum)
		rows += t.Rows
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Copied %d rows of %d tables from %s to %s in %s; counts and checksums agree.\n",
		rows, len(report.Tables), redactURL(*from), redactURL(*to), report.Elapsed.Round(time.Millisecond))
	return nil
}
