package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/store"
)

func open(t *testing.T, o store.Options) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func record(id string) *store.Record {
	return &store.Record{Announcement: groupcast.Announcement{ID: id, Title: "t", Body: "b"}, Digest: "d-" + id,
		AcceptedAt: time.Now(), Destinations: []groupcast.Destination{{Account: "a", Group: "运维群"}}}
}

func TestLedgerSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Driver: store.DriverEmbedded, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateRecord(ctx, record("r1")); err != nil {
		t.Fatal(err)
	}
	key := record("r1").Destinations[0].Key()
	tr := &store.TargetRecord{Target: groupcast.Target{State: groupcast.StateQueued, Group: "运维群"}, Key: key}
	if _, err := st.CreateTarget(ctx, "r1", tr); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateTarget(ctx, "r1", key, nil, func(t *store.TargetRecord) error {
		t.State = groupcast.StateDelivered
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st = open(t, store.Options{Driver: store.DriverEmbedded, Dir: dir})
	got, err := st.Record(ctx, "r1")
	if err != nil || got.Digest != "d-r1" {
		t.Fatalf("record after reopen: %+v %v", got, err)
	}
	if _, _, err := st.CreateRecord(ctx, record("r1")); !errors.Is(err, store.ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	ts, err := st.Targets(ctx, "r1", []string{key, "absent"})
	if err != nil || len(ts) != 1 || ts[0].State != groupcast.StateDelivered || ts[0].Group != "运维群" {
		t.Fatalf("targets after reopen: %+v %v", ts, err)
	}
	if _, err := st.Record(ctx, "nope"); !errors.Is(err, groupcast.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	ids, err := st.IDs(ctx)
	if err != nil || len(ids) != 1 {
		t.Errorf("ids %v %v", ids, err)
	}
}

// A group's daily cap is exact under contention: many goroutines on two
// connections (two replicas), against an external server, take slots by
// compare-and-set of the group's document and never grant more than the
// cap; the document is read fresh after a conflict, whatever a replica
// remembered of it.
func TestGroupCapExactUnderContention(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	a := open(t, store.Options{Driver: store.DriverNATS, URL: ns.ClientURL()})
	b := open(t, store.Options{Driver: store.DriverNATS, URL: ns.ClientURL()})
	ctx := context.Background()
	pol, err := policy.Compile(configs.Policy{Name: "p", DailyCap: configs.DailyCap{New: 120}}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	key := store.GroupStateKey("acc.g")
	var granted atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				var g policy.GroupState
				ok := false
				err := st.ModifyJSON(ctx, key, &g, func() { g = policy.GroupState{} }, func() (bool, error) {
					ok = pol.Take(&g, groupcast.CategoryNotice, now, 120)
					return ok, nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					granted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if g := granted.Load(); g != 120 {
		t.Errorf("granted %d of 400 attempts, want exactly 120", g)
	}
	var g policy.GroupState
	if err := b.ReadJSON(ctx, key, &g); err != nil || g.Sent != 120 {
		t.Errorf("stored %+v %v", g, err)
	}
}

func TestConcurrentTargetUpdatesAreNotLost(t *testing.T) {
	st := open(t, store.Options{Driver: store.DriverMemory})
	ctx := context.Background()
	st.CreateRecord(ctx, record("c1"))
	tr := &store.TargetRecord{Key: "k"}
	st.CreateTarget(ctx, "c1", tr)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if _, err := st.UpdateTarget(ctx, "c1", "k", nil, func(t *store.TargetRecord) error {
					t.Attempts++
					return nil
				}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	got, _, _ := st.Target(ctx, "c1", "k")
	if got.Attempts != 100 {
		t.Errorf("attempts %d, want 100: an update was lost", got.Attempts)
	}
}

// A target nothing was written for is created from the initial state the
// caller gives, once, even when writers race.
func TestUpdateTargetCreatesFromInitial(t *testing.T) {
	st := open(t, store.Options{Driver: store.DriverMemory})
	ctx := context.Background()
	initial := &store.TargetRecord{Key: "k", Target: groupcast.Target{State: groupcast.StateQueued}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.UpdateTarget(ctx, "n1", "k", initial, func(t *store.TargetRecord) error {
				t.Attempts++
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _, err := st.Target(ctx, "n1", "k")
	if err != nil || got.Attempts != 8 || got.State != groupcast.StateQueued {
		t.Fatalf("got %+v %v, want 8 attempts from the initial state", got, err)
	}
	if _, err := st.UpdateTarget(ctx, "n2", "k", nil, func(*store.TargetRecord) error { return nil }); !errors.Is(err, groupcast.ErrNotFound) {
		t.Errorf("no initial: %v, want ErrNotFound", err)
	}
}

// UpdateNewTarget creates without reading first, but a target that exists
// after all (written elsewhere) is updated, never overwritten; racing
// writers each count once.
func TestUpdateNewTargetNeverOverwrites(t *testing.T) {
	st := open(t, store.Options{Driver: store.DriverMemory})
	ctx := context.Background()
	initial := &store.TargetRecord{Key: "k", Target: groupcast.Target{State: groupcast.StateQueued}}
	// Stored in a final state: this process keeps no version of it.
	done := &store.TargetRecord{Key: "k", Target: groupcast.Target{State: groupcast.StateDelivered, Attempts: 1,
		PlatformMessageIDs: []string{"m1"}}}
	if _, err := st.CreateTarget(ctx, "e1", done); err != nil {
		t.Fatal(err)
	}
	got, err := st.UpdateNewTarget(ctx, "e1", "k", initial, func(t *store.TargetRecord) error {
		t.Attempts++
		return nil
	})
	if err != nil || got.State != groupcast.StateDelivered || got.Attempts != 2 || len(got.PlatformMessageIDs) != 1 {
		t.Fatalf("got %+v %v, want the stored target updated", got, err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.UpdateNewTarget(ctx, "n1", "k", initial, func(t *store.TargetRecord) error {
				t.Attempts++
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got, _, err := st.Target(ctx, "n1", "k"); err != nil || got.Attempts != 8 || got.State != groupcast.StateQueued {
		t.Fatalf("got %+v %v, want 8 attempts from the initial state", got, err)
	}
}

// Concurrent writers of one target that each append to its timeline (a
// review decision or a recall beside the sender's settle): every change is
// kept, once.
func TestConcurrentTimelineAppends(t *testing.T) {
	st := open(t, store.Options{Driver: store.DriverEmbedded, Dir: t.TempDir()})
	ctx := context.Background()
	initial := &store.TargetRecord{Key: "k", Target: groupcast.Target{State: groupcast.StateQueued}}
	t0 := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.UpdateTarget(ctx, "tl", "k", initial, func(t *store.TargetRecord) error {
				t.Attempts++
				t.Reason = fmt.Sprintf("writer %d", i)
				t.Record(t0.Add(time.Duration(i) * time.Second))
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _, err := st.Target(ctx, "tl", "k")
	if err != nil || got.Attempts != 8 || len(got.Timeline) != 8 {
		t.Fatalf("got %d attempts, timeline %+v (%v), want 8 of each", got.Attempts, got.Timeline, err)
	}
	seen := map[string]bool{}
	for _, tr := range got.Timeline {
		if seen[tr.Reason] {
			t.Errorf("timeline holds %q twice: %+v", tr.Reason, got.Timeline)
		}
		seen[tr.Reason] = true
	}
}

// A record larger than the store takes in one message is refused as such
// (413 at the API), not as a store failure; a body of angle brackets is
// stored at its own size (no HTML escaping).
func TestRecordSizeLimit(t *testing.T) {
	st := open(t, store.Options{Driver: store.DriverMemory})
	ctx := context.Background()
	r := record("big")
	r.Announcement.Body = strings.Repeat("<", 900_000)
	if _, _, err := st.CreateRecord(ctx, r); err != nil {
		t.Fatalf("900 KB of '<': %v", err)
	}
	r = record("huge")
	r.Announcement.Body = strings.Repeat("\u0001", 2_000_000) // each escaped to six bytes
	if _, _, err := st.CreateRecord(ctx, r); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("12 MB escaped: %v, want ErrTooLarge", err)
	}
}

func TestOpenRefusesUnknownDriver(t *testing.T) {
	if _, err := store.Open(context.Background(), store.Options{Driver: "sqlite"}); err == nil {
		t.Fatal("want an error")
	}
}
