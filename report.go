package hromadabot

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sources a report can come from.
const (
	SourceTelegram = "telegram"
	SourceViber    = "viber"
	SourceConsole  = "console"
	SourceCLI      = "cli"
	SourceImport   = "import"
)

// Report is one progress report on one indicator of one community. Reports
// are append-only: the latest one (not retracted) is the indicator's value.
type Report struct {
	ID          int64   `json:"id" db:"id"`
	CommunityID int64   `json:"community_id" db:"community_id"`
	IndicatorID int     `json:"indicator" db:"indicator_id"`
	Value       float64 `json:"value" db:"value"`
	Comment     string  `json:"comment,omitempty" db:"comment"`
	// Evidence is a link or a file reference ("telegram:file:<id>").
	Evidence string `json:"evidence,omitempty" db:"evidence"`
	// ReporterID is the reporting user's id; 0 for the CLI and imports.
	ReporterID int64     `json:"reporter_id,omitempty" db:"reporter_id"`
	Source     string    `json:"source" db:"source"`
	CreatedAt  time.Time `json:"created_at" db:"created_at"`
	// DedupKey makes a retried delivery of the same update store nothing
	// twice ("telegram:update:123"); empty when there is nothing to dedupe.
	DedupKey    string     `json:"-" db:"dedup_key"`
	RetractedAt *time.Time `json:"retracted_at,omitempty" db:"retracted_at"`
}

// ValuePoint is a report as a series of the index reads it: which
// indicator had which value from when. A community's history is thousands
// of them, a sixth of the size of as many reports.
type ValuePoint struct {
	ReportID    int64
	IndicatorID int
	Value       float64
	At          time.Time
}

// Limits on free text in a report.
const (
	MaxCommentLength  = 1000
	MaxEvidenceLength = 500
)

// Validate checks the report against the plan's indicator.
func (r *Report) Validate(plan *Plan) error {
	if r.CommunityID <= 0 {
		return FieldErrorf("community", "community_required", "community is required")
	}
	ind, ok := plan.Indicator(r.IndicatorID)
	if !ok {
		return &Error{Code: ENOTFOUND, Reason: "indicator_not_found", Field: "indicator",
			Message: "indicator " + itoa(r.IndicatorID) + " is not in the plan (1.." + itoa(len(plan.Indicators)) + ")"}
	}
	if err := ValidateValue(ind.Unit, r.Value); err != nil {
		return err
	}
	r.Comment = strings.TrimSpace(r.Comment)
	r.Evidence = strings.TrimSpace(r.Evidence)
	if utf8.RuneCountInString(r.Comment) > MaxCommentLength {
		return FieldErrorf("comment", "comment_too_long", "comment is longer than %d characters", MaxCommentLength)
	}
	if utf8.RuneCountInString(r.Evidence) > MaxEvidenceLength {
		return FieldErrorf("evidence", "evidence_too_long", "evidence reference is longer than %d characters", MaxEvidenceLength)
	}
	if r.Source == "" {
		return FieldErrorf("source", "source_required", "report source is required")
	}
	return nil
}

// UndoWindow is how long a CDTO may take back their own last report.
const UndoWindow = 24 * time.Hour

func itoa(n int) string { return strconv.Itoa(n) }
