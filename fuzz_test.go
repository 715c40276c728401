package hromadabot_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hromadabot/hromadabot"
)

// fuzzUnits are the units a value is parsed for; an index past the real
// ones checks that an unknown unit is refused, not guessed.
var fuzzUnits = []hromadabot.Unit{hromadabot.UnitPercent, hromadabot.UnitYesNo, "kilometres"}

// FuzzParseValue checks the one parser of typed values: whatever a person
// types, the value is in its unit's range or the error is an EINVALID
// *hromadabot.Error with a reason for the locales.
func FuzzParseValue(f *testing.F) {
	f.Fuzz(func(t *testing.T, unit uint8, s string) {
		u := fuzzUnits[int(unit)%len(fuzzUnits)]
		v, err := hromadabot.ParseValue(u, s)
		if err != nil {
			var e *hromadabot.Error
			if !errors.As(err, &e) || e.Code != hromadabot.EINVALID || e.Reason == "" {
				t.Fatalf("ParseValue(%s, %q) error %#v, want an EINVALID *Error with a reason", u, s, err)
			}
			if strings.ContainsAny(e.Message, "\r\n") && !strings.ContainsAny(s, "\r\n") {
				t.Fatalf("message %q spans lines", e.Message)
			}
			return
		}
		if !u.Valid() {
			t.Fatalf("ParseValue(%s, %q) = %v for an unknown unit", u, s, v)
		}
		if math.IsNaN(v) || v < 0 || v > 100 || (u == hromadabot.UnitYesNo && v != 0 && v != 1) {
			t.Fatalf("ParseValue(%s, %q) = %v, out of range", u, s, v)
		}
		if err := hromadabot.ValidateValue(u, v); err != nil {
			t.Fatalf("ParseValue(%s, %q) = %v, which ValidateValue refuses: %v", u, s, v, err)
		}
		// What FormatNumber writes for the value reads back as the same
		// number (to its decimals): the bot quotes values back to people.
		if u == hromadabot.UnitPercent {
			back, err := hromadabot.ParseValue(u, hromadabot.FormatNumber(v, 1, hromadabot.LangUK))
			if err != nil || math.Abs(back-v) > 0.05+1e-9 {
				t.Fatalf("%v formatted reads back as %v, %v", v, back, err)
			}
		}
	})
}

// searchLetters are the letters SearchKey promises to bring to ASCII: the
// Ukrainian alphabet and the Russian letters typed by habit.
const searchLetters = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюяыэёъ"

// plainSearchInput reports whether s holds only ASCII, the Cyrillic of
// searchLetters in either case, and the apostrophes people type.
func plainSearchInput(s string) bool {
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
		case strings.ContainsRune(searchLetters, r), strings.ContainsRune(searchLetters, []rune(strings.ToLower(string(r)))[0]):
		case strings.ContainsRune("’ʼ‘ʹ′", r):
		default:
			return false
		}
	}
	return true
}

// FuzzSearchKey checks the community search normalizer: a key is a
// normal form (normalizing it again changes nothing), it has single
// spaces between non-empty words, and Ukrainian or Latin input becomes
// plain ASCII.
func FuzzSearchKey(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		key := hromadabot.SearchKey(s)
		if again := hromadabot.SearchKey(key); again != key {
			t.Fatalf("SearchKey(%q) = %q, but SearchKey of that is %q", s, key, again)
		}
		if key != strings.Join(strings.Fields(key), " ") {
			t.Fatalf("SearchKey(%q) = %q: empty words or stray spaces", s, key)
		}
		if key != strings.ToLower(key) && utf8.ValidString(key) {
			t.Fatalf("SearchKey(%q) = %q, not lower case", s, key)
		}
		if plainSearchInput(s) {
			for i := 0; i < len(key); i++ {
				if key[i] >= utf8.RuneSelf {
					t.Fatalf("SearchKey(%q) = %q, not ASCII", s, key)
				}
			}
		}
	})
}
