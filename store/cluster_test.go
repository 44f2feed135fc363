package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/store/natstest"
)

// clusterStore opens a store with replicas 3 connected to one node only,
// so that reads and writes of different stores go through different
// servers.
func clusterStore(t *testing.T, c *natstest.Cluster, node int, ttl time.Duration) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.OpenWait(ctx, store.Options{Driver: store.DriverNATS, URL: c.URLs()[node], Replicas: 3, LeaseTTL: ttl}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Replicas started at the same moment on a fresh cluster all come up: the
// streams and buckets are created once and updated idempotently.
func TestReplicasStartTogether(t *testing.T) {
	c := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	began0 := time.Now()
	for i := range 3 {
		wg.Go(func() {
			began := time.Now()
			st, err := store.OpenWait(ctx, store.Options{Driver: store.DriverNATS, URL: c.URL(), Replicas: 3}, func(err error) { t.Logf("replica %d after %v: %v", i, time.Since(began).Round(time.Millisecond), err) })
			if err == nil {
				err = st.Ready()
				st.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	t.Logf("all open after %v", time.Since(began0).Round(time.Millisecond))
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
}

// A replica started before its NATS servers waits, reporting why, and
// opens once they are up.
func TestOpenWaitsForTheCluster(t *testing.T) {
	p, err := natstest.NewPlan(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reports := make(chan error, 1000)
	type result struct {
		st  *store.Store
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := store.OpenWait(ctx, store.Options{Driver: store.DriverNATS, URL: strings.Join(p.URLs(), ","), Replicas: 3},
			func(err error) { reports <- err })
		done <- result{st, err}
	}()
	first := <-reports
	want := "store: connecting to " + strings.Join(p.URLs(), ",") + ": no server reachable"
	if first == nil || !strings.HasPrefix(first.Error(), want) {
		t.Fatalf("first report %v, want it to start with %q", first, want)
	}
	for i := range p.Nodes {
		srv, err := natstest.StartNode(p, i, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.st.Close()
	var last error = errors.New("none")
	for len(reports) > 0 {
		last = <-reports
	}
	if last != nil {
		t.Fatalf("last report %v, want nil (ready)", last)
	}
}

// Every read sees the write before it, even right after the write and
// through another server: the buckets are read through the stream leader,
// never from a follower's copy.
func TestReadYourWritesAcrossNodes(t *testing.T) {
	c := natstest.Start(t)
	w := clusterStore(t, c, 0, 0)
	readers := []*store.Store{clusterStore(t, c, 1, 0), clusterStore(t, c, 2, 0)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 300
	for i := range n {
		id := fmt.Sprintf("ryw-%d", i)
		if _, err := w.CreateRecord(ctx, record(id)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.Reserve(ctx, "cap.ryw", 1, 0); err != nil {
			t.Fatal(err)
		}
		for j, r := range readers {
			got, err := r.Record(ctx, id)
			if err != nil || got.Digest != "d-"+id {
				t.Fatalf("write %d, read through node %d: %+v %v", i, j+1, got, err)
			}
			if k, err := r.Count(ctx, "cap.ryw"); err != nil || k != int64(i+1) {
				t.Fatalf("write %d, counter through node %d: %d %v, want %d", i, j+1, k, err, i+1)
			}
		}
	}
}
