package transform

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/groupcast/groupcast"
	"github.com/rivo/uniseg"
	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
)

// long writes the whole announcement as readable plain text (the QQ style):
// nothing of the body is left out.
func (d *Doc) long() string {
	w := &longWriter{d: d}
	w.b = make([]byte, 0, d.sizeHint())
	// The title, the body and the links outside it, as blocks: a blank
	// one goes with its separator.
	w.b = append(w.b, bracket(d.a.Title)...)
	w.close(0, 0, "\n\n")
	mark := w.open(0, "\n\n")
	w.blocks(d.root, "\n\n")
	w.close(0, mark, "\n\n")
	if extra := d.outside; len(extra) > 0 {
		mark := w.open(0, "\n\n")
		w.b = append(w.b, "相关链接："...)
		for _, l := range d.mappedLinks(extra) {
			w.b = append(w.b, "\n• "...)
			w.b = append(w.b, linkText(l.Title, l.URL)...)
		}
		w.close(0, mark, "\n\n")
	}
	return string(w.b)
}

// bracket writes a heading as 【heading】, unless it brings its own 【label】.
func bracket(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "【") {
		return s
	}
	return "【" + s + "】"
}

// linkText writes a link the plain way: 标题（url）, or the URL alone when
// the title is the URL.
func linkText(title, url string) string {
	title = strings.TrimSpace(title)
	switch {
	case url == "":
		return title
	case title == "" || title == url || "mailto:"+title == url:
		return url
	}
	return title + "（" + url + "）"
}

// linksOutsideBody are the front-matter links the body does not link to.
func (d *Doc) linksOutsideBody() []groupcast.Link {
	inBody := map[string]bool{}
	for _, l := range d.links[d.front:] {
		inBody[l.URL] = true
	}
	_ = ast.Walk(d.root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			switch n := n.(type) {
			case *ast.Link:
				inBody[d.dest(n.Destination)] = true
			case *ast.AutoLink:
				inBody[string(n.URL(d.src))] = true
			}
		}
		return ast.WalkContinue, nil
	})
	var out []groupcast.Link
	for _, l := range d.links[:d.front] {
		if !inBody[l.URL] && !bytes.Contains(d.src, []byte(l.URL)) {
			out = append(out, l)
		}
	}
	return out
}

var bullets = []string{"•", "◦", "▪"}

type longWriter struct {
	textBuf
	d     *Doc
	depth int // list nesting
}

// blocks writes parent's blocks, sep between them, as joinBlocks joins.
func (w *longWriter) blocks(parent ast.Node, sep string) {
	start := len(w.b)
	for c := parent.FirstChild(); c != nil; c = c.NextSibling() {
		mark := w.open(start, sep)
		w.block(c)
		w.close(start, mark, sep)
	}
}

func (w *longWriter) block(n ast.Node) {
	start := len(w.b)
	switch n := n.(type) {
	case *ast.Paragraph, *ast.TextBlock:
		w.inlines(n)
	case *ast.Heading:
		w.inlines(n)
		w.bracket(start)
	case *ast.ThematicBreak:
		w.b = append(w.b, "────────"...)
	case *ast.CodeBlock, *ast.FencedCodeBlock:
		w.lines(w.d.codeLines(n))
	case *ast.HTMLBlock:
		if n.HTMLBlockType == ast.HTMLBlockType2 { // <!-- a comment -->: a note to the authors
			return
		}
		w.lines(w.d.codeLines(n))
	case *ast.Blockquote:
		w.blocks(n, "\n\n")
		w.prefixLines(start, "▎", "▎")
	case *ast.List:
		w.list(n)
	case *east.Table:
		w.table(n)
	default:
		w.blocks(n, "\n\n")
	}
}

// bracket is bracket on b[start:].
func (w *longWriter) bracket(start int) {
	w.trimSpace(start)
	if len(w.b) == start || bytes.HasPrefix(w.b[start:], []byte("【")) {
		return
	}
	w.insert(start, "【")
	w.b = append(w.b, "】"...)
}

// lines writes lines one a line.
func (w *longWriter) lines(lines []string) {
	for i, l := range lines {
		if i > 0 {
			w.b = append(w.b, '\n')
		}
		w.b = append(w.b, l...)
	}
}

func (w *longWriter) list(l *ast.List) {
	bullet := bullets[w.depth%len(bullets)] + " "
	w.depth++
	defer func() { w.depth-- }()
	num := l.Start
	sep := "\n"
	if !l.IsTight {
		sep = "\n\n"
	}
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		marker := bullet
		if l.IsOrdered() {
			marker = strconv.Itoa(num) + string(l.Marker) + " "
			num++
		}
		if it != l.FirstChild() {
			w.b = append(w.b, sep...)
		}
		start := len(w.b)
		w.blocks(it, sep)
		w.prefixLines(start, marker, indent(uniseg.StringWidth(marker)))
	}
}

// table writes a small table as rows aligned by display width (CJK counts
// two columns), and a wide one as one "列：值；列：值" line per row, which
// reads well on a phone whatever the font.
func (w *longWriter) table(t *east.Table) {
	header, rows := w.tableRows(t, w.inlines)
	cols := len(header)
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	widths := make([]int, cols)
	for i := -1; i < len(rows); i++ {
		for j, c := range row(header, rows, i) {
			widths[j] = max(widths[j], uniseg.StringWidth(c))
		}
	}
	total := 2 * (cols - 1)
	for _, wd := range widths {
		total += wd
	}
	if cols > 4 || total > 40 {
		w.records(header, rows, "• ", "", "；")
		return
	}
	for i := -1; i < len(rows); i++ {
		if i > -1 {
			w.b = append(w.b, '\n')
		}
		start := len(w.b)
		r := row(header, rows, i)
		for j, c := range r {
			w.b = append(w.b, c...)
			if j < len(r)-1 {
				w.b = append(w.b, indent(widths[j]-uniseg.StringWidth(c)+2)...)
			}
		}
		w.set(start, bytes.TrimRight(w.b[start:], " "))
	}
}

// row is the header for i -1, else rows[i].
func row(header []string, rows [][]string, i int) []string {
	if i < 0 {
		return header
	}
	return rows[i]
}

// inlines writes n's inlines, trimmed.
func (w *longWriter) inlines(n ast.Node) {
	start := len(w.b)
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		w.inline(c)
	}
	w.trim(start, " \t\n")
}

// inlineString is n's inlines, trimmed.
func (w *longWriter) inlineString(n ast.Node) string {
	start := len(w.b)
	w.inlines(n)
	return w.cut(start)
}

func (w *longWriter) inline(n ast.Node) {
	d := w.d
	switch n := n.(type) {
	case *ast.Text:
		w.b = append(w.b, d.plainValue(n)...)
		if n.SoftLineBreak() || n.HardLineBreak() {
			w.b = append(w.b, '\n')
		}
	case *ast.String:
		w.b = append(w.b, strings.ToValidUTF8(string(n.Value), "\uFFFD")...)
	case *ast.CodeSpan:
		w.b = append(w.b, codeSpanText(d, n)...)
	case *ast.Link:
		w.b = append(w.b, linkText(d.titled(w.inlineString(n), d.dest(n.Destination)))...)
	case *ast.AutoLink:
		w.b = append(w.b, d.autoLinkText(n)...)
	case *ast.Image:
		start := len(w.b)
		if w.inlines(n); len(w.b) > start {
			w.insert(start, "〔图片：")
			w.b = append(w.b, "〕"...)
		} else {
			w.b = append(w.b, "〔图片〕"...)
		}
	case *ast.RawHTML:
		if isBreakTag(rawHTML(d, n)) {
			w.b = append(w.b, '\n')
		}
	case *east.Strikethrough:
		w.inlines(n)
		w.b = append(w.b, "（已删除）"...)
	case *east.TaskCheckBox:
		if n.IsChecked {
			w.b = append(w.b, "☑ "...)
		} else {
			w.b = append(w.b, "☐ "...)
		}
	default:
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			w.inline(c)
		}
	}
}

// codeSpanText is an inline code span's text; a line end in it is a space.
func codeSpanText(d *Doc, n *ast.CodeSpan) string {
	var b strings.Builder
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if t, ok := c.(*ast.Text); ok {
			b.WriteString(strings.ReplaceAll(string(t.Value(d.src)), "\n", " "))
		}
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

func rawHTML(d *Doc, n *ast.RawHTML) string {
	var b strings.Builder
	for i := range n.Segments.Len() {
		seg := n.Segments.At(i)
		b.Write(seg.Value(d.src))
	}
	return b.String()
}

func isBreakTag(tag string) bool {
	t := strings.ToLower(strings.ReplaceAll(tag, " ", ""))
	return t == "<br>" || t == "<br/>"
}
