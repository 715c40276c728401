package dialogs

import (
	"fmt"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/locales"
)

// The admin commands. Admins are the user refs of Config.Admins; nothing
// stored in the database makes anyone an admin.

const (
	communitiesLimit = 20
	silentLimit      = 20
	statsPeriod      = 7 * 24 * time.Hour
)

// admin reports whether the person may use an admin command, and says no
// when not.
func (t *turn) admin() bool {
	if t.isAdmin() {
		return true
	}
	t.say(t.tr("admin.forbidden", nil))
	return false
}

func (t *turn) cmdInvite(arg string) error {
	if !t.admin() {
		return nil
	}
	q := clip(arg, queryLength)
	if q == "" {
		t.say(t.tr("invite.usage", nil))
		return nil
	}
	c, list, err := t.find(q)
	switch {
	case err != nil:
		return err
	case len(list) > 0:
		t.say(t.tr("invite.ambiguous", nil) + "\n" + string(t.communityLines(list)))
		return nil
	case c == nil:
		t.say(t.tr("community.not_found", locales.Args{"Query": q}))
		return nil
	}
	code, err := t.e.store.CreateInvite(t.ctx, c.ID, t.actor())
	if err != nil {
		return fmt.Errorf("create invite: %w", err)
	}
	t.say(t.tr("invite.done", locales.Args{
		"Name": c.Label(), "Code": code,
		"Days": locales.HTML(t.tr("count.days", locales.Args{"Count": int(hromadabot.InviteTTL / (24 * time.Hour))})),
	}))
	return nil
}

func (t *turn) communityLines(list []hromadabot.Community) locales.HTML {
	ls := make([]string, 0, len(list))
	for i := range list {
		ls = append(ls, t.tr("communities.line", locales.Args{"ID": list[i].ID, "Label": list[i].Label()}))
	}
	return lines(ls...)
}

// cmdCommunities lists communities found by name, with the ids /invite
// takes, or without a name the count and the top of the ranking.
func (t *turn) cmdCommunities(arg string) error {
	if !t.admin() {
		return nil
	}
	if q := clip(arg, queryLength); q != "" {
		list, err := t.e.store.SearchCommunities(t.ctx, q, communitiesLimit)
		if err != nil {
			return fmt.Errorf("search communities: %w", err)
		}
		if len(list) == 0 {
			t.say(t.tr("community.not_found", locales.Args{"Query": q}))
			return nil
		}
		t.say(t.tr("communities.found", nil) + "\n" + string(t.communityLines(list)))
		return nil
	}
	n, err := t.e.store.CountCommunities(t.ctx)
	if err != nil {
		return fmt.Errorf("count communities: %w", err)
	}
	ranking, err := t.e.store.Ranking(t.ctx, t.year)
	if err != nil {
		return fmt.Errorf("ranking: %w", err)
	}
	ls := []string{t.tr("communities.title", locales.Args{"Total": n, "Year": t.year})}
	for i := 0; i < len(ranking) && i < rankingTop; i++ {
		ls = append(ls, t.rankLine(ranking[i]))
	}
	t.say(string(lines(ls...)))
	return nil
}

// cmdStats reports the last week: reports, communities that reported and
// the CDTOs silent for longer.
func (t *turn) cmdStats(string) error {
	if !t.admin() {
		return nil
	}
	s, err := t.e.store.Stats(t.ctx, t.now.Add(-statsPeriod))
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	ls := []string{t.tr("stats.text", locales.Args{
		"Reports": s.Reports, "Communities": s.CommunitiesReported, "Silent": len(s.SilentCDTOs),
	})}
	for i, c := range s.SilentCDTOs {
		if i == silentLimit {
			ls = append(ls, t.tr("ranking.gap", nil))
			break
		}
		last := locales.HTML(t.tr("stats.never", nil))
		if c.LastReport != nil {
			last = locales.HTML(locales.Date(*c.LastReport, t.lang))
		}
		ls = append(ls, t.tr("stats.silent_line", locales.Args{"Ref": c.Ref, "Name": c.Name, "Last": last}))
	}
	t.say(string(lines(ls...)))
	return nil
}
