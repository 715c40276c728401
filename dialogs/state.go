package dialogs

import (
	"crypto/rand"
	"encoding/json"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/hromadabot/hromadabot/bot"
)

// Step is where a chat's dialog stands: what a typed message means there
// and which buttons are live.
type Step string

// The steps. StepMenu is the resting step: no flow is under way, typed
// text is a community search.
const (
	StepMenu      Step = "menu"
	StepLanguage  Step = "language"  // choosing the language
	StepCommunity Step = "community" // choosing "my community"
	StepPick      Step = "pick"      // report: choosing the indicator
	StepValue     Step = "value"     // report: entering the value
	StepLower     Step = "lower"     // report: confirming a value lower than the current one
	StepEvidence  Step = "evidence"  // report: optional comment, link or file
	StepSummary   Step = "summary"   // report: Save or Cancel
	StepAudience  Step = "audience"  // announcement: choosing who gets it
	StepAnnounce  Step = "announce"  // announcement: entering the text
	StepPreview   Step = "preview"   // announcement: the preview, Send or Cancel
)

// stateVersion is the layout of the stored state. A state of another
// version (written by an older or newer bot) is not guessed at: the dialog
// restarts at the main menu with a polite note.
const stateVersion = 1

// state is one chat's dialog, stored as JSON.
type state struct {
	V    int  `json:"v"`
	Step Step `json:"step"`
	// Seq numbers the chat's latest menu. Every button carries it, so a
	// button of any earlier message is recognised as stale. It starts at a
	// random value so that a menu from before an expired state does not
	// match a new one.
	Seq uint32 `json:"seq"`
	// Ctx is the community the latest menu is about; Offer lists the
	// communities it offers to choose from. A button naming any other
	// community is stale.
	Ctx   int64   `json:"ctx,omitempty"`
	Offer []int64 `json:"offer,omitempty"`
	// Draft is the report under way in the report steps.
	Draft *draft `json:"draft,omitempty"`
	// Ann is the announcement under way in the announcement steps.
	Ann *announcement `json:"ann,omitempty"`
}

// draft is a report being composed.
type draft struct {
	// Nonce tells one draft from another; it dedupes the save when the
	// channel gives no update id.
	Nonce     string   `json:"nonce"`
	Community int64    `json:"community"`
	Indicator int      `json:"indicator,omitempty"`
	Value     *float64 `json:"value,omitempty"`
	Comment   string   `json:"comment,omitempty"`
	Evidence  string   `json:"evidence,omitempty"`
	// EvidenceKind is "photo", "document" or "" for a link.
	EvidenceKind string `json:"evidence_kind,omitempty"`
	EvidenceName string `json:"evidence_name,omitempty"`
}

// announcement is an admin's announcement being composed.
type announcement struct {
	// Nonce makes storing it idempotent: a Send repeated after a failure
	// stores one job.
	Nonce    string `json:"nonce"`
	Audience string `json:"audience,omitempty"`
	Text     string `json:"text,omitempty"`
}

func newState() *state {
	return &state{V: stateVersion, Step: StepMenu, Seq: mrand.Uint32() >> 8}
}

func newDraft(community int64) *draft {
	return &draft{Nonce: rand.Text()[:12], Community: community}
}

// decodeState reads a stored state. ok is false when there was a state but
// it could not be used (another version, or damaged); the caller then starts
// over politely.
func decodeState(b []byte) (st *state, ok bool) {
	if len(b) == 0 {
		return newState(), true
	}
	st = new(state)
	if err := json.Unmarshal(b, st); err != nil || st.V != stateVersion || st.Step == "" {
		return newState(), false
	}
	if _, known := transitions[st.Step]; !known {
		return newState(), false
	}
	if !st.complete() {
		return newState(), false // a flow's step without the flow's data
	}
	return st, true
}

// complete reports whether the state holds what its step needs: the draft
// in a report step, the announcement so far in an announcement step.
func (st *state) complete() bool {
	switch st.Step {
	case StepMenu, StepLanguage, StepCommunity:
		return true
	case StepAudience:
		return st.Ann != nil && st.Ann.Nonce != ""
	case StepAnnounce:
		return st.Ann != nil && st.Ann.Nonce != "" && slices.Contains(audiences, st.Ann.Audience)
	case StepPreview:
		return st.Ann != nil && st.Ann.Nonce != "" && slices.Contains(audiences, st.Ann.Audience) && st.Ann.Text != ""
	}
	return st.Draft != nil && st.Draft.Community > 0
}

// rest ends any flow under way: the dialog is back at the main menu.
func (st *state) rest() {
	st.Step, st.Draft, st.Ann = StepMenu, nil, nil
}

func (st *state) encode() []byte {
	b, err := json.Marshal(st)
	if err != nil {
		panic(err) // the state holds only plain values
	}
	return b
}

// allows reports whether a button naming community id belongs to the
// latest menu's context.
func (st *state) allows(id int64) bool {
	return id > 0 && (id == st.Ctx || slices.Contains(st.Offer, id))
}

// Button actions. They are short because a payload has at most
// bot.MaxPayload bytes.
const (
	actMenu        = "m"  // main menu
	actLanguage    = "l"  // N: 0 Ukrainian, 1 English
	actChoose      = "c"  // C: make it my community
	actScore       = "s"  // C: score card
	actRanking     = "r"  // ranking
	actIndicators  = "i"  // C: the indicator list
	actIndPage     = "ip" // C, N: another page of the indicator list, edited in place
	actDetail      = "d"  // C, N: indicator detail
	actSubscribe   = "sb" // C: subscribe to the community's digest
	actUnsubscribe = "us" // unsubscribe
	actCommunity   = "cc" // change my community
	actLanguages   = "cl" // change language
	actReport      = "rp" // C, N: start a report (N: indicator, 0 to pick)
	actMyReports   = "my" // my reports
	actPick        = "pi" // C, N: report on indicator N
	actPage        = "pg" // C, N: page of the indicator picker
	actValue       = "v"  // C, N: yes (1) or no (0)
	actLower       = "lo" // C, N: confirm (1) or re-enter (0) a lower value
	actSkip        = "sk" // C: no evidence
	actSave        = "sv" // C: save the report
	actCancel      = "x"  // cancel the flow
	actAudience    = "au" // N: the announcement's audience (index in audiences)
	actSend        = "se" // send the announcement
)

// Command payloads are the buttons that stand for a command rather than
// for a menu's choice. A broadcast message outlives every menu, so its
// buttons carry these: pressing one is typing the command, which checks on
// its own who may run it (/report is only for a CDTO, and for their own
// community; /unsubscribe changes only the person who pressed it). Only
// these exact payloads are taken as commands; any other payload that is not
// the latest menu's is stale.
const (
	PayloadReport      = "/report"
	PayloadUnsubscribe = "/unsubscribe"
	PayloadScore       = "/score"
	PayloadMenu        = "/menu"
)

// commandPayloads maps each command payload to its command.
var commandPayloads = map[string]string{
	PayloadReport:      "report",
	PayloadUnsubscribe: "unsubscribe",
	PayloadScore:       "score",
	PayloadMenu:        "menu",
}

// payloadVersion starts every payload, so that the format can change
// without old buttons being misread.
const payloadVersion = "1"

// payload is what a button carries: "1:<seq>:<action>:<community>:<n>",
// with seq and community in base 36, e.g. "1:5k2q:pi:a3:7".
type payload struct {
	Seq uint32
	Act string
	C   int64
	N   int
}

func (p payload) String() string {
	return payloadVersion + ":" + strconv.FormatUint(uint64(p.Seq), 36) + ":" + p.Act + ":" +
		strconv.FormatInt(p.C, 36) + ":" + strconv.Itoa(p.N)
}

// parsePayload reads a payload; ok is false for anything it did not write.
func parsePayload(s string) (p payload, ok bool) {
	if len(s) > bot.MaxPayload {
		return p, false
	}
	parts := strings.Split(s, ":")
	if len(parts) != 5 || parts[0] != payloadVersion {
		return p, false
	}
	seq, err := strconv.ParseUint(parts[1], 36, 32)
	if err != nil {
		return p, false
	}
	c, err := strconv.ParseInt(parts[3], 36, 64)
	if err != nil || c < 0 {
		return p, false
	}
	n, err := strconv.Atoi(parts[4])
	if err != nil || n < 0 || n > 1_000_000 {
		return p, false
	}
	return payload{Seq: uint32(seq), Act: parts[2], C: c, N: n}, true
}

// transition is what pressing a button does in a step. community says the
// payload must name a community of the menu's context (state.allows).
type transition struct {
	community bool
	run       func(t *turn, p payload) error
}

// transitions is the dialog's table: for every step, the buttons its menus
// carry and what each does. A button not listed for the current step is
// stale, whatever its payload says.
var transitions map[Step]map[string]transition

// inputs says what a typed message (or a sent file) means in each step.
var inputs map[Step]func(t *turn) error

func init() {
	// Filled in init because the handlers refer back to the tables.
	menu := map[string]transition{
		actMenu:        {run: (*turn).pressMenu},
		actScore:       {community: true, run: (*turn).pressScore},
		actRanking:     {run: (*turn).pressRanking},
		actIndicators:  {community: true, run: (*turn).pressIndicators},
		actIndPage:     {community: true, run: (*turn).pressIndicatorPage},
		actDetail:      {community: true, run: (*turn).pressDetail},
		actSubscribe:   {community: true, run: (*turn).pressSubscribe},
		actUnsubscribe: {run: (*turn).pressUnsubscribe},
		actCommunity:   {run: (*turn).pressCommunity},
		actLanguages:   {run: (*turn).pressLanguages},
		actReport:      {community: true, run: (*turn).pressReport},
		actMyReports:   {run: (*turn).pressMyReports},
	}
	cancel := transition{run: (*turn).pressCancel}
	transitions = map[Step]map[string]transition{
		StepMenu:      menu,
		StepLanguage:  {actLanguage: {run: (*turn).pressLanguage}, actMenu: menu[actMenu]},
		StepCommunity: {actChoose: {community: true, run: (*turn).pressChoose}, actMenu: menu[actMenu]},
		StepPick: {
			actPick:   {community: true, run: (*turn).pressPick},
			actPage:   {community: true, run: (*turn).pressPage},
			actCancel: cancel,
		},
		StepValue:    {actValue: {community: true, run: (*turn).pressValue}, actCancel: cancel},
		StepLower:    {actLower: {community: true, run: (*turn).pressLower}, actCancel: cancel},
		StepEvidence: {actSkip: {community: true, run: (*turn).pressSkip}, actCancel: cancel},
		StepSummary:  {actSave: {community: true, run: (*turn).pressSave}, actCancel: cancel},
		StepAudience: {actAudience: {run: (*turn).pressAudience}, actCancel: cancel},
		StepAnnounce: {actCancel: cancel},
		StepPreview:  {actSend: {run: (*turn).pressSend}, actCancel: cancel},
	}
	inputs = map[Step]func(t *turn) error{
		StepMenu:      (*turn).typeSearch,
		StepLanguage:  (*turn).typeLanguage,
		StepCommunity: (*turn).typeCommunity,
		StepPick:      (*turn).typePick,
		StepValue:     (*turn).typeValue,
		StepLower:     (*turn).typeLower,
		StepEvidence:  (*turn).typeEvidence,
		StepSummary:   (*turn).typeSummary,
		StepAudience:  (*turn).typeAudience,
		StepAnnounce:  (*turn).typeAnnouncement,
		StepPreview:   (*turn).typeAnnouncement,
	}
}
