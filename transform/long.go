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
	blocks := []string{bracket(d.a.Title), w.blocks(d.root, "\n\n")}
	if extra := d.linksOutsideBody(); len(extra) > 0 {
		lines := []string{"相关链接："}
		for _, l := range d.mappedLinks(extra) {
			lines = append(lines, "• "+linkText(l.Title, l.URL))
		}
		blocks = append(blocks, strings.Join(lines, "\n"))
	}
	return joinBlocks(blocks, "\n\n")
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
	d     *Doc
	depth int // list nesting
}

func (w *longWriter) blocks(parent ast.Node, sep string) string {
	var out []string
	for c := parent.FirstChild(); c != nil; c = c.NextSibling() {
		out = append(out, w.block(c))
	}
	return joinBlocks(out, sep)
}

func (w *longWriter) block(n ast.Node) string {
	switch n := n.(type) {
	case *ast.Paragraph, *ast.TextBlock:
		return w.inlines(n)
	case *ast.Heading:
		return bracket(w.inlines(n))
	case *ast.ThematicBreak:
		return "────────"
	case *ast.CodeBlock, *ast.FencedCodeBlock:
		return strings.Join(w.d.codeLines(n), "\n")
	case *ast.HTMLBlock:
		if n.HTMLBlockType == ast.HTMLBlockType2 { // <!-- a comment -->: a note to the authors
			return ""
		}
		return strings.Join(w.d.codeLines(n), "\n")
	case *ast.Blockquote:
		return prefixLines(w.blocks(n, "\n\n"), "▎", "▎")
	case *ast.List:
		return w.list(n)
	case *east.Table:
		return w.table(n)
	}
	return w.blocks(n, "\n\n")
}

func (w *longWriter) list(l *ast.List) string {
	bullet := bullets[w.depth%len(bullets)] + " "
	w.depth++
	defer func() { w.depth-- }()
	var items []string
	num := l.Start
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		marker := bullet
		if l.IsOrdered() {
			marker = strconv.Itoa(num) + string(l.Marker) + " "
			num++
		}
		sep := "\n"
		if !l.IsTight {
			sep = "\n\n"
		}
		items = append(items, prefixLines(w.blocks(it, sep), marker, strings.Repeat(" ", uniseg.StringWidth(marker))))
	}
	if !l.IsTight {
		return strings.Join(items, "\n\n")
	}
	return strings.Join(items, "\n")
}

// table writes a small table as rows aligned by display width (CJK counts
// two columns), and a wide one as one "列：值；列：值" line per row, which
// reads well on a phone whatever the font.
func (w *longWriter) table(t *east.Table) string {
	header, rows := tableRows(t, func(n ast.Node) string { return w.inlines(n) })
	all := append([][]string{header}, rows...)
	cols := 0
	for _, r := range all {
		cols = max(cols, len(r))
	}
	widths := make([]int, cols)
	for _, r := range all {
		for i, c := range r {
			widths[i] = max(widths[i], uniseg.StringWidth(c))
		}
	}
	total := 2 * (cols - 1)
	for _, wd := range widths {
		total += wd
	}
	var lines []string
	if cols <= 4 && total <= 40 {
		for _, r := range all {
			var b strings.Builder
			for i, c := range r {
				b.WriteString(c)
				if i < len(r)-1 {
					b.WriteString(strings.Repeat(" ", widths[i]-uniseg.StringWidth(c)+2))
				}
			}
			lines = append(lines, strings.TrimRight(b.String(), " "))
		}
		return strings.Join(lines, "\n")
	}
	return strings.Join(recordLines(header, rows, "• ", "", "；"), "\n")
}

// recordLines writes each row as "列：值" pairs; empty cells are left out,
// a column without a header gives its value alone.
func recordLines(header []string, rows [][]string, prefix, strong, sep string) []string {
	var lines []string
	for _, r := range rows {
		var pairs []string
		for i, c := range r {
			if c == "" {
				continue
			}
			h := ""
			if i < len(header) {
				h = header[i]
			}
			if h == "" {
				pairs = append(pairs, c)
			} else {
				pairs = append(pairs, strong+h+strong+"："+c)
			}
		}
		if len(pairs) > 0 {
			lines = append(lines, prefix+strings.Join(pairs, sep))
		}
	}
	if len(rows) == 0 && len(header) > 0 { // a header alone is still content
		lines = append(lines, prefix+strings.Join(header, sep))
	}
	return lines
}

func (w *longWriter) inlines(n ast.Node) string {
	var b strings.Builder
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		w.inline(&b, c)
	}
	return strings.Trim(b.String(), " \t\n")
}

func (w *longWriter) inline(b *strings.Builder, n ast.Node) {
	d := w.d
	switch n := n.(type) {
	case *ast.Text:
		b.WriteString(d.plainValue(n))
		if n.SoftLineBreak() || n.HardLineBreak() {
			b.WriteByte('\n')
		}
	case *ast.String:
		b.WriteString(strings.ToValidUTF8(string(n.Value), "\uFFFD"))
	case *ast.CodeSpan:
		b.WriteString(codeSpanText(d, n))
	case *ast.Link:
		b.WriteString(linkText(d.titled(w.inlines(n), d.dest(n.Destination))))
	case *ast.AutoLink:
		b.WriteString(d.autoLinkText(n))
	case *ast.Image:
		if alt := w.inlines(n); alt != "" {
			b.WriteString("〔图片：" + alt + "〕")
		} else {
			b.WriteString("〔图片〕")
		}
	case *ast.RawHTML:
		if isBreakTag(rawHTML(d, n)) {
			b.WriteByte('\n')
		}
	case *east.Strikethrough:
		b.WriteString(w.inlines(n) + "（已删除）")
	case *east.TaskCheckBox:
		if n.IsChecked {
			b.WriteString("☑ ")
		} else {
			b.WriteString("☐ ")
		}
	default:
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			w.inline(b, c)
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
