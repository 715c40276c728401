package sqldb

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hromadabot/hromadabot"
)

const (
	sqlCountIndicators = `SELECT COUNT(*) FROM indicators`

	sqlInsertIndicator = `
INSERT INTO indicators (id, position, short_uk, short_en, title_uk, title_en, description_uk, description_en, unit, baseline, weight)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

	sqlInsertIndicatorTarget = `INSERT INTO indicator_targets (indicator_id, year, value) VALUES (?, ?, ?)`

	sqlSelectIndicators = `
SELECT id, short_uk, short_en, title_uk, title_en, description_uk, description_en, unit, baseline, weight
FROM indicators
ORDER BY position, id`

	sqlSelectIndicatorTargets = `SELECT indicator_id, year, value FROM indicator_targets`

	sqlSelectCommunityTargets = `
SELECT indicator_id, year, value FROM community_targets WHERE community_id = ?`

	sqlSelectAllCommunityTargets = `
SELECT community_id, indicator_id, year, value FROM community_targets`

	sqlDeleteCommunityTargets = `
DELETE FROM community_targets WHERE community_id = ? AND indicator_id = ?`

	sqlInsertCommunityTarget = `
INSERT INTO community_targets (community_id, indicator_id, year, value) VALUES (?, ?, ?, ?)`
)

// indicatorRow is a row of the indicators table.
type indicatorRow struct {
	ID            int             `db:"id"`
	ShortUK       string          `db:"short_uk"`
	ShortEN       string          `db:"short_en"`
	TitleUK       string          `db:"title_uk"`
	TitleEN       string          `db:"title_en"`
	DescriptionUK string          `db:"description_uk"`
	DescriptionEN string          `db:"description_en"`
	Unit          hromadabot.Unit `db:"unit"`
	Baseline      float64         `db:"baseline"`
	Weight        float64         `db:"weight"`
}

// targetRow is one year's target of an indicator, of the default plan or of
// a community (CommunityID 0 for the default).
type targetRow struct {
	CommunityID int64   `db:"community_id"`
	IndicatorID int     `db:"indicator_id"`
	Year        int     `db:"year"`
	Value       float64 `db:"value"`
}

// seedPlan stores hromadabot.DefaultPlan in a database that has no
// indicators yet.
func seedPlan(ctx context.Context, tx *txn) error {
	var n int
	if err := tx.GetContext(ctx, &n, sqlCountIndicators); err != nil {
		return fmt.Errorf("count indicators: %w", err)
	}
	if n > 0 {
		return nil
	}
	plan := hromadabot.DefaultPlan()
	if err := plan.Validate(); err != nil {
		return fmt.Errorf("default plan: %w", err)
	}
	for i, ind := range plan.Indicators {
		if _, err := tx.ExecContext(ctx, sqlInsertIndicator,
			ind.ID, i+1, ind.Short.UK, ind.Short.EN, ind.Title.UK, ind.Title.EN,
			ind.Description.UK, ind.Description.EN, ind.Unit, ind.Baseline, ind.Weight,
		); err != nil {
			return fmt.Errorf("insert indicator %d: %w", ind.ID, err)
		}
		for _, y := range ind.Targets.Years() {
			if _, err := tx.ExecContext(ctx, sqlInsertIndicatorTarget, ind.ID, y, ind.Targets[y]); err != nil {
				return fmt.Errorf("insert indicator %d target: %w", ind.ID, err)
			}
		}
	}
	return insertAudit(ctx, tx, hromadabot.AuditEntry{
		Actor: "system", Action: "plan.seed", Entity: "plan",
		NewValue: fmt.Sprintf("default plan, %d indicators", len(plan.Indicators)),
	})
}

// loadDefaultPlan reads the default plan from the indicators tables.
func loadDefaultPlan(ctx context.Context, tx *txn) (hromadabot.Plan, error) {
	var rows []indicatorRow
	if err := tx.SelectContext(ctx, &rows, sqlSelectIndicators); err != nil {
		return hromadabot.Plan{}, fmt.Errorf("select indicators: %w", err)
	}
	var targets []targetRow
	if err := tx.SelectContext(ctx, &targets, sqlSelectIndicatorTargets); err != nil {
		return hromadabot.Plan{}, fmt.Errorf("select indicator targets: %w", err)
	}
	byID := make(map[int]hromadabot.Targets, len(rows))
	for _, t := range targets {
		if byID[t.IndicatorID] == nil {
			byID[t.IndicatorID] = hromadabot.Targets{}
		}
		byID[t.IndicatorID][t.Year] = t.Value
	}
	plan := hromadabot.Plan{Indicators: make([]hromadabot.Indicator, 0, len(rows))}
	for _, r := range rows {
		t := byID[r.ID]
		if t == nil {
			t = hromadabot.Targets{}
		}
		plan.Indicators = append(plan.Indicators, hromadabot.Indicator{
			ID:          r.ID,
			Short:       hromadabot.Text{UK: r.ShortUK, EN: r.ShortEN},
			Title:       hromadabot.Text{UK: r.TitleUK, EN: r.TitleEN},
			Description: hromadabot.Text{UK: r.DescriptionUK, EN: r.DescriptionEN},
			Unit:        r.Unit,
			Baseline:    r.Baseline,
			Targets:     t,
			Weight:      r.Weight,
		})
	}
	if err := plan.Validate(); err != nil {
		return hromadabot.Plan{}, fmt.Errorf("stored plan: %w", err)
	}
	return plan, nil
}

// DefaultPlan returns a copy of the default plan as stored: the indicators
// with their titles, units, weights and default targets.
func (db *DB) DefaultPlan() hromadabot.Plan {
	return db.plan.Clone()
}

// Plan returns the default plan with the community's own targets applied.
// It is shared, as every score card asks for it: callers must not modify
// it, and Clone it to make a changed plan.
func (db *DB) Plan(ctx context.Context, communityID int64) (*hromadabot.Plan, error) {
	plan, err := db.directory.plan(ctx, db, communityID)
	if err != nil {
		return nil, db.formatError(err)
	}
	return plan, nil
}

// communityPlan returns the community's plan, ENOTFOUND for an unknown
// community. Without own targets it is the shared default plan itself, which
// the caller must not modify.
func communityPlan(ctx context.Context, tx *txn, communityID int64) (*hromadabot.Plan, error) {
	if err := checkCommunity(ctx, tx, communityID); err != nil {
		return nil, err
	}
	var rows []targetRow
	if err := tx.SelectContext(ctx, &rows, sqlSelectCommunityTargets, communityID); err != nil {
		return nil, fmt.Errorf("select community targets: %w", err)
	}
	if len(rows) == 0 {
		return &tx.db.plan, nil
	}
	plan := tx.db.plan.WithTargets(groupTargets(rows))
	return &plan, nil
}

// groupTargets turns target rows of one community into the map
// Plan.WithTargets takes.
func groupTargets(rows []targetRow) map[int]hromadabot.Targets {
	own := make(map[int]hromadabot.Targets)
	for _, r := range rows {
		if own[r.IndicatorID] == nil {
			own[r.IndicatorID] = hromadabot.Targets{}
		}
		own[r.IndicatorID][r.Year] = r.Value
	}
	return own
}

// maxShareSum is the most a percent indicator's yearly shares may add up to;
// the small excess absorbs decimal shares such as 33,3 + 33,3 + 33,4.
const maxShareSum = 100 + 1e-6

// SetCommunityTargets gives the community its own yearly targets for the
// indicators in own, replacing each one's targets as a whole (a year left out
// is "-", no share that year). An empty Targets returns the indicator to the
// default plan. Indicators not in own keep what they have. Everything is
// validated first and stored in one transaction with an audit row per
// changed indicator.
func (db *DB) SetCommunityTargets(ctx context.Context, communityID int64, own map[int]hromadabot.Targets, actor string) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := setCommunityTargets(ctx, tx, communityID, own, actor); err != nil {
		return db.formatError(err)
	}
	return tx.commit()
}

func setCommunityTargets(ctx context.Context, tx *txn, communityID int64, own map[int]hromadabot.Targets, actor string) error {
	current, err := communityPlan(ctx, tx, communityID)
	if err != nil {
		return err
	}
	ids := slices.Sorted(maps.Keys(own))
	for _, id := range ids {
		if err := validateTargets(&tx.db.plan, id, own[id]); err != nil {
			return err
		}
	}
	for _, id := range ids {
		t := own[id]
		def, _ := tx.db.plan.Indicator(id)
		cur, _ := current.Indicator(id)
		newT := t
		if len(t) == 0 {
			newT = def.Targets
		}
		if maps.Equal(cur.Targets, newT) {
			continue
		}
		if _, err := tx.ExecContext(ctx, sqlDeleteCommunityTargets, communityID, id); err != nil {
			return fmt.Errorf("delete community targets: %w", err)
		}
		for _, y := range t.Years() {
			if _, err := tx.ExecContext(ctx, sqlInsertCommunityTarget, communityID, id, y, t[y]); err != nil {
				return fmt.Errorf("insert community target: %w", err)
			}
		}
		if err := insertAudit(ctx, tx, hromadabot.AuditEntry{
			Actor: actor, Action: "plan.set_targets", Entity: "community_targets",
			EntityID: fmt.Sprintf("%d/%d", communityID, id),
			OldValue: formatTargets(cur.Targets), NewValue: formatTargets(newT),
		}); err != nil {
			return err
		}
	}
	return nil
}

// validateTargets checks own targets of indicator id against the plan.
func validateTargets(plan *hromadabot.Plan, id int, t hromadabot.Targets) error {
	def, ok := plan.Indicator(id)
	if !ok {
		return &hromadabot.Error{Code: hromadabot.ENOTFOUND, Reason: "indicator_not_found", Field: "indicator",
			Message: fmt.Sprintf("indicator %d is not in the plan", id)}
	}
	ind := *def
	ind.Targets = t
	if err := ind.Validate(); err != nil {
		return err
	}
	if ind.Unit == hromadabot.UnitPercent {
		var sum float64
		for _, v := range t {
			sum += v
		}
		if sum > maxShareSum {
			return hromadabot.FieldErrorf("target", "target_invalid",
				"indicator %d: yearly shares add up to %s, more than 100", id, formatValue(sum))
		}
	}
	return nil
}

// formatTargets writes targets for the audit log: "2025=33.3 2026=33.3 2027=33.4".
func formatTargets(t hromadabot.Targets) string {
	if len(t) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(t))
	for _, y := range t.Years() {
		parts = append(parts, fmt.Sprintf("%d=%s", y, formatValue(t[y])))
	}
	return strings.Join(parts, " ")
}
