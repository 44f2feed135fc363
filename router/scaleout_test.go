package router_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

// startNATS runs a NATS server with JetStream on loopback for the test.
func startNATS(t *testing.T) *server.Server {
	t.Helper()
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
	return ns
}

// replica is one engine on the shared store; stop ends it (once) and
// hands its leases back.
type replica struct {
	svc  *router.Service
	stop func()
}

// startReplica runs an engine on the NATS server with a 1 s lease TTL.
func startReplica(t *testing.T, ns *server.Server, cfg *configs.Config) replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, store.Options{Driver: store.DriverNATS, URL: ns.ClientURL(), LeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := router.New(router.Options{Store: st, Config: cfg, Drivers: drivers})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Running()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done; st.Close() }) }
	t.Cleanup(stop)
	return replica{svc, stop}
}

// Two replicas on one external NATS server: each account is sent by
// exactly one of them at a time, and when that one goes, the other takes
// the account over within the lease time. Nothing is delivered twice.
func TestScaleOutLeases(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	cfg := loadConfig(t, fmt.Sprintf(`
store: {driver: nats, url: "%s"}
accounts:
  - {name: f1, platform: qq, driver: file, path: "%s/f1.jsonl", rate: {per_minute: 6000}}
routes:
  - {name: all, targets: [{account: f1}]}
`, ns.ClientURL(), dir))
	a, b := startReplica(t, ns, cfg), startReplica(t, ns, cfg)
	owners := func() (n int) {
		for _, r := range []replica{a, b} {
			if r.svc.Owns("f1") {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(5 * time.Second)
	for n := owners(); n != 1; n = owners() {
		if n > 1 {
			t.Fatal("both replicas own the account")
		}
		if time.Now().After(deadline) {
			t.Fatal("no replica took the account")
		}
		time.Sleep(20 * time.Millisecond)
	}
	first, second := a, b
	if b.svc.Owns("f1") {
		first, second = b, a
	}
	ctx := context.Background()
	submitTo := func(r replica, id string) {
		t.Helper()
		an, err := groupcast.Parse(groupcast.FormatMarkdown, []byte("---\nid: "+id+"\ntitle: t\n---\nb"), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Submit(ctx, an); err != nil {
			t.Fatal(err)
		}
	}
	waitDelivered := func(r replica, id string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			st, err := r.svc.Status(ctx, id)
			if err == nil && st.State == "delivered" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %+v %v", id, st, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i := range 20 {
		submitTo([]replica{a, b}[i%2], fmt.Sprintf("so-%d", i))
		if n := owners(); n != 1 {
			t.Fatalf("%d replicas own the account", n)
		}
	}
	for i := range 20 {
		waitDelivered(second, fmt.Sprintf("so-%d", i))
	}
	moving := time.Now()
	first.stop() // the owner goes, handing its lease back: the other takes over
	deadline = time.Now().Add(5 * time.Second)
	for !second.svc.Owns("f1") {
		if time.Now().After(deadline) {
			t.Fatal("the account did not move to the other replica")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("takeover after a graceful stop: %s", time.Since(moving).Round(time.Millisecond))
	for i := 20; i < 30; i++ {
		submitTo(second, fmt.Sprintf("so-%d", i))
	}
	for i := 20; i < 30; i++ {
		waitDelivered(second, fmt.Sprintf("so-%d", i))
	}
	lines := readLines(t, filepath.Join(dir, "f1.jsonl"))
	seen := map[string]int{}
	for _, l := range lines {
		seen[l.Announcement]++
	}
	for i := range 30 {
		if n := seen[fmt.Sprintf("so-%d", i)]; n != 1 {
			t.Errorf("so-%d delivered %d times", i, n)
		}
	}
}

// Two replicas share the accounts: the one that started first hands the
// excess over when the second appears, so each ends up sending for half.
func TestScaleOutSharesAccounts(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	cfg := loadConfig(t, fmt.Sprintf(`
store: {driver: nats, url: "%[1]s"}
accounts:
  - {name: a1, platform: qq, driver: file, path: "%[2]s/a1.jsonl"}
  - {name: a2, platform: qq, driver: file, path: "%[2]s/a2.jsonl"}
  - {name: a3, platform: qq, driver: file, path: "%[2]s/a3.jsonl"}
  - {name: a4, platform: qq, driver: file, path: "%[2]s/a4.jsonl"}
routes:
  - {name: all, targets: [{account: a1}, {account: a2}, {account: a3}, {account: a4}]}
`, ns.ClientURL(), dir))
	count := func(svc *router.Service) (n int) {
		for _, a := range []string{"a1", "a2", "a3", "a4"} {
			if svc.Owns(a) {
				n++
			}
		}
		return n
	}
	first := startReplica(t, ns, cfg).svc
	deadline := time.Now().Add(10 * time.Second)
	for count(first) != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("alone, the first replica holds %d of 4", count(first))
		}
		time.Sleep(20 * time.Millisecond)
	}
	second := startReplica(t, ns, cfg).svc
	deadline = time.Now().Add(15 * time.Second)
	for count(first) != 2 || count(second) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("holding %d and %d of 4, want 2 and 2", count(first), count(second))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
