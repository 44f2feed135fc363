package inbound_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/qq/qqfake"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/inbound"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

// fakeClock is moved by the test; Sleep moves it forward instead of
// waiting, so the pacer's gaps take no real time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.Add(max(d, 0))
	return ctx.Err()
}

var shanghai = time.FixedZone("CST", 8*3600)

// harness is an engine with a OneBot account on the strict fake, and a
// hub as its inbound sink.
type harness struct {
	t     *testing.T
	clock *fakeClock
	fake  *qqfake.OneBot
	st    *store.Store
	svc   *router.Service
	hub   *inbound.Hub
	cfg   *configs.Config
	logs  *logBuffer
}

const baseConfig = `
timezone: Asia/Shanghai
store: {driver: memory}
accounts:
  - {name: qq-main, platform: qq, driver: onebot, base_url: "%s", access_token: tok, post_secret: psec%s}
  - {name: qq-other, platform: qq, driver: onebot, base_url: "%s", access_token: tok}
policies:
  - name: p
    daily_cap: {new: 3, mature: 3, auto: true}
routes:
  - name: r
    policy: p
    targets: [{account: qq-main, groups: ["123"]}]
replies:
  - name: signup
    accounts: [qq-main]
    keywords: ["报名"]
    text: "{{.Sender}}，报名请点：https://example.com/signup"
    cooldown: 60s
  - name: invoice
    platforms: [qq]
    groups: ["456"]
    pattern: "发票|开票"
    text: "开票请联系客服。"
welcome:
  - name: hello
    accounts: [qq-main]
    text: "欢迎{{.Names}}入群，请先阅读群公告。"
    batch: 30s
`

func start(t *testing.T, start time.Time) *harness {
	t.Helper()
	return startWS(t, start, qqfake.NewOneBot("tok"), "")
}

// startWS starts the harness on fake; with wsURL the account listens on
// the fake's forward WebSocket.
func startWS(t *testing.T, start time.Time, fake *qqfake.OneBot, wsURL string) *harness {
	t.Helper()
	clock := &fakeClock{now: start}
	t.Cleanup(fake.Close)
	fake.Lock()
	fake.Now = clock.Now
	fake.Unlock()
	extra := ""
	if wsURL != "" {
		extra = ", ws_url: " + wsURL
	}
	cfg, err := configs.LoadBytes([]byte(fmt.Sprintf(baseConfig, fake.URL(), extra, fake.URL())), "t.yaml",
		configs.Options{Catalog: registry.Catalog, Platforms: registry.Platforms()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, store.Options{Driver: store.DriverMemory})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	metrics := router.NewMetrics()
	hub, err := inbound.New(inbound.Options{Store: st, Clock: clock, Registry: metrics.Registry, Tick: time.Hour, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := router.New(router.Options{Store: st, Config: cfg, Drivers: registry.Lookup, Clock: clock,
		Metrics: metrics, Inbound: hub, AckWait: 2 * time.Second, MaxDeferWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Running()
	go func() { done <- hub.Run(ctx, svc) }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		st.Close()
	})
	return &harness{t: t, clock: clock, fake: fake, st: st, svc: svc, hub: hub, cfg: cfg, logs: logs}
}

// logBuffer holds the hub's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// eventually polls cond in real time (the engine and the fake run on
// their own goroutines) for up to 20 s.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// counter reads a series of the engine's registry (0 when absent).
func (h *harness) counter(name string, labels map[string]string) float64 {
	h.t.Helper()
	fams, err := h.svc.Metrics().Registry.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	total := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metric
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// taken waits until n events have passed the hub (fresh or duplicate).
func (h *harness) taken(n int) {
	h.t.Helper()
	h.eventually(fmt.Sprintf("%d events handled", n), func() bool {
		return h.counter("groupcast_inbound_events_total", map[string]string{"outcome": "taken"})+
			h.counter("groupcast_inbound_events_total", map[string]string{"outcome": "duplicate"}) >= float64(n)
	})
}

func (h *harness) send(ev groupcast.InboundEvent) {
	h.t.Helper()
	if ev.Platform == "" {
		ev.Platform = "qq"
	}
	if ev.At.IsZero() {
		ev.At = h.clock.Now()
	}
	if err := h.hub.Inbound(context.Background(), ev); err != nil {
		h.t.Fatal(err)
	}
}

func message(account, group, id, sender, text string) groupcast.InboundEvent {
	return groupcast.InboundEvent{Kind: groupcast.EventMessage, Account: account, Group: group, ID: id,
		Sender: sender, SenderName: "用户" + sender, Text: text}
}

func (h *harness) texts(group int64) []string {
	var out []string
	for _, m := range h.fake.MessagesTo(group) {
		out = append(out, m.Text())
	}
	return out
}

// TestReplyOncePerCooldown: a keyword gets the reply, with the sender's
// name; within the cooldown another match in the same group gets none;
// after it, one again. The bot's own message and a message without the
// keyword get nothing.
func TestReplyOncePerCooldown(t *testing.T) {
	h := start(t, time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai))
	h.send(message("qq-main", "123", "m1", "20002", "请问怎么报名？"))
	h.eventually("the reply", func() bool { return len(h.fake.MessagesTo(123)) == 1 })
	if got := h.texts(123)[0]; got != "用户20002，报名请点：https://example.com/signup" {
		t.Errorf("reply %q", got)
	}
	self := message("qq-main", "123", "m2", "10001", "报名")
	self.Self = true
	h.send(self)
	h.send(message("qq-main", "123", "m3", "20003", "我也要报名"))  // within the cooldown
	h.send(message("qq-main", "123", "m4", "20004", "今天天气不错")) // no keyword
	h.taken(4)
	if n := h.counter("groupcast_inbound_replies_total", map[string]string{"rule": "signup", "outcome": "cooldown"}); n != 1 {
		t.Errorf("cooldown count %v, want 1", n)
	}
	h.clock.Add(61 * time.Second)
	h.send(message("qq-main", "123", "m5", "20005", "报名"))
	h.eventually("the second reply after the cooldown", func() bool { return len(h.fake.MessagesTo(123)) == 2 })
	h.taken(5)
	if got := len(h.fake.MessagesTo(123)); got != 2 {
		t.Errorf("%d replies, want 2: %q", got, h.texts(123))
	}
	// Replies are not announcements under the policy: the group's daily
	// cap counter did not move.
	rep, err := h.hub.Report(context.Background(), h.cfg, "qq-main", "123", 1)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sends != 0 {
		t.Errorf("report sends %d, want 0: replies must not count against caps", rep.Sends)
	}
}

// TestReplyScopes: a rule limited to a platform and group answers only
// there (pattern match); another account's groups get the first rule
// only if it names them.
func TestReplyScopes(t *testing.T) {
	h := start(t, time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai))
	h.send(message("qq-other", "123", "o1", "2", "报名")) // signup is qq-main's only
	h.send(message("qq-other", "456", "o2", "2", "能开票吗"))
	h.eventually("the invoice reply", func() bool { return len(h.fake.MessagesTo(456)) == 1 })
	h.taken(2)
	if got := h.texts(456); got[0] != "开票请联系客服。" {
		t.Errorf("reply %q", got)
	}
	if n := len(h.fake.MessagesTo(123)); n != 0 {
		t.Errorf("group 123 got %d messages from a rule scoped to qq-main", n)
	}
}

// TestDuplicateEventOneReply: the same event delivered twice (a
// redelivery, two sources) is answered once, and counted as a duplicate.
func TestDuplicateEventOneReply(t *testing.T) {
	h := start(t, time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai))
	ev := message("qq-main", "123", "dup-1", "20002", "报名")
	h.send(ev)
	h.send(ev)
	h.taken(2)
	h.eventually("the reply", func() bool { return len(h.fake.MessagesTo(123)) == 1 })
	if n := h.counter("groupcast_inbound_events_total", map[string]string{"outcome": "duplicate"}); n != 1 {
		t.Errorf("duplicates %v, want 1", n)
	}
	// Even past the cooldown, the same event id is not answered again.
	h.clock.Add(2 * time.Minute)
	h.send(ev)
	h.taken(3)
	if n := len(h.fake.MessagesTo(123)); n != 1 {
		t.Errorf("%d replies, want 1", n)
	}
}

// TestWelcomeBatch: three joins within the batch get one welcome naming
// them, sent once the batch time has passed on the clock; a join after
// starts a new batch. A leave is counted, not welcomed.
func TestWelcomeBatch(t *testing.T) {
	h := start(t, time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai))
	join := func(id, who string) groupcast.InboundEvent {
		return groupcast.InboundEvent{Kind: groupcast.EventMemberJoined, Account: "qq-main", Group: "123", ID: id, Sender: who, SenderName: who}
	}
	h.send(join("j1", "张三"))
	h.clock.Add(10 * time.Second)
	h.send(join("j2", "李四"))
	h.send(join("j3", "王五"))
	h.send(groupcast.InboundEvent{Kind: groupcast.EventMemberLeft, Account: "qq-main", Group: "123", ID: "l1", Sender: "赵六"})
	h.taken(4)
	h.hub.Tick(context.Background()) // 10 s in: not yet
	h.clock.Add(21 * time.Second)
	h.hub.Tick(context.Background())
	h.eventually("the welcome", func() bool { return len(h.fake.MessagesTo(123)) == 1 })
	if got := h.texts(123)[0]; got != "欢迎张三、李四、王五入群，请先阅读群公告。" {
		t.Errorf("welcome %q", got)
	}
	h.send(join("j4", "孙七"))
	h.taken(5)
	h.clock.Add(31 * time.Second)
	h.hub.Tick(context.Background())
	h.eventually("the second welcome", func() bool { return len(h.fake.MessagesTo(123)) == 2 })
	if got := h.texts(123)[1]; !strings.Contains(got, "孙七") || strings.Contains(got, "张三") {
		t.Errorf("second welcome %q", got)
	}
	if n := h.counter("groupcast_group_member_events_total", map[string]string{"account": "qq-main", "group": "123", "event": "join"}); n != 4 {
		t.Errorf("joins metric %v, want 4", n)
	}
	if n := h.counter("groupcast_group_member_events_total", map[string]string{"event": "leave"}); n != 1 {
		t.Errorf("leaves metric %v, want 1", n)
	}
}

// TestReplyThrottledIsDeferred: the platform answers a reply with its
// risk-control code; the reply is deferred with the account's pause, not
// dropped, and delivered once the pause has passed.
func TestReplyThrottledIsDeferred(t *testing.T) {
	h := start(t, time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai))
	h.fake.Fail(qqfake.AnswerRiskControl)
	h.send(message("qq-main", "123", "t1", "20002", "报名"))
	var id string
	h.eventually("a deferred reply", func() bool {
		list, err := h.svc.List(context.Background(), "", 10)
		if err != nil || len(list) == 0 {
			return false
		}
		for _, st := range list {
			if strings.HasPrefix(st.ID, "reply-signup-") && st.Targets[0].State == groupcast.StateDeferred {
				id = st.ID
				return true
			}
		}
		return false
	})
	st, _ := h.svc.Status(context.Background(), id)
	if tg := st.Targets[0]; !strings.Contains(tg.Reason, "retcode_100") || tg.NotBefore == nil {
		t.Errorf("deferred target %+v, want the risk-control pause", tg)
	}
	h.clock.Add(11 * time.Minute)
	h.eventually("the reply delivered after the pause", func() bool {
		st, err := h.svc.Status(context.Background(), id)
		return err == nil && st.Targets[0].State == groupcast.StateDelivered
	})
	if n := len(h.fake.MessagesTo(123)); n != 1 {
		t.Errorf("%d replies delivered, want 1", n)
	}
}

// TestQueueFullDropsAndCounts: a queue that is full refuses at once
// (never blocks) and counts the drop.
func TestQueueFullDropsAndCounts(t *testing.T) {
	st, err := store.Open(context.Background(), store.Options{Driver: store.DriverMemory})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hub, err := inbound.New(inbound.Options{Store: st, QueueSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	ev := message("qq-main", "1", "x", "2", "hi")
	for i := range 2 {
		ev.ID = fmt.Sprint(i)
		if err := hub.Inbound(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	ev.ID = "3"
	if err := hub.Inbound(context.Background(), ev); err != inbound.ErrQueueFull {
		t.Fatalf("third event: %v, want ErrQueueFull", err)
	}
	ev.ID = ""
	if err := hub.Inbound(context.Background(), ev); err == nil {
		t.Fatal("an event without an id was queued")
	}
}

// TestForwardWebSocketThroughRouter: the engine starts the account's
// listener (it owns the account), events pushed on the implementation's
// forward WebSocket reach the hub, and the reply goes out over HTTP.
func TestForwardWebSocketThroughRouter(t *testing.T) {
	fake := qqfake.NewOneBot("tok")
	ws := fake.StartForwardWS()
	t.Cleanup(ws.Close)
	h := startWS(t, time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai), fake, ws.URL())
	h.eventually("the listener connected", func() bool { return ws.Connected() == 1 })
	if err := ws.Push(fake.GroupMessage(77, 123, 20002, "张三", qqfake.AtSeg("2854196310"), qqfake.TextSeg(" 报名"))); err != nil {
		t.Fatal(err)
	}
	h.eventually("the reply", func() bool { return len(h.fake.MessagesTo(123)) == 1 })
	if got := h.texts(123)[0]; got != "张三，报名请点：https://example.com/signup" {
		t.Errorf("reply %q", got)
	}
	// The bot's own message, echoed on the socket, is not answered.
	h.clock.Add(2 * time.Minute)
	if err := ws.Push(fake.GroupMessage(78, 123, 2854196310, "bot", qqfake.TextSeg("报名"))); err != nil {
		t.Fatal(err)
	}
	h.taken(2)
	if n := len(h.fake.MessagesTo(123)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// stubEngine records what the hub submits.
type stubEngine struct {
	cfg  *configs.Config
	mu   sync.Mutex
	got  []string
	fail int // the next fail submits answer an error
}

func (e *stubEngine) Config() *configs.Config { return e.cfg }
func (e *stubEngine) Owns(string) bool        { return true }
func (e *stubEngine) SubmitDirect(_ context.Context, a *groupcast.Announcement, account, group string) (groupcast.Accepted, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail > 0 {
		e.fail--
		return groupcast.Accepted{}, fmt.Errorf("%w: the store is away", groupcast.ErrNotReady)
	}
	e.got = append(e.got, account+"/"+group+": "+a.Body)
	return groupcast.Accepted{}, nil
}

// TestCooldownHeldAcrossHubs: two hubs on one store (two replicas) each
// receive a matching message for the same group at the same instant:
// exactly one replies.
func TestCooldownHeldAcrossHubs(t *testing.T) {
	cfg, err := configs.LoadBytes([]byte(fmt.Sprintf(baseConfig, "http://127.0.0.1:1", "", "http://127.0.0.1:1")), "t.yaml",
		configs.Options{Catalog: registry.Catalog, Platforms: registry.Platforms()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Options{Driver: store.DriverMemory})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := &fakeClock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai)}
	eng := &stubEngine{cfg: cfg}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var regs []*prometheus.Registry
	for i := range 2 {
		reg := prometheus.NewRegistry()
		regs = append(regs, reg)
		hub, err := inbound.New(inbound.Options{Store: st, Clock: clock, Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = hub.Run(ctx, eng) }()
		for j := range 5 {
			ev := message("qq-main", "123", fmt.Sprintf("h%d-m%d", i, j), "2", "报名")
			ev.Platform = "qq"
			if err := hub.Inbound(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Wait until each hub has taken its five events (real time: they run
	// on their own goroutines).
	deadline := time.Now().Add(10 * time.Second)
	for _, reg := range regs {
		for taken(t, reg) < 5 {
			if time.Now().After(deadline) {
				t.Fatal("the hubs did not take their events")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	cancel()
	wg.Wait()
	if len(eng.got) != 1 {
		t.Errorf("%d replies, want 1: %q", len(eng.got), eng.got)
	}
}

// taken reads groupcast_inbound_events_total{outcome="taken"} of reg.
func taken(t testing.TB, reg *prometheus.Registry) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, f := range fams {
		if f.GetName() != "groupcast_inbound_events_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == "taken" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// TestStopHandlesWhatWasTaken: events taken (and answered to the platform)
// before the hub stops are handled at the stop, not dropped.
func TestStopHandlesWhatWasTaken(t *testing.T) {
	h := start(t, time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai))
	hub, err := inbound.New(inbound.Options{Store: h.st, Clock: h.clock, Tick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []groupcast.InboundEvent{
		message("qq-main", "123", "stop-1", "20002", "报名"),
		message("qq-other", "456", "stop-2", "20003", "能开票吗"),
		message("qq-main", "456", "stop-3", "20004", "发票"),
	} {
		if err := hub.Inbound(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := hub.Run(ctx, h.svc); err != nil {
		t.Fatal(err)
	}
	h.eventually("the three replies", func() bool {
		return len(h.fake.MessagesTo(123)) == 1 && len(h.fake.MessagesTo(456)) == 2
	})
}

// TestInboundAfterStopRefused: once Run has returned, an event is refused
// with an error wrapping ErrNotReady (the OneBot route answers 503, the
// implementation delivers it again) and counted as dropped, not queued
// where nothing would take it.
func TestInboundAfterStopRefused(t *testing.T) {
	st, err := store.Open(context.Background(), store.Options{Driver: store.DriverMemory})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg, err := configs.LoadBytes([]byte(fmt.Sprintf(baseConfig, "http://127.0.0.1:1", "", "http://127.0.0.1:1")), "t.yaml",
		configs.Options{Catalog: registry.Catalog, Platforms: registry.Platforms()})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	hub, err := inbound.New(inbound.Options{Store: st, Registry: reg, Tick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := hub.Run(ctx, &stubEngine{cfg: cfg}); err != nil {
		t.Fatal(err)
	}
	err = hub.Inbound(context.Background(), message("qq-main", "123", "late-1", "20002", "报名"))
	if !errors.Is(err, groupcast.ErrNotReady) {
		t.Fatalf("Inbound after the stop: %v, want an error wrapping ErrNotReady", err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	dropped := 0.0
	for _, f := range fams {
		if f.GetName() != "groupcast_inbound_events_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == "dropped" {
					dropped += m.GetCounter().GetValue()
				}
			}
		}
	}
	if dropped != 1 {
		t.Errorf("dropped %v, want 1", dropped)
	}
}

// TestFailedReplyReleasesTurn: when the engine does not accept a reply,
// neither the group's cooldown nor the event stays claimed: the same
// event delivered again gets the reply, and after a second failure so
// does the next matching message.
func TestFailedReplyReleasesTurn(t *testing.T) {
	cfg, err := configs.LoadBytes([]byte(fmt.Sprintf(baseConfig, "http://127.0.0.1:1", "", "http://127.0.0.1:1")), "t.yaml",
		configs.Options{Catalog: registry.Catalog, Platforms: registry.Platforms()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Options{Driver: store.DriverMemory})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := &fakeClock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai)}
	eng := &stubEngine{cfg: cfg, fail: 1}
	// Run stopped at once: it handles what is queued, in order, and
	// returns; each step is one Run.
	run := func(evs ...groupcast.InboundEvent) {
		t.Helper()
		hub, err := inbound.New(inbound.Options{Store: st, Clock: clock, Tick: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			ev.Platform = "qq"
			if err := hub.Inbound(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := hub.Run(ctx, eng); err != nil {
			t.Fatal(err)
		}
	}
	run(message("qq-main", "123", "f-1", "20002", "报名"))
	if len(eng.got) != 0 {
		t.Fatalf("replies %q after a failed submit", eng.got)
	}
	run(message("qq-main", "123", "f-1", "20002", "报名"))
	if len(eng.got) != 1 {
		t.Fatalf("the same event again: replies %q, want 1", eng.got)
	}
	// In another group (its own cooldown), a failure then the next
	// matching message.
	eng.fail = 1
	run(message("qq-main", "789", "f-2", "20002", "报名"), message("qq-main", "789", "f-3", "20003", "报名"))
	if len(eng.got) != 2 || !strings.HasPrefix(eng.got[1], "qq-main/789: ") {
		t.Fatalf("the next matching message: replies %q, want one in 789", eng.got)
	}
}

// TestUnansweredMessageWritesNothing: a message no rule answers (no
// keyword, the account's own, empty) takes no de-duplication key, so the
// chatter of a group costs no store write; a matching one does.
func TestUnansweredMessageWritesNothing(t *testing.T) {
	h := start(t, time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai))
	self := message("qq-main", "123", "w2", "10001", "报名")
	self.Self = true
	h.send(message("qq-main", "123", "w1", "20002", "今天天气不错"))
	h.send(self)
	h.send(message("qq-main", "123", "w3", "20003", "  "))
	h.taken(3)
	keys, err := h.st.KeysUnder(context.Background(), "inbound.")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("keys %q written for messages no rule answers", keys)
	}
	h.send(message("qq-main", "123", "w4", "20004", "报名"))
	h.eventually("the reply", func() bool { return len(h.fake.MessagesTo(123)) == 1 })
	if keys, err = h.st.KeysUnder(context.Background(), "inbound."); err != nil || len(keys) != 1 {
		t.Errorf("keys %q (%v) after a matching message, want its one de-duplication key", keys, err)
	}
}
