package policy

import (
	"fmt"
	"strings"
	"time"
)

const day = 24 * time.Hour

// window is one local "HH:MM-HH:MM" range as offsets from local midnight.
// end > start always; end > 24h when the window crosses midnight.
type window struct {
	start, end time.Duration
}

// parseWindow reads "HH:MM-HH:MM". The start is 00:00..23:59, the end
// 00:00..24:00; an end at or before the start crosses midnight
// ("22:00-02:00", "20:00-00:00"). Equal ends are refused: write
// "00:00-24:00" for a whole day.
func parseWindow(s string) (window, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return window{}, fmt.Errorf("%q is not HH:MM-HH:MM", s)
	}
	start, err := parseClock(strings.TrimSpace(from), false)
	if err != nil {
		return window{}, fmt.Errorf("%q: start %w", s, err)
	}
	end, err := parseClock(strings.TrimSpace(to), true)
	if err != nil {
		return window{}, fmt.Errorf("%q: end %w", s, err)
	}
	if end == start {
		return window{}, fmt.Errorf("%q: start equals end (write 00:00-24:00 for the whole day)", s)
	}
	if end < start {
		end += day
	}
	return window{start: start, end: end}, nil
}

// parseClock reads "HH:MM" (or "H:MM"); "24:00" only when allow24.
func parseClock(s string, allow24 bool) (time.Duration, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hh, ok1 := digits(h)
	mm, ok2 := digits(m)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	switch {
	case mm > 59:
		return 0, fmt.Errorf("%q: minutes past 59", s)
	case hh == 24 && mm == 0 && allow24:
	case hh > 23:
		if allow24 {
			return 0, fmt.Errorf("%q: hour past 24:00", s)
		}
		return 0, fmt.Errorf("%q: hour past 23", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

func digits(s string) (int, bool) {
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func (w window) String() string {
	end := w.end % day
	if w.end == day {
		end = day
	}
	return fmt.Sprintf("%s-%s", clockString(w.start), clockString(end))
}

func clockString(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// sinceMidnight is the local wall clock of t as an offset from midnight.
func sinceMidnight(t time.Time) time.Duration {
	h, m, s := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
}

// untilOpen is how much wall-clock time passes, from the local clock d and
// with the offset unchanged, until some window is open: 0 if one is open now.
func untilOpen(ws []window, d time.Duration) time.Duration {
	best := time.Duration(-1)
	for _, w := range ws {
		if (d >= w.start && d < w.end) || (w.end > day && d < w.end-day) {
			return 0
		}
		wait := w.start - d
		if wait < 0 {
			wait += day
		}
		if best < 0 || wait < best {
			best = wait
		}
	}
	return best
}

// Open reports whether t falls inside a send window (always, without windows).
func (p *Policy) Open(t time.Time) bool {
	return len(p.windows) == 0 || untilOpen(p.windows, sinceMidnight(t.In(p.loc))) == 0
}

// NextWindow returns the earliest instant at or after t at which a send
// window is open, in the policy's zone: t itself when one is open (or the
// policy has no windows). The answer is always a real local time: a window
// that starts inside a daylight-saving gap opens when the clocks jump (a
// 02:30 start on a day that skips 02:00-03:00 opens at 03:00), and after
// clocks fall back the repeated hour is open again.
func (p *Policy) NextWindow(t time.Time) time.Time {
	t = t.In(p.loc)
	if len(p.windows) == 0 {
		return t
	}
	// Within one zone segment (constant offset) the wall clock advances with
	// real time, so the wait computed from the wall clock is exact unless the
	// segment ends first; then start over from the segment's end, where the
	// wall clock jumps. A few segments at most: transitions are months apart.
	for range 64 {
		wait := untilOpen(p.windows, sinceMidnight(t))
		if wait == 0 {
			return t
		}
		next := t.Add(wait)
		_, end := t.ZoneBounds()
		if end.IsZero() || next.Before(end) || !end.After(t) {
			return next
		}
		t = end
	}
	return t
}

// DayKey is the local day of now that daily cap counters belong to, as
// "20061231" in the policy's zone.
func (p *Policy) DayKey(now time.Time) string {
	return now.In(p.loc).Format("20060102")
}

// startOfNextDay is the first instant of the local day after t's. Midnight
// itself may not exist (zones that jump forward at 00:00); then the day
// starts when the clocks jump.
func (p *Policy) startOfNextDay(t time.Time) time.Time {
	t = t.In(p.loc)
	y, m, d := t.Date()
	next := time.Date(y, m, d+1, 0, 0, 0, 0, p.loc)
	wy, wm, wd := time.Date(y, m, d+1, 12, 0, 0, 0, time.UTC).Date()
	if ny, nm, nd := next.Date(); ny != wy || nm != wm || nd != wd {
		// time.Date put the missing midnight before the jump, on the
		// previous day: the day starts when the zone changes.
		if _, end := next.ZoneBounds(); !end.IsZero() {
			next = end
		}
	}
	return next
}

// NextDay returns the first window start of the local day after t's
// (midnight of that day when there are no windows): where a target over its
// daily cap goes. A window that crosses midnight is open at the start of the
// next day, so that day's first chance is midnight.
func (p *Policy) NextDay(t time.Time) time.Time {
	return p.NextWindow(p.startOfNextDay(t))
}
