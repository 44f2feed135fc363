package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These run the CLI in process against a real daemon on loopback.

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFindingTheDaemon: --server, then $GROUPCAST_SERVER, then server.listen
// of the config, then the default; an unreachable daemon's error names the
// address and where it came from.
func TestFindingTheDaemon(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, "timezone: Asia/Shanghai\n")
	startDaemon(t, cfg, addr)
	ann := writeFile(t, dir, "a.md", "---\nid: find-1\ntitle: 找到守护进程\n---\n正文")
	t.Setenv("GROUPCAST_SERVER", "")
	t.Setenv("GROUPCAST_CONFIG", "")

	// server.listen of --config.
	if code, out, errOut := runCLI(t, "send", ann, "--config", cfg, "--wait"); code != 0 || !strings.Contains(out, "delivered") {
		t.Fatalf("send --config: exit %d\n%s%s", code, out, errOut)
	}
	// server.listen of $GROUPCAST_CONFIG; the accepted time is in the config's zone.
	t.Setenv("GROUPCAST_CONFIG", cfg)
	code, out, errOut := runCLI(t, "status", "find-1")
	if code != 0 || !strings.Contains(out, "+08:00") {
		t.Fatalf("status via $GROUPCAST_CONFIG: exit %d\n%s%s", code, out, errOut)
	}
	t.Setenv("GROUPCAST_CONFIG", "")

	// $GROUPCAST_SERVER, and --server over it.
	t.Setenv("GROUPCAST_SERVER", "http://"+addr)
	if code, _, errOut := runCLI(t, "status", "find-1"); code != 0 {
		t.Fatalf("status via $GROUPCAST_SERVER: exit %d %s", code, errOut)
	}
	dead := freePort(t)
	code, _, errOut = runCLI(t, "status", "find-1", "--server", "http://"+dead)
	want := "cannot reach http://" + dead + " (from --server): connection refused"
	if code != exitRuntime || !strings.Contains(errOut, want) {
		t.Errorf("--server over $GROUPCAST_SERVER: exit %d %q, want %q", code, errOut, want)
	}
	t.Setenv("GROUPCAST_SERVER", "http://"+dead)
	code, _, errOut = runCLI(t, "status", "find-1")
	if want := "(from $GROUPCAST_SERVER)"; code != exitRuntime || !strings.Contains(errOut, want) {
		t.Errorf("dead $GROUPCAST_SERVER: exit %d %q, want %q", code, errOut, want)
	}
	t.Setenv("GROUPCAST_SERVER", "")

	// A config whose daemon is not running: the error names the file.
	other := writeConfig(t, t.TempDir(), dead, "")
	code, _, errOut = runCLI(t, "list", "--config", other)
	want = "cannot reach http://" + dead + " (from server.listen in " + other + "): connection refused"
	if code != exitRuntime || !strings.Contains(errOut, want) {
		t.Errorf("dead config: exit %d %q, want %q", code, errOut, want)
	}
	// An invalid config: fatal when it is the only way to the daemon, a
	// warning when --server says where it is.
	broken := writeFile(t, t.TempDir(), "broken.yaml", "server: {listen: 1}\nbogus: true\n")
	if code, _, errOut = runCLI(t, "list", "--config", broken); code != exitInvalid || !strings.Contains(errOut, "groupcast validate") {
		t.Errorf("invalid config alone: exit %d %q", code, errOut)
	}
	if code, _, errOut = runCLI(t, "list", "--config", broken, "--server", addr); code != 0 || !strings.Contains(errOut, "not using") {
		t.Errorf("invalid config with --server: exit %d %q", code, errOut)
	}
	// A config with unset secrets still tells where the daemon is.
	secret := writeFile(t, t.TempDir(), "s.yaml", `
server: {listen: "`+dead+`"}
accounts:
  - {name: dt, platform: dingtalk, driver: webhook, access_token: "${GROUPCAST_TEST_UNSET}"}
routes: [{name: r, targets: [{account: dt}]}]
`)
	if code, _, errOut = runCLI(t, "list", "--config", secret); code != exitRuntime || !strings.Contains(errOut, "cannot reach http://"+dead) {
		t.Errorf("config with unset secrets: exit %d %q", code, errOut)
	}
}

func TestServeListenOverridesConfig(t *testing.T) {
	dir := t.TempDir()
	inFile, listen := freePort(t), freePort(t)
	cfg := writeConfig(t, dir, inFile, "")
	code, _, errOut := runCLI(t, "serve", "--config", cfg, "--listen", "0.0.0.0:1")
	if code != exitInvalid || !strings.Contains(errOut, "server.tokens") {
		t.Errorf("--listen beyond loopback without tokens: exit %d %q", code, errOut)
	}
	startDaemonArgs(t, listen, "serve", "--config", cfg, "--listen", listen)
	if code, out, errOut := runCLI(t, "healthcheck", "--server", listen); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("healthcheck on --listen: exit %d %s%s", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "healthcheck", "--server", inFile); code != exitRuntime {
		t.Errorf("healthcheck on the file's address: exit %d, want 1 (nothing listens there)", code)
	}
	if code, _, _ := runCLI(t, "healthcheck", "--server", listen, "--path", "/readyz"); code != 0 {
		t.Errorf("healthcheck --path /readyz: exit %d", code)
	}
}

// TestSendWaitShowsAttemptsAndReason: a target retrying against a dead
// endpoint shows its attempts and the reason while --wait runs, and the
// command exits 3 when it fails.
func TestSendWaitShowsAttemptsAndReason(t *testing.T) {
	dir := t.TempDir()
	addr, dead := freePort(t), freePort(t)
	cfg := writeFile(t, dir, "groupcast.yaml", `
server: {listen: "`+addr+`"}
store: {driver: embedded, dir: "`+dir+`/data"}
delivery: {ack_wait: 2s, backoff: 50ms, max_backoff: 100ms, max_attempts: 3}
accounts:
  - {name: dt, platform: dingtalk, driver: webhook, access_token: tok, base_url: "http://`+dead+`"}
  - {name: wx, platform: wechat, driver: file, path: "`+dir+`/wx.jsonl"}
routes:
  - {name: all, targets: [{account: dt}, {account: wx, groups: ["运维通知群"]}]}
`)
	startDaemon(t, cfg, addr)
	ann := writeFile(t, dir, "a.md", "---\nid: retry-1\ntitle: 重试\n---\n正文")
	code, out, errOut := runCLI(t, "send", ann, "--config", cfg, "--wait")
	if code != exitFailed {
		t.Fatalf("exit %d, want 3\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"attempt 1/3", "attempt 3/3", "connection refused", "failed  dingtalk/dt → dt", "delivered  wechat/wx → 运维通知群"} {
		if !strings.Contains(out, want) {
			t.Errorf("--wait output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "dt/dt failed") {
		t.Errorf("stderr does not name the failed target: %q", errOut)
	}
}

func TestListAccountsRecall(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, "")
	startDaemon(t, cfg, addr)
	srv := "http://" + addr
	for _, id := range []string{"l-1", "l-2"} {
		ann := writeFile(t, dir, id+".md", "---\nid: "+id+"\ntitle: 列表 "+id+"\n---\n正文")
		if code, out, errOut := runCLI(t, "send", ann, "--server", srv, "--wait"); code != 0 {
			t.Fatalf("send %s: exit %d %s%s", id, code, out, errOut)
		}
	}
	// Without a config the attempts still show their maximum (from the answer).
	if code, out, errOut := runCLI(t, "status", "l-1", "--server", srv); code != 0 || !strings.Contains(out, "delivered  1/10") {
		t.Errorf("status: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "list", "--server", srv, "--limit", "1")
	if code != 0 || !strings.Contains(out, "l-2") || strings.Contains(out, "l-1") || !strings.Contains(out, "3/3") {
		t.Errorf("list --limit 1: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "list", "--server", srv, "--state", "delivered", "--json")
	var l struct {
		Messages []map[string]any `json:"messages"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.Messages) != 2 {
		t.Errorf("list --json: exit %d\n%s", code, out)
	}
	if code, _, errOut = runCLI(t, "list", "--server", srv, "--state", "bogus"); code != exitInvalid || !strings.Contains(errOut, "state") {
		t.Errorf("list --state bogus: exit %d %q", code, errOut)
	}

	code, out, errOut = runCLI(t, "accounts", "--server", srv)
	if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "wx") || !strings.Contains(out, "file") {
		t.Errorf("accounts: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "accounts", "--server", srv, "--json")
	var a struct {
		Accounts []map[string]any `json:"accounts"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &a) != nil || len(a.Accounts) != 3 {
		t.Errorf("accounts --json: exit %d\n%s", code, out)
	}

	code, out, errOut = runCLI(t, "recall", "l-1", "--server", srv, "--wait", "--timeout", "30s")
	if code != 0 || !strings.Contains(out, "recall:") || strings.Contains(out, "recall: 3 delivered") {
		t.Errorf("recall --wait: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ = runCLI(t, "status", "l-1", "--server", srv); code != 0 || !strings.Contains(out, "recall: ") {
		t.Errorf("status after a recall does not say so: exit %d\n%s", code, out)
	}
	if code, _, _ = runCLI(t, "recall", "nope", "--server", srv); code != exitRuntime {
		t.Errorf("recall of an unknown id: exit %d, want 1", code)
	}
}

func TestPreviewGate(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:8780", `policies:
  - name: strict
    rules: [{name: no-internal, terms: ["内部资料"], action: block}]
`)
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "  - name: all\n", "  - name: all\n    policy: strict\n", 1)), 0o600)
	clean := writeFile(t, dir, "ok.md", "---\ntitle: 公开\n---\n正文")
	bad := writeFile(t, dir, "bad.md", "---\ntitle: 资料\n---\n这是内部资料")
	if code, out, errOut := runCLI(t, "preview", clean, "--config", cfg); code != 0 {
		t.Errorf("clean preview: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut := runCLI(t, "preview", bad, "--config", cfg)
	if code != exitFailed || !strings.Contains(errOut, "no-internal") || !strings.Contains(errOut, "would be blocked") {
		t.Errorf("blocked preview: exit %d %q", code, errOut)
	}
	if code, _, _ = runCLI(t, "preview", bad, "--config", cfg, "--json"); code != exitFailed {
		t.Errorf("blocked preview --json: exit %d", code)
	}
}

func TestValidateOfflineAndJSON(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "g.yaml", `
accounts:
  - {name: dt, platform: dingtalk, driver: webhook, access_token: "${GROUPCAST_TEST_UNSET_TOKEN}"}
routes: [{name: r, targets: [{account: dt}]}]
`)
	code, out, errOut := runCLI(t, "validate", "--config", p)
	if code != exitInvalid || !strings.Contains(errOut, "GROUPCAST_TEST_UNSET_TOKEN is not set") || strings.Contains(errOut, ":-default") {
		t.Errorf("validate: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "validate", "--config", p, "--offline")
	if code != 0 || !strings.Contains(errOut, "warning") || !strings.Contains(out, "ok") {
		t.Errorf("validate --offline: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "validate", "--config", p, "--json")
	var v struct {
		OK       bool `json:"ok"`
		Problems []struct {
			Path    string `json:"path"`
			Line    int    `json:"line"`
			Warning bool   `json:"warning"`
		} `json:"problems"`
	}
	if code != exitInvalid || json.Unmarshal([]byte(out), &v) != nil || v.OK || len(v.Problems) != 1 ||
		v.Problems[0].Path != "accounts[0].access_token" || v.Problems[0].Line != 3 || v.Problems[0].Warning {
		t.Errorf("validate --json: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "validate", "--config", p, "--json", "--offline")
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || !v.OK || len(v.Problems) != 1 || !v.Problems[0].Warning {
		t.Errorf("validate --json --offline: exit %d\n%s", code, out)
	}
}

func TestVersionJSON(t *testing.T) {
	code, out, _ := runCLI(t, "version", "--json")
	var v map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["version"] == "" || !strings.HasPrefix(v["go"].(string), "go1.") {
		t.Errorf("version --json: exit %d %s", code, out)
	}
}

func TestLogLevelFromEnvironment(t *testing.T) {
	t.Setenv("GROUPCAST_LOG_LEVEL", "loud")
	code, _, errOut := runCLI(t, "serve", "--config", "/nonexistent.yaml")
	if code != exitInvalid || !strings.Contains(errOut, `"loud"`) {
		t.Errorf("GROUPCAST_LOG_LEVEL=loud: exit %d %q", code, errOut)
	}
}
