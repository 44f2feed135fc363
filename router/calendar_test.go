package router_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// The calendar of a fortnight: the schedule's future occurrences, a
// series' waiting parts, a send_at announcement, a target deferred by the
// send window and one held for review, in time order.
func TestCalendar(t *testing.T) {
	dir := t.TempDir()
	yaml := fmt.Sprintf(`
timezone: Asia/Shanghai
store: {driver: memory}
accounts:
  - {name: f1, platform: qq, driver: file, path: "%s/f1.jsonl", rate: {per_minute: 6000}}
policies:
  - name: day
    windows: ["09:00-18:00"]
    rules: [{terms: ["内部资料"], action: review}]
routes:
  - {name: all, policy: day, targets: [{account: f1, groups: ["100"]}]}
schedules:
  - {name: weekly, cron: "30 9 * * 1", until: 2027-01-11, inline: {title: "周报 第{{.Week}}周", body: "b"}}
`, dir)
	clock := &fakeClock{now: at("2027-01-04 08:00")}
	h := startWith(t, yaml, store.DriverMemory, "", clock, 50*time.Millisecond)
	for _, md := range []string{
		"---\nid: later\ntitle: 稍后\nsend_at: 2027-01-05T10:00:00+08:00\n---\nb",
		"---\nid: window\ntitle: 窗口外\n---\nb",
		"---\nid: review\ntitle: 待审\n---\n内部资料",
		"---\nid: course\ntitle: 课程\nseries: {every: 24h, at: \"12:00\"}\n---\n## 一\na\n## 二\nb",
	} {
		submit(t, h, md)
	}
	h.waitFor("window", "deferred", allIn(groupcast.StateDeferred))
	h.waitFor("review", "held", allIn(groupcast.StateHeld))
	items, err := h.svc.Calendar(context.Background(), at("2027-01-04 00:00"), at("2027-01-19 00:00"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, fmt.Sprintf("%s %s %s%s %s %v", it.At.In(shanghai).Format("01-02 15:04"), it.Kind, it.Name, it.ID, it.Title, it.Targets))
	}
	want := []string{
		"01-04 08:00 held review 待审 [f1/100]",
		"01-04 09:00 deferred window 窗口外 [f1/100]",
		"01-04 09:30 schedule weekly 周报 第1周 [f1/100]",
		"01-04 12:00 series course-p1 课程 (1/2) [f1/100]",
		"01-05 10:00 scheduled later 稍后 [f1/100]",
		"01-05 12:00 series course-p2 课程 (2/2) [f1/100]",
		"01-11 09:30 schedule weekly 周报 第2周 [f1/100]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calendar:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// (until 2027-01-11: not on the 18th.)
	// A later window: only what lies in it.
	items, err = h.svc.Calendar(context.Background(), at("2027-01-05 11:00"), at("2027-01-06 00:00"))
	if err != nil || len(items) != 1 || items[0].ID != "course-p2" {
		t.Fatalf("%+v %v", items, err)
	}
	for _, r := range [][2]time.Time{{at("2027-01-05 00:00"), at("2027-01-04 00:00")}, {at("2027-01-01 00:00"), at("2027-03-05 00:00")}} {
		_, err := h.svc.Calendar(context.Background(), r[0], r[1])
		var in *groupcast.InputError
		if !errors.As(err, &in) || in.Field() != "to" {
			t.Errorf("%v: %v", r, err)
		}
	}
}
