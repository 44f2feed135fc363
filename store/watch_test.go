package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// TestWatch: a watch sees each announcement accepted and each target
// written after it started, in order — and not a write the ledger refused
// (a second create of the same id), nor what came before it.
func TestWatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := open(t, store.Options{Driver: store.DriverEmbedded, Dir: t.TempDir()})
	if _, _, err := st.CreateRecord(ctx, record("before")); err != nil {
		t.Fatal(err)
	}
	changes, err := st.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := func() store.Change {
		t.Helper()
		select {
		case c := <-changes:
			return c
		case <-ctx.Done():
			t.Fatal("no change")
		}
		return store.Change{}
	}
	if _, _, err := st.CreateRecord(ctx, record("w1")); err != nil {
		t.Fatal(err)
	}
	if c := next(); c.Kind != store.KindRecord || c.ID != "w1" {
		t.Fatalf("first change %+v, want the record w1", c)
	}
	if _, _, err := st.CreateRecord(ctx, record("w1")); err == nil {
		t.Fatal("a second create of w1 was taken")
	}
	initial := &store.TargetRecord{Target: groupcast.Target{Account: "a", Group: "运维群", State: groupcast.StateQueued}, Key: "a.key"}
	if _, err := st.UpdateTarget(ctx, "w1", "a.key", initial, func(t *store.TargetRecord) error {
		t.State = groupcast.StateDelivered
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The refused create is not seen: the next change is the target.
	if c := next(); c.Kind != store.KindTarget || c.ID != "w1" || c.Target == nil || c.Target.State != groupcast.StateDelivered {
		t.Fatalf("second change %+v, want w1's target delivered (and nothing for the refused create)", c)
	}
	if _, _, err := st.CreateRecord(ctx, record("w2")); err != nil {
		t.Fatal(err)
	}
	if c := next(); c.Kind != store.KindRecord || c.ID != "w2" {
		t.Fatalf("third change %+v, want the record w2", c)
	}
	cancel()
	for range changes { // closed once ctx ends
	}
}
