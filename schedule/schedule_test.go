package schedule

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustCron(t testing.TB, expr string, loc *time.Location) *Cron {
	t.Helper()
	c, err := ParseCron(expr, loc)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return c
}

func TestParseCronRefuses(t *testing.T) {
	for _, expr := range []string{"", "* * * *", "0 30 9 * * 1", "TZ=UTC 0 9 * * *", "CRON_TZ=UTC 0 9 * * *",
		"@every 1h", "61 * * * *", "0 25 * * *", "0 9 31 2 *", "@often", "a b c d e"} {
		if _, err := ParseCron(expr, time.UTC); err == nil {
			t.Errorf("%q: accepted", expr)
		}
	}
	for _, expr := range []string{"30 9 * * 1", "@daily", "*/15 8-18 * * mon-fri", "0 9 29 2 *"} {
		mustCron(t, expr, time.UTC)
	}
}

// The occurrences of a daily 02:30 and a daily 09:30 across both DST
// changes in Berlin and New York, and in Shanghai (no DST): each local day
// fires once, a skipped 02:30 at the end of the gap, a repeated 02:30 at
// its first instance.
func TestNextAcrossDST(t *testing.T) {
	type want struct{ local, at string } // at in RFC 3339 with the zone's offset
	tests := []struct {
		zone, expr, after string
		want              []want
	}{
		{"Europe/Berlin", "30 2 * * *", "2027-03-26T12:00:00+01:00", []want{
			{"2027-03-27 02:30", "2027-03-27T02:30:00+01:00"},
			{"2027-03-28 02:30", "2027-03-28T03:00:00+02:00"}, // 02:00–03:00 does not exist
			{"2027-03-29 02:30", "2027-03-29T02:30:00+02:00"},
		}},
		{"Europe/Berlin", "30 2 * * *", "2027-10-30T12:00:00+02:00", []want{
			{"2027-10-31 02:30", "2027-10-31T02:30:00+02:00"}, // first of the two 02:30s
			{"2027-11-01 02:30", "2027-11-01T02:30:00+01:00"},
		}},
		{"Europe/Berlin", "30 9 * * 1", "2027-03-20T00:00:00+01:00", []want{
			{"2027-03-22 09:30", "2027-03-22T09:30:00+01:00"},
			{"2027-03-29 09:30", "2027-03-29T09:30:00+02:00"},
		}},
		{"America/New_York", "30 1 * * *", "2027-11-06T12:00:00-04:00", []want{
			{"2027-11-07 01:30", "2027-11-07T01:30:00-04:00"}, // 01:00–02:00 repeats
			{"2027-11-08 01:30", "2027-11-08T01:30:00-05:00"},
		}},
		{"America/New_York", "15 2 * * *", "2027-03-13T12:00:00-05:00", []want{
			{"2027-03-14 02:15", "2027-03-14T03:00:00-04:00"},
			{"2027-03-15 02:15", "2027-03-15T02:15:00-04:00"},
		}},
		{"Asia/Shanghai", "30 9 * * 1", "2027-01-01T00:00:00+08:00", []want{
			{"2027-01-04 09:30", "2027-01-04T09:30:00+08:00"},
			{"2027-01-11 09:30", "2027-01-11T09:30:00+08:00"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.zone+" "+tt.expr, func(t *testing.T) {
			loc := zone(t, tt.zone)
			c := mustCron(t, tt.expr, loc)
			after, err := time.Parse(time.RFC3339, tt.after)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				o, ok := c.Next(after)
				if !ok {
					t.Fatal("no next occurrence")
				}
				if got := o.Local.Format("2006-01-02 15:04"); got != w.local {
					t.Errorf("local %s, want %s", got, w.local)
				}
				if got := o.At.In(loc).Format(time.RFC3339); got != w.at {
					t.Errorf("%s fires at %s, want %s", w.local, got, w.at)
				}
				after = o.At
			}
		})
	}
}

// Every minute through a fall-back night in Berlin: each wall-clock minute
// fires once, the instants never go backwards, and the repeated hour
// fires only in its first pass.
func TestEveryMinuteAcrossFallBack(t *testing.T) {
	loc := zone(t, "Europe/Berlin")
	c := mustCron(t, "* * * * *", loc)
	from := time.Date(2027, 10, 31, 0, 0, 0, 0, time.UTC) // 02:00 CEST
	occ, more := c.Between(from.Add(-time.Minute), from.Add(3*time.Hour), 0)
	if more {
		t.Fatal("limit reported without a limit")
	}
	seen := map[string]bool{}
	for i, o := range occ {
		k := o.Local.Format("15:04")
		if seen[k] {
			t.Fatalf("%s fires twice", k)
		}
		seen[k] = true
		if i > 0 && o.At.Before(occ[i-1].At) {
			t.Fatalf("%s fires before %s", k, occ[i-1].Local.Format("15:04"))
		}
	}
	// 02:00–02:59 CEST, then the repeat (02:00–02:59 CET) fires nothing,
	// then 03:00–04:00 CET.
	if len(occ) != 60+61 {
		t.Fatalf("%d occurrences, want 121", len(occ))
	}
	for _, o := range occ {
		if o.At.After(time.Date(2027, 10, 31, 1, 0, 0, 0, time.UTC)) && o.At.Before(time.Date(2027, 10, 31, 2, 0, 0, 0, time.UTC)) {
			t.Fatalf("%s fires in the repeated hour", o.Local.Format("15:04"))
		}
	}
}

func TestBetweenLimit(t *testing.T) {
	c := mustCron(t, "* * * * *", time.UTC)
	from := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	occ, more := c.Between(from, from.Add(time.Hour), 10)
	if len(occ) != 10 || !more {
		t.Fatalf("%d, %v", len(occ), more)
	}
}

func TestDataFor(t *testing.T) {
	loc := zone(t, "Asia/Shanghai")
	c := mustCron(t, "30 9 * * 1", loc)
	o, _ := c.Next(time.Date(2027, 1, 10, 0, 0, 0, 0, loc))
	d := DataFor("weekly", c, o, time.Time{})
	if d.Date != "2027-01-11" || d.Week != 2 || d.Occurrence != 2 || d.Weekday != "Monday" || d.Time.Hour() != 9 {
		t.Fatalf("%+v", d)
	}
	d = DataFor("weekly", c, o, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if d.Occurrence != 6 { // Mondays from 1 Dec 2026: 7, 14, 21, 28 Dec, 4 and 11 Jan
		t.Fatalf("from a start: occurrence %d", d.Occurrence)
	}
	if got := ID("weekly-report", o.Local); got != "weekly-report-20270111-0930" {
		t.Fatal(got)
	}
}

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "weekly.md")
	if err := os.WriteFile(file, []byte("---\ntitle: 周报 第{{.Week}}周\ntags: [ops]\n---\n{{.Date}} 第 {{.Occurrence}} 期\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := Data{Name: "w", Date: "2027-01-04", Week: 1, Occurrence: 3}
	a, err := Source{File: file}.Build(d)
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "周报 第1周" || a.Body != "2027-01-04 第 3 期" || !slices.Equal(a.Tags, []string{"ops"}) {
		t.Fatalf("%+v", a)
	}
	a, err = Source{Inline: &Inline{Title: "日报 {{.Date}}", Body: "今天是 {{.Weekday}}", Tags: []string{"x"}}}.Build(Data{Date: "2027-01-04", Weekday: "Monday"})
	if err != nil || a.Title != "日报 2027-01-04" || a.Body != "今天是 Monday" {
		t.Fatalf("%+v %v", a, err)
	}
	for name, src := range map[string]string{
		"template": "---\ntitle: {{.Nope}}\n---\nb",
		"id":       "---\nid: x\ntitle: t\n---\nb",
		"send_at":  "---\nsend_at: 2027-01-01T00:00:00Z\ntitle: t\n---\nb",
		"title":    "---\ntitle: ''\n---\nb",
	} {
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Source{File: file}.Build(d)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSplitParts(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"headings", "intro\n\n## One\na\n## Two\nb\n\n## Three\nc", []string{"intro\n\n## One\na", "## Two\nb", "## Three\nc"}},
		{"rules", "a\n\n---\n\nb\n---\n\n---\nc", []string{"a", "b", "c"}},
		{"fence", "## One\n```\n## not a heading\n---\n```\n## Two\nb", []string{"## One\n```\n## not a heading\n---\n```", "## Two\nb"}},
		{"headings win over rules", "## One\na\n\n---\n\nstill one\n## Two\nb", []string{"## One\na\n\n---\n\nstill one", "## Two\nb"}},
		{"one part", "just text", []string{"just text"}},
		{"h3 does not split", "### a\nx\n### b\ny", []string{"### a\nx\n### b\ny"}},
	}
	for _, tt := range tests {
		if got := SplitParts(tt.body); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPartTimes(t *testing.T) {
	loc := zone(t, "Europe/Berlin")
	start := time.Date(2027, 3, 26, 11, 0, 0, 0, loc)
	got := PartTimes(start, 24*time.Hour, "09:00", 4, loc)
	want := []string{"2027-03-27T09:00:00+01:00", "2027-03-28T09:00:00+02:00", "2027-03-29T09:00:00+02:00", "2027-03-30T09:00:00+02:00"}
	for i := range want {
		if s := got[i].In(loc).Format(time.RFC3339); s != want[i] {
			t.Errorf("part %d at %s, want %s", i+1, s, want[i])
		}
	}
	got = PartTimes(start, 90*time.Minute, "", 3, loc)
	if !got[0].Equal(start) || got[2].Sub(start) != 3*time.Hour {
		t.Errorf("elapsed: %v", got)
	}
	got = PartTimes(time.Date(2027, 3, 26, 8, 0, 0, 0, loc), 48*time.Hour, "9:00", 2, loc)
	if s := got[0].In(loc).Format(time.RFC3339); s != "2027-03-26T09:00:00+01:00" {
		t.Errorf("same-day at: %s", s)
	}
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"30 9 * * 1", "@daily", "*/15 8-18 * * mon-fri", "0 0 29 2 *", "61 * * * *", "TZ=x", "@every 1s", "1-5/2 * ? * *"} {
		f.Add(s)
	}
	loc, _ := time.LoadLocation("Europe/Berlin")
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := ParseCron(expr, loc)
		if err != nil {
			return
		}
		after := time.Date(2027, 10, 30, 23, 0, 0, 0, time.UTC)
		occ, _ := c.Between(after, after.Add(48*time.Hour), 100)
		for i, o := range occ {
			if !o.At.After(after) || (i > 0 && o.At.Before(occ[i-1].At)) {
				t.Fatalf("%q: occurrence %d at %s out of order", expr, i, o.At)
			}
		}
	})
}

func FuzzSplitParts(f *testing.F) {
	for _, s := range []string{"## a\nx\n## b\ny", "a\n---\nb", "```\n## x\n```\n## y", "", "---", "## \n##"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, p := range SplitParts(body) {
			if strings.TrimSpace(p) == "" || p != strings.TrimSpace(p) {
				t.Fatalf("part %q is blank or untrimmed", p)
			}
		}
	})
}

// The minutes a spring-forward gap skips all fire, at the end of the gap.
func TestBetweenKeepsGapMinutes(t *testing.T) {
	ny := zone(t, "America/New_York")
	c := mustCron(t, "*/15 * * * *", ny)
	occ, _ := c.Between(time.Date(2027, 3, 14, 6, 50, 0, 0, time.UTC), time.Date(2027, 3, 14, 7, 10, 0, 0, time.UTC), 0)
	var got []string
	for _, o := range occ {
		got = append(got, o.Local.Format("15:04")+"@"+o.At.In(ny).Format("15:04"))
	}
	want := []string{"02:00@03:00", "02:15@03:00", "02:30@03:00", "02:45@03:00", "03:00@03:00"}
	if !slices.Equal(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
}

func BenchmarkNextLeapDay(b *testing.B) {
	c := mustCron(b, "0 9 29 2 *", zone(b, "Europe/Berlin"))
	after := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		if _, ok := c.Next(after); !ok {
			b.Fatal("none")
		}
	}
}

func BenchmarkCountYearOfMinutes(b *testing.B) {
	c := mustCron(b, "* * * * *", time.UTC)
	for b.Loop() {
		c.Count(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 12, 31, 23, 59, 0, 0, time.UTC))
	}
}

// Count agrees with walking the occurrences one by one.
func TestCountMatchesWalk(t *testing.T) {
	for _, expr := range []string{"* * * * *", "*/7 9-17 * * 1-5", "30 9 * * 1", "0 0 1,15 * *", "5 4 * 2 0"} {
		c := mustCron(t, expr, time.UTC)
		since := time.Date(2027, 1, 3, 0, 0, 0, 0, time.UTC)
		for _, local := range []time.Time{since, since.Add(9*time.Hour + 35*time.Minute), since.AddDate(0, 1, 10).Add(17*time.Hour + 14*time.Minute)} {
			walk := 0
			for cu := since; !cu.After(local); cu = cu.Add(time.Minute) {
				if nc, ok := c.nextCivil(cu, 1); ok && nc.Equal(cu) {
					walk++
				}
			}
			if got := c.Count(since, local); got != walk {
				t.Errorf("%s to %s: %d, walking %d", expr, local, got, walk)
			}
		}
	}
}

// A source read once builds every occurrence from that reading (the
// calendar builds up to 500 per schedule): the file is not opened again,
// and a file that could not be read gives its error each time.
func TestSourceReadOnce(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "daily.md")
	if err := os.WriteFile(file, []byte("---\ntitle: 日报 {{.Date}}\n---\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := Source{File: file}.Read()
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	for _, day := range []string{"2027-01-04", "2027-01-05"} {
		a, err := src.Build(Data{Name: "d", Date: day})
		if err != nil || a.Title != "日报 "+day {
			t.Fatalf("%s: %+v %v", day, a, err)
		}
	}
	missing := Source{File: file}.Read()
	for range 2 {
		if _, err := missing.Build(Data{Name: "d"}); err == nil || !strings.Contains(err.Error(), "announcement file") {
			t.Fatalf("a missing file: %v", err)
		}
	}
}
