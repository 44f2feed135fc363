package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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
// never from a follower's copy. The writers go through the bucket's
// leader, the readers through the two followers (a direct get is answered
// by the replica nearest the reader), several at once so that followers
// lag behind.
func TestReadYourWritesAcrossNodes(t *testing.T) {
	c := natstest.Start(t)
	sts := []*store.Store{clusterStore(t, c, 0, 0), clusterStore(t, c, 1, 0), clusterStore(t, c, 2, 0)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const workers, n = 8, 150
	for _, bucket := range []string{store.BucketLedger, store.BucketCounters} {
		leader, err := c.WaitStreamLeader(ctx, "", store.KVStreamName(bucket))
		if err != nil {
			t.Fatal(err)
		}
		w := sts[leader]
		readers := []*store.Store{sts[(leader+1)%3], sts[(leader+2)%3]}
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for g := range workers {
			wg.Go(func() {
				for i := range n {
					id := fmt.Sprintf("ryw-%d-%d", g, i)
					r := readers[i%2]
					var err error
					if bucket == store.BucketLedger {
						err = ledgerRoundTrip(ctx, w, r, id)
					} else {
						err = counterRoundTrip(ctx, w, r, id, int64(i+1))
					}
					if err != nil {
						errs <- fmt.Errorf("%s, write %d of worker %d: %w", bucket, i, g, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

func ledgerRoundTrip(ctx context.Context, w, r *store.Store, id string) error {
	if _, _, err := w.CreateRecord(ctx, record(id)); err != nil {
		return err
	}
	got, err := r.Record(ctx, id)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if got.Digest != "d-"+id {
		return fmt.Errorf("read back %q", got.Digest)
	}
	return nil
}

func counterRoundTrip(ctx context.Context, w, r *store.Store, id string, want int64) error {
	key := "cap.ryw-" + strings.SplitN(id, "-", 3)[1]
	if err := w.PutJSON(ctx, key, want); err != nil {
		return err
	}
	var got int64
	found, err := r.GetJSON(ctx, key, &got)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if !found || got != want {
		return fmt.Errorf("read back %d (found %v), want %d", got, found, want)
	}
	return nil
}

// Buckets made by an earlier version (the KV client's defaults allow
// direct gets from followers) are switched to reads through the leader.
func TestOpenTurnsOffDirectGets(t *testing.T) {
	url := startServer(t, func(*server.Options) {})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: store.BucketLedger, TTL: 720 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, store.Options{Driver: store.DriverNATS, URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, b := range []string{store.BucketLedger, store.BucketCounters, store.BucketLeases} {
		s, err := js.Stream(ctx, store.KVStreamName(b))
		if err != nil {
			t.Fatal(err)
		}
		if s.CachedInfo().Config.AllowDirect {
			t.Errorf("bucket %s allows direct gets", b)
		}
	}
}
