package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rivo/uniseg"

	"github.com/groupcast/groupcast"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

// cjkTargets have Chinese, mixed and emoji group names and reasons.
func cjkTargets(loc *time.Location) []groupcast.Target {
	nb := time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC) // 19:00 in Shanghai
	return []groupcast.Target{
		{Platform: "wechat", Account: "wx-ops", Group: "运维通知群", Style: "short", State: groupcast.StateDeferred,
			Reason: "window: next opens 19:00", NotBefore: &nb},
		{Platform: "qq", Account: "qq-bot", Group: "10001", Style: "long", State: groupcast.StateDelivered, Attempts: 1},
		{Platform: "dingtalk", Account: "dt-机器人", Group: "研发中心🚀全员群", Style: "formal", State: groupcast.StateSending,
			Attempts: 3, Reason: "retry 3/10: connection refused"},
		{Platform: "wechat", Account: "wx-ops", Group: "Ops 值班 (A组)", Style: "short", State: groupcast.StateBlocked,
			Reason: "rule ad-law: 最佳"},
	}
}

// TestTargetsTableAlignsCJK: columns line up by display width with Chinese
// and emoji group names (a golden file), and times are in the daemon's zone.
func TestTargetsTableAlignsCJK(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	d := &daemonRef{loc: loc, maxAttempts: 10}
	var b bytes.Buffer
	if err := printTargets(&b, d, cjkTargets(loc)); err != nil {
		t.Fatal(err)
	}
	golden(t, "targets-cjk.golden", b.Bytes())
	assertAligned(t, b.String())
	if !strings.Contains(b.String(), "2026-11-25 19:00:00 +08:00") {
		t.Errorf("next try not in the daemon's zone:\n%s", b.String())
	}
}

// assertAligned checks that every cell of every row starts at the display
// column where a header cell starts (the columns are separated by 2+
// blanks, no cell has two blanks in a row, and an empty cell is skipped).
func assertAligned(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	starts := func(line string) []int {
		var cols []int
		w, blanks := 0, 0
		state := -1
		for len(line) > 0 {
			var c string
			var cw int
			c, line, cw, state = uniseg.FirstGraphemeClusterInString(line, state)
			if c == " " {
				blanks++
			} else {
				if w == 0 || blanks >= 2 {
					cols = append(cols, w)
				}
				blanks = 0
			}
			w += cw
		}
		return cols
	}
	head := starts(lines[0])
	for _, l := range lines[1:] {
		for _, c := range starts(l) {
			if !slices.Contains(head, c) {
				t.Errorf("a cell starts at display column %d, where no header does %v:\n%s\n%s", c, head, lines[0], l)
				break
			}
		}
	}
}

// TestTableCountsCellsNotRunes: a CJK character takes two cells.
func TestTableCountsCellsNotRunes(t *testing.T) {
	var tb table
	tb.row("GROUP", "STATE")
	tb.row("运维通知群", "queued")
	tb.row("ops", "queued")
	var b bytes.Buffer
	_ = tb.write(&b)
	want := "GROUP       STATE\n运维通知群  queued\nops         queued\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestProgressPlainPrintsEachChangeOnce(t *testing.T) {
	var b bytes.Buffer
	d := &daemonRef{maxAttempts: 10}
	p := newProgress(&b, d, false)
	nb := time.Date(2026, 11, 25, 16, 2, 11, 0, time.FixedZone("", 8*3600))
	st := groupcast.Status{ID: "a1", Targets: []groupcast.Target{
		{Platform: "dingtalk", Account: "dt", Group: "运维群", State: groupcast.StateQueued}}}
	p.show(st)
	p.show(st) // unchanged: nothing printed
	st.Targets[0].State, st.Targets[0].Attempts, st.Targets[0].NotBefore, st.Targets[0].Reason =
		groupcast.StateQueued, 5, &nb, "retry 5/10: connection refused"
	p.show(st)
	st.Targets[0].State, st.Targets[0].NotBefore, st.Targets[0].Reason = groupcast.StateDelivered, nil, ""
	p.show(st)
	want := "  queued  dingtalk/dt → 运维群\n" +
		"  queued  dingtalk/dt → 运维群  attempt 5/10  next 2026-11-25 16:02:11 +08:00  retry 5/10: connection refused\n" +
		"  delivered  dingtalk/dt → 运维群  attempt 5/10\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestProgressTTYRedrawsInPlace(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, d: &daemonRef{}, tty: true, width: 40, last: map[string]string{}}
	st := groupcast.Status{Targets: []groupcast.Target{
		{Platform: "qq", Account: "q", Group: "1", State: groupcast.StateQueued},
		{Platform: "wechat", Account: "w", Group: "很长很长很长很长很长很长很长很长的群名", State: groupcast.StateSending}}}
	p.show(st)
	first := b.String()
	if strings.Contains(first, "\x1b[2A") || strings.Count(first, "\x1b[2K") != 2 {
		t.Errorf("first draw: %q", first)
	}
	for _, line := range strings.Split(strings.TrimSuffix(first, "\n"), "\n") {
		if w := uniseg.StringWidth(strings.TrimPrefix(line, "\x1b[2K")); w > 39 {
			t.Errorf("line of %d cells on a 40-column terminal: %q", w, line)
		}
	}
	b.Reset()
	st.Targets[0].State = groupcast.StateDelivered
	p.show(st)
	if !strings.HasPrefix(b.String(), "\x1b[2A\x1b[2K") || !strings.Contains(b.String(), "delivered") {
		t.Errorf("redraw does not go back 2 lines: %q", b.String())
	}
}
