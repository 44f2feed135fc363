package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rivo/uniseg"

	"github.com/groupcast/groupcast"
)

// TestReviewCLI runs the review commands against a real daemon on
// loopback with named tokens: the queue shows what is held and who sent
// it, show prints the renderings, reject needs a reason, and the decision
// is the token's holder's.
func TestReviewCLI(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	cfg := writeFile(t, dir, "groupcast.yaml", fmt.Sprintf(`
timezone: Asia/Shanghai
server:
  listen: "%[1]s"
  tokens:
    - root-token
    - {name: ci, token: ci-token, role: sender}
    - {name: li, token: li-token, role: reviewer}
store: {driver: embedded, dir: "%[2]s/data"}
accounts:
  - {name: dt, platform: dingtalk, driver: file, path: "%[2]s/dt.jsonl"}
  - {name: wx, platform: wechat, driver: file, path: "%[2]s/wx.jsonl"}
  - {name: qq, platform: qq, driver: file, path: "%[2]s/qq.jsonl"}
policies:
  - name: careful
    rules: [{name: internal, action: review, terms: ["内部资料"]}]
routes:
  - name: all
    policy: careful
    targets: [{account: dt}, {account: wx, groups: ["通知群"]}, {account: qq, groups: ["10001"]}]
`, addr, dir))
	startDaemon(t, cfg, addr)
	t.Setenv("GROUPCAST_SERVER", "")
	t.Setenv("GROUPCAST_CONFIG", cfg)
	ann := writeFile(t, dir, "a.md", "---\nid: rv-1\ntitle: 季度复盘\ncategory: notice\n---\n这是**内部资料**，请勿外传。\n\n第二段。")

	t.Setenv("GROUPCAST_TOKEN", "ci-token")
	if code, out, errOut := runCLI(t, "send", ann); code != 0 {
		t.Fatalf("send as ci: exit %d\n%s%s", code, out, errOut)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, out, _ := runCLI(t, "status", "rv-1", "--json")
		var st groupcast.Status
		_ = json.Unmarshal([]byte(out), &st)
		if len(st.Targets) == 3 && groupcast.MessageState(st.Targets) != "" && allHeld(st) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never held:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}

	t.Setenv("GROUPCAST_TOKEN", "li-token")
	code, out, errOut := runCLI(t, "review", "list")
	if code != 0 {
		t.Fatalf("review list: exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("review list: want a header and one row:\n%s", out)
	}
	for _, want := range []string{"rv-1", "季度复盘", "notice", "ci", "rule internal: 内部资料", "这是内部资料，请勿外传。 第二段。"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("review list row lacks %q:\n%s", want, out)
		}
	}
	// Aligned by display width: each column starts at the same terminal
	// cell in the header and in the row, although the title is Chinese.
	for _, col := range [][2]string{{"CATEGORY", "notice"}, {"SUBMITTED BY", "ci "}, {"RULE HITS", "rule internal"}, {"EXCERPT", "这是"}} {
		h, r := cellOf(lines[0], col[0]), cellOf(lines[1], col[1])
		if h < 0 || h != r {
			t.Errorf("column %s starts at cell %d in the header, %d in the row:\n%s", col[0], h, r, out)
		}
	}

	code, out, errOut = runCLI(t, "review", "show", "rv-1")
	if code != 0 {
		t.Fatalf("review show: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"季度复盘", "submitted by ci", "held by rule internal: 内部资料",
		"=== short (text) → wx/通知群 (held)", "=== long (text) → qq/10001 (held)", "=== formal (markdown) → dt/dt (held)", "【季度复盘】"} {
		if !strings.Contains(out, want) {
			t.Errorf("review show lacks %q:\n%s", want, out)
		}
	}

	if code, _, errOut = runCLI(t, "review", "reject", "rv-1"); code != exitInvalid || !strings.Contains(errOut, "--reason is required") {
		t.Errorf("reject without --reason: exit %d %q, want 2 and a clear message", code, errOut)
	}
	t.Setenv("GROUPCAST_TOKEN", "ci-token")
	if code, _, errOut = runCLI(t, "review", "approve", "rv-1"); code != exitInvalid || !strings.Contains(errOut, "403 forbidden") {
		t.Errorf("approve as a sender: exit %d %q, want 2 and 403 forbidden", code, errOut)
	}
	t.Setenv("GROUPCAST_TOKEN", "li-token")
	if code, out, errOut = runCLI(t, "review", "approve", "rv-1", "--by", "mallory"); code != 0 || !strings.Contains(out, "approved by li") || strings.Contains(out, "mallory") {
		t.Errorf("approve as li: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut = runCLI(t, "review", "approve", "rv-1"); code != exitInvalid || !strings.Contains(errOut, "not_held") {
		t.Errorf("approve again: exit %d %q, want 2 and not_held", code, errOut)
	}
}

func allHeld(st groupcast.Status) bool {
	for _, t := range st.Targets {
		if t.State != groupcast.StateHeld {
			return false
		}
	}
	return true
}

// cellOf is the terminal column where sub starts in line, or -1.
func cellOf(line, sub string) int {
	i := strings.Index(line, sub)
	if i < 0 {
		return -1
	}
	return uniseg.StringWidth(line[:i])
}
