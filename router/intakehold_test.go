package router

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

// fakeNow is a settable clock for intakeHold's activity check.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) now() time.Time      { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeNow) add(d time.Duration) { f.mu.Lock(); f.t = f.t.Add(d); f.mu.Unlock() }

func newTestHold(max time.Duration) (*intakeHold, *fakeNow) {
	f := &fakeNow{t: time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)}
	h := &intakeHold{lag: 10, max: max, active: 20 * time.Millisecond, now: f.now}
	h.init()
	return h, f
}

func TestIntakeHoldBehind(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(h *intakeHold, f *fakeNow)
		want  bool
	}{
		{"nothing written", func(h *intakeHold, f *fakeNow) { h.taken("a", 1) }, false},
		{"no sender", func(h *intakeHold, f *fakeNow) { h.written(100) }, false},
		{"within reach", func(h *intakeHold, f *fakeNow) { h.taken("a", 90); h.written(100) }, false},
		{"busy and out of reach", func(h *intakeHold, f *fakeNow) { h.taken("a", 89); h.written(100) }, true},
		{"out of reach but idle (paced, paused, a window)", func(h *intakeHold, f *fakeNow) {
			h.taken("a", 50)
			h.written(100)
			f.add(20 * time.Millisecond)
		}, false},
		{"the slowest busy sender counts", func(h *intakeHold, f *fakeNow) {
			h.taken("fast", 100)
			h.taken("slow", 60)
			h.written(100)
		}, true},
		{"an idle slow sender does not", func(h *intakeHold, f *fakeNow) {
			h.taken("slow", 60)
			f.add(time.Second)
			h.taken("fast", 100)
			h.written(100)
		}, false},
		{"an older record taken again does not move a sender back", func(h *intakeHold, f *fakeNow) {
			h.taken("a", 95)
			h.taken("a", 3) // a redelivery
			h.written(100)
		}, false},
		{"written never moves back", func(h *intakeHold, f *fakeNow) {
			h.written(100)
			h.written(20)
			h.taken("a", 85)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, f := newTestHold(time.Minute)
			tc.setup(h, f)
			if got := h.behind(); got != tc.want {
				t.Fatalf("behind() = %v, want %v", got, tc.want)
			}
			if !tc.want {
				if d := h.wait(context.Background()); d != 0 {
					t.Fatalf("wait held %v with nobody behind", d)
				}
			}
		})
	}
}

// waitFor waits until n requests are held.
func waitFor(t *testing.T, h *intakeHold, n int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.waiters.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want %d", h.waiters.Load(), n)
		}
		runtime.Gosched()
	}
}

func TestIntakeHoldReleasedWhenSenderCatchesUp(t *testing.T) {
	h, f := newTestHold(time.Minute) // only the sender's move can end the hold
	h.taken("a", 50)
	h.written(100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.wait(context.Background())
	}()
	waitFor(t, h, 1)
	h.taken("a", 70) // still out of reach: held on
	select {
	case <-done:
		t.Fatal("released while the sender was still out of reach")
	default:
	}
	f.add(time.Millisecond)
	h.taken("a", 90)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("not released once the sender was within reach")
	}
}

func TestIntakeHoldBounded(t *testing.T) {
	h, _ := newTestHold(5 * time.Millisecond)
	h.taken("a", 1)
	h.written(100)
	start := time.Now()
	h.wait(context.Background())
	if d := time.Since(start); d < 5*time.Millisecond || d > 10*time.Second {
		t.Fatalf("held %v, want about 5ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.max = time.Minute
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.wait(ctx)
	}()
	waitFor(t, h, 1)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled request stayed held")
	}
	if n := h.waiters.Load(); n != 0 {
		t.Fatalf("%d waiters left", n)
	}
}
