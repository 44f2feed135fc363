package console

import (
	"testing"

	"github.com/groupcast/groupcast/inbound"
)

// TestChartOf: bars are on one scale (the largest reaches the top line),
// a small figure is never invisible, a 0 draws nothing, and sends are
// drawn only when counted.
func TestChartOf(t *testing.T) {
	days := []inbound.ReportDay{
		{Date: "2026-11-27", Joins: 100, Leaves: 1, Sends: 50},
		{Date: "2026-11-28"},
		{Date: "2026-11-29", Leaves: 25},
	}
	for _, c := range []struct {
		counted bool
		want    map[string]int // "date series" → height
	}{
		{true, map[string]int{"2026-11-27 join": 130, "2026-11-27 leave": 1, "2026-11-27 send": 65, "2026-11-29 leave": 32}},
		{false, map[string]int{"2026-11-27 join": 130, "2026-11-27 leave": 1, "2026-11-29 leave": 32}},
	} {
		ch := chartOf(inbound.Report{Days: days, SendsCounted: c.counted})
		if ch.Max != 100 || ch.Base-ch.Top != 130 {
			t.Fatalf("scale: max %d, plot %d", ch.Max, ch.Base-ch.Top)
		}
		got := map[string]int{}
		for _, b := range ch.Bars {
			got[b.Date+" "+b.Series] = b.H
			if b.Y+b.H != ch.Base || b.X < ch.Left || b.X+b.W > ch.Width {
				t.Errorf("%s %s: off the plot: %+v in %dx%d", b.Date, b.Series, b, ch.Width, ch.Height)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("counted %v: bars %v, want %v", c.counted, got, c.want)
		}
		for k, h := range c.want {
			if got[k] != h {
				t.Errorf("counted %v: %s is %d high, want %d", c.counted, k, got[k], h)
			}
		}
		checkTicks(t, ch)
	}
	// 90 days fit: narrower bars, about seven date labels.
	long := make([]inbound.ReportDay, 90)
	for i := range long {
		long[i] = inbound.ReportDay{Date: "2026-09-01", Joins: 1, Leaves: 1, Sends: 1}
	}
	for _, n := range []int{1, 7, 14, 30, 90} {
		ch := chartOf(inbound.Report{Days: long[:n], SendsCounted: true})
		if ch.Width > 900 || len(ch.Ticks) > 10 {
			t.Errorf("%d days: width %d, %d labels", n, ch.Width, len(ch.Ticks))
		}
		checkTicks(t, ch)
	}
}

// checkTicks: the date labels start at the first day and do not overlap.
func checkTicks(t *testing.T, ch chart) {
	t.Helper()
	if len(ch.Ticks) == 0 || ch.Ticks[0].X != ch.Bars[0].X {
		t.Errorf("date labels %v do not start at the first bar", ch.Ticks)
	}
	for i := 1; i < len(ch.Ticks); i++ {
		if ch.Ticks[i].X-ch.Ticks[i-1].X < chartLabelW {
			t.Errorf("date labels overlap: %v", ch.Ticks)
		}
	}
}
