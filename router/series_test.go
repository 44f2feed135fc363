package router_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

const seriesMD = `---
id: course
title: 新手七日谈
series: {every: 24h, at: "09:00"}
---
本系列共三讲。

## 第一讲
认识群规。

## 第二讲
提问的方法。

## 第三讲
进阶资料。
`

func seriesConfig(dir string) string {
	return scheduleConfig(dir, "Asia/Shanghai", "store: {driver: embedded}", "  []\n")
}

// A series of three parts, a part a day at 09:00: each part is an
// announcement with its own time; a restart in the middle changes no
// time and sends nothing twice; a recall takes back what went out and
// cancels what did not.
func TestSeriesAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	yaml := seriesConfig(dir)
	clock := &fakeClock{now: at("2027-01-04 10:00")}
	h := startWith(t, yaml, store.DriverEmbedded, filepath.Join(dir, "store"), clock, 50*time.Millisecond)
	ctx := context.Background()
	acc, err := h.svc.Submit(ctx, parse(t, seriesMD))
	if err != nil {
		t.Fatal(err)
	}
	wantAt := []time.Time{at("2027-01-05 09:00"), at("2027-01-06 09:00"), at("2027-01-07 09:00")}
	if len(acc.Parts) != 3 || acc.State != "pending" {
		t.Fatalf("%+v", acc.Status)
	}
	for i, p := range acc.Parts {
		if !p.At.Equal(wantAt[i]) || p.ID != "course-p"+string(rune('1'+i)) || p.State != "pending" {
			t.Errorf("part %d: %+v", i+1, p)
		}
	}
	if acc.Parts[0].Title != "新手七日谈 (1/3)" {
		t.Errorf("title %q", acc.Parts[0].Title)
	}
	for _, tg := range acc.Targets {
		if tg.State != groupcast.StateScheduled {
			t.Errorf("target %+v", tg)
		}
	}
	// The same id again is the same series.
	again, err := h.svc.Submit(ctx, parse(t, seriesMD))
	if err != nil || !again.Existing {
		t.Fatalf("resubmit: %+v %v", again, err)
	}
	clock.Set(at("2027-01-05 09:01"))
	waitSent(t, dir, "course-p1")
	lines := readLines(t, filepath.Join(dir, "f1.jsonl"))
	if !strings.Contains(lines[0].Text, "本系列共三讲") || !strings.Contains(lines[0].Text, "认识群规") || strings.Contains(lines[0].Text, "提问") {
		t.Errorf("part 1 text: %q", lines[0].Text)
	}

	h.stop()
	h = startWith(t, yaml, store.DriverEmbedded, filepath.Join(dir, "store"), clock, 50*time.Millisecond)
	st, err := h.svc.Status(ctx, "course")
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range st.Parts {
		if !p.At.Equal(wantAt[i]) {
			t.Errorf("after the restart part %d at %s", i+1, p.At)
		}
	}
	clock.Set(at("2027-01-06 09:01"))
	waitSent(t, dir, "course-p1", "course-p2")

	// Recall the series: the two sent parts are recalled (where the driver
	// can), the third never goes.
	if _, err := h.svc.Recall(ctx, "course"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("course-p3", "cancelled", allIn(groupcast.StateRecalled))
	clock.Set(at("2027-01-07 09:01"))
	time.Sleep(300 * time.Millisecond)
	waitSent(t, dir, "course-p1", "course-p2")
	st, err = h.svc.Status(ctx, "course")
	if err != nil || st.Parts[2].State == "pending" {
		t.Fatalf("%+v %v", st, err)
	}
}

// A crash halfway through planning a series: the plan is stored, part 2
// is not. The next start finishes it (same times), and each part goes out
// once.
func TestSeriesCrashHalfway(t *testing.T) {
	dir := t.TempDir()
	yaml := seriesConfig(dir)
	clock := &fakeClock{now: at("2027-01-04 10:00")}
	h := startWith(t, yaml, store.DriverEmbedded, filepath.Join(dir, "store"), clock, 50*time.Millisecond)
	ctx := context.Background()
	crash := errors.New("crash")
	router.SetSeriesFault(h.svc, func(part int) error {
		if part == 2 {
			return crash
		}
		return nil
	})
	md := strings.Replace(seriesMD, `series: {every: 24h, at: "09:00"}`, "series: {every: 2h}", 1)
	if _, err := h.svc.Submit(ctx, parse(t, md)); !errors.Is(err, groupcast.ErrNotReady) {
		t.Fatalf("err = %v, want not ready", err)
	}
	st, err := h.svc.Status(ctx, "course")
	if err != nil || st.State != "pending" || st.Parts[1].State != "pending" || st.Parts[2].State != "pending" {
		t.Fatalf("%+v %v", st, err)
	}
	if _, err := h.svc.Status(ctx, "course-p2"); !errors.Is(err, groupcast.ErrNotFound) {
		t.Fatalf("part 2 exists: %v", err)
	}
	waitSent(t, dir, "course-p1") // part 1 goes at once: no at
	h.stop()

	clock.Set(at("2027-01-04 11:00"))
	h = startWith(t, yaml, store.DriverEmbedded, filepath.Join(dir, "store"), clock, 50*time.Millisecond)
	h.waitFor("course-p3", "planned", allIn(groupcast.StateScheduled))
	st, err = h.svc.Status(ctx, "course")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Time{at("2027-01-04 10:00"), at("2027-01-04 12:00"), at("2027-01-04 14:00")} {
		if !st.Parts[i].At.Equal(want) {
			t.Errorf("part %d at %s, want %s", i+1, st.Parts[i].At, want)
		}
	}
	clock.Set(at("2027-01-04 12:00"))
	waitSent(t, dir, "course-p1", "course-p2")
	clock.Set(at("2027-01-04 14:00"))
	waitSent(t, dir, "course-p1", "course-p2", "course-p3")
	st = h.waitFor("course", "delivered", func(st groupcast.Status) bool { return st.State == "delivered" })
	if len(st.Targets) != 3 {
		t.Errorf("%d targets, want one per part", len(st.Targets))
	}
}

// Bad series are refused whole, naming the field; nothing is stored.
func TestSeriesRefused(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{now: at("2027-01-04 10:00")}
	h := startWith(t, scheduleConfig(dir, "Asia/Shanghai", "store: {driver: memory}", "  []\n"), store.DriverMemory, "", clock, 50*time.Millisecond)
	for _, tt := range []struct{ md, field string }{
		{"---\nid: s1\ntitle: t\nseries: {every: 400h}\n---\n## a\nx\n## b\ny\n## c\nz\n## d\nw", "series.every"}, // past retention
		{"---\nid: s2\ntitle: t\nseries: {every: 1h}\nexpires_at: 2027-01-04T10:30:00+08:00\n---\n## a\nx\n## b\ny", "expires_at"},
		{"---\nid: s4\ntitle: t\nseries: {every: 1h}\nvariants: [{name: A, title: a}, {name: B, title: b}]\n---\n## a\nx\n## b\ny", "variants"},
		{"---\nid: " + strings.Repeat("x", 126) + "\ntitle: t\nseries: {every: 1h}\n---\n## a\nx\n## b\ny", "id"},
	} {
		_, err := h.svc.Submit(context.Background(), parse(t, tt.md))
		var in *groupcast.InputError
		if !errors.As(err, &in) || in.Field() != tt.field {
			t.Errorf("%v, want an error on %s", err, tt.field)
		}
	}
	if list, err := h.svc.List(context.Background(), "", 10); err != nil || len(list) != 0 {
		t.Errorf("stored: %v %v", list, err)
	}
}

// A part held for review is reviewed on its own, or through the series'
// id (every held part at once).
func TestSeriesReview(t *testing.T) {
	dir := t.TempDir()
	yaml := fmt.Sprintf(`
timezone: Asia/Shanghai
store: {driver: memory}
accounts:
  - {name: f1, platform: qq, driver: file, path: "%s/f1.jsonl", rate: {per_minute: 6000}}
policies:
  - {name: p, rules: [{terms: ["内部资料"], action: review}]}
routes:
  - {name: all, policy: p, targets: [{account: f1, groups: ["100"]}]}
`, dir)
	clock := &fakeClock{now: at("2027-01-04 10:00")}
	h := startWith(t, yaml, store.DriverMemory, "", clock, 50*time.Millisecond)
	ctx := context.Background()
	if _, err := h.svc.Submit(ctx, parse(t, "---\nid: s\ntitle: t\nseries: {every: 1m}\n---\n## 一\n公开\n## 二\n内部资料")); err != nil {
		t.Fatal(err)
	}
	clock.Set(at("2027-01-04 10:02"))
	h.waitFor("s-p2", "held", allIn(groupcast.StateHeld))
	waitSent(t, dir, "s-p1")
	if _, err := h.svc.Decide(ctx, "s", true, "li", ""); err != nil {
		t.Fatal(err)
	}
	waitSent(t, dir, "s-p1", "s-p2")
	if _, err := h.svc.Decide(ctx, "s", true, "li", ""); !errors.Is(err, router.ErrNotHeld) {
		t.Fatalf("nothing held: %v", err)
	}
}

// The report of a series adds up its parts: each part's targets are a row
// naming the part, and the clicks on every part's tracked links count.
func TestSeriesReport(t *testing.T) {
	dir := t.TempDir()
	yaml := scheduleConfig(dir, "Asia/Shanghai", "store: {driver: memory}\ntracking: {base_url: \"https://gc.example.com\"}", "  []\n")
	clock := &fakeClock{now: at("2027-01-04 10:00")}
	h := startWith(t, yaml, store.DriverMemory, "", clock, 50*time.Millisecond)
	ctx := context.Background()
	md := "---\nid: course\ntitle: 新手七日谈\nseries: {every: 24h, at: \"09:00\"}\n---\n## 第一讲\n群规见 https://wiki.example.com/rules\n\n## 第二讲\n提问见 https://wiki.example.com/ask\n\n## 第三讲\n资料见 https://wiki.example.com/more\n"
	if _, err := h.svc.Submit(ctx, parse(t, md)); err != nil {
		t.Fatal(err)
	}
	clock.Set(at("2027-01-05 09:01"))
	waitSent(t, dir, "course-p1")
	clock.Set(at("2027-01-06 09:01"))
	waitSent(t, dir, "course-p1", "course-p2")

	srv := httptest.NewServer(h.svc.LinkHandler())
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	codeOf := map[string]string{} // part → code
	for _, l := range readLines(t, filepath.Join(dir, "f1.jsonl")) {
		m := trackedLink.FindStringSubmatch(l.Text)
		if m == nil {
			t.Fatalf("%s: no tracked link in %q", l.Announcement, l.Text)
		}
		codeOf[l.Announcement] = m[1]
	}
	click := func(code, ua string) {
		req, _ := http.NewRequest("GET", srv.URL+"/l/"+code, nil)
		req.Header.Set("User-Agent", ua)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("click %s: %d", code, resp.StatusCode)
		}
	}
	click(codeOf["course-p1"], "Mozilla/5.0 QQ/9.0 one")
	click(codeOf["course-p1"], "Mozilla/5.0 QQ/9.0 two")
	click(codeOf["course-p2"], "Mozilla/5.0 QQ/9.0 one")

	rep, err := h.svc.Report(ctx, "course")
	if err != nil {
		t.Fatal(err)
	}
	if rep.ID != "course" || !rep.Tracked || rep.Delivered != 2 || rep.Clicks != 3 || rep.ClickRate != 1.5 {
		t.Fatalf("series report: id %s tracked %v delivered %d clicks %d rate %v, want 2 delivered, 3 clicks, 1.5",
			rep.ID, rep.Tracked, rep.Delivered, rep.Clicks, rep.ClickRate)
	}
	want := map[string]uint64{"course-p1": 2, "course-p2": 1, "course-p3": 0}
	if len(rep.ByTarget) != 3 {
		t.Fatalf("by_target %+v, want a row per part", rep.ByTarget)
	}
	for _, tg := range rep.ByTarget {
		n, ok := want[tg.Part]
		if !ok || tg.Clicks != n {
			t.Errorf("row %+v: want part %s with %d clicks", tg, tg.Part, n)
		}
		if tg.Part == "course-p3" && (tg.Delivered != 0 || tg.State != groupcast.StateScheduled) {
			t.Errorf("part 3 not sent yet: %+v", tg)
		}
	}
	if len(rep.ByPlatform) != 1 || rep.ByPlatform[0].Clicks != 3 || rep.ByPlatform[0].Delivered != 2 {
		t.Errorf("by_platform %+v", rep.ByPlatform)
	}
	part, err := h.svc.Report(ctx, "course-p2")
	if err != nil || part.Clicks != 1 || part.Delivered != 1 || part.ByTarget[0].Part != "" {
		t.Errorf("a part's own report: %+v %v", part, err)
	}
}
