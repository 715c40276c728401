package hromadabot

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RankEntry is one community's place in a ranking.
type RankEntry struct {
	CommunityID     int64   `json:"community_id"`
	Name            string  `json:"name"`
	Oblast          string  `json:"oblast"`
	Index           float64 `json:"index"`
	PlanFulfillment float64 `json:"plan_fulfillment"`
	// Rank starts at 1; communities with equal indexes share a rank (1, 2, 2, 4).
	Rank int `json:"rank"`
}

// Ranking is a list of communities ordered by index.
type Ranking []RankEntry

// Rank orders entries by index, descending, then by name in Ukrainian
// alphabetical order, and assigns shared ranks to equal indexes. It sorts
// the slice in place and returns it.
func Rank(entries []RankEntry) Ranking {
	// Collation keys are made once per entry, not in every comparison.
	type keyed struct {
		entry        RankEntry
		name, oblast []int
	}
	ks := make([]keyed, len(entries))
	for i, e := range entries {
		ks[i] = keyed{e, collationKey(e.Name), collationKey(e.Oblast)}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		a, b := &ks[i], &ks[j]
		if !sameIndex(a.entry.Index, b.entry.Index) {
			return a.entry.Index > b.entry.Index
		}
		if c := slices.Compare(a.name, b.name); c != 0 {
			return c < 0
		}
		if c := slices.Compare(a.oblast, b.oblast); c != 0 {
			return c < 0
		}
		return a.entry.CommunityID < b.entry.CommunityID
	})
	for i := range ks {
		entries[i] = ks[i].entry
	}
	for i := range entries {
		if i > 0 && sameIndex(entries[i].Index, entries[i-1].Index) {
			entries[i].Rank = entries[i-1].Rank
		} else {
			entries[i].Rank = i + 1
		}
	}
	return entries
}

// Find returns the entry of the community, if it is ranked.
func (r Ranking) Find(communityID int64) (RankEntry, bool) {
	for _, e := range r {
		if e.CommunityID == communityID {
			return e, true
		}
	}
	return RankEntry{}, false
}

func sameIndex(a, b float64) bool {
	d := a - b
	return d < 1e-6 && d > -1e-6
}

// ukrainianOrder is the Ukrainian alphabet; Unicode code points put є, і, ї
// and ґ out of place, so names are compared by position in this string.
const ukrainianOrder = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя"

var ukrainianRank = func() map[rune]int {
	m := make(map[rune]int)
	for i, r := range []rune(ukrainianOrder) {
		m[r] = i + 1
	}
	return m
}()

// CompareUkrainian compares two strings in Ukrainian alphabetical order,
// ignoring case and apostrophes; characters outside the alphabet sort after
// it by code point.
// It reads both strings rune by rune and allocates nothing: sorting by name
// compares thousands of times.
func CompareUkrainian(a, b string) int {
	for {
		ka, na, moreA := nextCollation(a)
		kb, nb, moreB := nextCollation(b)
		switch {
		case !moreA && !moreB:
			return 0
		case !moreA:
			return -1
		case !moreB:
			return 1
		case ka != kb:
			return cmp.Compare(ka, kb)
		}
		a, b = a[na:], b[nb:]
	}
}

// nextCollation is the collation value of the first rune of s that counts
// (apostrophes do not) and the bytes read up to it; false at the end.
func nextCollation(s string) (key, n int, ok bool) {
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		n += size
		r = unicode.ToLower(r)
		if isApostrophe(r) {
			continue
		}
		if k, ok := ukrainianRank[r]; ok {
			return k, n, true
		}
		return 1000 + int(r), n, true
	}
	return 0, n, false
}

func collationKey(s string) []int {
	s = strings.ToLower(s)
	key := make([]int, 0, len(s))
	for _, r := range s {
		if isApostrophe(r) {
			continue
		}
		if k, ok := ukrainianRank[r]; ok {
			key = append(key, k)
		} else {
			key = append(key, 1000+int(r))
		}
	}
	return key
}
