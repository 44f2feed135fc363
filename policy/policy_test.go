package policy

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// clock reads "2006-01-02 15:04[:05]" in loc, or an RFC 3339 time.
func clock(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if v, err := time.ParseInLocation(layout, s, loc); err == nil {
			return v
		}
	}
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad time %q", s)
	}
	return v
}

// specPolicy has the windows, caps, rules and mix docs/policy.md suggests.
func specPolicy() configs.Policy {
	return configs.Policy{
		Name:        "default",
		Windows:     []string{"08:00-09:00", "12:00-14:00", "19:00-22:00"},
		DailyCap:    configs.DailyCap{New: 3, Mature: 8},
		MatureAfter: 720 * time.Hour,
		Rules: []configs.Rule{
			{Preset: "ad-law", Action: "block"},
			{Terms: []string{"内部资料", "仅限内部"}, Action: "review"},
			{Pattern: "(?i)加微信|加v", Action: "mask"},
		},
		Mix: configs.Mix{Promotion: 0.10, Interaction: 0.20, Window: 168 * time.Hour},
	}
}

func mustCompile(t testing.TB, c configs.Policy, loc *time.Location) *Policy {
	t.Helper()
	p, err := Compile(c, loc)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func rendered(text string) groupcast.Rendered {
	return groupcast.Rendered{Style: "long", Format: groupcast.TextPlain, Text: text}
}

func TestDecide(t *testing.T) {
	sh := mustLoc(t, "Asia/Shanghai")
	at := func(s string) time.Time { return clock(t, sh, s) }
	ptr := func(s string) *time.Time { v := at(s); return &v }
	pol := mustCompile(t, specPolicy(), sh)

	noticesAndOne := func(cat groupcast.Category, catAt time.Duration, notices int, now time.Time) []Delivery {
		out := []Delivery{{At: now.Add(-catAt), Category: cat}}
		for i := range notices {
			out = append(out, Delivery{At: now.Add(-time.Duration(i+1) * time.Hour), Category: groupcast.CategoryNotice})
		}
		return out
	}
	now := at("2026-11-26 12:30")

	type want struct {
		action    Action
		notBefore string // "" for none
		reason    string // prefix; "" means the reason must be empty
		limit     int64
		counts    bool
		text      string // rendered text, when checked
		hits      []Hit
	}
	tests := []struct {
		name string
		in   Input
		ann  groupcast.Announcement
		want want
	}{
		{name: "inside a window sends", in: Input{Now: at("2026-11-26 08:30")},
			want: want{action: Send, limit: 3, counts: true}},
		{name: "window start is inclusive", in: Input{Now: at("2026-11-26 12:00")},
			want: want{action: Send, limit: 3, counts: true}},
		{name: "before the first window", in: Input{Now: at("2026-11-26 07:00")},
			want: want{action: Defer, notBefore: "2026-11-26 08:00", reason: "window: next opens 08:00"}},
		{name: "window end is exclusive", in: Input{Now: at("2026-11-26 09:00")},
			want: want{action: Defer, notBefore: "2026-11-26 12:00", reason: "window: next opens 12:00"}},
		{name: "between windows", in: Input{Now: at("2026-11-26 15:00:01")},
			want: want{action: Defer, notBefore: "2026-11-26 19:00", reason: "window: next opens 19:00"}},
		{name: "after the last window", in: Input{Now: at("2026-11-26 22:00")},
			want: want{action: Defer, notBefore: "2026-11-27 08:00", reason: "window: next opens 11-27 08:00"}},
		{name: "midnight", in: Input{Now: at("2026-11-27 00:00")},
			want: want{action: Defer, notBefore: "2026-11-27 08:00", reason: "window: next opens 08:00"}},
		{name: "new year", in: Input{Now: at("2026-12-31 23:00")},
			want: want{action: Defer, notBefore: "2027-01-01 08:00", reason: "window: next opens 2027-01-01 08:00"}},
		{name: "urgent ignores windows and counts", in: Input{Now: at("2026-11-26 03:00")},
			ann:  groupcast.Announcement{Priority: groupcast.PriorityUrgent},
			want: want{action: Send, limit: 0, counts: true}},
		{name: "low priority is held to windows", in: Input{Now: at("2026-11-26 03:00")},
			ann:  groupcast.Announcement{Priority: groupcast.PriorityLow},
			want: want{action: Defer, notBefore: "2026-11-26 08:00", reason: "window:"}},

		// Daily caps.
		{name: "below the new cap", in: Input{Now: now, SentToday: 2},
			want: want{action: Send, limit: 3, counts: true}},
		{name: "at the new cap", in: Input{Now: now, SentToday: 3},
			want: want{action: Defer, notBefore: "2026-11-27 08:00", reason: "daily_cap: 3/3 for new group, next day 08:00"}},
		{name: "over the new cap", in: Input{Now: now, SentToday: 5},
			want: want{action: Defer, notBefore: "2026-11-27 08:00", reason: "daily_cap: 5/3 for new group"}},
		{name: "mature by destination stage", in: Input{Now: now, SentToday: 3, Destination: groupcast.Destination{Stage: groupcast.StageMature}},
			want: want{action: Send, limit: 8, counts: true}},
		{name: "at the mature cap", in: Input{Now: now, SentToday: 8, Destination: groupcast.Destination{Stage: groupcast.StageMature}},
			want: want{action: Defer, notBefore: "2026-11-27 08:00", reason: "daily_cap: 8/8 for mature group, next day 08:00"}},
		{name: "destination stage new wins over age", in: Input{Now: now, SentToday: 3, FirstDelivery: now.Add(-365 * 24 * time.Hour), Destination: groupcast.Destination{Stage: groupcast.StageNew}},
			want: want{action: Defer, reason: "daily_cap: 3/3 for new group", notBefore: "2026-11-27 08:00"}},
		{name: "mature after 720h", in: Input{Now: now, SentToday: 3, FirstDelivery: now.Add(-720 * time.Hour)},
			want: want{action: Send, limit: 8, counts: true}},
		{name: "still new before 720h", in: Input{Now: now, SentToday: 3, FirstDelivery: now.Add(-719 * time.Hour)},
			want: want{action: Defer, reason: "daily_cap: 3/3 for new group", notBefore: "2026-11-27 08:00"}},
		{name: "urgent over the cap goes and counts", in: Input{Now: now, SentToday: 12},
			ann:  groupcast.Announcement{Priority: groupcast.PriorityUrgent},
			want: want{action: Send, limit: 0, counts: true}},

		// send_at: the target is released at send_at, then windows apply.
		{name: "released at send_at inside a window", in: Input{Now: at("2026-11-26 08:30")},
			ann:  groupcast.Announcement{SendAt: ptr("2026-11-26 08:30")},
			want: want{action: Send, limit: 3, counts: true}},
		{name: "released at send_at outside a window", in: Input{Now: at("2026-11-26 10:00")},
			ann:  groupcast.Announcement{SendAt: ptr("2026-11-26 10:00")},
			want: want{action: Defer, notBefore: "2026-11-26 12:00", reason: "window: next opens 12:00"}},
		{name: "before send_at defers to the window after it", in: Input{Now: at("2026-11-26 07:00")},
			ann:  groupcast.Announcement{SendAt: ptr("2026-11-26 10:00")},
			want: want{action: Defer, notBefore: "2026-11-26 12:00", reason: "send_at: 10:00"}},
		{name: "urgent before send_at waits for send_at only", in: Input{Now: at("2026-11-26 07:00")},
			ann:  groupcast.Announcement{SendAt: ptr("2026-11-26 10:00"), Priority: groupcast.PriorityUrgent},
			want: want{action: Defer, notBefore: "2026-11-26 10:00", reason: "send_at: 10:00"}},

		// Content rules.
		{name: "ad-law term in the text blocks", in: Input{Now: now, Rendered: rendered("本产品为国家级认证")},
			ann:  groupcast.Announcement{Category: groupcast.CategoryPromotion},
			want: want{action: Block, reason: "rule ad-law: 国家级", hits: []Hit{{"ad-law", "block", "国家级"}}}},
		{name: "ad-law term in the title blocks", in: Input{Now: now, Rendered: rendered("正文")},
			ann:  groupcast.Announcement{Title: "最佳选择"},
			want: want{action: Block, reason: "rule ad-law: 最佳"}},
		{name: "ad-law term in a link title blocks", in: Input{Now: now, Rendered: groupcast.Rendered{Text: "见链接", Links: []groupcast.Link{{Title: "顶级体验", URL: "https://example.com"}}}},
			want: want{action: Block, reason: "rule ad-law: 顶级"}},
		{name: "urgent is blocked too", in: Input{Now: now, Rendered: rendered("绝对正品")},
			ann:  groupcast.Announcement{Priority: groupcast.PriorityUrgent},
			want: want{action: Block, reason: "rule ad-law: 绝对正品"}},
		{name: "ordinal 第一 is allowed", in: Input{Now: now, Rendered: rendered("第一步：登录；第一时间通知大家")},
			want: want{action: Send, limit: 3, counts: true}},
		{name: "claim 第一 blocks", in: Input{Now: now, Rendered: rendered("行业第一")},
			want: want{action: Block, reason: "rule ad-law: 行业第一"}},
		{name: "allowed phrase does not hide a claim after it", in: Input{Now: now, Rendered: rendered("第一步：选全网第一")},
			want: want{action: Block, reason: "rule ad-law: 全网第一", hits: []Hit{{"ad-law", "block", "全网第一"}}}},
		{name: "full-width 100% blocks", in: Input{Now: now, Rendered: rendered("１００％有效")},
			want: want{action: Block, reason: "rule ad-law: 100%有效"}},
		{name: "Latin is case-insensitive", in: Input{Now: now, Rendered: rendered("销量 No.1 的产品")},
			want: want{action: Block, reason: "rule ad-law: NO.1"}},
		{name: "several terms listed, up to three", in: Input{Now: now, Rendered: rendered("最佳、顶级、最强、万能")},
			want: want{action: Block, reason: "rule ad-law: 最佳, 顶级, 最强, …"}},
		{name: "mask replaces each character", in: Input{Now: now, Rendered: rendered("有问题加微信 abc，或加V")},
			want: want{action: Send, limit: 3, counts: true, text: "有问题*** abc，或**",
				hits: []Hit{{"pattern-2", "mask", "加微信"}, {"pattern-2", "mask", "加V"}}}},
		{name: "mask keeps other text and repeats", in: Input{Now: now, Rendered: rendered("加微信加微信")},
			want: want{action: Send, limit: 3, counts: true, text: "******", hits: []Hit{{"pattern-2", "mask", "加微信"}}}},
		{name: "review holds", in: Input{Now: now, Rendered: rendered("这是内部资料")},
			want: want{action: Hold, reason: "review: rule terms-1: 内部资料", hits: []Hit{{"terms-1", "review", "内部资料"}}}},
		{name: "review approved sends", in: Input{Now: now, Approved: true, Rendered: rendered("这是内部资料")},
			want: want{action: Send, limit: 3, counts: true, hits: []Hit{{"terms-1", "review", "内部资料"}}}},
		{name: "approved still waits for the window", in: Input{Now: at("2026-11-26 10:00"), Approved: true, Rendered: rendered("仅限内部")},
			want: want{action: Defer, notBefore: "2026-11-26 12:00", reason: "window:", hits: []Hit{{"terms-1", "review", "仅限内部"}}}},
		{name: "approved still capped", in: Input{Now: now, Approved: true, SentToday: 3, Rendered: rendered("仅限内部")},
			want: want{action: Defer, notBefore: "2026-11-27 08:00", reason: "daily_cap:"}},
		{name: "block beats review and mask", in: Input{Now: now, Rendered: rendered("内部资料：最佳，加微信")},
			want: want{action: Block, reason: "rule ad-law: 最佳", hits: []Hit{{"ad-law", "block", "最佳"}, {"terms-1", "review", "内部资料"}, {"pattern-2", "mask", "加微信"}}}},
		{name: "review beats mask, text unmasked", in: Input{Now: now, Rendered: rendered("内部资料，加微信")},
			want: want{action: Hold, reason: "review: rule terms-1", text: "内部资料，加微信"}},
		{name: "approved review then masks", in: Input{Now: now, Approved: true, Rendered: rendered("内部资料，加微信")},
			want: want{action: Send, limit: 3, counts: true, text: "内部资料，***"}},

		// Mix.
		{name: "first promotion in the window fits", in: Input{Now: now},
			ann:  groupcast.Announcement{Category: groupcast.CategoryPromotion},
			want: want{action: Send, limit: 3, counts: true}},
		{name: "promotion within its share", in: Input{Now: now, Recent: noticesAndOne(groupcast.CategoryPromotion, 100*time.Hour, 19, now)},
			ann:  groupcast.Announcement{Category: groupcast.CategoryPromotion},
			want: want{action: Send, limit: 3, counts: true}},
		{name: "promotion over its share waits at most a day", in: Input{Now: now, Recent: noticesAndOne(groupcast.CategoryPromotion, 100*time.Hour, 8, now)},
			ann:  groupcast.Announcement{Category: groupcast.CategoryPromotion},
			want: want{action: Defer, notBefore: "2026-11-27 08:00", reason: "mix: promotion 2/10 over 168h exceeds 0.10, fits 11-27 08:00"}},
		{name: "promotion fits when the old one leaves, in a window", in: Input{Now: now, Recent: noticesAndOne(groupcast.CategoryPromotion, 160*time.Hour, 8, now)},
			ann:  groupcast.Announcement{Category: groupcast.CategoryPromotion},
			want: want{action: Defer, notBefore: "2026-11-26 20:30", reason: "mix: promotion 2/10 over 168h exceeds 0.10, fits 20:30"}},
		{name: "promotion fits once out of the window's hours", in: Input{Now: now, Recent: noticesAndOne(groupcast.CategoryPromotion, 166*time.Hour, 8, now)},
			ann:  groupcast.Announcement{Category: groupcast.CategoryPromotion},
			want: want{action: Defer, notBefore: "2026-11-26 19:00", reason: "mix: promotion 2/10"}},
		{name: "deliveries older than the window do not count", in: Input{Now: now, Recent: noticesAndOne(groupcast.CategoryPromotion, 168*time.Hour, 8, now)},
			ann:  groupcast.Announcement{Category: groupcast.CategoryPromotion},
			want: want{action: Send, limit: 3, counts: true}},
		{name: "interaction over 0.20", in: Input{Now: now, Recent: noticesAndOne(groupcast.CategoryInteraction, 2*time.Hour, 3, now)},
			ann:  groupcast.Announcement{Category: groupcast.CategoryInteraction},
			want: want{action: Defer, reason: "mix: interaction 2/5 over 168h exceeds 0.20", notBefore: "2026-11-27 08:00"}},
		{name: "interaction within 0.20", in: Input{Now: now, Recent: noticesAndOne(groupcast.CategoryInteraction, 2*time.Hour, 9, now)},
			ann:  groupcast.Announcement{Category: groupcast.CategoryInteraction},
			want: want{action: Send, limit: 3, counts: true}},
		{name: "notices are not limited", in: Input{Now: now, Recent: noticesAndOne(groupcast.CategoryNotice, 2*time.Hour, 0, now)},
			want: want{action: Send, limit: 3, counts: true}},
		{name: "urgent promotion ignores the mix", in: Input{Now: now, Recent: noticesAndOne(groupcast.CategoryPromotion, time.Hour, 0, now)},
			ann:  groupcast.Announcement{Category: groupcast.CategoryPromotion, Priority: groupcast.PriorityUrgent},
			want: want{action: Send, limit: 0, counts: true}},
		{name: "cap comes before mix", in: Input{Now: now, SentToday: 3, Recent: noticesAndOne(groupcast.CategoryPromotion, time.Hour, 0, now)},
			ann:  groupcast.Announcement{Category: groupcast.CategoryPromotion},
			want: want{action: Defer, reason: "daily_cap:", notBefore: "2026-11-27 08:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ann := tt.ann
			if ann.Category == "" {
				ann.Category = groupcast.CategoryNotice
			}
			if ann.Priority == "" {
				ann.Priority = groupcast.PriorityNormal
			}
			in := tt.in
			in.Announcement = &ann
			if in.Rendered.Text == "" && in.Rendered.Links == nil {
				in.Rendered = rendered("12月1日凌晨系统维护，服务暂停两小时。")
			}
			got := pol.Decide(in)
			checkDecision(t, sh, got, tt.want.action, tt.want.notBefore, tt.want.reason)
			if tt.want.action == Send {
				if got.Limit != tt.want.limit || got.CountsToCap != tt.want.counts {
					t.Errorf("Limit, CountsToCap = %d, %v; want %d, %v", got.Limit, got.CountsToCap, tt.want.limit, tt.want.counts)
				}
			} else if got.CountsToCap || got.Limit != 0 {
				t.Errorf("a %v must not count toward the cap: %+v", got.Action, got)
			}
			if tt.want.text != "" && got.Rendered.Text != tt.want.text {
				t.Errorf("Rendered.Text = %q, want %q", got.Rendered.Text, tt.want.text)
			}
			if tt.want.hits != nil && !reflect.DeepEqual(got.Hits, tt.want.hits) {
				t.Errorf("Hits = %+v, want %+v", got.Hits, tt.want.hits)
			}
			if again := pol.Decide(in); !reflect.DeepEqual(again, got) {
				t.Errorf("Decide is not pure: %+v then %+v", got, again)
			}
		})
	}
}

func checkDecision(t *testing.T, loc *time.Location, got Decision, action Action, notBefore, reason string) {
	t.Helper()
	if got.Action != action {
		t.Fatalf("Action = %v (%q), want %v", got.Action, got.Reason, action)
	}
	switch {
	case notBefore == "" && !got.NotBefore.IsZero():
		t.Errorf("NotBefore = %v, want none", got.NotBefore)
	case notBefore != "":
		want := clock(t, loc, notBefore)
		if !got.NotBefore.Equal(want) {
			t.Errorf("NotBefore = %v, want %v", got.NotBefore, want)
		}
		if got.NotBefore.Location() != loc {
			t.Errorf("NotBefore in %v, want %v", got.NotBefore.Location(), loc)
		}
	}
	switch {
	case reason == "" && got.Reason != "":
		t.Errorf("Reason = %q, want none", got.Reason)
	case !strings.HasPrefix(got.Reason, reason):
		t.Errorf("Reason = %q, want prefix %q", got.Reason, reason)
	}
}

func TestDecideOneStyleOnly(t *testing.T) {
	// The same announcement rendered by two styles: the term survives only
	// in the long one, so only that target is blocked.
	pol := mustCompile(t, specPolicy(), time.UTC)
	ann := &groupcast.Announcement{Title: "新品上架", Category: groupcast.CategoryPromotion, Priority: groupcast.PriorityUrgent}
	long := pol.Decide(Input{Announcement: ann, Now: time.Now(), Rendered: rendered("新品上架。详情：我们的首创工艺……")})
	short := pol.Decide(Input{Announcement: ann, Now: time.Now(), Rendered: rendered("新品上架。详情见链接")})
	if long.Action != Block || short.Action != Send {
		t.Fatalf("long %v (%s), short %v; want block, send", long.Action, long.Reason, short.Action)
	}
}

func TestDecideMaskDoesNotTouchInput(t *testing.T) {
	pol := mustCompile(t, configs.Policy{Rules: []configs.Rule{{Terms: []string{"秘密"}, Action: "mask"}}}, time.UTC)
	r := groupcast.Rendered{
		Title:  "秘密会议",
		Text:   "关于秘密的说明",
		Links:  []groupcast.Link{{Title: "秘密链接", URL: "https://example.com/a"}},
		Images: []groupcast.Image{{URL: "https://example.com/b.png", Alt: "秘密图"}},
	}
	got := pol.Decide(Input{Announcement: &groupcast.Announcement{Title: "秘密会议"}, Rendered: r, Now: time.Now()})
	if got.Action != Send {
		t.Fatalf("Action = %v", got.Action)
	}
	w := got.Rendered
	if w.Title != "**会议" || w.Text != "关于**的说明" || w.Links[0].Title != "**链接" || w.Images[0].Alt != "**图" {
		t.Errorf("masked = %+v", w)
	}
	if w.Links[0].URL != "https://example.com/a" {
		t.Errorf("URL changed: %q", w.Links[0].URL)
	}
	if r.Links[0].Title != "秘密链接" || r.Images[0].Alt != "秘密图" {
		t.Errorf("input modified: %+v", r)
	}
	if len(got.Hits) != 1 {
		t.Errorf("Hits = %+v, want one (deduplicated across fields)", got.Hits)
	}
}

func TestDecideNoPolicyKnobs(t *testing.T) {
	// An empty policy sends everything at once and counts nothing.
	pol := mustCompile(t, configs.Policy{Name: "open"}, nil)
	d := pol.Decide(Input{Announcement: &groupcast.Announcement{Category: groupcast.CategoryPromotion},
		Now: time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC), SentToday: 100,
		Recent: []Delivery{{At: time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC), Category: groupcast.CategoryPromotion}}})
	if d.Action != Send || d.CountsToCap || d.Limit != 0 || d.Hits != nil {
		t.Fatalf("got %+v", d)
	}
	// A nil announcement is a plain notice, not a crash.
	if d := pol.Decide(Input{Now: time.Now()}); d.Action != Send {
		t.Fatalf("nil announcement: %+v", d)
	}
}

func TestMixBlock(t *testing.T) {
	c := configs.Policy{Mix: configs.Mix{Promotion: 0.1, Action: "block"}}
	pol := mustCompile(t, c, time.UTC)
	if pol.MixWindow() != DefaultMixWindow {
		t.Fatalf("MixWindow = %v, want the default %v", pol.MixWindow(), DefaultMixWindow)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	d := pol.Decide(Input{Announcement: &groupcast.Announcement{Category: groupcast.CategoryPromotion}, Now: now,
		Recent: []Delivery{{At: now.Add(-time.Hour), Category: groupcast.CategoryPromotion}}})
	checkDecision(t, time.UTC, d, Block, "", "mix: promotion 2/2 over 168h exceeds 0.10")
}

func TestMixDeferExact(t *testing.T) {
	// No windows: the deferral is the exact instant the share fits, found by
	// letting the oldest deliveries leave the window one by one. Here 2
	// promotions and 11 notices over 24h: a third promotion is 3/14 > 0.2;
	// the oldest notice leaving (14:00) makes it 3/13, worse; when the older
	// promotion leaves (16:00), 2/12 fits.
	c := configs.Policy{Mix: configs.Mix{Promotion: 0.2, Window: 24 * time.Hour}}
	pol := mustCompile(t, c, time.UTC)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var recent []Delivery
	for i := range 10 {
		recent = append(recent, Delivery{At: now.Add(-time.Duration(i+1) * time.Minute), Category: groupcast.CategoryNotice})
	}
	recent = append(recent,
		Delivery{At: now.Add(-20 * time.Hour), Category: groupcast.CategoryPromotion},
		Delivery{At: now.Add(-22 * time.Hour), Category: groupcast.CategoryNotice}, // leaves first: makes it worse
		Delivery{At: now.Add(-2 * time.Hour), Category: groupcast.CategoryPromotion},
	)
	d := pol.Decide(Input{Announcement: &groupcast.Announcement{Category: groupcast.CategoryPromotion}, Now: now, Recent: recent})
	checkDecision(t, time.UTC, d, Defer, "2026-11-26T16:00:00Z", "mix: promotion 3/14 over 24h exceeds 0.20, fits 16:00")
}

func TestEarliest(t *testing.T) {
	sh := mustLoc(t, "Asia/Shanghai")
	pol := mustCompile(t, specPolicy(), sh)
	ann := &groupcast.Announcement{Category: groupcast.CategoryNotice, Priority: groupcast.PriorityNormal}
	tests := []struct {
		name, now string
		sent      int
		text      string
		want      string // "" for not ok
	}{
		{"now", "2026-11-26 08:10", 0, "ok", "2026-11-26 08:10"},
		{"next window", "2026-11-26 10:00", 0, "ok", "2026-11-26 12:00"},
		{"window then cap resets next day", "2026-11-26 15:00", 3, "ok", "2026-11-27 08:00"},
		{"cap inside a window", "2026-11-26 12:10", 3, "ok", "2026-11-27 08:00"},
		{"blocked", "2026-11-26 12:10", 0, "最佳", ""},
		{"held", "2026-11-26 12:10", 0, "内部资料", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, ok := pol.Earliest(Input{Announcement: ann, Now: clock(t, sh, tt.now), SentToday: tt.sent, Rendered: rendered(tt.text)})
			if tt.want == "" {
				if ok {
					t.Fatalf("Earliest = %v, want not ok", at)
				}
				return
			}
			if want := clock(t, sh, tt.want); !ok || !at.Equal(want) {
				t.Fatalf("Earliest = %v, %v; want %v", at, ok, want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		c    configs.Policy
		want []string // each must appear in the error
	}{
		{"bad window", configs.Policy{Windows: []string{"08:00-09:00", "8-9"}}, []string{`windows[1]: "8-9"`}},
		{"window hour", configs.Policy{Windows: []string{"25:00-26:00"}}, []string{"windows[0]:", "hour past 23"}},
		{"window minutes", configs.Policy{Windows: []string{"08:60-09:00"}}, []string{"windows[0]:", "minutes past 59"}},
		{"window start 24", configs.Policy{Windows: []string{"24:00-01:00"}}, []string{"windows[0]:"}},
		{"window end past 24", configs.Policy{Windows: []string{"23:00-24:01"}}, []string{"windows[0]:"}},
		{"empty window", configs.Policy{Windows: []string{"08:00-08:00"}}, []string{"windows[0]:", "00:00-24:00"}},
		{"window letters", configs.Policy{Windows: []string{"ab:cd-ef:gh"}}, []string{"windows[0]:"}},
		{"negative caps", configs.Policy{DailyCap: configs.DailyCap{New: -1, Mature: -2}}, []string{"daily_cap.new:", "daily_cap.mature:"}},
		{"negative mature_after", configs.Policy{MatureAfter: -time.Hour}, []string{"mature_after:"}},
		{"bad pattern", configs.Policy{Rules: []configs.Rule{{Pattern: "(", Action: "block"}}}, []string{"rules[0].pattern: error parsing regexp"}},
		{"empty-matching pattern", configs.Policy{Rules: []configs.Rule{{Pattern: "a*", Action: "mask"}}}, []string{"rules[0].pattern:", "empty string"}},
		{"unknown preset", configs.Policy{Rules: []configs.Rule{{Preset: "nope", Action: "block"}}}, []string{`rules[0].preset: unknown preset "nope" (known: ad-law)`}},
		{"no kind", configs.Policy{Rules: []configs.Rule{{Action: "block"}}}, []string{"rules[0]: exactly one of preset, terms, pattern"}},
		{"two kinds", configs.Policy{Rules: []configs.Rule{{Preset: "ad-law", Pattern: "x", Action: "block"}}}, []string{"rules[0]: exactly one"}},
		{"empty terms", configs.Policy{Rules: []configs.Rule{{Terms: []string{}, Action: "block"}}}, []string{"rules[0].terms: empty list"}},
		{"blank term", configs.Policy{Rules: []configs.Rule{{Terms: []string{"a", " "}, Action: "block"}}}, []string{"rules[0].terms[1]: empty term"}},
		{"invalid utf8 term", configs.Policy{Rules: []configs.Rule{{Terms: []string{"\xff"}, Action: "block"}}}, []string{"rules[0].terms[0]: not valid UTF-8"}},
		{"missing action", configs.Policy{Rules: []configs.Rule{{Terms: []string{"a"}}}}, []string{"rules[0].action: required"}},
		{"bad action", configs.Policy{Rules: []configs.Rule{{Terms: []string{"a"}, Action: "drop"}}}, []string{`rules[0].action: "drop"`}},
		{"duplicate name", configs.Policy{Rules: []configs.Rule{{Name: "x", Terms: []string{"a"}, Action: "mask"}, {Name: "x", Terms: []string{"b"}, Action: "mask"}}},
			[]string{`rules[1].name: "x" is already the name of rules[0]`}},
		{"mix shares", configs.Policy{Mix: configs.Mix{Promotion: 1.5, Interaction: -0.1}}, []string{"mix.promotion:", "mix.interaction:"}},
		{"mix window", configs.Policy{Mix: configs.Mix{Window: -time.Hour}}, []string{"mix.window:"}},
		{"mix action", configs.Policy{Mix: configs.Mix{Action: "drop"}}, []string{"mix.action:"}},
		{"every problem at once", configs.Policy{Windows: []string{"x"}, Rules: []configs.Rule{{Pattern: "[", Action: "x"}}},
			[]string{"windows[0]:", "rules[0].action:", "rules[0].pattern:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.c, time.UTC)
			if err == nil {
				t.Fatal("Compile succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var fe *groupcast.FieldError
			if !errorsAs(err, &fe) {
				t.Errorf("error %T is not a *groupcast.FieldError", err)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	c := configs.Policy{
		Windows: []string{"8:00-9:00", "22:00-02:00", "20:00-24:00", "00:00-24:00", " 12:00 - 14:00 "},
		Rules: []configs.Rule{
			{Name: "ads", Preset: "ad-law", Action: "block"},
			{Terms: []string{"a"}, Action: "review"},
			{Pattern: `\d{11}`, Action: "mask"},
		},
		Mix: configs.Mix{Promotion: 1, Action: "defer"},
	}
	pol := mustCompile(t, c, time.UTC)
	var names []string
	for _, r := range pol.rules {
		names = append(names, r.name)
	}
	if got := strings.Join(names, ","); got != "ads,terms-1,pattern-2" {
		t.Errorf("rule names = %s", got)
	}
	if got := pol.windows[0].String() + " " + pol.windows[1].String() + " " + pol.windows[2].String(); got != "08:00-09:00 22:00-02:00 20:00-24:00" {
		t.Errorf("windows = %s", got)
	}
}
