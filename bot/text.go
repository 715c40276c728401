package bot

import (
	"html"
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	linkRE = regexp.MustCompile(`(?s)<a\s+href="([^"]*)"\s*>(.*?)</a>`)
	tagRE  = regexp.MustCompile(`</?(b|strong|i|em|u|s|code|pre|a)(\s[^>]*)?>`)
)

// PlainText turns reply HTML into plain text: tags dropped (a link keeps
// its address in brackets) and entities unescaped. Channels that show text
// as it is (the console, Viber) send this.
func PlainText(s string) string {
	s = linkRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := linkRE.FindStringSubmatch(m)
		href, text := sub[1], sub[2]
		if html.UnescapeString(text) == html.UnescapeString(href) {
			return text
		}
		return text + " (" + href + ")"
	})
	return html.UnescapeString(tagRE.ReplaceAllString(s, ""))
}

// SplitPlain cuts plain text into parts of at most limit characters
// (runes), for a platform with a message length limit: at the last line
// break that fits, else at the last space, else anywhere. Parts are
// trimmed of the breaks they were cut at; blank text gives no part.
func SplitPlain(s string, limit int) []string {
	s = strings.TrimSpace(s)
	var parts []string
	for s != "" {
		if utf8.RuneCountInString(s) <= limit {
			parts = append(parts, s)
			break
		}
		cut := 0 // the byte offset of the first rune past the limit
		for i := range s {
			if cut == limit {
				cut = i
				break
			}
			cut++
		}
		head := s[:cut]
		if next := s[cut]; next == '\n' || next == ' ' || next == '\t' {
			// The text breaks right after what fits.
			head += string(next)
		}
		at := strings.LastIndex(head, "\n")
		if at <= 0 {
			at = strings.LastIndexAny(head, " \t")
		}
		if at <= 0 {
			at = cut
		}
		parts = append(parts, strings.TrimSpace(s[:at]))
		s = strings.TrimSpace(s[at:])
	}
	return parts
}
