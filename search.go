package hromadabot

import (
	"strings"
	"unicode"
)

// searchNoise are words a resident may type around a community's name that
// say nothing about which community is meant.
var searchNoise = map[string]bool{
	"громада": true, "громади": true, "територіальна": true, "тг": true, "отг": true,
	"міська": true, "сільська": true, "селищна": true, "рада": true,
	"hromada": true, "community": true,
	"область": true, "обл": true, "район": true, "р-н": true,
}

func isApostrophe(r rune) bool {
	switch r {
	case '\'', '’', 'ʼ', '`', '‘', 'ʹ', '′':
		return true
	}
	return false
}

// SearchKey normalizes text for community search: lower case, apostrophe
// variants and punctuation dropped, noise words ("громада", "міська"…)
// removed, and Cyrillic transliterated to Latin by the official Ukrainian
// rules (KMU resolution No. 55, 2010), so that "Бучанська", "бучанська
// громада" and "Bucha" all meet on the same ASCII key.
func SearchKey(s string) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || isApostrophe(r) || r == '-')
	})
	out := make([]string, 0, len(words))
	for _, w := range words {
		w = strings.Trim(strings.Map(func(r rune) rune {
			if isApostrophe(r) {
				return -1
			}
			return r
		}, w), "-")
		if searchNoise[w] {
			continue
		}
		// Checked again after transliteration: a soft sign vanishes ("ь-")
		// and mixed scripts may spell a noise word, and the key must stay
		// a key when normalized again.
		w = strings.Trim(Transliterate(w), "-")
		if w == "" || searchNoise[w] {
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// translitFirst holds letters written differently at the start of a word.
var translitFirst = map[rune]string{'є': "ye", 'ї': "yi", 'й': "y", 'ю': "yu", 'я': "ya"}

var translit = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "h", 'ґ': "g", 'д': "d", 'е': "e", 'є': "ie",
	'ж': "zh", 'з': "z", 'и': "y", 'і': "i", 'ї': "i", 'й': "i", 'к': "k", 'л': "l",
	'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u",
	'ф': "f", 'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh", 'щ': "shch", 'ь': "", 'ю': "iu",
	'я': "ia",
	// Russian letters a user may type by habit.
	'ы': "y", 'э': "e", 'ё': "io", 'ъ': "",
}

// Transliterate writes a lower-case Ukrainian word in Latin letters by the
// official rules, including "зг" → "zgh"; other characters pass unchanged.
func Transliterate(word string) string {
	var b strings.Builder
	runes := []rune(word)
	for i, r := range runes {
		first := i == 0 || !unicode.IsLetter(runes[i-1])
		if first {
			if s, ok := translitFirst[r]; ok {
				b.WriteString(s)
				continue
			}
		}
		if r == 'г' && i > 0 && runes[i-1] == 'з' {
			b.WriteString("gh")
			continue
		}
		if s, ok := translit[r]; ok {
			b.WriteString(s)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// SearchMatch scores how well a normalized query matches a community: 0 is
// no match; higher is better. Every word of the query must occur in the
// community's key; an exact name or centre beats a prefix, a prefix beats
// a substring.
func SearchMatch(c *Community, query string) int {
	q := strings.Fields(query)
	if len(q) == 0 {
		return 0
	}
	key := c.SearchKey()
	for _, w := range q {
		if !strings.Contains(key, w) {
			return 0
		}
	}
	name, center := SearchKey(c.Name), SearchKey(c.Center)
	score := 1
	for _, w := range q {
		switch {
		case w == name || w == center:
			score += 100
		case strings.HasPrefix(name, w) || strings.HasPrefix(center, w):
			score += 10
		}
	}
	return score
}

// Latin writes a name in Latin letters by the official rules, keeping its
// capitals, spaces and hyphens and dropping apostrophes: "Кам'янець-
// Подільська" → "Kamianets-Podilska", "Згурівська" → "Zghurivska". The
// English pages and data show community names so.
func Latin(name string) string {
	var b strings.Builder
	for i, word := range strings.Split(name, " ") {
		if i > 0 {
			b.WriteByte(' ')
		}
		for j, part := range strings.Split(word, "-") {
			if j > 0 {
				b.WriteByte('-')
			}
			part = strings.Map(func(r rune) rune {
				if isApostrophe(r) {
					return -1
				}
				return r
			}, part)
			lower := strings.ToLower(part)
			latin := Transliterate(lower)
			if lower != part && latin != "" {
				// A capitalized Cyrillic word stays capitalized.
				r := []rune(latin)
				r[0] = unicode.ToUpper(r[0])
				latin = string(r)
			}
			b.WriteString(latin)
		}
	}
	return b.String()
}
