package dialogs

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/locales"
)

// Sizes of lists in replies.
const (
	maxChoices     = 8  // communities offered for a typed name
	rankingTop     = 10 // communities in the ranking reply
	pageSize       = 8  // indicator buttons per page
	detailReports  = 5  // reports in an indicator's detail
	myReportsLimit = 10
	queryLength    = hromadabot.MaxNameLength
)

// Start, help, menus.

func (t *turn) cmdStart(string) error {
	t.st.Step = StepLanguage
	t.say(t.tr("start.welcome", nil), t.languageRow())
	return nil
}

func (t *turn) cmdHelp(string) error {
	t.keep = true
	parts := []string{t.tr("help.resident", nil)}
	if t.isCDTO() {
		parts = append(parts, t.tr("help.cdto", nil))
	} else {
		parts = append(parts, t.tr("help.join", nil))
	}
	if t.isAdmin() {
		parts = append(parts, t.tr("help.admin", nil))
	}
	t.say(strings.Join(parts, "\n\n"))
	return nil
}

func (t *turn) cmdCancel(string) error {
	t.mainMenu(t.tr("reply.cancelled", nil))
	return nil
}

func (t *turn) pressCancel(payload) error {
	t.st.rest()
	return t.cmdCancel("")
}

func (t *turn) cmdMenu(string) error {
	t.mainMenu("")
	return nil
}

func (t *turn) pressMenu(payload) error {
	t.st.rest()
	return t.cmdMenu("")
}

// mainMenu says the main menu, after prefix when it is not empty.
func (t *turn) mainMenu(prefix string) {
	text := t.tr("menu.title_none", nil)
	if t.user.CommunityID > 0 {
		// The menu is worth showing even when its title cannot be had.
		c, err := t.e.store.Community(t.ctx, t.user.CommunityID)
		if err == nil {
			text = t.tr("menu.title", locales.Args{"Name": c.Label()})
		} else {
			t.e.log.WarnContext(t.ctx, "menu community", "community", t.user.CommunityID, "err", err)
		}
	}
	if prefix != "" {
		text = prefix + "\n\n" + text
	}
	t.say(text, t.menuRows()...)
}

// menuRows are the main menu's buttons for this person.
func (t *turn) menuRows() [][]bot.Button {
	c := t.user.CommunityID
	t.st.Ctx = c
	if c == 0 {
		return [][]bot.Button{
			{t.button(t.label("button.choose_community", nil), actCommunity, 0, 0), t.button(t.label("button.ranking", nil), actRanking, 0, 0)},
			{t.button(t.label("button.language", nil), actLanguages, 0, 0)},
		}
	}
	sub := t.button(t.label("button.subscribe", nil), actSubscribe, c, 0)
	if t.user.Subscribed {
		sub = t.button(t.label("button.unsubscribe", nil), actUnsubscribe, 0, 0)
	}
	rows := [][]bot.Button{
		{t.button(t.label("button.score", nil), actScore, c, 0), t.button(t.label("button.ranking", nil), actRanking, 0, 0)},
		{t.button(t.label("button.indicators", nil), actIndicators, c, 0), sub},
	}
	if t.isCDTO() {
		rows = append(rows,
			[]bot.Button{t.button(t.label("button.report", nil), actReport, c, 0), t.button(t.label("button.myreports", nil), actMyReports, 0, 0)},
			[]bot.Button{t.button(t.label("button.language", nil), actLanguages, 0, 0)})
	} else {
		rows = append(rows, []bot.Button{t.button(t.label("button.community", nil), actCommunity, 0, 0), t.button(t.label("button.language", nil), actLanguages, 0, 0)})
	}
	return rows
}

func (t *turn) menuRow() []bot.Button {
	return []bot.Button{t.button(t.label("button.menu", nil), actMenu, 0, 0)}
}

// Language.

func (t *turn) languageRow() []bot.Button {
	return []bot.Button{
		t.button(t.label("language.uk", nil), actLanguage, 0, 0),
		t.button(t.label("language.en", nil), actLanguage, 0, 1),
	}
}

func (t *turn) cmdLanguage(string) error {
	t.st.Step = StepLanguage
	t.say(t.tr("language.choose", nil), t.languageRow())
	return nil
}

func (t *turn) pressLanguages(payload) error { return t.cmdLanguage("") }

func (t *turn) pressLanguage(p payload) error {
	switch p.N {
	case 0:
		return t.setLanguage(hromadabot.LangUK)
	case 1:
		return t.setLanguage(hromadabot.LangEN)
	}
	return errStale
}

// typeLanguage takes a language typed by name; anything else is taken as
// the community's name, which a newcomer is asked for next anyway.
func (t *turn) typeLanguage() error {
	switch strings.ToLower(strings.TrimSpace(t.ev.Text)) {
	case "uk", "ua", "укр", "українська", "ukrainian":
		return t.setLanguage(hromadabot.LangUK)
	case "en", "eng", "english", "англійська":
		return t.setLanguage(hromadabot.LangEN)
	}
	if t.user.CommunityID == 0 {
		return t.typeCommunity()
	}
	t.st.Step = StepMenu
	return t.typeSearch()
}

func (t *turn) setLanguage(lang string) error {
	t.user.Language = lang
	if err := t.e.store.UpdateUser(t.ctx, t.user, t.actor()); err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	t.lang = lang
	if t.user.CommunityID == 0 {
		t.askCommunity(t.tr("language.set", nil))
		return nil
	}
	t.st.Step = StepMenu
	t.mainMenu(t.tr("language.set", nil))
	return nil
}

// Choosing "my community".

func (t *turn) cmdCommunity(arg string) error {
	if t.isCDTO() {
		return t.sayCDTOLocked()
	}
	if arg != "" {
		t.st.Step = StepCommunity
		return t.chooseByName(arg)
	}
	t.askCommunity("")
	return nil
}

func (t *turn) pressCommunity(payload) error { return t.cmdCommunity("") }

func (t *turn) askCommunity(prefix string) {
	t.st.Step = StepCommunity
	text := t.tr("community.ask", nil)
	if prefix != "" {
		text = prefix + "\n\n" + text
	}
	t.say(text, t.menuRow())
}

func (t *turn) typeCommunity() error {
	if strings.TrimSpace(t.ev.Text) == "" {
		t.askCommunity("")
		return nil
	}
	t.st.Step = StepCommunity
	return t.chooseByName(t.ev.Text)
}

// chooseByName makes the community a typed name finds the person's own.
func (t *turn) chooseByName(q string) error {
	return t.byName(q, "community.choose", actChoose, t.setCommunity)
}

func (t *turn) pressChoose(p payload) error { return t.onCommunity(p.C, t.setCommunity) }

func (t *turn) setCommunity(c *hromadabot.Community) error {
	if t.isCDTO() && c.ID != t.user.CommunityID {
		return t.sayCDTOLocked()
	}
	t.user.CommunityID = c.ID
	if err := t.e.store.UpdateUser(t.ctx, t.user, t.actor()); err != nil {
		return fmt.Errorf("set community: %w", err)
	}
	t.st.Step = StepMenu
	t.mainMenu(t.tr("community.set", locales.Args{"Name": c.Label()}))
	return nil
}

// sayCDTOLocked explains that a CDTO's community is fixed: changing it
// would make them the reporter of another community.
func (t *turn) sayCDTOLocked() error {
	t.st.Step = StepMenu
	c, err := t.e.store.Community(t.ctx, t.user.CommunityID)
	if err != nil {
		return fmt.Errorf("load community: %w", err)
	}
	t.say(t.tr("community.cdto_locked", locales.Args{"Name": c.Label()}), t.menuRows()...)
	return nil
}

// find resolves a typed community name: the one best match, or the
// candidates when several match about equally, or neither.
func (t *turn) find(q string) (*hromadabot.Community, []hromadabot.Community, error) {
	if q == "" {
		return nil, nil, nil
	}
	c, err := t.e.store.FindCommunity(t.ctx, q)
	switch {
	case err == nil:
		return c, nil, nil
	case hromadabot.ErrorReason(err) == "community_ambiguous":
		list, err := t.e.store.SearchCommunities(t.ctx, q, maxChoices)
		if err != nil {
			return nil, nil, fmt.Errorf("search communities: %w", err)
		}
		return nil, list, nil
	case domain(err):
		return nil, nil, nil
	}
	return nil, nil, fmt.Errorf("find community: %w", err)
}

// communityRows offers communities as buttons, one per row, and makes
// them the menu's offer.
func (t *turn) communityRows(list []hromadabot.Community, act string) [][]bot.Button {
	rows := make([][]bot.Button, 0, len(list)+1)
	for i, label := range choiceLabels(list) {
		t.st.Offer = append(t.st.Offer, list[i].ID)
		rows = append(rows, []bot.Button{t.button(label, act, list[i].ID, 0)})
	}
	return append(rows, t.menuRow())
}

// choiceLabels labels communities with their oblast, and with the raion
// too where two in the list would read the same.
func choiceLabels(list []hromadabot.Community) []string {
	labels := make([]string, len(list))
	seen := make(map[string]int, len(list))
	for i := range list {
		labels[i] = list[i].Label()
		seen[labels[i]]++
	}
	for i := range list {
		if c := &list[i]; seen[labels[i]] > 1 && c.Raion != "" && c.Oblast != "" {
			labels[i] = fmt.Sprintf("%s (%s обл., %s р-н)", c.Name, c.Oblast, c.Raion)
		}
	}
	return labels
}

// Searching and the score card.

// typeSearch takes text outside a flow as a community search.
func (t *turn) typeSearch() error {
	q := clip(t.ev.Text, queryLength)
	if q == "" {
		t.say(t.tr("reply.unexpected", nil), t.menuRows()...)
		return nil
	}
	return t.showByName(q)
}

// showByName shows the card of the community a typed name finds.
func (t *turn) showByName(q string) error {
	return t.byName(q, "search.choose", actScore, t.scoreCard)
}

// byName runs do on the one community a typed name finds; when several
// match it offers them as buttons of act after the message chooseKey, and
// when none does it says so.
func (t *turn) byName(q, chooseKey, act string, do func(*hromadabot.Community) error) error {
	c, list, err := t.find(q)
	switch {
	case err != nil:
		return err
	case c != nil:
		return do(c)
	case len(list) > 0:
		t.say(t.tr(chooseKey, nil), t.communityRows(list, act)...)
	default:
		t.say(t.tr("community.not_found", locales.Args{"Query": q}), t.menuRow())
	}
	return nil
}

// withCommunity runs do on the community a command names (see byName), or,
// without a name, on the person's own community, asking for it first when
// there is none.
func (t *turn) withCommunity(arg, act string, do func(*hromadabot.Community) error) error {
	if q := clip(arg, queryLength); q != "" {
		return t.byName(q, "search.choose", act, do)
	}
	if t.user.CommunityID == 0 {
		t.askCommunity(t.tr("community.none", nil))
		return nil
	}
	return t.onCommunity(t.user.CommunityID, do)
}

// onCommunity runs do on the community with the id.
func (t *turn) onCommunity(id int64, do func(*hromadabot.Community) error) error {
	c, err := t.e.store.Community(t.ctx, id)
	if err != nil {
		return fmt.Errorf("load community: %w", err)
	}
	return do(c)
}

func (t *turn) cmdScore(arg string) error { return t.withCommunity(arg, actScore, t.scoreCard) }

func (t *turn) pressScore(p payload) error { return t.onCommunity(p.C, t.scoreCard) }

// scoreCard says the community's index, rank, plan fulfilment and how many
// indicators stand in each status.
func (t *turn) scoreCard(c *hromadabot.Community) error {
	score, err := t.e.store.Score(t.ctx, c.ID, t.year)
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	ranking, err := t.e.store.Ranking(t.ctx, t.year)
	if err != nil {
		return fmt.Errorf("ranking: %w", err)
	}
	rank := "—"
	if e, ok := ranking.Find(c.ID); ok {
		rank = fmt.Sprint(e.Rank)
	}
	counts := make([]string, 0, len(hromadabot.Statuses))
	for _, st := range hromadabot.Statuses {
		counts = append(counts, t.tr("score.count", locales.Args{
			"Mark":       t.e.loc.Mark(st),
			"Status":     t.e.loc.Status(t.lang, st),
			"Indicators": locales.HTML(t.tr("count.indicators", locales.Args{"Count": score.Count(st)})),
		}))
	}
	text := t.tr("score.card", locales.Args{
		"Name":        c.Label(),
		"Year":        t.year,
		"Index":       score.Index,
		"Rank":        rank,
		"Total":       len(ranking),
		"Fulfillment": score.PlanFulfillment,
		"Counts":      lines(counts...),
	})
	if t.e.site != "" {
		text += "\n\n" + t.tr("score.site", locales.Args{"URL": t.e.sitePage(c, t.lang)})
	}

	t.st.Ctx = c.ID
	rows := [][]bot.Button{{
		t.button(t.label("button.indicators", nil), actIndicators, c.ID, 0),
		t.button(t.label("button.ranking", nil), actRanking, 0, 0),
	}}
	var row []bot.Button
	switch {
	case t.user.CommunityID == c.ID && t.user.Subscribed:
		row = append(row, t.button(t.label("button.unsubscribe", nil), actUnsubscribe, 0, 0))
	case t.user.CommunityID == c.ID || !t.isCDTO():
		row = append(row, t.button(t.label("button.subscribe", nil), actSubscribe, c.ID, 0))
	}
	if t.user.IsCDTOOf(c.ID) {
		row = append(row, t.button(t.label("button.report", nil), actReport, c.ID, 0))
	}
	rows = append(rows, append(row, t.button(t.label("button.menu", nil), actMenu, 0, 0)))

	reply := bot.Reply{Text: text, Buttons: rows}
	if t.e.chart != nil {
		if img, err := t.chart(c.ID, score); err != nil {
			// The card is worth sending without its picture.
			t.e.log.WarnContext(t.ctx, "score chart failed", "community", c.ID, "err", err)
		} else {
			reply.Image = img
		}
	}
	t.out = append(t.out, reply)
	return nil
}

func (t *turn) chart(communityID int64, score *hromadabot.Score) (*bot.Image, error) {
	plan, err := t.e.store.Plan(t.ctx, communityID)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	key, draw := t.e.chart(score, plan, t.lang)
	return &bot.Image{Draw: draw, Name: fmt.Sprintf("score-%d.png", communityID), Key: key}, nil
}

// Ranking.

func (t *turn) cmdRanking(string) error {
	ranking, err := t.e.store.Ranking(t.ctx, t.year)
	if err != nil {
		return fmt.Errorf("ranking: %w", err)
	}
	ls := []string{t.tr("ranking.title", locales.Args{"Year": t.year})}
	mine := false
	for i := 0; i < len(ranking) && i < rankingTop; i++ {
		line := t.rankLine(ranking[i])
		if ranking[i].CommunityID == t.user.CommunityID {
			line, mine = t.tr("ranking.mine", locales.Args{"Line": locales.HTML(line)}), true
		}
		ls = append(ls, line)
	}
	if e, ok := ranking.Find(t.user.CommunityID); ok && !mine {
		ls = append(ls, t.tr("ranking.gap", nil), t.tr("ranking.mine", locales.Args{"Line": locales.HTML(t.rankLine(e))}))
	}
	ls = append(ls, "", t.tr("ranking.total", locales.Args{
		"Communities": locales.HTML(t.tr("count.communities", locales.Args{"Count": len(ranking)})),
	}))
	t.say(string(lines(ls...)), t.menuRow())
	return nil
}

func (t *turn) pressRanking(payload) error { return t.cmdRanking("") }

func (t *turn) rankLine(e hromadabot.RankEntry) string {
	c := hromadabot.Community{Name: e.Name, Oblast: e.Oblast}
	return t.tr("ranking.line", locales.Args{"Rank": e.Rank, "Name": c.Label(), "Index": e.Index})
}

// Indicators.

func (t *turn) cmdIndicators(arg string) error {
	return t.withCommunity(arg, actIndicators, t.firstIndicators)
}

func (t *turn) pressIndicators(p payload) error { return t.onCommunity(p.C, t.firstIndicators) }

func (t *turn) firstIndicators(c *hromadabot.Community) error { return t.indicators(c, 0, false) }

func (t *turn) pressIndicatorPage(p payload) error {
	return t.onCommunity(p.C, func(c *hromadabot.Community) error { return t.indicators(c, p.N, true) })
}

// indicators lists the community's indicators with their status marks and
// values, with a page of buttons to open one.
func (t *turn) indicators(c *hromadabot.Community, page int, edit bool) error {
	plan, score, err := t.planScore(c.ID)
	if err != nil {
		return err
	}
	if page >= pages(len(plan.Indicators)) {
		return errStale
	}
	ls := []string{t.tr("indicators.title", locales.Args{"Name": c.Label(), "Year": t.year}), ""}
	for i := range plan.Indicators {
		ind := &plan.Indicators[i]
		is, _ := score.Indicator(ind.ID)
		ls = append(ls, t.tr("indicators.line", locales.Args{
			"Mark": t.e.loc.Mark(is.Status), "ID": ind.ID, "Title": ind.Short.In(t.lang), "Value": t.value(ind, is.Value),
		}))
	}
	ls = append(ls, "", t.tr("indicators.legend", nil))
	t.st.Ctx = c.ID
	rows := t.indicatorRows(plan, score, c.ID, page, actDetail, actIndPage)
	rows = append(rows, t.menuRow())
	t.out = append(t.out, bot.Reply{Text: string(lines(ls...)), Buttons: rows, EditMenu: edit})
	return nil
}

// indicatorRows is one page of indicator buttons (act with the indicator's
// id) and a row to turn pages (pageAct with the page number).
func (t *turn) indicatorRows(plan *hromadabot.Plan, score *hromadabot.Score, c int64, page int, act, pageAct string) [][]bot.Button {
	var rows [][]bot.Button
	n := len(plan.Indicators)
	for i := page * pageSize; i < n && i < (page+1)*pageSize; i++ {
		ind := &plan.Indicators[i]
		is, _ := score.Indicator(ind.ID)
		label := t.label("button.indicator", locales.Args{"Mark": t.e.loc.Mark(is.Status), "ID": ind.ID, "Title": ind.Short.In(t.lang)})
		rows = append(rows, []bot.Button{t.button(label, act, c, ind.ID)})
	}
	var nav []bot.Button
	if page > 0 {
		nav = append(nav, t.button(t.label("button.prev", nil), pageAct, c, page-1))
	}
	if page+1 < pages(n) {
		nav = append(nav, t.button(t.label("button.next", nil), pageAct, c, page+1))
	}
	if len(nav) > 0 {
		rows = append(rows, nav)
	}
	return rows
}

func pages(n int) int { return max(1, (n+pageSize-1)/pageSize) }

// pageOf returns the page of the indicator list that holds indicator id.
func pageOf(plan *hromadabot.Plan, id int) int {
	for i := range plan.Indicators {
		if plan.Indicators[i].ID == id {
			return i / pageSize
		}
	}
	return 0
}

func (t *turn) planScore(communityID int64) (*hromadabot.Plan, *hromadabot.Score, error) {
	plan, err := t.e.store.Plan(t.ctx, communityID)
	if err != nil {
		return nil, nil, fmt.Errorf("plan: %w", err)
	}
	score, err := t.e.store.Score(t.ctx, communityID, t.year)
	if err != nil {
		return nil, nil, fmt.Errorf("score: %w", err)
	}
	return plan, score, nil
}

// pressDetail shows one indicator: status, current value, this year's
// target and the latest reports.
func (t *turn) pressDetail(p payload) error {
	plan, score, err := t.planScore(p.C)
	if err != nil {
		return err
	}
	ind, ok := plan.Indicator(p.N)
	if !ok {
		return errStale
	}
	c, err := t.e.store.Community(t.ctx, p.C)
	if err != nil {
		return fmt.Errorf("load community: %w", err)
	}
	reports, err := t.e.store.Reports(t.ctx, hromadabot.ReportFilter{CommunityID: c.ID, IndicatorID: ind.ID, Limit: detailReports})
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	is, _ := score.Indicator(ind.ID)
	ls := []string{t.tr("indicator.detail", locales.Args{
		"ID": ind.ID, "Title": ind.Title.In(t.lang), "Community": c.Label(),
		"Mark": t.e.loc.Mark(is.Status), "Status": t.e.loc.Status(t.lang, is.Status),
		"Value": t.value(ind, is.Value), "Year": t.year, "Target": t.target(ind),
	}), ""}
	if len(reports) == 0 {
		ls = append(ls, t.tr("indicator.no_reports", nil))
	} else {
		ls = append(ls, t.tr("indicator.reports", nil))
		for _, r := range reports {
			ls = append(ls, t.reportLine(ind, r))
		}
	}
	t.st.Ctx = c.ID
	row := []bot.Button{t.button(t.label("button.back", nil), actIndPage, c.ID, pageOf(plan, ind.ID))}
	if t.user.IsCDTOOf(c.ID) {
		row = append(row, t.button(t.label("button.report", nil), actReport, c.ID, ind.ID))
	}
	t.say(string(lines(ls...)), row, t.menuRow())
	return nil
}

func (t *turn) reportLine(ind *hromadabot.Indicator, r hromadabot.Report) string {
	args := locales.Args{"Date": r.CreatedAt, "Value": t.e.loc.Value(t.lang, ind.Unit, r.Value)}
	if r.Comment == "" {
		return t.tr("report.line", args)
	}
	args["Comment"] = clip(r.Comment, 200)
	return t.tr("report.line_comment", args)
}

// Subscriptions.

func (t *turn) cmdSubscribe(arg string) error { return t.withCommunity(arg, actSubscribe, t.subscribe) }

func (t *turn) pressSubscribe(p payload) error { return t.onCommunity(p.C, t.subscribe) }

// subscribe makes c the person's community and turns the digest on.
func (t *turn) subscribe(c *hromadabot.Community) error {
	if t.isCDTO() && c.ID != t.user.CommunityID {
		return t.sayCDTOLocked()
	}
	t.user.CommunityID, t.user.Subscribed = c.ID, true
	if err := t.e.store.UpdateUser(t.ctx, t.user, t.actor()); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	t.say(t.tr("subscribe.done", locales.Args{"Name": c.Label()}), t.menuRows()...)
	return nil
}

func (t *turn) cmdUnsubscribe(string) error {
	if !t.user.Subscribed {
		t.say(t.tr("unsubscribe.none", nil), t.menuRows()...)
		return nil
	}
	t.user.Subscribed = false
	if err := t.e.store.UpdateUser(t.ctx, t.user, t.actor()); err != nil {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	t.say(t.tr("unsubscribe.done", nil), t.menuRows()...)
	return nil
}

func (t *turn) pressUnsubscribe(payload) error { return t.cmdUnsubscribe("") }

// sitePage is the community's page on the public site, in lang.
func (e *Engine) sitePage(c *hromadabot.Community, lang string) string {
	prefix := ""
	if lang != hromadabot.LangUK {
		prefix = "/" + lang
	}
	return e.site + prefix + "/hromada/" + url.PathEscape(c.Ref())
}
