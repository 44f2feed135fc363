package transform

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"

	"github.com/groupcast/groupcast"
)

// randomMarkdown writes an announcement body from the constructs ops teams
// use: headings, paragraphs with emphasis, links, code spans and emoji,
// nested and task lists, tables, fenced and indented code, quotes, images.
func randomMarkdown(r *rand.Rand) string {
	words := []string{"今晚", "22:00", "开始维护", "订单服务", "暂停", "v2.4.1", "请提前", "保存数据", "🎉", "👨‍👩‍👧", "🇨🇳",
		"Deploy", "to", "prod", "成功率 99.5%", "“系统维护中”", "（周日）", "1–3 次", "e\u0301", "谢谢配合", "报名从速"}
	puncts := []string{"。", "！", "！！！", "？", "，", "；", "：", "!", ". ", "……", ""}
	sentence := func() string {
		var b strings.Builder
		for n := 1 + r.IntN(8); n > 0; n-- {
			w := words[r.IntN(len(words))]
			switch r.IntN(10) {
			case 0:
				w = " **" + w + "** "
			case 1:
				w = " *" + w + "* "
			case 2:
				w = "[" + w + "](https://example.com/p/" + fmt.Sprint(r.IntN(100)) + "?a=1&b=2)"
			case 3:
				w = " `" + w + "` "
			case 4:
				w = "~~" + w + "~~"
			case 5:
				w = " https://status.example.com/i/" + fmt.Sprint(r.IntN(1000)) + " "
			}
			b.WriteString(w)
			if r.IntN(3) == 0 {
				b.WriteString(" ")
			}
		}
		b.WriteString(puncts[r.IntN(len(puncts))])
		return strings.TrimSpace(b.String())
	}
	para := func() string {
		var s []string
		for n := 1 + r.IntN(4); n > 0; n-- {
			s = append(s, sentence())
		}
		sep := ""
		if r.IntN(4) == 0 {
			sep = "\n"
		}
		return strings.Join(s, sep)
	}
	var blocks []string
	for n := 1 + r.IntN(10); n > 0; n-- {
		switch r.IntN(11) {
		case 0:
			blocks = append(blocks, strings.Repeat("#", 1+r.IntN(4))+" "+sentence())
		case 1:
			var items []string
			for k := 1 + r.IntN(4); k > 0; k-- {
				item := "- " + sentence()
				if r.IntN(4) == 0 {
					item += "\n  - " + sentence()
				}
				if r.IntN(5) == 0 {
					item = "- [" + []string{" ", "x"}[r.IntN(2)] + "] " + sentence()
				}
				items = append(items, item)
			}
			blocks = append(blocks, strings.Join(items, "\n"))
		case 2:
			var items []string
			for k := 1; k <= 1+r.IntN(4); k++ {
				items = append(items, fmt.Sprintf("%d. %s", k, sentence()))
			}
			blocks = append(blocks, strings.Join(items, "\n"))
		case 3:
			cols := 1 + r.IntN(4)
			row := func() string {
				var c []string
				for range cols {
					c = append(c, strings.ReplaceAll(sentence(), "|", ""))
				}
				return "| " + strings.Join(c, " | ") + " |"
			}
			t := []string{row(), "|" + strings.Repeat("---|", cols)}
			for k := r.IntN(4); k > 0; k-- {
				t = append(t, row())
			}
			blocks = append(blocks, strings.Join(t, "\n"))
		case 4:
			blocks = append(blocks, "```bash\n# 回滚 🎉\nkubectl -n prod rollout undo deployment/order-api\n| not a table |\n```")
		case 5:
			blocks = append(blocks, "> "+para())
		case 6:
			blocks = append(blocks, "![维护时间表](https://example.com/img/"+fmt.Sprint(r.IntN(9))+".png)")
		case 7:
			blocks = append(blocks, "---")
		case 8:
			blocks = append(blocks, "    indented code line\n    second line")
		default:
			blocks = append(blocks, para())
		}
	}
	return strings.Join(blocks, "\n\n")
}

// propertyDocs is the corpus and a few hundred generated announcements.
func propertyDocs(t *testing.T) []*groupcast.Announcement {
	var docs []*groupcast.Announcement
	for _, c := range corpus(t) {
		docs = append(docs, c.a)
	}
	r := rand.New(rand.NewPCG(2026, 11))
	for i := range 300 {
		a := &groupcast.Announcement{Title: "测试公告 " + fmt.Sprint(i) + " 🎉！", Body: randomMarkdown(r), MentionAll: i%2 == 0}
		if i%3 == 0 {
			a.Links = []groupcast.Link{{Title: "详情", URL: "https://status.example.com/detail/" + fmt.Sprint(i)}}
		}
		if i%5 == 0 {
			a.Summary = "今晚维护，期间服务暂停。详见链接！"
		}
		docs = append(docs, a)
	}
	return docs
}

// checker parses outputs to see what Markdown they would be read as.
var checker = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))

func markdownKinds(s string) map[ast.NodeKind]int {
	kinds := map[ast.NodeKind]int{}
	src := []byte(s)
	_ = ast.Walk(checker.Parser().Parse(text.NewReader(src)), func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			kinds[n.Kind()]++
		}
		return ast.WalkContinue, nil
	})
	return kinds
}

// TestShortProperty: the short style never exceeds max_chars, whatever the
// limit, and leaves no Markdown syntax: read back as Markdown, it is
// paragraphs of text only.
func TestShortProperty(t *testing.T) {
	plain := map[ast.NodeKind]bool{ast.KindDocument: true, ast.KindParagraph: true, ast.KindText: true, ast.KindString: true}
	for i, a := range propertyDocs(t) {
		doc := Parse(a)
		for _, max := range []int{1, 9, 30, 64, 120, 200, 500} {
			r, err := doc.Render(groupcast.Destination{Style: StyleShort, Options: groupcast.StyleOptions{MaxChars: max}}, goldenNow)
			if err != nil {
				t.Fatal(err)
			}
			if n := Chars(r.Text); n > max {
				t.Fatalf("doc %d (%s): short is %d characters, over max_chars %d:\n%s", i, a.Title, n, max, r.Text)
			}
			for k, n := range markdownKinds(r.Text) {
				if !plain[k] {
					t.Fatalf("doc %d (%s) max %d: short reads as Markdown (%d %s):\n%s\n--- body\n%s", i, a.Title, max, n, k, r.Text, a.Body)
				}
			}
			if strings.TrimSpace(r.Text) == "" && max >= 30 {
				t.Fatalf("doc %d: empty short text at max %d", i, max)
			}
		}
	}
}

// sourceTexts lists the text content of a body's AST: every text node,
// code span, code line, autolink and link destination.
func sourceTexts(d *Doc) []string {
	var out []string
	_ = ast.Walk(d.root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Text:
			if n.Parent() != nil && n.Parent().Kind() == ast.KindCodeSpan {
				return ast.WalkContinue, nil
			}
			out = append(out, strings.TrimSpace(d.plainValue(n)))
		case *ast.CodeSpan:
			out = append(out, strings.TrimSpace(codeSpanText(d, n)))
			return ast.WalkSkipChildren, nil
		case *ast.CodeBlock, *ast.FencedCodeBlock:
			out = append(out, d.codeLines(n)...)
		case *ast.AutoLink:
			out = append(out, string(n.Label(d.src)))
		case *ast.Link:
			out = append(out, d.dest(n.Destination))
		}
		return ast.WalkContinue, nil
	})
	return out
}

// TestLongProperty: the long style loses no text content of the source.
func TestLongProperty(t *testing.T) {
	for i, a := range propertyDocs(t) {
		doc := Parse(a)
		r, err := doc.Render(groupcast.Destination{Style: StyleLong}, goldenNow)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sourceTexts(doc) {
			if !strings.Contains(r.Text, s) {
				t.Fatalf("doc %d (%s): long lost %q:\n%s\n--- body\n%s", i, a.Title, s, r.Text, a.Body)
			}
		}
		for _, l := range a.Links {
			if !strings.Contains(r.Text, l.URL) {
				t.Fatalf("doc %d: long lost the link %s", i, l.URL)
			}
		}
	}
}

// TestFormalProperty: formal has no table, no code block (fenced or
// indented) when read as Markdown, and no emoji.
func TestFormalProperty(t *testing.T) {
	for i, a := range propertyDocs(t) {
		r, err := Render(a, groupcast.Destination{Style: StyleFormal, Options: groupcast.StyleOptions{Org: "运维中心"}}, goldenNow)
		if err != nil {
			t.Fatal(err)
		}
		kinds := markdownKinds(r.Text)
		for _, k := range []ast.NodeKind{east.KindTable, ast.KindFencedCodeBlock, ast.KindCodeBlock, ast.KindHTMLBlock} {
			if kinds[k] > 0 {
				t.Fatalf("doc %d (%s): formal has %s:\n%s\n--- body\n%s", i, a.Title, k, r.Text, a.Body)
			}
		}
		for _, l := range strings.Split(r.Text, "\n") {
			l = strings.TrimLeft(l, " >")
			if strings.HasPrefix(l, "```") || strings.HasPrefix(l, "~~~") {
				t.Fatalf("doc %d: fence syntax in formal: %q", i, l)
			}
		}
		if HasEmoji(r.Text) || HasEmoji(r.Title) {
			t.Fatalf("doc %d: emoji in formal:\n%s", i, r.Text)
		}
		for _, c := range r.Text {
			if (c >= 0x1F000 && c <= 0x1FAFF) || c == '\ufe0f' || c == '\u200d' || c == '\u20e3' {
				t.Fatalf("doc %d: emoji code point %U in formal:\n%s", i, c, r.Text)
			}
		}
		if strings.Contains(r.Text, "！！") || strings.Contains(r.Text, "！") {
			t.Fatalf("doc %d: exclamation in formal:\n%s", i, r.Text)
		}
		if a.MentionAll != strings.Contains(r.Text, "@所有人") {
			t.Fatalf("doc %d: mention_all %v but text:\n%s", i, a.MentionAll, r.Text)
		}
	}
}

// TestSplitRenderedProperty splits real renderings under limits from 64
// bytes up and checks the parts give back the text.
func TestSplitRenderedProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, c := range corpus(t) {
		for _, style := range []string{StyleLong, StyleFormal} {
			out, err := Render(c.a, goldenDest(style), goldenNow)
			if err != nil {
				t.Fatal(err)
			}
			for range 20 {
				max := 64 + r.IntN(1500)
				parts, err := Split(out.Text, max, Bytes)
				if err != nil {
					t.Fatalf("%s/%s at %d bytes: %v", c.name, style, max, err)
				}
				checkParts(t, out.Text, max, Bytes, parts)
				cmax := 22 + r.IntN(500)
				parts, err = Split(out.Text, cmax, Chars)
				if err != nil {
					t.Fatalf("%s/%s at %d chars: %v", c.name, style, cmax, err)
				}
				checkParts(t, out.Text, cmax, Chars, parts)
			}
		}
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"各位同事：\n\n今晚 **22:00** 维护！！🎉\n\n- a\n  - b\n\n| x | y |\n|---|---|\n| 1 | 2 |\n",
		"```\ncode 👨‍👩‍👧\n```\n> quote\n\n![img](https://e.com/a.png)",
		"[link](<https://e.com/a b>) <https://e.com> `x` ~~y~~ - [ ] z",
		"\xff\xfe bad utf-8 \x00 nul",
		"# \n\n---\n\n* * *\n\n1) one\n2) two\n\n<div>html</div>\n\n<!-- comment -->",
		"| a |\n|---|\n",
		strings.Repeat("很长的一句话没有标点", 50),
	} {
		f.Add(s, "标题🎉", 40)
	}
	// The pathological bodies, small: the count limits refuse most of
	// them at a few KB, and the rest must render.
	for _, p := range pathological {
		f.Add(p.gen(2048), "t", 100)
	}
	f.Add(rep("|a", 100)+"|\n"+rep("|-", 100)+"|\n"+rep("|\n", 60), "t", 100)
	f.Fuzz(func(t *testing.T, body, title string, max int) {
		a := &groupcast.Announcement{Title: title, Body: body, MentionAll: max%2 == 0,
			Links: []groupcast.Link{{Title: "详情", URL: "https://e.com/d"}, {Title: title, URL: "https://e.com/d"}, {Title: body}}}
		if max < 0 {
			max = -max
		}
		max = max%1000 + 1
		doc := Parse(a)
		if err := doc.Err(); err != nil {
			var in *groupcast.InputError
			if !errors.As(err, &in) || in.Field() != "body" || (in.Code != CodeTooComplex && in.Code != CodeTooLong) {
				t.Fatalf("Err() = %v, want a too_complex or too_long InputError on body", err)
			}
			if cerr := Check(body); cerr == nil || cerr.Error() != err.Error() {
				t.Fatalf("Check = %v, Parse refused with %v", cerr, err)
			}
			return
		}
		if err := Check(body); err != nil {
			t.Fatalf("Check = %v, Parse took it", err)
		}
		for _, style := range []string{StyleShort, StyleLong, StyleFormal} {
			r, err := doc.Render(groupcast.Destination{Style: style, Options: groupcast.StyleOptions{MaxChars: max}}, goldenNow)
			if err != nil {
				t.Fatalf("%s: %v", style, err)
			}
			if !utf8.ValidString(r.Text) || !utf8.ValidString(r.Title) {
				t.Fatalf("%s: invalid UTF-8 in %q", style, r.Text)
			}
			if style == StyleShort && Chars(r.Text) > max {
				t.Fatalf("short is %d characters, over %d", Chars(r.Text), max)
			}
			if style == StyleFormal && HasEmoji(r.Text) {
				t.Fatalf("emoji in formal: %q", r.Text)
			}
		}
	})
}
