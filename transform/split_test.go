package transform

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// checkParts verifies what Split promises: every part within max with its
// marker, markers numbered 1..n (none for a single part), and the parts
// without markers found in order in text with only whitespace between them,
// starting at its start and ending at its end, cut at grapheme boundaries.
func checkParts(t testing.TB, text string, max int, measure func(string) int, parts []string) {
	t.Helper()
	if len(parts) == 0 {
		t.Fatalf("no parts")
	}
	if len(parts) == 1 {
		if parts[0] != text {
			t.Fatalf("single part %q differs from the input %q", parts[0], text)
		}
		if measure(parts[0]) > max {
			t.Fatalf("single part measures %d > %d", measure(parts[0]), max)
		}
		return
	}
	bounds := graphemeBounds(text)
	pos := 0
	for i, p := range parts {
		if m := measure(p); m > max {
			t.Fatalf("part %d/%d measures %d > %d: %q", i+1, len(parts), m, max, p)
		}
		mk := Marker(i+1, len(parts))
		body, ok := strings.CutPrefix(p, mk)
		if !ok {
			t.Fatalf("part %d does not start with %q: %q", i+1, mk, p)
		}
		if body == "" {
			t.Fatalf("part %d is empty", i+1)
		}
		for !strings.HasPrefix(text[pos:], body) {
			r, w := utf8.DecodeRuneInString(text[pos:])
			if i == 0 || w == 0 || !unicode.IsSpace(r) {
				t.Fatalf("part %d %q is not the input's next text after a separator (at byte %d: %q)", i+1, body, pos, clip(text[pos:]))
			}
			pos += w
		}
		if !bounds[pos] || !bounds[pos+len(body)] {
			t.Fatalf("part %d %q cuts inside a grapheme cluster", i+1, body)
		}
		pos += len(body)
	}
	if pos != len(text) {
		t.Fatalf("parts end at byte %d of %d: %q left over", pos, len(text), clip(text[pos:]))
	}
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

func graphemeBounds(s string) map[int]bool {
	b := map[int]bool{0: true}
	state, off := -1, 0
	for rest := s; rest != ""; {
		var c string
		c, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		off += len(c)
		b[off] = true
	}
	return b
}

func TestSplitFitsIsOnePart(t *testing.T) {
	for _, text := range []string{"", "短", "各位同事：今晚维护。", strings.Repeat("字", 100)} {
		parts, err := Split(text, 300, Bytes)
		if err != nil || len(parts) != 1 || parts[0] != text {
			t.Errorf("Split(%q) = %q, %v; want the text itself", text, parts, err)
		}
	}
}

func TestSplitBoundaries(t *testing.T) {
	url := "https://status.example.com/incidents/2026-11-25/order-api?from=groupcast&lang=zh-CN"
	family := "👨‍👩‍👧‍👦"
	tests := []struct {
		name    string
		text    string
		max     int
		measure func(string) int
		want    []string // bodies, without markers
	}{
		{
			name: "paragraphs first",
			text: "第一段：今晚22:00开始维护。\n\n第二段：预计持续两小时。\n\n第三段：如有问题请联系值班。",
			max:  70, measure: Bytes,
			want: []string{"第一段：今晚22:00开始维护。", "第二段：预计持续两小时。", "第三段：如有问题请联系值班。"},
		},
		{
			name: "paragraphs packed together when they fit",
			text: "一。\n\n二。\n\n三。\n\n四。",
			max:  28, measure: Bytes, // the marker is 10 bytes
			want: []string{"一。\n\n二。", "三。\n\n四。"},
		},
		{
			name: "lines inside a long paragraph",
			text: "• 订单查询暂停服务\n• 支付回调延迟处理\n• 客服系统照常使用",
			max:  45, measure: Bytes,
			want: []string{"• 订单查询暂停服务", "• 支付回调延迟处理", "• 客服系统照常使用"},
		},
		{
			name: "sentences inside a long line",
			text: "今晚十点开始维护。期间服务不可用！请提前保存数据？谢谢配合。",
			max:  16, measure: Chars,
			want: []string{"今晚十点开始维护。", "期间服务不可用！", "请提前保存数据？", "谢谢配合。"},
		},
		{
			name: "ASCII sentence ends only before a space",
			text: "Version 2.4.1 ships today. Please upgrade by Friday! Questions? Ask ops.",
			max:  40, measure: Bytes,
			want: []string{"Version 2.4.1 ships today.", "Please upgrade by Friday!", "Questions? Ask ops."},
		},
		{
			name: "closing quote stays with its sentence",
			text: "他说：“今晚维护。”随后发布了公告。大家请注意查看。",
			max:  20, measure: Chars,
			want: []string{"他说：“今晚维护。”", "随后发布了公告。", "大家请注意查看。"},
		},
		{
			name: "URL is never cut when it fits",
			text: "详情见" + url + "谢谢",
			max:  len(Marker(1, 2)) + len(url) + 2, measure: Bytes,
			want: []string{"详情见", url, "谢谢"},
		},
		{
			name: "code line kept whole",
			text: "执行：\nkubectl rollout undo deployment/order-api -n prod --to-revision=41\n完成后通知值班。",
			max:  90, measure: Bytes,
			want: []string{"执行：\nkubectl rollout undo deployment/order-api -n prod --to-revision=41", "完成后通知值班。"},
		},
		{
			name: "grapheme clusters never cut",
			text: strings.Repeat(family, 6),
			max:  len(Marker(1, 6)) + 2*len(family), measure: Bytes,
			want: []string{family + family, family + family, family + family},
		},
		{
			name: "words before graphemes",
			text: "release candidate build number twelve",
			max:  len(Marker(1, 9)) + 18, measure: Bytes,
			want: []string{"release candidate", "build number", "twelve"},
		},
		{
			name: "tail of a cut paragraph shares a part with the next",
			text: "甲甲甲甲甲甲。乙乙乙。\n\n丙。",
			max:  14, measure: Chars,
			want: []string{"甲甲甲甲甲甲。", "乙乙乙。\n\n丙。"},
		},
		{
			name: "CRLF line ends are not split apart",
			text: "第一行内容较长一些\r\n第二行内容较长一些",
			max:  40, measure: Bytes,
			want: []string{"第一行内容较长一些", "第二行内容较长一些"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := Split(tt.text, tt.max, tt.measure)
			if err != nil {
				t.Fatal(err)
			}
			checkParts(t, tt.text, tt.max, tt.measure, parts)
			var got []string
			for i, p := range parts {
				got = append(got, strings.TrimPrefix(p, Marker(i+1, len(parts))))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("parts:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSplitOversizedURLIsCutRatherThanDropped(t *testing.T) {
	url := "https://example.com/" + strings.Repeat("a", 200)
	parts, err := Split("见"+url, 64, Bytes)
	if err != nil {
		t.Fatal(err)
	}
	checkParts(t, "见"+url, 64, Bytes, parts)
}

func TestSplitMarkersCountAllParts(t *testing.T) {
	text := strings.Repeat("这是一句话。", 300) // 12 parts or more: two-digit markers
	parts, err := Split(text, 64, Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 10 {
		t.Fatalf("want two-digit part counts, got %d parts", len(parts))
	}
	checkParts(t, text, 64, Bytes, parts)
	if !strings.HasPrefix(parts[0], "（1/") || !strings.HasPrefix(parts[len(parts)-1], Marker(len(parts), len(parts))) {
		t.Errorf("markers: first %q last %q", parts[0], parts[len(parts)-1])
	}
}

func TestSplitLimitTooSmall(t *testing.T) {
	for _, tc := range []struct {
		text string
		max  int
	}{
		{"今晚维护今晚维护", 12}, // marker alone is 12 bytes, no room for a 3-byte character
		{"abcdefgh", 0},
		{"abc", -5},
		{"👨‍👩‍👧‍👦👨‍👩‍👧‍👦", 30},
	} {
		_, err := Split(tc.text, tc.max, Bytes)
		if !errors.Is(err, ErrLimitTooSmall) && (tc.max > 0 || err == nil) {
			t.Errorf("Split(%q, %d): err = %v, want ErrLimitTooSmall", tc.text, tc.max, err)
		}
	}
}

// fragments build realistic rendered texts for the property test.
var fragments = []string{
	"各位同事：", "今晚 22:00 至次日 02:00 进行数据库升级。", "期间订单服务不可用！", "请提前做好准备？",
	"详见 https://status.example.com/maint/2026-12-01?tab=timeline&lang=zh-CN ", "Deploy v2.14.3 to prod. ",
	"    kubectl -n prod rollout restart deployment/order-api --selector=app.kubernetes.io/name=order", "🎉", "👨‍👩‍👧‍👦", "🇨🇳",
	"\n", "\n\n", "\r\n", "  ", "• 第一项", "1. 第二项", "【影响范围】", "“引号内的句子。”", "e\u0301",
	strings.Repeat("长", 90), strings.Repeat("x", 150), "Reply ASAP!! Thanks.", "…", "\t", "。。。",
}

func randomText(r *rand.Rand) string {
	var b strings.Builder
	for n := r.IntN(80); n >= 0; n-- {
		b.WriteString(fragments[r.IntN(len(fragments))])
	}
	return b.String()
}

// TestSplitProperty: under any limit of at least 64 bytes (or 22 characters),
// parts stay within it and give back the input.
func TestSplitProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 2026))
	for i := range 3000 {
		text := randomText(r)
		measure, max, name := Bytes, 64+r.IntN(2000), "bytes"
		if i%3 == 0 {
			measure, max, name = Chars, 22+r.IntN(600), "chars"
		}
		parts, err := Split(text, max, measure)
		if err != nil {
			t.Fatalf("Split(%q, %d %s): %v", text, max, name, err)
		}
		checkParts(t, text, max, measure, parts)
	}
}

// TestSplitSeparatorsAreBoundaries checks the exact decomposition: pieces and
// the gaps between them rebuild the input, and every gap is one of the
// separators Split cuts at.
func TestSplitSeparatorsAreBoundaries(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for range 1000 {
		text := randomText(r)
		max := 64 + r.IntN(500)
		if Bytes(text) <= max {
			continue
		}
		spans, err := splitSpans(text, max, Bytes)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		prev := 0
		for i, s := range spans {
			gap := text[prev:s.start]
			if i == 0 && gap != "" {
				t.Fatalf("text before the first piece: %q", gap)
			}
			if strings.TrimLeft(gap, " \t\r\n\u3000") != "" {
				t.Fatalf("separator %q is not whitespace", gap)
			}
			b.WriteString(gap)
			b.WriteString(text[s.start:s.end])
			prev = s.end
		}
		if prev != len(text) || b.String() != text {
			t.Fatalf("pieces and separators do not rebuild the input")
		}
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("各位同事：\n\n今晚维护。详见 https://status.example.com/maint\n\n谢谢！", 64, false)
	f.Add(strings.Repeat("👨‍👩‍👧‍👦 ", 40), 64, true)
	f.Add("a\r\n\r\nb\n\n\n   c. d! e? f。g", 20, false)
	f.Add(strings.Repeat("x", 500), 30, false)
	f.Add("\xff\xfe\n\n\xc3", 16, false)
	f.Fuzz(func(t *testing.T, text string, max int, chars bool) {
		measure := Bytes
		if chars {
			measure = Chars
		}
		if max > 1<<20 {
			max = 1 << 20
		}
		parts, err := Split(text, max, measure)
		if err != nil {
			if !errors.Is(err, ErrLimitTooSmall) {
				t.Fatalf("Split(%q, %d): unexpected error %v", text, max, err)
			}
			return
		}
		checkParts(t, text, max, measure, parts)
	})
}

func BenchmarkSplit(b *testing.B) {
	text := strings.Repeat("今晚 22:00 至次日 02:00 进行数据库升级，期间订单服务不可用。\n详见 https://status.example.com/maint\n\n", 200)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Split(text, 2048, Bytes); err != nil {
			b.Fatal(err)
		}
	}
}

// nextCluster cuts every string where uniseg does, whatever the runes: the
// lone runes it cuts by itself next to marks, joiners, selectors, emoji,
// regional indicators, hangul jamo and CR LF.
func TestNextClusterMatchesUniseg(t *testing.T) {
	alphabet := []string{"a", " ", "\t", "\n", "\r", "字", "。", "，", "“", "”", "…", "—", "！", "\u0301", "\u200d", "\ufe0f", "\u20e3",
		"👍", "🏽", "👨", "🇨", "🇳", "ᄀ", "ᅡ", "ᆨ", "한", "\u302a", "〰", "〽", "\u0600", "#", "©", "ｶ", "\uff9e", "\u0e33", "\u0915", "\u094d"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		var b strings.Builder
		for k := r.IntN(10); k >= 0; k-- {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		s := b.String()
		var got, want []string
		for rest, state := s, -1; rest != ""; {
			var c string
			c, rest, state = nextCluster(rest, state)
			got = append(got, c)
		}
		for rest, state := s, -1; rest != ""; {
			var c string
			c, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
			want = append(want, c)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q: clusters %q, uniseg %q", s, got, want)
		}
	}
}
