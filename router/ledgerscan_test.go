package router_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// scanConfig: plain announcements (tag plain) go to a file account with no
// policy; the others through a policy with a review rule; dt-admin pushes
// the review notices.
const scanConfig = `
accounts:
  - {name: f1, platform: qq, driver: file, path: "%s/f1.jsonl", rate: {per_minute: 60000}}
  - name: dt-admin
    platform: dingtalk
    driver: openapi
    app_key: dingappkey
    app_secret: app-secret-1
    robot_code: dingrobot
    base_url: %s
policies:
  - name: p
    rules:
      - {name: internal-only, terms: ["内部资料"], action: review}
routes:
  - {name: plain, match: {tags: [plain]}, targets: [{account: f1}]}
  - {name: reviewed, policy: p, match: {tags: [checked]}, targets: [{account: f1}]}
review:
  notify:
    - {account: dt-admin, to: [manager01]}
  reviewers: [manager01]
`

// TestLedgerScansBounded: with 1,200 settled records (1,000 plain, 200
// through a review policy but delivered), 200 replies and one held
// announcement, the review notifier and the calendar read each record once
// and, after that, only what is still open; the held one is notified once
// and stays on the review list and the calendar.
func TestLedgerScansBounded(t *testing.T) {
	fake := newOpenAPIFake(t)
	dir := t.TempDir()
	h := start(t, fmt.Sprintf(scanConfig, dir, fake.URL), store.DriverMemory, "")
	ctx := context.Background()
	const plain, checked, replies = 1000, 200, 200
	for i := range plain + checked {
		tag := "plain"
		if i >= plain {
			tag = "checked"
		}
		submit(t, h, fmt.Sprintf("---\nid: bulk-%d\ntitle: 通报 %d\ntags: [%s]\n---\n正文 %d", i, i, tag, i))
	}
	for i := range replies {
		a := &groupcast.Announcement{ID: fmt.Sprintf("reply-r-%d", i), Title: "reply", Body: "报名请点链接"}
		if _, err := h.svc.SubmitDirect(ctx, a, "f1", "g1"); err != nil {
			t.Fatal(err)
		}
	}
	submit(t, h, "---\nid: held-1\ntitle: 机房通报\ntags: [checked]\n---\n本文为**内部资料**，请勿外传。")
	h.waitFor("held-1", "held", allIn(groupcast.StateHeld))
	for _, id := range []string{fmt.Sprint("bulk-", plain+checked-1), fmt.Sprint("reply-r-", replies-1)} {
		h.waitFor(id, "delivered", allIn(groupcast.StateDelivered))
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		rvs, err := h.svc.Reviews(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rvs) == 1 && rvs[0].ID == "held-1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reviews: %d", len(rvs))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Everything is delivered but held-1 (the file driver follows the
	// ledger's order; the last of each kind was waited for).
	waitOwns(t, h, "dt-admin")
	total := plain + checked + replies + 1

	measure := func(what string, f func()) (time.Duration, int64) {
		before := h.svc.LedgerReads()
		start := time.Now()
		f()
		d, n := time.Since(start), h.svc.LedgerReads()-before
		t.Logf("%s: %v, %d records read (of %d)", what, d.Round(time.Microsecond), n, total)
		return d, n
	}
	from, to := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	var items []groupcast.CalendarItem
	measure("first notifier poll", func() { h.svc.NotifyReviews(ctx) })
	_, n := measure("second notifier poll", func() { h.svc.NotifyReviews(ctx) })
	if n != 0 {
		t.Errorf("the second poll read %d records, want 0 (held-1 is notified, the rest settled or unholdable)", n)
	}
	if dms := fake.DirectMessages(); len(dms) != 1 {
		t.Errorf("%d notices, want 1", len(dms))
	}
	_, n = measure("review list", func() {
		rvs, err := h.svc.Reviews(ctx)
		if err != nil || len(rvs) != 1 || rvs[0].ID != "held-1" {
			t.Errorf("reviews %+v, %v", rvs, err)
		}
	})
	if n != 1 {
		t.Errorf("the review list read %d records, want 1 (held-1)", n)
	}
	measure("first calendar", func() {
		var err error
		if items, err = h.svc.Calendar(ctx, from, to); err != nil {
			t.Fatal(err)
		}
	})
	_, n = measure("second calendar", func() {
		var err error
		if items, err = h.svc.Calendar(ctx, from, to); err != nil {
			t.Fatal(err)
		}
	})
	if n != 1 {
		t.Errorf("the second calendar read %d records, want 1 (held-1)", n)
	}
	if len(items) != 1 || items[0].ID != "held-1" || items[0].Kind != groupcast.CalendarHeld {
		t.Errorf("calendar %+v", items)
	}
}
