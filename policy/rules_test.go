package policy

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
)

func TestLiterals(t *testing.T) {
	type m struct {
		text string
		term string
	}
	tests := []struct {
		name   string
		terms  []string
		allow  []string
		whole  bool
		text   string
		want   []m
		masked string // with all matches masked
	}{
		{"plain", []string{"最佳"}, nil, false, "这是最佳方案", []m{{"最佳", "最佳"}}, "这是**方案"},
		{"nested terms are one hit, the longest", []string{"最高", "最高级"}, nil, false, "最高级别", []m{{"最高级", "最高级"}}, "***别"},
		{"overlapping terms are one hit over both", []string{"全网最", "最低价", "最低"}, nil, false, "全网最低价！",
			[]m{{"全网最低价", "全网最"}}, "*****！"},
		{"longest term of a chain wins", []string{"史上", "上最低", "最低价格"}, nil, false, "史上最低价格", []m{{"史上最低价格", "最低价格"}}, "******"},
		{"separate occurrences stay separate", []string{"最佳"}, nil, false, "最佳，最佳", []m{{"最佳", "最佳"}, {"最佳", "最佳"}}, "**，**"},
		{"repeated", []string{"ab"}, nil, false, "abab", []m{{"ab", "ab"}, {"ab", "ab"}}, "****"},
		{"self-overlapping", []string{"aa"}, nil, false, "aaa", []m{{"aaa", "aa"}}, "***"},
		{"ascii case", []string{"VIP"}, nil, false, "vip 与 Vip", []m{{"vip", "VIP"}, {"Vip", "VIP"}}, "*** 与 ***"},
		{"full width", []string{"No.1"}, nil, false, "ＮＯ．１ and no.1", []m{{"ＮＯ．１", "No.1"}, {"no.1", "No.1"}}, "**** and ****"},
		{"latin accents fold", []string{"café"}, nil, false, "CAFÉ", []m{{"CAFÉ", "café"}}, "****"},
		{"allowed phrase hides the term", []string{"第一"}, []string{"第一步"}, false, "第一步和第一", []m{{"第一", "第一"}}, "第一步和**"},
		{"allowed phrase starting before", []string{"一步"}, []string{"第一步"}, false, "第一步", nil, "第一步"},
		{"term longer than allowed phrase", []string{"第一步骤"}, []string{"第一步"}, false, "第一步骤", []m{{"第一步骤", "第一步骤"}}, "****"},
		{"allowed phrase hides one term of a chain", []string{"史上最", "最强"}, []string{"最强台风"}, false, "史上最强台风",
			[]m{{"史上最", "史上最"}}, "***强台风"},
		{"invalid utf-8 around", []string{"ab"}, nil, false, "\xffab\xfe", []m{{"ab", "ab"}}, "\xff**\xfe"},
		{"no match", []string{"最佳"}, nil, false, "最好", nil, "最好"},
		{"term at end, cut short", []string{"最佳方案"}, nil, false, "最佳方", nil, "最佳方"},
		{"substring without whole", []string{"TOP1"}, nil, false, "TOP10", []m{{"TOP1", "TOP1"}}, "****0"},
		{"whole: digit after", []string{"TOP1"}, nil, true, "TOP10 与 TOP1，top1", []m{{"TOP1", "TOP1"}, {"top1", "TOP1"}}, "TOP10 与 ****，****"},
		{"whole: letter before", []string{"NO.1"}, nil, true, "uno.1 ＮＯ．１", []m{{"ＮＯ．１", "NO.1"}}, "uno.1 ****"},
		{"whole: full-width digit after", []string{"100%纯"}, nil, true, "100%纯１", []m{{"100%纯", "100%纯"}}, "*****１"},
		{"whole: number before", []string{"100%有效"}, nil, true, "1100%有效，100%有效", []m{{"100%有效", "100%有效"}}, "1100%有效，******"},
		{"whole: shorter term fits where the longer does not", []string{"TOP1", "TOP"}, nil, true, "TOP12", nil, "TOP12"},
		{"whole: Chinese around", []string{"TOP1"}, nil, true, "类目TOP1第一", []m{{"TOP1", "TOP1"}}, "类目****第一"},
		{"whole: a space between Latin and Chinese", []string{"100%纯天然", "好评率100%", "a级"}, nil, true, "100% 纯天然，好评率 100%，a 级",
			[]m{{"100% 纯天然", "100%纯天然"}, {"好评率 100%", "好评率100%"}, {"a 级", "a级"}}, "********，********，***"},
		{"whole: one space only, and only at a script change", []string{"100%纯天然", "纯天然"}, nil, true, "100%  纯天然，100%纯 天然",
			[]m{{"纯天然", "纯天然"}}, "100%  ***，100%纯 天然"},
		{"no space skipped without whole", []string{"100%纯天然"}, nil, false, "100% 纯天然", nil, "100% 纯天然"},
		{"whole: allowed phrase across a space", []string{"顶级"}, []string{"顶级dns"}, true, "顶级 DNS", nil, "顶级 DNS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLiterals(tt.terms, tt.allow, tt.whole)
			var got []m
			l.scan(tt.text, func(s, e int, term string) bool {
				got = append(got, m{tt.text[s:e], term})
				return true
			})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("matches = %q, want %q", got, tt.want)
			}
			p := &Policy{rules: []rule{{name: "r", action: ActionMask, lits: l}}}
			if got := p.maskText(categoryBit(groupcast.CategoryNotice), tt.text); got != tt.masked {
				t.Errorf("masked = %q, want %q", got, tt.masked)
			}
		})
	}
}

func TestLiteralsStop(t *testing.T) {
	l := newLiterals([]string{"最佳"}, nil, false)
	n := 0
	l.scan("最佳最好最佳，最佳", func(_, _ int, _ string) bool { n++; return false })
	if n != 1 {
		t.Errorf("scan went on after fn returned false: %d calls", n)
	}
}

func TestAdLawPreset(t *testing.T) {
	pol := mustCompile(t, configs.Policy{Rules: []configs.Rule{{Preset: "ad-law", Action: "block"}}}, time.UTC)
	for _, term := range adLaw.Terms {
		d := pol.Decide(Input{Now: time.Now(), Rendered: rendered("我们的产品" + term + "，欢迎选购")})
		if d.Action != Block || len(d.Hits) != 1 || d.Hits[0].Term != term {
			t.Errorf("%q: %v %+v, want block by that term alone", term, d.Action, d.Hits)
		}
	}
	for _, phrase := range []string{
		"第一步：备份数据", "我们将第一时间通知", "请填写唯一标识", "使用绝对路径", "顶级域名解析",
		"最佳实践", "系统维护通知", "12月1日凌晨系统维护，服务暂停两小时。",
		"明天最低温度-5℃", "可用性 100%", "可用性100%", "绝对不要泄露验证码", "节后首个工作日",
		"TOP10 热门问题", "请最好提前保存", "排名前 100 的用户", "首选 DNS", "安全第一",
	} {
		if d := pol.Decide(Input{Now: time.Now(), Rendered: rendered(phrase)}); d.Action != Send {
			t.Errorf("%q: %v (%s), want send", phrase, d.Action, d.Reason)
		}
	}
	for _, a := range adLaw.Allow {
		covered := false
		for _, term := range adLaw.Terms {
			covered = covered || strings.Contains(strings.ToLower(a), strings.ToLower(term))
		}
		if !covered {
			t.Errorf("allowed phrase %q contains no term: it does nothing", a)
		}
		if d := pol.Decide(Input{Now: time.Now(), Rendered: rendered("请注意：" + a + "。")}); d.Action != Send {
			t.Errorf("allowed phrase %q: %v (%s), want send", a, d.Action, d.Reason)
		}
	}
	seen := map[string]bool{}
	for _, term := range adLaw.Terms {
		if seen[term] {
			t.Errorf("term %q listed twice", term)
		}
		seen[term] = true
	}
}

// TestAdLawHits: one hit per claim, by its longest term, and each term once
// per announcement, however often it occurs.
func TestAdLawHits(t *testing.T) {
	pol := mustCompile(t, configs.Policy{Rules: []configs.Rule{{Preset: "ad-law", Action: "block"}}}, time.UTC)
	tests := []struct {
		title, text string
		want        []string
		reason      string
	}{
		{"", "全网最低价", []string{"全网最低价"}, "rule ad-law: 全网最低价"},
		{"", "史上最低价，史上最强", []string{"史上最低价", "史上最强"}, "rule ad-law: 史上最低价, 史上最强"},
		{"", "史上最长的假期", []string{"史上最"}, "rule ad-law: 史上最"},
		{"全网最低价", "全网最低价！全网最低价！", []string{"全网最低价"}, "rule ad-law: 全网最低价"},
		{"", "销量第一品牌", []string{"销量第一"}, "rule ad-law: 销量第一"}, // equals: the first
		{"", "国家级顶级至尊极致王牌", []string{"国家级", "顶级", "至尊", "极致", "王牌"}, "rule ad-law: 国家级, 顶级, 至尊, …"},
		{"", "绝对值得，绝对值 5ms", []string{"绝对值得"}, "rule ad-law: 绝对值得"},
		{"", "TOP1 与 TOP10", []string{"TOP1"}, "rule ad-law: TOP1"},
	}
	for _, tt := range tests {
		d := pol.Decide(Input{Now: time.Now(), Announcement: &groupcast.Announcement{Title: tt.title}, Rendered: rendered(tt.text)})
		var got []string
		for _, h := range d.Hits {
			got = append(got, h.Term)
		}
		if !reflect.DeepEqual(got, tt.want) || d.Reason != tt.reason {
			t.Errorf("%q: hits %q, reason %q; want %q, %q", tt.text, got, d.Reason, tt.want, tt.reason)
		}
	}
}

func TestRuleAllow(t *testing.T) {
	pol := mustCompile(t, configs.Policy{Rules: []configs.Rule{
		{Preset: "ad-law", Action: "block", Allow: []string{"最佳拍档"}},
		{Name: "wx", Pattern: "(?i)加微信|加v", Action: "mask", Allow: []string{"添加微信支付"}},
		{Name: "internal", Terms: []string{"内部"}, Action: "review", Allow: []string{"内部网络", "内部ip"}},
	}}, time.UTC)
	tests := []struct {
		text   string
		action Action
		out    string
	}{
		{"最佳拍档训练营", Send, "最佳拍档训练营"},
		{"最佳拍档，最佳选择", Block, ""},
		{"最佳实践", Send, "最佳实践"}, // the preset's own list still holds
		{"请在设置中添加微信支付", Send, "请在设置中添加微信支付"},
		{"有问题加微信，或添加微信支付", Send, "有问题***，或添加微信支付"},
		{"内部网络与内部 IP 调整", Hold, ""}, // "内部 IP" is not "内部IP"
		{"内部网络与内部IP调整", Send, "内部网络与内部IP调整"},
		{"内部资料", Hold, ""},
	}
	for _, tt := range tests {
		d := pol.Decide(Input{Now: time.Now(), Rendered: rendered(tt.text)})
		if d.Action != tt.action || (tt.action == Send && d.Rendered.Text != tt.out) {
			t.Errorf("%q: %v %q (%s), want %v %q", tt.text, d.Action, d.Rendered.Text, d.Reason, tt.action, tt.out)
		}
	}
}

func TestRuleCategories(t *testing.T) {
	pol := mustCompile(t, configs.Policy{Rules: []configs.Rule{
		{Preset: "ad-law", Action: "block", Categories: []string{"promotion", "interaction"}},
		{Terms: []string{"内部资料"}, Action: "review", Categories: []string{"notice"}},
		{Pattern: "加微信", Action: "mask", Categories: []string{"promotion"}},
	}}, time.UTC)
	const text = "全网最低价，内部资料，加微信"
	tests := []struct {
		category groupcast.Category
		nilAnn   bool
		action   Action
		rules    []string
		out      string
	}{
		{groupcast.CategoryPromotion, false, Block, []string{"ad-law", "pattern-2"}, ""},
		{groupcast.CategoryInteraction, false, Block, []string{"ad-law"}, ""},
		{groupcast.CategoryNotice, false, Hold, []string{"terms-1"}, ""},
		{"", false, Hold, []string{"terms-1"}, ""}, // no category: a notice
		{"", true, Hold, []string{"terms-1"}, ""},  // no announcement: a notice
		{"bogus", false, Send, nil, text},          // no rule names it
	}
	for _, tt := range tests {
		in := Input{Now: time.Now(), Rendered: rendered(text)}
		if !tt.nilAnn {
			in.Announcement = &groupcast.Announcement{Category: tt.category}
		}
		d := pol.Decide(in)
		var rules []string
		for _, h := range d.Hits {
			rules = append(rules, h.Rule)
		}
		if d.Action != tt.action || !reflect.DeepEqual(rules, tt.rules) || (tt.action == Send && d.Rendered.Text != tt.out) {
			t.Errorf("%q: %v %q by %q, want %v by %q", tt.category, d.Action, d.Rendered.Text, rules, tt.action, tt.rules)
		}
	}
	// A mask rule for promotions masks promotions only.
	mask := mustCompile(t, configs.Policy{Rules: []configs.Rule{{Pattern: "加微信", Action: "mask", Categories: []string{"promotion"}}}}, time.UTC)
	for c, want := range map[groupcast.Category]string{groupcast.CategoryPromotion: "请***", groupcast.CategoryNotice: "请加微信"} {
		d := mask.Decide(Input{Now: time.Now(), Announcement: &groupcast.Announcement{Category: c}, Rendered: rendered("请加微信")})
		if d.Rendered.Text != want {
			t.Errorf("%s: %q, want %q", c, d.Rendered.Text, want)
		}
	}
}

func TestCompileRuleErrors(t *testing.T) {
	tests := []struct {
		rule  configs.Rule
		field string
		msg   string
	}{
		{configs.Rule{Preset: "ad-law", Action: "block", Categories: []string{"notice", "promo"}}, "rules[0].categories[1]", `unknown category "promo" (notice, interaction, promotion)`},
		{configs.Rule{Preset: "ad-law", Action: "block", Categories: []string{""}}, "rules[0].categories[0]", `unknown category "" (notice, interaction, promotion)`},
		{configs.Rule{Terms: []string{"x"}, Action: "block", Allow: []string{" "}}, "rules[0].allow[0]", "empty phrase"},
		{configs.Rule{Pattern: "x", Action: "mask", Allow: []string{"\xff"}}, "rules[0].allow[0]", "not valid UTF-8"},
	}
	for _, tt := range tests {
		_, err := Compile(configs.Policy{Rules: []configs.Rule{tt.rule}}, time.UTC)
		var fe *groupcast.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field || fe.Message != tt.msg {
			t.Errorf("%+v: %v, want %s: %s", tt.rule, err, tt.field, tt.msg)
		}
	}
}

func TestHitsBounded(t *testing.T) {
	pol := mustCompile(t, configs.Policy{Rules: []configs.Rule{{Pattern: `\d+`, Action: "mask"}}}, time.UTC)
	var b strings.Builder
	for i := range 100 {
		b.WriteString(strings.Repeat("x", 3))
		b.WriteString(strings.Repeat("7", i%40+1))
	}
	d := pol.Decide(Input{Now: time.Now(), Rendered: rendered(b.String())})
	if len(d.Hits) != maxHitTerms {
		t.Errorf("%d hits, want %d", len(d.Hits), maxHitTerms)
	}
	if strings.ContainsAny(d.Rendered.Text, "0123456789") {
		t.Errorf("digits left after masking: %q", d.Rendered.Text)
	}
	for _, h := range d.Hits {
		if utf8.RuneCountInString(h.Term) > maxTermRunes+1 {
			t.Errorf("hit term too long: %q", h.Term)
		}
	}
}

// FuzzCompile feeds arbitrary terms and patterns to Compile and, when they
// compile, arbitrary text to Decide: nothing panics, errors name the rule,
// a term present in the text is always a hit, and masking keeps every
// character's place.
func FuzzCompile(f *testing.F) {
	f.Add("最佳", "(?i)加微信|加v", "有问题加微信，这是最佳方案")
	f.Add("VIP", `\d{11}`, "vip 用户请拨 13800138000")
	f.Add("ab", "a*", "aaaa")
	f.Add("", "(", "x")
	f.Add(" ", `\b`, "hello world")
	f.Add("\xff", "[[:^ascii:]]", "\xff\xfe中")
	f.Add("ǅ", "(?i)ǆ", "Ǆǅǆ")
	f.Add("第一", "第一步", "第一步第一")
	f.Fuzz(func(t *testing.T, term, pattern, text string) {
		c := configs.Policy{Rules: []configs.Rule{
			{Terms: []string{term}, Action: "mask"},
			{Pattern: pattern, Action: "mask"},
		}}
		pol, err := Compile(c, time.UTC)
		if err != nil {
			var fe *groupcast.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "rules[") {
				t.Fatalf("error without a rule field: %v", err)
			}
			return
		}
		d := pol.Decide(Input{Now: time.Now(), Rendered: rendered(text)})
		if d.Action != Send {
			t.Fatalf("mask-only policy answered %v", d.Action)
		}
		for _, h := range d.Hits {
			if h.Action != ActionMask || h.Term == "" {
				t.Fatalf("bad hit %+v", h)
			}
		}
		if utf8.RuneCountInString(d.Rendered.Text) != utf8.RuneCountInString(text) {
			t.Fatalf("masking %q changed the length: %q", text, d.Rendered.Text)
		}
		if strings.Contains(text, term) {
			found := false
			for _, h := range d.Hits {
				found = found || (h.Rule == "terms-0" && h.Term == term)
			}
			if !found {
				t.Fatalf("term %q in %q but no hit: %+v", term, text, d.Hits)
			}
			if strings.Contains(d.Rendered.Text, term) && strings.Trim(term, "*") != "" {
				t.Fatalf("term %q still in the masked text %q", term, d.Rendered.Text)
			}
		}
		// Unmasked characters are unchanged.
		a, b := text, d.Rendered.Text
		for a != "" {
			_, wa := utf8.DecodeRuneInString(a)
			rb, wb := utf8.DecodeRuneInString(b)
			if rb != '*' && a[:wa] != b[:wb] {
				t.Fatalf("masking %q changed %q into %q", text, a[:wa], b[:wb])
			}
			a, b = a[wa:], b[wb:]
		}
	})
}

func TestFoldFastPath(t *testing.T) {
	slow := func(r rune) rune {
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFEE0
		}
		return unicode.ToLower(r)
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if got, want := fold(r), slow(r); got != want {
			t.Fatalf("fold(%U) = %U, want %U", r, got, want)
		}
	}
}

// TestScanAgainstReference compares literals.scan with a plain reading of
// its contract on random texts over a small alphabet: every term match
// that is a whole term and not wholly inside an allowed phrase, merged
// with the matches it overlaps into one span, named by the longest term
// (the first, among equals).
func TestScanAgainstReference(t *testing.T) {
	alphabet := []rune("ab1%最佳第一步 ")
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(maxLen int) string {
		n := 1 + rng.IntN(maxLen)
		rs := make([]rune, n)
		for i := range rs {
			rs[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(rs)
	}
	type span struct {
		start, end int
		term       string
	}
	for round := range 4000 {
		var terms, allow []string
		for range 1 + rng.IntN(4) {
			terms = append(terms, word(3))
		}
		for range rng.IntN(3) {
			allow = append(allow, word(4))
		}
		whole := rng.IntN(2) == 0
		text := word(24)
		if whole { // the space rule has its own cases in TestLiterals
			text = strings.ReplaceAll(text, " ", "_")
		}

		l := newLiterals(terms, allow, whole)
		var got []span
		l.scan(text, func(s, e int, term string) bool {
			got = append(got, span{s, e, term})
			return true
		})

		// Reference: terms and text here have no case or width to fold.
		type match struct {
			start, end int
			term       string
		}
		var allowed, found []match
		for i := range text {
			for _, a := range allow {
				if strings.HasPrefix(text[i:], a) {
					allowed = append(allowed, match{i, i + len(a), a})
				}
			}
			for _, term := range slices.Compact(slices.Clone(terms)) {
				if !strings.HasPrefix(text[i:], term) {
					continue
				}
				m := match{i, i + len(term), term}
				lit := literal{runes: []rune(term)}
				if whole {
					lit.wordStart, lit.wordEnd = isWordRune(lit.runes[0]), isWordRune(lit.runes[len(lit.runes)-1])
				}
				if !edgesOK(text, m.start, m.end, &lit) {
					continue
				}
				inside := false
				for _, a := range allowed {
					inside = inside || (a.start <= m.start && m.end <= a.end)
				}
				if !inside {
					found = append(found, m)
				}
			}
		}
		var want []span
		for _, m := range found { // by start, as found
			n := utf8.RuneCountInString(m.term)
			if k := len(want) - 1; k >= 0 && m.start < want[k].end {
				want[k].end = max(want[k].end, m.end)
				if n > utf8.RuneCountInString(want[k].term) {
					want[k].term = m.term
				}
				continue
			}
			want = append(want, span{m.start, m.end, m.term})
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: terms %q allow %q whole %v text %q:\n got %v\nwant %v", round, terms, allow, whole, text, got, want)
		}
	}
}

func TestHides(t *testing.T) {
	p := mustCompile(t, configs.Policy{Rules: []configs.Rule{
		{Name: "no-taobao", Terms: []string{"taobao.com"}, Action: ActionMask},
		{Name: "no-shady", Pattern: `shady\.example`, Action: ActionBlock},
		{Name: "promo-only", Terms: []string{"jd.com"}, Action: ActionMask, Categories: []string{"promotion"}},
		{Name: "looked-at", Terms: []string{"review.example"}, Action: ActionReview},
	}}, time.UTC)
	tests := []struct {
		cat  groupcast.Category
		url  string
		want bool
	}{
		{"", "https://shop.taobao.com/x", true},
		{"", "https://shop.TAOBAO.com/x", true},
		{"notice", "https://shady.example/gift", true},
		{"", "https://ok.example.com/a", false},
		{"notice", "https://item.jd.com/1", false},
		{"promotion", "https://item.jd.com/1", true},
		{"", "https://review.example/a", false}, // review holds the text; it does not hide a URL
	}
	for _, tt := range tests {
		if got := p.Hides(tt.cat, tt.url); got != tt.want {
			t.Errorf("Hides(%q, %q) = %v, want %v", tt.cat, tt.url, got, tt.want)
		}
	}
}
