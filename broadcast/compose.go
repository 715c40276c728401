package broadcast

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/locales"
)

// Button payloads. A broadcast message outlives any dialog menu, so its
// buttons carry the command they stand for rather than a menu's payload:
// the dialogs treat such a payload as the typed command, which checks on
// its own who may run it. They are the dialogs' command payloads
// (dialogs.PayloadReport, dialogs.PayloadUnsubscribe); a test holds them
// equal.
const (
	PayloadReport      = "/report"
	PayloadUnsubscribe = "/unsubscribe"
)

// Audiences of an announcement.
const (
	// AudienceCDTO is every CDTO who has not blocked the bot.
	AudienceCDTO = "cdto"
	// AudienceResidents is every resident subscribed to the digest who has
	// not blocked the bot: announcements go to people who asked for news.
	AudienceResidents = "residents"
	// AudienceAll is both.
	AudienceAll = "all"
)

// MaxAnnouncement is the longest announcement, in characters; a chat
// message holds 4096.
const MaxAnnouncement = 4000

// silentAfter is how long without a report makes a CDTO due a reminder.
const silentAfter = 7 * 24 * time.Hour

// Announcement is an admin's message to an audience.
type Announcement struct {
	// Audience is AudienceCDTO, AudienceResidents or AudienceAll.
	Audience string
	// CommunityID keeps the audience to one community; 0 means all.
	CommunityID int64
	// Text is plain text; it is escaped for the reply HTML.
	Text string
	// Now sends during quiet hours too.
	Now bool
	// Actor is who made it, for the audit log ("cli", "telegram:123").
	Actor string
	// Key, when set, makes storing it idempotent: an announcement with the
	// key of a stored one stores nothing and returns that one. Empty means
	// a new job every time.
	Key string
}

// Announce stores an announcement job with its audience and returns it;
// the running bot sends it. EINVALID for an unknown audience or an empty or
// too long text.
func Announce(ctx context.Context, store JobStore, a Announcement) (*hromadabot.Broadcast, error) {
	rs, err := announcementRecipients(ctx, store, a)
	if err != nil {
		return nil, err
	}
	key := a.Key
	if key == "" {
		key = rand.Text()[:16]
	}
	b := &hromadabot.Broadcast{
		Kind: hromadabot.BroadcastAnnouncement, Key: "announce:" + key,
		OverrideQuiet: a.Now, CreatedBy: a.Actor,
	}
	if _, err := store.CreateBroadcast(ctx, b, rs); err != nil {
		return nil, err
	}
	return b, nil
}

// announcementRecipients checks an announcement's audience and text and
// returns its recipients as of now, each with the message.
func announcementRecipients(ctx context.Context, store JobStore, a Announcement) ([]hromadabot.Recipient, error) {
	text := strings.TrimSpace(a.Text)
	switch {
	case a.Audience != AudienceCDTO && a.Audience != AudienceResidents && a.Audience != AudienceAll:
		return nil, hromadabot.FieldErrorf("audience", "audience_invalid", "audience must be cdto, residents or all, got %q", a.Audience)
	case text == "":
		return nil, hromadabot.FieldErrorf("text", "announcement_text_required", "announcement text is required")
	case utf8.RuneCountInString(text) > MaxAnnouncement:
		return nil, hromadabot.FieldErrorf("text", "announcement_text_too_long", "announcement text is longer than %d characters", MaxAnnouncement)
	}
	var filters []hromadabot.UserFilter
	if a.Audience != AudienceResidents {
		filters = append(filters, hromadabot.UserFilter{CommunityID: a.CommunityID, Role: hromadabot.RoleCDTO, NotBlocked: true})
	}
	if a.Audience != AudienceCDTO {
		filters = append(filters, hromadabot.UserFilter{CommunityID: a.CommunityID, Role: hromadabot.RoleResident, Subscribed: true, NotBlocked: true})
	}
	var rs []hromadabot.Recipient
	body := html.EscapeString(text)
	for _, f := range filters {
		us, err := store.Users(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			if reachable(&u) {
				rs = append(rs, recipient(&u, body, ""))
			}
		}
	}
	return rs, nil
}

// reachable reports whether a broadcast can reach the user: a console
// user has no chat to send to later.
func reachable(u *hromadabot.User) bool {
	return u.Platform != hromadabot.PlatformConsole
}

func recipient(u *hromadabot.User, text, buttons string) hromadabot.Recipient {
	return hromadabot.Recipient{UserID: u.ID, Platform: u.Platform, PlatformID: u.PlatformID, Text: text, Buttons: buttons}
}

// buttonsJSON stores one button as the row of buttons of a message.
func buttonsJSON(label, payload string) string {
	b, err := json.Marshal([][]bot.Button{{{Text: label, Payload: payload}}})
	if err != nil {
		panic(err) // a plain struct always marshals
	}
	return string(b)
}

// composer renders the messages of one job, caching what recipients share.
type composer struct {
	s    *Service
	ctx  context.Context
	now  time.Time
	year int

	plans       map[int64]*hromadabot.Plan
	communities map[int64]*hromadabot.Community
}

func (s *Service) composer(ctx context.Context, now time.Time) *composer {
	return &composer{s: s, ctx: ctx, now: now, year: hromadabot.CurrentYear(now),
		plans: make(map[int64]*hromadabot.Plan), communities: make(map[int64]*hromadabot.Community)}
}

func (c *composer) plan(id int64) (*hromadabot.Plan, error) {
	return memo(c.plans, id, func() (*hromadabot.Plan, error) { return c.s.store.Plan(c.ctx, id) })
}

func (c *composer) community(id int64) (*hromadabot.Community, error) {
	return memo(c.communities, id, func() (*hromadabot.Community, error) { return c.s.store.Community(c.ctx, id) })
}

// memo returns m[id], loading and keeping it on first use.
func memo[T any](m map[int64]*T, id int64, load func() (*T, error)) (*T, error) {
	if v, ok := m[id]; ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return nil, fmt.Errorf("community %d: %w", id, err)
	}
	m[id] = v
	return v, nil
}

func (c *composer) tr(lang, key string, args locales.Args) string { return c.s.loc.T(lang, key, args) }

// reminders are the CDTO reminders due at now: to each CDTO who has not
// blocked the bot and whose community has had no report for a week or has
// indicators behind this year's target.
func (c *composer) reminders() ([]hromadabot.Recipient, error) {
	cdtos, err := c.s.store.Users(c.ctx, hromadabot.UserFilter{Role: hromadabot.RoleCDTO, NotBlocked: true})
	if err != nil {
		return nil, err
	}
	scores, err := c.s.store.ScoresAsOf(c.ctx, c.year, c.now)
	if err != nil {
		return nil, err
	}
	last, err := c.s.store.LastReportTimes(c.ctx)
	if err != nil {
		return nil, err
	}
	var rs []hromadabot.Recipient
	for _, u := range cdtos {
		if !reachable(&u) || u.CommunityID == 0 {
			continue
		}
		score := scores[u.CommunityID]
		var behind []hromadabot.IndicatorScore
		for _, is := range score.Indicators {
			if is.Status == hromadabot.StatusBehind || is.Status == hromadabot.StatusNotStarted {
				behind = append(behind, is)
			}
		}
		lastAt, reported := last[u.CommunityID]
		if reported && c.now.Sub(lastAt) < silentAfter && len(behind) == 0 {
			continue
		}
		text, err := c.reminder(&u, behind, lastAt, reported)
		if err != nil {
			return nil, err
		}
		lang := c.s.loc.Language(u.Language)
		rs = append(rs, recipient(&u, text, buttonsJSON(c.s.loc.Plain(lang, "button.report", nil), PayloadReport)))
	}
	return rs, nil
}

func (c *composer) reminder(u *hromadabot.User, behind []hromadabot.IndicatorScore, lastAt time.Time, reported bool) (string, error) {
	lang := c.s.loc.Language(u.Language)
	cm, err := c.community(u.CommunityID)
	if err != nil {
		return "", err
	}
	var last string
	switch days := int(c.now.Sub(lastAt) / (24 * time.Hour)); {
	case !reported:
		last = c.tr(lang, "broadcast.reminder_never", nil)
	case days == 0:
		last = c.tr(lang, "broadcast.reminder_today", nil)
	default:
		last = c.tr(lang, "broadcast.reminder_last", locales.Args{"Days": locales.HTML(c.tr(lang, "count.days", locales.Args{"Count": days}))})
	}
	var list string
	if len(behind) > 0 {
		plan, err := c.plan(u.CommunityID)
		if err != nil {
			return "", err
		}
		lines := make([]string, 0, len(behind))
		for _, is := range behind {
			ind, ok := plan.Indicator(is.ID)
			if !ok {
				continue
			}
			value := c.tr(lang, "indicator.no_value", nil)
			if is.Value != nil {
				value = c.s.loc.Value(lang, ind.Unit, *is.Value)
			}
			lines = append(lines, c.tr(lang, "broadcast.reminder_line", locales.Args{
				"Mark": locales.HTML(c.s.loc.Mark(is.Status)), "ID": ind.ID, "Title": ind.Short.In(lang),
				"Value": locales.HTML(value), "Target": locales.HTML(c.s.loc.Value(lang, ind.Unit, target(ind, is.Target))),
			}))
		}
		list = c.tr(lang, "broadcast.reminder_behind", locales.Args{
			"Year": c.year, "List": locales.HTML(strings.Join(lines, "\n")),
			"Indicators": locales.HTML(c.tr(lang, "count.indicators", locales.Args{"Count": len(lines)})),
		})
	}
	return c.tr(lang, "broadcast.reminder", locales.Args{
		"Name": cm.Label(), "Last": locales.HTML(last), "Behind": locales.HTML(list),
	}), nil
}

// target is a cumulative target (0..1) in the indicator's unit: percent, or
// 1 for "yes".
func target(ind *hromadabot.Indicator, t float64) float64 {
	if ind.Unit == hromadabot.UnitYesNo {
		return t
	}
	return 100 * t
}

// digests are the weekly digests due at now: to each subscribed user with a
// community who has not blocked the bot, about the community's week.
func (c *composer) digests() ([]hromadabot.Recipient, error) {
	users, err := c.s.store.Users(c.ctx, hromadabot.UserFilter{Subscribed: true, NotBlocked: true})
	if err != nil {
		return nil, err
	}
	var rs []hromadabot.Recipient
	if len(users) == 0 {
		return rs, nil
	}
	w, err := c.week()
	if err != nil {
		return nil, err
	}
	texts := make(map[string]string)
	for _, u := range users {
		if !reachable(&u) || u.CommunityID == 0 {
			continue
		}
		lang := c.s.loc.Language(u.Language)
		key := fmt.Sprintf("%d:%s", u.CommunityID, lang)
		text, ok := texts[key]
		if !ok {
			if text, err = c.digest(w, u.CommunityID, lang); err != nil {
				return nil, err
			}
			texts[key] = text
		}
		rs = append(rs, recipient(&u, text, buttonsJSON(c.s.loc.Plain(lang, "button.unsubscribe", nil), PayloadUnsubscribe)))
	}
	return rs, nil
}

// week is every community's score and rank now and a week ago.
type week struct {
	now, then         map[int64]hromadabot.Score
	rankNow, rankThen map[int64]int
	total             int
}

func (c *composer) week() (*week, error) {
	cs, err := c.s.store.Communities(c.ctx)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		c.communities[cs[i].ID] = &cs[i]
	}
	w := &week{total: len(cs)}
	if w.now, err = c.s.store.ScoresAsOf(c.ctx, c.year, c.now); err != nil {
		return nil, err
	}
	if w.then, err = c.s.store.ScoresAsOf(c.ctx, c.year, c.now.AddDate(0, 0, -7)); err != nil {
		return nil, err
	}
	w.rankNow, w.rankThen = ranks(cs, w.now), ranks(cs, w.then)
	return w, nil
}

// ranks ranks the communities by their scores' index as the national
// ranking does (community id → rank).
func ranks(cs []hromadabot.Community, scores map[int64]hromadabot.Score) map[int64]int {
	entries := make([]hromadabot.RankEntry, len(cs))
	for i, cm := range cs {
		s := scores[cm.ID]
		entries[i] = hromadabot.RankEntry{CommunityID: cm.ID, Name: cm.Name, Oblast: cm.Oblast, Index: s.Index, PlanFulfillment: s.PlanFulfillment}
	}
	out := make(map[int64]int, len(cs))
	for _, e := range hromadabot.Rank(entries) {
		out[e.CommunityID] = e.Rank
	}
	return out
}

func (c *composer) digest(w *week, id int64, lang string) (string, error) {
	cm, err := c.community(id)
	if err != nil {
		return "", err
	}
	plan, err := c.plan(id)
	if err != nil {
		return "", err
	}
	now, then := w.now[id], w.then[id]
	var done []string
	for _, is := range now.Indicators {
		was, _ := then.Indicator(is.ID)
		ind, ok := plan.Indicator(is.ID)
		if !ok || is.Status != hromadabot.StatusDone || was.Status == hromadabot.StatusDone {
			continue
		}
		done = append(done, c.tr(lang, "broadcast.digest_completed_line", locales.Args{"ID": ind.ID, "Title": ind.Short.In(lang)}))
	}
	completed := c.tr(lang, "broadcast.digest_none_completed", nil)
	if len(done) > 0 {
		completed = c.tr(lang, "broadcast.digest_completed", locales.Args{
			"Indicators": locales.HTML(c.tr(lang, "count.indicators", locales.Args{"Count": len(done)})),
			"List":       locales.HTML(strings.Join(done, "\n")),
		})
	}
	return c.tr(lang, "broadcast.digest", locales.Args{
		"Name": cm.Label(), "Index": now.Index, "Change": locales.HTML(c.change(lang, now.Index-then.Index)),
		"Rank": w.rankNow[id], "Total": w.total,
		"RankChange": locales.HTML(c.rankChange(lang, w.rankThen[id]-w.rankNow[id])),
		"Completed":  locales.HTML(completed),
	}), nil
}

// change writes an index change as "+2,2", "−1,5" or "±0", rounded as the
// index is shown.
func (c *composer) change(lang string, d float64) string {
	d = math.Round(d*10) / 10
	switch {
	case d >= 0.1:
		return c.tr(lang, "broadcast.index_up", locales.Args{"Delta": d})
	case d <= -0.1:
		return c.tr(lang, "broadcast.index_down", locales.Args{"Delta": -d})
	}
	return c.tr(lang, "broadcast.index_same", nil)
}

// rankChange writes how many places the community rose (up > 0) or fell.
func (c *composer) rankChange(lang string, up int) string {
	switch {
	case up > 0:
		return c.tr(lang, "broadcast.rank_up", locales.Args{"Places": locales.HTML(c.tr(lang, "broadcast.places", locales.Args{"Count": up}))})
	case up < 0:
		return c.tr(lang, "broadcast.rank_down", locales.Args{"Places": locales.HTML(c.tr(lang, "broadcast.places", locales.Args{"Count": -up}))})
	}
	return c.tr(lang, "broadcast.rank_same", nil)
}
