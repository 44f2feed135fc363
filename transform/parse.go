package transform

import (
	"bytes"
	"strings"
	"unicode"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/groupcast/groupcast"
)

// Doc is an announcement with its body parsed. It is read-only once made,
// so one Doc may render every destination of an announcement, concurrently.
type Doc struct {
	a     *groupcast.Announcement
	src   []byte
	text  string // src as a string: text nodes are slices of it, not copies
	root  ast.Node
	links []groupcast.Link // front-matter links, then links in the body; one per URL
	front int              // how many of links come from the front matter
	// outside are the front-matter links the body does not link to: the
	// long and formal styles list them after the body.
	outside []groupcast.Link
	images  []groupcast.Image // front-matter images, then images in the body; one per URL
	err     error             // a limit the body passes (limits.go): Render refuses
	// link writes each link's URL (WithLinks, tracked links); nil: as is.
	link func(url string) string
}

// Parse parses a's body once for all the destinations it will be rendered
// for. A body past the limits (limits.go) is not rendered: Err and Render
// answer the *groupcast.InputError Check would.
func Parse(a *groupcast.Announcement) *Doc {
	return parseBody(a, a.Body)
}

// Err is the limit the body passes, or nil.
func (d *Doc) Err() error { return d.err }

func parseBody(orig *groupcast.Announcement, body string) *Doc {
	a := sanitized(orig)
	d := &Doc{a: a}
	if d.err = tooLong(body); d.err != nil {
		d.root = ast.NewDocument()
	} else {
		d.text = strings.ToValidUTF8(body, "\uFFFD")
		d.src = []byte(d.text)
		if d.root, _, d.err = parseMarkdown(d.src); d.err != nil {
			d.root = ast.NewDocument() // not fit to render; Render refuses
		}
	}
	seenLink, seenImage := map[string]bool{}, map[string]bool{}
	addLink := func(l groupcast.Link) {
		if l.URL != "" && !seenLink[l.URL] {
			seenLink[l.URL] = true
			d.links = append(d.links, l)
		}
	}
	addImage := func(im groupcast.Image) {
		if im.URL != "" && !seenImage[im.URL] {
			seenImage[im.URL] = true
			d.images = append(d.images, im)
		}
	}
	for _, l := range a.Links {
		addLink(l)
	}
	d.front = len(d.links)
	for _, im := range a.Images {
		addImage(im)
	}
	_ = ast.Walk(d.root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			url := d.dest(n.Destination)
			title := d.plainText(n)
			if title == "" {
				title = url
			}
			addLink(groupcast.Link{Title: title, URL: url})
		case *ast.Image:
			addImage(groupcast.Image{URL: d.dest(n.Destination), Alt: d.plainText(n)})
		}
		return ast.WalkContinue, nil
	})
	if d.front > 0 {
		d.outside = d.linksOutsideBody()
	}
	return d
}

// sanitized is a copy of a whose text fields are valid UTF-8 and whose
// title is one line, whatever reached the renderer.
func sanitized(a *groupcast.Announcement) *groupcast.Announcement {
	c := *a
	valid := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
	c.Title = oneLine(valid(a.Title))
	c.Summary, c.Author = valid(a.Summary), valid(a.Author)
	c.Links = make([]groupcast.Link, len(a.Links))
	for i, l := range a.Links {
		c.Links[i] = groupcast.Link{Title: valid(l.Title), URL: valid(l.URL)}
	}
	c.Images = make([]groupcast.Image, len(a.Images))
	for i, im := range a.Images {
		c.Images[i] = groupcast.Image{URL: valid(im.URL), Alt: valid(im.Alt)}
	}
	return &c
}

// oneLine is s with its blanks collapsed: strings.Join(strings.Fields(s),
// " "), and s itself when it is that already (a title usually is).
func oneLine(s string) string {
	prevSpace := true // no blank at the start
	for _, r := range s {
		space := unicode.IsSpace(r)
		if space && (r != ' ' || prevSpace) {
			return strings.Join(strings.Fields(s), " ")
		}
		prevSpace = space
	}
	if prevSpace && s != "" { // a blank at the end
		return strings.Join(strings.Fields(s), " ")
	}
	return s
}

// dest is a link destination with escapes and entities resolved.
func (d *Doc) dest(b []byte) string {
	return strings.TrimSpace(unescape(b))
}

// unescape resolves backslash escapes and character references the way
// goldmark's HTML writer does, and replaces NUL as CommonMark asks.
func unescape(b []byte) string {
	if bytes.IndexByte(b, '\\') >= 0 || bytes.IndexByte(b, '&') >= 0 {
		b = resolve(b)
	}
	return validText(string(b))
}

// unescapeString is unescape for text already a string: most text has
// neither escapes nor NUL and is answered as it is, without a copy.
func unescapeString(s string) string {
	if strings.IndexByte(s, '\\') >= 0 || strings.IndexByte(s, '&') >= 0 {
		s = string(resolve([]byte(s)))
	}
	return validText(s)
}

// validText is s with NUL replaced as CommonMark asks, valid UTF-8.
func validText(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// resolve resolves backslash escapes and character references. Escapes and
// references start with "\\" or "&": callers skip text with neither.
func resolve(b []byte) []byte {
	b = util.UnescapePunctuations(b)
	b = util.ResolveNumericReferences(b)
	return util.ResolveEntityNames(b)
}

// strayDelimiters removes runs of two or more "*" and "~~" that the parser
// left as text: CommonMark does not open emphasis between a CJK character
// and punctuation, so "这是**“重要”**通知" keeps its asterisks as text. In
// the plain styles they can only be markup the author meant, never content.
func strayDelimiters(s string) string {
	if !strings.Contains(s, "**") && !strings.Contains(s, "~~") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '*' || s[i] == '~' {
			j := i
			for j < len(s) && s[j] == s[i] {
				j++
			}
			if j-i < 2 {
				b.WriteString(s[i:j])
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// textValue is what a Text node says.
// plainValue is a text node as plain text: its value, without the emphasis
// delimiters CommonMark left in it (raw text is kept as it is).
func (d *Doc) plainValue(t *ast.Text) string {
	if t.IsRaw() {
		return d.textValue(t)
	}
	return strayDelimiters(d.textValue(t))
}

func (d *Doc) textValue(t *ast.Text) string {
	v := d.segment(t.Segment)
	if t.IsRaw() {
		return strings.ToValidUTF8(v, "\uFFFD")
	}
	return unescapeString(v)
}

// segment is the source text of seg: a slice of the body, not a copy,
// unless the parser padded it.
func (d *Doc) segment(seg text.Segment) string {
	if seg.Padding == 0 && !seg.ForceNewline {
		return d.text[seg.Start:seg.Stop]
	}
	return string(seg.Value(d.src))
}

// plainText is the text of n's inline descendants, with no markup, soft
// breaks as spaces: for link titles and image alts.
func (d *Doc) plainText(n ast.Node) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.WriteString(d.textValue(c))
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.WriteString(strings.ToValidUTF8(string(c.Value), "\uFFFD"))
		case *ast.AutoLink:
			b.WriteString(strings.ToValidUTF8(string(c.Label(d.src)), "\uFFFD"))
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(b.String())
}

// codeLines are the lines of a code or HTML block, verbatim, without their
// line ends.
func (d *Doc) codeLines(n ast.Node) []string {
	lines := n.Lines()
	out := make([]string, 0, lines.Len())
	for i := range lines.Len() {
		seg := lines.At(i)
		v := strings.TrimRight(d.segment(seg), "\r\n")
		out = append(out, strings.ToValidUTF8(v, "\uFFFD"))
	}
	if n.Kind() == ast.KindHTMLBlock {
		if h := n.(*ast.HTMLBlock); h.HasClosure() {
			out = append(out, strings.TrimRight(d.segment(h.ClosureLine), "\r\n"))
		}
	}
	for len(out) > 0 && strings.TrimSpace(out[len(out)-1]) == "" {
		out = out[:len(out)-1]
	}
	return out
}

// wide reports whether r is written without spaces between words: CJK
// ideographs, kana, hangul and full-width punctuation.
func wide(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		(r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF) || r == '“' || r == '”' || r == '‘' || r == '’' || r == '…' || r == '—'
}

// joinBlocks joins rendered blocks, dropping empty ones.
func joinBlocks(blocks []string, sep string) string {
	n := 0
	for _, b := range blocks {
		n += len(b) + len(sep)
	}
	var out strings.Builder
	out.Grow(n)
	for _, b := range blocks {
		if strings.TrimSpace(b) == "" {
			continue
		}
		if out.Len() > 0 {
			out.WriteString(sep)
		}
		out.WriteString(b)
	}
	return out.String()
}
