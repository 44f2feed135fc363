package inbound_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
)

func (h *harness) member(join bool, id, who string, at time.Time) {
	h.t.Helper()
	kind := groupcast.EventMemberLeft
	if join {
		kind = groupcast.EventMemberJoined
	}
	h.send(groupcast.InboundEvent{Kind: kind, Account: "qq-main", Group: "123", ID: id, Sender: who, At: at})
}

func (h *harness) announce(id string) {
	h.t.Helper()
	a := &groupcast.Announcement{ID: id, Title: "通知 " + id, Category: groupcast.CategoryNotice, Priority: groupcast.PriorityNormal, Body: "正文 " + id}
	if _, err := h.svc.Submit(context.Background(), a); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) state(id string) groupcast.Target {
	h.t.Helper()
	st, err := h.svc.Status(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return st.Targets[0]
}

// TestMemberReport: joins and leaves land on the day they happened; sends
// to the group under its policy are counted per day (also after the day
// rolls over); replies and welcomes are not.
func TestMemberReport(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai)
	h := start(t, now)
	h.member(true, "j1", "a", now.AddDate(0, 0, -2))
	h.member(true, "j2", "b", now.AddDate(0, 0, -2).Add(time.Hour))
	h.member(false, "l1", "a", now.AddDate(0, 0, -1))
	h.member(true, "j3", "c", now.Add(-time.Minute))
	h.member(false, "l2", "b", now.Add(-time.Minute))
	h.taken(5)
	h.announce("a1")
	h.eventually("a1 delivered", func() bool { return h.state("a1").State == groupcast.StateDelivered })
	rep, err := h.hub.Report(context.Background(), h.cfg, "qq-main", "123", 3)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, d := range rep.Days {
		got += fmt.Sprintf("%s j%d l%d s%d r%.2f; ", d.Date, d.Joins, d.Leaves, d.Sends, d.LeaveRate)
	}
	want := "2026-11-24 j2 l0 s0 r0.00; 2026-11-25 j0 l1 s0 r1.00; 2026-11-26 j1 l1 s1 r0.50; "
	if got != want {
		t.Errorf("days\n got %s\nwant %s", got, want)
	}
	if rep.Joins != 3 || rep.Leaves != 2 || rep.Sends != 1 || rep.LeaveRate != 0.4 || !rep.SendsCounted ||
		rep.From != "2026-11-24" || rep.To != "2026-11-26" || rep.Timezone != "Asia/Shanghai" {
		t.Errorf("report %+v", rep)
	}
	// The next day: yesterday's send moves to the history.
	h.clock.Add(24 * time.Hour)
	h.announce("a2")
	h.eventually("a2 delivered", func() bool { return h.state("a2").State == groupcast.StateDelivered })
	rep, err = h.hub.Report(context.Background(), h.cfg, "qq-main", "123", 2)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Days[0].Sends != 1 || rep.Days[1].Sends != 1 || rep.Leaves != 1 {
		t.Errorf("after a day: %+v", rep.Days)
	}
	// A group no policy routes to: sends are not counted, and it says so.
	rep, err = h.hub.Report(context.Background(), h.cfg, "qq-other", "456", 30)
	if err != nil {
		t.Fatal(err)
	}
	if rep.SendsCounted || len(rep.Days) != 30 {
		t.Errorf("unpoliced group: counted %v, %d days", rep.SendsCounted, len(rep.Days))
	}
	if _, err := h.hub.Report(context.Background(), h.cfg, "nope", "1", 30); err == nil {
		t.Error("a report for an unknown account")
	}
}

// TestDailyCapAuto: a week in which clearly more members left than joined
// lowers the group's cap by one for the day (the third announcement waits
// for the next day, saying why); still high the next day, lowered again;
// once the leaves are out of the window it rises a step a day back to the
// configured cap. Every change is counted.
func TestDailyCapAuto(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, shanghai)
	h := start(t, now)
	for i := range 5 {
		h.member(false, fmt.Sprint("l", i), fmt.Sprint("u", i), now.AddDate(0, 0, -1-i))
	}
	h.member(true, "j0", "n0", now.AddDate(0, 0, -3))
	h.member(false, "today", "x", now) // today's leave is not in the window
	h.taken(7)
	h.hub.Tick(context.Background())
	autoCap := func() int {
		rep, err := h.hub.Report(context.Background(), h.cfg, "qq-main", "123", 1)
		if err != nil {
			t.Fatal(err)
		}
		return rep.AutoCap
	}
	if c := autoCap(); c != 2 {
		t.Fatalf("auto cap %d, want 2 (3 lowered by 1: 5 leaves, 1 join)", c)
	}
	for i := range 3 {
		h.announce(fmt.Sprint("c", i))
	}
	h.eventually("two delivered, the third deferred", func() bool {
		return h.state("c0").State == groupcast.StateDelivered && h.state("c1").State == groupcast.StateDelivered &&
			h.state("c2").State == groupcast.StateDeferred
	})
	if r := h.state("c2").Reason; !strings.Contains(r, "daily_cap: 2/2") || !strings.Contains(r, "lowered by daily_cap.auto") {
		t.Errorf("deferred reason %q", r)
	}
	h.hub.Tick(context.Background()) // the same day: no second review
	if c := autoCap(); c != 2 {
		t.Errorf("auto cap %d after a second tick the same day, want 2", c)
	}
	steps := []int{1, 1, 1, 1, 1} // 11-27 to 12-01: at least 3 leaves in the 7 days before, and few joins
	steps = append(steps, 2, 0)   // then fewer: a step up a day, then the configured cap
	for i, want := range steps {
		h.clock.Add(24 * time.Hour)
		h.hub.Tick(context.Background())
		if c := autoCap(); c != want {
			t.Fatalf("day +%d: auto cap %d, want %d", i+1, c, want)
		}
	}
	if n := h.counter("groupcast_daily_cap_auto_changes_total", map[string]string{"direction": "lowered"}); n != 2 {
		t.Errorf("lowered %v times, want 2", n)
	}
	if n := h.counter("groupcast_daily_cap_auto_changes_total", map[string]string{"direction": "raised"}); n != 2 {
		t.Errorf("raised %v times, want 2", n)
	}
	logs := h.logs.String()
	for _, want := range []string{"group cap lowered", "from=3 to=2", "from=2 to=1", "group cap raised", "from=1 to=2", "from=2 to=3"} {
		if !strings.Contains(logs, want) {
			t.Errorf("no log line with %q", want)
		}
	}
}
