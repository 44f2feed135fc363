package router_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/file"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

// script decides what the "scripted" test driver answers to the n-th send
// (from 1) of an account.
type script func(n int, m groupcast.Outgoing) error

var scripts sync.Map // account name → script

type scripted struct {
	name    string
	env     adapters.Env
	mu      sync.Mutex
	n       int
	sent    []groupcast.Outgoing
	times   []time.Time // env.Now() of each send
	recalls []time.Time // env.Now() of each recall
}

var scriptedSenders sync.Map // account name → *scripted

func (s *scripted) Send(ctx context.Context, m groupcast.Outgoing) (groupcast.Receipt, error) {
	if err := s.env.Pacer.Wait(ctx); err != nil {
		return groupcast.Receipt{}, groupcast.Temporary("canceled", err)
	}
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	if f, ok := scripts.Load(s.name); ok {
		if err := f.(script)(n, m); err != nil {
			return groupcast.Receipt{}, err
		}
	}
	s.mu.Lock()
	s.sent = append(s.sent, m)
	s.times = append(s.times, s.env.Now())
	s.mu.Unlock()
	return groupcast.Receipt{Parts: 1, MessageIDs: []string{fmt.Sprintf("%s-%d", s.name, n)}}, nil
}

func (s *scripted) Recall(ctx context.Context, _ string, _ groupcast.Receipt) error {
	if err := s.env.RecallPacer.Wait(ctx); err != nil {
		return groupcast.Temporary("canceled", err)
	}
	s.mu.Lock()
	s.recalls = append(s.recalls, s.env.Now())
	s.mu.Unlock()
	return nil
}

var scriptedDriver = adapters.Driver{
	Name:       "scripted",
	DriverSpec: configs.DriverSpec{Groups: configs.GroupsOptional},
	New: func(acc configs.Account, env adapters.Env) (groupcast.Sender, error) {
		s := &scripted{name: acc.Name, env: env}
		scriptedSenders.Store(acc.Name, s)
		return s, nil
	},
}

func drivers(platform, name string) (adapters.Driver, bool) {
	if name == "scripted" {
		return scriptedDriver, true
	}
	return registry.Lookup(platform, name)
}

func catalog(platform, name string) (configs.DriverSpec, bool) {
	d, ok := drivers(platform, name)
	return d.DriverSpec, ok
}

type harness struct {
	t     *testing.T
	st    *store.Store
	svc   *router.Service
	dir   string
	stop  func()
	clock router.Clock
}

func loadConfig(t *testing.T, yaml string) *configs.Config {
	t.Helper()
	cfg, err := configs.LoadBytes([]byte(yaml), "test.yaml", configs.Options{Catalog: catalog})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// start runs an engine on a store in dir (embedded, durable) or in memory.
func start(t *testing.T, yaml, driver, dir string) *harness {
	t.Helper()
	return startWithClock(t, yaml, driver, dir, nil)
}

func startWithClock(t *testing.T, yaml, driver, dir string, clock router.Clock) *harness {
	t.Helper()
	return startWith(t, yaml, driver, dir, clock, 100*time.Millisecond)
}

// startWith takes MaxDeferWait: how often deferred targets are looked at
// again, which is how soon a test's clock change is noticed.
func startWith(t *testing.T, yaml, driver, dir string, clock router.Clock, maxDefer time.Duration) *harness {
	t.Helper()
	cfg := loadConfig(t, yaml)
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, store.Options{Driver: driver, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := router.New(router.Options{Store: st, Config: cfg, Drivers: drivers, Clock: clock,
		AckWait: 2 * time.Second, MaxDeferWait: maxDefer})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	select {
	case <-svc.Running():
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	h := &harness{t: t, st: st, svc: svc, dir: dir}
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			st.Close()
		})
	}
	t.Cleanup(h.stop)
	return h
}

func parse(t *testing.T, md string) *groupcast.Announcement {
	t.Helper()
	a, err := groupcast.Parse(groupcast.FormatMarkdown, []byte(md), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// waitFor polls an announcement until ok says yes, or fails after 20 s.
func (h *harness) waitFor(id string, what string, ok func(groupcast.Status) bool) groupcast.Status {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := h.svc.Status(context.Background(), id)
		if err == nil && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: timed out waiting for %s; last status %+v (err %v)\n%s", id, what, st, err, h.consumers())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func allIn(states ...groupcast.State) func(groupcast.Status) bool {
	return func(st groupcast.Status) bool {
		for _, t := range st.Targets {
			found := false
			for _, s := range states {
				found = found || t.State == s
			}
			if !found {
				return false
			}
		}
		return len(st.Targets) > 0
	}
}

func readLines(t *testing.T, path string) []file.Line {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []file.Line
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l file.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: bad line %q: %v", path, sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func threeFiles(dir string) string {
	return fmt.Sprintf(`
store: {driver: memory}
delivery: {max_attempts: 3, backoff: 10ms, max_backoff: 50ms}
accounts:
  - {name: dt, platform: dingtalk, driver: file, path: %[1]s/dt.jsonl}
  - {name: wx, platform: wechat, driver: file, path: %[1]s/wx.jsonl}
  - {name: qq, platform: qq, driver: file, path: %[1]s/qq.jsonl}
routes:
  - name: ops
    match: {tags: [ops]}
    targets:
      - {account: dt}
      - {account: wx, groups: ["运维通知群"]}
      - {account: qq, groups: ["123456789"]}
`, dir)
}

const maintenance = `---
id: maint-1
title: 系统维护通知
tags: [ops]
links:
  - {title: 维护详情, url: "https://status.example.com/maint"}
---
12月1日凌晨 **02:00-04:00** 系统维护，服务暂停两小时。

- 登录服务
- 支付服务
`

func TestMarkdownReachesThreeFileTargets(t *testing.T) {
	dir := t.TempDir()
	h := start(t, threeFiles(dir), store.DriverMemory, "")
	acc, err := h.svc.Submit(context.Background(), parse(t, maintenance))
	if err != nil {
		t.Fatal(err)
	}
	if acc.Existing || len(acc.Targets) != 3 {
		t.Fatalf("accepted = %+v", acc)
	}
	st := h.waitFor("maint-1", "delivered", allIn(groupcast.StateDelivered))
	if st.State != "delivered" {
		t.Errorf("announcement state %q, want delivered", st.State)
	}
	for _, name := range []string{"dt", "wx", "qq"} {
		lines := readLines(t, filepath.Join(dir, name+".jsonl"))
		if len(lines) != 1 {
			t.Fatalf("%s: %d lines, want 1", name, len(lines))
		}
		l := lines[0]
		if l.Announcement != "maint-1" || l.Route != "ops" || l.Account != name || l.Part != 1 || l.Parts != 1 || l.Text == "" {
			t.Errorf("%s: line %+v", name, l)
		}
	}
	for _, tg := range st.Targets {
		if tg.Attempts != 1 || len(tg.PlatformMessageIDs) != 1 {
			t.Errorf("target %+v: want one attempt and one message id", tg)
		}
	}
}

func TestIdempotentByID(t *testing.T) {
	h := start(t, threeFiles(t.TempDir()), store.DriverMemory, "")
	ctx := context.Background()
	if _, err := h.svc.Submit(ctx, parse(t, maintenance)); err != nil {
		t.Fatal(err)
	}
	again, err := h.svc.Submit(ctx, parse(t, maintenance))
	if err != nil || !again.Existing {
		t.Fatalf("same content again: existing=%v err=%v", again.Existing, err)
	}
	changed := strings.Replace(maintenance, "两小时", "三小时", 1)
	if _, err := h.svc.Submit(ctx, parse(t, changed)); !errors.Is(err, groupcast.ErrConflict) {
		t.Fatalf("different content: err = %v, want ErrConflict", err)
	}
	h.waitFor("maint-1", "delivered", allIn(groupcast.StateDelivered))
}

func TestNoRoute(t *testing.T) {
	h := start(t, threeFiles(t.TempDir()), store.DriverMemory, "")
	_, err := h.svc.Submit(context.Background(), parse(t, "---\ntitle: x\ntags: [marketing]\n---\nbody"))
	var in *groupcast.InputError
	if !errors.As(err, &in) || in.Code != "no_route" {
		t.Fatalf("err = %v, want no_route", err)
	}
}

func scriptedConfig(extra string) string {
	return `
store: {driver: memory}
delivery: {max_attempts: 3, backoff: 10ms, max_backoff: 40ms}
accounts:
  - {name: s1, platform: qq, driver: scripted` + extra + `}
routes:
  - name: all
    targets:
      - {account: s1, groups: ["1", "2"]}
`
}

func TestRetriesTemporaryThenDelivers(t *testing.T) {
	scripts.Store("s1", script(func(n int, m groupcast.Outgoing) error {
		if m.Group == "1" && n <= 2 {
			return groupcast.Temporary("http_503", errors.New("unavailable"))
		}
		return nil
	}))
	t.Cleanup(func() { scripts.Delete("s1") })
	h := start(t, scriptedConfig(""), store.DriverMemory, "")
	if _, err := h.svc.Submit(context.Background(), parse(t, "---\nid: r1\ntitle: t\n---\nbody")); err != nil {
		t.Fatal(err)
	}
	st := h.waitFor("r1", "delivered", allIn(groupcast.StateDelivered))
	attempts := map[string]int{}
	for _, tg := range st.Targets {
		attempts[tg.Group] = tg.Attempts
	}
	if attempts["1"] < 2 || attempts["2"] < 1 {
		t.Errorf("attempts = %v, want group 1 retried", attempts)
	}
}

func TestPermanentAndExhaustedFail(t *testing.T) {
	scripts.Store("s1", script(func(n int, m groupcast.Outgoing) error {
		if m.Group == "1" {
			return groupcast.Permanent("93000", errors.New("invalid webhook key"))
		}
		return groupcast.Temporary("http_502", errors.New("bad gateway"))
	}))
	t.Cleanup(func() { scripts.Delete("s1") })
	h := start(t, scriptedConfig(""), store.DriverMemory, "")
	if _, err := h.svc.Submit(context.Background(), parse(t, "---\nid: f1\ntitle: t\n---\nbody")); err != nil {
		t.Fatal(err)
	}
	st := h.waitFor("f1", "failed", allIn(groupcast.StateFailed))
	for _, tg := range st.Targets {
		switch tg.Group {
		case "1":
			if tg.Attempts != 1 || !strings.Contains(tg.Reason, "93000") {
				t.Errorf("permanent: %+v, want one attempt and the code", tg)
			}
		case "2":
			if tg.Attempts != 3 || !strings.Contains(tg.Reason, "gave up after 3 attempts") {
				t.Errorf("temporary: %+v, want 3 attempts then failed", tg)
			}
		}
	}
	if st.State != "failed" {
		t.Errorf("state %q", st.State)
	}
}

func TestThrottleDefersAndPausesAccount(t *testing.T) {
	var throttledOnce sync.Once
	scripts.Store("s1", script(func(n int, m groupcast.Outgoing) error {
		var err error
		throttledOnce.Do(func() {
			err = groupcast.Throttled("130101", 400*time.Millisecond, errors.New("send too fast"))
		})
		return err
	}))
	t.Cleanup(func() { scripts.Delete("s1") })
	h := start(t, scriptedConfig(""), store.DriverMemory, "")
	if _, err := h.svc.Submit(context.Background(), parse(t, "---\nid: th1\ntitle: t\n---\nbody")); err != nil {
		t.Fatal(err)
	}
	st := h.waitFor("th1", "a deferred target", func(st groupcast.Status) bool {
		for _, tg := range st.Targets {
			if tg.State == groupcast.StateDeferred && strings.Contains(tg.Reason, "130101") && tg.NotBefore != nil {
				return true
			}
		}
		return false
	})
	_ = st
	st = h.waitFor("th1", "delivered after the pause", allIn(groupcast.StateDelivered))
	for _, tg := range st.Targets {
		if tg.Attempts != 1 {
			t.Errorf("%+v: a throttle is not a failed attempt, want attempts 1", tg)
		}
	}
}

func TestSendAtScheduledThenDelivered(t *testing.T) {
	h := start(t, scriptedConfig(""), store.DriverMemory, "")
	at := time.Now().Add(700 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	md := fmt.Sprintf("---\nid: s1\ntitle: t\nsend_at: %s\n---\nbody", at.Format(time.RFC3339))
	acc, err := h.svc.Submit(context.Background(), parse(t, md))
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range acc.Targets {
		if tg.State != groupcast.StateScheduled || tg.NotBefore == nil || !tg.NotBefore.Equal(at) {
			t.Fatalf("accepted target %+v, want scheduled until %s", tg, at)
		}
	}
	h.waitFor("s1", "delivered", allIn(groupcast.StateDelivered))
	if time.Now().Before(at) {
		t.Fatalf("delivered before send_at")
	}
}

// A record that cannot be read does not wedge the senders (it is logged
// and skipped), and a sender that panics on a target three times ends it
// failed with the reason instead of retrying it for ever.
func TestPoisonDoesNotWedge(t *testing.T) {
	scripts.Store("s1", script(func(n int, m groupcast.Outgoing) error {
		if m.Announcement.ID == "panics" {
			panic("driver bug")
		}
		return nil
	}))
	t.Cleanup(func() { scripts.Delete("s1") })
	h := start(t, scriptedConfig(""), store.DriverMemory, "")
	ctx := context.Background()
	if _, err := h.st.JetStream().Publish(ctx, "groupcast.rec.garbage", []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Submit(ctx, parse(t, "---\nid: panics\ntitle: t\n---\nbody")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Submit(ctx, parse(t, "---\nid: after-poison\ntitle: t\n---\nbody")); err != nil {
		t.Fatal(err)
	}
	h.waitFor("after-poison", "delivered", allIn(groupcast.StateDelivered))
	st := h.waitFor("panics", "failed", allIn(groupcast.StateFailed))
	if r := st.Targets[0].Reason; !strings.Contains(r, "poison") || !strings.Contains(r, "driver bug") {
		t.Errorf("reason %q, want the panic named", r)
	}
}

func TestRecall(t *testing.T) {
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
store: {driver: memory}
accounts:
  - {name: s1, platform: qq, driver: scripted}
  - {name: f1, platform: wechat, driver: file, path: %s/f1.jsonl}
routes:
  - name: all
    targets:
      - {account: s1, groups: ["1"]}
      - {account: f1}
`, dir)
	h := start(t, cfg, store.DriverMemory, "")
	ctx := context.Background()
	if _, err := h.svc.Submit(ctx, parse(t, "---\nid: rc1\ntitle: t\n---\nbody")); err != nil {
		t.Fatal(err)
	}
	h.waitFor("rc1", "delivered", allIn(groupcast.StateDelivered))
	st, err := h.svc.Recall(ctx, "rc1")
	if err != nil {
		t.Fatal(err)
	}
	// The answer carries the recall of every target: pending, or already
	// done when the sender was quicker than the status read.
	for _, tg := range st.Targets {
		if tg.Recall == nil || tg.Recall.State == "" {
			t.Errorf("answer: %+v, want the recall under way", tg)
		}
	}
	st = h.waitFor("rc1", "recall done", func(st groupcast.Status) bool {
		for _, tg := range st.Targets {
			if tg.Recall == nil || tg.Recall.State == groupcast.RecallPending {
				return false
			}
		}
		return true
	})
	for _, tg := range st.Targets {
		switch tg.Account {
		case "s1":
			if tg.State != groupcast.StateRecalled {
				t.Errorf("s1: %+v, want recalled", tg)
			}
			var states []groupcast.State
			for _, tr := range tg.Timeline {
				states = append(states, tr.State)
			}
			// Alone on its store a sender claims nothing: no sending step.
			if want := []groupcast.State{groupcast.StateQueued, groupcast.StateDelivered, groupcast.StateRecalled}; !slices.Equal(states, want) {
				t.Errorf("s1 timeline: %v, want %v", states, want)
			}
		case "f1":
			// The prefix once: the driver's error already names it.
			const want = "recall_unsupported: the file driver keeps what it wrote"
			if tg.State != groupcast.StateDelivered || tg.Reason != want || tg.Recall == nil || tg.Recall.Reason != want {
				t.Errorf("f1: %+v (recall %+v), want delivered with reason %q", tg, tg.Recall, want)
			}
		}
	}
	later := time.Now().Add(time.Hour).Format(time.RFC3339)
	if _, err := h.svc.Submit(ctx, parse(t, "---\nid: rc2\ntitle: t\nsend_at: "+later+"\n---\nbody")); err != nil {
		t.Fatal(err)
	}
	h.waitFor("rc2", "scheduled", allIn(groupcast.StateScheduled))
	if _, err = h.svc.Recall(ctx, "rc2"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("rc2", "cancelled", allIn(groupcast.StateRecalled))
	if _, err := h.svc.Recall(ctx, "nope"); !errors.Is(err, groupcast.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}

// consumers describes the delivery consumers, for a test that times out.
func (h *harness) consumers() string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := h.st.JetStream().Stream(ctx, store.RecordsStream)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for name := range s.ConsumerNames(ctx).Name() {
		c, err := s.Consumer(ctx, name)
		if err != nil {
			continue
		}
		i := c.CachedInfo()
		fmt.Fprintf(&b, "consumer %s: pending %d, ack pending %d, redelivered %d, waiting %d, delivered %d/%d\n",
			name, i.NumPending, i.NumAckPending, i.NumRedelivered, i.NumWaiting, i.Delivered.Consumer, i.Delivered.Stream)
	}
	return b.String()
}

func TestBacklogRefusesIntake(t *testing.T) {
	release := make(chan struct{})
	scripts.Store("s1", script(func(n int, m groupcast.Outgoing) error {
		<-release // the one sender is stuck: deliveries queue up
		return nil
	}))
	t.Cleanup(func() { scripts.Delete("s1") })
	cfg := strings.Replace(scriptedConfig(", rate: {per_minute: 600}"), "store: {driver: memory}",
		"store: {driver: memory}\nserver: {max_backlog: 3}", 1)
	h := start(t, cfg, store.DriverMemory, "")
	defer close(release)
	ctx := context.Background()
	for i := range 4 {
		if _, err := h.svc.Submit(ctx, parse(t, fmt.Sprintf("---\nid: bl-%d\ntitle: t\n---\nbody", i))); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := h.svc.Submit(ctx, parse(t, "---\ntitle: one more\n---\nbody"))
		if errors.Is(err, groupcast.ErrBusy) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("intake never refused with 8 targets queued and max_backlog 3")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestShuttingDownRefusesIntake(t *testing.T) {
	h := start(t, scriptedConfig(""), store.DriverMemory, "")
	h.svc.Shutdown()
	_, err := h.svc.Submit(context.Background(), parse(t, "---\ntitle: t\n---\nbody"))
	if !errors.Is(err, groupcast.ErrNotReady) {
		t.Fatalf("err = %v, want ErrNotReady (503)", err)
	}
	if nr := h.svc.NotReady(); !slices.Contains(nr, "shutting down") {
		t.Errorf("NotReady = %v, want it to say shutting down", nr)
	}
}

// A body near the Markdown limit, full of characters JSON escapes, is
// stored and delivered: it is not refused as "not ready" because its
// stored form outgrew the store's message size.
func TestLargeEscapedBodyIsStored(t *testing.T) {
	h := start(t, scriptedConfig(""), store.DriverMemory, "")
	body := strings.Repeat("<b>\"引号\" & \\ 反斜杠</b>\n", 6000) // ~180 KB
	a := &groupcast.Announcement{ID: "big-1", Title: "t", Body: body, Category: groupcast.CategoryNotice, Priority: groupcast.PriorityNormal}
	if _, err := h.svc.Submit(context.Background(), a); err != nil {
		t.Fatalf("%d bytes: %v", len(body), err)
	}
	h.waitFor("big-1", "delivered", allIn(groupcast.StateDelivered))
}

// TestUnsupportedReason: the reason names recall_unsupported once, however
// the driver wrapped the sentinel.
func TestUnsupportedReason(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: the file driver keeps what it wrote", groupcast.ErrRecallUnsupported), "recall_unsupported: the file driver keeps what it wrote"},
		{groupcast.ErrRecallUnsupported, "recall_unsupported"},
		{fmt.Errorf("part 2: %w: too late", groupcast.ErrRecallUnsupported), "recall_unsupported: part 2: too late"},
		{errors.New("driver gone"), "recall_unsupported: driver gone"},
	} {
		if got := router.UnsupportedReason(c.err); got != c.want {
			t.Errorf("%v: %q, want %q", c.err, got, c.want)
		}
	}
}
