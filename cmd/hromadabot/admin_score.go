package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/hromadabot/hromadabot"
)

// scoreJSON is the score command's JSON: the community's standing and each
// indicator's, as the methodology (docs/methodology.md) defines them.
type scoreJSON struct {
	Community       string          `json:"community"`
	CommunityID     int64           `json:"community_id"`
	Oblast          string          `json:"oblast,omitempty"`
	Code            string          `json:"katottg,omitempty"`
	Year            int             `json:"year"`
	Index           float64         `json:"index"`
	PlanFulfillment float64         `json:"plan_fulfillment"`
	Rank            int             `json:"rank"`
	Of              int             `json:"of"`
	Indicators      []indicatorJSON `json:"indicators"`
}

type indicatorJSON struct {
	ID         int               `json:"id"`
	Title      string            `json:"title"`
	Short      string            `json:"short"`
	Unit       hromadabot.Unit   `json:"unit"`
	Value      *float64          `json:"value"`
	Completion float64           `json:"completion"`
	Target     float64           `json:"target"`
	Status     hromadabot.Status `json:"status"`
	Weight     float64           `json:"weight"`
}

// cmdScore prints a community's digital index, plan fulfilment, rank and
// every indicator's completion against the year's target.
func cmdScore(ctx context.Context, e *env, args []string) error {
	fs := newFlags("score")
	dbPath := dbFlag(fs, e)
	ref := fs.String("community", "", "the community: its `ID_OR_NAME` or KATOTTG code (required)")
	year := yearFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := noArgs(e, fs, args); err != nil {
		return err
	}
	if err := required(fs, "community"); err != nil {
		return err
	}
	if err := checkYear(*year); err != nil {
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
	score, err := db.Score(ctx, c.ID, *year)
	if err != nil {
		return fmt.Errorf("score of %s: %w", c.Label(), err)
	}
	ranking, err := db.Ranking(ctx, *year)
	if err != nil {
		return fmt.Errorf("ranking: %w", err)
	}
	entry, _ := ranking.Find(c.ID)

	out := scoreJSON{Community: c.Name, CommunityID: c.ID, Oblast: c.Oblast, Code: c.Code, Year: score.Year,
		Index: score.Index, PlanFulfillment: score.PlanFulfillment, Rank: entry.Rank, Of: len(ranking),
		Indicators: make([]indicatorJSON, 0, len(score.Indicators))}
	for _, is := range score.Indicators {
		ind, ok := plan.Indicator(is.ID)
		if !ok {
			continue
		}
		out.Indicators = append(out.Indicators, indicatorJSON{ID: is.ID, Title: ind.Title.UK, Short: ind.Short.UK, Unit: ind.Unit,
			Value: is.Value, Completion: is.Completion, Target: is.Target, Status: is.Status, Weight: is.Weight})
	}
	if *asJSON {
		return writeJSON(e.stdout, out)
	}

	fmt.Fprintf(e.stdout, "%s, %d\n", c.Label(), score.Year)
	fmt.Fprintf(e.stdout, "Digital index %s · plan fulfilment %s%% · rank %d of %d\n", number(score.Index), number(score.PlanFulfillment), entry.Rank, len(ranking))
	fmt.Fprintf(e.stdout, "Done %d · on track %d · behind %d · not started %d\n\n",
		score.Count(hromadabot.StatusDone), score.Count(hromadabot.StatusOnTrack), score.Count(hromadabot.StatusBehind), score.Count(hromadabot.StatusNotStarted))
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "№\tINDICATOR\tVALUE\tCOMPLETION\tTARGET\tSTATUS")
	for _, is := range score.Indicators {
		ind, ok := plan.Indicator(is.ID)
		if !ok {
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", is.ID, ind.Short.UK, formatValue(ind, is.Value), percent(is.Completion), percent(is.Target), is.Status)
	}
	return tw.Flush()
}

// rankingJSON is the ranking command's JSON.
type rankingJSON struct {
	Year    int                    `json:"year"`
	Of      int                    `json:"of"`
	Ranking []hromadabot.RankEntry `json:"ranking"`
}

// cmdRanking prints communities ranked by digital index.
func cmdRanking(ctx context.Context, e *env, args []string) error {
	fs := newFlags("ranking")
	dbPath := dbFlag(fs, e)
	year := yearFlag(fs)
	limit := fs.Int("limit", 0, "print only the first `N` places (0: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := noArgs(e, fs, args); err != nil {
		return err
	}
	if err := checkYear(*year); err != nil {
		return err
	}
	if *limit < 0 {
		return onFlag("--limit", fmt.Errorf("%d is negative: give a number of places, or 0 for all", *limit))
	}
	db, err := openDB(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	ranking, err := db.Ranking(ctx, *year)
	if err != nil {
		return fmt.Errorf("ranking: %w", err)
	}
	shown := ranking
	if *limit > 0 && *limit < len(shown) {
		shown = shown[:*limit]
	}
	if *asJSON {
		return writeJSON(e.stdout, rankingJSON{Year: *year, Of: len(ranking), Ranking: shown})
	}
	if len(ranking) == 0 {
		fmt.Fprintln(e.stderr, "No communities yet: load all of Ukraine's with 'hromadabot community load'.")
		return nil
	}
	fmt.Fprintf(e.stdout, "Ranking by digital index, %d (%d communities)\n\n", *year, len(ranking))
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tCOMMUNITY\tINDEX\tPLAN FULFILMENT")
	for _, r := range shown {
		c := hromadabot.Community{Name: r.Name, Oblast: r.Oblast}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s%%\n", r.Rank, c.Label(), number(r.Index), number(r.PlanFulfillment))
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
