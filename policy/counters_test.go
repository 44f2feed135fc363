package policy

import (
	"context"
	"sync"
	"testing"

	"github.com/groupcast/groupcast"
)

func TestMemoryCounters(t *testing.T) {
	ctx := context.Background()
	var c MemoryCounters
	if v, err := c.Get(ctx, "k"); v != 0 || err != nil {
		t.Fatalf("Get absent = %d, %v", v, err)
	}
	for i := int64(1); i <= 3; i++ {
		if ok, used, err := c.Reserve(ctx, "k", 3); !ok || used != i || err != nil {
			t.Fatalf("Reserve %d = %v, %d, %v", i, ok, used, err)
		}
	}
	if ok, used, _ := c.Reserve(ctx, "k", 3); ok || used != 3 {
		t.Fatalf("Reserve over the limit = %v, %d", ok, used)
	}
	if ok, used, _ := c.Reserve(ctx, "k", 0); !ok || used != 4 {
		t.Fatalf("unlimited Reserve (urgent) = %v, %d", ok, used)
	}
	if err := c.Release(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get(ctx, "k"); v != 3 {
		t.Fatalf("after Release = %d", v)
	}
	if err := c.Release(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get(ctx, "other"); v != 0 {
		t.Fatalf("Release below zero: %d", v)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := c.Reserve(cancelled, "k", 3); err == nil {
		t.Fatal("Reserve ignored a cancelled context")
	}
}

func TestMemoryCountersExactUnderConcurrency(t *testing.T) {
	var c MemoryCounters
	const workers, limit = 64, 5
	var wg sync.WaitGroup
	granted := make(chan int64, workers)
	for range workers {
		wg.Go(func() {
			if ok, used, err := c.Reserve(context.Background(), "g", limit); err == nil && ok {
				granted <- used
			}
		})
	}
	wg.Wait()
	close(granted)
	seen := map[int64]bool{}
	for u := range granted {
		if seen[u] {
			t.Fatalf("slot %d granted twice", u)
		}
		seen[u] = true
	}
	if len(seen) != limit {
		t.Fatalf("%d slots granted, want exactly %d", len(seen), limit)
	}
}

// TestCapFlow runs the intended flow (read, Decide, Reserve, re-Decide on a
// refusal) for five announcements sent at once to one new group with cap 3:
// exactly 3 go, 2 are deferred to the next day's first window, even though
// every sender read the counter before anyone reserved.
func TestCapFlow(t *testing.T) {
	sh := mustLoc(t, "Asia/Shanghai")
	pol := mustCompile(t, specPolicy(), sh)
	now := clock(t, sh, "2026-11-26 12:30")
	dest := groupcast.Destination{Account: "qq-main", Group: "运维通知群"}
	ctx := context.Background()
	var counters MemoryCounters

	key := pol.CapKey(dest, now)
	if key != dest.Key()+".20261126" {
		t.Fatalf("CapKey = %q", key)
	}
	read, _ := counters.Get(ctx, key) // every sender read 0: the worst race
	var (
		mu             sync.Mutex
		sent, deferred int
		wg             sync.WaitGroup
		wantNext       = clock(t, sh, "2026-11-27 08:00")
		badDeferral    []Decision
	)
	for i := range 5 {
		wg.Go(func() {
			in := Input{
				Announcement: &groupcast.Announcement{ID: string(rune('a' + i)), Category: groupcast.CategoryNotice, Priority: groupcast.PriorityNormal},
				Destination:  dest, Now: now, SentToday: int(read), Rendered: rendered("维护通知"),
			}
			d := pol.Decide(in)
			if d.Action == Send && d.CountsToCap {
				ok, used, err := counters.Reserve(ctx, key, d.Limit)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					in.SentToday = int(used)
					d = pol.Decide(in)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			switch d.Action {
			case Send:
				sent++
			case Defer:
				deferred++
				if !d.NotBefore.Equal(wantNext) {
					badDeferral = append(badDeferral, d)
				}
			}
		})
	}
	wg.Wait()
	if sent != 3 || deferred != 2 {
		t.Fatalf("sent %d, deferred %d; want 3 and 2", sent, deferred)
	}
	if len(badDeferral) > 0 {
		t.Fatalf("deferred to %v, want %v", badDeferral[0].NotBefore, wantNext)
	}
	// The next day the counter is a new key, and the deferred ones go.
	next := pol.CapKey(dest, wantNext)
	if next == key {
		t.Fatal("the next day has the same cap key")
	}
	if ok, _, _ := counters.Reserve(ctx, next, 3); !ok {
		t.Fatal("next day's reservation refused")
	}
}
