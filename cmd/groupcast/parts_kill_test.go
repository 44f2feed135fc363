package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast/adapters/qq/qqfake"
)

// TestKill9BetweenPartsSendsNoPartTwice kills the daemon in the middle of
// a multi-part OneBot send, after some parts reached the fake: after the
// restart the send resumes at the first part not recorded, so no part is
// posted twice except one in flight at the kill.
func TestKill9BetweenPartsSendsNoPartTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test: runs the binary")
	}
	fake := qqfake.NewOneBot("tok")
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	addr := freePort(t)
	cfg := fmt.Sprintf(`
server: {listen: "%[1]s"}
store: {driver: embedded, dir: "%[2]s/data"}
delivery: {ack_wait: 2s, backoff: 50ms}
accounts:
  - {name: qq, platform: qq, driver: onebot, base_url: "%[3]s", access_token: tok, part_chars: 300,
     rate: {per_minute: 600, min_gap: 400ms, max_gap: 500ms}}
routes:
  - {name: all, targets: [{account: qq, groups: ["10001"]}]}
`, addr, dir, fake.URL())
	path := filepath.Join(dir, "groupcast.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, path, addr)
	var body strings.Builder
	for i := range 8 {
		fmt.Fprintf(&body, "第%d段。%s\n\n", i+1, strings.Repeat("系统维护期间请勿操作。", 25))
	}
	if code, err := post(addr, "---\nid: parts-1\ntitle: 分段\n---\n"+body.String()); err != nil || code != 202 {
		t.Fatalf("post: %d %v", code, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(fake.Messages()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("parts not sent; log:\n%s", d.logs())
		}
		time.Sleep(5 * time.Millisecond)
	}
	d.kill()
	before := len(fake.Messages())
	d = startDaemon(t, path, addr)
	for status(t, addr, "parts-1")["state"] != "delivered" {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("not delivered after the restart: %v\n%s", status(t, addr, "parts-1"), d.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	msgs := fake.Messages()
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.Text()]++
	}
	twice := 0
	for _, n := range seen {
		twice += n - 1
	}
	t.Logf("killed after %d parts were posted; %d posts for %d distinct parts, %d posted twice", before, len(msgs), len(seen), twice)
	if len(seen) < 4 {
		t.Fatalf("only %d distinct parts: the test did not make a multi-part send", len(seen))
	}
	if twice > 1 {
		t.Errorf("%d parts posted twice: the send restarted from an earlier part", twice)
	}
}
