package locales_test

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hromadabot/hromadabot"
	"github.com/hromadabot/hromadabot/locales"
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
		// Twice: messages without arguments are kept once rendered, and a
		// failed one must not be kept.
		for range 2 {
			if _, err := c.Render("uk", "community.set", nil); err == nil {
				t.Fatal("want an error for a template argument that was not passed")
			}
		}
	})
}

// TestRenderWithoutArgumentsKept: a message without arguments renders the
// same each time and in each language its own.
func TestRenderWithoutArgumentsKept(t *testing.T) {
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
