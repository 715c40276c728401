package hromadabot

import (
	"cmp"
	"slices"
	"testing"
)

// TestCompareUkrainianAgreesWithKeys checks the comparison that reads rune
// by rune against the collation keys Rank sorts by, over real names and the
// cases that differ from a plain comparison.
func TestCompareUkrainianAgreesWithKeys(t *testing.T) {
	all, err := Hromadas()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"", "а", "А", "аб", "Аб'", "п'ятка", "пятка", "П’ятихатська", "ї", "і", "z", "Z", "\xff", "є\xffа"}
	for i := 0; i < len(all); i += 7 {
		names = append(names, all[i].Name, all[i].Oblast)
	}
	for _, a := range names {
		for _, b := range names {
			want := cmp.Compare(slices.Compare(collationKey(a), collationKey(b)), 0)
			if got := CompareUkrainian(a, b); got != want {
				t.Fatalf("CompareUkrainian(%q, %q) = %d, the keys give %d", a, b, got, want)
			}
		}
	}
}

func BenchmarkCompareUkrainian(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		CompareUkrainian("Іванківська", "Іваничівська")
	}
}
