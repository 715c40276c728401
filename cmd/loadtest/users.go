package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/bot/telegramtest"
)

// The people the harness plays. Each kind follows a script of actions; an
// action is a typed message or a pressed button, and names a part of the
// reply that shows the bot did the right thing. The texts are the bot's
// Ukrainian ones (locales/uk.json), which every simulated person uses.
type kind int

const (
	// resident asks for a community's score card by name, then presses
	// the card's ranking button.
	resident kind = iota
	// cdto joins with an invite code once, then reports again and again:
	// /report N, the value, Skip, Save.
	cdto
	// opener joins and opens a report, and leaves it open.
	opener
	// echoer talks to the echo bot: a message, then its button.
	echoer
)

// Labels and reply parts of the scripts.
const (
	rankingButton = "🏆 Рейтинг"
	skipButton    = "Пропустити"
	saveButton    = "💾 Зберегти"
	lowerButton   = "Так, зменшити"
	echoButton    = "↩"

	scoreReply    = "Цифровий індекс"
	rankingReply  = "Рейтинг громад"
	joinedReply   = "Тепер ви — CDTO"
	valueReply    = "Поточне значення"
	lowerReply    = "Зменшити?"
	evidenceReply = "Додайте коментар"
	summaryReply  = "Перевірте звіт:"
	savedReply    = "Звіт збережено"
	echoReply     = "echo:"
	pressedReply  = "pressed"
)

// Stages of the scripts.
const (
	stageScore = iota
	stageRanking
	stageJoin
	stageReport
	stageValue
	stageLower
	stageSkip
	stageSave
	stageDone
	stageEchoText
	stageEchoPress
)

// action is one thing a person does.
type action struct {
	text   string // typed, or
	press  string // the label of a button on the latest bot message showing it
	expect string // a part of the reply that means success
}

// user is one simulated person and where their script stands.
type user struct {
	tg    telegramtest.User
	kind  kind
	index int
	stage int
	// cycles counts the script's rounds, to vary names and indicators.
	cycles int
	// code is a CDTO's invite code, community their community.
	code      string
	community int64
	indicator int

	// act is the action in flight.
	act      action
	inFlight bool
	// lost is set while the reply to a timed-out update is awaited.
	lost   bool
	sentAt time.Time
	// gen tells this update's timeout from an earlier one's.
	gen int

	// vid is the person's Viber id, for the Viber driver, which also keeps
	// here what came of the callback in flight: got is set by the bot's
	// first message to them, texts are its messages' texts, answered is
	// set by the webhook's answer and status is that answer's.
	vid      string
	got      bool
	texts    []string
	answered bool
	status   int
}

// world is what the scripts draw on.
type world struct {
	names  []string // community names that find exactly one community
	plan   hromadabot.Plan
	values map[[2]int64]int // (community, indicator) → reports made, for rising values
}

// next is the user's next action.
func (w *world) next(u *user) action {
	switch u.stage {
	case stageScore:
		name := w.names[(u.index*7919+u.cycles*104729)%len(w.names)]
		return action{text: "/score " + name, expect: scoreReply}
	case stageRanking:
		return action{press: rankingButton, expect: rankingReply}
	case stageJoin:
		return action{text: "/join " + u.code, expect: joinedReply}
	case stageReport:
		ind := w.plan.Indicators[(u.index+u.cycles)%len(w.plan.Indicators)]
		u.indicator = ind.ID
		return action{text: "/report " + strconv.Itoa(ind.ID), expect: valueReply}
	case stageValue:
		return action{text: w.value(u), expect: evidenceReply}
	case stageLower:
		return action{press: lowerButton, expect: evidenceReply}
	case stageSkip:
		return action{press: skipButton, expect: summaryReply}
	case stageSave:
		return action{press: saveButton, expect: savedReply}
	case stageEchoText:
		return action{text: "/score " + w.names[(u.index+u.cycles)%len(w.names)], expect: echoReply}
	case stageEchoPress:
		return action{press: echoButton, expect: pressedReply}
	}
	panic("loadtest: no action at stage " + strconv.Itoa(u.stage))
}

// value is the next value a CDTO reports: percentages rise by 5 points a
// report up to 100, so that a value is seldom lower than the current one
// (CDTOs sharing a community may still cross, and the script confirms).
func (w *world) value(u *user) string {
	ind, ok := w.plan.Indicator(u.indicator)
	if ok && ind.Unit == hromadabot.UnitYesNo {
		return "так"
	}
	key := [2]int64{u.community, int64(u.indicator)}
	w.values[key]++
	return strconv.Itoa(min(100, 5*w.values[key]))
}

// advance moves the script on after a right reply; lower is a reply
// asking to confirm a lower value, which the CDTO confirms.
func (u *user) advance(lower bool) {
	if lower {
		u.stage = stageLower
		return
	}
	switch u.stage {
	case stageScore:
		u.stage = stageRanking
	case stageRanking:
		u.stage, u.cycles = stageScore, u.cycles+1
	case stageJoin:
		u.stage = stageReport
	case stageReport:
		u.stage = stageValue
		if u.kind == opener {
			u.stage = stageDone
		}
	case stageValue, stageLower:
		u.stage = stageSkip
	case stageSkip:
		u.stage = stageSave
	case stageSave:
		u.stage, u.cycles = stageReport, u.cycles+1
	case stageEchoText:
		u.stage = stageEchoPress
	case stageEchoPress:
		u.stage, u.cycles = stageEchoText, u.cycles+1
	}
}

// accepts reports whether reply is a right answer to act at the user's
// stage; the value step may also ask to confirm a lower value.
func accepts(u *user, act action, reply string) (ok, lower bool) {
	if strings.Contains(reply, act.expect) {
		return true, false
	}
	if u.stage == stageValue && strings.Contains(reply, lowerReply) {
		return true, true
	}
	return false, false
}

// restart puts the user back at the start of their round after a wrong
// answer or a timeout: a new command starts every flow over.
func (u *user) restart() {
	switch u.kind {
	case resident:
		u.stage = stageScore
	case cdto, opener:
		// A join that went wrong is not tried again: the code may be used
		// up already, and the reports that follow show what went wrong.
		u.stage = stageReport
	case echoer:
		u.stage = stageEchoText
	}
	u.cycles++
}
