package dialogs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/locales"
)

// The CDTO's flows: joining by invite, the report dialog
// (pick → value → [confirm lower] → evidence → summary → save), undo and
// the list of own reports.

func (t *turn) cmdJoin(arg string) error {
	if arg == "" {
		t.say(t.tr("join.usage", nil))
		return nil
	}
	c, err := t.e.store.AcceptInvite(t.ctx, clip(arg, 64), t.user.ID)
	if domain(err) {
		t.sayError(err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("accept invite: %w", err)
	}
	// AcceptInvite changed the stored user; keep this turn's copy in step.
	t.user.Role, t.user.CommunityID = hromadabot.RoleCDTO, c.ID
	t.say(t.tr("join.done", locales.Args{"Name": c.Label()}), t.menuRows()...)
	return nil
}

func (t *turn) cmdReport(arg string) error {
	if !t.isCDTO() {
		t.say(t.tr("report.forbidden", nil))
		return nil
	}
	t.st.Draft = newDraft(t.user.CommunityID)
	if arg == "" {
		return t.picker(0, false, "")
	}
	return t.pickByNumber(arg)
}

// pressReport starts a report from a menu: N is the indicator, or 0 to pick.
func (t *turn) pressReport(p payload) error {
	if !t.user.IsCDTOOf(p.C) {
		t.say(t.tr("report.forbidden", nil))
		return nil
	}
	if p.N == 0 {
		t.st.Draft = newDraft(p.C)
		return t.picker(0, false, "")
	}
	ind, err := t.indicatorOf(p.C, p.N)
	if err != nil {
		return err
	}
	t.st.Draft = newDraft(p.C)
	return t.chooseIndicator(ind)
}

// indicatorOf returns indicator n of the community's plan for a pressed
// button; a button naming an indicator not in the plan is stale.
func (t *turn) indicatorOf(communityID int64, n int) (*hromadabot.Indicator, error) {
	plan, err := t.e.store.Plan(t.ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	ind, ok := plan.Indicator(n)
	if !ok {
		return nil, errStale
	}
	return ind, nil
}

// pickByNumber goes to the indicator whose number was typed, or back to
// the picker saying there is no such indicator.
func (t *turn) pickByNumber(arg string) error {
	plan, err := t.e.store.Plan(t.ctx, t.st.Draft.Community)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	arg = strings.TrimSpace(arg)
	n, err := strconv.Atoi(strings.TrimPrefix(arg, "№"))
	ind, ok := plan.Indicator(n)
	if err != nil || !ok {
		return t.picker(0, false, t.tr("report.no_indicator", locales.Args{"N": clip(arg, 20), "Max": len(plan.Indicators)}))
	}
	return t.chooseIndicator(ind)
}

// picker says the page of indicators to report on, with status marks.
func (t *turn) picker(page int, edit bool, prefix string) error {
	d := t.st.Draft
	plan, score, err := t.planScore(d.Community)
	if err != nil {
		return err
	}
	if page >= pages(len(plan.Indicators)) {
		return errStale
	}
	c, err := t.e.store.Community(t.ctx, d.Community)
	if err != nil {
		return fmt.Errorf("load community: %w", err)
	}
	t.st.Step, t.st.Ctx = StepPick, d.Community
	text := t.tr("report.pick", locales.Args{"Name": c.Label(), "Page": page + 1, "Pages": pages(len(plan.Indicators))})
	if prefix != "" {
		text = prefix + "\n\n" + text
	}
	rows := t.indicatorRows(plan, score, d.Community, page, actPick, actPage)
	rows = append(rows, t.cancelRow())
	t.out = append(t.out, bot.Reply{Text: text, Buttons: rows, EditMenu: edit})
	return nil
}

func (t *turn) cancelRow() []bot.Button {
	return []bot.Button{t.button(t.label("button.cancel", nil), actCancel, 0, 0)}
}

func (t *turn) pressPage(p payload) error { return t.picker(p.N, true, "") }

func (t *turn) pressPick(p payload) error {
	ind, err := t.indicatorOf(p.C, p.N)
	if err != nil {
		return err
	}
	return t.chooseIndicator(ind)
}

// typePick takes a typed indicator number.
func (t *turn) typePick() error { return t.pickByNumber(t.ev.Text) }

func (t *turn) chooseIndicator(ind *hromadabot.Indicator) error {
	d := t.st.Draft
	d.Indicator, d.Value, d.Comment, d.Evidence, d.EvidenceKind, d.EvidenceName = ind.ID, nil, "", "", "", ""
	return t.askValue("")
}

// reportContext loads what every report step shows: the community's plan
// entry for the draft's indicator and its current value.
func (t *turn) reportContext() (*hromadabot.Indicator, *float64, error) {
	d := t.st.Draft
	plan, score, err := t.planScore(d.Community)
	if err != nil {
		return nil, nil, err
	}
	ind, ok := plan.Indicator(d.Indicator)
	if !ok {
		return nil, nil, hromadabot.Errorf(hromadabot.ENOTFOUND, "indicator_not_found", "indicator %d is not in the plan", d.Indicator)
	}
	is, _ := score.Indicator(ind.ID)
	return ind, is.Value, nil
}

// askValue shows the indicator's current value and this year's target and
// asks for the new value.
func (t *turn) askValue(prefix string) error {
	d := t.st.Draft
	ind, cur, err := t.reportContext()
	if err != nil {
		return err
	}
	t.st.Step, t.st.Ctx, d.Value = StepValue, d.Community, nil
	text := t.tr("report.indicator", locales.Args{
		"ID": ind.ID, "Title": ind.Title.In(t.lang), "Current": t.value(ind, cur), "Year": t.year, "Target": t.target(ind),
	})
	var rows [][]bot.Button
	if ind.Unit == hromadabot.UnitYesNo {
		text += "\n\n" + t.tr("report.ask_yesno", nil)
		rows = append(rows, []bot.Button{
			t.button(t.label("button.yes", nil), actValue, d.Community, 1),
			t.button(t.label("button.no", nil), actValue, d.Community, 0),
		})
	} else {
		text += "\n\n" + t.tr("report.ask_percent", nil)
	}
	if prefix != "" {
		text = prefix + "\n\n" + text
	}
	t.say(text, append(rows, t.cancelRow())...)
	return nil
}

// typeValue reads the value with hromadabot.ParseValue; a mistake is
// explained and the value asked for again.
func (t *turn) typeValue() error {
	ind, cur, err := t.reportContext()
	if err != nil {
		return err
	}
	v, err := hromadabot.ParseValue(ind.Unit, t.ev.Text)
	if err != nil {
		return t.askValue(t.e.loc.Error(t.lang, err))
	}
	return t.acceptValue(ind, cur, v)
}

func (t *turn) pressValue(p payload) error {
	ind, cur, err := t.reportContext()
	if err != nil {
		return err
	}
	if ind.Unit != hromadabot.UnitYesNo || p.N > 1 {
		return errStale
	}
	return t.acceptValue(ind, cur, float64(p.N))
}

// acceptValue takes a valid value; one lower than the current value is
// confirmed first, since lowering is rare and often a typo.
func (t *turn) acceptValue(ind *hromadabot.Indicator, cur *float64, v float64) error {
	d := t.st.Draft
	d.Value = &v
	if cur != nil && v < *cur-1e-9 {
		t.askLower(ind, cur, "")
		return nil
	}
	t.askEvidence("")
	return nil
}

func (t *turn) askLower(ind *hromadabot.Indicator, cur *float64, prefix string) {
	d := t.st.Draft
	t.st.Step, t.st.Ctx = StepLower, d.Community
	text := t.tr("report.lower", locales.Args{"New": t.value(ind, d.Value), "Current": t.value(ind, cur)})
	if prefix != "" {
		text = prefix + "\n\n" + text
	}
	t.say(text,
		[]bot.Button{
			t.button(t.label("button.lower_yes", nil), actLower, d.Community, 1),
			t.button(t.label("button.lower_no", nil), actLower, d.Community, 0),
		},
		t.cancelRow())
}

func (t *turn) pressLower(p payload) error {
	switch p.N {
	case 1:
		t.askEvidence("")
		return nil
	case 0:
		return t.askValue("")
	}
	return errStale
}

// typeLower takes a typed yes or no to the lower value.
func (t *turn) typeLower() error {
	yes, err := hromadabot.ParseValue(hromadabot.UnitYesNo, t.ev.Text)
	if err != nil {
		ind, cur, cerr := t.reportContext()
		if cerr != nil {
			return cerr
		}
		t.askLower(ind, cur, t.e.loc.Error(t.lang, err))
		return nil
	}
	return t.pressLower(payload{N: int(yes)})
}

func (t *turn) askEvidence(prefix string) {
	d := t.st.Draft
	t.st.Step, t.st.Ctx = StepEvidence, d.Community
	d.Comment, d.Evidence, d.EvidenceKind, d.EvidenceName = "", "", "", ""
	text := t.tr("report.ask_evidence", nil)
	if prefix != "" {
		text = prefix + "\n\n" + text
	}
	t.say(text, []bot.Button{
		t.button(t.label("button.skip", nil), actSkip, d.Community, 0),
		t.button(t.label("button.cancel", nil), actCancel, 0, 0),
	})
}

// typeEvidence takes a comment, a link, or a photo or document (kept as
// the platform's file reference, with its caption as the comment).
func (t *turn) typeEvidence() error {
	d := t.st.Draft
	text := strings.TrimSpace(t.ev.Text)
	switch att := t.ev.Attachment; {
	case att != nil && att.FileID != "":
		d.Evidence = t.ev.Platform + ":file:" + att.FileID
		d.EvidenceKind, d.EvidenceName = att.Kind, att.Name
		d.Comment = text
	case text == "":
		t.askEvidence("")
		return nil
	case isLink(text):
		d.Evidence = text
	default:
		d.Comment = text
	}
	plan, err := t.e.store.Plan(t.ctx, d.Community)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	r := t.draftReport()
	if err := r.Validate(plan); err != nil {
		if !domain(err) {
			return err
		}
		t.askEvidence(t.e.loc.Error(t.lang, err))
		return nil
	}
	return t.summary()
}

// isLink reports whether text is one web link, as opposed to a comment.
func isLink(text string) bool {
	return (strings.HasPrefix(text, "https://") || strings.HasPrefix(text, "http://")) && !strings.ContainsAny(text, " \n\t")
}

func (t *turn) pressSkip(payload) error { return t.summary() }

// summary shows the report to be saved, with Save and Cancel.
func (t *turn) summary() error {
	d := t.st.Draft
	ind, cur, err := t.reportContext()
	if err != nil {
		return err
	}
	if d.Value == nil {
		return t.askValue("")
	}
	var extra []string
	if d.Comment != "" {
		extra = append(extra, t.tr("report.summary_comment", locales.Args{"Comment": d.Comment}))
	}
	if d.Evidence != "" {
		extra = append(extra, t.tr("report.summary_evidence", locales.Args{"Evidence": locales.HTML(t.evidence(d))}))
	}
	t.st.Step, t.st.Ctx = StepSummary, d.Community
	t.say(t.tr("report.summary", locales.Args{
		"ID": ind.ID, "Title": ind.Title.In(t.lang), "Old": t.value(ind, cur), "New": t.value(ind, d.Value),
		"Extra": locales.HTML(strings.Join(extra, "")),
	}), []bot.Button{
		t.button(t.label("button.save", nil), actSave, d.Community, 0),
		t.button(t.label("button.cancel", nil), actCancel, 0, 0),
	})
	return nil
}

// evidence describes the draft's evidence as an HTML fragment.
func (t *turn) evidence(d *draft) string {
	switch d.EvidenceKind {
	case "photo":
		return t.tr("report.evidence_photo", nil)
	case "":
		return t.tr("report.evidence_link", locales.Args{"URL": d.Evidence})
	default:
		return t.tr("report.evidence_document", locales.Args{"Name": d.EvidenceName})
	}
}

// typeSummary answers typing at the summary by showing it again: only the
// buttons save or cancel.
func (t *turn) typeSummary() error { return t.summary() }

func (t *turn) draftReport() hromadabot.Report {
	d := t.st.Draft
	r := hromadabot.Report{
		CommunityID: d.Community,
		IndicatorID: d.Indicator,
		Comment:     d.Comment,
		Evidence:    d.Evidence,
		ReporterID:  t.user.ID,
		Source:      t.ev.Platform,
	}
	if d.Value != nil {
		r.Value = *d.Value
	}
	return r
}

// pressSave stores the report. The person's right to report for the
// community is checked again here, on the user as stored now: a CDTO
// replaced while the dialog was open saves nothing.
func (t *turn) pressSave(payload) error {
	d := t.st.Draft
	if !t.user.IsCDTOOf(d.Community) {
		t.st.rest()
		t.say(t.tr("report.forbidden", nil))
		return nil
	}
	if d.Value == nil {
		return errStale
	}
	ind, _, err := t.reportContext()
	if err != nil {
		return err
	}
	before, err := t.e.store.Score(t.ctx, d.Community, t.year)
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	r := t.draftReport()
	// A channel that delivers one update twice gets one report.
	r.DedupKey = t.ev.UpdateID
	if r.DedupKey == "" {
		r.DedupKey = "draft:" + d.Nonce
	}
	if _, err := t.e.store.CreateReport(t.ctx, &r, t.actor()); err != nil {
		if !domain(err) {
			return fmt.Errorf("create report: %w", err)
		}
		if hromadabot.ErrorCode(err) == hromadabot.EINVALID {
			return t.askValue(t.e.loc.Error(t.lang, err))
		}
		t.st.rest()
		t.sayError(err, t.menuRow())
		return nil
	}
	after, err := t.e.store.Score(t.ctx, d.Community, t.year)
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	t.st.rest()
	t.st.Ctx = d.Community
	t.say(t.tr("report.saved", locales.Args{
		"ID": ind.ID, "Title": ind.Short.In(t.lang), "Value": t.e.loc.Value(t.lang, ind.Unit, r.Value),
		"Index": after.Index, "Delta": t.delta(before.Index, after.Index),
	}), []bot.Button{
		t.button(t.label("button.report", nil), actReport, d.Community, 0),
		t.button(t.label("button.menu", nil), actMenu, 0, 0),
	})
	return nil
}

// cmdUndo takes back the person's own last report within
// hromadabot.UndoWindow (the store checks the window and audits).
func (t *turn) cmdUndo(string) error {
	last, err := t.e.store.Reports(t.ctx, hromadabot.ReportFilter{ReporterID: t.user.ID, Limit: 1})
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	var before *hromadabot.Score
	if len(last) > 0 {
		if before, err = t.e.store.Score(t.ctx, last[0].CommunityID, t.year); err != nil {
			return fmt.Errorf("score: %w", err)
		}
	}
	r, err := t.e.store.RetractLastReport(t.ctx, t.user.ID)
	if domain(err) {
		t.sayError(err, t.menuRows()...)
		return nil
	}
	if err != nil {
		return fmt.Errorf("retract report: %w", err)
	}
	plan, after, err := t.planScore(r.CommunityID)
	if err != nil {
		return err
	}
	if before == nil || last[0].CommunityID != r.CommunityID {
		before = after
	}
	ind, ok := plan.Indicator(r.IndicatorID)
	if !ok {
		return fmt.Errorf("retracted report %d: indicator %d not in plan", r.ID, r.IndicatorID)
	}
	t.say(t.tr("undo.done", locales.Args{
		"ID": ind.ID, "Title": ind.Short.In(t.lang), "Value": t.e.loc.Value(t.lang, ind.Unit, r.Value),
		"Index": after.Index, "Delta": t.delta(before.Index, after.Index),
	}), t.menuRows()...)
	return nil
}

func (t *turn) cmdMyReports(string) error {
	reports, err := t.e.store.Reports(t.ctx, hromadabot.ReportFilter{ReporterID: t.user.ID, Limit: myReportsLimit})
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	if len(reports) == 0 {
		t.say(t.tr("myreports.none", nil), t.menuRows()...)
		return nil
	}
	plans := map[int64]*hromadabot.Plan{}
	ls := []string{t.tr("myreports.title", nil)}
	for _, r := range reports {
		plan := plans[r.CommunityID]
		if plan == nil {
			if plan, err = t.e.store.Plan(t.ctx, r.CommunityID); err != nil {
				return fmt.Errorf("plan: %w", err)
			}
			plans[r.CommunityID] = plan
		}
		ind, ok := plan.Indicator(r.IndicatorID)
		if !ok {
			continue
		}
		ls = append(ls, t.tr("myreports.line", locales.Args{
			"Date": r.CreatedAt, "ID": ind.ID, "Title": ind.Short.In(t.lang), "Value": t.e.loc.Value(t.lang, ind.Unit, r.Value),
		}))
	}
	t.say(string(lines(ls...)), t.menuRows()...)
	return nil
}

func (t *turn) pressMyReports(payload) error { return t.cmdMyReports("") }
