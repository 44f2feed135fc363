package policy

import (
	"strings"
	"testing"

	"github.com/groupcast/groupcast"
)

// benchText is a realistic long-style notice, about 600 characters.
var benchText = strings.Repeat("【系统维护通知】各位同事：为提升服务稳定性，运维中心定于12月1日凌晨02:00至04:00进行数据库升级，"+
	"届时订单查询、报表导出将暂停服务。请提前做好安排，如有疑问请联系值班同学。详情：https://status.example.com/maint\n", 5)

func benchInput(b *testing.B, text, clockAt string) (*Policy, Input) {
	sh := mustLoc(b, "Asia/Shanghai")
	pol := mustCompile(b, specPolicy(), sh)
	now := clock(b, sh, clockAt)
	in := Input{
		Announcement: &groupcast.Announcement{Title: "系统维护通知", Category: groupcast.CategoryNotice, Priority: groupcast.PriorityNormal},
		Destination:  groupcast.Destination{Account: "qq-main", Group: "123456789"},
		Rendered:     groupcast.Rendered{Style: "long", Title: "系统维护通知", Text: text, Links: []groupcast.Link{{Title: "维护详情", URL: "https://status.example.com/maint"}}},
		Now:          now, SentToday: 1,
	}
	return pol, in
}

// BenchmarkDecide is the common path: clean text, inside a window, under
// the cap: every rule scans every text and the answer is Send.
func BenchmarkDecide(b *testing.B) {
	pol, in := benchInput(b, benchText, "2026-11-26 12:30")
	b.ReportAllocs()
	for b.Loop() {
		if d := pol.Decide(in); d.Action != Send {
			b.Fatal(d.Action)
		}
	}
}

// BenchmarkDecideMask has a mask hit: the rendered text is rewritten.
func BenchmarkDecideMask(b *testing.B) {
	pol, in := benchInput(b, benchText+"有问题加微信", "2026-11-26 12:30")
	b.ReportAllocs()
	for b.Loop() {
		if d := pol.Decide(in); d.Action != Send || len(d.Hits) != 1 {
			b.Fatal(d.Action)
		}
	}
}

// BenchmarkDecideDefer is outside the windows: the reason is formatted.
func BenchmarkDecideDefer(b *testing.B) {
	pol, in := benchInput(b, benchText, "2026-11-26 10:00")
	b.ReportAllocs()
	for b.Loop() {
		if d := pol.Decide(in); d.Action != Defer {
			b.Fatal(d.Action)
		}
	}
}
