package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/file"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/transform"
)

// buildBinary compiles cmd/groupcast into dir. It must run inside the
// module (go run ./cmd/groupcast-bench from the repository does).
func buildBinary(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "groupcast")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/groupcast/groupcast/cmd/groupcast")
	msg, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build (run from the repository, or pass --binary): %w\n%s", err, msg)
	}
	return out, nil
}

// freeLoopback picks a free TCP port on 127.0.0.1.
func freeLoopback() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// defaultConfig is the config the project's targets are stated for: the
// embedded durable store, three file targets per announcement, and — as
// in every real config — a policy on the route: send windows (here the
// whole day, so that everything goes now and the bench measures their
// cost, not their wait), daily caps (high enough never to defer) and the
// Advertising Law rule. withPolicy false leaves the policy out.
func defaultConfig(dir, addr, driver, storeAddr string, withPolicy bool) string {
	return benchConfig(dir, addr, fmt.Sprintf("  driver: %s\n  dir: %q\n  listen: %q\n", driver, filepath.Join(dir, "data"), storeAddr), withPolicy)
}

// clusterConfig is defaultConfig with the store on an external NATS
// cluster: driver nats, url the nodes' client URLs comma separated, and
// streams and buckets replicated on replicas nodes. store.dir is still
// set: the daemon keeps its local files (sessions, the WeChat ceiling)
// there.
func clusterConfig(dir, addr string, urls []string, replicas int, withPolicy bool) string {
	return benchConfig(dir, addr, fmt.Sprintf("  driver: nats\n  dir: %q\n  url: %q\n  replicas: %d\n",
		filepath.Join(dir, "data"), strings.Join(urls, ","), replicas), withPolicy)
}

// clusterStoreReplicas is the stream and bucket replication the bench
// asks of an n-node cluster: 3, or every node of a smaller one.
func clusterStoreReplicas(n int) int { return min(3, n) }

// benchConfig is the bench's config around a store section (its indented
// keys).
func benchConfig(dir, addr, store string, withPolicy bool) string {
	policy, use := "", ""
	if withPolicy {
		policy = `policies:
  - name: ops
    windows: ["00:00-24:00"]
    daily_cap: {new: 10000000, mature: 10000000}
    rules:
      - {preset: ad-law, action: block}
`
		use = "    policy: ops\n"
	}
	return fmt.Sprintf(`# written by groupcast-bench
timezone: Asia/Shanghai
org: groupcast 压测
server:
  listen: %[1]q
store:
%[2]s%[6]saccounts:
  - {name: bench-dingtalk, platform: dingtalk, driver: file, path: %[3]q}
  - {name: bench-wechat, platform: wechat, driver: file, path: %[4]q}
  - {name: bench-qq, platform: qq, driver: file, path: %[5]q}
routes:
  - name: all
%[7]s    targets:
      - {account: bench-dingtalk}
      - {account: bench-wechat, groups: ["运维通知群"]}
      - {account: bench-qq, groups: ["123456789"]}
`, addr, store,
		filepath.Join(dir, "dingtalk.jsonl"), filepath.Join(dir, "wechat.jsonl"), filepath.Join(dir, "qq.jsonl"),
		policy, use)
}

// target is what the bench needs to know of a config: where the daemon
// listens, its token, and the file each file-driver account writes.
type target struct {
	addr      string
	token     string
	filePaths map[string]string // account → path
	driver    string
	storeURL  string // where the bench reads the store's stream sequences ("" when it cannot)
}

func loadTarget(path string) (*target, error) {
	opt := registry.Options()
	opt.CheckTemplate = transform.CheckTemplate
	cfg, err := configs.Load(path, opt)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	host, _, err := net.SplitHostPort(cfg.Server.Listen)
	if err != nil {
		return nil, fmt.Errorf("config %s: server.listen: %w", path, err)
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("config %s: server.listen %s is not a loopback address; the bench only drives 127.0.0.1", path, cfg.Server.Listen)
	}
	t := &target{addr: cfg.Server.Listen, filePaths: map[string]string{}, driver: cfg.Store.Driver}
	switch {
	case cfg.Store.Driver == "nats":
		t.storeURL = cfg.Store.URL
	case cfg.Store.Listen != "":
		t.storeURL = "nats://" + cfg.Store.Listen
	}
	if len(cfg.Server.Tokens) > 0 {
		t.token = cfg.Server.Tokens[0].Token.Reveal() // goes on the wire only
	}
	for _, a := range cfg.Accounts {
		if a.Driver == file.Driver.Name {
			fc, err := adapters.Settings[file.Config](a, a.Driver)
			if err != nil {
				return nil, fmt.Errorf("config %s: account %s: %w", path, a.Name, err)
			}
			p := fc.Path
			if !filepath.IsAbs(p) {
				// The daemon runs in the bench's working directory.
				if abs, err := filepath.Abs(p); err == nil {
					p = abs
				}
			}
			t.filePaths[a.Name] = p
		}
	}
	return t, nil
}

// daemon is one run of `groupcast serve`.
type daemon struct {
	bin, cfg, logPath string
	// listen, when set, is passed as serve --listen: the second and later
	// replicas share the config and listen on ports of their own.
	listen  string
	base    string
	cmd     *exec.Cmd
	logf    *os.File
	exited  chan struct{}
	waitErr error
}

// start launches the daemon and waits until /readyz answers 200; it
// returns how long that took from the exec.
func (d *daemon) start(ctx context.Context, readyTimeout time.Duration, level string) (time.Duration, error) {
	logf, err := os.OpenFile(d.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	d.logf = logf
	args := []string{"serve", "--config", d.cfg, "--log-format", "json", "--log-level", level}
	if d.listen != "" {
		args = append(args, "--listen", d.listen)
	}
	d.cmd = exec.Command(d.bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// Own process group (a Ctrl-C reaches the bench, which kills the daemon
	// deliberately), and killed by the kernel if the bench dies first.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := time.Now()
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		return 0, fmt.Errorf("start %s: %w", d.bin, err)
	}
	d.exited = make(chan struct{})
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.exited)
	}()
	hc := &http.Client{Timeout: time.Second}
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready(ctx, hc, d.base) {
			return time.Since(started), nil
		}
		select {
		case <-tick.C:
		case <-d.exited:
			return 0, fmt.Errorf("daemon exited before it was ready (%v); log:\n%s", d.waitErr, d.logTail(4096))
		case <-deadline.C:
			d.kill()
			return 0, fmt.Errorf("daemon not ready after %s; log:\n%s", readyTimeout, d.logTail(4096))
		case <-ctx.Done():
			d.kill()
			return 0, ctx.Err()
		}
	}
}

func ready(ctx context.Context, hc *http.Client, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (d *daemon) pid() int {
	if d.cmd == nil || d.cmd.Process == nil {
		return 0
	}
	return d.cmd.Process.Pid
}

func (d *daemon) running() bool {
	if d.exited == nil {
		return false
	}
	select {
	case <-d.exited:
		return false
	default:
		return true
	}
}

// stop sends sig and waits up to limit for the exit, then kills. It
// returns how long the exit took.
func (d *daemon) stop(sig syscall.Signal, limit time.Duration) (time.Duration, error) {
	if !d.running() {
		return 0, errors.New("daemon is not running")
	}
	t0 := time.Now()
	if err := d.cmd.Process.Signal(sig); err != nil {
		return 0, err
	}
	select {
	case <-d.exited:
	case <-time.After(limit):
		d.kill()
		return time.Since(t0), fmt.Errorf("daemon still running %s after %s; killed", limit, sig)
	}
	took := time.Since(t0)
	d.logf.Close()
	if sig != syscall.SIGKILL && d.waitErr != nil {
		return took, fmt.Errorf("daemon exit after %s: %v; log:\n%s", sig, d.waitErr, d.logTail(2048))
	}
	return took, nil
}

// kill ends the daemon at once; safe to call at any time, more than once.
func (d *daemon) kill() {
	if !d.running() {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
	}
	if d.logf != nil {
		d.logf.Close()
	}
}

// logTail returns the last n bytes of the daemon's log.
func (d *daemon) logTail(n int64) string {
	f, err := os.Open(d.logPath)
	if err != nil {
		return "(no log)"
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "(no log)"
	}
	off := max(fi.Size()-n, 0)
	b := make([]byte, fi.Size()-off)
	_, _ = f.ReadAt(b, off)
	if off > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}

// Messages of the daemon's log the bench reads (router/fleet.go).
const (
	logOwned = "account owned by this replica"
	logLost  = "lease lost: this replica stops sending for the account"
)

// ownedAccounts reads a daemon's JSON log and returns the accounts whose
// lease it holds at the end, sorted: each "owned" line adds one, each
// "lease lost" line takes it away.
func ownedAccounts(r io.Reader) ([]string, error) {
	held := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(logOwned)) && !bytes.Contains(line, []byte(logLost)) {
			continue
		}
		var rec struct {
			Msg     string `json:"msg"`
			Account string `json:"account"`
		}
		if json.Unmarshal(line, &rec) != nil || rec.Account == "" {
			continue
		}
		switch rec.Msg {
		case logOwned:
			held[rec.Account] = true
		case logLost:
			delete(held, rec.Account)
		}
	}
	return slices.Sorted(maps.Keys(held)), sc.Err()
}

// owned is ownedAccounts of the daemon's log file.
func (d *daemon) owned() ([]string, error) {
	f, err := os.Open(d.logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ownedAccounts(f)
}
