package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/opendata"
)

// cmdReport stores one progress report, validated as the chat validates it,
// and prints the community's new index.
func cmdReport(ctx context.Context, e *env, args []string) error {
	fs := newFlags("report")
	dbPath := dbFlag(fs, e)
	ref := fs.String("community", "", "the community: its `ID_OR_NAME` or KATOTTG code (required)")
	indicator := fs.String("indicator", "", "the indicator's `NUMBER` in the plan, 1..23 (required)")
	value := fs.String("value", "", "the `VALUE`: a percentage (55, 55,5, 55.5%) or так/ні/yes/no (required)")
	comment := fs.String("comment", "", "a `TEXT` on what was done")
	evidence := fs.String("evidence", "", "a link to evidence (`URL`)")
	if err := noArgs(e, fs, args); err != nil {
		return err
	}
	if err := required(fs, "community", "indicator", "value"); err != nil {
		return err
	}
	db, c, err := openCommunity(ctx, *dbPath, *ref)
	if err != nil {
		return err
	}
	defer db.Close()
	plan, err := db.Plan(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("plan of %s: %w", c.Label(), err)
	}
	ind, err := opendata.ParseIndicator(plan, *indicator)
	if err != nil {
		return onFlag("--indicator", err)
	}
	v, err := hromadabot.ParseValue(ind.Unit, *value)
	if err != nil {
		return onFlag("--value", err)
	}

	year := hromadabot.CurrentYear(time.Now())
	before, err := db.Score(ctx, c.ID, year)
	if err != nil {
		return fmt.Errorf("score of %s: %w", c.Label(), err)
	}
	r := hromadabot.Report{CommunityID: c.ID, IndicatorID: ind.ID, Value: v, Comment: *comment, Evidence: *evidence, Source: hromadabot.SourceCLI}
	old, err := db.CreateReport(ctx, &r, actorCLI)
	if err != nil {
		return onField(fs, fmt.Errorf("store report: %w", err))
	}
	after, err := db.Score(ctx, c.ID, year)
	if err != nil {
		return fmt.Errorf("score of %s: %w", c.Label(), err)
	}

	was := "no earlier report"
	if old != nil {
		was = "was " + formatValue(ind, old)
	}
	fmt.Fprintf(e.stdout, "Stored report %d for %s, indicator %d «%s»: %s (%s).\n",
		r.ID, c.Label(), ind.ID, ind.Short.UK, formatValue(ind, &r.Value), was)
	fmt.Fprintf(e.stdout, "Digital index %s (%s), plan fulfilment %s%% (%s) in %d.\n",
		number(after.Index), signed(after.Index-before.Index),
		number(after.PlanFulfillment), signed(after.PlanFulfillment-before.PlanFulfillment), year)
	return nil
}
