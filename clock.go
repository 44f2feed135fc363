package groupcast

import "time"

// ParseClock reads a local time of day, "HH:MM" or "H:MM", 00:00 to
// 23:59: the one grammar of series.at, ab.slots (which asks for the
// two-digit hour besides) and the schedules' times.
func ParseClock(s string) (hour, minute int, ok bool) {
	i := len(s) - 3 // where the colon is
	if (i != 1 && i != 2) || s[i] != ':' {
		return 0, 0, false
	}
	for j := range len(s) {
		if j != i && (s[j] < '0' || s[j] > '9') {
			return 0, 0, false
		}
	}
	hour = int(s[0] - '0')
	if i == 2 {
		hour = hour*10 + int(s[1]-'0')
	}
	minute = int(s[i+1]-'0')*10 + int(s[i+2]-'0')
	return hour, minute, hour < 24 && minute < 60
}

// ResolveLocal is the instant a local wall-clock time (its fields, in any
// location) names in loc: the first instance of a time a fall-back
// repeats, and the end of the gap for a time a spring-forward skips
// (docs/operations-calendar.md). Schedules, series and A/B slots all
// resolve a local time with it.
func ResolveLocal(local time.Time, loc *time.Location) time.Time {
	cu := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), 0, time.UTC)
	var best time.Time
	found := false
	var offs [2]int
	for i, probe := range []time.Time{cu.Add(-36 * time.Hour), cu.Add(36 * time.Hour)} {
		_, offs[i] = probe.In(loc).Zone()
		at := cu.Add(-time.Duration(offs[i]) * time.Second)
		if sameWall(at.In(loc), cu) && (!found || at.Before(best)) {
			best, found = at, true
		}
	}
	if found {
		return best
	}
	// In a gap: the transition lies between the two readings. Find its
	// instant (to the second).
	lo, hi := cu.Add(-time.Duration(offs[0])*time.Second), cu.Add(-time.Duration(offs[1])*time.Second)
	if hi.Before(lo) {
		lo, hi = hi, lo
	}
	_, offLo := lo.In(loc).Zone()
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
		if _, off := mid.In(loc).Zone(); off == offLo {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

func sameWall(l, cu time.Time) bool {
	return l.Year() == cu.Year() && l.Month() == cu.Month() && l.Day() == cu.Day() &&
		l.Hour() == cu.Hour() && l.Minute() == cu.Minute() && l.Second() == cu.Second()
}

// NextClock is the first instant at or after t when the clock in loc
// reads hour:minute, resolved as ResolveLocal does: on the night a
// spring-forward skips that time, the end of the gap; on the night a
// fall-back repeats it, its first instance (so at or after the second
// one, the next day's).
func NextClock(t time.Time, hour, minute int, loc *time.Location) time.Time {
	lt := t.In(loc)
	for d := 0; ; d++ {
		at := ResolveLocal(time.Date(lt.Year(), lt.Month(), lt.Day()+d, hour, minute, 0, 0, time.UTC), loc)
		if !at.Before(t) {
			return at
		}
	}
}
