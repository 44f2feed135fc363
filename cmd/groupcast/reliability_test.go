package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// GROUPCAST_RELIABILITY=long runs the longer variants: more announcements
// and several kill -9 cycles.
func longRun() bool { return os.Getenv("GROUPCAST_RELIABILITY") == "long" }

// TestKill9AtRandomPoints kills the daemon at random moments while a load
// runs, restarts it each time, and counts: every acknowledged announcement
// reaches every target.
func TestKill9AtRandomPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	cycles, perCycle := 2, 150
	if longRun() {
		cycles, perCycle = 6, 1000
	}
	dir := t.TempDir()
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, "")
	d := startDaemon(t, cfg, addr)
	acked := map[string]bool{}
	var mu sync.Mutex
	next := 0
	for c := range cycles {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					id := fmt.Sprintf("r-%d", i)
					code, err := post(addr, fmt.Sprintf("---\nid: %s\ntitle: 第%d条\n---\n正文", id, i))
					if err != nil {
						return // the daemon is gone
					}
					if code == 202 || code == 200 {
						mu.Lock()
						acked[id] = true
						mu.Unlock()
					}
				}
			}()
		}
		// Kill after a random share of this cycle's posts.
		target := perCycle/4 + rand.IntN(perCycle)
		for {
			mu.Lock()
			n := len(acked)
			mu.Unlock()
			if n >= c*perCycle+target {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		d.kill()
		close(stop)
		wg.Wait()
		d = startDaemon(t, cfg, addr)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		missing, dups := 0, 0
		for _, f := range []string{"dt", "wx", "qq"} {
			counts := countLines(t, dir+"/"+f+".jsonl")
			for id := range acked {
				if counts[id] == 0 {
					missing++
				}
			}
			for _, n := range counts {
				dups += n - 1
			}
		}
		if missing == 0 {
			t.Logf("%d kills, %d announcements acknowledged, all %d deliveries present, %d duplicates (sends in flight at a kill)",
				cycles, len(acked), 3*len(acked), dups)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries of acknowledged announcements missing; log:\n%s", missing, d.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReloadUnderLoad rewrites the config while announcements stream in:
// each one goes where the config in force when it was accepted said, and
// none is lost.
func TestReloadUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir := t.TempDir()
	addr := freePort(t)
	extra := fmt.Sprintf(`  - name: extra
    match: {tags: [extra]}
    targets: [{account: x4}]
`)
	base := writeConfig(t, dir, addr, "")
	data, _ := os.ReadFile(base)
	withX4 := strings.Replace(string(data), "accounts:\n", fmt.Sprintf("accounts:\n  - {name: x4, platform: qq, driver: file, path: \"%s/x4.jsonl\"}\n", dir), 1) + extra
	d := startDaemon(t, base, addr)
	type sent struct {
		id     string
		status map[string]any
	}
	var results []sent
	for i := range 300 {
		if i == 100 {
			os.WriteFile(base, []byte(withX4), 0o600) // picked up by the file watch
		}
		if i == 200 {
			os.WriteFile(base, data, 0o600)
		}
		id := fmt.Sprintf("rl-%d", i)
		code, err := post(addr, fmt.Sprintf("---\nid: %s\ntitle: t\ntags: [extra]\n---\nb", id))
		if err != nil {
			t.Fatal(err)
		}
		if code == 202 {
			results = append(results, sent{id: id})
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Every accepted announcement: its planned targets all delivered, and
	// the x4 file holds exactly those that were planned to x4.
	deadline := time.Now().Add(60 * time.Second)
	plannedX4 := map[string]bool{}
	for _, r := range results {
		for {
			st := status(t, addr, r.id)
			if st["state"] == "delivered" {
				for _, tg := range st["targets"].([]any) {
					if tg.(map[string]any)["account"] == "x4" {
						plannedX4[r.id] = true
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not delivered: %v\n%s", r.id, st, d.logs())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	x4 := countLines(t, dir+"/x4.jsonl")
	for id := range plannedX4 {
		if x4[id] != 1 {
			t.Errorf("%s planned to x4, delivered there %d times", id, x4[id])
		}
	}
	for id := range x4 {
		if !plannedX4[id] {
			t.Errorf("%s delivered to x4 without being planned there", id)
		}
	}
	if len(plannedX4) == 0 || len(plannedX4) == len(results) {
		t.Errorf("%d of %d planned to x4: the reloads were not seen under load", len(plannedX4), len(results))
	}
}

// TestLogsHaveOneLinePerStateChangeAndNoSecrets reads the daemon's JSON log:
// each state change is one line with stable keys, and no secret of the
// config appears anywhere in it, whichever driver failed.
func TestLogsHaveOneLinePerStateChangeAndNoSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir := t.TempDir()
	addr := freePort(t)
	const canary = "CANARY-7f3e9a"
	extra := fmt.Sprintf(`  - name: secrets
    match: {tags: [s]}
    targets:
      - {account: dt-bad}
      - {account: wecom-bad}
      - {account: onebot-bad, groups: ["10001"]}
`)
	cfg := writeConfig(t, dir, addr, extra)
	data, _ := os.ReadFile(cfg)
	accounts := fmt.Sprintf(`accounts:
  - {name: dt-bad, platform: dingtalk, driver: webhook, base_url: "http://127.0.0.1:1", access_token: "%[1]s-a", secret: "SEC%[1]s"}
  - {name: wecom-bad, platform: wechat, driver: wecom, base_url: "http://127.0.0.1:1", key: "%[1]s-k"}
  - {name: onebot-bad, platform: qq, driver: onebot, base_url: "http://127.0.0.1:1", access_token: "%[1]s-t"}
`, canary)
	full := strings.Replace(string(data), "accounts:\n", accounts, 1)
	full = strings.Replace(full, "delivery: {", "delivery: {max_attempts: 2, ", 1)
	os.WriteFile(cfg, []byte(full), 0o600)
	// Not ready by design: the OneBot account cannot reach its implementation.
	d := startDaemonWait(t, cfg, addr, "/healthz")
	if code, err := post(addr, "---\nid: sec-1\ntitle: t\ntags: [s]\n---\nb"); err != nil || code != 202 {
		t.Fatalf("post: %d %v", code, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	// The route "all" delivers to the file accounts; the three others fail.
	for status(t, addr, "sec-1")["state"] != "partial" {
		if time.Now().After(deadline) {
			t.Fatalf("not settled: %v", status(t, addr, "sec-1"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	logs := d.logs()
	if strings.Contains(logs, canary) {
		t.Fatalf("a secret reached the log:\n%s", logs)
	}
	if st := fmt.Sprint(status(t, addr, "sec-1")); strings.Contains(st, canary) {
		t.Fatalf("a secret reached the API: %s", st)
	}
	changes := map[string][]string{}
	retries := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		if l["msg"] == "send failed, will retry" {
			retries[fmt.Sprint(l["account"], "/", l["group"])]++
			if l["level"] != "INFO" || l["reason"] == nil {
				t.Errorf("retry line not at info with its reason: %s", sc.Text())
			}
		}
		if l["msg"] != "state" {
			continue
		}
		for _, k := range []string{"announcement", "account", "group", "state"} {
			if _, ok := l[k]; !ok {
				t.Errorf("state line without %q: %s", k, sc.Text())
			}
		}
		key := fmt.Sprint(l["account"], "/", l["group"])
		changes[key] = append(changes[key], fmt.Sprint(l["state"]))
	}
	// Queued is where an accepted target starts (the "accepted" line says
	// so); each change after it is one line, a retry one info line.
	for _, acc := range []string{"dt-bad/dt-bad", "wecom-bad/wecom-bad", "onebot-bad/10001"} {
		seq := changes[acc]
		if len(seq) != 1 || seq[0] != "failed" {
			t.Errorf("%s: state lines %v, want [failed]", acc, seq)
		}
		if retries[acc] != 1 {
			t.Errorf("%s: %d retry lines, want 1 (max_attempts 2)", acc, retries[acc])
		}
	}
	if !strings.Contains(logs, `"msg":"accepted"`) {
		t.Error("no accepted line")
	}
}
