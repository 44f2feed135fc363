package router_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/tracking"
)

var trackedLink = regexp.MustCompile(`https://gc\.example\.com/l/([0-9A-Za-z]{12})`)

// End to end against the file driver: every style sends tracked links
// and none of the originals (the short one too); a click redirects to the
// original and is counted once for its target and variant; previews and
// repeats are not; the report adds it up.
func TestTrackedLinksEndToEnd(t *testing.T) {
	dir := t.TempDir()
	yaml := fmt.Sprintf(`
store: {driver: memory}
tracking: {base_url: "https://gc.example.com/", trusted_proxies: ["127.0.0.1", "::1"]} # the test's clicks come through a "proxy"
accounts:
  - {name: dt, platform: dingtalk, driver: file, path: %[1]s/dt.jsonl}
  - {name: wx, platform: wechat, driver: file, path: %[1]s/wx.jsonl}
  - {name: qq, platform: qq, driver: file, path: %[1]s/qq.jsonl}
routes:
  - name: ops
    match: {tags: [ops]}
    targets:
      - {account: dt}
      - {account: wx, groups: ["运维通知群"], max_chars: 120}
      - {account: qq, groups: ["1001", "1002"]}
`, dir)
	h := start(t, yaml, store.DriverMemory, "")
	md := `---
id: tracked-1
title: 系统维护通知
tags: [ops]
links:
  - {title: 维护详情, url: "https://status.example.com/maint"}
variants:
  - {name: A}
  - {name: B, title: 今晚维护}
---
12月1日凌晨系统维护，详见[值班表](https://wiki.example.com/duty)，进度看 https://status.example.com/live 。`
	if _, err := h.svc.Submit(context.Background(), parse(t, md)); err != nil {
		t.Fatal(err)
	}
	st := h.waitFor("tracked-1", "delivered", allIn(groupcast.StateDelivered))
	variantOf := map[string]string{}
	for _, tg := range st.Targets {
		variantOf[tg.Group] = tg.Variant
	}
	originals := []string{"https://status.example.com/maint", "https://wiki.example.com/duty", "https://status.example.com/live"}
	codes := map[string]string{} // code → group
	for _, name := range []string{"dt", "wx", "qq"} {
		for _, l := range readLines(t, filepath.Join(dir, name+".jsonl")) {
			for _, o := range originals {
				if strings.Contains(l.Text, o) {
					t.Errorf("%s/%s: the original %s was sent:\n%s", name, l.Group, o, l.Text)
				}
			}
			found := trackedLink.FindAllStringSubmatch(l.Text, -1)
			if len(found) == 0 {
				t.Errorf("%s/%s: no tracked link in\n%s", name, l.Group, l.Text)
			}
			for _, m := range found {
				codes[m[1]] = l.Group
			}
		}
	}
	srv := httptest.NewServer(h.svc.LinkHandler())
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	click := func(code, ip string, header map[string]string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/l/"+code, nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.44")
		req.Header.Set("X-Forwarded-For", ip)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// Click the QQ group 1001's links: two people, one of them twice, and a preview.
	var qqCodes []string
	for code, g := range codes {
		if g == "1001" {
			qqCodes = append(qqCodes, code)
		}
	}
	if len(qqCodes) == 0 {
		t.Fatalf("no tracked links for group 1001: %v", codes)
	}
	resp := click(qqCodes[0], "203.0.113.1", nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "https://") || strings.Contains(loc, "gc.example.com") {
		t.Fatalf("click: %d to %q", resp.StatusCode, loc)
	}
	click(qqCodes[0], "203.0.113.1", nil)                                       // a repeat
	click(qqCodes[0], "203.0.113.2", nil)                                       // another person
	click(qqCodes[0], "203.0.113.3", map[string]string{"X-Purpose": "preview"}) // a preview
	if r := click("zzzzzzzzzzzz", "203.0.113.1", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown code: %d, want 404", r.StatusCode)
	}

	rep, err := h.svc.Report(context.Background(), "tracked-1")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Tracked || rep.Delivered != 4 || rep.Clicks != 2 || rep.ClickRate != 0.5 {
		t.Fatalf("report: tracked %v delivered %d clicks %d rate %v, want 4 delivered, 2 clicks, 0.5",
			rep.Tracked, rep.Delivered, rep.Clicks, rep.ClickRate)
	}
	for _, tg := range rep.ByTarget {
		want := uint64(0)
		if tg.Group == "1001" {
			want = 2
			if tg.Variant != variantOf["1001"] || len(tg.Links) != 1 || tg.Links[0].URL != loc {
				t.Errorf("1001: %+v, want variant %s and the clicked link %s", tg, variantOf["1001"], loc)
			}
		}
		if tg.Clicks != want {
			t.Errorf("%s: %d clicks, want %d", tg.Group, tg.Clicks, want)
		}
	}
	var variantClicks uint64
	for _, f := range rep.ByVariant {
		if f.Name == variantOf["1001"] {
			variantClicks = f.Clicks
		}
	}
	if variantClicks != 2 {
		t.Errorf("by_variant %+v: variant %s should have the 2 clicks", rep.ByVariant, variantOf["1001"])
	}
	if v := metricValue(t, h, "groupcast_link_clicks_total", "platform", "qq"); v != 2 {
		t.Errorf("groupcast_link_clicks_total{platform=qq} = %v, want 2", v)
	}
}

// Sent again (a retry, another replica), a target's text carries the same
// codes: they come from the store's secret, not from the process.
func TestTrackedLinksStableAcrossRestart(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	yaml := fmt.Sprintf(`
store: {driver: embedded}
tracking: {base_url: "https://gc.example.com"}
accounts:
  - {name: qq, platform: qq, driver: file, path: %[1]s/qq.jsonl}
routes:
  - {name: ops, targets: [{account: qq, groups: ["1001"]}]}
`, dir)
	send := func(id string) string {
		h := start(t, yaml, store.DriverEmbedded, data)
		defer h.stop()
		md := "---\nid: " + id + "\ntitle: t\n---\n见 https://status.example.com/maint"
		if _, err := h.svc.Submit(context.Background(), parse(t, md)); err != nil {
			t.Fatal(err)
		}
		h.waitFor(id, "delivered", allIn(groupcast.StateDelivered))
		lines := readLines(t, filepath.Join(dir, "qq.jsonl"))
		m := trackedLink.FindStringSubmatch(lines[len(lines)-1].Text)
		if m == nil {
			t.Fatalf("no tracked link in %q", lines[len(lines)-1].Text)
		}
		return m[1]
	}
	first := send("stable-1")
	second := send("stable-2")
	if first == second {
		t.Fatal("two announcements got the same code")
	}
	// The secret survived the restart: the code of stable-1 is the one
	// the store's secret makes now.
	h := start(t, yaml, store.DriverEmbedded, data)
	rep, err := h.svc.Report(context.Background(), "stable-1")
	if err != nil || !rep.Tracked {
		t.Fatalf("report after restart: %+v %v", rep, err)
	}
	secret, err := h.st.TrackingSecret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	key := groupcast.Destination{Account: "qq", Group: "1001"}.Key()
	if want := tracking.Code(secret, "stable-1", key, "https://status.example.com/maint"); want != first {
		t.Fatalf("sent code %s, but a resend now would write %s", first, want)
	}
	srv := httptest.NewServer(h.svc.LinkHandler())
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(srv.URL + "/l/" + first)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://status.example.com/maint" {
		t.Fatalf("after a restart the link answers %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// A content rule on a URL still fires with tracking on: the rules judge
// the text as written, not the tracked links.
func TestTrackedLinksKeepContentRules(t *testing.T) {
	cfg := loadConfig(t, `
store: {driver: memory}
tracking: {base_url: "https://gc.example.com"}
accounts:
  - {name: qq, platform: qq, driver: file, path: /dev/null}
policies:
  - name: p
    rules:
      - {name: no-shady, terms: ["shady.example.com"], action: block}
      - {name: no-wechat-id, pattern: "加微信", action: mask}
routes:
  - {name: ops, policy: p, targets: [{account: qq, groups: ["1001"]}]}
`)
	blocked, err := router.Preview(cfg, drivers, parse(t, "---\ntitle: t\n---\n领取 https://shady.example.com/gift"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if blocked[0].State != string(groupcast.StateBlocked) {
		t.Fatalf("a banned domain behind a tracked link: state %s, want blocked", blocked[0].State)
	}
	masked, err := router.Preview(cfg, drivers, parse(t, "---\ntitle: t\n---\n请加微信 详见 https://ok.example.com/a"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	text := masked[0].Parts[0].Text
	if masked[0].State != string(groupcast.StateQueued) || strings.Contains(text, "加微信") ||
		strings.Contains(text, "ok.example.com") || !trackedLink.MatchString(text) {
		t.Fatalf("masked and tracked: state %s, text %q", masked[0].State, text)
	}
}

// A URL a mask rule hits is not tracked: it goes out masked exactly as
// without tracking, and no code in the text leads to it. Links the rules
// do not touch are still tracked.
func TestTrackedLinksNeverUnmask(t *testing.T) {
	const rules = `
policies:
  - name: p
    rules:
      - {name: no-taobao, terms: ["taobao.com"], action: mask}
routes:
  - {name: ops, policy: p, match: {tags: [ops]}, targets: [{account: qq, groups: ["1001"]}]}
`
	const md = "---\nid: masked-1\ntitle: t\ntags: [ops]\n---\n去 https://shop.taobao.com/x 看看，详见 https://ok.example.com/a"
	plain, err := router.Preview(loadConfig(t, "store: {driver: memory}\naccounts:\n  - {name: qq, platform: qq, driver: file, path: /dev/null}\n"+rules),
		drivers, parse(t, md), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := "https://shop.**********/x"
	if !strings.Contains(plain[0].Parts[0].Text, want) {
		t.Fatalf("without tracking: %q, want %s", plain[0].Parts[0].Text, want)
	}

	tracked := "store: {driver: memory}\ntracking: {base_url: \"https://gc.example.com\"}\naccounts:\n  - {name: qq, platform: qq, driver: file, path: %s}\n" + rules
	preview, err := router.Preview(loadConfig(t, fmt.Sprintf(tracked, "/dev/null")), drivers, parse(t, md), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if text := preview[0].Parts[0].Text; !strings.Contains(text, want) || strings.Contains(text, "taobao") || len(trackedLink.FindAllString(text, -1)) != 1 {
		t.Errorf("preview with tracking: %q, want %s as without tracking and one tracked link", text, want)
	}

	dir := t.TempDir()
	h := start(t, fmt.Sprintf(tracked, filepath.Join(dir, "qq.jsonl")), store.DriverMemory, "")
	if _, err := h.svc.Submit(context.Background(), parse(t, md)); err != nil {
		t.Fatal(err)
	}
	h.waitFor("masked-1", "delivered", allIn(groupcast.StateDelivered))
	lines := readLines(t, filepath.Join(dir, "qq.jsonl"))
	if len(lines) != 1 || !strings.Contains(lines[0].Text, want) || strings.Contains(lines[0].Text, "taobao") {
		t.Fatalf("sent: %+v, want %s", lines, want)
	}
	found := trackedLink.FindAllStringSubmatch(lines[0].Text, -1)
	if len(found) != 1 {
		t.Fatalf("sent %q: want one tracked link (ok.example.com)", lines[0].Text)
	}
	srv := httptest.NewServer(h.svc.LinkHandler())
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, m := range found {
		resp, err := client.Get(srv.URL + "/l/" + m[1])
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "https://ok.example.com/a" {
			t.Errorf("/l/%s redirects to %q, want only the unmasked link", m[1], loc)
		}
	}
}
