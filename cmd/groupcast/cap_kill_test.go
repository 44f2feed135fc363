package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDailyCapReservedAheadAcrossStopAndKill: under a daily cap large
// enough for the sender to reserve slots ahead (policy.Reserve), a
// graceful stop gives the unused slots back (the day's count stays
// exact), and a kill -9 loses at most what was reserved: the cap is never
// passed, and at most a sixteenth of what it left goes unused.
func TestDailyCapReservedAheadAcrossStopAndKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	const capPerDay = 200
	dir := t.TempDir()
	addr := freePort(t)
	// A zone where it is about noon now: the local day does not turn
	// during the test.
	zone := "UTC"
	if off := 12 - time.Now().UTC().Hour(); off > 0 {
		zone = fmt.Sprintf("Etc/GMT-%d", off)
	} else if off < 0 {
		zone = fmt.Sprintf("Etc/GMT+%d", -off)
	}
	cfg := fmt.Sprintf(`
timezone: %[3]s
server: {listen: "%[1]s"}
store: {driver: embedded, dir: "%[2]s/data"}
delivery: {ack_wait: 2s, backoff: 50ms}
accounts:
  - {name: qq, platform: qq, driver: file, path: "%[2]s/qq.jsonl"}
policies:
  - name: ops
    windows: ["00:00-24:00"]
    daily_cap: {new: %[4]d, mature: %[4]d}
routes:
  - name: all
    policy: ops
    targets: [{account: qq, groups: ["10001"]}]
`, addr, dir, zone, capPerDay)
	path := filepath.Join(dir, "groupcast.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "qq.jsonl")
	postAll := func(prefix string, n int) {
		t.Helper()
		for i := range n {
			if code, err := post(addr, fmt.Sprintf("---\nid: %s-%d\ntitle: 第%d条\n---\n正文", prefix, i, i)); err != nil || code != 202 {
				t.Fatalf("post %s-%d: %d %v", prefix, i, code, err)
			}
		}
	}
	waitLines := func(d *daemon, n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for len(linesOf(t, out)) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d deliveries; log:\n%s", len(linesOf(t, out)), n, d.logs())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	sendsToday := func() int {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/v1/groups/qq/10001/report?days=1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rep struct{ Sends int }
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || resp.StatusCode != 200 {
			t.Fatalf("report: %d %v", resp.StatusCode, err)
		}
		return rep.Sends
	}

	// A graceful stop gives the reservation back.
	d := startDaemon(t, path, addr)
	postAll("a", 30)
	waitLines(d, 30)
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v; log:\n%s", err, d.logs())
	}
	d = startDaemon(t, path, addr)
	postAll("b", 1)
	waitLines(d, 31)
	if got := sendsToday(); got != 31 {
		t.Fatalf("after a graceful stop and one more send the day counts %d sends, want 31 (slots reserved ahead given back)", got)
	}

	// A kill -9 loses at most the reservation, and never passes the cap.
	postAll("c", 15)
	waitLines(d, 46)
	d.kill()
	d = startDaemon(t, path, addr)
	const more = 250
	postAll("d", more)
	deadline := time.Now().Add(60 * time.Second)
	for {
		settled, deferred := 0, 0
		for i := range more {
			st := status(t, addr, fmt.Sprintf("d-%d", i))
			targets, _ := st["targets"].([]any)
			if len(targets) != 1 {
				continue
			}
			tg := targets[0].(map[string]any)
			switch tg["state"] {
			case "delivered":
				settled++
			case "deferred":
				if !strings.HasPrefix(fmt.Sprint(tg["reason"]), "daily_cap") {
					t.Fatalf("d-%d deferred for %v", i, tg["reason"])
				}
				settled++
				deferred++
			}
		}
		if settled == more {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d settled; log:\n%s", settled, more, d.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	sent := len(linesOf(t, out))
	for id, n := range countLines(t, out) {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	if sent > capPerDay {
		t.Fatalf("%d sends today past the cap of %d", sent, capPerDay)
	}
	if lost := capPerDay - sent; lost > (capPerDay-46)/16 {
		t.Errorf("%d sends today: %d slots lost at the kill, more than a sixteenth of the %d the cap left", sent, lost, capPerDay-46)
	}
	if got := sendsToday(); got < sent || got > capPerDay {
		t.Errorf("the day counts %d sends for %d delivered (cap %d)", got, sent, capPerDay)
	}
	t.Logf("cap %d: %d delivered today, %d slots lost at the kill, the rest deferred to tomorrow", capPerDay, sent, capPerDay-sent)
}
