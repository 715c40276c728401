package hromadabot_test

import (
	"testing"

	"github.com/hromadabot/hromadabot"
)

func TestParseValue(t *testing.T) {
	tests := []struct {
		name       string
		unit       hromadabot.Unit
		in         string
		want       float64
		wantReason string
	}{
		{"Integer", hromadabot.UnitPercent, "55", 55, ""},
		{"DecimalComma", hromadabot.UnitPercent, "55,5", 55.5, ""},
		{"DecimalPointPercent", hromadabot.UnitPercent, "55.5%", 55.5, ""},
		{"Spaces", hromadabot.UnitPercent, " 55,5 % ", 55.5, ""},
		{"Zero", hromadabot.UnitPercent, "0", 0, ""},
		{"Hundred", hromadabot.UnitPercent, "100", 100, ""},
		{"Negative", hromadabot.UnitPercent, "-1", 0, "value_out_of_range"},
		{"AboveHundred", hromadabot.UnitPercent, "101", 0, "value_out_of_range"},
		{"Letters", hromadabot.UnitPercent, "abc", 0, "value_not_number"},
		{"NaN", hromadabot.UnitPercent, "NaN", 0, "value_not_number"},
		{"Empty", hromadabot.UnitPercent, "  ", 0, "value_empty"},
		{"YesForPercent", hromadabot.UnitPercent, "так", 0, "value_yesno_for_percent"},
		{"Yes", hromadabot.UnitYesNo, "Так", 1, ""},
		{"No", hromadabot.UnitYesNo, "ні", 0, ""},
		{"YesEnglish", hromadabot.UnitYesNo, "YES", 1, ""},
		{"NoEnglish", hromadabot.UnitYesNo, "no", 0, ""},
		{"NumberForYesNo", hromadabot.UnitYesNo, "50", 0, "value_not_yesno"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hromadabot.ParseValue(tt.unit, tt.in)
			if tt.wantReason != "" {
				if hromadabot.ErrorCode(err) != hromadabot.EINVALID || hromadabot.ErrorReason(err) != tt.wantReason {
					t.Fatalf("ParseValue(%q) error = %v (reason %q), want reason %q", tt.in, err, hromadabot.ErrorReason(err), tt.wantReason)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseValue(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		x    float64
		lang string
		want string
	}{
		{47.3, "uk", "47,3"}, {47.3, "en", "47.3"}, {47.25, "uk", "47,3"}, {100, "uk", "100"}, {0, "uk", "0"}, {-0.01, "uk", "0"},
	}
	for _, tt := range tests {
		if got := hromadabot.FormatNumber(tt.x, 1, tt.lang); got != tt.want {
			t.Errorf("FormatNumber(%v, %s) = %q, want %q", tt.x, tt.lang, got, tt.want)
		}
	}
}

func TestSearchKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Бучанська", "buchanska"},
		{"бучанська міська територіальна громада", "buchanska"},
		{"Bucha", "bucha"},
		{"Кам’янець-Подільська", "kamianets-podilska"},
		{"Кам'янець-Подільська", "kamianets-podilska"},
		{"Камʼянець-Подільська", "kamianets-podilska"},
		{"Згурівська", "zghurivska"},
		{"Яготинська", "yahotynska"},
		{"Їжакевичі", "yizhakevychi"},
	}
	for _, tt := range tests {
		if got := hromadabot.SearchKey(tt.in); got != tt.want {
			t.Errorf("SearchKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSearchMatch(t *testing.T) {
	all, err := hromadabot.Hromadas()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1469 {
		t.Fatalf("embedded list has %d communities, want 1469", len(all))
	}
	best := func(q string) []hromadabot.Community {
		key := hromadabot.SearchKey(q)
		top, out := 0, []hromadabot.Community(nil)
		for i := range all {
			s := hromadabot.SearchMatch(&all[i], key)
			switch {
			case s > top:
				top, out = s, []hromadabot.Community{all[i]}
			case s == top && s > 0:
				out = append(out, all[i])
			}
		}
		return out
	}
	tests := []struct {
		query     string
		wantName  string
		wantCount int
	}{
		{"Буча", "Бучанська", 1},
		{"Bucha", "Бучанська", 1},
		{"бучанська громада", "Бучанська", 1},
		{"Камʼянець-Подільський", "Кам’янець-Подільська", 1},
		{"Миколаївська Одеська", "Миколаївська", 1},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := best(tt.query)
			if len(got) != tt.wantCount || got[0].Name != tt.wantName {
				names := []string{}
				for _, c := range got {
					names = append(names, c.Label())
				}
				t.Errorf("best match for %q = %v, want %d × %s", tt.query, names, tt.wantCount, tt.wantName)
			}
		})
	}
}
