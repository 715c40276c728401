package dialogs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/locales"
)

// errStale rejects a button that does not belong to the chat's latest menu.
// Handlers return it before any side effect, and the turn then stores
// nothing and answers "this menu is out of date".
var errStale = errors.New("stale menu")

// turn is the handling of one event: the person, the dialog state being
// moved on, and the replies.
type turn struct {
	e    *Engine
	ctx  context.Context
	ev   bot.Event
	user *hromadabot.User
	lang string
	now  time.Time
	year int

	// old is the state before the event, against which a button is checked;
	// st is the state after it.
	old state
	st  *state

	out []bot.Reply
	// keep stores the state as it was (for /help and unknown commands),
	// so the buttons already on screen stay live.
	keep bool
}

func (e *Engine) newTurn(ctx context.Context, ev bot.Event) (*turn, error) {
	u, err := e.store.EnsureUser(ctx, ev.Platform, ev.UserID, hromadabot.NormalizeLanguage(ev.LanguageCode))
	if err != nil {
		return nil, fmt.Errorf("ensure user: %w", err)
	}
	if u.Blocked {
		// A person who writes to the bot has unblocked it.
		u.Blocked = false
		if err := e.store.UpdateUser(ctx, u, ev.Platform+":"+ev.UserID); err != nil {
			return nil, fmt.Errorf("unblock user: %w", err)
		}
	}
	now := e.now()
	return &turn{e: e, ctx: ctx, ev: ev, user: u, lang: e.loc.Language(u.Language), now: now, year: hromadabot.CurrentYear(now)}, nil
}

// run applies the event to the stored state and returns the state to store.
func (t *turn) run(stored []byte) ([]byte, error) {
	st, ok := decodeState(stored)
	t.old = *st
	t.st = st
	st.Seq++
	st.Ctx, st.Offer = 0, nil

	if !ok {
		// decodeState started over at the main menu.
		t.say(t.tr("reply.reset", nil))
	}
	var err error
	name, arg, isCommand := parseCommand(t.ev.Text)
	byButton, isCommandPayload := commandPayloads[t.ev.Payload]
	switch {
	case isCommandPayload:
		// Stateless: it works whatever the dialog's state, even after a reset.
		err = t.command(byButton, "")
	case t.ev.Payload != "" && !ok:
		// A button from before the reset means nothing any more.
		t.mainMenu("")
	case t.ev.Payload != "":
		err = t.press(t.ev.Payload)
	case t.ev.Unsupported != "" && t.ev.Text == "" && t.ev.Attachment == nil:
		// A sticker or a location means nothing to any step: say what is
		// understood and leave the dialog where it is.
		t.keep = true
		t.say(t.tr("reply.unsupported", nil))
	case isCommand:
		err = t.command(name, arg)
	default:
		err = inputs[st.Step](t)
	}
	if errors.Is(err, errStale) {
		t.out = []bot.Reply{{Text: t.tr("reply.stale", nil), KeepMenu: true}}
		return stored, nil
	}
	if err != nil {
		return nil, err
	}
	if t.keep && ok {
		for i := range t.out {
			t.out[i].KeepMenu = len(t.out[i].Buttons) == 0
		}
		return stored, nil
	}
	return st.encode(), nil
}

// press runs a button after checking that it belongs to the latest menu:
// its payload parses, carries the menu's sequence number, is an action of
// the current step and names a community of the menu's context.
func (t *turn) press(raw string) error {
	p, ok := parsePayload(raw)
	if !ok || p.Seq != t.old.Seq {
		return errStale
	}
	tr, ok := transitions[t.old.Step][p.Act]
	if !ok {
		return errStale
	}
	if tr.community && !t.old.allows(p.C) {
		return errStale
	}
	return tr.run(t, p)
}

// parseCommand splits "/score@hromadabot Буча" into "score" and "Буча".
func parseCommand(text string) (name, arg string, ok bool) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") {
		return "", "", false
	}
	name, arg, _ = strings.Cut(text[1:], " ")
	name, _, _ = strings.Cut(name, "@")
	return strings.ToLower(name), strings.TrimSpace(arg), true
}

// commands are the slash commands; each works in every step. All but
// /help leave the flow under way.
var commands map[string]func(t *turn, arg string) error

func init() {
	commands = map[string]func(t *turn, arg string) error{
		"start":       (*turn).cmdStart,
		"help":        (*turn).cmdHelp,
		"cancel":      (*turn).cmdCancel,
		"menu":        (*turn).cmdMenu,
		"score":       (*turn).cmdScore,
		"ranking":     (*turn).cmdRanking,
		"top":         (*turn).cmdRanking,
		"indicators":  (*turn).cmdIndicators,
		"subscribe":   (*turn).cmdSubscribe,
		"unsubscribe": (*turn).cmdUnsubscribe,
		"community":   (*turn).cmdCommunity,
		"language":    (*turn).cmdLanguage,
		"join":        (*turn).cmdJoin,
		"report":      (*turn).cmdReport,
		"undo":        (*turn).cmdUndo,
		"myreports":   (*turn).cmdMyReports,
		"invite":      (*turn).cmdInvite,
		"communities": (*turn).cmdCommunities,
		"stats":       (*turn).cmdStats,
		"broadcast":   (*turn).cmdBroadcast,
	}
}

func (t *turn) command(name, arg string) error {
	run, ok := commands[name]
	if !ok {
		t.keep = true
		t.say(t.tr("reply.unknown_command", nil))
		return nil
	}
	if name != "help" {
		t.st.rest()
	}
	return run(t, arg)
}

// Replies.

func (t *turn) tr(key string, args locales.Args) string { return t.e.loc.T(t.lang, key, args) }

// label renders a button label: plain text, not HTML.
func (t *turn) label(key string, args locales.Args) string { return t.e.loc.Plain(t.lang, key, args) }

// button makes a button of the menu being built: its payload carries the
// state's new sequence number.
func (t *turn) button(label, act string, c int64, n int) bot.Button {
	return bot.Button{Text: label, Payload: payload{Seq: t.st.Seq, Act: act, C: c, N: n}.String()}
}

func (t *turn) say(text string, rows ...[]bot.Button) {
	t.out = append(t.out, bot.Reply{Text: text, Buttons: rows})
}

// sayError answers a domain error in the person's language.
func (t *turn) sayError(err error, rows ...[]bot.Button) {
	t.say(t.e.loc.Error(t.lang, err), rows...)
}

// domain reports whether err is a domain error to tell the person about,
// rather than an infrastructure failure to abort the turn with.
func domain(err error) bool {
	var e *hromadabot.Error
	return errors.As(err, &e) && e.Code != hromadabot.EINTERNAL
}

func (t *turn) actor() string { return t.ev.Platform + ":" + t.ev.UserID }

func (t *turn) isCDTO() bool {
	return t.user.Role == hromadabot.RoleCDTO && t.user.CommunityID > 0
}

func (t *turn) isAdmin() bool { return t.e.isAdmin(t.ev.Platform, t.ev.UserID) }

// value writes an indicator's value, or "not reported yet" for nil.
func (t *turn) value(ind *hromadabot.Indicator, v *float64) string {
	if v == nil {
		return t.tr("indicator.no_value", nil)
	}
	return t.e.loc.Value(t.lang, ind.Unit, *v)
}

// target writes the completion the plan expects by the end of this year.
func (t *turn) target(ind *hromadabot.Indicator) string {
	c := ind.CumulativeTarget(t.year)
	if ind.Unit == hromadabot.UnitYesNo {
		if c < 0.5 {
			return t.tr("indicator.no_target", nil)
		}
		return t.e.loc.Value(t.lang, ind.Unit, 1)
	}
	return t.e.loc.Value(t.lang, ind.Unit, 100*c)
}

// delta writes an index change as "+2,2", "−1,5" or "±0".
func (t *turn) delta(before, after float64) string {
	d := math.Round((after-before)*10) / 10
	s := hromadabot.FormatNumber(math.Abs(d), 1, t.lang)
	switch {
	case s == "0":
		return "±0"
	case d > 0:
		return "+" + s
	default:
		return "−" + s
	}
}

// clip bounds typed text before it is searched for or echoed.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// lines joins rendered messages into one trusted fragment.
func lines(ls ...string) locales.HTML {
	return locales.HTML(strings.Join(ls, "\n"))
}
