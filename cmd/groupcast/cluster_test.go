package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/groupcast/groupcast/store/natstest"
)

// serve started before its NATS cluster answers /readyz 503 with the
// reason, becomes ready once the cluster is up, and accepts work.
func TestServeWaitsForTheStore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary and a NATS cluster")
	}
	dir := t.TempDir()
	plan, err := natstest.NewPlan(filepath.Join(dir, "nats"), 3)
	if err != nil {
		t.Fatal(err)
	}
	// Two replicas, both started before the cluster.
	var ds []*daemon
	for r := range 2 {
		addr := freePort(t)
		cfg := fmt.Sprintf(`
server: {listen: "%[1]s"}
store: {driver: nats, url: "%[2]s", replicas: 3}
accounts:
  - {name: dt, platform: dingtalk, driver: file, path: "%[3]s/dt-%[4]d.jsonl"}
routes:
  - {name: all, targets: [{account: dt}]}
`, addr, strings.Join(plan.URLs(), ","), dir, r)
		path := filepath.Join(dir, fmt.Sprintf("groupcast-%d.yaml", r))
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, launch(t, path, addr))
	}
	want := "store: connecting to " + strings.Join(plan.URLs(), ",") + ": no server reachable"
	for _, d := range ds {
		// "store: opening" comes first, until the first connection attempt fails.
		code, body := waitAnswer(t, d, "/readyz", func(code int, body string) bool {
			return code == http.StatusOK || strings.Contains(body, "no server reachable")
		})
		if code != http.StatusServiceUnavailable || !strings.Contains(body, want) {
			t.Fatalf("/readyz before the cluster: %d %s, want 503 with %q", code, body, want)
		}
	}
	for i := range plan.Nodes {
		srv, err := natstest.StartNode(plan, i, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	}
	for _, d := range ds {
		waitAnswer(t, d, "/readyz", func(code int, _ string) bool { return code == http.StatusOK })
	}
	if code, err := post(ds[1].addr, "---\nid: c-1\ntitle: t\n---\nb"); err != nil || code != http.StatusAccepted {
		t.Fatalf("post: %d %v", code, err)
	}
	for _, d := range ds {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		if err := d.cmd.Wait(); err != nil {
			t.Fatalf("exit after SIGTERM: %v; log:\n%s", err, d.logs())
		}
	}
}

// launch starts the daemon without waiting for it.
func launch(t *testing.T, cfgPath, addr string) *daemon {
	t.Helper()
	d := &daemon{t: t, addr: addr, log: &bytes.Buffer{}, mu: &sync.Mutex{}}
	d.cmd = exec.Command(binary, "serve", "--config", cfgPath, "--log-format", "json")
	d.cmd.Stdout = lockedBuffer{d.mu, d.log}
	d.cmd.Stderr = lockedBuffer{d.mu, d.log}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.kill() })
	return d
}

// waitAnswer polls path until an answer satisfies ok (a minute at most).
func waitAnswer(t *testing.T, d *daemon, path string, ok func(int, string) bool) (int, string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + d.addr + path)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if ok(resp.StatusCode, string(b)) {
				return resp.StatusCode, string(b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no awaited answer within a minute (last: %v); log:\n%s", path, err, d.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
