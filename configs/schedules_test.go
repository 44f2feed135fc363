package configs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const scheduleBase = `
timezone: Europe/Berlin
store: {driver: memory}
accounts:
  - {name: c1, platform: qq, driver: console}
routes:
  - {name: all, targets: [{account: c1, groups: ["1"]}]}
`

func TestSchedules(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "weekly.md"), []byte("---\ntitle: 周报 第{{.Week}}周\n---\n{{.Date}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadBytes([]byte(scheduleBase+`
schedules:
  - {name: weekly-report, cron: "30 9 * * 1", announcement: weekly.md, until: 2027-06-30}
  - name: daily
    cron: "@daily"
    catch_up: 10m
    start: "2027-01-01"
    inline: {title: "日报 {{.Date}}", body: "第 {{.Occurrence}} 期", tags: [ops], links: [{url: "https://example.com"}]}
`), filepath.Join(dir, "groupcast.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, d := cfg.Schedules[0], cfg.Schedules[1]
	if w.File != filepath.Join(dir, "weekly.md") || w.CatchUp != time.Hour || w.HasInline || !w.UntilDate.Equal(time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("weekly: %+v", w)
	}
	if !d.HasInline || d.CatchUp != 10*time.Minute || d.Inline.Links[0].URL != "https://example.com" || d.StartDate.Year() != 2027 {
		t.Errorf("daily: %+v", d)
	}
	if _, ok := cfg.Schedule("daily"); !ok {
		t.Error("Schedule(daily) not found")
	}
}

func TestScheduleProblems(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.md"), []byte("---\ntitle: {{.Nope}}\n---\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ yaml, path, msg string }{
		{`[{name: a, cron: "30 9 * *", announcement: bad.md}]`, "schedules[0].cron", "4 fields"},
		{`[{name: a, cron: "", inline: {title: t, body: b}}]`, "schedules[0].cron", "required"},
		{`[{name: "a b", cron: "@daily", inline: {title: t, body: b}}]`, "schedules[0].name", "letters"},
		{`[{name: a, cron: "@daily", inline: {title: t, body: b}}, {name: a, cron: "@daily", inline: {title: t, body: b}}]`, "schedules[1].name", "duplicate"},
		{`[{name: a, cron: "@daily"}]`, "schedules[0].announcement", "required"},
		{`[{name: a, cron: "@daily", announcement: bad.md, inline: {title: t}}]`, "schedules[0].inline", "not both"},
		{`[{name: a, cron: "@daily", announcement: ../x.md}]`, "schedules[0].announcement", "outside"},
		{`[{name: a, cron: "@daily", announcement: missing.md}]`, "schedules[0].announcement", "cannot read"},
		{`[{name: a, cron: "@daily", announcement: bad.md}]`, "schedules[0].announcement", "Nope"},
		{`[{name: a, cron: "@daily", inline: {body: b}}]`, "schedules[0].inline.title", "required"},
		{`[{name: a, cron: "@daily", inline: {title: t, body: b, category: news}}]`, "schedules[0].inline.category", "news"},
		{`[{name: a, cron: "@daily", until: "June", inline: {title: t, body: b}}]`, "schedules[0].until", "date"},
		{`[{name: a, cron: "@daily", start: 2027-02-01, until: 2027-01-01, inline: {title: t, body: b}}]`, "schedules[0].until", "before start"},
		{`[{name: a, cron: "@daily", catch_up: 10s, inline: {title: t, body: b}}]`, "schedules[0].catch_up", "1m"},
		{`[{name: a, cron: "@daily", inline: {title: t, body: b, color: red}}]`, "schedules[0].inline.color", "unknown key"},
	}
	for _, tt := range tests {
		_, err := LoadBytes([]byte(scheduleBase+"schedules: "+tt.yaml+"\n"), filepath.Join(dir, "groupcast.yaml"), Options{})
		var ps *Problems
		if !errors.As(err, &ps) {
			t.Errorf("%s: %v, want problems", tt.yaml, err)
			continue
		}
		found := false
		for _, p := range *ps {
			if p.Path == tt.path && strings.Contains(p.Message, tt.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: want %s: …%s…, got %v", tt.yaml, tt.path, tt.msg, err)
		}
	}
}
