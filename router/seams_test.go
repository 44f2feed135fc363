package router_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/dingtalk/dingtalkfake"
	"github.com/groupcast/groupcast/adapters/wechat/wechatfake"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

// The seams between capabilities: parts across a platform throttle, the
// pacer at the edge of the platform's window, order under concurrent
// clients, and a recall of many groups.

// A WeCom robot that allows two sends a minute gets a three-part
// announcement: parts 1 and 2 go, part 3 is answered 45009, the account
// rests, and then part 3 alone goes. Each part exactly once.
func TestPartsResumeAfterThrottle(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, shanghai)}
	fake := wechatfake.NewWeCom("good-key")
	t.Cleanup(fake.Close)
	fake.Now = clock.Now
	fake.PerMinute = 2
	cfg := fmt.Sprintf(`
store: {driver: memory}
accounts:
  - {name: wecom, platform: wechat, driver: wecom, base_url: "%s", key: good-key}
routes:
  - {name: all, targets: [{account: wecom, style: long}]}
`, fake.URL())
	h := startWithClock(t, cfg, store.DriverMemory, "", clock)
	var body strings.Builder
	for i := range 3 {
		fmt.Fprintf(&body, "第%d段：%s\n\n", i+1, strings.Repeat("维护通知内容。", 140))
	}
	submit(t, h, "---\nid: three-parts\ntitle: 分段\n---\n"+body.String())
	h.waitFor("three-parts", "deferred by 45009", func(st groupcast.Status) bool {
		tg := target(st)
		return tg.State == groupcast.StateDeferred && strings.Contains(tg.Reason, "45009") && tg.PartsSent == 2
	})
	drive(t, clock, time.Second)
	st := h.waitFor("three-parts", "delivered", allIn(groupcast.StateDelivered))
	msgs := fake.Messages()
	if target(st).Parts != 3 || len(msgs) != 3 {
		t.Fatalf("%d parts delivered, the fake holds %d messages; want 3 and 3 (each part once)", target(st).Parts, len(msgs))
	}
	for i, m := range msgs {
		if !strings.Contains(m.Content, fmt.Sprintf("（%d/3）", i+1)) {
			t.Errorf("message %d is not part %d: %.40q", i, i+1, m.Content)
		}
	}
	if n := fake.Count(45009); n != 1 {
		t.Errorf("45009 answered %d times, want once", n)
	}
}

// A burst of 60 to a DingTalk robot whose platform counts a 61 s window
// (it sees requests a second late): the pacer's margin keeps every
// request out of the throttle, and the burst uses most of the rate.
func TestMarginAtTheRateEdge(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, shanghai)}
	fake := dingtalkfake.NewWebhook(t)
	fake.SetNow(clock.Now)
	fake.SetWindow(61 * time.Second)
	fake.AddRobot(dingtalkfake.Robot{Token: "tok1", Secret: dtSecret})
	h := startWithClock(t, dingtalkConfig(fake.URL, dtSecret), store.DriverMemory, "", clock)
	const n = 60
	for i := range n {
		submit(t, h, fmt.Sprintf("---\nid: edge-%d\ntitle: 第%d条\n---\n正文", i, i))
	}
	for i := range n {
		h.waitFor(fmt.Sprintf("edge-%d", i), "delivered", allIn(groupcast.StateDelivered))
	}
	if c := fake.Count(130101); c != 0 {
		t.Fatalf("%d answers 130101 at the edge of the window", c)
	}
	posts := fake.Posts("tok1")
	if len(posts) != n {
		t.Fatalf("%d posts, want %d", len(posts), n)
	}
	reqs := fake.Requests()
	span := reqs[len(reqs)-1].Time.Sub(reqs[0].Time) + time.Minute
	util := float64(n) / (span.Minutes() * 20)
	t.Logf("%d sends in %s (+ the last window): %.0f%% of 20/min", n, span-time.Minute, 100*util)
	if util < 0.8 {
		t.Errorf("utilisation %.0f%%, want at least 80%%", 100*util)
	}
}

// Four clients submit at once to one paced account: the account sends in
// acceptance order (the order of accepted_at, which is the ledger's),
// never another.
func TestAcceptanceOrderUnderConcurrentClients(t *testing.T) {
	h := start(t, `
store: {driver: memory}
accounts:
  - {name: s1, platform: qq, driver: scripted, rate: {per_minute: 6000}}
routes:
  - {name: all, targets: [{account: s1, groups: ["1"]}]}
`, store.DriverMemory, "")
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := map[string]time.Time{}
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				a := parse(t, fmt.Sprintf("---\nid: o-%d-%02d\ntitle: t\n---\nbody", c, i))
				got, err := h.svc.Submit(ctx, a)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				accepted[got.ID] = got.AcceptedAt
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for id := range accepted {
		h.waitFor(id, "delivered", allIn(groupcast.StateDelivered))
	}
	v, _ := scriptedSenders.Load("s1")
	s := v.(*scripted)
	s.mu.Lock()
	sent := slices.Clone(s.sent)
	s.mu.Unlock()
	inversions := 0
	for i := 1; i < len(sent); i++ {
		if accepted[sent[i].Announcement.ID].Before(accepted[sent[i-1].Announcement.ID]) {
			inversions++
		}
	}
	if len(sent) != 80 || inversions != 0 {
		t.Fatalf("%d sends, %d out of acceptance order; want 80 and 0", len(sent), inversions)
	}
}

// A recall of an announcement delivered to 100 WeChat groups: every revoke
// goes out within WeChat's two-minute window, not behind the 3–5 s send
// pace.
func TestRecallOfManyGroupsFitsTheWindow(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, shanghai)}
	groups := make([]string, 100)
	for i := range groups {
		groups[i] = fmt.Sprintf("%q", fmt.Sprint(1000+i))
	}
	h := startWithClock(t, `
store: {driver: memory}
accounts:
  - {name: s1, platform: wechat, driver: scripted, rate: {per_minute: 6000, min_gap: 3s, max_gap: 5s}}
routes:
  - {name: all, targets: [{account: s1, groups: [`+strings.Join(groups, ", ")+`]}]}
`, store.DriverMemory, "", clock)
	submit(t, h, "---\nid: many\ntitle: t\n---\nbody")
	h.waitFor("many", "delivered", allIn(groupcast.StateDelivered))
	start := clock.Now()
	if _, err := h.svc.Recall(context.Background(), "many"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("many", "recalled", allIn(groupcast.StateRecalled))
	v, _ := scriptedSenders.Load("s1")
	s := v.(*scripted)
	s.mu.Lock()
	last := s.recalls[len(s.recalls)-1]
	n := len(s.recalls)
	s.mu.Unlock()
	t.Logf("%d revokes, the last %s after the recall was asked", n, last.Sub(start))
	if n != 100 || last.Sub(start) >= 2*time.Minute {
		t.Fatalf("%d revokes, the last after %s; want 100 within 2m", n, last.Sub(start))
	}
}

// An account's daily ceiling lives in the store: a second sender for the
// same account (another replica after a lease move, or a restart) counts
// on from where the first stopped, and a refusal leaves the count as it
// was.
func TestDailyCountIsSharedThroughTheStore(t *testing.T) {
	h := start(t, scriptedConfig(""), store.DriverMemory, "")
	a, b := router.DayCounterFor(h.st, "wx"), router.DayCounterFor(h.st, "wx")
	ctx := context.Background()
	if n, ok, err := a.Add(ctx, "2026-11-26", 3, 5); err != nil || !ok || n != 3 {
		t.Fatalf("first: %d %v %v", n, ok, err)
	}
	if n, ok, err := b.Add(ctx, "2026-11-26", 3, 5); err != nil || ok || n != 3 {
		t.Fatalf("over the ceiling from the other sender: %d %v %v, want refused at 3", n, ok, err)
	}
	if n, ok, err := b.Add(ctx, "2026-11-26", 2, 5); err != nil || !ok || n != 5 {
		t.Fatalf("up to the ceiling: %d %v %v", n, ok, err)
	}
	if n, ok, err := a.Add(ctx, "2026-11-27", 1, 5); err != nil || !ok || n != 1 {
		t.Fatalf("the next day starts at 0: %d %v %v", n, ok, err)
	}
}

// The same throttle halfway through a three-part send, with tracked links:
// the part sent after the pause is cut from a render that writes the same
// codes, so the text is whole across the parts, no original URL goes out,
// and each link sent leads to its own page.
func TestTrackedPartsResumeAfterThrottle(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, shanghai)}
	fake := wechatfake.NewWeCom("good-key")
	t.Cleanup(fake.Close)
	fake.Now = clock.Now
	fake.PerMinute = 2
	cfg := fmt.Sprintf(`
store: {driver: memory}
tracking: {base_url: "https://gc.example.com"}
accounts:
  - {name: wecom, platform: wechat, driver: wecom, base_url: "%s", key: good-key}
routes:
  - {name: all, targets: [{account: wecom, style: long}]}
`, fake.URL())
	h := startWithClock(t, cfg, store.DriverMemory, "", clock)
	var body strings.Builder
	for i := range 3 {
		fmt.Fprintf(&body, "第%d段：见 https://docs.example.com/p%d\n\n%s\n\n", i+1, i+1, strings.Repeat("维护通知内容。", 140))
	}
	submit(t, h, "---\nid: tracked-parts\ntitle: 分段\n---\n"+body.String())
	h.waitFor("tracked-parts", "deferred by 45009", func(st groupcast.Status) bool {
		tg := target(st)
		return tg.State == groupcast.StateDeferred && strings.Contains(tg.Reason, "45009") && tg.PartsSent == 2
	})
	drive(t, clock, time.Second)
	h.waitFor("tracked-parts", "delivered", allIn(groupcast.StateDelivered))
	msgs := fake.Messages()
	if len(msgs) != 3 {
		t.Fatalf("the fake holds %d messages, want 3 (each part once)", len(msgs))
	}
	srv := httptest.NewServer(h.svc.LinkHandler())
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var codes []string
	for i, m := range msgs {
		if strings.Contains(m.Content, "docs.example.com") {
			t.Errorf("part %d carries an original URL: %.80q", i+1, m.Content)
		}
		for _, c := range trackedLink.FindAllStringSubmatch(m.Content, -1) {
			codes = append(codes, c[1])
		}
	}
	if len(codes) != 3 {
		t.Fatalf("%d tracked links across the parts, want 3: %v", len(codes), codes)
	}
	for i, code := range codes {
		resp, err := client.Get(srv.URL + "/l/" + code)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := fmt.Sprintf("https://docs.example.com/p%d", i+1); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("link %d answers %d %q, want 302 to %s", i+1, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}
