package transform

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"

	"github.com/groupcast/groupcast"
)

// mentionAll is the text DingTalk highlights when a message @s everyone;
// the driver also sets at.isAtAll, which is what notifies.
const mentionAll = "@所有人"

// formal writes DingTalk's Markdown subset (docs/platforms.md): headings,
// quotes, bold, italic, links, images and lists only. Tables become lists,
// code becomes quoted lines, emoji go, exclamations calm down, and the
// notice gets its heading, salutation, closing and signature.
func (d *Doc) formal(o groupcast.StyleOptions, now time.Time) string {
	w := &formalWriter{d: d}
	hint := d.sizeHint()
	w.b = make([]byte, 0, hint+hint/8) // headings, closing, signature, hard breaks
	w.b = append(w.b, "### "...)
	w.b = append(w.b, formalHeading(d.a.Title)...)
	if d.a.MentionAll {
		w.b = append(w.b, "\n\n"+mentionAll...)
	}
	// The body first: whether it greets and closes itself decides the
	// salutation before it and the closing after it.
	start := len(w.b)
	w.blocks(d.root, "\n\n")
	body := w.b[start:]
	closing := option(o.Closing, DefaultClosing)
	closes := closing != "" && bytes.HasSuffix(bytes.TrimSpace(body), []byte(closing))
	var before string
	if s := option(o.Salutation, DefaultSalutation); s != "" && !opensWithSalutation(firstLine(body), s) {
		if s = formalText(s); s != "" {
			before = "\n\n" + s
		}
	}
	if len(body) > 0 { // blocks wrote nothing blank
		before += "\n\n"
	}
	w.insert(start, before)
	if extra := d.outside; len(extra) > 0 {
		w.b = append(w.b, "\n\n相关链接："...)
		for _, l := range d.mappedLinks(extra) {
			w.b = append(w.b, "\n- "...)
			w.b = append(w.b, mdLink(formalText(l.Title), l.URL)...)
		}
	}
	if c := formalText(closing); c != "" && !closes {
		w.b = append(w.b, "\n\n"...)
		w.b = append(w.b, c...)
	}
	signer := option(o.Signature, "")
	if o.Signature == "" {
		signer = o.Org
		if signer == "" {
			signer = d.a.Author
		}
	}
	w.b = append(w.b, "\n\n"...)
	if signer = formalText(signer); signer != "" {
		w.b = append(w.b, signer...)
		w.b = append(w.b, "  \n"...) // two spaces: a line break in DingTalk Markdown
	}
	w.b = append(w.b, dateCN(now)...)
	return string(w.b)
}

// firstLine is the first line of the text, white space trimmed: what
// opensWithSalutation reads.
func firstLine(text []byte) string {
	first, _, _ := bytes.Cut(bytes.TrimSpace(text), []byte{'\n'})
	return string(bytes.TrimSpace(first))
}

// option is v, or def when v is empty, or nothing when v is Off.
func option(v, def string) string {
	switch strings.TrimSpace(v) {
	case Off:
		return ""
	case "":
		return def
	}
	return strings.TrimSpace(v)
}

// opensWithSalutation reports whether the body already greets its readers,
// given its first line, so that the formal style does not greet twice: the line is the
// salutation, or a short line ending in "：" (各部门：, 尊敬的合作伙伴：), or it
// opens with a greeting (各位用户好！, 大家好, Hi all, …).
func opensWithSalutation(first, salutation string) bool {
	if strings.HasPrefix(first, salutation) {
		return true
	}
	if strings.HasSuffix(first, "：") && utf8.RuneCountInString(first) <= 12 {
		return true
	}
	for _, g := range greetings {
		if strings.HasPrefix(strings.ToLower(first), g) {
			return true
		}
	}
	return false
}

var greetings = []string{"各位", "亲爱的", "尊敬的", "大家好", "早上好", "上午好", "下午好", "晚上好", "hi ", "hi,", "hello", "dear "}

// formalText is text the formal way: no emoji, no exclamations.
func formalText(s string) string {
	return strings.TrimSpace(calmAfter(0, RemoveEmoji(s)))
}

// formalTitle is the title without emoji or exclamations, and without a
// full stop at its end (it is a heading).
func formalTitle(title string) string {
	t := formalText(title)
	for _, p := range []string{"。", "."} {
		t = strings.TrimSuffix(t, p)
	}
	return strings.TrimSpace(t)
}

// formalHeading is 【通知】title, unless the title brings its own 【label】.
func formalHeading(title string) string {
	t := formalTitle(title)
	if strings.HasPrefix(t, "【") {
		return t
	}
	return "【通知】" + t
}

var (
	urlEscaper     = strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E")
	bracketEscaper = strings.NewReplacer("[", "［", "]", "］")
)

// mdLink writes [text](url) so that neither part can end the link early.
func mdLink(text, url string) string {
	url = urlEscaper.Replace(url)
	text = bracketEscaper.Replace(text)
	if text == "" {
		text = url
	}
	return "[" + text + "](" + url + ")"
}

type formalWriter struct {
	textBuf
	d     *Doc
	start int // where the inline run being written starts
}

// blocks writes parent's blocks, sep between them, as joinBlocks joins.
func (w *formalWriter) blocks(parent ast.Node, sep string) {
	start := len(w.b)
	for c := parent.FirstChild(); c != nil; c = c.NextSibling() {
		mark := w.open(start, sep)
		w.block(c)
		w.close(start, mark, sep)
	}
}

func (w *formalWriter) block(n ast.Node) {
	start := len(w.b)
	switch n := n.(type) {
	case *ast.Paragraph, *ast.TextBlock:
		w.inlines(n)
		w.tidyLines(start)
	case *ast.Heading:
		if w.inlines(n); len(w.b) == start {
			return
		}
		if n.Level <= 2 {
			w.insert(start, "#### ")
		} else {
			w.insert(start, "##### ")
		}
	case *ast.ThematicBreak:
		// not in the subset; the blank line says enough
	case *ast.CodeBlock, *ast.FencedCodeBlock:
		w.b = append(w.b, quoteCode(w.d.codeLines(n))...)
	case *ast.HTMLBlock:
		if n.HTMLBlockType == ast.HTMLBlockType2 {
			return
		}
		w.b = append(w.b, quoteCode(w.d.codeLines(n))...)
	case *ast.Blockquote:
		w.blocks(n, "\n\n")
		w.prefixLines(start, "> ", "> ")
	case *ast.List:
		w.list(n)
	case *east.Table:
		header, rows := w.tableRows(n, w.inlines)
		for i := range header {
			header[i] = strings.ReplaceAll(header[i], "*", "")
		}
		w.records(header, rows, "- ", "**", "；")
	default:
		w.blocks(n, "\n\n")
	}
}

func (w *formalWriter) list(l *ast.List) {
	num := l.Start
	sep := "\n"
	if !l.IsTight {
		sep = "\n\n"
	}
	// A blank line between items, or an item after a quoted line would
	// continue the quote ("3." cannot interrupt a paragraph).
	between := "\n"
	if !l.IsTight || hasQuotedBlock(l) {
		between = "\n\n"
	}
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		marker := "- "
		if l.IsOrdered() {
			marker = strconv.Itoa(num) + ". "
			num++
		}
		if it != l.FirstChild() {
			w.b = append(w.b, between...)
		}
		start := len(w.b)
		w.blocks(it, sep)
		w.prefixLines(start, marker, indent(len(marker)))
	}
}

// hasQuotedBlock reports whether an item of l holds a block the formal
// style writes as quoted lines.
func hasQuotedBlock(l *ast.List) bool {
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		for c := it.FirstChild(); c != nil; c = c.NextSibling() {
			switch c.Kind() {
			case ast.KindCodeBlock, ast.KindFencedCodeBlock, ast.KindHTMLBlock, ast.KindBlockquote:
				return true
			}
		}
	}
	return false
}

// quoteCode writes code as quoted lines, each ending in a hard break so
// DingTalk keeps the lines apart. Leading blanks become no-break spaces
// (Markdown would eat them), and a line that would read as Markdown — a
// heading, a list, a fence, a table row — gets a no-break space in front,
// so the code shows as written.
func quoteCode(lines []string) string {
	var out []string
	for _, l := range lines {
		l = RemoveEmoji(l)
		trimmed := strings.TrimLeft(l, " \t")
		lead := l[:len(l)-len(trimmed)]
		lead = strings.ReplaceAll(lead, "\t", "    ")
		lead = strings.Repeat("\u00a0", len(lead))
		if lead == "" && markdownLead.MatchString(trimmed) {
			lead = "\u00a0"
		}
		line := strings.TrimRight(lead+trimmed, " ")
		if line == "" {
			out = append(out, ">")
			continue
		}
		out = append(out, "> "+line+"  ")
	}
	for len(out) > 0 && out[len(out)-1] == ">" {
		out = out[:len(out)-1]
	}
	if len(out) == 0 {
		return ""
	}
	out[len(out)-1] = strings.TrimRight(out[len(out)-1], " ")
	return strings.Join(out, "\n")
}

// markdownLead matches the start of a line Markdown would read as a block
// marker or a table row.
var markdownLead = regexp.MustCompile("^(#|>|[-+*=_~`|]|[0-9]+[.)])")

// tidyLines drops, in the paragraph at b[start:], the blanks that removing
// emoji leaves at the start of a line ("📍 地点" was a line) and after
// full-width punctuation ("大奖！！🎁 大家" is "大奖。大家"), which Chinese text
// never has. And it keeps its lines from reading as something else: a line
// that starts like a fence or table row gets a no-break space.
func (w *formalWriter) tidyLines(start int) {
	if !utf8.Valid(w.b[start:]) {
		// Rewritten rune by rune below, an invalid byte would become the
		// three of U+FFFD: no room for that in place.
		var valid []byte
		for _, c := range string(w.b[start:]) {
			valid = utf8.AppendRune(valid, c)
		}
		w.b = append(w.b[:start], valid...)
	}
	// In place: the text only gets shorter, so what is written never
	// overtakes what is still to be read.
	b, end := w.b, len(w.b)
	j := start // where the next byte is written
	for r := start; ; {
		lineEnd := end
		if k := bytes.IndexByte(b[r:end], '\n'); k >= 0 {
			lineEnd = r + k
		}
		l := bytes.TrimLeft(b[r:lineEnd], " \u3000")
		body := bytes.TrimRight(l, " ")
		hardBreak := l[len(body):] // "  " before a line break: keep
		prev := rune(0)
		for len(body) > 0 {
			c, n := utf8.DecodeRune(body)
			if !((c == ' ' || c == '\u3000') && strings.ContainsRune("。，、；：？！）」』”", prev)) {
				j += copy(b[j:], body[:n])
				prev = c
			}
			body = body[n:]
		}
		j += copy(b[j:], hardBreak)
		if lineEnd == end {
			break
		}
		b[j] = '\n'
		j++
		r = lineEnd + 1
	}
	w.b = b[:j]
	if !bytes.ContainsAny(w.b[start:], "`~|") {
		return
	}
	for pos := start; ; {
		line := w.b[pos:]
		if k := bytes.IndexByte(line, '\n'); k >= 0 {
			line = line[:k]
		}
		if bytes.HasPrefix(line, []byte("```")) || bytes.HasPrefix(line, []byte("~~~")) || bytes.HasPrefix(line, []byte("|")) {
			w.insert(pos, "\u00a0")
			pos += len("\u00a0")
		}
		pos += len(line) + 1
		if pos > len(w.b) {
			return
		}
	}
}

// inlines writes n's inlines, trimmed.
func (w *formalWriter) inlines(n ast.Node) {
	outer := w.start
	w.start = len(w.b)
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		w.inline(c)
	}
	w.trim(w.start, " \t\n")
	w.start = outer
}

// inlineString is n's inlines, trimmed.
func (w *formalWriter) inlineString(n ast.Node) string {
	start := len(w.b)
	w.inlines(n)
	return w.cut(start)
}

func (w *formalWriter) inline(n ast.Node) {
	d := w.d
	switch n := n.(type) {
	case *ast.Text:
		w.b = append(w.b, calmAfter(w.lastRune(w.start), RemoveEmoji(d.textValue(n)))...)
		if n.HardLineBreak() || n.SoftLineBreak() {
			// Authors of Chinese notices break lines on purpose (时间、地点…);
			// DingTalk keeps a line break only with two spaces before it.
			w.b = append(w.b, "  \n"...)
		}
	case *ast.String:
		w.b = append(w.b, calmAfter(w.lastRune(w.start), RemoveEmoji(strings.ToValidUTF8(string(n.Value), "\uFFFD")))...)
	case *ast.CodeSpan:
		w.b = append(w.b, RemoveEmoji(codeSpanText(d, n))...)
	case *ast.Emphasis:
		start := len(w.b)
		if w.inlines(n); len(w.b) == start {
			return
		}
		mark := "*"
		if n.Level >= 2 {
			mark = "**"
		}
		w.insert(start, mark)
		w.b = append(w.b, mark...)
	case *ast.Link:
		w.b = append(w.b, mdLink(d.titled(w.inlineString(n), d.dest(n.Destination)))...)
	case *ast.AutoLink:
		label := strings.ToValidUTF8(string(n.Label(d.src)), "\uFFFD")
		if n.AutoLinkType == ast.AutoLinkEmail {
			w.b = append(w.b, label...)
		} else {
			u := strings.ToValidUTF8(string(n.URL(d.src)), "\uFFFD")
			if d.link != nil {
				label = d.autoLinkText(n)
			}
			w.b = append(w.b, mdLink(label, d.linkURL(u))...)
		}
	case *ast.Image:
		alt := bracketEscaper.Replace(w.inlineString(n))
		w.b = append(w.b, "!["...)
		w.b = append(w.b, alt...)
		w.b = append(w.b, "]("...)
		w.b = append(w.b, urlEscaper.Replace(d.dest(n.Destination))...)
		w.b = append(w.b, ')')
	case *ast.RawHTML:
		tag := rawHTML(d, n)
		switch {
		case isBreakTag(tag):
			w.b = append(w.b, "  \n"...)
		case fontTag.MatchString(tag): // reported to work in DingTalk, and authors use it for colour
			w.b = append(w.b, tag...)
		}
	case *east.Strikethrough:
		w.inlines(n)
		w.b = append(w.b, "（已删除）"...)
	case *east.TaskCheckBox:
		if n.IsChecked { // ☑ and ☐ are emoji: the marks of paper forms instead
			w.b = append(w.b, "√ "...)
		} else {
			w.b = append(w.b, "□ "...)
		}
	default:
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			w.inline(c)
		}
	}
}

var fontTag = regexp.MustCompile(`(?i)^</?font(\s[^<>]*)?>$`)
