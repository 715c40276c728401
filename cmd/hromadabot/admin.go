package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/storage"
)

// actorCLI is the audit log's name for changes made from the shell.
const actorCLI = "cli"

// dbFlag defines --db with its default from DATABASE_URL or DATABASE_PATH.
func dbFlag(fs *flag.FlagSet, e *env) *string {
	return fs.String("db", databaseRef(e.getenv), "the SQLite database `PATH`, or a postgres:// URL (DATABASE_URL or DATABASE_PATH when set)")
}

// yearFlag defines --year, by default the current year in Kyiv.
func yearFlag(fs *flag.FlagSet) *int {
	return fs.Int("year", hromadabot.CurrentYear(time.Now()), "the `YEAR` whose targets the plan fulfilment is measured against")
}

func checkYear(y int) error {
	if y < 2000 || y > 2100 {
		return onFlag("--year", fmt.Errorf("%d is not a year from 2000 to 2100", y))
	}
	return nil
}

// openDB opens (and, on first use, creates and migrates) the database at
// a file path or a URL.
func openDB(ctx context.Context, ref string) (storage.Records, error) {
	db, err := storage.Open(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redactURL(ref), err)
	}
	return db, nil
}

// openCommunity opens the database and resolves --community, for the
// commands about one community; the caller closes the database.
func openCommunity(ctx context.Context, path, ref string) (storage.Records, *hromadabot.Community, error) {
	db, err := openDB(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	c, err := findCommunity(ctx, db, ref)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, c, nil
}

// findCommunity resolves --community: an id, a KATOTTG code or a name.
func findCommunity(ctx context.Context, db storage.Records, ref string) (*hromadabot.Community, error) {
	c, err := db.FindCommunity(ctx, ref)
	if err != nil {
		return nil, onFlag("--community", err)
	}
	return c, nil
}

// onField ties a domain error about a named field to the command's flag of
// that name, so that "--value: …" tells which input was wrong; the flag
// then says all the wrapping context would, so the domain error stands alone.
func onField(fs *flag.FlagSet, err error) error {
	var e *hromadabot.Error
	if errors.As(err, &e) && e.Field != "" && fs.Lookup(e.Field) != nil {
		return onFlag("--"+e.Field, e)
	}
	return err
}

// percent writes a share 0..1 as "66.6%".
func percent(x float64) string {
	return hromadabot.FormatNumber(100*x, 1, hromadabot.LangEN) + "%"
}

// number writes x with one decimal, as the CLI shows indexes.
func number(x float64) string {
	return hromadabot.FormatNumber(x, 1, hromadabot.LangEN)
}

// signed writes a change with its sign: "+2.4", "-0.3", "±0".
func signed(x float64) string {
	s := number(x)
	switch {
	case s == "0":
		return "±0"
	case strings.HasPrefix(s, "-"):
		return s
	}
	return "+" + s
}

// formatValue writes a reported value in the indicator's unit: "55.5%" or "yes".
func formatValue(ind *hromadabot.Indicator, v *float64) string {
	switch {
	case v == nil:
		return "—"
	case ind.Unit == hromadabot.UnitYesNo && *v >= 0.5:
		return "yes"
	case ind.Unit == hromadabot.UnitYesNo:
		return "no"
	}
	return number(*v) + "%"
}
