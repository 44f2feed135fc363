package schedule

import (
	"strings"
	"time"

	"github.com/groupcast/groupcast"
)

// MaxParts bounds a series: each part is an announcement of its own.
const MaxParts = 50

// SplitParts cuts a series' body into its parts. When the body has
// level-2 headings ("## …"), each starts a part (text before the first
// belongs to the first part); otherwise each line of just "---" ends one.
// Lines inside fenced code blocks never split. Blank parts are dropped;
// each part is trimmed.
func SplitParts(body string) []string {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	inFence := make([]bool, len(lines))
	fence := ""
	for i, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case fence == "" && (strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~")):
			fence = t[:3]
			inFence[i] = true
		case fence != "":
			inFence[i] = true
			if strings.HasPrefix(t, fence) {
				fence = ""
			}
		}
	}
	isH2 := func(l string) bool {
		t := strings.TrimLeft(l, " ")
		return len(l)-len(t) < 4 && (t == "##" || strings.HasPrefix(t, "## ") || strings.HasPrefix(t, "##\t"))
	}
	headings := false
	for i, l := range lines {
		if !inFence[i] && isH2(l) {
			headings = true
			break
		}
	}
	var parts []string
	var cur []string
	flush := func() {
		if p := strings.TrimSpace(strings.Join(cur, "\n")); p != "" {
			parts = append(parts, p)
		}
		cur = cur[:0]
	}
	for i, l := range lines {
		switch {
		case inFence[i]:
			cur = append(cur, l)
		case headings && isH2(l):
			if strings.TrimSpace(strings.Join(cur, "\n")) != "" && len(parts) == 0 && !hasH2(cur, isH2) {
				// An introduction before the first heading joins the first part.
				cur = append(cur, l)
				continue
			}
			flush()
			cur = append(cur, l)
		case !headings && strings.TrimSpace(l) == "---":
			flush()
		default:
			cur = append(cur, l)
		}
	}
	flush()
	return parts
}

func hasH2(lines []string, isH2 func(string) bool) bool {
	for _, l := range lines {
		if isH2(l) {
			return true
		}
	}
	return false
}

// PartTimes are the instants the n parts of a series go out: the first at
// start, or at the first local time at ("09:00") at or after start; part i
// at first + (i−1)·every. When every is a whole number of days the parts
// keep the first part's local time of day across a DST change (a gap or a
// repeat resolved as Resolve does); otherwise every is exact elapsed time.
func PartTimes(start time.Time, every time.Duration, at string, n int, loc *time.Location) []time.Time {
	if loc == nil {
		loc = time.UTC
	}
	first := start
	if h, m, ok := groupcast.ParseClock(at); ok {
		l := start.In(loc)
		for d := 0; d < 3; d++ {
			c := time.Date(l.Year(), l.Month(), l.Day()+d, h, m, 0, 0, time.UTC)
			if t := Resolve(c, loc); !t.Before(start) {
				first = t
				break
			}
		}
	}
	out := make([]time.Time, n)
	fl := first.In(loc)
	days := every > 0 && every%(24*time.Hour) == 0
	for i := range n {
		if days {
			k := int(every/(24*time.Hour)) * i
			c := time.Date(fl.Year(), fl.Month(), fl.Day()+k, fl.Hour(), fl.Minute(), fl.Second(), 0, time.UTC)
			out[i] = Resolve(c, loc)
			if i == 0 {
				out[i] = first
			}
			continue
		}
		out[i] = first.Add(time.Duration(i) * every)
	}
	return out
}
