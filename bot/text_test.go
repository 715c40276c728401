package bot_test

import (
	"testing"

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
