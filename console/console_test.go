package console_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/qq/qqfake"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/api"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/console"
	"github.com/groupcast/groupcast/inbound"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

// testConfig routes tag ops to three file accounts (one per platform)
// under a policy that holds 内部资料 for review and masks 加微信.
// The QQ account is a OneBot driver against the strict fake (it recalls:
// delete_msg); the others write files.
func testConfig(dir, tokens, onebot string) string {
	return fmt.Sprintf(`
timezone: Asia/Shanghai
store: {driver: memory}
server: {max_body: 64KiB%s}
accounts:
  - {name: dt, platform: dingtalk, driver: file, path: %[2]s/dt.jsonl}
  - {name: wx, platform: wechat, driver: file, path: %[2]s/wx.jsonl}
  - {name: qq, platform: qq, driver: onebot, base_url: "%[3]s", access_token: qq-secret, rate: {per_minute: 600}}
policies:
  - name: careful
    windows: ["08:00-22:00"]
    daily_cap: {new: 50, mature: 80}
    rules:
      - {name: internal, action: review, terms: ["内部资料"]}
      - {name: wechat-ad, action: mask, pattern: "加微信"}
routes:
  - name: ops
    match: {tags: [ops]}
    policy: careful
    targets: [{account: dt}, {account: wx, groups: ["运维群"]}, {account: qq, groups: ["123456"]}]
  - name: odd
    match: {tags: [odd]}
    targets: [{account: wx, groups: ["%[4]s"]}]
`, tokens, dir, onebot, oddGroup)
}

// oddGroup is a group id that needs escaping in a URL's path.
const oddGroup = "值班 2/3 #群?&<i>"

const roleTokens = `, tokens: [{name: alice, token: alice-token, role: admin}, {name: sam, token: sam-token, role: sender}, {name: rita, token: rita-token, role: reviewer}]`

func loadConfig(t testing.TB, yaml string) *configs.Config {
	t.Helper()
	cfg, err := configs.LoadBytes([]byte(yaml), "t.yaml", configs.Options{Catalog: registry.Catalog,
		CheckPolicy: func(p configs.Policy, loc *time.Location) error {
			_, err := policy.Compile(p, loc)
			return err
		},
		LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fakeNow is the console's clock (sessions expire by it).
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeNow) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

type env struct {
	srv   *httptest.Server
	svc   *router.Service
	st    *store.Store
	hub   *inbound.Hub
	clock *fakeNow
	dir   string
}

// start runs an engine on the memory store under the test config and
// serves the console wrapped around the API, as serve does. The engine's
// clock is the wall clock (deliveries happen at once: no pacing on the
// file driver, and the policy's window is checked against it, so the
// test config's window is wide); the console's clock is fake.
func start(t testing.TB, tokens string) *env {
	t.Helper()
	return startWith(t, tokens, nil)
}

// startWith is start with the config changed by change (before the
// engine starts). The inbound hub runs too: the group pages read it.
func startWith(t testing.TB, tokens string, change func(*configs.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	bot := qqfake.NewOneBot("qq-secret")
	t.Cleanup(bot.Close)
	cfg := loadConfig(t, testConfig(dir, tokens, bot.URL()))
	// Deliveries must not wait for the window whatever the hour the test
	// runs at: the window is dropped unless a test wants it.
	cfg.Policies[0].Windows = nil
	if change != nil {
		change(cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, store.Options{Driver: store.DriverMemory})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := router.New(router.Options{Store: st, Config: cfg, Drivers: registry.Lookup})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Running()
	hub, err := inbound.New(inbound.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	hubDone := make(chan error, 1)
	go func() { hubDone <- hub.Run(ctx, svc) }()
	clock := &fakeNow{t: time.Now()}
	cons, err := console.New(console.Options{Engine: svc, Drivers: registry.Lookup, Now: clock.now, Groups: hub})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(cons.Wrap(api.NewServer(svc, registry.Lookup, nil)))
	t.Cleanup(func() {
		cons.Close()
		srv.Close()
		cancel()
		<-done
		<-hubDone
		st.Close()
	})
	return &env{srv: srv, svc: svc, st: st, hub: hub, clock: clock, dir: dir}
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	t    testing.TB
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status int
	body   string
	hdr    http.Header
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf" content="([^"]*)">`)

func (b *browser) do(method, path string, form url.Values, hdr ...string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.e.srv.URL+path, body)
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, body: string(data), hdr: resp.Header}
	if m := csrfMeta.FindStringSubmatch(p.body); m != nil && m[1] != "" {
		b.csrf = m[1]
	}
	return p
}

func (b *browser) get(path string) page { return b.do("GET", path, nil) }

// post sends a form with the browser's CSRF token.
func (b *browser) post(path string, form url.Values) page {
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf)
	}
	return b.do("POST", path, form)
}

// login logs in with tok and answers the login's answer.
func (b *browser) login(tok string) page {
	b.t.Helper()
	if p := b.get("/login"); p.status != 200 {
		b.t.Fatalf("GET /login: %d", p.status)
	}
	return b.post("/login", url.Values{"token": {tok}, "next": {"/"}})
}

// waitState waits (by the engine's watch, no polling) until every target
// of id is in state.
func (e *env) waitState(t testing.TB, id string, state groupcast.State) groupcast.Status {
	t.Helper()
	changes, stop := e.svc.Watch()
	defer stop()
	deadline := time.After(15 * time.Second)
	for {
		st, err := e.svc.Status(context.Background(), id)
		if err == nil && len(st.Targets) > 0 && !slices.ContainsFunc(st.Targets, func(tg groupcast.Target) bool { return tg.State != state }) {
			return st
		}
		select {
		case <-changes:
		case <-deadline:
			t.Fatalf("%s: targets never all %s: %+v (err %v)", id, state, st.Targets, err)
		}
	}
}

// waitRecall waits until every target's recall is settled.
func (e *env) waitRecall(t testing.TB, id string) groupcast.Status {
	t.Helper()
	changes, stop := e.svc.Watch()
	defer stop()
	deadline := time.After(15 * time.Second)
	for {
		st, err := e.svc.Status(context.Background(), id)
		if err == nil && !slices.ContainsFunc(st.Targets, func(tg groupcast.Target) bool { return tg.Recall == nil || !tg.Recall.State.Settled() }) {
			return st
		}
		select {
		case <-changes:
		case <-deadline:
			t.Fatalf("%s: recall never settled: %+v (err %v)", id, st.Targets, err)
		}
	}
}

func composeForm(title, body string) url.Values {
	return url.Values{"title": {title}, "body": {body}, "tags": {"ops, 维护"}, "category": {"notice"}, "priority": {"normal"}}
}

func idFromLocation(t testing.TB, p page) string {
	t.Helper()
	loc := p.hdr.Get("Location")
	id, ok := strings.CutPrefix(loc, "/messages/")
	if p.status != http.StatusSeeOther || !ok {
		t.Fatalf("want 303 to /messages/ID, got %d %q: %s", p.status, loc, p.body)
	}
	return id
}

// TestOpenModeEveryPage: with no tokens every page answers (with the CSP
// and the other headers), and the editor sends through the engine.
func TestOpenModeEveryPage(t *testing.T) {
	e := start(t, "")
	b := e.browser(t)
	for _, path := range []string{"/", "/compose", "/review", "/calendar", "/accounts", "/?lang=en", "/?state=delivered&platform=qq&tag=ops&q=x",
		"/groups/qq/123456", "/groups/dt/dt?days=90"} {
		p := b.get(path)
		if p.status != 200 {
			t.Fatalf("GET %s: %d %s", path, p.status, p.body)
		}
		if got := p.hdr.Get("Content-Security-Policy"); got != console.CSP {
			t.Errorf("GET %s: CSP %q", path, got)
		}
		if p.hdr.Get("X-Content-Type-Options") != "nosniff" || p.hdr.Get("Referrer-Policy") == "" {
			t.Errorf("GET %s: headers %v", path, p.hdr)
		}
		if strings.Contains(p.body, "<script>") || strings.Contains(p.body, " style=") || strings.Contains(p.body, "<style") || strings.Contains(p.body, " on") && regexp.MustCompile(` on[a-z]+=`).MatchString(p.body) {
			t.Errorf("GET %s: inline script or style", path)
		}
	}
	if p := b.get("/?lang=en"); !strings.Contains(p.body, "Board") {
		t.Error("?lang=en: not English")
	}
	if p := b.get("/"); !strings.Contains(p.body, "Board") {
		t.Error("the language choice is not kept")
	}
	if p := e.browser(t).do("GET", "/", nil, "Accept-Language", "en-US,en;q=0.9"); !strings.Contains(p.body, "Board") {
		t.Error("Accept-Language en: not English")
	}
	if p := e.browser(t).get("/"); !strings.Contains(p.body, "看板") {
		t.Error("default: not Chinese")
	}

	b.get("/?lang=zh")
	p := b.post("/compose", composeForm("系统维护通知", "今晚 **22:00** 维护，请加微信 ops 咨询。"))
	id := idFromLocation(t, p)
	e.waitState(t, id, groupcast.StateDelivered)
	for path, want := range map[string][]string{
		"/messages/" + id:                       {"系统维护通知", "已送达", "运维群", "123456", "wechat-ad", "**", `id="report"`, "<td>1 / 10</td>"},
		"/":                                     {"系统维护通知", "row-" + id, "已送达"},
		"/?row=" + id:                           {"row-" + id},
		"/messages/" + id + "?fragment=targets": {`id="targets"`, "</time> <b>排队</b>", "</time> <b>已送达</b>"}, // the stored timeline
		"/messages/" + id + "?fragment=report":  {`<section id="report"`, `id="rep-delivered">3 / 3<`},
		"/accounts":                             {"dt", "wx", "qq", "file"},
	} {
		got := b.get(path)
		for _, w := range want {
			if !strings.Contains(got.body, w) {
				t.Errorf("GET %s: no %q in\n%s", path, w, got.body)
			}
		}
	}
	if p := b.get("/?row=" + id + "&platform=nope"); p.status != http.StatusNoContent {
		t.Errorf("a row that does not match the filter: %d", p.status)
	}
	if p := b.get("/?state=delivered"); !strings.Contains(p.body, id) {
		t.Error("the state filter left out a delivered announcement")
	}
	if p := b.get("/?state=held"); strings.Contains(p.body, "row-"+id) {
		t.Error("the state filter kept a delivered announcement under held")
	}
}

// TestPreviewIsTheAPIs: the editor's preview (JSON) is what /v1/preview
// answers for the same announcement; its HTML marks the rule hits and
// shows bytes and characters against the platform's limit.
func TestPreviewIsTheAPIs(t *testing.T) {
	e := start(t, "")
	b := e.browser(t)
	b.get("/compose")
	form := composeForm("维护", "请加微信 ops 咨询。\n\n这是内部资料。")
	form.Set("csrf", b.csrf)
	j := b.do("POST", "/compose/preview", form, "Accept", "application/json")
	if j.status != 200 {
		t.Fatalf("preview: %d %s", j.status, j.body)
	}
	md := "---\ntitle: 维护\ntags: [ops, 维护]\ncategory: notice\npriority: normal\n---\n请加微信 ops 咨询。\n\n这是内部资料。"
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/preview", strings.NewReader(md))
	req.Header.Set("Content-Type", "text/markdown")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	apiBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var mine, theirs any
	if err := json.Unmarshal([]byte(j.body), &mine); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(apiBody, &theirs); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(mine) != fmt.Sprint(theirs) {
		t.Errorf("the console's preview differs from /v1/preview:\n%s\n%s", j.body, apiBody)
	}
	h := b.do("POST", "/compose/preview", form)
	for _, w := range []string{"<mark>内部资料</mark>", "internal: review", "字节", "字符", "待审", "运维群"} {
		if !strings.Contains(h.body, w) {
			t.Errorf("preview HTML: no %q in\n%s", w, h.body)
		}
	}
	form.Set("send_at", "tomorrow")
	if p := b.do("POST", "/compose/preview", form); p.status != 422 || !strings.Contains(p.body, "send_at") {
		t.Errorf("a bad send_at: %d %s", p.status, p.body)
	}
}

// TestCSRFRefused: a state-changing request without the CSRF token, with
// another one, or from another site is refused and changes nothing.
func TestCSRFRefused(t *testing.T) {
	e := start(t, roleTokens)
	b := e.browser(t)
	if p := b.login("alice-token"); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", p.status, p.body)
	}
	b.get("/compose")
	good := b.csrf
	for name, c := range map[string]struct {
		csrf string
		hdr  []string
	}{
		"none":       {csrf: "-"},
		"other":      {csrf: strings.Repeat("A", len(good))},
		"cross-site": {csrf: good, hdr: []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		form := composeForm("x", "y")
		form.Set("csrf", c.csrf)
		if c.csrf == "-" {
			form.Del("csrf")
		}
		p := b.do("POST", "/compose", form, c.hdr...)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "CSRF") {
			t.Errorf("%s: %d %s", name, p.status, p.body)
		}
	}
	if list, _ := e.svc.List(context.Background(), "", 10); len(list) != 0 {
		t.Fatalf("a refused form was accepted: %v", list)
	}
	// Another session's token is not this one's.
	b2 := e.browser(t)
	b2.login("alice-token")
	b2.get("/compose")
	if b2.csrf == good {
		t.Fatal("two sessions share a CSRF token")
	}
	form := composeForm("x", "y")
	form.Set("csrf", b2.csrf)
	if p := b.do("POST", "/compose", form); p.status != http.StatusForbidden {
		t.Errorf("another session's token: %d", p.status)
	}
	// The login form and logout are guarded too.
	if p := e.browser(t).do("POST", "/login", url.Values{"token": {"alice-token"}}); p.status != http.StatusForbidden {
		t.Errorf("login without CSRF: %d", p.status)
	}
	if p := b.do("POST", "/logout", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("logout without CSRF: %d", p.status)
	}
	// Open mode: the browser's double-submit cookie.
	o := start(t, "")
	ob := o.browser(t)
	ob.get("/compose")
	if p := ob.do("POST", "/compose", composeForm("x", "y")); p.status != http.StatusForbidden {
		t.Errorf("open mode without CSRF: %d", p.status)
	}
	if p := ob.post("/compose", composeForm("x", "y")); p.status != http.StatusSeeOther {
		t.Errorf("open mode with CSRF: %d %s", p.status, p.body)
	}
}

// TestSession: pages need a login; the cookie is HttpOnly, SameSite
// Strict, Secure behind TLS, carries no token, and ends when it expires,
// when the token is removed from the config, or at logout.
func TestSession(t *testing.T) {
	e := start(t, roleTokens)
	b := e.browser(t)
	p := b.get("/review")
	if p.status != http.StatusSeeOther || p.hdr.Get("Location") != "/login?next=%2Freview" {
		t.Fatalf("no session: %d %q", p.status, p.hdr.Get("Location"))
	}
	if p := b.get("/events"); p.status != http.StatusUnauthorized {
		t.Errorf("events without a session: %d", p.status)
	}
	if p := b.login("wrong-token"); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "令牌无效") {
		t.Fatalf("bad token: %d", p.status)
	}
	// A login body past 64 KiB is refused before any of it counts.
	big := b.do("POST", "/login", url.Values{"token": {"sam-token"}, "csrf": {b.csrf}, "pad": {strings.Repeat("x", 1<<20)}})
	if big.status != http.StatusRequestEntityTooLarge || strings.Contains(big.hdr.Get("Set-Cookie"), "gc_session=e") {
		t.Fatalf("a 1 MB login: %d %q", big.status, big.hdr.Values("Set-Cookie"))
	}
	p = b.login("sam-token")
	if p.status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", p.status, p.body)
	}
	var sess *http.Cookie
	for _, c := range (&http.Response{Header: p.hdr}).Cookies() {
		if c.Name == "gc_session" {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure || sess.MaxAge != 12*3600 {
		t.Fatalf("session cookie: %+v", sess)
	}
	if strings.Contains(sess.Value, "sam-token") {
		t.Fatal("the session cookie carries the token")
	}
	if p := b.get("/"); p.status != 200 || !strings.Contains(p.body, "sam (sender)") {
		t.Fatalf("logged in: %d", p.status)
	}
	// Behind a TLS proxy the cookie is Secure.
	tb := e.browser(t)
	tb.do("GET", "/login", nil, "X-Forwarded-Proto", "https")
	lp := tb.do("POST", "/login", url.Values{"token": {"sam-token"}, "csrf": {tb.csrf}}, "X-Forwarded-Proto", "https")
	if !strings.Contains(lp.hdr.Get("Set-Cookie"), "Secure") {
		t.Errorf("behind TLS: %q", lp.hdr.Values("Set-Cookie"))
	}
	// A forged cookie (another role) is refused.
	forged := strings.Replace(sess.Value, sess.Value[:5], "eyJuI", 1)
	fb := e.browser(t)
	u, _ := url.Parse(e.srv.URL)
	fb.c.Jar.SetCookies(u, []*http.Cookie{{Name: "gc_session", Value: forged + "x"}})
	if p := fb.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("forged session: %d", p.status)
	}
	// Expired (a just-in-time session is good; the expired one is
	// refused and cleared).
	e.clock.add(12*time.Hour - time.Second)
	if p := b.get("/"); p.status != 200 {
		t.Fatalf("session before expiry: %d", p.status)
	}
	e.clock.add(2 * time.Second)
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("expired session: %d", p.status)
	}
	e.clock.add(-12 * time.Hour)
	b = e.browser(t)
	b.login("sam-token")
	if p := b.get("/"); p.status != 200 {
		t.Fatalf("a new login: %d", p.status)
	}
	// The token removed from the config: its sessions end.
	next := *e.svc.Config()
	next.Server.Tokens = slices.DeleteFunc(slices.Clone(next.Server.Tokens), func(t configs.Token) bool { return t.Name == "sam" })
	if err := e.svc.Apply(&next); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("session of a removed token: %d", p.status)
	}
	// Logout.
	a := e.browser(t)
	a.login("alice-token")
	a.get("/")
	if p := a.post("/logout", nil); p.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.status)
	}
	if p := a.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("after logout: %d", p.status)
	}
	// A next outside the site is not followed.
	x := e.browser(t)
	x.get("/login")
	if p := x.post("/login", url.Values{"token": {"alice-token"}, "next": {"//evil.example/"}}); p.hdr.Get("Location") != "/" {
		t.Errorf("next to another site: %q", p.hdr.Get("Location"))
	}
}

// TestRolesAndReview: a reviewer may not send, a sender may not decide;
// the reviewer approves a held announcement as themselves, a rejection
// needs a reason, and the decision is in the ledger.
func TestRolesAndReview(t *testing.T) {
	e := start(t, roleTokens)
	sam, rita := e.browser(t), e.browser(t)
	sam.login("sam-token")
	rita.login("rita-token")
	rita.get("/")
	if p := rita.post("/compose", composeForm("x", "y")); p.status != http.StatusForbidden || !strings.Contains(p.body, "sender") {
		t.Errorf("reviewer sends: %d %s", p.status, p.body)
	}
	if p := rita.get("/compose"); strings.Contains(p.body, `href="/compose"`) {
		t.Error("the reviewer's nav offers the editor")
	}
	sam.get("/compose")
	id1 := idFromLocation(t, sam.post("/compose", composeForm("季度复盘", "这是内部资料，请勿外传。")))
	id2 := idFromLocation(t, sam.post("/compose", composeForm("另一份", "也是内部资料。")))
	e.waitState(t, id1, groupcast.StateHeld)
	e.waitState(t, id2, groupcast.StateHeld)
	if p := sam.post("/review/"+id1+"/approve", nil); p.status != http.StatusForbidden {
		t.Errorf("sender approves: %d", p.status)
	}
	if p := rita.post("/messages/"+id1+"/recall", nil); p.status != http.StatusForbidden {
		t.Errorf("reviewer recalls: %d", p.status)
	}
	q := rita.get("/review")
	for _, w := range []string{"季度复盘", "<mark>内部资料</mark>", "sam", "internal", "/review/" + id1 + "/approve", `name="reason" required`} {
		if !strings.Contains(q.body, w) {
			t.Errorf("/review: no %q", w)
		}
	}
	if p := rita.post("/review/"+id2+"/reject", url.Values{"reason": {"  "}}); p.status != http.StatusBadRequest {
		t.Errorf("reject without a reason: %d", p.status)
	}
	if p := rita.post("/review/"+id1+"/approve", nil); p.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", p.status, p.body)
	}
	if p := rita.post("/review/"+id2+"/reject", url.Values{"reason": {"不合适"}}); p.status != http.StatusSeeOther {
		t.Fatalf("reject: %d %s", p.status, p.body)
	}
	st := e.waitState(t, id1, groupcast.StateDelivered)
	_ = st
	st2 := e.waitState(t, id2, groupcast.StateRejected)
	if !strings.Contains(st2.Targets[0].Reason, "rejected by rita: 不合适") {
		t.Errorf("rejection reason: %q", st2.Targets[0].Reason)
	}
	rv, err := e.st.Review(context.Background(), id1)
	if err != nil || rv.By != "rita" || rv.Decision != "approved" {
		t.Errorf("ledger review: %+v %v", rv, err)
	}
	if p := rita.post("/review/"+id1+"/approve", nil); p.status != http.StatusConflict {
		t.Errorf("approve twice: %d", p.status)
	}
	// Recall by the sender, from the message page.
	sam.get("/messages/" + id1)
	if p := sam.post("/messages/"+id1+"/recall", nil); p.status != http.StatusSeeOther {
		t.Fatalf("recall: %d %s", p.status, p.body)
	}
	e.waitRecall(t, id1)
	p := sam.get("/messages/" + id1)
	for _, w := range []string{"recall_unsupported", "已撤回", "不支持撤回"} {
		if !strings.Contains(p.body, w) {
			t.Errorf("the message page after the recall: no %q", w)
		}
	}
}

// TestBadInput: unknown ids are a 404 page, malformed forms a clear
// error naming the field, unknown paths and methods answered, and
// nothing is stored.
func TestBadInput(t *testing.T) {
	e := start(t, "")
	b := e.browser(t)
	b.get("/compose")
	for _, c := range []struct {
		method, path string
		form         url.Values
		status       int
		want         string
	}{
		{"GET", "/messages/nope", nil, 404, "找不到"},
		{"GET", "/messages/a..b", nil, 404, "找不到"},
		{"GET", "/messages/x/y", nil, 404, "没有这个页面"},
		{"GET", "/nope", nil, 404, "not_found"}, // the API's
		{"GET", "/?state=bogus", nil, 400, "state"},
		{"GET", "/calendar?week=bogus", nil, 400, "week"},
		{"GET", "/static/app.js", nil, 404, ""},
		{"DELETE", "/compose", nil, 405, ""},
		{"POST", "/compose", url.Values{"title": {""}, "body": {"x"}, "tags": {"ops"}}, 422, "title"},
		{"POST", "/compose", url.Values{"title": {"x"}, "body": {"x"}, "tags": {"nothing-routes-this"}}, 422, "tags"},
		{"POST", "/compose", url.Values{"title": {"x"}, "body": {"x"}, "tags": {"ops"}, "category": {"gossip"}}, 422, "category"},
		{"POST", "/compose", url.Values{"title": {"x"}, "body": {"x"}, "tags": {"ops"}, "send_at": {"2026-13-45T99:00"}}, 422, "send_at"},
		{"POST", "/compose", url.Values{"title": {"x"}, "body": {"x"}, "tags": {"ops"}, "links": {"docs | ftp://x"}}, 422, "links"},
		{"POST", "/compose", url.Values{"title": {"x"}, "tags": {"ops"}, "body": {strings.Repeat("长", 50<<10)}}, 413, "max_body"},
		{"POST", "/review/nope/approve", nil, 404, ""},
		{"POST", "/messages/nope/recall", nil, 404, ""},
	} {
		var p page
		if c.method == "POST" {
			p = b.post(c.path, c.form)
		} else {
			p = b.do(c.method, c.path, nil)
		}
		if p.status != c.status || !strings.Contains(p.body, c.want) {
			t.Errorf("%s %s: %d, want %d with %q: %s", c.method, c.path, p.status, c.status, c.want, p.body)
		}
	}
	// A body that is not a form at all (bad escapes): the CSRF token in
	// the header, as the script sends it.
	req, _ := http.NewRequest("POST", e.srv.URL+"/compose", strings.NewReader("title=%zz&body=%"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", b.csrf)
	u, _ := url.Parse(e.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 422 {
		t.Errorf("malformed form: %d", resp.StatusCode)
	}
	if list, _ := e.svc.List(context.Background(), "", 10); len(list) != 0 {
		t.Fatalf("bad input was stored: %v", list)
	}
	// API paths still reach the API.
	if p := b.get("/v1/messages"); p.status != 200 || !strings.Contains(p.body, "messages") {
		t.Errorf("/v1 through the console's wrap: %d %s", p.status, p.body)
	}
	if p := b.get("/healthz"); p.status != 200 {
		t.Errorf("/healthz: %d", p.status)
	}
}

// TestPageWeight: the board's HTML, script and style stay small; the
// figures are logged (uncompressed, and gzip as served for the assets).
func TestPageWeight(t *testing.T) {
	e := start(t, "")
	b := e.browser(t)
	p := b.get("/")
	assets := regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(p.body, -1)
	if len(assets) != 2 {
		t.Fatalf("assets of /: %v", assets)
	}
	total, gz := len(p.body), gzipLen(p.body)
	for _, a := range assets {
		plain := b.get(a[1])
		if plain.status != 200 || !strings.Contains(plain.hdr.Get("Cache-Control"), "immutable") {
			t.Fatalf("%s: %d %v", a[1], plain.status, plain.hdr)
		}
		zipped := b.do("GET", a[1], nil, "Accept-Encoding", "gzip")
		if zipped.hdr.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: not served gzip", a[1])
		}
		total += len(plain.body)
		gz += len(zipped.body)
	}
	t.Logf("page weight of / (empty board): %d bytes HTML+JS+CSS uncompressed, %d gzip", total, gz)
	if total > 40<<10 {
		t.Errorf("/ weighs %d bytes: over the 40 KiB budget", total)
	}
}

func gzipLen(s string) int {
	var buf strings.Builder
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return buf.Len()
}
