// Package locales holds the bot's Ukrainian and English message catalogues
// and renders messages by key: CLDR plural forms (1 індикатор, 2 індикатори,
// 5 індикаторів), numbers in the reader's style ("47,3") and every argument
// HTML-escaped, because replies are Telegram HTML.
package locales

import (
	"embed"
	"fmt"
	"html"
	"io/fs"
	"strconv"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed uk.json en.json
var files embed.FS

// Languages are the catalogue's languages, the default first.
var Languages = []string{hromadabot.LangUK, hromadabot.LangEN}

// Args are the named arguments of a message. Strings are HTML-escaped when
// rendered, floats are written with one decimal in the language's style,
// times as dates in Kyiv; an HTML value is inserted as it is. The argument
// "Count" (an int) also chooses the plural form.
type Args map[string]any

// HTML is a trusted fragment of reply markup, typically another rendered
// message, that must not be escaped again.
type HTML string

// Catalog renders messages in the bot's languages. It is safe for
// concurrent use.
type Catalog struct {
	// catalogues are in the order of Languages, the default first; a scan
	// of two is cheaper than a map lookup on every render.
	catalogues []*catalogue
}

// catalogue is one language's messages, compiled at New so that a render
// neither matches languages nor runs text/template.
type catalogue struct {
	lang     string
	messages map[string]*message
	plurals  *plurals
}

// message holds a message's template for each plural form it has (nil for
// the others); a message without plurals has only "other".
type message [numForms]*compiled

// New loads the embedded catalogues.
func New() (*Catalog, error) {
	return load(files)
}

// load reads each language's catalogue, lang.json, from fsys. go-i18n
// parses the files and its rules choose plural forms; the templates are
// compiled here.
func load(fsys fs.FS) (*Catalog, error) {
	bundle := i18n.NewBundle(language.Ukrainian)
	parsed := make([]*i18n.MessageFile, 0, len(Languages))
	tags := make([]language.Tag, 0, len(Languages))
	for _, lang := range Languages {
		name := lang + ".json"
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read catalogue %s: %w", name, err)
		}
		f, err := bundle.ParseMessageFileBytes(buf, name)
		if err != nil {
			return nil, fmt.Errorf("parse catalogue %s: %w", name, err)
		}
		parsed = append(parsed, f)
		tags = append(tags, f.Tag)
	}
	probes, err := newProbeBundle(tags)
	if err != nil {
		return nil, err
	}
	c := &Catalog{catalogues: make([]*catalogue, 0, len(Languages))}
	for i, lang := range Languages {
		cat := &catalogue{
			lang:     lang,
			messages: make(map[string]*message, len(parsed[i].Messages)),
			plurals:  &plurals{localizer: i18n.NewLocalizer(probes, lang)},
		}
		for _, m := range parsed[i].Messages {
			msg, err := compileMessage(m)
			if err != nil {
				return nil, fmt.Errorf("catalogue %s.json: message %q: %w", lang, m.ID, err)
			}
			if msg == nil {
				// go-i18n keeps no template for a message without text,
				// so such a message is missing.
				delete(cat.messages, m.ID)
				continue
			}
			cat.messages[m.ID] = msg
		}
		c.catalogues = append(c.catalogues, cat)
	}
	return c, nil
}

// compileMessage compiles each form of m, or returns nil when m has none.
func compileMessage(m *i18n.Message) (*message, error) {
	var msg message
	empty := true
	for f, src := range formsOf(m) {
		if src == "" {
			continue
		}
		t, err := compile(src, m.LeftDelim, m.RightDelim)
		if err != nil {
			return nil, fmt.Errorf("form %s: %w", form(f), err)
		}
		msg[f] = t
		empty = false
	}
	if empty {
		return nil, nil
	}
	return &msg, nil
}

// Language returns lang when the catalogue speaks it and Ukrainian otherwise.
func (c *Catalog) Language(lang string) string {
	return c.catalogue(lang).lang
}

// catalogue returns lang's catalogue, the default language's when the
// catalogue does not speak lang.
func (c *Catalog) catalogue(lang string) *catalogue {
	for _, cat := range c.catalogues {
		if cat.lang == lang {
			return cat
		}
	}
	return c.catalogues[0]
}

// Render returns the message key in lang with args, or an error when the key
// is missing in that language or the template does not render.
func (c *Catalog) Render(lang, key string, args Args) (string, error) {
	return c.render(lang, key, args, true)
}

// render renders as go-i18n would with text/template and missingkey=error,
// except that a message missing in lang is an error instead of the default
// language's text: a missing translation is a bug the tests must see.
func (c *Catalog) render(lang, key string, args Args, escape bool) (string, error) {
	cat := c.catalogue(lang)
	msg := cat.messages[key]
	if msg == nil {
		return "", fmt.Errorf("message %q is missing in %s", key, cat.lang)
	}
	f := formOther
	if count := args["Count"]; count != nil {
		var err error
		if f, err = cat.plurals.form(count); err != nil {
			return "", fmt.Errorf("message %q in %s: %w", key, cat.lang, err)
		}
	}
	t := msg[f]
	if t == nil {
		return "", fmt.Errorf("message %q in %s has no plural form %q", key, cat.lang, f)
	}
	out, err := t.execute(args, cat.lang, escape)
	if err != nil {
		return "", fmt.Errorf("message %q in %s: %w", key, cat.lang, err)
	}
	return out, nil
}

// T renders the message key in lang. A message that does not render (a bug
// the catalogue tests catch) comes out as its key, so a reply is never empty.
func (c *Catalog) T(lang, key string, args Args) string {
	msg, err := c.Render(lang, key, args)
	if err != nil {
		return key
	}
	return msg
}

// Plain renders the message key in lang for plain text, such as a button
// label, which is not HTML: its arguments are not escaped. The message
// itself must not contain markup.
func (c *Catalog) Plain(lang, key string, args Args) string {
	msg, err := c.render(lang, key, args, false)
	if err != nil {
		return key
	}
	return msg
}

// Error returns the message for a domain error in lang: the reason's message
// ("error.value_out_of_range") when the catalogue has one, else a message for
// the error's code, so that infrastructure details never reach a person.
func (c *Catalog) Error(lang string, err error) string {
	if reason := hromadabot.ErrorReason(err); reason != "" {
		if msg, rerr := c.Render(lang, "error."+reason, nil); rerr == nil {
			return msg
		}
	}
	return c.T(lang, "error.code."+hromadabot.ErrorCode(err), nil)
}

// Status returns the status's name in lang ("виконано").
func (c *Catalog) Status(lang string, st hromadabot.Status) string {
	return c.T(lang, "status."+string(st), nil)
}

// Mark returns the status's mark for lists and buttons (✅, 🟢, 🟠, ⚪).
func (c *Catalog) Mark(st hromadabot.Status) string {
	return c.T(hromadabot.LangUK, "mark."+string(st), nil)
}

// Unit returns the unit's name in lang.
func (c *Catalog) Unit(lang string, u hromadabot.Unit) string {
	return c.T(lang, "unit."+string(u), nil)
}

// Value writes an indicator's value for a person: "55,5%" or "так"/"yes".
func (c *Catalog) Value(lang string, u hromadabot.Unit, v float64) string {
	if u == hromadabot.UnitYesNo {
		if v >= 0.5 {
			return c.T(lang, "value.yes", nil)
		}
		return c.T(lang, "value.no", nil)
	}
	return c.T(lang, "value.percent", Args{"Value": v})
}

// Date writes t as a date in Kyiv in lang's style.
func Date(t time.Time, lang string) string {
	t = t.In(hromadabot.Kyiv)
	if lang == hromadabot.LangEN {
		return t.Format("2 Jan 2006")
	}
	return t.Format("02.01.2006")
}

// format writes an argument as text for lang: escaped for HTML when escape
// is set, unless it is HTML already.
func format(v any, lang string, escape bool) string {
	esc := html.EscapeString
	if !escape {
		esc = func(s string) string { return s }
	}
	switch v := v.(type) {
	case HTML:
		return string(v)
	case string:
		return esc(v)
	case float64:
		return hromadabot.FormatNumber(v, 1, lang)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case time.Time:
		return Date(v, lang)
	case fmt.Stringer:
		return esc(v.String())
	default:
		return esc(fmt.Sprint(v))
	}
}
