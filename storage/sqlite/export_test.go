package sqlite

import (
	"context"

	"github.com/hromadabot/hromadabot"
)

// RankingUncached scores and ranks every community without the ranking
// cache, for the benchmark of the computation itself.
func (db *DB) RankingUncached(ctx context.Context, year int) (hromadabot.Ranking, error) {
	return db.ranking(ctx, year)
}

// WaitBackground waits for the computations callers started and did not
// wait for.
func (db *DB) WaitBackground() { db.background.Wait() }

// SQLSelectValueHistory is ValueHistory's query.
const SQLSelectValueHistory = sqlSelectValueHistory

// EventQueries are the queries run for every event or report, which must
// find their rows through an index whatever the size of the tables.
var EventQueries = map[string]string{
	"ReportByDedupKey": sqlSelectReportByDedupKey,
	"CurrentValue":     sqlSelectCurrentValue,
	"LatestValues":     sqlSelectLatestValues,
	"LastByReporter":   sqlSelectLastByReporter,
	"LatestReport":     sqlSelectLatestReport,
	"User":             sqlSelectUser,
	"UserByPlatform":   sqlSelectUserByPlatform,
	"Changes":          sqlSelectChanges,
}
