// Package locales holds the bot's Ukrainian and English message catalogues
// and renders messages by key: CLDR plural forms (1 індикатор, 2 індикатори,
// 5 індикаторів), numbers in the reader's style ("47,3") and every argument
// HTML-escaped, because replies are Telegram HTML.
package locales

import (
	"embed"
	"fmt"
	"html"
	"strconv"
	"sync"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/nicksnyder/go-i18n/v2/i18n/template"
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
	localizers map[string]*i18n.Localizer
	// plain keeps messages rendered without arguments (button labels,
	// prompts), keyed by language and key: they never change, and most
	// replies carry several.
	plain sync.Map
}

// strict makes a template that names an argument the caller did not pass
// fail instead of printing "<no value>".
var strict = &template.TextParser{Option: "missingkey=error"}

// New loads the embedded catalogues.
func New() (*Catalog, error) {
	bundle := i18n.NewBundle(language.Ukrainian)
	for _, lang := range Languages {
		name := lang + ".json"
		buf, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read catalogue %s: %w", name, err)
		}
		if _, err := bundle.ParseMessageFileBytes(buf, name); err != nil {
			return nil, fmt.Errorf("parse catalogue %s: %w", name, err)
		}
	}
	c := &Catalog{localizers: make(map[string]*i18n.Localizer, len(Languages))}
	for _, lang := range Languages {
		c.localizers[lang] = i18n.NewLocalizer(bundle, lang)
	}
	return c, nil
}

// Language returns lang when the catalogue speaks it and Ukrainian otherwise.
func (c *Catalog) Language(lang string) string {
	if _, ok := c.localizers[lang]; ok {
		return lang
	}
	return hromadabot.LangUK
}

// Render returns the message key in lang with args, or an error when the key
// is missing in that language or the template does not render.
func (c *Catalog) Render(lang, key string, args Args) (string, error) {
	return c.render(lang, key, args, true)
}

func (c *Catalog) render(lang, key string, args Args, escape bool) (string, error) {
	lang = c.Language(lang)
	if len(args) == 0 {
		// Escaping applies to arguments only, so it makes no difference here.
		plainKey := lang + "\x00" + key
		if msg, ok := c.plain.Load(plainKey); ok {
			return msg.(string), nil
		}
		msg, err := c.localize(lang, key, nil, nil)
		if err == nil {
			c.plain.Store(plainKey, msg)
		}
		return msg, err
	}
	data := make(map[string]any, len(args))
	var count any
	for k, v := range args {
		data[k] = format(v, lang, escape)
		if k == "Count" {
			count = v
		}
	}
	return c.localize(lang, key, data, count)
}

// localize renders the message with its arguments already formatted; count
// chooses the plural form (nil for none).
func (c *Catalog) localize(lang, key string, data map[string]any, count any) (string, error) {
	msg, tag, err := c.localizers[lang].LocalizeWithTag(&i18n.LocalizeConfig{
		MessageID:      key,
		TemplateData:   data,
		PluralCount:    count,
		TemplateParser: strict,
	})
	if err != nil {
		return "", fmt.Errorf("message %q in %s: %w", key, lang, err)
	}
	if base, _ := tag.Base(); base.String() != lang {
		// go-i18n falls back to the default language silently; a missing
		// translation is a bug the tests must see.
		return "", fmt.Errorf("message %q is missing in %s", key, lang)
	}
	return msg, nil
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

func format(v any, lang string, escape bool) any {
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
