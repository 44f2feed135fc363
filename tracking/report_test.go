package tracking

import (
	"testing"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

func TestBuildReport(t *testing.T) {
	tg := func(platform, account, group, variant string, s groupcast.State) groupcast.Target {
		return groupcast.Target{Route: "ops", Platform: platform, Account: account, Group: group, Variant: variant, State: s}
	}
	key := func(account, group string) string { return groupcast.Destination{Account: account, Group: group}.Key() }
	st := groupcast.Status{ID: "ab-1", Title: "周报", Targets: []groupcast.Target{
		tg("qq", "qq", "1001", "A", groupcast.StateDelivered),
		tg("qq", "qq", "1002", "B", groupcast.StateDelivered),
		tg("wechat", "wx", "运维群", "A", groupcast.StateRecalled), // delivered, then recalled
		tg("dingtalk", "dt", "dt", "B", groupcast.StateFailed),
	}}
	links := map[string]store.TrackedLink{
		"A1qq10010000": {Target: key("qq", "1001"), Platform: "qq", Variant: "A", URL: "https://a.example.com"},
		"A2qq10010000": {Target: key("qq", "1001"), Platform: "qq", Variant: "A", URL: "https://b.example.com"},
		"B1qq10020000": {Target: key("qq", "1002"), Platform: "qq", Variant: "B", URL: "https://a.example.com"},
		"A1wx00000000": {Target: key("wx", "运维群"), Platform: "wechat", Variant: "A", URL: "https://a.example.com"},
	}
	clicks := map[string]uint64{"A1qq10010000": 3, "A2qq10010000": 1, "B1qq10020000": 2, "A1wx00000000": 1, "gone00000000": 4}
	r := BuildReport(st, true, clicks, links)
	if r.ID != "ab-1" || !r.Tracked || r.Delivered != 3 || r.Clicks != 11 || r.ClickRate != 11.0/3 {
		t.Fatalf("totals: delivered %d clicks %d rate %v", r.Delivered, r.Clicks, r.ClickRate)
	}
	want := []struct {
		group     string
		delivered int
		clicks    uint64
		links     int
	}{{"1001", 1, 4, 2}, {"1002", 1, 2, 1}, {"运维群", 1, 1, 1}, {"dt", 0, 0, 0}}
	for i, w := range want {
		g := r.ByTarget[i]
		if g.Group != w.group || g.Delivered != w.delivered || g.Clicks != w.clicks || len(g.Links) != w.links {
			t.Errorf("by_target[%d] = %+v, want %+v", i, g, w)
		}
	}
	wantFig := func(got []Figures, want []Figures) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("figures %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("figures[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
	}
	wantFig(r.ByVariant, []Figures{{Name: "A", Targets: 2, Delivered: 2, Clicks: 5, ClickRate: 2.5}, {Name: "B", Targets: 2, Delivered: 1, Clicks: 2, ClickRate: 2}})
	wantFig(r.ByPlatform, []Figures{{Name: "dingtalk", Targets: 1}, {Name: "qq", Targets: 2, Delivered: 2, Clicks: 6, ClickRate: 3},
		{Name: "wechat", Targets: 1, Delivered: 1, Clicks: 1, ClickRate: 1}})

	empty := BuildReport(groupcast.Status{ID: "x"}, false, nil, nil)
	if empty.ClickRate != 0 || empty.ByTarget == nil || empty.ByVariant == nil || empty.ByPlatform == nil {
		t.Fatalf("empty report %+v: want zero rate and empty lists, not null", empty)
	}
}
