package store_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/groupcast/groupcast/store"
)

// The deadline counts from the instant the write was sent, on the local
// clock, less the margin; a renewal moves it from its own sending instant.
func TestLeaseDeadlineFromTheSendingInstant(t *testing.T) {
	url := startServer(t, func(*server.Options) {})
	base := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	var now atomic.Int64 // offset from base
	clock := func() time.Time { return base.Add(time.Duration(now.Load())) }
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Driver: store.DriverNATS, URL: url, LeaseTTL: 10 * time.Second, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := st.TakeLease(ctx, "acct", "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	if want := base.Add(8 * time.Second); !h.Deadline().Equal(want) {
		t.Fatalf("deadline %v, want %v (sent + TTL − TTL/5)", h.Deadline(), want)
	}
	now.Store(int64(7999 * time.Millisecond))
	if !h.Valid() {
		t.Fatal("not valid just before the deadline")
	}
	now.Store(int64(8 * time.Second))
	if h.Valid() {
		t.Fatal("valid at the deadline")
	}
	rev := h.Revision()
	now.Store(int64(5 * time.Second))
	if err := h.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if want := base.Add(13 * time.Second); !h.Deadline().Equal(want) {
		t.Fatalf("deadline after renewal %v, want %v", h.Deadline(), want)
	}
	if h.Revision() <= rev || h.Token() != rev {
		t.Fatalf("after renewal: revision %d token %d, want revision above %d and token %d", h.Revision(), h.Token(), rev, rev)
	}
	if err := st.CheckLease(ctx, "acct", h.Token()); err != nil {
		t.Fatalf("token after renewal: %v", err)
	}
	if owner, tok, err := st.LeaseOwner(ctx, "acct"); err != nil || owner != "replica-a" || tok != h.Token() {
		t.Fatalf("LeaseOwner: %q %d %v", owner, tok, err)
	}
	// A second take by the same owner (a restart under the same name) is a
	// new tenure: the old token is fenced.
	h2, err := st.TakeLease(ctx, "acct", "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	if h2.Token() <= h.Token() {
		t.Fatalf("retake token %d not above %d", h2.Token(), h.Token())
	}
	if err := st.CheckLease(ctx, "acct", h.Token()); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("old tenure's token: %v, want ErrLeaseLost", err)
	}
	if err := h.Renew(ctx); !errors.Is(err, store.ErrLeaseLost) || h.Valid() {
		t.Fatalf("old tenure's renewal: %v (valid %v), want ErrLeaseLost", err, h.Valid())
	}
}
