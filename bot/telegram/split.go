package telegram

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Telegram's limits, counted after entity parsing
// (https://core.telegram.org/bots/api#sendmessage, #sendphoto).
const (
	maxText    = 4096
	maxCaption = 1024
)

// token is a piece of a Reply's HTML: a tag, an entity or one character.
type token struct {
	raw string
	// plain is the token's length as Telegram counts it (UTF-16 units of
	// the visible text); 0 for tags.
	plain int
	// tag is the lower-case tag name, with closing set for an end tag.
	tag     string
	closing bool
}

// tokenize splits the HTML subset of bot.Reply (already valid, with every
// user string escaped) into tokens.
func tokenize(s string) []token {
	var out []token
	for i := 0; i < len(s); {
		t, n := nextToken(s[i:])
		out = append(out, t)
		i += n
	}
	return out
}

// nextToken reads the token s starts with and how many bytes it takes.
func nextToken(s string) (token, int) {
	switch s[0] {
	case '<':
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return token{raw: s, plain: plainLen(s)}, len(s)
		}
		raw := s[:end+1]
		name := strings.TrimPrefix(raw[1:len(raw)-1], "/")
		if k := strings.IndexAny(name, " \t\n"); k >= 0 {
			name = name[:k]
		}
		return token{raw: raw, tag: strings.ToLower(name), closing: strings.HasPrefix(raw, "</")}, end + 1
	case '&':
		if end := strings.IndexByte(s, ';'); end > 1 && end <= 10 {
			return token{raw: s[:end+1], plain: 1}, end + 1
		}
		return token{raw: "&", plain: 1}, 1
	}
	r, n := utf8.DecodeRuneInString(s)
	return token{raw: s[:n], plain: utf16.RuneLen(max(r, 0))}, n
}

func plainLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// textLength is the length of an HTML text as Telegram counts it against
// its limits.
func textLength(html string) int {
	n := 0
	for i := 0; i < len(html); {
		// Token by token without keeping them: every reply is measured.
		t, size := nextToken(html[i:])
		n += t.plain
		i += size
	}
	return n
}

// fits reports whether an HTML text is at most limit characters long as
// Telegram counts them. Markup, entities and multi-byte letters all count
// for less than their bytes, so a text of at most limit bytes, as most
// replies are, fits without being measured.
func fits(html string, limit int) bool {
	return len(html) <= limit || textLength(html) <= limit
}

// splitText cuts an HTML text into messages of at most limit characters,
// preferring line boundaries, then spaces, then any character. Tags open at
// a cut are closed at the end of one part and opened again at the start of
// the next, so that every part is valid on its own. Parts with nothing
// visible are dropped.
func splitText(html string, limit int) []string {
	if fits(html, limit) {
		return []string{html}
	}
	toks := tokenize(html)
	var parts []string
	var cur []token // the part being built, starting with the tags reopened from the previous part
	curLen := 0

	flush := func(upto int) {
		part, rest := cur[:upto], cur[upto:]
		var b strings.Builder
		var stack []token // start tags the part leaves open
		for _, t := range part {
			b.WriteString(t.raw)
			switch {
			case t.tag != "" && !t.closing:
				stack = append(stack, t)
			case t.tag != "" && t.closing && len(stack) > 0:
				stack = stack[:len(stack)-1]
			}
		}
		text := strings.TrimRight(b.String(), " \n")
		for i := len(stack) - 1; i >= 0; i-- {
			text += "</" + stack[i].tag + ">"
		}
		if strings.TrimSpace(plainOf(part)) != "" {
			parts = append(parts, text)
		}
		// The next part reopens the tags and skips the break it was cut at.
		for len(rest) > 0 && (rest[0].raw == "\n" || rest[0].raw == " ") {
			rest = rest[1:]
		}
		cur = append(stack, rest...)
		curLen = 0
		for _, t := range cur {
			curLen += t.plain
		}
	}

	for _, t := range toks {
		cur = append(cur, t)
		curLen += t.plain
		for curLen > limit {
			flush(cutPoint(cur, limit))
		}
	}
	if strings.TrimSpace(plainOf(cur)) != "" {
		var b strings.Builder
		for _, t := range cur {
			b.WriteString(t.raw)
		}
		parts = append(parts, strings.TrimRight(b.String(), " \n"))
	}
	return parts
}

// cutPoint picks where to end a part of toks so that it holds at most
// limit characters: after the last line break that fits, else the last
// space, else as many tokens as fit.
func cutPoint(toks []token, limit int) int {
	n, lastNL, lastSpace, fit := 0, -1, -1, 0
	for i, t := range toks {
		if n+t.plain > limit {
			break
		}
		n += t.plain
		fit = i + 1
		switch t.raw {
		case "\n":
			lastNL = i
		case " ":
			lastSpace = i
		}
	}
	switch {
	case lastNL > 0:
		return lastNL
	case lastSpace > 0:
		return lastSpace
	case fit > 0:
		return fit
	}
	return 1
}

func plainOf(toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		if t.tag == "" {
			b.WriteString(t.raw)
		}
	}
	return b.String()
}
