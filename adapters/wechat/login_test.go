package wechat

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rsc.io/qr"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/adapterstest"
)

func TestLoginDrawsQRAndStoresSession(t *testing.T) {
	fake := newWireFake(t)
	dir := filepath.Join(t.TempDir(), "state", "wechat") // does not exist yet
	acc := OpenWeChatConfig{SessionFile: filepath.Join(dir, "wx-ops.json")}
	log, _ := adapterstest.NewLogger()
	env := adapters.Env{Logger: log, HTTPClient: fake.Client()}
	out := &adapterstest.LogBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- Login(ctx, "wx-ops", acc, out, env) }()

	adapterstest.Eventually(t, "a QR code on the terminal", func() bool {
		return len(fake.QRCodes()) == 1 && strings.Contains(out.String(), "If the code does not scan")
	})
	uuid := fake.QRCodes()[0]
	if _, err := os.Stat(acc.SessionFile); !os.IsNotExist(err) {
		t.Fatalf("a session file exists before the scan: %v", err)
	}
	if err := fake.Scan(uuid); err != nil {
		t.Fatal(err)
	}
	adapterstest.Eventually(t, "the scan reported", func() bool { return strings.Contains(out.String(), "Confirm the login on the phone") })
	if err := fake.Confirm(uuid); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Login: %v\n%s", err, out.String())
	}

	// The drawing is the QR code of the login URL for this uuid.
	assertQR(t, out.String(), qrLoginURL+uuid)

	st, err := os.Stat(acc.SessionFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("session file mode %v; want 0600", st.Mode().Perm())
	}
	if dst, err := os.Stat(dir); err != nil || dst.Mode().Perm() != 0o700 {
		t.Fatalf("session directory: %v %v; want 0700", dst.Mode(), err)
	}
	raw, _ := os.ReadFile(acc.SessionFile)
	if err := checkSessionFile(raw); err != nil {
		t.Fatalf("stored session: %v", err)
	}
	if !strings.Contains(out.String(), "Logged in as 运维小助手") {
		t.Errorf("output:\n%s", out.String())
	}

	// serve then logs in from that file without a scan and can send.
	rig := startWire(t, fake, raw)
	adapterstest.Eventually(t, "hot login from the stored session", func() bool { return rig.w.Ready() == nil })
	if _, err := rig.w.Send(context.Background(), wxOut("运维通知群", "登录后的第一条")); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.QRCodes()); n != 1 {
		t.Fatalf("%d QR codes; serve must not ask for one", n)
	}
}

func TestLoginCancelled(t *testing.T) {
	fake := newWireFake(t)
	acc := OpenWeChatConfig{SessionFile: filepath.Join(t.TempDir(), "s.json")}
	ctx, cancel := context.WithCancel(context.Background())
	out := &adapterstest.LogBuffer{}
	errc := make(chan error, 1)
	go func() { errc <- Login(ctx, "wx-ops", acc, out, adapters.Env{HTTPClient: fake.Client()}) }()
	adapterstest.Eventually(t, "a QR code", func() bool { return len(fake.QRCodes()) == 1 })
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("a cancelled login succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Login ignored the cancellation")
	}
	if _, err := os.Stat(acc.SessionFile); !os.IsNotExist(err) {
		t.Fatal("a cancelled login wrote a session")
	}
}

// assertQR decodes the half-block drawing in out back into modules and
// compares them with the QR code of want.
func assertQR(t *testing.T, out, want string) {
	t.Helper()
	code, err := qr.Encode(want, qr.L)
	if err != nil {
		t.Fatal(err)
	}
	// Each character is two modules stacked: ' ' both dark, '█' both
	// light, '▀' light over dark, '▄' dark over light.
	var rows [][]bool
	for _, line := range strings.Split(out, "\n") {
		if line == "" || strings.Trim(line, " █▀▄") != "" {
			continue
		}
		var top, bottom []bool
		for _, r := range line {
			top = append(top, r == ' ' || r == '▄')
			bottom = append(bottom, r == ' ' || r == '▀')
		}
		rows = append(rows, top, bottom)
	}
	// The finder pattern makes the code's top-left module the first dark one.
	y0, x0 := -1, -1
	for y := 0; y < len(rows) && y0 < 0; y++ {
		for x, dark := range rows[y] {
			if dark {
				y0, x0 = y, x
				break
			}
		}
	}
	if y0 < 0 {
		t.Fatalf("no QR code drawn:\n%s", out)
	}
	for y := range code.Size {
		for x := range code.Size {
			got := y0+y < len(rows) && x0+x < len(rows[y0+y]) && rows[y0+y][x0+x]
			if got != code.Black(x, y) {
				t.Fatalf("module (%d,%d) is dark=%v; the drawing is not the QR code of %s", x, y, got, want)
			}
		}
	}
}
