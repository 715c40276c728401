package opendata

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hromadabot/hromadabot"
)

// Source is what the open data is assembled from: the records, read in a
// fixed number of queries whatever the number of communities.
type Source interface {
	DefaultPlan() hromadabot.Plan
	Communities(ctx context.Context) ([]hromadabot.Community, error)
	LatestReports(ctx context.Context) ([]hromadabot.Report, error)
	Ranking(ctx context.Context, year int) (hromadabot.Ranking, error)
}

// Assemble reads the year's open data: the communities in their listing
// order, the default plan's indicators, the current report of every
// community and indicator that has one (in the communities' order, then the
// plan's) and the ranking. The command line's export and the public site
// both publish what it returns.
func Assemble(ctx context.Context, src Source, year int, now time.Time) (*Dataset, error) {
	d := &Dataset{Year: year, GeneratedAt: now, Indicators: src.DefaultPlan().Indicators}
	var err error
	if d.Communities, err = src.Communities(ctx); err != nil {
		return nil, fmt.Errorf("list communities: %w", err)
	}
	latest, err := src.LatestReports(ctx)
	if err != nil {
		return nil, fmt.Errorf("latest reports: %w", err)
	}
	if d.Scores, err = src.Ranking(ctx, year); err != nil {
		return nil, fmt.Errorf("ranking: %w", err)
	}
	communityOrder := make(map[int64]int, len(d.Communities))
	for i, c := range d.Communities {
		communityOrder[c.ID] = i
	}
	indicatorOrder := make(map[int]int, len(d.Indicators))
	for i, ind := range d.Indicators {
		indicatorOrder[ind.ID] = i
	}
	d.Latest = make([]hromadabot.Report, 0, len(latest))
	for _, r := range latest {
		_, known := communityOrder[r.CommunityID]
		if _, planned := indicatorOrder[r.IndicatorID]; known && planned {
			d.Latest = append(d.Latest, r)
		}
	}
	slices.SortStableFunc(d.Latest, func(a, b hromadabot.Report) int {
		if c := cmp.Compare(communityOrder[a.CommunityID], communityOrder[b.CommunityID]); c != 0 {
			return c
		}
		return cmp.Compare(indicatorOrder[a.IndicatorID], indicatorOrder[b.IndicatorID])
	})
	return d, nil
}
