package policy

import (
	"errors"
	"reflect"
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
		text   string
		want   []m
		masked string // with all matches masked
	}{
		{"plain", []string{"最佳"}, nil, "这是最佳方案", []m{{"最佳", "最佳"}}, "这是**方案"},
		{"overlapping terms both hit", []string{"最高", "最高级"}, nil, "最高级别", []m{{"最高", "最高"}, {"最高级", "最高级"}}, "***别"},
		{"repeated", []string{"ab"}, nil, "abab", []m{{"ab", "ab"}, {"ab", "ab"}}, "****"},
		{"ascii case", []string{"VIP"}, nil, "vip 与 Vip", []m{{"vip", "VIP"}, {"Vip", "VIP"}}, "*** 与 ***"},
		{"full width", []string{"No.1"}, nil, "ＮＯ．１ and no.1", []m{{"ＮＯ．１", "No.1"}, {"no.1", "No.1"}}, "**** and ****"},
		{"latin accents fold", []string{"café"}, nil, "CAFÉ", []m{{"CAFÉ", "café"}}, "****"},
		{"allowed phrase hides the term", []string{"第一"}, []string{"第一步"}, "第一步和第一", []m{{"第一", "第一"}}, "第一步和**"},
		{"allowed phrase starting before", []string{"一步"}, []string{"第一步"}, "第一步", nil, "第一步"},
		{"term longer than allowed phrase", []string{"第一步骤"}, []string{"第一步"}, "第一步骤", []m{{"第一步骤", "第一步骤"}}, "****"},
		{"invalid utf-8 around", []string{"ab"}, nil, "\xffab\xfe", []m{{"ab", "ab"}}, "\xff**\xfe"},
		{"no match", []string{"最佳"}, nil, "最好", nil, "最好"},
		{"term at end, cut short", []string{"最佳方案"}, nil, "最佳方", nil, "最佳方"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLiterals(tt.terms, tt.allow)
			var got []m
			l.scan(tt.text, func(s, e int, term string) bool {
				got = append(got, m{tt.text[s:e], term})
				return true
			})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("matches = %q, want %q", got, tt.want)
			}
			p := &Policy{rules: []rule{{name: "r", action: ActionMask, lits: l}}}
			if got := p.maskText(tt.text); got != tt.masked {
				t.Errorf("masked = %q, want %q", got, tt.masked)
			}
		})
	}
}

func TestAdLawPreset(t *testing.T) {
	pol := mustCompile(t, configs.Policy{Rules: []configs.Rule{{Preset: "ad-law", Action: "block"}}}, time.UTC)
	for _, term := range adLaw.Terms {
		d := pol.Decide(Input{Now: time.Now(), Rendered: rendered("我们的产品" + term + "，欢迎选购")})
		if d.Action != Block {
			t.Errorf("%q: %v, want block", term, d.Action)
		}
	}
	for _, phrase := range []string{
		"第一步：备份数据", "我们将第一时间通知", "请填写唯一标识", "使用绝对路径", "顶级域名解析",
		"最佳实践", "系统维护通知", "12月1日凌晨系统维护，服务暂停两小时。",
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
