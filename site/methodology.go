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
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/hromadabot/hromadabot/docs"
)

// renderMethodology renders docs/methodology.md once. The document is the
// project's own, so its HTML is trusted; raw HTML in it is still left out.
func renderMethodology() (template.HTML, error) {
	md := goldmark.New(
		goldmark.WithExtensions(extension.Table),
		goldmark.WithParserOptions(parser.WithAutoHeadingID(), parser.WithASTTransformers(util.Prioritized(tableCaptions{}, 100))),
		// Below the table extension's 500, so that this renderer wins.
		goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(tableRenderer{}, 100))),
	)
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

// tableCaptions gives each table of the document what a screen reader
// needs and Markdown cannot say: a caption, the heading the table sits
// under, and header cells that name their column.
type tableCaptions struct{}

func (tableCaptions) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	source := reader.Source()
	var heading string
	n := 0
	_ = ast.Walk(doc, func(node ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch node := node.(type) {
		case *ast.Heading:
			heading = plainText(node, source)
			return ast.WalkSkipChildren, nil
		case *east.Table:
			n++
			node.SetAttributeString("id", "table-"+strconv.Itoa(n))
			node.SetAttributeString("caption", heading)
		case *east.TableCell:
			if node.Parent().Kind() == east.KindTableHeader {
				node.SetAttributeString("scope", "col")
			}
		}
		return ast.WalkContinue, nil
	})
}

// plainText is a node's text without its markup.
func plainText(n ast.Node, source []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if t, ok := c.(*ast.Text); ok && entering {
			b.Write(t.Segment.Value(source))
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// tableRenderer writes a table as the site's own tables are: in a region
// that scrolls on a narrow screen, labelled by the table's caption. The
// caption repeats the heading above it, so it is for screen readers only.
type tableRenderer struct{}

func (tableRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(east.KindTable, func(w util.BufWriter, _ []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		id, _ := n.AttributeString("id")
		if !entering {
			_, _ = w.WriteString("</table></div>\n")
			return ast.WalkContinue, nil
		}
		caption, _ := n.AttributeString("caption")
		fmt.Fprintf(w, `<div class="scroll" tabindex="0" role="region" aria-labelledby="%[1]s-caption"><table id="%[1]s">`+
			`<caption id="%[1]s-caption" class="vh">%[2]s</caption>`+"\n",
			id, template.HTMLEscapeString(fmt.Sprint(caption)))
		return ast.WalkContinue, nil
	})
}
