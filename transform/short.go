package transform

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"

	"github.com/groupcast/groupcast"
)

// Phrases of the short style.
const (
	fullTextLabel = "查看全文："
	excerptNote   = "（内容较长，以上为摘要）"
	omittedNote   = "（表格、代码等内容未列出）"
	ellipsis      = "…"
)

// flow is one run of prose the short style can quote: a paragraph or a
// list item, as plain text on one line, with the links it carries.
type flow struct {
	text  string
	links []groupcast.Link
}

// short writes the WeChat style within limit characters (runes), all lines
// included: 【title】, then the summary or the body's leading sentences,
// then link lines "标题：URL", and when the body was shortened a last line
// pointing to the full text (the first link).
func (d *Doc) short(limit int) string {
	title := bracket(d.a.Title)
	var flows []flow
	omitted := false // the body has tables, code or images the short style leaves out
	summary := strings.Join(strings.Fields(d.a.Summary), " ")
	if summary != "" {
		flows = []flow{{text: summary}}
	} else {
		flows, omitted = d.flows(limit)
	}
	all := d.mappedLinks(d.links) // the links as written
	front := all[:d.front]

	// Everything fits: no shortening, no pointer. (The prose alone is
	// already too long for most notices: then nothing is joined to see.)
	if summary == "" && !omitted && proseChars(flows) <= limit {
		lines := []string{title}
		var links []groupcast.Link
		links = append(links, front...)
		for _, f := range flows {
			lines = append(lines, f.text)
			links = append(links, f.links...)
		}
		lines = append(lines, linkLines(dedupLinks(links))...)
		if joinedChars(lines) <= limit { // joined only when it fits
			return joinBlocks(lines, "\n")
		}
	}

	// Shortened: title, excerpt, links, pointer — in that order on the
	// page; the budget goes to the title, the pointer, the front-matter
	// links (keeping room for the excerpt), the excerpt, then body links.
	left := limit
	titleLine := fitLine(title, d.a.Title, left)
	left -= Chars(titleLine)
	var pointer string
	var pointed string
	if len(all) > 0 {
		pointer = fullTextLabel + all[0].URL
		pointed = all[0].URL
		if Chars(pointer)+1 > left {
			pointer, pointed = "", ""
		} else {
			left -= Chars(pointer) + 1
		}
	}
	var frontLines []string
	frontOthers := 0
	keep := min(100, left*2/3) // room kept for the excerpt
	for _, l := range front {
		if l.URL == pointed {
			continue
		}
		frontOthers++
		line := linkLine(l)
		if Chars(line)+1 <= left-keep {
			frontLines = append(frontLines, line)
			left -= Chars(line) + 1
		}
	}
	budget := left - 1
	noteRoom := max(Chars(excerptNote), Chars(omittedNote)) + 1
	withNote := pointer == "" && summary == "" && noteRoom < budget
	if withNote { // no link to the full text: say this is not all
		budget -= noteRoom
	}
	text, used, complete := excerpt(flows, budget, "")
	if withNote && text != "" {
		switch {
		case !complete:
			text += "\n" + excerptNote
		case omitted:
			text += "\n" + omittedNote
		}
	}
	if text != "" {
		left -= Chars(text) + 1
	}
	if complete && !omitted && summary == "" && pointer != "" && len(frontLines) == frontOthers {
		// The whole body is there (only body links were left out): the
		// first link is a link like the others, not a pointer.
		if plain := linkLine(all[0]); Chars(plain)-Chars(pointer) <= left {
			left -= Chars(plain) - Chars(pointer)
			pointer = plain
		}
	}
	lines := []string{titleLine, text}
	lines = append(lines, frontLines...)
	seen := map[string]bool{pointed: true}
	for _, l := range front {
		seen[l.URL] = true
	}
	for _, f := range flows[:used] {
		for _, l := range f.links {
			if line := linkLine(l); !seen[l.URL] && Chars(line)+1 <= left {
				seen[l.URL] = true
				lines = append(lines, line)
				left -= Chars(line) + 1
			}
		}
	}
	lines = append(lines, pointer)
	return joinBlocks(lines, "\n")
}

// fitLine is line if it fits in max characters, else the title cut to fit.
func fitLine(line, title string, max int) string {
	if Chars(line) <= max {
		return line
	}
	if max >= 8 {
		return "【" + cutText(title, max-2) + "】"
	}
	return cutText(title, max)
}

// proseChars is the characters of the flows' text, newlines left out.
func proseChars(flows []flow) int {
	n := 0
	for _, f := range flows {
		n += Chars(f.text)
	}
	return n
}

// joinedChars is Chars(joinBlocks(lines, "\n")), without joining them.
func joinedChars(lines []string) int {
	n, k := 0, 0
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if k > 0 {
			n++ // "\n" ends a rune: no rune spans two lines
		}
		n += Chars(l)
		k++
	}
	return n
}

func linkLine(l groupcast.Link) string {
	if l.Title == "" || l.Title == l.URL {
		return l.URL
	}
	return l.Title + "：" + l.URL
}

func linkLines(links []groupcast.Link) []string {
	out := make([]string, 0, len(links))
	for _, l := range links {
		out = append(out, linkLine(l))
	}
	return out
}

func dedupLinks(links []groupcast.Link) []groupcast.Link {
	seen := map[string]bool{}
	var out []groupcast.Link
	for _, l := range links {
		if !seen[l.URL] {
			seen[l.URL] = true
			out = append(out, l)
		}
	}
	return out
}

// excerpt takes whole sentences from the flows, in order, within budget
// characters (newlines between flows included), stopping at the first
// sentence that does not fit. If not even the first sentence fits, it is cut
// at a clause or word edge and ends with "…". note is appended, on its own
// line, when the excerpt is not the whole text and there is room.
// used is how many flows the excerpt drew from.
func excerpt(flows []flow, budget int, note string) (text string, used int, complete bool) {
	var b strings.Builder
	size := 0 // what the excerpt can take: all of the flows, or budget runes
	for _, f := range flows {
		size += len(f.text) + 1
	}
	b.Grow(min(size, max(budget, 0)*3) + len(note) + 1) // 3 bytes a character: CJK
	n := 0
	complete = true
	flowStart, flowChars := 0, 0 // where the last flow drawn from starts in b
outer:
	for i, f := range flows {
		units := segment(levelSentence, f.text, 0, len(f.text))
		prev := -1
		for j, u := range units {
			piece := f.text[u.start:u.end]
			if j > 0 {
				piece = f.text[prev:u.end] // the blank between sentences goes with it
			} else if n > 0 {
				piece = "\n" + piece
			}
			c := Chars(piece)
			if n+c > budget {
				complete = false
				if n == 0 {
					cut := cutText(f.text[u.start:u.end], budget)
					b.WriteString(cut)
					n += Chars(cut)
					if cut != "" {
						used = i + 1
					}
				}
				break outer
			}
			if j == 0 {
				flowStart, flowChars = b.Len(), n
			}
			b.WriteString(piece)
			n += c
			prev = u.end
			used = i + 1
		}
	}
	if !complete && flowStart > 0 && used > 1 && (strings.HasSuffix(b.String(), "：") || strings.HasSuffix(b.String(), ":")) {
		// A line that announces what follows ("三重福利：") without what follows.
		text := b.String()[:flowStart]
		b.Reset()
		b.WriteString(text)
		n = flowChars
		used--
	}
	if !complete && note != "" && n+1+Chars(note) <= budget && n > 0 {
		b.WriteString("\n" + note)
	}
	return b.String(), used, complete
}

// cutText shortens s to at most max characters ending with "…": at the last
// clause mark (，；：、,;) if that keeps at least half, else at the last
// word edge (never inside a word, number, URL or emoji), else at a
// grapheme cluster edge.
func cutText(s string, max int) string {
	if Chars(s) <= max {
		return s
	}
	if max < 1 {
		return ""
	}
	room := max - 1 // for the ellipsis
	cs := clusters(s)
	// Byte offset after which no more fits.
	limit, n := 0, 0
	for i, c := range cs {
		end := cs.off(i+1, len(s))
		n += Chars(s[c.start:end])
		if n > room {
			break
		}
		limit = end
	}
	best := -1
	for i := len(cs) - 1; i >= 0; i-- {
		end := cs.off(i+1, len(s))
		if end > limit {
			continue
		}
		if strings.ContainsRune("，；：、,;", cs[i].r) {
			if Chars(s[:end]) >= room/2 {
				best = end
			}
			break
		}
	}
	if best < 0 {
		for _, u := range segment(levelWord, s, 0, len(s)) {
			if u.end <= limit {
				best = u.end
			}
		}
	}
	if best <= 0 {
		best = limit
	}
	head := strings.TrimRightFunc(s[:best], func(r rune) bool { return unicode.IsSpace(r) || r == '，' || r == '、' || r == ',' })
	if head == "" && best > 0 {
		head = s[:best]
	}
	return head + ellipsis
}

// flows collects the body's prose for the short style: paragraphs, list
// items and quoted paragraphs, in order. Headings, tables, code and images
// are left to the full text.
// omitted reports whether it left out a table, code or an image.
//
// Once the flows but the last hold more than limit characters, no excerpt
// within limit reaches the rest (and nothing can drop those flows), so
// the rest is only searched for what would be omitted, not written.
func (d *Doc) flows(limit int) (flows []flow, omitted bool) {
	w := &shortWriter{d: d, out: make([]flow, 0, 8), limit: limit}
	w.b = make([]byte, 0, min(len(d.text), 512)) // room for most paragraphs
	w.collect(d.root, "")
	return w.out, w.omitted
}

type shortWriter struct {
	textBuf // the inline text being written
	d       *Doc
	out     []flow
	links   []groupcast.Link
	omitted bool
	limit   int
	chars   int // in out
	last    int // characters of the last flow
}

// enough reports whether the flows but the last hold more than limit
// characters.
func (w *shortWriter) enough() bool {
	return w.chars-w.last > w.limit
}

func (w *shortWriter) add(f flow) {
	w.out = append(w.out, f)
	w.last = Chars(f.text)
	w.chars += w.last
}

func (w *shortWriter) dropLast() {
	w.out = w.out[:len(w.out)-1]
	w.chars -= w.last
	w.last = 0
	if len(w.out) > 0 {
		w.last = Chars(w.out[len(w.out)-1].text)
	}
}

func (w *shortWriter) collect(parent ast.Node, marker string) {
	for c := parent.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Paragraph, *ast.TextBlock:
			if w.enough() {
				w.omitted = w.omitted || hasImage(c)
				continue
			}
			w.links = nil
			text := w.inlines(c)
			if text == "" && w.introduces(c) {
				w.dropLast() // the paragraph before introduced an image
			}
			if text != "" && !(len(w.out) == 0 && parent.Kind() == ast.KindDocument && salutationLine(text)) {
				w.add(flow{text: marker + text, links: w.links})
			}
			marker = ""
		case *east.Table, *ast.FencedCodeBlock, *ast.CodeBlock, *ast.HTMLBlock:
			if h, ok := c.(*ast.HTMLBlock); !ok || h.HTMLBlockType != ast.HTMLBlockType2 {
				w.omitted = true
			}
			if !w.enough() && w.introduces(c) {
				w.dropLast() // "值班安排如下：" without the table reads wrong
			}
		case *ast.List:
			num := c.Start
			for it := c.FirstChild(); it != nil; it = it.NextSibling() {
				m := "• "
				if c.IsOrdered() {
					m = strconv.Itoa(num) + "、"
					num++
				}
				w.collect(it, m)
			}
		case *ast.Blockquote:
			w.collect(c, marker)
		}
	}
}

// hasImage reports whether inline would meet an image in n.
func hasImage(n ast.Node) bool {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c.(type) {
		case *ast.Image:
			return true
		case *ast.Text, *ast.String, *ast.CodeSpan, *ast.AutoLink, *ast.RawHTML, *east.Strikethrough, *east.TaskCheckBox:
		default: // links, emphasis: inline writes their children
			if hasImage(c) {
				return true
			}
		}
	}
	return false
}

// introduces reports whether the last flow is the paragraph right before
// n and ends in a colon: it announced n, which the short style leaves out.
func (w *shortWriter) introduces(n ast.Node) bool {
	prev := n.PreviousSibling()
	if len(w.out) == 0 || prev == nil || (prev.Kind() != ast.KindParagraph && prev.Kind() != ast.KindTextBlock) {
		return false
	}
	last := w.out[len(w.out)-1].text
	return strings.HasSuffix(last, "：") || strings.HasSuffix(last, ":")
}

// salutationLine reports whether a first paragraph only greets (各位同事：,
// 尊敬的合作伙伴：): the short style has no room for it.
func salutationLine(s string) bool {
	return (strings.HasSuffix(s, "：") || strings.HasSuffix(s, ":")) && Chars(s) <= 12 && !strings.Contains(s, "\n")
}

const softBreak = "\x00" // never in text: unescape turns NUL into U+FFFD

func (w *shortWriter) inlines(n ast.Node) string {
	start := len(w.b)
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		w.inline(c)
	}
	raw := w.b[start:]
	// Each line with its blanks collapsed; the lines joined by lineJoin.
	// Collapsing only shortens: the text fits in len(raw).
	var out strings.Builder
	out.Grow(len(raw))
	for line := range bytes.SplitSeq(raw, []byte(softBreak)) {
		first := true
		for f := range bytes.FieldsSeq(line) {
			switch {
			case !first:
				out.WriteByte(' ')
			case out.Len() > 0:
				r, _ := utf8.DecodeRune(f)
				out.WriteString(lineJoin(out.String(), r))
			}
			out.Write(f)
			first = false
		}
	}
	w.b = w.b[:start]
	return out.String()
}

// lineJoin is what a line break inside a paragraph becomes in the short
// style: a space inside English prose wrapped by its author, a line break
// anywhere else (Chinese announcements break lines on purpose: 时间、地点).
// after is the first rune of the line after the break.
func lineJoin(before string, r2 rune) string {
	r1, _ := utf8.DecodeLastRuneInString(before)
	if r1 < utf8.RuneSelf && r2 < utf8.RuneSelf && unicode.IsLetter(r1) && (unicode.IsLetter(r2) || unicode.IsDigit(r2)) {
		return " "
	}
	return "\n"
}

// inline writes plain text, without markup: links by their text (their
// URLs go to link lines), images and struck-through text left out.
func (w *shortWriter) inline(n ast.Node) {
	d := w.d
	switch n := n.(type) {
	case *ast.Text:
		w.b = append(w.b, d.plainValue(n)...)
		if n.SoftLineBreak() || n.HardLineBreak() {
			w.b = append(w.b, softBreak...)
		}
	case *ast.String:
		w.b = append(w.b, strings.ToValidUTF8(string(n.Value), "\uFFFD")...)
	case *ast.CodeSpan:
		w.b = append(w.b, codeSpanText(d, n)...)
	case *ast.Link:
		start := len(w.b)
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			w.inline(c)
		}
		w.trimSpace(start)
		text, url := d.titled(w.cut(start), d.dest(n.Destination))
		if text == "" {
			text = url
		}
		w.b = append(w.b, text...)
		if url != "" && text != url {
			w.links = append(w.links, groupcast.Link{Title: strings.Join(strings.Fields(strings.ReplaceAll(text, softBreak, " ")), " "), URL: url})
		}
	case *ast.AutoLink:
		w.b = append(w.b, d.autoLinkText(n)...)
	case *ast.Image:
		w.omitted = true
	case *ast.RawHTML, *east.Strikethrough:
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
