package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests run the real binary: durability is proven by kill -9.

var binary string

func TestMain(m *testing.M) {
	runFaultNode() // a NATS node of the fault suite: runs and exits
	dir, err := os.MkdirTemp("", "groupcast-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "groupcast")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	log  *bytes.Buffer
	mu   *sync.Mutex
}

type lockedBuffer struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (l lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func startDaemon(t *testing.T, cfgPath, addr string) *daemon {
	t.Helper()
	return startDaemonWait(t, cfgPath, addr, "/readyz")
}

// startDaemonWait starts the daemon and waits for path to answer 200.
func startDaemonWait(t *testing.T, cfgPath, addr, path string) *daemon {
	t.Helper()
	return startDaemonCmd(t, addr, path, "serve", "--config", cfgPath, "--log-format", "json")
}

// startDaemonArgs runs the binary with args and waits for /readyz on addr.
func startDaemonArgs(t *testing.T, addr string, args ...string) *daemon {
	t.Helper()
	return startDaemonCmd(t, addr, "/readyz", args...)
}

func startDaemonCmd(t *testing.T, addr, path string, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, addr: addr, log: &bytes.Buffer{}, mu: &sync.Mutex{}}
	d.cmd = exec.Command(binary, args...)
	d.cmd.Stdout = lockedBuffer{d.mu, d.log}
	d.cmd.Stderr = lockedBuffer{d.mu, d.log}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + path)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// /healthz is 200 while the store opens too, saying "starting".
			if resp.StatusCode == 200 && !strings.Contains(string(body), `"starting"`) {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon not ready after 30s; log:\n%s", d.logs())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (d *daemon) logs() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

func (d *daemon) kill() {
	if d.cmd.ProcessState == nil {
		_ = d.cmd.Process.Signal(syscall.SIGKILL)
		_ = d.cmd.Wait()
	}
}

func post(addr, body string) (int, error) {
	resp, err := http.Post("http://"+addr+"/v1/messages", "text/markdown", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func status(t *testing.T, addr, id string) map[string]any {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v1/messages/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

func writeConfig(t *testing.T, dir, addr, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`
server: {listen: "%[1]s"}
store: {driver: embedded, dir: "%[2]s/data"}
delivery: {ack_wait: 2s, backoff: 50ms}
accounts:
  - {name: dt, platform: dingtalk, driver: file, path: "%[2]s/dt.jsonl"}
  - {name: wx, platform: wechat, driver: file, path: "%[2]s/wx.jsonl"}
  - {name: qq, platform: qq, driver: file, path: "%[2]s/qq.jsonl"}
routes:
  - name: all
    targets: [{account: dt}, {account: wx, groups: ["通知群"]}, {account: qq, groups: ["10001"]}]
%[3]s`, addr, dir, extra)
	p := filepath.Join(dir, "groupcast.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// countLines counts delivered lines per announcement id in one file.
func countLines(t *testing.T, path string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, id := range linesOf(t, path) {
		out[id]++
	}
	return out
}

// linesOf lists the announcement of each line of a file driver's output,
// in the order written.
func linesOf(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, l := range linesAt(t, path) {
		out = append(out, l.id)
	}
	return out
}

// line is one delivered line of a file driver.
type line struct {
	id string
	at time.Time
}

func linesAt(t *testing.T, path string) []line {
	t.Helper()
	var out []line
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Announcement string    `json:"announcement"`
			Time         time.Time `json:"time"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: torn line %q", path, sc.Text())
		}
		out = append(out, line{l.Announcement, l.Time})
	}
	return out
}

// inversions counts the announcements an account sent before one accepted
// earlier (first sends only: a send in flight at a crash repeats).
func inversions(t *testing.T, addr, path string) int {
	t.Helper()
	seen := map[string]bool{}
	var last time.Time
	n := 0
	for _, id := range linesOf(t, path) {
		if seen[id] {
			continue
		}
		seen[id] = true
		at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(status(t, addr, id)["accepted_at"]))
		if err != nil {
			t.Fatalf("%s: accepted_at: %v", id, err)
		}
		if at.Before(last) {
			n++
		}
		if at.After(last) {
			last = at
		}
	}
	return n
}

func TestKill9LosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test: runs the binary")
	}
	dir := t.TempDir()
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, "")
	d := startDaemon(t, cfg, addr)

	const total = 400
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	ids := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				id := fmt.Sprintf("k-%d", i)
				code, err := post(addr, fmt.Sprintf("---\nid: %s\ntitle: 压测 %d\n---\n第 %d 条。", id, i, i))
				if err == nil && (code == 202 || code == 200) {
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				}
			}
		}()
	}
	killed := false
	for i := range total {
		if i == total/2 && !killed {
			// Kill mid-stream: posts are in flight, deliveries too.
			d.kill()
			killed = true
		}
		ids <- i
	}
	close(ids)
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n < total/4 {
		t.Fatalf("only %d announcements acknowledged before the kill", n)
	}
	d = startDaemon(t, cfg, addr)
	// Every acknowledged announcement reaches every target.
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing := 0
		counts := []map[string]int{countLines(t, dir+"/dt.jsonl"), countLines(t, dir+"/wx.jsonl"), countLines(t, dir+"/qq.jsonl")}
		for id := range acked {
			for _, c := range counts {
				if c[id] == 0 {
					missing++
				}
			}
		}
		if missing == 0 {
			dups := 0
			for _, c := range counts {
				for _, k := range c {
					dups += k - 1
				}
			}
			inv := 0
			for _, f := range []string{"dt", "wx", "qq"} {
				inv += inversions(t, addr, dir+"/"+f+".jsonl")
			}
			t.Logf("%d acknowledged before/after kill, all %d deliveries present, %d duplicates, %d out of acceptance order", n, 3*n, dups, inv)
			if dups > 3 {
				t.Errorf("%d duplicate deliveries: more than the sends in flight (one per account) could explain", dups)
			}
			if inv != 0 {
				t.Errorf("%d sends out of acceptance order", inv)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries of acknowledged announcements missing after restart; log:\n%s", missing, d.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for id := range acked {
		if st := status(t, addr, id); st["state"] != "delivered" {
			t.Fatalf("%s: state %v", id, st["state"])
		}
		break
	}
}

func TestSendAtSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir := t.TempDir()
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, "")
	d := startDaemon(t, cfg, addr)
	at := time.Now().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
	code, err := post(addr, fmt.Sprintf("---\nid: later\ntitle: 定时\nsend_at: %s\n---\n正文", at.Format(time.RFC3339)))
	if err != nil || code != 202 {
		t.Fatalf("post: %d %v", code, err)
	}
	if st := status(t, addr, "later"); st["state"] != "pending" {
		t.Fatalf("state %v", st["state"])
	}
	d.kill()
	d = startDaemon(t, cfg, addr)
	deadline := time.Now().Add(30 * time.Second)
	for status(t, addr, "later")["state"] != "delivered" {
		if time.Now().After(deadline) {
			t.Fatalf("not delivered after restart; log:\n%s", d.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if time.Now().Before(at) {
		t.Fatal("delivered before send_at")
	}
	for _, f := range []string{"dt", "wx", "qq"} {
		if c := countLines(t, dir+"/"+f+".jsonl")["later"]; c != 1 {
			t.Errorf("%s: %d deliveries, want 1", f, c)
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	d := startDaemon(t, writeConfig(t, dir, addr, ""), addr)
	if code, err := post(addr, "---\nid: g1\ntitle: t\n---\nb"); err != nil || code != 202 {
		t.Fatalf("post %d %v", code, err)
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; log:\n%s", err, d.logs())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("no exit 40s after SIGTERM")
	}
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateReportsEveryProblemWithoutSecrets(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.yaml")
	bad := `
server: {listen: "0.0.0.0:8780"}
store: {driver: sqlite}
accounts:
  - {name: a1, platform: dingtalk, driver: file, path: /tmp/x, access_token: CANARY-SECRET-1}
  - {name: a1, platform: telegram, driver: console}
routes:
  - name: r
    policy: nope
    targets: [{account: ghost}]
`
	if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "validate", "--config", p)
	if code != exitInvalid {
		t.Fatalf("exit %d, want 2\n%s%s", code, out, errOut)
	}
	all := out + errOut
	for _, want := range []string{"server.tokens", "store.driver", "accounts[0].access_token", "accounts[1].name", "accounts[1].platform", "routes[0].policy", "routes[0].targets[0].account"} {
		if !strings.Contains(all, want) {
			t.Errorf("validate output lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "CANARY-SECRET") {
		t.Errorf("validate printed a secret:\n%s", all)
	}
	code, out, _ = runCLI(t, "validate")
	if code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("demo config: exit %d\n%s", code, out)
	}
}

func TestCLISendWaitAndStatus(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	startDaemon(t, writeConfig(t, dir, addr, ""), addr)
	ann := filepath.Join(dir, "a.md")
	os.WriteFile(ann, []byte("---\nid: cli-1\ntitle: 命令行\n---\n正文"), 0o600)
	code, out, errOut := runCLI(t, "send", ann, "--server", "http://"+addr, "--wait")
	if code != 0 || !strings.Contains(out, "delivered") {
		t.Fatalf("send --wait: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "status", "cli-1", "--server", "http://"+addr, "--json")
	var st map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st["state"] != "delivered" {
		t.Fatalf("status: exit %d %s", code, out)
	}
	os.WriteFile(ann, []byte("---\ntitle: \n---\n"), 0o600)
	if code, _, errOut = runCLI(t, "send", ann, "--server", "http://"+addr); code != exitInvalid || !strings.Contains(errOut, "title") {
		t.Errorf("invalid announcement: exit %d %s", code, errOut)
	}
	if code, _, _ = runCLI(t, "status", "cli-1", "--server", "http://127.0.0.1:1"); code != exitRuntime {
		t.Errorf("no daemon: exit %d, want 1", code)
	}
	if code, _, _ = runCLI(t, "send"); code != exitInvalid {
		t.Errorf("missing argument: exit %d, want 2", code)
	}
	_ = context.Background
}

func TestReloadOnSIGHUPAndFileChange(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, "")
	d := startDaemon(t, cfg, addr)
	// Restrict the route to tags [a]: an announcement without them has no route.
	data, _ := os.ReadFile(cfg)
	restricted := strings.Replace(string(data), "  - name: all\n", "  - name: all\n    match: {tags: [a]}\n", 1)
	if err := os.WriteFile(cfg, []byte(restricted), 0o600); err != nil {
		t.Fatal(err)
	}
	waitCode := func(body string, want int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, err := post(addr, body)
			if err == nil && code == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("POST gave %d (%v), want %d; log:\n%s", code, err, want, d.logs())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitCode("---\ntitle: no tags\n---\nb", 422) // the file change was picked up
	// An invalid file is refused; the running config stays.
	if err := os.WriteFile(cfg, []byte("routes: [{name: x}]\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = d.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(500 * time.Millisecond)
	waitCode("---\ntitle: tagged\ntags: [a]\n---\nb", 202)
	if !strings.Contains(d.logs(), "config reload refused") {
		t.Errorf("no log line about the refused reload:\n%s", d.logs())
	}
	// SIGHUP reloads the original again.
	os.WriteFile(cfg, data, 0o600)
	_ = d.cmd.Process.Signal(syscall.SIGHUP)
	waitCode("---\ntitle: no tags again\n---\nb", 202)
}

func TestPreviewAndVersion(t *testing.T) {
	code, out, errOut := runCLI(t, "preview", "../../examples/maintenance.md")
	if code != 0 {
		t.Fatalf("preview: exit %d %s", code, errOut)
	}
	for _, want := range []string{"demo-dingtalk", "demo-wechat", "demo-qq", "part 1/", "bytes"} {
		if !strings.Contains(out, want) {
			t.Errorf("preview output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "preview", "../../examples/maintenance.md", "--json")
	var pv struct {
		Targets []struct {
			Parts []struct {
				Text  string `json:"text"`
				Bytes int    `json:"bytes"`
			} `json:"parts"`
		} `json:"targets"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &pv) != nil || len(pv.Targets) != 4 || pv.Targets[0].Parts[0].Bytes == 0 {
		t.Errorf("preview --json: exit %d, %d targets\n%s", code, len(pv.Targets), out)
	}
	if code, _, _ = runCLI(t, "preview", "/nonexistent.md"); code != exitInvalid {
		t.Errorf("missing file: exit %d", code)
	}
	code, out, _ = runCLI(t, "version")
	if code != 0 || !strings.Contains(out, "groupcast") || !strings.Contains(out, "go1.") {
		t.Errorf("version: %d %q", code, out)
	}
}
