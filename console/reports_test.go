package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/console"
	"github.com/groupcast/groupcast/inbound"
)

var trackedLink = regexp.MustCompile(`https://gc\.example\.com/l/([0-9A-Za-z]+)`)

// groupPath is the console's page of a group, escaped as the pages link it.
func groupPath(account, group string) string {
	return "/groups/" + url.PathEscape(account) + "/" + url.PathEscape(group)
}

// groupHref is groupPath as it stands in an attribute.
func groupHref(account, group string) string { return html.EscapeString(groupPath(account, group)) }

// TestMessageReport: with tracked links, the message page's report shows
// what the engine's report (GET /v1/messages/{id}/report) counts: people's
// clicks, not previews or repeats; by platform and by target, each target
// linking to its group's page; and that open rates are not available.
func TestMessageReport(t *testing.T) {
	e := startWith(t, "", func(cfg *configs.Config) {
		cfg.Tracking.BaseURL = "https://gc.example.com/"
		// The test's clicks come through a "proxy" naming the people.
		cfg.Tracking.Proxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	b := e.browser(t)
	b.get("/compose")
	id := idFromLocation(t, b.post("/compose", composeForm("维护通知", "详见 https://status.example.com/maint 。")))
	e.waitState(t, id, groupcast.StateDelivered)
	raw, err := os.ReadFile(filepath.Join(e.dir, "wx.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	m := trackedLink.FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatalf("no tracked link sent to wx:\n%s", raw)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	click := func(ip string, hdr ...string) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/l/"+m[1], nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.44")
		req.Header.Set("X-Forwarded-For", ip)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("click: %d", resp.StatusCode)
		}
	}
	click("203.0.113.1")
	click("203.0.113.1") // a repeat
	click("203.0.113.2")
	click("203.0.113.3", "X-Purpose", "preview")
	rep, err := e.svc.Report(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Tracked || rep.Clicks != 2 || rep.Delivered != 3 {
		t.Fatalf("engine report: %+v", rep)
	}
	p := b.get("/messages/" + id)
	for _, w := range []string{
		`id="report"`, "效果报告",
		`id="rep-delivered">3 / 3<`, `id="rep-clicks">2<`, `id="rep-rate">66.7%<`,
		"按平台", "按目标", `<span class="url">https://status.example.com/maint</span> · 2`, "没有打开率",
		`href="` + groupPath("wx", "运维群") + `"`, `href="/groups/qq/123456"`, `href="/groups/dt/dt"`,
	} {
		if !strings.Contains(p.body, w) {
			t.Errorf("message page: no %q in\n%s", w, p.body)
		}
	}
	if strings.Contains(p.body, "未测量") || strings.Contains(p.body, "tracking.base_url") {
		t.Error("a tracked announcement's clicks are shown as not measured")
	}
	// An A/B test: the report has a row per variant.
	ab, err := groupcast.Parse(groupcast.FormatMarkdown, []byte("---\nid: ab-1\ntitle: 周报\ntags: [ops]\n"+
		"variants: [{name: A}, {name: B, title: 本周周报}]\n---\n详见 https://wiki.example.com/weekly 。"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Submit(context.Background(), ab); err != nil {
		t.Fatal(err)
	}
	e.waitState(t, "ab-1", groupcast.StateDelivered)
	abRep, err := e.svc.Report(context.Background(), "ab-1")
	if err != nil || len(abRep.ByVariant) != 2 {
		t.Fatalf("engine report of the A/B test: %+v %v", abRep, err)
	}
	v := b.get("/messages/ab-1")
	for _, f := range abRep.ByVariant {
		row := fmt.Sprintf(`<tr><td>%s</td><td class="num">%d</td><td class="num">%d</td>`, f.Name, f.Targets, f.Delivered)
		if !strings.Contains(v.body, "按版本") || !strings.Contains(v.body, row) {
			t.Errorf("the A/B test's page: no variant row %q in\n%s", row, v.body)
		}
	}
	en := b.get("/messages/" + id + "?lang=en")
	for _, w := range []string{"Counted clicks", "Click rate", "By platform", "No open rate", "not per member"} {
		if !strings.Contains(en.body, w) {
			t.Errorf("?lang=en: no %q", w)
		}
	}
}

// TestMessageReportUntracked: without tracking the report says clicks
// were not measured rather than showing zeros.
func TestMessageReportUntracked(t *testing.T) {
	e := start(t, "")
	b := e.browser(t)
	b.get("/compose")
	id := idFromLocation(t, b.post("/compose", composeForm("维护通知", "详见 https://status.example.com/maint 。")))
	e.waitState(t, id, groupcast.StateDelivered)
	p := b.get("/messages/" + id)
	for _, w := range []string{`id="rep-delivered">3 / 3<`, `id="rep-clicks"><span class="muted">未测量`, "tracking.base_url", "没有打开率"} {
		if !strings.Contains(p.body, w) {
			t.Errorf("untracked report: no %q in\n%s", w, p.body)
		}
	}
	if strings.Contains(p.body, `id="rep-clicks">0<`) || strings.Contains(p.body, "0.0%") {
		t.Error("an untracked announcement shows measured zeros")
	}
}

// member posts a join or a leave to the hub.
func (e *env) member(t testing.TB, join bool, account, group, id string) {
	t.Helper()
	e.memberAt(t, join, account, group, id, time.Now())
}

// memberAt posts a join or a leave that happened at.
func (e *env) memberAt(t testing.TB, join bool, account, group, id string, at time.Time) {
	t.Helper()
	kind := groupcast.EventMemberLeft
	if join {
		kind = groupcast.EventMemberJoined
	}
	if err := e.hub.Inbound(context.Background(), groupcast.InboundEvent{Kind: kind, Account: account, Group: group,
		ID: id, Sender: "u-" + id, At: at}); err != nil {
		t.Fatal(err)
	}
}

// waitFigures waits until the hub has counted joins and leaves of the
// group today (the hub takes events on its own goroutine).
func (e *env) waitFigures(t testing.TB, account, group string, joins, leaves int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rep, err := e.hub.Report(context.Background(), e.svc.Config(), account, group, 1)
		if err == nil && rep.Joins == joins && rep.Leaves == leaves {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s: figures %+v (err %v), want %d joins %d leaves", account, group, rep, err, joins, leaves)
		}
		time.Sleep(5 * time.Millisecond) // the hub's goroutine, not a clock: nothing to wait on
	}
}

// TestGroupPage: a group's page shows the hub's report (joins, leaves,
// sends per day, the leave rate, whether sends are counted) as a table
// and an SVG chart; the accounts page and the message page link to it,
// escaped; unknown accounts and groups are a 404 page; a bad days a 400.
func TestGroupPage(t *testing.T) {
	e := start(t, "")
	b := e.browser(t)
	b.get("/compose")
	id := idFromLocation(t, b.post("/compose", composeForm("维护通知", "今晚维护。")))
	e.waitState(t, id, groupcast.StateDelivered)
	for i := range 3 {
		e.member(t, true, "qq", "123456", fmt.Sprint("j", i))
	}
	e.member(t, false, "qq", "123456", "l0")
	e.member(t, true, "qq", "777", "j-777") // a group no route names
	e.waitFigures(t, "qq", "123456", 3, 1)
	e.waitFigures(t, "qq", "777", 1, 0)

	acc := b.get("/accounts")
	for _, w := range []string{`href="/groups/qq/123456"`, `href="/groups/dt/dt"`, `href="` + groupPath("wx", "运维群") + `"`,
		`href="` + groupHref("wx", oddGroup) + `"`, "值班 2/3 #群?&amp;&lt;i&gt;"} {
		if !strings.Contains(acc.body, w) {
			t.Errorf("/accounts: no %q in\n%s", w, acc.body)
		}
	}
	if p := b.get("/messages/" + id); !strings.Contains(p.body, `<a class="grouplink" href="/groups/qq/123456">123456</a>`) {
		t.Errorf("the message page's target does not link its group:\n%s", p.body)
	}

	p := b.get("/groups/qq/123456")
	if p.status != 200 {
		t.Fatalf("group page: %d %s", p.status, p.body)
	}
	for _, w := range []string{"群报告", `id="g-joins">3<`, `id="g-leaves">1<`, `id="g-rate">25.0%<`, `id="g-sends">1<`,
		"发送已计数", "<svg", `class="c-join"`, `class="c-leave"`, `class="c-send"`, "入群 3</title>", "(30 天)"} {
		if !strings.Contains(p.body, w) {
			t.Errorf("group page: no %q in\n%s", w, p.body)
		}
	}
	if n := strings.Count(p.body, "<rect "); n != 3 {
		t.Errorf("chart: %d bars, want 3 (today's joins, leaves and sends; no bar for a 0)", n)
	}
	week := b.get("/groups/qq/123456?days=7")
	if rows := regexp.MustCompile(`(?s)<tbody>.*</tbody>`).FindString(week.body); strings.Count(rows, "<tr>") != 7 {
		t.Errorf("?days=7: %d rows", strings.Count(rows, "<tr>"))
	}
	if en := b.get("/groups/qq/123456?lang=en"); !strings.Contains(en.body, "Joins") || !strings.Contains(en.body, "Sends are counted") {
		t.Errorf("?lang=en: not English:\n%s", en.body)
	}
	b.get("/?lang=zh")

	// A group only its events name: shown, and said so; its sends are not
	// counted (no route with a policy sends there).
	o := b.get("/groups/qq/777")
	for _, w := range []string{"没有路由发往此群", "发送未计数", `id="g-joins">1<`, `id="g-sends"><span class="muted">未测量`} {
		if !strings.Contains(o.body, w) {
			t.Errorf("unrouted group: no %q in\n%s", w, o.body)
		}
	}
	if n := strings.Count(o.body, "<rect "); n != 1 || strings.Contains(o.body, "c-send") {
		t.Errorf("chart of a group whose sends are not counted: %d bars (or a sends bar)", n)
	}
	// A group id with "/", "#", "?", "&" and "<": its link reaches it, the
	// name is escaped, the language switch keeps the path.
	odd := b.get(groupPath("wx", oddGroup))
	for _, w := range []string{"值班 2/3 #群?&amp;&lt;i&gt;", "发送未计数",
		`action="` + groupHref("wx", oddGroup) + `"`, `href="` + groupHref("wx", oddGroup) + `?lang=en"`} {
		if !strings.Contains(odd.body, w) {
			t.Errorf("odd group (%d): no %q in\n%s", odd.status, w, odd.body)
		}
	}
	if strings.Contains(odd.body, "<i>") {
		t.Error("the group id reached the page unescaped")
	}

	for _, c := range []struct {
		path   string
		status int
		want   string
	}{
		{"/groups/nope/123456", 404, "没有这个账号或群"},
		{"/groups/qq/999", 404, "没有这个账号或群"},
		{"/groups/qq", 404, "没有这个页面"},
		{"/groups/qq/123456?days=0", 400, "days"},
		{"/groups/qq/123456?days=91", 400, "1 到 90"},
		{"/groups/qq/123456?days=abc", 400, "days"},
		{"/groups/qq/123456?days=1.5", 400, "days"},
		{"/groups/nope/1?days=abc", 400, "days"},
	} {
		if p := b.get(c.path); p.status != c.status || !strings.Contains(p.body, c.want) {
			t.Errorf("GET %s: %d, want %d with %q: %s", c.path, p.status, c.status, c.want, p.body)
		}
	}

	// Without the inbound hub the page says reports are not available.
	cons, err := console.New(console.Options{Engine: e.svc, Drivers: registry.Lookup})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/groups/qq/123456", nil)
	req.Header.Set("Accept", "text/html")
	cons.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "inbound") {
		t.Errorf("no hub: %d %s", rec.Code, rec.Body)
	}
}

// TestGroupPageLogin: with tokens the group page needs a login (every
// role reads it) and still refuses a bad days and an unknown group.
func TestGroupPageLogin(t *testing.T) {
	e := start(t, roleTokens)
	b := e.browser(t)
	p := b.get("/groups/qq/123456?days=7")
	if p.status != http.StatusSeeOther || p.hdr.Get("Location") != "/login?next="+url.QueryEscape("/groups/qq/123456?days=7") {
		t.Fatalf("no session: %d %q", p.status, p.hdr.Get("Location"))
	}
	if p := b.get(groupPath("wx", oddGroup)); p.status != http.StatusSeeOther ||
		p.hdr.Get("Location") != "/login?next="+url.QueryEscape(groupPath("wx", oddGroup)) {
		t.Errorf("no session, odd group: %d %q", p.status, p.hdr.Get("Location"))
	}
	b.login("rita-token")
	if p := b.get("/groups/qq/123456?days=7"); p.status != 200 || !strings.Contains(p.body, "(7 天)") {
		t.Errorf("logged in: %d %s", p.status, p.body)
	}
	if p := b.get("/groups/qq/123456?days=100"); p.status != 400 {
		t.Errorf("bad days: %d", p.status)
	}
	if p := b.get("/groups/qq/999"); p.status != 404 {
		t.Errorf("unknown group: %d", p.status)
	}
	// The figures stay the hub's: an unrouted group with no events is
	// unknown, not an empty report.
	rep, err := e.hub.Report(context.Background(), e.svc.Config(), "qq", "999", inbound.MaxDays)
	if err != nil || rep.Joins+rep.Leaves+rep.Sends != 0 {
		t.Errorf("hub report of an unknown group: %+v %v", rep, err)
	}
}
