package router_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// fakeClock is set by the test; Sleep moves it forward instead of waiting,
// so a pacer's waits take no real time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	c.mu.Unlock()
	return ctx.Err()
}

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

const policyConfig = `
timezone: Asia/Shanghai
store: {driver: memory}
accounts:
  - {name: s1, platform: qq, driver: scripted%s}
policies:
  - name: ops
    windows: ["08:00-09:00", "12:00-14:00", "19:00-22:00"]
    daily_cap: {new: 3, mature: 8}
    rules:
      - {preset: ad-law, action: block}
      - {terms: ["内部资料"], action: review}
      - {pattern: "加微信", action: mask}
routes:
  - name: all
    policy: ops
    targets: [{account: s1, groups: ["100"]}]
`

func submit(t *testing.T, h *harness, md string) {
	t.Helper()
	a, err := groupcast.Parse(groupcast.FormatMarkdown, []byte(md), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Submit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}

func target(st groupcast.Status) groupcast.Target { return st.Targets[0] }

func TestWindowDefersToNextStartThenDelivers(t *testing.T) {
	clock := &fakeClock{now: at("2026-11-26 10:00")}
	h := startWithClock(t, fmt.Sprintf(policyConfig, ""), store.DriverMemory, "", clock)
	submit(t, h, "---\nid: w1\ntitle: 通知\n---\n正文")
	submit(t, h, "---\nid: u1\ntitle: 紧急\npriority: urgent\n---\n正文")
	st := h.waitFor("w1", "deferred", allIn(groupcast.StateDeferred))
	if tg := target(st); tg.NotBefore == nil || !tg.NotBefore.Equal(at("2026-11-26 12:00")) || !strings.HasPrefix(tg.Reason, "window") {
		t.Fatalf("deferred target %+v, want not_before 12:00 and a window reason", tg)
	}
	h.waitFor("u1", "urgent delivered at once", allIn(groupcast.StateDelivered))
	time.Sleep(300 * time.Millisecond) // several re-examinations: still deferred
	if st := mustStatus(t, h, "w1"); target(st).State != groupcast.StateDeferred {
		t.Fatalf("delivered before the window opened: %+v", target(st))
	}
	clock.Set(at("2026-11-26 12:00"))
	h.waitFor("w1", "delivered when the window opens", allIn(groupcast.StateDelivered))
}

func mustStatus(t *testing.T, h *harness, id string) groupcast.Status {
	t.Helper()
	st, err := h.svc.Status(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDailyCapExactAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{now: at("2026-11-26 12:30")}
	cfg := strings.Replace(fmt.Sprintf(policyConfig, ""), "store: {driver: memory}", "store: {driver: embedded}", 1)
	h := startWithClock(t, cfg, store.DriverEmbedded, filepath.Join(dir, "data"), clock)
	for i := range 3 {
		submit(t, h, fmt.Sprintf("---\nid: cap-%d\ntitle: 第%d条\n---\n正文", i, i))
		h.waitFor(fmt.Sprintf("cap-%d", i), "delivered", allIn(groupcast.StateDelivered))
	}
	h.stop() // the engine goes away between announcements; the count is in the store
	h = startWithClock(t, cfg, store.DriverEmbedded, filepath.Join(dir, "data"), clock)
	for i := 3; i < 5; i++ {
		submit(t, h, fmt.Sprintf("---\nid: cap-%d\ntitle: 第%d条\n---\n正文", i, i))
		st := h.waitFor(fmt.Sprintf("cap-%d", i), "deferred by the cap", allIn(groupcast.StateDeferred))
		tg := target(st)
		if tg.NotBefore == nil || !tg.NotBefore.Equal(at("2026-11-27 08:00")) || !strings.HasPrefix(tg.Reason, "daily_cap") {
			t.Errorf("cap-%d: %+v, want deferred to tomorrow 08:00 by daily_cap", i, tg)
		}
	}
	clock.Set(at("2026-11-27 08:00"))
	h.waitFor("cap-3", "delivered the next day", allIn(groupcast.StateDelivered))
	h.waitFor("cap-4", "delivered the next day", allIn(groupcast.StateDelivered))
}

func TestContentRules(t *testing.T) {
	clock := &fakeClock{now: at("2026-11-26 12:30")}
	h := startWithClock(t, fmt.Sprintf(policyConfig, ""), store.DriverMemory, "", clock)
	submit(t, h, "---\nid: ad\ntitle: 大促\ncategory: promotion\n---\n国家级品质，限时特惠。")
	submit(t, h, "---\nid: mask\ntitle: 活动\n---\n想报名请加微信联系。")
	submit(t, h, "---\nid: rev\ntitle: 通报\n---\n本文为内部资料，请勿外传。")
	st := h.waitFor("ad", "blocked", allIn(groupcast.StateBlocked))
	if r := target(st).Reason; !strings.Contains(r, "国家级") || !strings.Contains(r, "ad-law") {
		t.Errorf("blocked reason %q should name the rule and the term", r)
	}
	h.waitFor("mask", "delivered", allIn(groupcast.StateDelivered))
	v, _ := scriptedSenders.Load("s1")
	s := v.(*scripted)
	s.mu.Lock()
	var text string
	for _, m := range s.sent {
		if m.Announcement.ID == "mask" {
			text = m.Rendered.Text
		}
	}
	s.mu.Unlock()
	if !strings.Contains(text, "请***联系") || strings.Contains(text, "加微信") {
		t.Errorf("masked text %q, want 加微信 as ***", text)
	}
	h.waitFor("rev", "held", allIn(groupcast.StateHeld))
	list, err := h.svc.Reviews(context.Background())
	if err != nil || len(list) != 1 || list[0].ID != "rev" {
		t.Fatalf("review queue = %+v, %v", list, err)
	}
	if _, err := h.svc.Decide(context.Background(), "rev", true, "alice", ""); err != nil {
		t.Fatal(err)
	}
	h.waitFor("rev", "delivered after approval", allIn(groupcast.StateDelivered))
	rv, err := h.st.Review(context.Background(), "rev")
	if err != nil || rv.By != "alice" || rv.Decision != "approved" {
		t.Errorf("review record %+v %v", rv, err)
	}
	// Each hit counted once per target, however often it was decided.
	fams, _ := h.svc.Metrics().Registry.Gather()
	hits := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "groupcast_rule_hits_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			var rule, action string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "rule":
					rule = l.GetValue()
				case "action":
					action = l.GetValue()
				}
			}
			hits[rule+"/"+action] = m.GetCounter().GetValue()
		}
	}
	if len(hits) != 3 {
		t.Errorf("rule hits %v, want one block, one mask and one review", hits)
	}
	for k, v := range hits {
		if v != 1 {
			t.Errorf("rule hit %s counted %v times, want 1", k, v)
		}
	}
}

func TestRejectAndExpire(t *testing.T) {
	clock := &fakeClock{now: at("2026-11-26 10:00")}
	h := startWithClock(t, fmt.Sprintf(policyConfig, ""), store.DriverMemory, "", clock)
	submit(t, h, "---\nid: rej\ntitle: 通报\n---\n内部资料")
	h.waitFor("rej", "held", allIn(groupcast.StateHeld))
	if _, err := h.svc.Decide(context.Background(), "rej", false, "bob", "not for groups"); err != nil {
		t.Fatal(err)
	}
	if st := mustStatus(t, h, "rej"); target(st).State != groupcast.StateRejected || !strings.Contains(target(st).Reason, "not for groups") {
		t.Errorf("rejected target %+v", target(st))
	}
	// Outside the windows, expiring before the next one opens.
	submit(t, h, "---\nid: exp\ntitle: 今日提醒\nexpires_at: 2026-11-26T11:00:00+08:00\n---\n正文")
	h.waitFor("exp", "expired", allIn(groupcast.StateExpired))
}

func TestWindowOpeningBurstStaysUnderRate(t *testing.T) {
	clock := &fakeClock{now: at("2026-11-26 10:00")}
	cfg := strings.Replace(fmt.Sprintf(policyConfig, ", rate: {per_minute: 20}"), "daily_cap: {new: 3, mature: 8}", "", 1)
	// 200 deferred targets looked at every 100 ms would keep the one worker
	// of a paced account busy under the race detector.
	h := startWith(t, cfg, store.DriverMemory, "", clock, time.Second)
	const n = 200
	for i := range n {
		submit(t, h, fmt.Sprintf("---\nid: b-%d\ntitle: 第%d条\n---\n正文", i, i))
		clock.Sleep(context.Background(), time.Second) // distinct acceptance times
	}
	for i := range n {
		h.waitFor(fmt.Sprintf("b-%d", i), "deferred", allIn(groupcast.StateDeferred))
	}
	clock.Set(at("2026-11-26 12:00"))
	for i := range n {
		h.waitFor(fmt.Sprintf("b-%d", i), "delivered", allIn(groupcast.StateDelivered))
	}
	v, _ := scriptedSenders.Load("s1")
	s := v.(*scripted)
	s.mu.Lock()
	times := append([]time.Time(nil), s.times...)
	s.mu.Unlock()
	if len(times) != n {
		t.Fatalf("%d sends, want %d", len(times), n)
	}
	worst := 0
	for i := range times {
		c := 0
		for _, u := range times {
			if !u.Before(times[i]) && u.Before(times[i].Add(time.Minute)) {
				c++
			}
		}
		worst = max(worst, c)
	}
	if worst > 20 {
		t.Errorf("%d sends within one 60 s window, limit 20", worst)
	}
	t.Logf("200 deferred targets released at 12:00: at most %d in any 60 s; last at %s", worst, times[n-1].In(shanghai).Format("15:04:05"))
	s.mu.Lock()
	inversions := 0
	prev := -1
	for _, m := range s.sent {
		var k int
		fmt.Sscanf(m.Announcement.ID, "b-%d", &k)
		if k < prev {
			inversions++
			if inversions < 4 {
				t.Logf("inversion: %d after %d", k, prev)
			}
		}
		prev = k
	}
	s.mu.Unlock()
	if inversions > 0 {
		t.Errorf("released out of acceptance order: %d inversions among %d", inversions, n)
	}
}

// TestDailyCapSlotGivenBackAfterPermanentFailure: a send that fails for
// good gives its daily-cap slot back, so the group still gets its cap's
// worth of deliveries that day.
func TestDailyCapSlotGivenBackAfterPermanentFailure(t *testing.T) {
	scripts.Store("s1", script(func(n int, m groupcast.Outgoing) error {
		if n == 2 {
			return groupcast.Permanent("93000", errors.New("invalid webhook key"))
		}
		return nil
	}))
	t.Cleanup(func() { scripts.Delete("s1") })
	clock := &fakeClock{now: at("2026-11-26 12:30")}
	h := startWithClock(t, fmt.Sprintf(policyConfig, ""), store.DriverMemory, "", clock)
	want := []groupcast.State{groupcast.StateDelivered, groupcast.StateFailed, groupcast.StateDelivered, groupcast.StateDelivered, groupcast.StateDeferred}
	for i, state := range want {
		id := fmt.Sprintf("gb-%d", i)
		submit(t, h, fmt.Sprintf("---\nid: %s\ntitle: 第%d条\n---\n正文", id, i))
		st := h.waitFor(id, string(state), allIn(state))
		if state == groupcast.StateDeferred && !strings.HasPrefix(target(st).Reason, "daily_cap: 3/3") {
			t.Errorf("%s: deferred for %q, want the cap of 3 reached", id, target(st).Reason)
		}
	}
}
