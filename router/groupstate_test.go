package router

import (
	"context"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/store"
)

// TestGroupSlotsOtherWriters: the sender's copy of a group's state sees
// another writer — one in this process at once, one it did not see at its
// next write (a compare-and-set that fails, read again) — without losing
// the slots it reserved or the other writer's change, and release gives
// back exactly what is unused.
func TestGroupSlotsOtherWriters(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Driver: store.DriverMemory})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	loc, _ := time.LoadLocation("Asia/Shanghai")
	pol, err := policy.Compile(configs.Policy{Name: "p", DailyCap: configs.DailyCap{New: 1000, Mature: 1000}}, loc)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, loc)
	d := groupcast.Destination{Account: "a", Group: "g"}
	dec := policy.Decision{Action: policy.Send, CountsToCap: true, Limit: 1000}
	stored := func() policy.GroupState {
		t.Helper()
		var g policy.GroupState
		if _, err := st.ReadDoc(ctx, store.GroupStateKey(d.Key()), &g); err != nil {
			t.Fatal(err)
		}
		return g
	}
	gs := newGroupSlots(st)
	take := func(n int) {
		t.Helper()
		for range n {
			if _, ok, err := gs.take(ctx, pol, d, groupcast.CategoryNotice, now, dec); err != nil || !ok {
				t.Fatalf("take: %v %v", ok, err)
			}
		}
	}
	take(3) // one write: 1 + 15 ahead
	if g := stored(); g.Sent != 16 || g.Ahead != 15 {
		t.Fatalf("stored sent %d ahead %d, want 16, 15", g.Sent, g.Ahead)
	}

	// daily_cap.auto in this process: the copy reads it before deciding.
	lower := func() {
		var g policy.GroupState
		if err := st.ModifyJSON(ctx, store.GroupStateKey(d.Key()), &g, func() { g = policy.GroupState{} }, func() (bool, error) {
			g.AutoCap, g.AutoDay = 7, pol.DayKey(now)
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	lower()
	if g, err := gs.state(ctx, d.Key()); err != nil || g.AutoCap != 7 || g.SentOn(pol.DayKey(now)) != 3 {
		t.Fatalf("state after another writer: auto cap %d, %d sent (%v); want 7, 3", g.AutoCap, g.SentOn(pol.DayKey(now)), err)
	}

	// A writer the copy does not know of: its next write fails, reads
	// again and keeps both.
	take(2)
	lower()
	st.ForgetHints()
	gs.m[d.Key()].g.AutoCap = 0 // the copy as it was before that write
	take(14)                    // 11 from the reservation, a write, 2 from the new one
	if g, err := gs.state(ctx, d.Key()); err != nil || g.AutoCap != 7 || g.SentOn(pol.DayKey(now)) != 19 {
		t.Fatalf("copy: auto cap %d, %d sent (%v); want 7, 19", g.AutoCap, g.SentOn(pol.DayKey(now)), err)
	}
	if g := stored(); g.AutoCap != 7 || g.Sent < 19 {
		t.Fatalf("stored auto cap %d, %d slots taken; want 7 and every send counted", g.AutoCap, g.Sent)
	}

	// Release: the stored count is the sends.
	if err := gs.release(ctx); err != nil {
		t.Fatal(err)
	}
	if g := stored(); g.Sent != 19 || g.Ahead != 0 || g.AutoCap != 7 {
		t.Fatalf("after release: sent %d ahead %d auto cap %d, want 19, 0, 7", g.Sent, g.Ahead, g.AutoCap)
	}

	// A new sender counts a reservation it finds as used.
	take(1)
	fresh := newGroupSlots(st)
	if g, err := fresh.state(ctx, d.Key()); err != nil || g.Ahead != 0 || g.Sent != stored().Sent {
		t.Fatalf("a fresh copy: %+v %v", g, err)
	}
}
