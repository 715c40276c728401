package site

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"

	"github.com/hromadabot/hromadabot/docs"
)

// renderMethodology renders docs/methodology.md once. The document is the
// project's own, so its HTML is trusted; raw HTML in it is still left out.
func renderMethodology() (template.HTML, error) {
	md := goldmark.New(goldmark.WithExtensions(extension.Table), goldmark.WithParserOptions(parser.WithAutoHeadingID()))
	var buf bytes.Buffer
	ctx := parser.NewContext(parser.WithIDs(&headingIDs{seen: map[string]int{}}))
	if err := md.Convert(docs.Methodology, &buf, parser.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("site: methodology: %w", err)
	}
	return template.HTML(buf.String()), nil
}

// headingIDs makes heading anchors as GitHub does, which the document's
// own links use: lower case, letters of any script kept, spaces to
// hyphens, other punctuation dropped ("Додаток: базовий план · Appendix" →
// "додаток-базовий-план--appendix").
type headingIDs struct{ seen map[string]int }

func (h *headingIDs) Generate(value []byte, kind ast.NodeKind) []byte {
	var b strings.Builder
	for _, r := range strings.ToLower(string(value)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	id := b.String()
	if id == "" {
		id = "section"
	}
	if n := h.seen[id]; n > 0 {
		h.seen[id] = n + 1
		id += "-" + strconv.Itoa(n)
	} else {
		h.seen[id] = 1
	}
	return []byte(id)
}

func (h *headingIDs) Put(value []byte) { h.seen[string(value)]++ }
