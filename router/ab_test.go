package router_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

func abDests(routes map[string]int) []groupcast.Destination {
	var out []groupcast.Destination
	for r, n := range routes {
		for g := range n {
			out = append(out, groupcast.Destination{Route: r, Account: "qq", Group: fmt.Sprintf("%s-group-%d", r, g)})
		}
	}
	return out
}

func abAnnouncement(id string, n int) *groupcast.Announcement {
	a := &groupcast.Announcement{ID: id, Title: "t", Body: "b", AB: &groupcast.AB{By: groupcast.ABByGroup}}
	for i := range n {
		a.Variants = append(a.Variants, groupcast.Variant{Name: string(rune('A' + i))})
	}
	return a
}

// By group, each route's groups are split as evenly as can be (counts
// differ by at most one) whatever the number of groups, and the same
// group of the same announcement always gets the same variant.
func TestABBalancedAndStable(t *testing.T) {
	for _, c := range []struct{ groups, variants int }{
		{1, 2}, {2, 2}, {3, 2}, {7, 2}, {10, 2}, {5, 3}, {9, 3}, {100, 2}, {101, 4},
	} {
		t.Run(fmt.Sprintf("%d groups %d variants", c.groups, c.variants), func(t *testing.T) {
			for _, id := range []string{"ab-1", "ab-2", "weekly-2026-48"} {
				dests := abDests(map[string]int{"r1": c.groups, "r2": c.groups + 1})
				router.AssignVariants(abAnnouncement(id, c.variants), dests, time.Now(), time.UTC)
				counts := map[string]map[string]int{}
				first := map[string]string{}
				for _, d := range dests {
					if d.Variant == "" {
						t.Fatalf("%s: no variant", d.Group)
					}
					if counts[d.Route] == nil {
						counts[d.Route] = map[string]int{}
					}
					counts[d.Route][d.Variant]++
					first[d.Key()] = d.Variant
				}
				for r, byVariant := range counts {
					lo, hi := len(dests), 0
					for i := range c.variants {
						n := byVariant[string(rune('A'+i))]
						lo, hi = min(lo, n), max(hi, n)
					}
					if hi-lo > 1 {
						t.Errorf("%s route %s: counts %v differ by more than one", id, r, byVariant)
					}
				}
				// Again, with the destinations in another order: the same answer.
				again := abDests(map[string]int{"r2": c.groups + 1, "r1": c.groups})
				for i, j := 0, len(again)-1; i < j; i, j = i+1, j-1 {
					again[i], again[j] = again[j], again[i]
				}
				router.AssignVariants(abAnnouncement(id, c.variants), again, time.Now().Add(time.Hour), time.UTC)
				for _, d := range again {
					if first[d.Key()] != d.Variant {
						t.Errorf("%s %s: variant %s, then %s", id, d.Group, first[d.Key()], d.Variant)
					}
				}
			}
		})
	}
}

// Which groups get A changes from one announcement to the next (the hash
// takes the id), so no group always sees the same wording.
func TestABVariesAcrossAnnouncements(t *testing.T) {
	dests := abDests(map[string]int{"r": 20})
	router.AssignVariants(abAnnouncement("one", 2), dests, time.Now(), time.UTC)
	other := abDests(map[string]int{"r": 20})
	router.AssignVariants(abAnnouncement("two", 2), other, time.Now(), time.UTC)
	same := 0
	for i := range dests {
		if dests[i].Variant == other[i].Variant {
			same++
		}
	}
	if same == len(dests) {
		t.Fatal("two announcements split the groups the same way")
	}
}

func TestABBySlotTimes(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	a := abAnnouncement("slot", 2)
	a.AB = &groupcast.AB{By: groupcast.ABBySlot, Slots: []string{"08:30", "12:30"}}
	sendAt := time.Date(2026, 12, 1, 10, 0, 0, 0, sh)
	for _, c := range []struct {
		name   string
		now    time.Time
		sendAt *time.Time
		want   map[string]time.Time
	}{
		{"morning", time.Date(2026, 12, 1, 7, 0, 0, 0, sh), nil,
			map[string]time.Time{"A": time.Date(2026, 12, 1, 8, 30, 0, 0, sh), "B": time.Date(2026, 12, 1, 12, 30, 0, 0, sh)}},
		{"between the slots", time.Date(2026, 12, 1, 9, 0, 0, 0, sh), nil,
			map[string]time.Time{"A": time.Date(2026, 12, 2, 8, 30, 0, 0, sh), "B": time.Date(2026, 12, 1, 12, 30, 0, 0, sh)}},
		{"after send_at", time.Date(2026, 11, 30, 9, 0, 0, 0, sh), &sendAt,
			map[string]time.Time{"A": time.Date(2026, 12, 2, 8, 30, 0, 0, sh), "B": time.Date(2026, 12, 1, 12, 30, 0, 0, sh)}},
		{"late evening, UTC clock", time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), nil, // 23:00 in Shanghai
			map[string]time.Time{"A": time.Date(2026, 12, 2, 8, 30, 0, 0, sh), "B": time.Date(2026, 12, 2, 12, 30, 0, 0, sh)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a.SendAt = c.sendAt
			dests := abDests(map[string]int{"r": 4})
			router.AssignVariants(a, dests, c.now, sh)
			n := map[string]int{}
			for _, d := range dests {
				n[d.Variant]++
				if d.SendAt == nil || !d.SendAt.Equal(c.want[d.Variant]) {
					t.Errorf("%s variant %s: send_at %v, want %v", d.Group, d.Variant, d.SendAt, c.want[d.Variant])
				}
			}
			if n["A"] != 2 || n["B"] != 2 {
				t.Errorf("split %v, want 2 and 2", n)
			}
		})
	}
}

// End to end: each group receives its variant's wording, and each
// target's status says which.
func TestABDeliversEachGroupItsVariant(t *testing.T) {
	dir := t.TempDir()
	yaml := fmt.Sprintf(`
store: {driver: memory}
accounts:
  - {name: qq, platform: qq, driver: file, path: %s/qq.jsonl}
routes:
  - name: ops
    match: {tags: [ops]}
    targets: [{account: qq, style: long, groups: ["1001", "1002", "1003", "1004"]}]
`, dir)
	h := start(t, yaml, store.DriverMemory, "")
	md := `---
id: ab-e2e
title: 原标题
tags: [ops]
variants:
  - {name: A, title: 标题甲}
  - {name: B, title: 标题乙, body: 乙的正文}
---
共同的正文`
	acc, err := h.svc.Submit(context.Background(), parse(t, md))
	if err != nil {
		t.Fatal(err)
	}
	variantOf := map[string]string{}
	for _, tg := range acc.Targets {
		variantOf[tg.Group] = tg.Variant
	}
	st := h.waitFor("ab-e2e", "delivered", allIn(groupcast.StateDelivered))
	n := map[string]int{}
	for _, tg := range st.Targets {
		if tg.Variant != variantOf[tg.Group] || tg.Variant == "" {
			t.Errorf("%s: variant %q, accepted as %q", tg.Group, tg.Variant, variantOf[tg.Group])
		}
		n[tg.Variant]++
	}
	if n["A"] != 2 || n["B"] != 2 {
		t.Fatalf("split %v, want 2 and 2", n)
	}
	for _, l := range readLines(t, filepath.Join(dir, "qq.jsonl")) {
		switch variantOf[l.Group] {
		case "A":
			if !strings.Contains(l.Text, "标题甲") || !strings.Contains(l.Text, "共同的正文") {
				t.Errorf("%s (A) got %q", l.Group, l.Text)
			}
		case "B":
			if !strings.Contains(l.Text, "标题乙") || !strings.Contains(l.Text, "乙的正文") || strings.Contains(l.Text, "共同的正文") {
				t.Errorf("%s (B) got %q", l.Group, l.Text)
			}
		}
	}
}

func TestPreviewShowsEveryVariant(t *testing.T) {
	cfg := loadConfig(t, `
store: {driver: memory}
accounts:
  - {name: qq, platform: qq, driver: file, path: /dev/null}
routes:
  - name: ops
    match: {}
    targets: [{account: qq, style: long, groups: ["1001"]}]
`)
	a := parse(t, "---\nid: pv\ntitle: 原标题\nvariants: [{name: A, title: 标题甲}, {name: B, title: 标题乙}]\n---\n正文")
	targets, err := router.Preview(cfg, drivers, a, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 2 {
		t.Fatalf("%d preview targets, want one per variant: %+v", len(targets), targets)
	}
	assigned := 0
	for _, pt := range targets {
		want := map[string]string{"A": "标题甲", "B": "标题乙"}[pt.Variant]
		if want == "" || len(pt.Parts) == 0 || !strings.Contains(pt.Parts[0].Text, want) {
			t.Errorf("variant %q: parts %+v", pt.Variant, pt.Parts)
		}
		if pt.Assigned {
			assigned++
		}
	}
	if assigned != 1 || !targets[0].Assigned {
		t.Errorf("want the assigned variant first and only once: %+v", targets)
	}
}

// ab.slots follow the one DST rule of schedules and series
// (docs/operations-calendar.md): a slot the spring-forward skips goes at
// the end of the gap, a slot the fall-back repeats at its first instance.
func TestABBySlotAcrossBerlinDST(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	cest, cet := time.FixedZone("CEST", 2*3600), time.FixedZone("CET", 3600)
	a := abAnnouncement("dst", 2)
	a.AB = &groupcast.AB{By: groupcast.ABBySlot, Slots: []string{"02:30", "03:00"}}
	for _, c := range []struct {
		name string
		now  time.Time
		want map[string]time.Time
	}{
		// 28 March 2027: 02:00 CET is 03:00 CEST.
		{"spring forward", time.Date(2027, 3, 28, 0, 0, 0, 0, cet),
			map[string]time.Time{"A": time.Date(2027, 3, 28, 3, 0, 0, 0, cest), "B": time.Date(2027, 3, 28, 3, 0, 0, 0, cest)}},
		// 31 October 2027: 03:00 CEST is 02:00 CET; 02:30 happens twice.
		{"fall back", time.Date(2027, 10, 31, 0, 0, 0, 0, cest),
			map[string]time.Time{"A": time.Date(2027, 10, 31, 2, 30, 0, 0, cest), "B": time.Date(2027, 10, 31, 3, 0, 0, 0, cet)}},
		{"fall back, between the two 02:30s", time.Date(2027, 10, 31, 2, 45, 0, 0, cest),
			map[string]time.Time{"A": time.Date(2027, 11, 1, 2, 30, 0, 0, cet), "B": time.Date(2027, 10, 31, 3, 0, 0, 0, cet)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a.SendAt = nil
			dests := abDests(map[string]int{"r": 2})
			router.AssignVariants(a, dests, c.now, loc)
			for _, d := range dests {
				if d.SendAt == nil || !d.SendAt.Equal(c.want[d.Variant]) {
					t.Errorf("variant %s: send_at %v, want %v", d.Variant, d.SendAt, c.want[d.Variant])
				}
			}
		})
	}
}
