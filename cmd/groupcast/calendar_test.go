package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast/api"
)

func TestCalendarRange(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2027, 1, 6, 15, 4, 0, 0, loc) // a Wednesday
	from, to := calendarRange(now, true, 3)
	if from.Format("2006-01-02 15:04 Mon") != "2027-01-04 00:00 Mon" || to.Format("2006-01-02") != "2027-01-11" {
		t.Errorf("week: %s – %s", from, to)
	}
	from, to = calendarRange(now, false, 3)
	if from.Format("2006-01-02 15:04") != "2027-01-06 00:00" || to.Format("2006-01-02") != "2027-01-09" {
		t.Errorf("days: %s – %s", from, to)
	}
}

// groupcast calendar against a daemon: the schedule's next occurrences,
// a series' parts, the send windows; --json is the API's answer.
func TestCalendarCommand(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, `policies:
  - {name: day, windows: ["00:00-24:00"]}
schedules:
  - {name: morning, cron: "0 9 * * *", inline: {title: "早安 {{.Date}}", body: "b"}}
`)
	// The route gets the policy: rewrite the file's route line.
	b, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(b), "  - name: all\n", "  - name: all\n    policy: day\n", 1)), 0o600)
	startDaemon(t, cfg, addr)
	ann := filepath.Join(dir, "s.md")
	os.WriteFile(ann, []byte("---\nid: course\ntitle: 课程\nseries: {every: 24h, at: \"23:59\"}\n---\n## 一\na\n## 二\nb\n"), 0o600)
	if code, out, errOut := runCLI(t, "send", ann, "--server", "http://"+addr); code != 0 {
		t.Fatalf("send: %d %s %s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "status", "course", "--server", "http://"+addr)
	if code != 0 || !strings.Contains(out, "1/2") || !strings.Contains(out, "course-p2") || !strings.Contains(out, "scheduled") {
		t.Errorf("status of a series: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "calendar", "--server", "http://"+addr, "--config", cfg)
	if code != 0 {
		t.Fatalf("calendar: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("groupcast calendar:\n%s", out)
	for _, want := range []string{"(Asia/Shanghai)", "Send windows: policy day 00:00-24:00 (routes all)", "schedule  morning", "早安 ",
		"series    course-p2", "课程 (2/2)", "dt/dt"} {
		if !strings.Contains(out, want) {
			t.Errorf("calendar lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "calendar", "--week", "--json", "--server", "http://"+addr)
	var cal api.Calendar
	if code != 0 || json.Unmarshal([]byte(out), &cal) != nil || cal.Timezone != "Asia/Shanghai" || len(cal.Items) == 0 {
		t.Fatalf("--json: exit %d %s", code, out)
	}
	if code, _, _ = runCLI(t, "calendar", "--days", "99", "--server", "http://"+addr); code != exitInvalid {
		t.Errorf("--days 99: exit %d, want 2", code)
	}
}
