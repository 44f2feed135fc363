package router_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

// The order of targets that fell due together, at the two seams where the
// sender used to lose it: the clock passing a due time between the
// sender's look at the records asked back and its decision on the next
// one, and a due record the store does not give back at once.

// orderHarness starts a sender for one paced-free account behind the
// ops windows (closed at 10:00), with records asked back for a minute of
// real time: within a test only the sender's own reads by sequence bring
// them back, never JetStream's redelivery.
func orderHarness(t *testing.T) (*harness, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: at("2026-11-26 10:00")}
	cfg := strings.Replace(fmt.Sprintf(policyConfig, ""), "daily_cap: {new: 3, mature: 8}", "", 1)
	h := startWith(t, cfg, store.DriverMemory, "", clock, time.Minute)
	return h, clock
}

// sentOrder is the announcements account s1 sent, in order.
func sentOrder() []string {
	v, _ := scriptedSenders.Load("s1")
	s := v.(*scripted)
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, m := range s.sent {
		ids = append(ids, m.Announcement.ID)
	}
	return ids
}

func deferTwo(t *testing.T, h *harness) {
	t.Helper()
	for _, id := range []string{"o-0", "o-1"} {
		submit(t, h, fmt.Sprintf("---\nid: %s\ntitle: 通知\n---\n正文", id))
	}
	for _, id := range []string{"o-0", "o-1"} {
		h.waitFor(id, "deferred by the window", allIn(groupcast.StateDeferred))
	}
}

// The window opens after the sender found no older record due and before
// it decides the next one: decided at the later instant, the later one
// would go first. It steps back behind the two that fell due with it.
func TestWindowOpeningMidStepKeepsOrder(t *testing.T) {
	h, clock := orderHarness(t)
	deferTwo(t, h)
	var jumped atomic.Bool
	router.SetBeforeProcess(h.svc, func(id string) {
		if id == "o-2" && jumped.CompareAndSwap(false, true) {
			clock.Set(at("2026-11-26 12:00"))
		}
	})
	submit(t, h, "---\nid: o-2\ntitle: 通知\n---\n正文")
	h.waitFor("o-2", "delivered", allIn(groupcast.StateDelivered))
	if !jumped.Load() {
		t.Fatal("the clock never moved between the look and the decision: the seam was not hit")
	}
	if got, want := sentOrder(), []string{"o-0", "o-1", "o-2"}; !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v (acceptance order)", got, want)
	}
}

// The store fails the first read of a due record by its sequence: the
// later ones wait for the read to be tried again instead of passing it.
func TestDueRecordReadFailureKeepsOrder(t *testing.T) {
	h, clock := orderHarness(t)
	deferTwo(t, h)
	var reads atomic.Int32
	router.SetReadAheadFault(h.svc, func(uint64) error {
		if reads.Add(1) == 1 {
			return errors.New("store: read record: nats: timeout")
		}
		return nil
	})
	clock.Set(at("2026-11-26 12:00"))
	submit(t, h, "---\nid: o-2\ntitle: 通知\n---\n正文")
	h.waitFor("o-2", "delivered", allIn(groupcast.StateDelivered))
	if got, want := sentOrder(), []string{"o-0", "o-1", "o-2"}; !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v (acceptance order)", got, want)
	}
	if n := reads.Load(); n < 3 {
		t.Errorf("%d reads by sequence, want the failed one read again", n)
	}
	if n := orderGivenUp(t, h); n != 0 {
		t.Errorf("order given up %v times, want 0", n)
	}
}

// A due record the store never gives back does not stall the account: after
// a bounded number of reads its order is given up (logged and counted), the
// later ones go, and it goes when its message comes back.
func TestDueRecordUnreadableGivesUpOrder(t *testing.T) {
	h, clock := orderHarness(t)
	deferTwo(t, h)
	var mu sync.Mutex
	var bad uint64
	tries := 0
	router.SetReadAheadFault(h.svc, func(seq uint64) error {
		mu.Lock()
		defer mu.Unlock()
		if bad == 0 {
			bad = seq
		}
		if seq == bad {
			tries++
			return errors.New("store: read record: nats: timeout")
		}
		return nil
	})
	clock.Set(at("2026-11-26 12:00"))
	submit(t, h, "---\nid: o-2\ntitle: 通知\n---\n正文")
	h.waitFor("o-2", "delivered", allIn(groupcast.StateDelivered))
	mu.Lock()
	if tries != 3 {
		t.Errorf("the unreadable record was read %d times, want 3", tries)
	}
	mu.Unlock()
	if got := sentOrder(); len(got) != 2 || got[1] != "o-2" {
		t.Errorf("sent %v, want the readable one of o-0/o-1, then o-2", got)
	}
	if n := orderGivenUp(t, h); n != 1 {
		t.Errorf("order given up %v times, want 1", n)
	}
}

func orderGivenUp(t *testing.T, h *harness) float64 {
	t.Helper()
	fams, err := h.svc.Metrics().Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, f := range fams {
		if f.GetName() == "groupcast_order_given_up_total" {
			for _, m := range f.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// A record read ahead by its sequence (its message still asked back) is
// deferred again when it is decided (here the clock steps back; the content
// mix can do the same): it is remembered as asked back with its new due
// time, so that a later record does not pass it when that time comes.
func TestReadAheadDeferredAgainKeepsOrder(t *testing.T) {
	h, clock := orderHarness(t)
	deferTwo(t, h)
	var stage atomic.Int32
	router.SetBeforeProcess(h.svc, func(id string) {
		switch {
		case id == "o-0" && stage.CompareAndSwap(0, 1):
			clock.Set(at("2026-11-26 11:59")) // read ahead at 12:00, decided at 11:59
		case id == "o-2" && stage.CompareAndSwap(1, 2):
			clock.Set(at("2026-11-26 12:00"))
		}
	})
	clock.Set(at("2026-11-26 12:00"))
	submit(t, h, "---\nid: o-2\ntitle: 通知\n---\n正文")
	h.waitFor("o-2", "delivered", allIn(groupcast.StateDelivered))
	if stage.Load() != 2 {
		t.Fatalf("stage %d: the seam was not hit", stage.Load())
	}
	if got, want := sentOrder(), []string{"o-0", "o-1", "o-2"}; !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v (acceptance order)", got, want)
	}
}

// A record lost on its way to the sender (a fetch cut by a stream leader
// going away: JetStream gives it back only after the ack wait) does not
// let the later ones overtake it: the gap in the queue's sequence is read
// ahead from the store.
func TestLostRecordKeepsOrder(t *testing.T) {
	h, _ := orderHarness(t)
	lost := map[uint64]bool{}
	var mu sync.Mutex
	router.SetLostRecord(h.svc, func(account string, seq, deliveries uint64) bool {
		mu.Lock()
		defer mu.Unlock()
		// The first record's first delivery is lost.
		if deliveries == 1 && (len(lost) == 0 || lost[seq]) {
			lost[seq] = true
			return true
		}
		return false
	})
	ids := []string{"lost-0", "lost-1", "lost-2"}
	for _, id := range ids {
		submit(t, h, fmt.Sprintf("---\nid: %s\ntitle: 紧急\npriority: urgent\n---\n正文", id))
	}
	for _, id := range ids {
		h.waitFor(id, "delivered", allIn(groupcast.StateDelivered))
	}
	if got := sentOrder(); !slices.Equal(got, ids) {
		t.Fatalf("sent %v, want %v: a record lost on its way was overtaken", got, ids)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lost) != 1 {
		t.Fatalf("lost %v: the test lost no record", lost)
	}
}
