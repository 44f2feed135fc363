package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	cdpage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/groupcast/groupcast"
)

// chromium finds the browser; the test skips without one unless
// GROUPCAST_REQUIRE_BROWSER is set (CI sets it, and installs Chromium).
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("GROUPCAST_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("GROUPCAST_REQUIRE_BROWSER") != "" {
		t.Fatal("GROUPCAST_REQUIRE_BROWSER is set but no Chromium was found (apt-get install -y chromium, or GROUPCAST_CHROMIUM=path)")
	}
	t.Skip("no Chromium on this machine: the browser test is skipped (apt-get install -y chromium to run it; CI sets GROUPCAST_REQUIRE_BROWSER)")
	return ""
}

// browserSession is headless Chromium on a fresh profile, failing the test
// on any script error or console error (a CSP violation is one).
type browserSession struct {
	t      *testing.T
	ctx    context.Context
	mu     sync.Mutex
	errors []string
	shots  string
}

func newBrowser(t *testing.T) *browserSession {
	path := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	b := &browserSession{t: t, ctx: ctx, shots: os.Getenv("GROUPCAST_SCREENSHOTS")}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	return b
}

// tab opens a new tab that reports errors and accepts confirmations.
func (b *browserSession) tab() context.Context {
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if x := e.ExceptionDetails.Exception; x != nil {
				msg += " " + x.Description
			}
			b.fail("script error: " + msg)
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError && !strings.HasSuffix(e.Entry.URL, "/favicon.ico") {
				b.fail("console: " + e.Entry.Text)
			}
		}
	}); err != nil {
		b.t.Fatal(err)
	}
	dialogs := chromedp.Events(ctx, cdpage.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, cdpage.HandleJavaScriptDialog, cdpage.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		b.t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		b.t.Fatal(err)
	}
	return ctx
}

func (b *browserSession) fail(msg string) {
	b.mu.Lock()
	b.errors = append(b.errors, msg)
	b.mu.Unlock()
}

func (b *browserSession) run(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	step, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(step, actions...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		b.mu.Lock()
		defer b.mu.Unlock()
		b.t.Fatalf("%s: %v\n%s\nerrors: %v", what, err, html, b.errors)
	}
}

// settle waits for a condition on a page that may be navigating (a form
// posted): a poll the navigation cut off is polled again.
func (b *browserSession) settle(ctx context.Context, what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		step, cancel := context.WithTimeout(ctx, time.Until(deadline))
		err := chromedp.Do(step, chromedp.WaitReady(chromedp.CSS("body")), until(cond))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || !strings.Contains(err.Error(), "-32000") {
			b.t.Fatalf("%s: %v", what, err)
		}
	}
}

// value runs one action that answers a value.
func value[T any](b *browserSession, ctx context.Context, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// until waits for a JavaScript condition.
func until(cond string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(20*time.Second))
}

// shot saves a PNG of the tab under GROUPCAST_SCREENSHOTS, when set.
func (b *browserSession) shot(ctx context.Context, name string) {
	if b.shots == "" {
		return
	}
	png := value(b, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// patch is one row the board's script patched from a live change.
type patch struct {
	ID string  `json:"id"`
	At float64 `json:"at"` // ms since the epoch, the browser's clock
}

// TestBrowser drives headless Chromium through the console: log in;
// compose (the three renderings appear, the draft survives a reload);
// send, and the board (open in another tab) shows the announcement and
// its targets turn delivered live; a held announcement approved in
// /review is delivered; a recall from its page shows its progress. It
// measures the time from a target's delivered write to the board
// showing it.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	e := start(t, roleTokens)
	b := newBrowser(t)
	board := b.tab()
	base := e.srv.URL
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	delivered := func(msg string, n int) chromedp.Action[chromedp.Void] {
		return until(fmt.Sprintf(`document.querySelectorAll("#row-%s .chip.s-delivered").length === %d`, msg, n))
	}

	b.run(board, "login",
		chromedp.Navigate(base+"/?lang=zh"), // Chinese first (the cookie keeps it)
		chromedp.WaitVisible(id("token")),
		chromedp.SendKeys(id("token"), "alice-token"),
		chromedp.Submit(id("token")),
		chromedp.WaitVisible(css(`body[data-page=board]`)),
		chromedp.WaitVisible(css(`#live.on`)),
	)

	// Compose in a second tab (the same session); the board stays open.
	compose := b.tab()
	b.run(compose, "compose",
		chromedp.Navigate(base+"/compose"),
		chromedp.WaitVisible(id("f-title")),
		chromedp.SendKeys(id("f-title"), "系统维护通知"),
		chromedp.SendKeys(id("f-tags"), "ops"),
		chromedp.SendKeys(id("f-body"), "今晚 **22:00** 至 **24:00** 系统维护，期间服务暂停。\n\n- 影响：登录、下单\n- 联系：值班电话\n\n如有疑问请加微信 ops 咨询。"),
		chromedp.WaitVisible(css(`#preview .p-dingtalk`)),
		chromedp.WaitVisible(css(`#preview .p-wechat`)),
		chromedp.WaitVisible(css(`#preview .p-qq`)),
		chromedp.WaitVisible(css(`#preview mark`)), // the masked term, highlighted
	)
	b.shot(compose, "compose")
	b.run(compose, "reload", chromedp.Reload(), chromedp.WaitVisible(css(`#preview .p-qq`)))
	if title := value(b, compose, "the draft after a reload", chromedp.Value(id("f-title"))); title != "系统维护通知" {
		t.Fatalf("the draft after a reload: title %q", title)
	}
	b.run(compose, "send", chromedp.Click(id("send")), chromedp.WaitVisible(css(`body[data-page=message]`)))
	msg := strings.TrimPrefix(value(b, compose, "location", chromedp.Location()), base+"/messages/")
	b.run(board, "the board shows it delivered, live", chromedp.WaitVisible(css(`#row-`+msg)), delivered(msg, 3))
	patched := value(b, board, "patches", chromedp.Evaluate[[]patch](`window.gcPatches`))
	if !slices.ContainsFunc(patched, func(p patch) bool { return p.ID == msg }) {
		t.Fatalf("the row was not patched from the event stream: %v", patched)
	}
	if draft := value(b, compose, "draft", chromedp.Evaluate[string](`localStorage.getItem("gc-draft") || ""`)); draft != "" {
		t.Errorf("the draft is still kept after sending: %s", draft)
	}

	// The time from a state change in the ledger to the board showing
	// it: announcements submitted in-process; the last delivered write of
	// their targets (updated_at) against the moment the board's script
	// patched the row to show every target delivered.
	var lat []time.Duration
	for i := range 7 {
		a := &groupcast.Announcement{ID: fmt.Sprintf("lat-%d", i), Title: fmt.Sprintf("延迟测量 %d", i), Body: "测量。",
			Tags: []string{"ops"}, Category: groupcast.CategoryNotice, Priority: groupcast.PriorityNormal}
		if _, err := e.svc.Submit(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		st := e.waitState(t, a.ID, groupcast.StateDelivered)
		at := value(b, board, "latency "+a.ID, chromedp.Poll[float64](fmt.Sprintf(
			`(function(){var ps=window.gcPatches.filter(function(p){return p.id===%q});`+
				`return document.querySelectorAll("#row-%s .chip.s-delivered").length===3 && ps.length ? ps[ps.length-1].at : 0})()`,
			a.ID, a.ID), chromedp.WithPollingTimeout(10*time.Second)))
		var last time.Time
		for _, tg := range st.Targets {
			if tg.UpdatedAt.After(last) {
				last = tg.UpdatedAt
			}
		}
		lat = append(lat, time.UnixMilli(int64(at)).Sub(last))
	}
	slices.Sort(lat)
	t.Logf("ledger change → board shows it: median %v (min %v, max %v) over %d announcements of 3 targets "+
		"(headless Chromium and the daemon on one machine, memory store)", lat[len(lat)/2], lat[0], lat[len(lat)-1], len(lat))

	// A held announcement, approved in /review.
	b.run(compose, "compose a held one",
		chromedp.Navigate(base+"/compose"),
		chromedp.WaitVisible(id("f-title")),
		chromedp.SendKeys(id("f-title"), "季度复盘（内部）"),
		chromedp.SendKeys(id("f-tags"), "ops"),
		chromedp.SendKeys(id("f-body"), "本季度复盘材料属于**内部资料**，请勿外传。"),
		chromedp.WaitVisible(css(`#preview .s-held`)),
		chromedp.Click(id("send")),
		chromedp.WaitVisible(css(`body[data-page=message]`)),
	)
	held := strings.TrimPrefix(value(b, compose, "location", chromedp.Location()), base+"/messages/")
	e.waitState(t, held, groupcast.StateHeld)
	b.run(board, "the board shows it held",
		until(fmt.Sprintf(`document.querySelectorAll("#row-%s .chip.s-held").length === 3`, held)))
	b.run(compose, "review",
		chromedp.Navigate(base+"/review"),
		chromedp.WaitVisible(css(`#review-`+held+` .approve`)),
		chromedp.WaitVisible(css(`#review-`+held+` mark`)),
	)
	b.shot(compose, "review")
	b.run(compose, "approve",
		chromedp.Click(css(`#review-`+held+` .approve`)),
		chromedp.WaitNotPresent(css(`#review-`+held)),
	)
	b.run(board, "the approved one turns delivered", delivered(held, 3))
	if rv, err := e.st.Review(context.Background(), held); err != nil || rv.By != "alice" {
		t.Errorf("the decision in the ledger: %+v %v", rv, err)
	}

	// Recall from the message page: confirmed, then its progress.
	b.run(compose, "recall",
		chromedp.Navigate(base+"/messages/"+held),
		chromedp.WaitVisible(id("recall")),
		chromedp.Click(id("recall")),
	)
	// The form posts and the page comes back: wait across the navigation.
	b.settle(compose, "recall progress", `document.querySelectorAll("#targets .recall.r-done").length === 1 && `+
		`document.querySelectorAll("#targets .recall.r-unsupported").length === 2`)
	b.run(compose, "the report follows the recall", until(`document.querySelectorAll("#report .s-recalled").length === 1`))
	b.shot(compose, "message")
	b.run(board, "the board shows the recall",
		until(fmt.Sprintf(`document.querySelectorAll("#row-%s .chip.s-recalled").length === 1`, held)))

	b.shot(board, "board")
	for _, p := range []string{"calendar", "accounts"} {
		b.run(compose, p, chromedp.Navigate(base+"/"+p), chromedp.WaitVisible(css(`body[data-page=`+p+`]`)))
		b.shot(compose, p)
	}

	// A group's page, from its link on /accounts: the report's chart
	// (inline SVG under the CSP) over two weeks of joins and leaves.
	now := time.Now()
	for d := 13; d >= 0; d-- { // today's last: the hub takes them in order
		for k := range d%4 + 1 {
			e.memberAt(t, true, "qq", "123456", fmt.Sprintf("j%d-%d", d, k), now.AddDate(0, 0, -d))
		}
		for k := range d % 3 {
			e.memberAt(t, false, "qq", "123456", fmt.Sprintf("l%d-%d", d, k), now.AddDate(0, 0, -d))
		}
	}
	e.waitFigures(t, "qq", "123456", 1, 0) // today's, the last posted: all are counted
	b.run(compose, "group page",
		chromedp.Click(css(`a.grouplink[href="/groups/qq/123456"]`)),
		chromedp.WaitVisible(css(`body[data-page=group] #g-chart rect.c-leave`)),
	)
	b.run(compose, "two weeks", chromedp.Navigate(base+"/groups/qq/123456?days=14"), chromedp.WaitVisible(css(`#g-chart`)))
	b.shot(compose, "group")
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errors) > 0 {
		t.Fatalf("the pages reported errors:\n%s", strings.Join(b.errors, "\n"))
	}
}
