package transform

import (
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
	body := w.blocks(d.root, "\n\n")
	blocks := []string{"### " + formalHeading(d.a.Title)}
	if d.a.MentionAll {
		blocks = append(blocks, mentionAll)
	}
	if s := option(o.Salutation, DefaultSalutation); s != "" && !opensWithSalutation(body, s) {
		blocks = append(blocks, formalText(s))
	}
	blocks = append(blocks, body)
	if extra := d.linksOutsideBody(); len(extra) > 0 {
		lines := []string{"相关链接："}
		for _, l := range d.mappedLinks(extra) {
			lines = append(lines, "- "+mdLink(formalText(l.Title), l.URL))
		}
		blocks = append(blocks, strings.Join(lines, "\n"))
	}
	if c := option(o.Closing, DefaultClosing); c != "" && !strings.HasSuffix(strings.TrimSpace(body), c) {
		blocks = append(blocks, formalText(c))
	}
	signer := option(o.Signature, "")
	if o.Signature == "" {
		signer = o.Org
		if signer == "" {
			signer = d.a.Author
		}
	}
	sig := dateCN(now)
	if signer = formalText(signer); signer != "" {
		sig = signer + "  \n" + sig // two spaces: a line break in DingTalk Markdown
	}
	blocks = append(blocks, sig)
	return joinBlocks(blocks, "\n\n")
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
// so that the formal style does not greet twice: its first line is the
// salutation, or a short line ending in "：" (各部门：, 尊敬的合作伙伴：), or it
// opens with a greeting (各位用户好！, 大家好, Hi all, …).
func opensWithSalutation(body, salutation string) bool {
	first, _, _ := strings.Cut(strings.TrimSpace(body), "\n")
	first = strings.TrimSpace(first)
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
	d *Doc
}

func (w *formalWriter) blocks(parent ast.Node, sep string) string {
	var out []string
	for c := parent.FirstChild(); c != nil; c = c.NextSibling() {
		out = append(out, w.block(c))
	}
	return joinBlocks(out, sep)
}

func (w *formalWriter) block(n ast.Node) string {
	switch n := n.(type) {
	case *ast.Paragraph, *ast.TextBlock:
		return protectLines(tidyLines(w.inlines(n)))
	case *ast.Heading:
		h := w.inlines(n)
		if h == "" {
			return ""
		}
		if n.Level <= 2 {
			return "#### " + h
		}
		return "##### " + h
	case *ast.ThematicBreak:
		return "" // not in the subset; the blank line says enough
	case *ast.CodeBlock, *ast.FencedCodeBlock:
		return quoteCode(w.d.codeLines(n))
	case *ast.HTMLBlock:
		if n.HTMLBlockType == ast.HTMLBlockType2 {
			return ""
		}
		return quoteCode(w.d.codeLines(n))
	case *ast.Blockquote:
		return prefixLines(w.blocks(n, "\n\n"), "> ", "> ")
	case *ast.List:
		return w.list(n)
	case *east.Table:
		header, rows := tableRows(n, func(c ast.Node) string { return w.inlines(c) })
		for i := range header {
			header[i] = strings.ReplaceAll(header[i], "*", "")
		}
		return strings.Join(recordLines(header, rows, "- ", "**", "；"), "\n")
	}
	return w.blocks(n, "\n\n")
}

func (w *formalWriter) list(l *ast.List) string {
	var items []string
	num := l.Start
	for it := l.FirstChild(); it != nil; it = it.NextSibling() {
		marker := "- "
		if l.IsOrdered() {
			marker = strconv.Itoa(num) + ". "
			num++
		}
		sep := "\n"
		if !l.IsTight {
			sep = "\n\n"
		}
		items = append(items, prefixLines(w.blocks(it, sep), marker, strings.Repeat(" ", len(marker))))
	}
	if !l.IsTight || hasQuotedBlock(l) {
		// A blank line between items, or an item after a quoted line would
		// continue the quote ("3." cannot interrupt a paragraph).
		return strings.Join(items, "\n\n")
	}
	return strings.Join(items, "\n")
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

// protectLines keeps text lines of a paragraph from reading as something
// else: a line that starts like a fence or table row gets a no-break space.
func protectLines(s string) string {
	if !strings.ContainsAny(s, "`~|") {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "```") || strings.HasPrefix(l, "~~~") || strings.HasPrefix(l, "|") {
			lines[i] = "\u00a0" + l
		}
	}
	return strings.Join(lines, "\n")
}

// lastRune is the last rune written to b, or 0.
func lastRune(b *strings.Builder) rune {
	s := b.String()
	if s == "" {
		return 0
	}
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

// tidyLines drops the blanks that removing emoji leaves at the start of a
// line ("📍 地点" was a line) and after full-width punctuation ("大奖！！🎁 大家"
// is "大奖。大家"), which Chinese text never has.
func tidyLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = strings.TrimLeft(l, " \u3000")
		body := strings.TrimRight(l, " ")
		hardBreak := l[len(body):] // "  " before a line break: keep
		l = body
		var b strings.Builder
		prev := rune(0)
		for _, r := range l {
			if (r == ' ' || r == '\u3000') && strings.ContainsRune("。，、；：？！）」』”", prev) {
				continue
			}
			b.WriteRune(r)
			prev = r
		}
		lines[i] = b.String() + hardBreak
	}
	return strings.Join(lines, "\n")
}

func (w *formalWriter) inlines(n ast.Node) string {
	var b strings.Builder
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		w.inline(&b, c)
	}
	return strings.Trim(b.String(), " \t\n")
}

func (w *formalWriter) inline(b *strings.Builder, n ast.Node) {
	d := w.d
	switch n := n.(type) {
	case *ast.Text:
		b.WriteString(calmAfter(lastRune(b), RemoveEmoji(d.textValue(n))))
		if n.HardLineBreak() || n.SoftLineBreak() {
			// Authors of Chinese notices break lines on purpose (时间、地点…);
			// DingTalk keeps a line break only with two spaces before it.
			b.WriteString("  \n")
		}
	case *ast.String:
		b.WriteString(calmAfter(lastRune(b), RemoveEmoji(strings.ToValidUTF8(string(n.Value), "\uFFFD"))))
	case *ast.CodeSpan:
		b.WriteString(RemoveEmoji(codeSpanText(d, n)))
	case *ast.Emphasis:
		inner := w.inlines(n)
		if inner == "" {
			return
		}
		mark := "*"
		if n.Level >= 2 {
			mark = "**"
		}
		b.WriteString(mark + inner + mark)
	case *ast.Link:
		b.WriteString(mdLink(d.titled(w.inlines(n), d.dest(n.Destination))))
	case *ast.AutoLink:
		label := strings.ToValidUTF8(string(n.Label(d.src)), "\uFFFD")
		if n.AutoLinkType == ast.AutoLinkEmail {
			b.WriteString(label)
		} else {
			u := strings.ToValidUTF8(string(n.URL(d.src)), "\uFFFD")
			if d.link != nil {
				label = d.autoLinkText(n)
			}
			b.WriteString(mdLink(label, d.linkURL(u)))
		}
	case *ast.Image:
		b.WriteString("![" + bracketEscaper.Replace(w.inlines(n)) + "](" + urlEscaper.Replace(d.dest(n.Destination)) + ")")
	case *ast.RawHTML:
		tag := rawHTML(d, n)
		switch {
		case isBreakTag(tag):
			b.WriteString("  \n")
		case fontTag.MatchString(tag): // reported to work in DingTalk, and authors use it for colour
			b.WriteString(tag)
		}
	case *east.Strikethrough:
		b.WriteString(w.inlines(n) + "（已删除）")
	case *east.TaskCheckBox:
		if n.IsChecked { // ☑ and ☐ are emoji: the marks of paper forms instead
			b.WriteString("√ ")
		} else {
			b.WriteString("□ ")
		}
	default:
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			w.inline(b, c)
		}
	}
}

var fontTag = regexp.MustCompile(`(?i)^</?font(\s[^<>]*)?>$`)
