package locales

import (
	"fmt"
	"sync/atomic"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/nicksnyder/go-i18n/v2/i18n/template"
	"golang.org/x/text/language"
)

// form is a CLDR plural form, an index into a message's templates.
type form uint8

const (
	formZero form = iota
	formOne
	formTwo
	formFew
	formMany
	formOther
	numForms
)

var formNames = [numForms]string{"zero", "one", "two", "few", "many", "other"}

func (f form) String() string { return formNames[f] }

// formsOf lists a go-i18n message's templates by form.
func formsOf(m *i18n.Message) [numForms]string {
	return [numForms]string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other}
}

// probe is a message whose every form is its own name: localizing it with a
// count tells which form go-i18n's rules choose for that count, so the rules
// stay go-i18n's without go-i18n rendering our messages.
var probe = &i18n.Message{ID: "plural.form", Zero: "zero", One: "one", Two: "two", Few: "few", Many: "many", Other: "other"}

// smallCounts is how many counts, from zero, have their form remembered:
// the counts replies carry (indicators, days, communities) are far below it.
const smallCounts = 2048

// plurals chooses one language's plural form for a count.
type plurals struct {
	localizer *i18n.Localizer
	// small holds form+1 for the count at its index, 0 until first asked.
	// Asking go-i18n (~1 µs, a language match per call) once per count
	// keeps New cheap and every later render a load.
	small [smallCounts]atomic.Uint32
}

// newProbeBundle makes a bundle holding the probe in each of tags, with
// go-i18n's default plural rules, the ones the catalogues' bundle has.
func newProbeBundle(tags []language.Tag) (*i18n.Bundle, error) {
	bundle := i18n.NewBundle(language.Ukrainian)
	for _, tag := range tags {
		if err := bundle.AddMessages(tag, probe); err != nil {
			return nil, fmt.Errorf("plural rules for %s: %w", tag, err)
		}
	}
	return bundle, nil
}

// form returns the plural form for count, which may be any value go-i18n
// accepts as a plural count; it is an error for others (floats, for one).
func (p *plurals) form(count any) (form, error) {
	var n int64
	switch c := count.(type) {
	case int:
		n = int64(c)
	case int64:
		n = c
	default:
		return p.ask(count)
	}
	if n < 0 {
		// The rules look at the absolute value. -n overflows for the
		// smallest int64, which stays negative and goes to ask.
		n = -n
	}
	if n < 0 || n >= smallCounts {
		return p.ask(count)
	}
	if f := p.small[n].Load(); f != 0 {
		return form(f - 1), nil
	}
	f, err := p.ask(count)
	if err == nil {
		p.small[n].Store(uint32(f) + 1)
	}
	return f, err
}

// ask has go-i18n choose the form for count.
func (p *plurals) ask(count any) (form, error) {
	name, err := p.localizer.Localize(&i18n.LocalizeConfig{
		MessageID:      probe.ID,
		PluralCount:    count,
		TemplateParser: template.IdentityParser{},
	})
	if err != nil {
		return 0, err
	}
	for f, n := range formNames {
		if n == name {
			return form(f), nil
		}
	}
	return 0, fmt.Errorf("unknown plural form %q", name)
}
