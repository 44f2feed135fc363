package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/store/natstest"
)

// The lease tests run on a real 3-node cluster with replicas 3, each
// contender connected to a different node. The TTL is the store's (the
// server expires the key), so these tests wait in real time.
const testTTL = 2 * time.Second

func leaseCluster(t *testing.T) (*natstest.Cluster, []*store.Store) {
	t.Helper()
	c := natstest.Start(t)
	sts := make([]*store.Store, c.Len())
	for i := range sts {
		sts[i] = clusterStore(t, c, i, testTTL)
	}
	return c, sts
}

func TestLeaseReleaseHandsOverAtOnce(t *testing.T) {
	_, sts := leaseCluster(t)
	ctx := context.Background()
	a, err := sts[0].TakeLease(ctx, "acct", "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Valid() {
		t.Fatal("a fresh lease is not valid")
	}
	if _, err := sts[1].TakeLease(ctx, "acct", "replica-b"); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("second owner: %v, want ErrLeaseHeld", err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Valid() {
		t.Fatal("a released lease is still valid")
	}
	b, err := sts[1].TakeLease(ctx, "acct", "replica-b")
	if err != nil {
		t.Fatalf("take right after release: %v", err)
	}
	if b.Token() <= a.Token() {
		t.Fatalf("new token %d is not above the old %d", b.Token(), a.Token())
	}
	if err := sts[2].CheckLease(ctx, "acct", b.Token()); err != nil {
		t.Fatalf("check of the holder's token: %v", err)
	}
	if err := sts[2].CheckLease(ctx, "acct", a.Token()); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("check of the released token: %v, want ErrLeaseLost", err)
	}
}

// A holder that stops renewing loses the lease to the next contender
// within 2×TTL of its last write, never before its own deadline; then its
// token is refused and it cannot renew.
func TestLeaseTakeoverAfterHolderStops(t *testing.T) {
	_, sts := leaseCluster(t)
	ctx := context.Background()
	for round := range 3 {
		key := fmt.Sprintf("acct-%d", round)
		sent := time.Now()
		a, err := sts[0].TakeLease(ctx, key, "replica-a")
		if err != nil {
			t.Fatal(err)
		}
		// a now stops renewing (a crash, a pause). b polls.
		var b *store.LeaseHold
		for b == nil {
			h, err := sts[1+round%2].TakeLease(ctx, key, "replica-b")
			switch {
			case err == nil:
				b = h
			case errors.Is(err, store.ErrLeaseHeld):
				time.Sleep(testTTL / 20)
			default:
				t.Fatal(err)
			}
		}
		took := time.Now()
		t.Logf("round %d: takeover %v after the holder's last write (TTL %v)", round, took.Sub(sent).Round(time.Millisecond), testTTL)
		if took.Before(a.Deadline()) {
			t.Fatalf("b took the lease %v before a's deadline", a.Deadline().Sub(took))
		}
		if took.Sub(sent) > 2*testTTL {
			t.Fatalf("takeover after %v, more than 2×TTL", took.Sub(sent))
		}
		if err := sts[2].CheckLease(ctx, key, a.Token()); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("stale token check: %v, want ErrLeaseLost", err)
		}
		if err := a.Renew(ctx); !errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("stale renew: %v, want ErrLeaseLost", err)
		}
		if a.Valid() {
			t.Fatal("stale holder still valid after a failed renewal")
		}
		if err := sts[0].CheckLease(ctx, key, b.Token()); err != nil {
			t.Fatalf("new holder's token: %v", err)
		}
	}
}

// A holder that keeps renewing keeps the lease for several TTLs; when its
// context ends it hands the lease back.
func TestLeaseKeep(t *testing.T) {
	_, sts := leaseCluster(t)
	ctx := context.Background()
	a, err := sts[0].TakeLease(ctx, "acct", "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	kctx, stop := context.WithCancel(ctx)
	kept := make(chan error, 1)
	go func() { kept <- a.Keep(kctx) }()
	end := time.Now().Add(3 * testTTL)
	for time.Now().Before(end) {
		if _, err := sts[1].TakeLease(ctx, "acct", "replica-b"); !errors.Is(err, store.ErrLeaseHeld) {
			t.Fatalf("take of a kept lease: %v, want ErrLeaseHeld", err)
		}
		if !a.Valid() {
			t.Fatal("a kept lease went invalid")
		}
		time.Sleep(testTTL / 4)
	}
	if err := sts[2].CheckLease(ctx, "acct", a.Token()); err != nil {
		t.Fatalf("the token changed while renewing: %v", err)
	}
	stop()
	if err := <-kept; err != nil {
		t.Fatal(err)
	}
	if _, err := sts[1].TakeLease(ctx, "acct", "replica-b"); err != nil {
		t.Fatalf("take after Keep ended: %v", err)
	}
}

// Contenders on three nodes take, renew a few times, carry on without
// renewing until their deadline, drop the lease (release, or nothing, as
// a crash would) and retake it, for a while. Whenever a holder is still
// valid after checking its token against the store, the check must have
// passed: two holders valid at once would fail it.
func TestLeaseNeverTwoHolders(t *testing.T) {
	_, sts := leaseCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*testTTL)
	defer cancel()
	var (
		wg        sync.WaitGroup
		tenures   atomic.Int64
		checks    atomic.Int64
		violation atomic.Pointer[string]
	)
	for i, st := range sts {
		owner := fmt.Sprintf("replica-%d", i)
		wg.Go(func() {
			for ctx.Err() == nil {
				h, err := st.TakeLease(ctx, "acct", owner)
				if err != nil {
					time.Sleep(testTTL / 10)
					continue
				}
				tenures.Add(1)
				renewals := rand.IntN(4)
				for r := 0; ctx.Err() == nil; r++ {
					err := st.CheckLease(ctx, "acct", h.Token())
					if h.Valid() {
						checks.Add(1)
						if err != nil && ctx.Err() == nil {
							msg := fmt.Sprintf("%s valid with a refused token: %v", owner, err)
							violation.Store(&msg)
						}
					} else {
						break
					}
					// After its renewals, the holder carries on as one whose
					// renewals fail would: claiming until its deadline.
					if r%5 == 4 && r/5 < renewals {
						if err := h.Renew(ctx); err != nil {
							break
						}
					}
					time.Sleep(testTTL / 20)
				}
				if rand.IntN(2) == 0 {
					_ = h.Release(context.Background())
				} // else: stop renewing, as a crash would
			}
		})
	}
	wg.Wait()
	if v := violation.Load(); v != nil {
		t.Fatal(*v)
	}
	t.Logf("%d tenures, %d checks while valid", tenures.Load(), checks.Load())
	if tenures.Load() < 3 {
		t.Fatalf("only %d tenures: the lease did not move", tenures.Load())
	}
}

// Losing the leases stream's leader node (and the meta leader, if it is
// the same node) does not give the lease to two owners: the holder keeps
// it through the election, or stops claiming before anyone else can take
// it.
func TestLeaseThroughLeaderLoss(t *testing.T) {
	c, sts := leaseCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	leader, err := c.WaitStreamLeader(ctx, "", store.KVStreamName(store.BucketLeases))
	if err != nil {
		t.Fatal(err)
	}
	holder, other := sts[(leader+1)%3], sts[(leader+2)%3]
	a, err := holder.TakeLease(ctx, "acct", "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	kctx, stop := context.WithCancel(ctx)
	kept := make(chan error, 1)
	go func() { kept <- a.Keep(kctx) }()
	c.Kill(leader)
	began := time.Now()
	if _, err := c.WaitStreamLeader(ctx, "", store.KVStreamName(store.BucketLeases)); err != nil {
		t.Fatal(err)
	}
	t.Logf("new leader of the leases stream after %v", time.Since(began).Round(time.Millisecond))
	end := time.Now().Add(2 * testTTL)
	for time.Now().Before(end) {
		b, err := other.TakeLease(ctx, "acct", "replica-b")
		if err == nil {
			if a.Valid() {
				t.Fatalf("b took the lease while a is still valid")
			}
			t.Logf("a lost the lease during the election; b took it")
			_ = b.Release(ctx)
			break
		}
		time.Sleep(testTTL / 10)
	}
	stop()
	if err := <-kept; err != nil && !errors.Is(err, store.ErrLeaseLost) {
		t.Fatal(err)
	}
}
