package router_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

// benchE2EConfig is the config the targets are stated for: three file
// targets per announcement, one route, with a policy on it as every real
// config has (windows open all day, caps that never defer, the ad-law
// rule), or without (withPolicy false).
func benchE2EConfig(dir string, withPolicy bool) string {
	policy, use := "", ""
	if withPolicy {
		policy = `policies:
  - name: ops
    windows: ["00:00-24:00"]
    daily_cap: {new: 10000000, mature: 10000000}
    rules: [{preset: ad-law, action: block}]
`
		use = "    policy: ops\n"
	}
	return fmt.Sprintf(`
store: {driver: memory}
%[4]saccounts:
  - {name: dt, platform: dingtalk, driver: file, path: %[1]q}
  - {name: wx, platform: wechat, driver: file, path: %[2]q}
  - {name: qq, platform: qq, driver: file, path: %[3]q}
routes:
  - name: all
%[5]s    targets:
      - {account: dt}
      - {account: wx, groups: ["运维通知群"]}
      - {account: qq, groups: ["123456789"]}
`, filepath.Join(dir, "dt.jsonl"), filepath.Join(dir, "wx.jsonl"), filepath.Join(dir, "qq.jsonl"), policy, use)
}

// benchE2EBody is a ~1 KB Markdown notice, as groupcast-bench posts.
const benchE2EBody = `---
title: 【系统维护】订单中心数据库升级通知
tags: [ops]
links:
  - {title: 维护详情, url: "https://status.example.com/maint"}
---
各位同事：

为提升订单系统的稳定性和查询性能，运维中心定于 **12 月 1 日（周日）凌晨 02:00 至 04:00** 对订单中心数据库进行版本升级和参数调优。维护期间以下服务将**暂停**：

- 订单查询与导出
- 退款审核与财务对账报表
- 商家后台的批量改价

其他业务不受影响。请各业务线提前做好安排，避免在维护窗口内发起批量操作。如遇紧急问题，请联系值班工程师（分机 8080）或在运维群内 @值班。

维护完成后我们会在本群发布恢复通知。感谢大家的理解与配合！
`

// delivered sums groupcast_deliveries_total{state="delivered"}.
func delivered(b *testing.B, m *router.Metrics) int {
	mfs, err := m.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "groupcast_deliveries_total" {
			continue
		}
		for _, met := range mf.GetMetric() {
			for _, l := range met.GetLabel() {
				if l.GetName() == "state" && l.GetValue() == "delivered" {
					n += met.GetCounter().GetValue()
				}
			}
		}
	}
	return int(n)
}

// BenchmarkEndToEnd submits b.N announcements from 8 goroutines (what the
// HTTP handler does after parsing) and waits until all 3·b.N targets are
// delivered by the file driver. ann/s and deliveries/s cover submit to the
// last delivery. Variants: the memory store, the embedded (durable) store,
// and the embedded store with the daemon's JSON logging (to io.Discard).
func BenchmarkEndToEnd(b *testing.B) {
	for _, v := range []struct {
		name   string
		driver string
		logged bool
		policy bool
	}{
		{"memory", store.DriverMemory, false, true},
		{"embedded", store.DriverEmbedded, false, true},
		{"embedded-logged", store.DriverEmbedded, true, true},
		{"embedded-no-policy", store.DriverEmbedded, false, false},
	} {
		b.Run(v.name, func(b *testing.B) { benchEndToEnd(b, v.driver, v.logged, v.policy) })
	}
}

func benchEndToEnd(b *testing.B, driver string, logged, withPolicy bool) {
	dir := b.TempDir()
	cfg, err := configs.LoadBytes([]byte(benchE2EConfig(dir, withPolicy)), "bench.yaml", registry.Options())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	so := store.Options{Driver: driver}
	if driver == store.DriverEmbedded {
		so.Dir = filepath.Join(dir, "data")
	}
	st, err := store.Open(ctx, so)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	if logged {
		log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	svc, err := router.New(router.Options{Store: st, Config: cfg, Drivers: registry.Lookup, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	select {
	case <-svc.Running():
	case err := <-done:
		b.Fatal(err)
	}
	defer func() { cancel(); <-done }()
	tmpl, err := groupcast.Parse(groupcast.FormatMarkdown, []byte(benchE2EBody), time.Now())
	if err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				a := *tmpl
				a.ID = fmt.Sprintf("e2e-%d", i)
				if _, err := svc.Submit(ctx, &a); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	submitted := time.Since(start)
	want := 3 * b.N
	deadline := time.Now().Add(2*time.Minute + time.Duration(b.N)*10*time.Millisecond)
	for delivered(b, svc.Metrics()) < want {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d deliveries after %s", delivered(b, svc.Metrics()), want, time.Since(start))
		}
		time.Sleep(5 * time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "ann/s")
	b.ReportMetric(float64(want)/el.Seconds(), "deliveries/s")
	b.ReportMetric(float64(b.N)/submitted.Seconds(), "accepted/s")
}
