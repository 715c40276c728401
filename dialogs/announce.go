package dialogs

import (
	"crypto/rand"
	"fmt"
	"html"
	"strings"

	"github.com/hromadabot/hromadabot/bot"
	"github.com/hromadabot/hromadabot/locales"
)

// The admin's announcement: /broadcast → audience → text → preview with
// the audience's size → Send or Cancel. The Announcer stores the job; the
// running bot's broadcast engine sends it, at its rate and outside quiet
// hours.

// Audiences of an announcement, as the Announcer takes them.
const (
	// AudienceCDTO is every CDTO.
	AudienceCDTO = "cdto"
	// AudienceResidents is every resident subscribed to the digest.
	AudienceResidents = "residents"
	// AudienceAll is both.
	AudienceAll = "all"
)

// audiences are the choices of the audience buttons; a button's N is the
// index here.
var audiences = []string{AudienceCDTO, AudienceResidents, AudienceAll}

// mayAnnounce reports whether the person may make an announcement now, and
// otherwise says why and ends the flow. It is asked at every step, since
// the admins come from the configuration, which a restart may change
// while a flow is open.
func (t *turn) mayAnnounce() bool {
	switch {
	case !t.isAdmin():
		t.say(t.tr("admin.forbidden", nil))
	case t.e.ann == nil:
		t.say(t.tr("announce.not_configured", nil))
	default:
		return true
	}
	t.st.rest()
	return false
}

func (t *turn) cmdBroadcast(string) error {
	if !t.mayAnnounce() {
		return nil
	}
	t.st.Ann = &announcement{Nonce: rand.Text()[:12]}
	t.askAudience()
	return nil
}

func (t *turn) askAudience() {
	t.st.Step = StepAudience
	t.say(t.tr("announce.audience", nil),
		[]bot.Button{
			t.button(t.label("button.audience_cdto", nil), actAudience, 0, 0),
			t.button(t.label("button.audience_residents", nil), actAudience, 0, 1),
			t.button(t.label("button.audience_all", nil), actAudience, 0, 2),
		},
		t.cancelRow())
}

// typeAudience answers typing where a button is expected by asking again.
func (t *turn) typeAudience() error {
	if t.mayAnnounce() {
		t.askAudience()
	}
	return nil
}

func (t *turn) pressAudience(p payload) error {
	if p.N >= len(audiences) {
		return errStale
	}
	if !t.mayAnnounce() {
		return nil
	}
	t.st.Ann.Audience = audiences[p.N]
	t.askText("")
	return nil
}

// audienceName says who an audience is, in a phrase ("усім CDTO").
func (t *turn) audienceName(audience string) locales.HTML {
	return locales.HTML(t.tr("announce.audience_"+audience, nil))
}

func (t *turn) askText(prefix string) {
	t.st.Step = StepAnnounce
	text := t.tr("announce.ask_text", locales.Args{"Audience": t.audienceName(t.st.Ann.Audience)})
	if prefix != "" {
		text = prefix + "\n\n" + text
	}
	t.say(text, t.cancelRow())
}

// typeAnnouncement takes the announcement's text, or at the preview a new
// text in place of the old, and shows the preview. The Announcer checks
// the text as it will when storing it, so a text the engine would refuse
// is asked for again here.
func (t *turn) typeAnnouncement() error {
	if !t.mayAnnounce() {
		return nil
	}
	if t.ev.Attachment != nil {
		t.askText(t.tr("announce.text_only", nil))
		return nil
	}
	a := t.st.Ann
	text := strings.TrimSpace(t.ev.Text)
	n, err := t.e.ann.Preview(t.ctx, a.Audience, 0, text)
	if domain(err) {
		t.askText(t.e.loc.Error(t.lang, err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("preview announcement: %w", err)
	}
	a.Text = text
	t.st.Step = StepPreview
	// The first message is the announcement as its recipients will see
	// it: plain text, escaped, as the broadcast stores it.
	t.say(html.EscapeString(text))
	t.say(t.tr("announce.preview", locales.Args{
		"Audience":   t.audienceName(a.Audience),
		"Recipients": locales.HTML(t.tr("count.recipients", locales.Args{"Count": n})),
	}), []bot.Button{
		t.button(t.label("button.send", nil), actSend, 0, 0),
		t.button(t.label("button.cancel", nil), actCancel, 0, 0),
	})
	return nil
}

// pressSend stores the announcement. Its key is the flow's nonce, so a
// Send pressed again after a failed turn stores no second job.
func (t *turn) pressSend(payload) error {
	if !t.mayAnnounce() {
		return nil
	}
	a := t.st.Ann
	id, n, err := t.e.ann.Announce(t.ctx, a.Nonce, a.Audience, 0, a.Text, t.actor())
	if domain(err) {
		t.askText(t.e.loc.Error(t.lang, err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("announce: %w", err)
	}
	t.e.log.InfoContext(t.ctx, "announcement stored", "job", id, "recipients", n, "admin", t.actor())
	t.st.rest()
	text := t.tr("announce.done_nobody", locales.Args{"ID": id})
	if n > 0 {
		text = t.tr("announce.done", locales.Args{
			"ID": id, "Recipients": locales.HTML(t.tr("count.recipients", locales.Args{"Count": n})),
		})
	}
	t.say(text, t.menuRows()...)
	return nil
}
