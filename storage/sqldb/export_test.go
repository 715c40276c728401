package sqldb

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
