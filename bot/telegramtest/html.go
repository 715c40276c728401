package telegramtest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// supportedTags are the HTML tags Telegram accepts in parse_mode HTML
// (https://core.telegram.org/bots/api#html-style). Anything else is a 400.
var supportedTags = map[string]bool{
	"a": true, "b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "span": true, "tg-spoiler": true, "tg-emoji": true,
	"tg-time": true, "code": true, "pre": true, "blockquote": true,
}

// parseHTML turns a text in Telegram's HTML parse mode into the plain text a
// person sees, failing the way the Bot API does (the messages follow tdlib's
// parse_html, which the Bot API server prefixes with "can't parse entities: ").
// Unknown "&…" sequences stay literal, as in Telegram; a "<" that does not
// open a supported tag is an error.
func parseHTML(text string) (string, error) {
	at := func(i int) byte {
		if i < len(text) {
			return text[i]
		}
		return 0
	}
	var out strings.Builder
	var open []string
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '&' {
			if r, n := decodeEntity(text[i:]); n > 0 {
				out.WriteRune(r)
				i += n - 1
				continue
			}
			out.WriteByte('&')
			continue
		}
		if c != '<' {
			out.WriteByte(c)
			continue
		}
		begin := i
		i++
		if at(i) != '/' {
			for at(i) != 0 && !isSpace(at(i)) && at(i) != '>' {
				i++
			}
			if at(i) == 0 {
				return "", fmt.Errorf("Unclosed start tag at byte offset %d", begin)
			}
			name := strings.ToLower(text[begin+1 : i])
			if !supportedTags[name] {
				return "", fmt.Errorf("Unsupported start tag \"%s\" at byte offset %d", name, begin)
			}
			attrs := map[string]string{}
			for at(i) != '>' {
				for at(i) != 0 && isSpace(at(i)) {
					i++
				}
				if at(i) == '>' {
					break
				}
				if at(i) == 0 {
					return "", fmt.Errorf("Unclosed start tag \"%s\" at byte offset %d", name, begin)
				}
				attrBegin := i
				for at(i) != 0 && !isSpace(at(i)) && at(i) != '=' && at(i) != '>' {
					i++
				}
				attr := strings.ToLower(text[attrBegin:i])
				if attr == "" {
					return "", fmt.Errorf("Empty attribute name in the tag \"%s\" at byte offset %d", name, begin)
				}
				for at(i) != 0 && isSpace(at(i)) {
					i++
				}
				if at(i) != '=' {
					// Boolean attributes such as <blockquote expandable> are allowed.
					if name == "blockquote" && attr == "expandable" {
						attrs[attr] = ""
						continue
					}
					return "", fmt.Errorf("Expected equal sign in declaration of an attribute of the tag \"%s\" at byte offset %d", name, begin)
				}
				i++
				for at(i) != 0 && isSpace(at(i)) {
					i++
				}
				if at(i) == 0 {
					return "", fmt.Errorf("Unclosed start tag \"%s\" at byte offset %d", name, begin)
				}
				var value strings.Builder
				if q := at(i); q == '"' || q == '\'' {
					i++
					for at(i) != 0 && at(i) != q {
						if at(i) == '&' {
							if r, n := decodeEntity(text[i:]); n > 0 {
								value.WriteRune(r)
								i += n
								continue
							}
						}
						value.WriteByte(at(i))
						i++
					}
					if at(i) == q {
						i++
					}
				} else {
					tokenBegin := i
					for isAlnum(at(i)) || at(i) == '.' || at(i) == '-' {
						i++
					}
					value.WriteString(strings.ToLower(text[tokenBegin:i]))
					if at(i) != 0 && !isSpace(at(i)) && at(i) != '>' {
						return "", fmt.Errorf("Unexpected end of name token at byte offset %d", tokenBegin)
					}
				}
				attrs[attr] = value.String()
			}
			if name == "span" && attrs["class"] != "tg-spoiler" {
				return "", fmt.Errorf("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
			}
			open = append(open, name)
			continue
		}
		// An end tag.
		if len(open) == 0 {
			return "", fmt.Errorf("Unexpected end tag at byte offset %d", begin)
		}
		i++
		nameBegin := i
		for at(i) != 0 && !isSpace(at(i)) && at(i) != '>' {
			i++
		}
		end := strings.ToLower(text[nameBegin:i])
		for at(i) != 0 && isSpace(at(i)) {
			i++
		}
		if at(i) != '>' {
			return "", fmt.Errorf("Unclosed end tag at byte offset %d", begin)
		}
		want := open[len(open)-1]
		if end != "" && end != want {
			return "", fmt.Errorf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, want, end)
		}
		open = open[:len(open)-1]
	}
	if len(open) > 0 {
		return "", fmt.Errorf("Can't find end tag corresponding to start tag \"%s\"", open[len(open)-1])
	}
	return out.String(), nil
}

// decodeEntity decodes one HTML entity at the start of s: the four named
// entities Telegram supports and every numeric one. It returns the number of
// bytes consumed, 0 when s does not start with a valid entity.
func decodeEntity(s string) (rune, int) {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 10 {
		return 0, 0
	}
	name := s[1:end]
	switch name {
	case "lt":
		return '<', end + 1
	case "gt":
		return '>', end + 1
	case "amp":
		return '&', end + 1
	case "quot":
		return '"', end + 1
	}
	if name[0] != '#' || len(name) < 2 {
		return 0, 0
	}
	var n uint64
	var err error
	if name[1] == 'x' || name[1] == 'X' {
		n, err = strconv.ParseUint(name[2:], 16, 32)
	} else {
		n, err = strconv.ParseUint(name[1:], 10, 32)
	}
	if err != nil || n == 0 || n > utf8.MaxRune {
		return 0, 0
	}
	return rune(n), end + 1
}

// textLength counts characters as Telegram does for its limits: in UTF-16
// code units, so an emoji outside the basic plane counts twice.
func textLength(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
