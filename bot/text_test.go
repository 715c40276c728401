package bot_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hromadabot/hromadabot/bot"
)

func TestPlainText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"Tags", "<b>Бучанська</b> — <i>47,3</i> <code>K7MX</code>", "Бучанська — 47,3 K7MX"},
		{"Entities", "&lt;script&gt;&amp; «Буча»", "<script>& «Буча»"},
		{"LinkKeepsAddress", `<a href="https://diia.gov.ua/?a=1&amp;b=2">Дія</a>`, "Дія (https://diia.gov.ua/?a=1&b=2)"},
		{"BareLink", `<a href="https://x.ua">https://x.ua</a>`, "https://x.ua"},
		{"PlainStaysPlain", "Індекс: 41,3 (+2,2)", "Індекс: 41,3 (+2,2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bot.PlainText(tt.in); got != tt.want {
				t.Errorf("PlainText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSplitPlain(t *testing.T) {
	long := strings.Repeat("а", 12)
	tests := []struct {
		name  string
		in    string
		limit int
		want  []string
	}{
		{"OKFits", "Індекс: 41,3", 20, []string{"Індекс: 41,3"}},
		{"OKBlankIsNothing", "  \n ", 5, nil},
		{"OKAtLineBreak", "перший рядок\nдругий рядок", 15, []string{"перший рядок", "другий рядок"}},
		{"OKAtSpaceWhenNoBreak", "один два три", 8, []string{"один два", "три"}},
		{"OKAnywhereWhenNoSpace", long, 5, []string{"ааааа", "ааааа", "аа"}},
		{"OKRunesNotBytes", "ґґґ", 3, []string{"ґґґ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bot.SplitPlain(tt.in, tt.limit)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("SplitPlain(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
			}
			for _, p := range got {
				if n := utf8.RuneCountInString(p); n > tt.limit {
					t.Errorf("part %q has %d characters, over %d", p, n, tt.limit)
				}
			}
		})
	}
}
