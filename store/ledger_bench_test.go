package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// The ledger write path of one announcement with three targets is one
// CreateRecord and, per target, one UpdateTarget to delivered (plus, with a
// policy, one compare-and-set of the group's state, and on a shared store a
// claim). These benchmarks time each step on the memory driver and on the
// embedded (file, durable) driver.

func openBench(b *testing.B, driver string) *store.Store {
	b.Helper()
	o := store.Options{Driver: driver}
	if driver == store.DriverEmbedded {
		o.Dir = b.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

var benchDrivers = []string{store.DriverMemory, store.DriverEmbedded}

func benchRecord(id string) *store.Record {
	body := strings.Repeat("为提升订单系统的稳定性，运维中心定于 12 月 1 日凌晨 02:00 至 04:00 进行数据库升级。\n", 10)
	dests := []groupcast.Destination{
		{Route: "all", Platform: "dingtalk", Account: "dt", Group: "dt", Style: "formal"},
		{Route: "all", Platform: "wechat", Account: "wx", Group: "运维通知群", Style: "short"},
		{Route: "all", Platform: "qq", Account: "qq", Group: "123456789", Style: "long"},
	}
	return &store.Record{
		Announcement: groupcast.Announcement{ID: id, Title: "【系统维护】订单中心数据库升级通知", Category: groupcast.CategoryNotice,
			Priority: groupcast.PriorityNormal, Tags: []string{"ops"}, Body: body},
		Digest: "0123456789abcdef0123456789abcdef", AcceptedAt: time.Now().UTC(), Destinations: dests,
	}
}

func benchTarget(d groupcast.Destination) *store.TargetRecord {
	return &store.TargetRecord{
		Target: groupcast.Target{Route: d.Route, Platform: d.Platform, Account: d.Account, Group: d.Group,
			Style: d.Style, State: groupcast.StateQueued, UpdatedAt: time.Now(), PlatformMessageIDs: []string{}},
		Key: d.Key(), AcceptedAt: time.Now().UTC(),
	}
}

func BenchmarkCreateRecord(b *testing.B) {
	for _, driver := range benchDrivers {
		b.Run(driver, func(b *testing.B) {
			st := openBench(b, driver)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if _, _, err := st.CreateRecord(ctx, benchRecord(fmt.Sprintf("rec-%d", i))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCreateTarget(b *testing.B) {
	for _, driver := range benchDrivers {
		b.Run(driver, func(b *testing.B) {
			st := openBench(b, driver)
			ctx := context.Background()
			d := benchRecord("x").Destinations[1]
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if _, err := st.CreateTarget(ctx, fmt.Sprintf("tgt-%d", i), benchTarget(d)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUpdateTarget is one compare-and-set state change (read, change,
// write), as the deliver handler makes twice per target.
func BenchmarkUpdateTarget(b *testing.B) {
	for _, driver := range benchDrivers {
		b.Run(driver, func(b *testing.B) {
			st := openBench(b, driver)
			ctx := context.Background()
			d := benchRecord("x").Destinations[1]
			const n = 64 // spread over keys, as real traffic is
			for i := range n {
				if _, err := st.CreateTarget(ctx, fmt.Sprintf("upd-%d", i), benchTarget(d)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				_, err := st.UpdateTarget(ctx, fmt.Sprintf("upd-%d", i%n), d.Key(), nil, func(t *store.TargetRecord) error {
					t.Attempts++
					t.State = groupcast.StateSending
					t.UpdatedAt = time.Now()
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTargets reads every target of one announcement, one get each
// (GET /v1/messages/{id}).
func BenchmarkTargets(b *testing.B) {
	for _, driver := range benchDrivers {
		b.Run(driver, func(b *testing.B) {
			st := openBench(b, driver)
			ctx := context.Background()
			rec := benchRecord("read-1")
			if _, _, err := st.CreateRecord(ctx, rec); err != nil {
				b.Fatal(err)
			}
			var keys []string
			for _, d := range rec.Destinations {
				keys = append(keys, d.Key())
				if _, err := st.CreateTarget(ctx, "read-1", benchTarget(d)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				ts, err := st.Targets(ctx, "read-1", keys)
				if err != nil {
					b.Fatal(err)
				}
				if len(ts) != 3 {
					b.Fatalf("%d targets", len(ts))
				}
			}
		})
	}
}

// BenchmarkRecord reads one announcement (the deliver handler reads it for
// every target).
func BenchmarkRecord(b *testing.B) {
	for _, driver := range benchDrivers {
		b.Run(driver, func(b *testing.B) {
			st := openBench(b, driver)
			ctx := context.Background()
			if _, _, err := st.CreateRecord(ctx, benchRecord("get-1")); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.Record(ctx, "get-1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
