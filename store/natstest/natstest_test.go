package natstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/groupcast/groupcast/store/natstest"
)

// The cluster elects a meta leader, survives losing it, and a restarted
// node rejoins with its stream data.
func TestClusterLosesAndRegainsALeader(t *testing.T) {
	began := time.Now()
	c := natstest.Start(t)
	t.Logf("3-node cluster up with a meta leader in %v", time.Since(began).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	nc, err := nats.Connect(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t", []byte("x")); err != nil {
		t.Fatal(err)
	}
	sl, err := c.WaitStreamLeader(ctx, "", "T")
	if err != nil {
		t.Fatal(err)
	}

	ml := c.MetaLeader()
	c.Kill(ml)
	began = time.Now()
	nl, err := c.WaitMetaLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if nl == ml {
		t.Fatalf("killed node %d still leads", ml)
	}
	t.Logf("new meta leader after %v", time.Since(began).Round(time.Millisecond))
	if err := c.Restart(ml); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitMetaLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Server(ml) == nil {
		t.Fatal("restarted node is not up")
	}
	c.Kill(sl)
	if _, err := c.WaitStreamLeader(ctx, "", "T"); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("stream has %d messages after losing its leader, want 1", n)
	}
}

func TestPlanRoundTrip(t *testing.T) {
	p, err := natstest.NewPlan(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	q, err := natstest.UnmarshalPlan(p.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for i, n := range q.Nodes {
		if n != p.Nodes[i] {
			t.Fatalf("node %d: %+v after the round trip, want %+v", i, n, p.Nodes[i])
		}
		for _, port := range []int{n.ClientPort, n.ClusterPort} {
			if seen[port] {
				t.Fatalf("port %d used twice", port)
			}
			seen[port] = true
		}
	}
}
