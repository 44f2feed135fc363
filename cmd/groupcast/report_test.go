package main

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast/tracking"
)

// A daemon with tracking on: the file driver's text carries tracked
// links on the daemon's own listener; a click redirects and counts; the
// report command shows it, as a table, JSON and CSV.
func TestTrackedLinkAndReportCommand(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	cfg := writeConfig(t, dir, addr, "tracking: {base_url: \"http://"+addr+"\"}\n")
	startDaemon(t, cfg, addr)
	srv := "http://" + addr
	ann := writeFile(t, dir, "r.md", "---\nid: rep-1\ntitle: 报告\nlinks: [{title: 详情, url: \"https://status.example.com/maint\"}]\n---\n正文")
	if code, out, errOut := runCLI(t, "send", ann, "--server", srv, "--wait"); code != 0 {
		t.Fatalf("send: exit %d %s%s", code, out, errOut)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "qq.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var sent struct{ Text string }
	if err := json.Unmarshal(raw, &sent); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(regexp.QuoteMeta(srv) + `/l/[0-9A-Za-z]{12}`).FindString(sent.Text)
	if m == "" || strings.Contains(sent.Text, "status.example.com") {
		t.Fatalf("sent text has no tracked link or keeps the original:\n%s", sent.Text)
	}
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", m, nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://status.example.com/maint" {
		t.Fatalf("click: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	code, out, errOut := runCLI(t, "report", "rep-1", "--server", srv)
	if code != 0 || !strings.Contains(out, "delivered 3  clicks 1  click rate 33.3%") || !strings.Contains(out, "PLATFORM") {
		t.Errorf("report: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "report", "rep-1", "--server", srv, "--json")
	var rep struct {
		Delivered int     `json:"delivered"`
		Clicks    int     `json:"clicks"`
		ClickRate float64 `json:"click_rate"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Delivered != 3 || rep.Clicks != 1 {
		t.Errorf("report --json: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "report", "rep-1", "--server", srv, "--csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) != 4 || rows[0][8] != "clicks" {
		t.Fatalf("report --csv: exit %d %v\n%s", code, err, out)
	}
	clicks := 0
	for _, r := range rows[1:] {
		if r[8] == "1" {
			clicks++
			if r[2] != "qq" {
				t.Errorf("the click is counted for %v, want the qq target", r)
			}
		}
	}
	if clicks != 1 {
		t.Errorf("csv rows %v: want one target with one click", rows)
	}
	if code, _, _ = runCLI(t, "report", "nope", "--server", srv); code != exitRuntime {
		t.Errorf("report of an unknown id: exit %d, want 1", code)
	}
}

// A series' report names each row's part: a PART column in the table,
// the part's id in the CSV's id column.
func TestReportSeriesRows(t *testing.T) {
	rep := tracking.SeriesReport("course", "新手", []tracking.Report{
		{ID: "course-p1", Tracked: true, Delivered: 1, Clicks: 2, ByTarget: []tracking.Target{{Route: "all", Platform: "qq", Account: "f1", Group: "1001", State: "delivered", Delivered: 1, Clicks: 2}}},
		{ID: "course-p2", Tracked: true, ByTarget: []tracking.Target{{Route: "all", Platform: "qq", Account: "f1", Group: "1001", State: "scheduled"}}},
	})
	var b strings.Builder
	if err := printReport(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "PART") || !strings.Contains(b.String(), "course-p2") {
		t.Errorf("table:\n%s", b.String())
	}
	b.Reset()
	if err := writeReportCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][0] != "course-p1" || rows[2][0] != "course-p2" || rows[1][8] != "2" {
		t.Errorf("csv %q %v", rows, err)
	}
}
