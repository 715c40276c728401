package locales

import (
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
)

// compiled is one plural form of a message, ready to render. A template
// whose actions are all plain argument references ({{.Name}}), as every
// catalogue message's are, becomes literal text and argument names, which
// render without text/template's reflection and without building a map of
// arguments. Any other action ({{if}}, pipelines) keeps text/template.
type compiled struct {
	segments []segment
	// size is the length of the literal text, to size the result.
	size int
	// fields counts the argument references among segments.
	fields int
	// text is set for a template with other actions, rendered by
	// text/template as go-i18n renders it.
	text *template.Template
}

// segment is literal text or, when arg is set, the name of an argument.
type segment struct {
	text string
	arg  bool
}

// compile parses src the way go-i18n's text parser does: a template without
// the left delimiter is literal text, anything else goes through
// text/template with missingkey=error, so a reference to an argument the
// caller did not pass is an error. A template that does not parse is an
// error here rather than at every render.
func compile(src, leftDelim, rightDelim string) (*compiled, error) {
	if leftDelim == "" {
		leftDelim = "{{"
	}
	if rightDelim == "" {
		rightDelim = "}}"
	}
	if !strings.Contains(src, leftDelim) {
		return &compiled{segments: []segment{{text: src}}, size: len(src)}, nil
	}
	t, err := template.New("").Delims(leftDelim, rightDelim).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, err
	}
	if t.Tree == nil {
		// Only {{define}}s: text/template's error belongs to each render.
		return &compiled{text: t}, nil
	}
	c := &compiled{}
	for _, n := range t.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			c.literal(string(n.Text))
		case *parse.ActionNode:
			name, ok := argName(n)
			if !ok {
				return &compiled{text: t}, nil
			}
			c.segments = append(c.segments, segment{text: name, arg: true})
			c.fields++
		default:
			return &compiled{text: t}, nil
		}
	}
	return c, nil
}

// literal appends text, joined to the literal before it.
func (c *compiled) literal(text string) {
	if text == "" {
		return
	}
	c.size += len(text)
	if last := len(c.segments) - 1; last >= 0 && !c.segments[last].arg {
		c.segments[last].text += text
		return
	}
	c.segments = append(c.segments, segment{text: text})
}

// argName returns Name for the action {{.Name}}: no variables, no pipeline,
// no chain such as .Name.Field.
func argName(n *parse.ActionNode) (string, bool) {
	p := n.Pipe
	if len(p.Decl) != 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return "", false
	}
	f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 {
		return "", false
	}
	return f.Ident[0], true
}

// maxArgs is how many argument references a message renders without
// allocating for their formatted values; the longest message has six.
const maxArgs = 16

// execute renders the template with args formatted for lang.
func (c *compiled) execute(args Args, lang string, escape bool) (string, error) {
	if c.text != nil {
		return c.executeText(args, lang, escape)
	}
	if c.fields == 0 {
		if len(c.segments) == 0 {
			return "", nil
		}
		return c.segments[0].text, nil
	}
	var buf [maxArgs]string
	values := buf[:0]
	size := c.size
	for _, s := range c.segments {
		if !s.arg {
			continue
		}
		v, ok := args[s.text]
		if !ok {
			return "", fmt.Errorf("no argument %q", s.text)
		}
		f := format(v, lang, escape)
		values = append(values, f)
		size += len(f)
	}
	if len(c.segments) == 1 {
		return values[0], nil
	}
	var b strings.Builder
	b.Grow(size)
	i := 0
	for _, s := range c.segments {
		if s.arg {
			b.WriteString(values[i])
			i++
			continue
		}
		b.WriteString(s.text)
	}
	return b.String(), nil
}

// executeText renders a template text/template must run, with the data
// go-i18n would have passed: no data at all without arguments.
func (c *compiled) executeText(args Args, lang string, escape bool) (string, error) {
	var data map[string]any
	if len(args) > 0 {
		data = make(map[string]any, len(args))
		for k, v := range args {
			data[k] = format(v, lang, escape)
		}
	}
	var b strings.Builder
	if err := c.text.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}
