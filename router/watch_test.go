package router_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

// next reads one change or fails after a while.
func next(t *testing.T, ch <-chan router.Change) router.Change {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("the watch closed")
		}
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no change")
	}
	return router.Change{}
}

// TestWatch: every watcher sees each announcement accepted and each
// target written (ids with dots included); a watcher that stops gets its
// channel closed and the others go on; a watcher that falls behind gets a
// reset instead of the changes it missed; watching again after everyone
// stopped starts the store watch again.
func TestWatch(t *testing.T) {
	h := start(t, threeFiles(t.TempDir()), store.DriverMemory, "")
	a, stopA := h.svc.Watch()
	b, stopB := h.svc.Watch()
	slow, stopSlow := h.svc.Watch()
	defer stopSlow()
	md := "---\nid: watch.one-1\ntitle: 观察\ntags: [ops]\n---\n正文。"
	if _, err := h.svc.Submit(context.Background(), parse(t, md)); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan router.Change{"a": a, "b": b} {
		if c := next(t, ch); c.Kind != router.ChangeRecord || c.ID != "watch.one-1" {
			t.Fatalf("%s: first change %+v", name, c)
		}
		delivered := map[string]bool{}
		for len(delivered) < 3 {
			c := next(t, ch)
			if c.Kind != router.ChangeTarget || c.ID != "watch.one-1" || c.Target == nil {
				t.Fatalf("%s: %+v", name, c)
			}
			if c.Target.State == groupcast.StateDelivered {
				delivered[c.Target.Account] = true
			}
		}
	}
	stopA()
	if _, ok := <-a; ok {
		// drain what was queued before the stop
		for range a {
		}
	}
	stopA() // twice is harmless
	// Fill the slow watcher past its buffer: it owes a reset.
	for i := range 100 {
		md := fmt.Sprintf("---\nid: w-%d\ntitle: 批量 %d\ntags: [ops]\n---\n正文。", i, i)
		if _, err := h.svc.Submit(context.Background(), parse(t, md)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitFor("w-99", "delivered", allIn(groupcast.StateDelivered))
	next(t, b) // b goes on (with a reset too: it was not reading either)
	stopB()
	resets := 0
	deadline := time.After(10 * time.Second)
drain:
	for {
		select {
		case c := <-slow:
			if c.Kind == router.ChangeReset {
				resets++
				break drain
			}
		case <-deadline:
			break drain
		}
	}
	if resets != 1 {
		t.Fatalf("the slow watcher got %d resets", resets)
	}
	stopSlow()
	// Everyone stopped: a new watcher starts the store watch again.
	c, stopC := h.svc.Watch()
	defer stopC()
	if _, err := h.svc.Submit(context.Background(), parse(t, "---\nid: again\ntitle: 再来\ntags: [ops]\n---\n正文。")); err != nil {
		t.Fatal(err)
	}
	if ch := next(t, c); ch.ID != "again" {
		t.Fatalf("after a restart: %+v", ch)
	}
}
