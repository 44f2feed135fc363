package transform

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
)

func notice() *groupcast.Announcement {
	return &groupcast.Announcement{
		Title: "系统维护通知", MentionAll: true, Author: "运维值班",
		Links:  []groupcast.Link{{Title: "维护详情", URL: "https://status.example.com/maint"}},
		Images: []groupcast.Image{{URL: "https://example.com/banner.png", Alt: "时间表"}},
		Body: "今晚 **22:00** 起维护两小时，期间订单服务暂停！！🎉\n\n" +
			"![流程图](https://example.com/flow.png)\n\n详见[值班表](https://wiki.example.com/duty)。",
	}
}

func render(t *testing.T, a *groupcast.Announcement, style string, o groupcast.StyleOptions, now time.Time) groupcast.Rendered {
	t.Helper()
	r, err := Render(a, groupcast.Destination{Style: style, Options: o}, now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRenderedFields(t *testing.T) {
	a := notice()
	for _, tc := range []struct {
		style  string
		format groupcast.TextFormat
	}{{StyleShort, groupcast.TextPlain}, {StyleLong, groupcast.TextPlain}, {StyleFormal, groupcast.TextMarkdown}} {
		r := render(t, a, tc.style, groupcast.StyleOptions{}, goldenNow)
		if r.Style != tc.style || r.Format != tc.format || !r.MentionAll {
			t.Errorf("%s: style %q format %q mention %v", tc.style, r.Style, r.Format, r.MentionAll)
		}
		wantLinks := []string{"https://status.example.com/maint", "https://wiki.example.com/duty"}
		if len(r.Links) != 2 || r.Links[0].URL != wantLinks[0] || r.Links[1].URL != wantLinks[1] || r.Links[1].Title != "值班表" {
			t.Errorf("%s: links %+v", tc.style, r.Links)
		}
		if len(r.Images) != 2 || r.Images[1].URL != "https://example.com/flow.png" || r.Images[1].Alt != "流程图" {
			t.Errorf("%s: images %+v", tc.style, r.Images)
		}
	}
	if r := render(t, a, StyleFormal, groupcast.StyleOptions{}, goldenNow); r.Title != "系统维护通知" {
		t.Errorf("formal title %q", r.Title)
	}
	a.Title = "🎉 年会报名开始啦！"
	if r := render(t, a, StyleFormal, groupcast.StyleOptions{}, goldenNow); r.Title != "年会报名开始啦" {
		t.Errorf("formal title %q, want it without emoji and exclamation", r.Title)
	}
}

func TestRepeatedAndEmptyLinks(t *testing.T) {
	a := &groupcast.Announcement{Title: "通知", Body: "正文。",
		Links: []groupcast.Link{{Title: "a", URL: "https://e.example.com/1"}, {Title: "b", URL: "https://e.example.com/1"}, {Title: "c"}}}
	for _, s := range []string{StyleShort, StyleLong, StyleFormal} {
		r := render(t, a, s, groupcast.StyleOptions{}, goldenNow)
		if len(r.Links) != 1 || strings.Count(r.Text, "https://e.example.com/1") != 1 {
			t.Errorf("%s: links %+v, text:\n%s", s, r.Links, r.Text)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	a := notice()
	if _, err := Render(a, groupcast.Destination{Style: "fancy"}, goldenNow); err == nil {
		t.Error("unknown style: no error")
	}
	if _, err := Render(a, groupcast.Destination{Style: StyleFormal, Options: groupcast.StyleOptions{Timezone: "Mars/Olympus"}}, goldenNow); err == nil {
		t.Error("unknown timezone: no error")
	}
}

func TestShortWholeBodyHasNoPointer(t *testing.T) {
	a := &groupcast.Announcement{Title: "今晚维护", Body: "今晚 22:00 起维护，详见[公告](https://e.example.com/n)。",
		Links: []groupcast.Link{{Title: "状态页", URL: "https://status.example.com"}}}
	got := render(t, a, StyleShort, groupcast.StyleOptions{}, goldenNow).Text
	want := "【今晚维护】\n今晚 22:00 起维护，详见公告。\n状态页：https://status.example.com\n公告：https://e.example.com/n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestShortCutsAtSentenceEnds(t *testing.T) {
	a := &groupcast.Announcement{Title: "通知",
		Body:  "第一句话比较短。第二句话稍微长一点点，但还是能放下。第三句话就放不下了，因为预算已经用完了。",
		Links: []groupcast.Link{{Title: "全文", URL: "https://e.example.com/full"}}}
	got := render(t, a, StyleShort, groupcast.StyleOptions{MaxChars: 64}, goldenNow).Text
	want := "【通知】\n第一句话比较短。第二句话稍微长一点点，但还是能放下。\n查看全文：https://e.example.com/full"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if Chars(got) > 64 {
		t.Errorf("%d characters", Chars(got))
	}
}

func TestShortNeverCutsInsideWordsOrEmoji(t *testing.T) {
	a := &groupcast.Announcement{Title: "通知",
		Body: "请访问 https://status.example.com/incidents/2026-11-25/order-api 查看 👨‍👩‍👧‍👦 家庭套餐 version 2.14.3 的说明没有句号一直写下去"}
	for max := 10; max <= 80; max++ {
		got := render(t, a, StyleShort, groupcast.StyleOptions{MaxChars: max}, goldenNow).Text
		if Chars(got) > max {
			t.Fatalf("max %d: %d characters", max, Chars(got))
		}
		for _, frag := range []string{"https://", "👨", "2.14"} {
			whole := map[string]string{"https://": "https://status.example.com/incidents/2026-11-25/order-api", "👨": "👨‍👩‍👧‍👦", "2.14": "2.14.3"}[frag]
			if strings.Contains(got, frag) && !strings.Contains(got, whole) {
				t.Fatalf("max %d: cut inside %q:\n%s", max, whole, got)
			}
		}
	}
}

func TestShortDropsStrayDelimiters(t *testing.T) {
	// CommonMark does not open emphasis between 是 and “: the asterisks stay text.
	a := &groupcast.Announcement{Title: "通知", Body: "这是**“重要”**通知，请~~不要~~转发。"}
	got := render(t, a, StyleShort, groupcast.StyleOptions{}, goldenNow).Text
	if strings.Contains(got, "**") || !strings.Contains(got, "这是“重要”通知") {
		t.Errorf("got %q", got)
	}
}

func TestFormalOptions(t *testing.T) {
	a := notice()
	a.MentionAll = false
	// 17:00 UTC on 30 November is 1 December in Shanghai.
	now := time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)
	def := render(t, a, StyleFormal, groupcast.StyleOptions{Org: "运维中心"}, now).Text
	for _, want := range []string{"### 【通知】系统维护通知\n\n各位同事：\n\n", "\n\n特此通知。\n\n运维中心  \n2026年12月1日", "期间订单服务暂停。"} {
		if !strings.Contains(def, want) {
			t.Errorf("default formal lacks %q:\n%s", want, def)
		}
	}
	if strings.Contains(def, "@所有人") || strings.Contains(def, "🎉") || strings.Contains(def, "！") {
		t.Errorf("formal:\n%s", def)
	}
	custom := render(t, a, StyleFormal, groupcast.StyleOptions{Org: "运维中心", Salutation: "各位合作伙伴：",
		Closing: Off, Signature: "平台运营部 值班组", Timezone: "UTC"}, now).Text
	for _, want := range []string{"各位合作伙伴：", "平台运营部 值班组  \n2026年11月30日"} {
		if !strings.Contains(custom, want) {
			t.Errorf("custom formal lacks %q:\n%s", want, custom)
		}
	}
	if strings.Contains(custom, "特此通知") || strings.Contains(custom, "运维中心") {
		t.Errorf("closing off and signature set, got:\n%s", custom)
	}
	noOrg := render(t, a, StyleFormal, groupcast.StyleOptions{}, now).Text
	if !strings.HasSuffix(noOrg, "运维值班  \n2026年12月1日") {
		t.Errorf("without org the author signs:\n%s", noOrg)
	}
	a.MentionAll = true
	if got := render(t, a, StyleFormal, groupcast.StyleOptions{}, now).Text; !strings.Contains(got, "\n\n@所有人\n\n") {
		t.Errorf("mention_all:\n%s", got)
	}
}

func TestFormalSkipsItsSalutationWhenTheBodyGreets(t *testing.T) {
	for _, body := range []string{"各部门：\n\n现将有关事项通知如下。", "各位同事：\n\n今晚维护。", "大家好！今晚维护。", "Hi all, maintenance tonight."} {
		got := render(t, &groupcast.Announcement{Title: "通知", Body: body}, StyleFormal, groupcast.StyleOptions{}, goldenNow).Text
		if strings.Contains(got, "各位同事：") && !strings.HasPrefix(body, "各位同事") {
			t.Errorf("body %q greets, formal greets again:\n%s", body, got)
		}
		if strings.Count(got, "各位同事：") > 1 {
			t.Errorf("greets twice:\n%s", got)
		}
	}
}

func TestRemoveEmoji(t *testing.T) {
	for in, want := range map[string]string{
		"🎉 报名开始":           "报名开始",
		"报名开始 🎉":           "报名开始",
		"报名 🎉！":            "报名！",
		"中国🇨🇳加油":           "中国加油",
		"一家人👨‍👩‍👧‍👦出游":     "一家人出游",
		"点赞👍🏽":             "点赞",
		"第1️⃣步":            "第步",
		"©2026 公司 ™":       "©2026 公司 ™",
		"⚠️注意":             "注意",
		"☀️ 早上好":           "早上好",
		"普通文字，没有表情。":       "普通文字，没有表情。",
		"✓ 已完成 → 下一步 □ 待办": "✓ 已完成 → 下一步 □ 待办",
	} {
		if got := RemoveEmoji(in); got != want {
			t.Errorf("RemoveEmoji(%q) = %q, want %q", in, got, want)
		}
		if HasEmoji(RemoveEmoji(in)) {
			t.Errorf("HasEmoji(RemoveEmoji(%q))", in)
		}
	}
}

func TestCalmPunctuation(t *testing.T) {
	for in, want := range map[string]string{
		"报名从速！！！":                   "报名从速。",
		"请注意！":                      "请注意。",
		"真的吗？！":                     "真的吗？",
		"Thanks!":                   "Thanks.",
		"Hello!World":               "Hello!World",
		"见 https://e.com/#!/a 页面！！": "见 https://e.com/#!/a 页面。",
		"电话 8021!!":                 "电话 8021。",
	} {
		if got := calmPunctuation(in); got != want {
			t.Errorf("calmPunctuation(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormalCodeIsQuotedAndInert(t *testing.T) {
	a := &groupcast.Announcement{Title: "t", Body: "```\n# 注释\n- not a list\n  indented\n| a | b |\n```"}
	got := render(t, a, StyleFormal, groupcast.StyleOptions{Salutation: Off, Closing: Off}, goldenNow).Text
	want := "> \u00a0# 注释  \n> \u00a0- not a list  \n> \u00a0\u00a0indented  \n> \u00a0| a | b |"
	if !strings.Contains(got, want) {
		t.Errorf("got\n%q\nwant it to contain\n%q", got, want)
	}
}

func TestTemplate(t *testing.T) {
	a := notice()
	a.Tags = []string{"ops", "db"}
	src := `{{noemoji .Title}}（{{join .Tags "、"}}）
{{summary 30 .Body}}
{{range .Links}}{{link .}}
{{end}}{{.Org}} {{.Date}} {{.Group}}`
	if err := CheckTemplate(src); err != nil {
		t.Fatal(err)
	}
	r, err := Render(a, groupcast.Destination{Style: StyleFormal, Group: "运维群", Options: groupcast.StyleOptions{Template: src, Org: "运维中心"}}, goldenNow)
	if err != nil {
		t.Fatal(err)
	}
	want := "系统维护通知（ops、db）\n今晚 22:00 起维护两小时，期间订单服务暂停！！🎉\n维护详情：https://status.example.com/maint\n值班表：https://wiki.example.com/duty\n运维中心 2026年11月26日 运维群"
	if r.Text != want || r.Format != groupcast.TextMarkdown {
		t.Errorf("got %q (%s)\nwant %q", r.Text, r.Format, want)
	}
	plain, err := Render(a, groupcast.Destination{Style: StyleLong, Options: groupcast.StyleOptions{Template: "{{plain .Body}}"}}, goldenNow)
	if err != nil || !strings.Contains(plain.Text, "值班表（https://wiki.example.com/duty）") {
		t.Errorf("plain: %q %v", plain.Text, err)
	}
	md, err := Render(a, groupcast.Destination{Style: StyleFormal, Options: groupcast.StyleOptions{Template: "{{markdown .Body}}"}}, goldenNow)
	if err != nil || !strings.Contains(md.Text, "**22:00**") || strings.Contains(md.Text, "🎉") {
		t.Errorf("markdown: %q %v", md.Text, err)
	}
}

func TestCheckTemplateErrors(t *testing.T) {
	for src, want := range map[string]string{
		"{{.Title":           "unclosed action",
		"{{shout .Title}}":   `function "shout" not defined`,
		"{{.Titel}}":         "can't evaluate field Titel",
		"{{summary .Title}}": "wrong number of args",
	} {
		err := CheckTemplate(src)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "transform: template: ") {
			t.Errorf("CheckTemplate(%q) = %v, want an error about %q", src, err, want)
		}
	}
	_, err := Render(notice(), groupcast.Destination{Style: StyleShort, Options: groupcast.StyleOptions{Template: "{{if false}}x{{end}}  \n"}}, goldenNow)
	if !errors.Is(err, ErrEmptyTemplate) {
		t.Errorf("empty template output: %v", err)
	}
}

func TestDocIsSafeForConcurrentRenders(t *testing.T) {
	c := corpus(t)[0]
	doc := Parse(c.a)
	want := map[string]string{}
	for _, s := range []string{StyleShort, StyleLong, StyleFormal} {
		r, _ := doc.Render(goldenDest(s), goldenNow)
		want[s] = r.Text
	}
	done := make(chan string, 30)
	for i := range 30 {
		s := []string{StyleShort, StyleLong, StyleFormal}[i%3]
		go func() {
			r, err := doc.Render(goldenDest(s), goldenNow)
			if err != nil || r.Text != want[s] {
				done <- s
				return
			}
			done <- ""
		}()
	}
	for range 30 {
		if s := <-done; s != "" {
			t.Errorf("concurrent %s render differs", s)
		}
	}
}

// bench5K is the corpus's long guide: about 5 KB of Markdown with headings,
// lists, a table, code, a quote and an image.
func bench5K(b *testing.B) *groupcast.Announcement {
	for _, c := range corpus(b) {
		if c.name == "07-vpn-guide" {
			return c.a
		}
	}
	b.Fatal("07-vpn-guide not in the corpus")
	return nil
}

func BenchmarkRender(b *testing.B) {
	a := bench5K(b)
	for _, style := range []string{StyleShort, StyleLong, StyleFormal} {
		b.Run(style, func(b *testing.B) {
			b.SetBytes(int64(len(a.Body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(a, goldenDest(style), goldenNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("parse-once-render-all", func(b *testing.B) {
		b.SetBytes(int64(len(a.Body)))
		b.ReportAllocs()
		for b.Loop() {
			doc := Parse(a)
			for _, style := range []string{StyleShort, StyleLong, StyleFormal} {
				if _, err := doc.Render(goldenDest(style), goldenNow); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

func TestOneLine(t *testing.T) {
	for _, s := range []string{"", " ", "a", "a b", " a", "a ", "a  b", "a\tb", "a\nb", "通知\u3000标题", "【通知】 数据库 升级", "x\u00a0y", "\xff a"} {
		if got, want := oneLine(s), strings.Join(strings.Fields(s), " "); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", s, got, want)
		}
	}
}

// Past the characters an excerpt can take, the short style writes no more
// prose, but what it leaves out is still found: an image in the last
// paragraph, a table after it.
func TestFlowsStopPastTheLimitButFindWhatTheyOmit(t *testing.T) {
	long := strings.Repeat("很长的一句话。", 10) // 70 characters
	for _, c := range []struct {
		tail    string
		omitted bool
	}{
		{"结尾。", false},
		{"结尾 ![图](https://e.com/a.png)", true},
		{"[![图](https://e.com/a.png)](https://e.com/l)", true},
		{"~~![图](https://e.com/a.png)~~ 删掉的图不算", false},
		{"| a |\n|---|\n| 1 |", true},
	} {
		doc := parseBody(&groupcast.Announcement{}, long+"\n\n"+long+"\n\n"+long+"\n\n"+c.tail)
		flows, omitted := doc.flows(100)
		if len(flows) != 3 || omitted != c.omitted { // two flows hold 140 characters: the fourth paragraph is not written
			t.Errorf("%q: %d flows, omitted %v; want 3 flows, omitted %v", c.tail, len(flows), omitted, c.omitted)
		}
		all, allOmitted := doc.flows(1 << 30)
		if len(all) < 3 || allOmitted != c.omitted {
			t.Errorf("%q without a limit: %d flows, omitted %v", c.tail, len(all), allOmitted)
		}
	}
}

// BenchmarkRenderCorpus renders every document of the corpus, parsed once,
// in one style per op: what each style allocates over bodies of every kind
// (tables, code, quotes, emoji, long and short).
func BenchmarkRenderCorpus(b *testing.B) {
	var docs []*Doc
	for _, c := range corpus(b) {
		docs = append(docs, Parse(c.a))
	}
	for _, style := range []string{StyleShort, StyleLong, StyleFormal} {
		b.Run(style, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, d := range docs {
					if _, err := d.Render(goldenDest(style), goldenNow); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
