package policy

import (
	"strings"
	"testing"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
)

// TestAutoCap: GroupState.AutoCap lowers the stage's cap only under a
// policy with daily_cap.auto, from its day on, and never raises it.
func TestAutoCap(t *testing.T) {
	loc := mustLoc(t, "Asia/Shanghai")
	now := clock(t, loc, "2026-11-26 10:00")
	a := &groupcast.Announcement{Category: groupcast.CategoryNotice, Priority: groupcast.PriorityNormal}
	for _, tt := range []struct {
		name   string
		auto   bool
		g      GroupState
		sent   int
		action Action
		limit  int64
		reason string
	}{
		{"lowered, under it", true, GroupState{AutoCap: 2, AutoDay: "20261126"}, 1, Send, 2, ""},
		{"lowered, at it", true, GroupState{AutoCap: 2, AutoDay: "20261126"}, 2, Defer, 0, "daily_cap: 2/2 for new group, lowered by daily_cap.auto"},
		{"set on an earlier day, still in force", true, GroupState{AutoCap: 1, AutoDay: "20261120"}, 1, Defer, 0, "1/1"},
		{"set for tomorrow: not yet", true, GroupState{AutoCap: 1, AutoDay: "20261127"}, 1, Send, 3, ""},
		{"policy without auto ignores it", false, GroupState{AutoCap: 1, AutoDay: "20261126"}, 1, Send, 3, ""},
		{"never above the stage's cap", true, GroupState{AutoCap: 9, AutoDay: "20261126"}, 2, Send, 3, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, configs.Policy{Name: "p", DailyCap: configs.DailyCap{New: 3, Mature: 3, Auto: tt.auto}}, loc)
			g := tt.g
			g.Day, g.Sent = p.DayKey(now), tt.sent
			in := Input{Announcement: a, Destination: groupcast.Destination{Group: "1"}, Rendered: rendered("x"), Now: now}
			p.Fill(&in, g)
			d := p.Decide(in)
			if d.Action != tt.action || d.Limit != tt.limit || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("decision %v limit %d %q, want %v limit %d %q", d.Action, d.Limit, d.Reason, tt.action, tt.limit, tt.reason)
			}
		})
	}
}

// TestTakeKeepsHistory: a new day moves the last day's count to the
// history (bounded), and SentOn reads either.
func TestTakeKeepsHistory(t *testing.T) {
	loc := mustLoc(t, "Asia/Shanghai")
	p := mustCompile(t, configs.Policy{Name: "p", DailyCap: configs.DailyCap{New: 2}}, loc)
	var g GroupState
	day := clock(t, loc, "2026-08-01 10:00")
	for i := range MaxHistory + 5 {
		now := day.AddDate(0, 0, i)
		if !p.Take(&g, groupcast.CategoryNotice, now, 2) || !p.Take(&g, groupcast.CategoryNotice, now, 2) {
			t.Fatalf("day %d: slot refused under the cap", i)
		}
		if p.Take(&g, groupcast.CategoryNotice, now, 2) {
			t.Fatalf("day %d: a third slot under cap 2", i)
		}
	}
	if len(g.History) != MaxHistory {
		t.Errorf("history of %d days, want %d", len(g.History), MaxHistory)
	}
	last := day.AddDate(0, 0, MaxHistory+4)
	if got := g.SentOn(p.DayKey(last)); got != 2 {
		t.Errorf("today %d, want 2", got)
	}
	if got := g.SentOn(p.DayKey(last.AddDate(0, 0, -1))); got != 2 {
		t.Errorf("yesterday %d, want 2", got)
	}
	if got := g.SentOn(p.DayKey(day)); got != 0 {
		t.Errorf("a day past the history %d, want 0 (dropped)", got)
	}
	// The next day the count starts again and the history stays bounded.
	p.Take(&g, groupcast.CategoryNotice, last.AddDate(0, 0, 1), 0)
	if g.Sent != 1 || len(g.History) != MaxHistory || g.History[MaxHistory-1].Day != p.DayKey(last) {
		t.Errorf("after a new day: sent %d, history %d ending %v", g.Sent, len(g.History), g.History[len(g.History)-1])
	}
}
