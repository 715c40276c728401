package locales_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/locales"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/nicksnyder/go-i18n/v2/i18n/template"
	"golang.org/x/text/language"
)

func mustCatalog(t *testing.T) *locales.Catalog {
	t.Helper()
	c, err := locales.New()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readCatalogue reads a catalogue file as key → plural form → template; a
// plain message has the single form "other".
func readCatalogue(t *testing.T, lang string) map[string]map[string]string {
	t.Helper()
	buf, err := os.ReadFile(lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(buf, &raw); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	out := make(map[string]map[string]string, len(raw))
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = map[string]string{"other": s}
			continue
		}
		var forms map[string]string
		if err := json.Unmarshal(v, &forms); err != nil {
			t.Fatalf("%s.json key %q: %v", lang, k, err)
		}
		out[k] = forms
	}
	return out
}

var placeholderRE = regexp.MustCompile(`{{\s*\.(\w+)\s*}}`)

func placeholders(forms map[string]string) []string {
	set := map[string]bool{}
	for _, tmpl := range forms {
		for _, m := range placeholderRE.FindAllStringSubmatch(tmpl, -1) {
			set[m[1]] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func TestCatalogues(t *testing.T) {
	uk, en := readCatalogue(t, "uk"), readCatalogue(t, "en")
	t.Run("SameKeys", func(t *testing.T) {
		for k := range uk {
			if _, ok := en[k]; !ok {
				t.Errorf("key %q is missing in en.json", k)
			}
		}
		for k := range en {
			if _, ok := uk[k]; !ok {
				t.Errorf("key %q is missing in uk.json", k)
			}
		}
	})
	t.Run("SamePlaceholders", func(t *testing.T) {
		for k := range uk {
			if _, ok := en[k]; !ok {
				continue
			}
			if pu, pe := placeholders(uk[k]), placeholders(en[k]); !slices.Equal(pu, pe) {
				t.Errorf("key %q: placeholders uk %v, en %v", k, pu, pe)
			}
		}
	})
	t.Run("PluralForms", func(t *testing.T) {
		for k, forms := range uk {
			if len(forms) == 1 {
				continue
			}
			for _, f := range []string{"one", "few", "many", "other"} {
				if forms[f] == "" {
					t.Errorf("uk key %q lacks plural form %q", k, f)
				}
			}
			for _, f := range []string{"one", "other"} {
				if en[k][f] == "" {
					t.Errorf("en key %q lacks plural form %q", k, f)
				}
			}
		}
	})
	t.Run("EveryTemplateRenders", func(t *testing.T) {
		c := mustCatalog(t)
		for _, lang := range locales.Languages {
			for k, forms := range uk {
				args := locales.Args{}
				for _, p := range placeholders(forms) {
					args[p] = "x"
				}
				if _, ok := args["Count"]; ok {
					args["Count"] = 3
				}
				got, err := c.Render(lang, k, args)
				if err != nil {
					t.Errorf("%s %q: %v", lang, k, err)
					continue
				}
				if got == "" || strings.Contains(got, "<no value>") || strings.Contains(got, "{{") {
					t.Errorf("%s %q rendered as %q", lang, k, got)
				}
			}
		}
	})
}

func TestRender(t *testing.T) {
	c := mustCatalog(t)
	tests := []struct {
		name string
		lang string
		key  string
		args locales.Args
		want string
	}{
		{"PluralOne", "uk", "count.indicators", locales.Args{"Count": 1}, "1 індикатор"},
		{"PluralFew", "uk", "count.indicators", locales.Args{"Count": 2}, "2 індикатори"},
		{"PluralFewFour", "uk", "count.indicators", locales.Args{"Count": 4}, "4 індикатори"},
		{"PluralMany", "uk", "count.indicators", locales.Args{"Count": 5}, "5 індикаторів"},
		{"PluralManyEleven", "uk", "count.indicators", locales.Args{"Count": 11}, "11 індикаторів"},
		{"PluralManyTwelve", "uk", "count.indicators", locales.Args{"Count": 12}, "12 індикаторів"},
		{"PluralOneTwentyOne", "uk", "count.indicators", locales.Args{"Count": 21}, "21 індикатор"},
		{"PluralFewTwentyTwo", "uk", "count.indicators", locales.Args{"Count": 22}, "22 індикатори"},
		{"PluralManyZero", "uk", "count.indicators", locales.Args{"Count": 0}, "0 індикаторів"},
		{"PluralEnglishOne", "en", "count.indicators", locales.Args{"Count": 1}, "1 indicator"},
		{"PluralEnglishOther", "en", "count.indicators", locales.Args{"Count": 21}, "21 indicators"},
		{"NumberUkrainian", "uk", "value.percent", locales.Args{"Value": 47.25}, "47,3%"},
		{"NumberEnglish", "en", "value.percent", locales.Args{"Value": 47.25}, "47.3%"},
		{"NumberWhole", "uk", "value.percent", locales.Args{"Value": 100.0}, "100%"},
		{"Escaped", "uk", "community.set", locales.Args{"Name": "<script>&"}, "Ваша громада: <b>&lt;script&gt;&amp;</b>."},
		{"TrustedHTML", "uk", "community.set", locales.Args{"Name": locales.HTML("<i>Буча</i>")}, "Ваша громада: <b><i>Буча</i></b>."},
		{"UnknownLanguageIsUkrainian", "de", "status.done", nil, "Виконано"},
		{"EmptyLanguageIsUkrainian", "", "value.yes", nil, "так"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Render(tt.lang, tt.key, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Render(%s, %s) = %q, want %q", tt.lang, tt.key, got, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	c := mustCatalog(t)
	t.Run("ErrMissingKey", func(t *testing.T) {
		if _, err := c.Render("uk", "no.such.key", nil); err == nil {
			t.Fatal("want an error for a missing key")
		}
		if got := c.T("uk", "no.such.key", nil); got != "no.such.key" {
			t.Errorf("T of a missing key = %q, want the key", got)
		}
	})
	t.Run("ErrMissingArgument", func(t *testing.T) {
		if _, err := c.Render("uk", "community.set", nil); err == nil {
			t.Fatal("want an error for a template argument that was not passed")
		}
		if _, err := c.Render("uk", "button.indicator", locales.Args{"Mark": "✅", "ID": 13}); err == nil {
			t.Fatal("want an error for a template argument that was not passed")
		}
	})
	t.Run("ErrPluralCountFloat", func(t *testing.T) {
		if _, err := c.Render("uk", "count.indicators", locales.Args{"Count": 2.5}); err == nil {
			t.Fatal("want an error for a float plural count")
		}
	})
	t.Run("ErrPluralFormMissing", func(t *testing.T) {
		// A message without plurals has only "other", and 1 is "one".
		if _, err := c.Render("en", "value.percent", locales.Args{"Value": 1.0, "Count": 1}); err == nil {
			t.Fatal("want an error for a plural form the message lacks")
		}
	})
}

// TestRenderWithoutArguments: a message without arguments renders the same
// each time and in each language its own.
func TestRenderWithoutArguments(t *testing.T) {
	c := mustCatalog(t)
	for _, want := range []struct{ lang, text string }{{"uk", "🏠 Меню"}, {"en", "🏠 Menu"}, {"uk", "🏠 Меню"}, {"en", "🏠 Menu"}} {
		if got := c.Plain(want.lang, "button.menu", nil); got != want.text {
			t.Errorf("button.menu in %s = %q, want %q", want.lang, got, want.text)
		}
	}
}

func TestStatusesAndUnits(t *testing.T) {
	c := mustCatalog(t)
	marks := map[string]bool{}
	for _, st := range hromadabot.Statuses {
		for _, lang := range locales.Languages {
			if got := c.Status(lang, st); got == "" || strings.HasPrefix(got, "status.") {
				t.Errorf("Status(%s, %s) = %q", lang, st, got)
			}
		}
		m := c.Mark(st)
		if m == "" || strings.HasPrefix(m, "mark.") || marks[m] {
			t.Errorf("Mark(%s) = %q: want a distinct mark", st, m)
		}
		marks[m] = true
	}
	for _, u := range []hromadabot.Unit{hromadabot.UnitPercent, hromadabot.UnitYesNo} {
		for _, lang := range locales.Languages {
			if got := c.Unit(lang, u); got == "" || strings.HasPrefix(got, "unit.") {
				t.Errorf("Unit(%s, %s) = %q", lang, u, got)
			}
		}
	}
	tests := []struct {
		name string
		lang string
		unit hromadabot.Unit
		v    float64
		want string
	}{
		{"PercentUkrainian", "uk", hromadabot.UnitPercent, 55.5, "55,5%"},
		{"PercentEnglish", "en", hromadabot.UnitPercent, 55.5, "55.5%"},
		{"YesUkrainian", "uk", hromadabot.UnitYesNo, 1, "так"},
		{"NoEnglish", "en", hromadabot.UnitYesNo, 0, "no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Value(tt.lang, tt.unit, tt.v); got != tt.want {
				t.Errorf("Value = %q, want %q", got, tt.want)
			}
		})
	}
}

// reasonRE finds the reason keys of domain errors in Go source:
// Errorf(ECODE, "reason", …), FieldErrorf("field", "reason", …),
// Error{…, Reason: "reason"} and helpers such as errNotFound("reason", …).
var reasonRE = regexp.MustCompile(`(?:Errorf\(\s*(?:hromadabot\.)?E[A-Z]+,\s*|FieldErrorf\(\s*"[^"]*",\s*|Reason:\s*|\berr[A-Z]\w*\(\s*)"([a-z0-9_]+)"`)

func TestEveryDomainErrorHasAMessage(t *testing.T) {
	c := mustCatalog(t)
	var files []string
	for _, pattern := range []string{"../*.go", "../storage/*/*.go"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	reasons := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range reasonRE.FindAllStringSubmatch(string(src), -1) {
			reasons[m[1]] = f
		}
	}
	if len(reasons) < 20 {
		t.Fatalf("found only %d error reasons in the domain sources; the pattern is broken", len(reasons))
	}
	for reason, file := range reasons {
		for _, lang := range locales.Languages {
			if _, err := c.Render(lang, "error."+reason, nil); err != nil {
				t.Errorf("reason %q (%s) has no %s message: %v", reason, file, lang, err)
			}
		}
	}
}

func TestError(t *testing.T) {
	c := mustCatalog(t)
	tests := []struct {
		name string
		lang string
		err  error
		want string
	}{
		{"Reason", "uk", hromadabot.FieldErrorf("value", "value_out_of_range", "value 101 is out of range"), "Значення має бути від 0 до 100 відсотків."},
		{"ReasonEnglish", "en", hromadabot.FieldErrorf("value", "value_out_of_range", "value 101 is out of range"), "The value must be from 0 to 100 percent."},
		{"UnknownReasonFallsBackToCode", "uk", hromadabot.Errorf(hromadabot.ENOTFOUND, "no_such_reason", "x"), "Не знайдено."},
		{"InfrastructureErrorIsInternal", "uk", errors.New("database is locked"), "Щось пішло не так. Спробуйте ще раз трохи згодом."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Error(tt.lang, tt.err); got != tt.want {
				t.Errorf("Error = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPlain(t *testing.T) {
	c := mustCatalog(t)
	got := c.Plain("uk", "button.indicator", locales.Args{"Mark": "✅", "ID": 13, "Title": "Реєстр єПам'ятка <b>"})
	if want := "✅ 13. Реєстр єПам'ятка <b>"; got != want {
		t.Errorf("Plain = %q, want %q", got, want)
	}
}

// reference renders messages as go-i18n does, through a Localizer and
// text/template with missingkey=error, with the arguments formatted and a
// translation missing in the asked language an error: the rendering the
// catalogue must reproduce.
type reference struct {
	localizers map[string]*i18n.Localizer
}

func newReference(t *testing.T, fsys fs.FS) *reference {
	t.Helper()
	bundle := i18n.NewBundle(language.Ukrainian)
	r := &reference{localizers: map[string]*i18n.Localizer{}}
	for _, lang := range locales.Languages {
		buf, err := fs.ReadFile(fsys, lang+".json")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bundle.ParseMessageFileBytes(buf, lang+".json"); err != nil {
			t.Fatal(err)
		}
		r.localizers[lang] = i18n.NewLocalizer(bundle, lang)
	}
	return r
}

func (r *reference) render(lang, key string, args locales.Args, escape bool) (string, error) {
	if r.localizers[lang] == nil {
		lang = hromadabot.LangUK
	}
	var data map[string]any
	var count any
	if len(args) > 0 {
		data = make(map[string]any, len(args))
		for k, v := range args {
			data[k] = locales.Format(v, lang, escape)
			if k == "Count" {
				count = v
			}
		}
	}
	msg, tag, err := r.localizers[lang].LocalizeWithTag(&i18n.LocalizeConfig{
		MessageID:      key,
		TemplateData:   data,
		PluralCount:    count,
		TemplateParser: &template.TextParser{Option: "missingkey=error"},
	})
	if err != nil {
		return "", err
	}
	if base, _ := tag.Base(); base.String() != lang {
		return "", fmt.Errorf("message %q fell back from %s to %s", key, lang, tag)
	}
	return msg, nil
}

// compare renders key in every language, as HTML and as plain text, with
// c and with r, and reports any difference in text or in failing.
func compare(t *testing.T, c *locales.Catalog, r *reference, key string, args locales.Args) {
	t.Helper()
	for _, lang := range append(slices.Clone(locales.Languages), "de") {
		want, wantErr := r.render(lang, key, args, true)
		got, err := c.Render(lang, key, args)
		if (err != nil) != (wantErr != nil) || got != want {
			t.Errorf("Render(%s, %q, %v) = %q, %v; go-i18n: %q, %v", lang, key, args, got, err, want, wantErr)
		}
		want, wantErr = r.render(lang, key, args, false)
		if wantErr != nil {
			want = key
		}
		if got := c.Plain(lang, key, args); got != want {
			t.Errorf("Plain(%s, %q, %v) = %q; go-i18n: %q", lang, key, args, got, want)
		}
	}
}

// counts are plural counts across the forms of both languages: Ukrainian
// one (1, 21, 101), few (2, 22), many (0, 5, 11, 12, 25, 111), English one
// and other; large, negative and int64 ones too.
var counts = []any{0, 1, 2, 3, 4, 5, 11, 12, 14, 21, 22, 25, 100, 101, 111, 1000, 1001, 2047, 2048, 2051, 1_000_001, -1, -22, int64(21), int64(-5), int64(math.MinInt64), int8(2), "21", "1.5"}

// argValues are argument values of every kind format knows, several of
// which HTML escaping changes.
var argValues = []any{
	`<b>Буча</b> & "Ірпінь" 'Ворзель'`,
	locales.HTML("<i>Буча</i>"),
	7,
	int64(1234567),
	47.25,
	time.Date(2025, 3, 1, 23, 30, 0, 0, time.UTC),
	hromadabot.StatusDone,
	[]string{"<a>", "b"},
}

func TestRenderMatchesGoI18n(t *testing.T) {
	c := mustCatalog(t)
	r := newReference(t, os.DirFS("."))
	uk, en := readCatalogue(t, "uk"), readCatalogue(t, "en")
	keys := map[string][]string{"no.such.key": nil}
	for _, cat := range []map[string]map[string]string{uk, en} {
		for k, forms := range cat {
			keys[k] = slices.Compact(slices.Sorted(slices.Values(append(keys[k], placeholders(forms)...))))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		names := keys[key]
		compare(t, c, r, key, nil)
		for i := range argValues {
			args := locales.Args{}
			for j, name := range names {
				args[name] = argValues[(i+j)%len(argValues)]
			}
			if slices.Contains(names, "Count") {
				// Twice: the first render of a count asks go-i18n for its
				// form, later ones use the remembered form.
				for range 2 {
					for _, n := range counts {
						args["Count"] = n
						compare(t, c, r, key, args)
					}
				}
				continue
			}
			compare(t, c, r, key, args)
			// A count passed to a message without plurals still chooses
			// its form.
			args["Count"] = 1
			compare(t, c, r, key, args)
			args["Count"] = 5
			compare(t, c, r, key, args)
		}
		for _, missing := range names {
			args := locales.Args{"Count": 5}
			for _, name := range names {
				if name != missing {
					args[name] = "x"
				}
			}
			compare(t, c, r, key, args)
		}
	}
}

// TestLoad renders made-up catalogues that show what the embedded ones do
// not: templates text/template must run, delimiters, gaps.
func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"uk.json": {Data: []byte(`{
 "only.uk": "Лише українською: {{.Name}}",
 "if": "{{if .Name}}<b>{{.Name}}</b>{{else}}—{{end}}",
 "pipeline": "{{.Name | len}} {{.Name}}",
 "trim": "a  {{- .Name -}}  b{{/* comment */}}",
 "delims": {"leftDelim": "<<", "rightDelim": ">>", "other": "<<.Name>> {{.Name}}"},
 "literal": "}} {{\"{{\"}}",
 "empty": "",
 "count": {"one": "{{.Count}} рік", "few": "{{.Count}} роки", "many": "{{.Count}} років", "other": "{{.Count}} року"}
}`)},
		"en.json": {Data: []byte(`{
 "if": "{{if .Name}}<i>{{.Name}}</i>{{end}}",
 "pipeline": "{{.Name}}",
 "trim": "a  {{- .Name}}  b",
 "delims": {"leftDelim": "[[", "rightDelim": "]]", "other": "[[ .Name ]]"},
 "literal": "{{ \"x\" }}",
 "empty": "",
 "count": {"one": "{{.Count}} year", "other": "{{.Count}} years"}
}`)},
	}
	c, err := locales.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("TextTemplateForOtherActions", func(t *testing.T) {
		for lang, want := range map[string][]string{"uk": {"if", "literal", "pipeline"}, "en": {"if", "literal"}} {
			if got := c.TextTemplateKeys(lang); !slices.Equal(got, want) {
				t.Errorf("text/template renders %v in %s, want %v", got, lang, want)
			}
		}
	})
	t.Run("SameAsGoI18n", func(t *testing.T) {
		r := newReference(t, fsys)
		for _, key := range []string{"only.uk", "if", "pipeline", "trim", "delims", "literal", "empty", "count", "no.such.key"} {
			compare(t, c, r, key, nil)
			compare(t, c, r, key, locales.Args{"Name": "<Буча>"})
			compare(t, c, r, key, locales.Args{"Name": ""})
			for _, n := range counts {
				compare(t, c, r, key, locales.Args{"Name": "Буча", "Count": n})
			}
		}
	})
	t.Run("ErrMissingTranslation", func(t *testing.T) {
		if got, err := c.Render("uk", "only.uk", locales.Args{"Name": "Буча"}); err != nil || got != "Лише українською: Буча" {
			t.Fatalf("Render in uk = %q, %v", got, err)
		}
		if got, err := c.Render("en", "only.uk", locales.Args{"Name": "Буча"}); err == nil {
			t.Fatalf("Render in en = %q, want an error for a missing translation", got)
		}
	})
	t.Run("ErrMissingArgumentInTextTemplate", func(t *testing.T) {
		if got, err := c.Render("uk", "if", locales.Args{"Other": 1}); err == nil {
			t.Fatalf("Render = %q, want an error for an argument that was not passed", got)
		}
	})
	t.Run("ErrTemplateSyntax", func(t *testing.T) {
		bad := fstest.MapFS{
			"uk.json": {Data: []byte(`{"broken": "{{.Name"}`)},
			"en.json": {Data: []byte(`{"broken": "{{.Name}}"}`)},
		}
		_, err := locales.Load(bad)
		if err == nil || !strings.Contains(err.Error(), `"broken"`) || !strings.Contains(err.Error(), "uk.json") {
			t.Fatalf("Load = %v, want an error naming uk.json and the message", err)
		}
	})
}

func BenchmarkRender(b *testing.B) {
	c, err := locales.New()
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		lang string
		key  string
		args locales.Args
	}{
		{"Args", "uk", "indicators.line", locales.Args{"Mark": "✅", "ID": 13, "Title": "Реєстр <єПам'ятка>", "Value": 47.25}},
		{"Plural", "uk", "count.indicators", locales.Args{"Count": 5}},
		{"PluralEnglish", "en", "count.indicators", locales.Args{"Count": 21}},
		{"NoArgs", "uk", "button.menu", nil},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Render(bc.lang, bc.key, bc.args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
