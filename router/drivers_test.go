package router_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/dingtalk/dingtalkfake"
	"github.com/groupcast/groupcast/adapters/qq/qqfake"
	"github.com/groupcast/groupcast/adapters/wechat/wechatfake"
	"github.com/groupcast/groupcast/store"
)

// These tests run the real platform drivers through the engine against the
// strict fakes of their platforms, on a fake clock.

// drive moves the fake clock forward by step every few real milliseconds
// until the test ends, so backoffs, pauses and paces elapse quickly.
func drive(t *testing.T, c *fakeClock, step time.Duration) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				c.Sleep(context.Background(), step)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

const dtSecret = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"

func dingtalkConfig(url, secret string) string {
	return fmt.Sprintf(`
store: {driver: memory}
accounts:
  - {name: robot, platform: dingtalk, driver: webhook, base_url: "%s", access_token: tok1, secret: "%s"}
routes:
  - name: all
    targets: [{account: robot}]
`, url, secret)
}

func TestDingTalkThrottleDefersAndPausesRobot(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, shanghai)}
	fake := dingtalkfake.NewWebhook(t)
	fake.SetNow(clock.Now)
	fake.AddRobot(dingtalkfake.Robot{Token: "tok1", Secret: dtSecret})
	fake.SetForceCode(130101)
	h := startWithClock(t, dingtalkConfig(fake.URL, dtSecret), store.DriverMemory, "", clock)
	submit(t, h, "---\nid: dt1\ntitle: 通知\n---\n正文")
	submit(t, h, "---\nid: dt2\ntitle: 通知二\n---\n正文")
	for _, id := range []string{"dt1", "dt2"} {
		st := h.waitFor(id, "deferred by the throttle", allIn(groupcast.StateDeferred))
		tg := target(st)
		if !strings.Contains(tg.Reason, "130101") || tg.NotBefore == nil || tg.NotBefore.Sub(clock.Now()) < 9*time.Minute {
			t.Errorf("%s: %+v, want deferred about 10 minutes for 130101", id, tg)
		}
	}
	if n := fake.Count(130101); n != 1 {
		t.Errorf("the fake answered 130101 %d times: the paused robot was hammered", n)
	}
	if v := metricValue(t, h, "groupcast_throttled_total", "account", "robot"); v != 1 {
		t.Errorf("groupcast_throttled_total{account=robot} = %v, want 1", v)
	}
	// The account's health says so, and the store-wide queue gauges hold
	// the two waiting.
	accs, err := h.svc.Accounts(context.Background())
	if err != nil || len(accs) != 1 || accs[0].State != groupcast.AccountPaused || accs[0].PausedUntil == nil {
		t.Errorf("accounts: %+v %v, want robot paused", accs, err)
	}
	if v := metricValue(t, h, "groupcast_account_up", "account", "robot"); v != 0 {
		t.Errorf("groupcast_account_up{account=robot} = %v, want 0 while paused", v)
	}
	if v := metricValue(t, h, "groupcast_queue_waiting", "account", "robot"); v < 1 {
		t.Errorf("groupcast_queue_waiting{account=robot} = %v, want the held records", v)
	}
	fake.SetForceCode(0)
	clock.Sleep(context.Background(), 10*time.Minute)
	h.waitFor("dt1", "delivered after the pause", allIn(groupcast.StateDelivered))
	h.waitFor("dt2", "delivered after the pause", allIn(groupcast.StateDelivered))
}

func TestDingTalkBurstIsPacedAndWrongSecretFails(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, shanghai)}
	fake := dingtalkfake.NewWebhook(t)
	fake.SetNow(clock.Now)
	fake.AddRobot(dingtalkfake.Robot{Token: "tok1", Secret: dtSecret})
	h := startWithClock(t, dingtalkConfig(fake.URL, dtSecret), store.DriverMemory, "", clock)
	const n = 50
	for i := range n {
		submit(t, h, fmt.Sprintf("---\nid: burst-%d\ntitle: 第%d条\n---\n正文", i, i))
	}
	for i := range n {
		h.waitFor(fmt.Sprintf("burst-%d", i), "delivered", allIn(groupcast.StateDelivered))
	}
	if c := fake.Count(130101); c != 0 {
		t.Errorf("%d answers 130101: the pacer let a burst through", c)
	}
	if p := len(fake.Posts("tok1")); p != n {
		t.Errorf("%d posts, want %d", p, n)
	}
	h.stop()

	bad := "SEC" + strings.Repeat("f", 64)
	h = startWithClock(t, dingtalkConfig(fake.URL, bad), store.DriverMemory, "", clock)
	before := len(fake.Requests())
	submit(t, h, "---\nid: badsig\ntitle: 通知\n---\n正文")
	st := h.waitFor("badsig", "failed", allIn(groupcast.StateFailed))
	if tg := target(st); tg.Attempts != 1 || !strings.Contains(tg.Reason, "310000") {
		t.Errorf("wrong secret: %+v, want failed with 310000 after one attempt", tg)
	}
	if got := len(fake.Requests()) - before; got != 1 {
		t.Errorf("%d requests with a wrong secret, want 1", got)
	}
}

func TestWeComOverLimitDefersAndBadKeyFails(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, shanghai)}
	fake := wechatfake.NewWeCom("good-key")
	t.Cleanup(fake.Close)
	fake.Now = clock.Now
	fake.PerMinute = 5 // the platform is stricter than the configured pace
	cfg := fmt.Sprintf(`
store: {driver: memory}
accounts:
  - {name: wecom, platform: wechat, driver: wecom, base_url: "%[1]s", key: good-key}
  - {name: wecom-bad, platform: wechat, driver: wecom, base_url: "%[1]s", key: wrong-key}
routes:
  - {name: ok, match: {tags: [ok]}, targets: [{account: wecom}]}
  - {name: bad, match: {tags: [bad]}, targets: [{account: wecom-bad}]}
`, fake.URL())
	h := startWithClock(t, cfg, store.DriverMemory, "", clock)
	for i := range 8 {
		submit(t, h, fmt.Sprintf("---\nid: wc-%d\ntitle: 第%d条\ntags: [ok]\n---\n正文", i, i))
	}
	h.waitFor("wc-7", "deferred by 45009", func(st groupcast.Status) bool {
		return target(st).State == groupcast.StateDeferred && strings.Contains(target(st).Reason, "45009")
	})
	drive(t, clock, time.Second)
	for i := range 8 {
		st := h.waitFor(fmt.Sprintf("wc-%d", i), "delivered", allIn(groupcast.StateDelivered))
		if target(st).State != groupcast.StateDelivered {
			t.Fatal(st)
		}
	}
	if len(fake.Messages()) != 8 {
		t.Errorf("%d messages, want 8", len(fake.Messages()))
	}
	submit(t, h, "---\nid: wc-bad\ntitle: x\ntags: [bad]\n---\n正文")
	st := h.waitFor("wc-bad", "failed", allIn(groupcast.StateFailed))
	if tg := target(st); tg.Attempts != 1 || !strings.Contains(tg.Reason, "93000") {
		t.Errorf("bad key: %+v, want failed with 93000 after one attempt", tg)
	}
}

func TestOneBotOutageThenDelivered(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, shanghai)}
	fake := qqfake.NewOneBot("onebot-token")
	t.Cleanup(fake.Close)
	fake.Lock()
	fake.Now = clock.Now
	// The driver's default pace is 0.5–1.5 s between sends; the fake sees
	// arrival times, so allow 100 ms (fake time, 50 ms real) of jitter in
	// the HTTP round trip on a loaded machine.
	fake.MinGap = 400 * time.Millisecond
	fake.Unlock()
	fake.Outage(clock.Now(), clock.Now().Add(6*time.Second))
	cfg := fmt.Sprintf(`
store: {driver: memory}
delivery: {max_attempts: 20}
accounts:
  - {name: qq, platform: qq, driver: onebot, base_url: "%s", access_token: onebot-token}
routes:
  - name: all
    targets: [{account: qq, groups: ["10001", "10002", "10003"]}]
`, fake.URL())
	h := startWithClock(t, cfg, store.DriverMemory, "", clock)
	for i := range 5 {
		submit(t, h, fmt.Sprintf("---\nid: ob-%d\ntitle: 第%d条\n---\n正文", i, i))
	}
	// Twice real time: quick, yet loopback latency stays far below the gap.
	drive(t, clock, 10*time.Millisecond)
	retried := 0
	for i := range 5 {
		st := h.waitFor(fmt.Sprintf("ob-%d", i), "delivered after the outage", allIn(groupcast.StateDelivered))
		for _, tg := range st.Targets {
			if tg.Attempts < 1 || tg.Attempts > 20 {
				t.Errorf("%+v: retries unbounded", tg)
			}
			if tg.Attempts > 1 {
				retried++
			}
		}
	}
	if retried == 0 {
		t.Error("no target was retried: the outage was never seen")
	}
	got := map[string]int{}
	for _, m := range fake.Messages() {
		got[fmt.Sprint(m.GroupID)]++
	}
	for _, g := range []string{"10001", "10002", "10003"} {
		if got[g] != 5 {
			t.Errorf("group %s got %d messages, want 5 (nothing lost, nothing twice)", g, got[g])
		}
	}
	if v := fake.GapViolations(); v != 0 {
		t.Errorf("%d sends closer than the minimum gap", v)
	}
}

// metricValue reads one series of a counter or a gauge from the engine's
// registry (-1 when absent).
func metricValue(t *testing.T, h *harness, name, label, value string) float64 {
	t.Helper()
	fams, err := h.svc.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					if c := m.GetCounter(); c != nil {
						return c.GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}
