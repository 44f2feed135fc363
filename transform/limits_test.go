package transform

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/groupcast/groupcast"
)

// pathological are the bodies that cost the Markdown parser or the styles
// more than linear time before the limits, each made about n bytes long.
// The names say what is repeated.
var pathological = []struct {
	name string
	gen  func(n int) string
}{
	// Emphasis: goldmark matches each closer against every opener before it.
	{"emphasis-nested", func(n int) string { return rep("*", n/2) + "a" + rep("*", n/2) }},
	{"emphasis-rule-of-3", func(n int) string { return "a**b" + rep("c* ", n/3) }},
	{"emphasis-mismatched", func(n int) string { return rep("*a_ ", n/4) }},
	{"strikethrough-words", func(n int) string { return rep("~~a ", n/8) + rep("b~~ ", n/8) }},
	// Links: each "](" looks for its ")" to the end of the paragraph.
	{"brackets-nested", func(n int) string { return rep("[", n/2) + "a" + rep("]", n/2) }},
	{"links-unclosed", func(n int) string { return rep("[a](b", n/5) }},
	{"images-nested", func(n int) string { return rep("![", n/6) + "a" + rep("](b)", n/6) }},
	{"reference-definitions", func(n int) string { return rep("[a]: u\n", n/7) }},
	// Blocks: every container re-reads the rest of its line.
	{"quotes-nested", func(n int) string { return rep(">", n) + " a" }},
	{"lists-one-line", func(n int) string { return rep("- ", n/2) + "a" }},
	{"ordered-lists-one-line", func(n int) string { return rep("1. ", n/3) + "a" }},
	{"lists-indented", func(n int) string {
		var b strings.Builder
		for i := 0; b.Len() < n; i++ {
			b.WriteString(rep("  ", i) + "* a\n")
		}
		return b.String()
	}},
	// Tables: short rows are padded to the header's width.
	{"table-wide-header", func(n int) string {
		return rep("|a", 1000) + "|\n" + rep("|-", 1000) + "|\n" + rep("|\n", max(0, n-4000)/2)
	}},
	{"tables-escaped-pipes", func(n int) string { return rep("|a|\n|-|\n"+rep("|`a\\|b`|\n", 1000)+"\n", max(1, n/10000)) }},
	// The formal style removed each emoji by copying what it had written.
	{"emoji-exclamations", func(n int) string { return rep("🎉！", n/7) }},
}

func rep(s string, n int) string { return strings.Repeat(s, max(0, n)) }

// ordinary is a long body of the kind people write: every construct, at
// sizes far from the limits, repeated to n bytes.
func ordinary(n int) string {
	unit := "## 维护通知 🎉\n\n各位同事：今晚 **22:00–23:00** 数据库维护，_请提前保存_ 工作！详见 [公告](https://e.com/a) 和 <https://e.com/b>。\n\n" +
		"> 注意：~~旧地址~~ 停用。\n\n- 影响：`orders` 服务\n  - 只读\n- [ ] 确认\n\n| 时间 | 内容 |\n|---|:-:|\n| 22:00 | 切换 |\n\n```\nSELECT 1;\n```\n\n"
	return rep(unit, n/len(unit)+1)[:n/len(unit)*len(unit)]
}

// rendered are the pathological bodies that were slow only in a style:
// they are rendered, in linear time now.
var rendered = map[string]bool{"emoji-exclamations": true}

func TestPathologicalBodiesAreRefused(t *testing.T) {
	for _, p := range pathological {
		t.Run(p.name, func(t *testing.T) {
			body := p.gen(MaxBodyBytes - 1024)
			err := Check(body)
			if rendered[p.name] {
				if err != nil {
					t.Fatalf("Check = %v, want it rendered", err)
				}
				doc := Parse(&groupcast.Announcement{Title: "t", Body: body})
				for _, style := range []string{StyleShort, StyleLong, StyleFormal} {
					if r, err := doc.Render(groupcast.Destination{Style: style}, goldenNow); err != nil || r.Text == "" {
						t.Errorf("%s: %q, %v", style, r.Text, err)
					}
				}
				return
			}
			var in *groupcast.InputError
			if !errors.As(err, &in) || in.Code != CodeTooComplex || in.Field() != "body" {
				t.Fatalf("Check = %v, want a too_complex InputError on body", err)
			}
			doc := Parse(&groupcast.Announcement{Title: "t", Body: body})
			if doc.Err() == nil || doc.Err().Error() != err.Error() {
				t.Errorf("Parse().Err() = %v, Check = %v", doc.Err(), err)
			}
			if _, rerr := doc.Render(groupcast.Destination{Style: StyleLong}, goldenNow); rerr == nil || rerr.Error() != err.Error() {
				t.Errorf("Render error = %v, want %v", rerr, err)
			}
		})
	}
}

// TestLimitEdges renders each construct at its limit and refuses it one
// past: the limits count what they say.
func TestLimitEdges(t *testing.T) {
	quotes := func(d int) string { return rep("> ", d) + "a" }
	lists := func(d int) string { return rep("- ", d) + "a" }
	emph := func(d int) string { return rep("*a ", d) + "b" + rep(" a*", d) } // d nested levels, 2d runs
	strike := func(d int) string { return rep("~~a ", d) + "b" + rep(" a~~", d) }
	links := func(k int) string { return rep("[a](https://e.com) ", k) }
	refs := func(k int) string {
		var b strings.Builder
		for i := range k {
			fmt.Fprintf(&b, "[r%d]: https://e.com/%d\n", i, i)
		}
		return b.String() + "\n[r0] ok"
	}
	table := func(rows int) string { return "|a|b|\n|-|-|\n" + rep("|1|2|\n", rows-1) }
	mixed := func(q, l, e int) string { return rep("> ", q) + rep("- ", l) + rep("*a ", e) + "b" + rep(" a*", e) }
	for _, c := range []struct {
		name     string
		ok, over string
	}{
		{"quotes", quotes(MaxNesting), quotes(MaxNesting + 1)},
		{"lists", lists(MaxNesting), lists(MaxNesting + 1)},
		{"emphasis depth", emph(MaxNesting), emph(MaxNesting + 1)},
		{"strikethrough depth", strike(MaxNesting), strike(MaxNesting + 1)},
		{"nesting of every kind counted together", mixed(10, 10, 12), mixed(10, 10, 13)},
		{"emphasis runs", rep("*a* ", MaxDelimiters/2), rep("*a* ", MaxDelimiters/2) + "*"},
		{"brackets", links(MaxBrackets / 2), links(MaxBrackets/2) + "[a]"},
		{"reference lines", refs(MaxReferences), refs(MaxReferences + 1)},
		{"table cells", table(MaxTableCells / 2), table(MaxTableCells/2 + 1)},
		{"size", ordinary(MaxBodyBytes), ordinary(MaxBodyBytes) + rep("a", MaxBodyBytes-len(ordinary(MaxBodyBytes))+1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := Check(c.ok); err != nil {
				t.Errorf("at the limit: %v", err)
			}
			doc := Parse(&groupcast.Announcement{Title: "t", Body: c.ok})
			for _, style := range []string{StyleShort, StyleLong, StyleFormal} {
				if _, err := doc.Render(groupcast.Destination{Style: style}, goldenNow); err != nil {
					t.Errorf("%s at the limit: %v", style, err)
				}
			}
			var in *groupcast.InputError
			if err := Check(c.over); !errors.As(err, &in) || in.Field() != "body" || (in.Code != CodeTooComplex && in.Code != CodeTooLong) {
				t.Errorf("one past the limit: Check = %v", err)
			}
		})
	}
}

// TestLimitsIgnoreCode: markup characters in code are not counted.
func TestLimitsIgnoreCode(t *testing.T) {
	for _, body := range []string{
		"```\n" + rep("*a_ [b] ", 2000) + "\n```",
		"    " + rep("*a_ [b] ", 2000),
		"`" + rep("*a_ [b] ", 2000) + "`",
		rep("snake_case_name ", 2000), // intraword _ opens and closes nothing
	} {
		if err := Check(body); err != nil {
			t.Errorf("Check(%.30q…) = %v", body, err)
		}
	}
}

// BenchmarkPathological parses and renders in the three styles (what a
// preview does) the worst bodies found, at 64 KiB and at MaxBodyBytes.
// Before the limits (goldmark's parser as it comes, the styles' nested
// copies) emphasis-rule-of-3 took 2.6 s and table-wide-header 52 s at
// 64 KiB; after, no body takes 100 ms at 255 KiB. Figures in
// docs/limits.md.
func BenchmarkPathological(b *testing.B) {
	for _, size := range []int{64 << 10, MaxBodyBytes - 1024} {
		for _, p := range append(pathological, struct {
			name string
			gen  func(int) string
		}{"ordinary", ordinary}) {
			body := p.gen(size)
			a := &groupcast.Announcement{Title: "t", Body: body}
			b.Run(fmt.Sprintf("%s/%dKiB", p.name, size>>10), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					doc := Parse(a)
					for _, style := range []string{StyleShort, StyleLong, StyleFormal} {
						_, _ = doc.Render(groupcast.Destination{Style: style}, goldenNow)
					}
				}
			})
		}
	}
}
