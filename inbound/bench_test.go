package inbound_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/inbound"
	"github.com/groupcast/groupcast/store"
)

// BenchmarkInbound is the cost the send path's neighbours pay: queueing
// one event (the hub is not running, the queue drains by itself).
func BenchmarkInbound(b *testing.B) {
	st, err := store.Open(context.Background(), store.Options{Driver: store.DriverMemory})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	hub, err := inbound.New(inbound.Options{Store: st, QueueSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	ev := message("qq-main", "123", "x", "2", "报名")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev.ID = "m"
		if err := hub.Inbound(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandle is the hub's throughput on the memory store: each
// message is de-duplicated, matched, and claims the cooldown (one reply
// per group, the rest in cooldown), across 100 groups.
func BenchmarkHandle(b *testing.B) {
	cfg, err := configs.LoadBytes([]byte(fmt.Sprintf(baseConfig, "http://127.0.0.1:1", "", "http://127.0.0.1:1")), "t.yaml",
		configs.Options{Catalog: registry.Catalog, Platforms: registry.Platforms()})
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Options{Driver: store.DriverMemory})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	hub, err := inbound.New(inbound.Options{Store: st, Registry: reg, QueueSize: 1 << 20,
		Clock: &fakeClock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai)}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	eng := &stubEngine{cfg: cfg}
	go func() { _ = hub.Run(ctx, eng) }()
	b.ResetTimer()
	for n := range b.N {
		ev := message("qq-main", fmt.Sprint(n%100), fmt.Sprint("b", n), "2", "报名")
		ev.Platform = "qq"
		if err := hub.Inbound(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	for taken(b, reg) < float64(b.N) { // the time includes handling every event
		time.Sleep(time.Millisecond)
	}
}
