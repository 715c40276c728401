package bot

import (
	"html"
	"regexp"
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
