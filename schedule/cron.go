// Package schedule is the planning half of group operations, without I/O
// of its own: cron expressions evaluated on the local wall clock of a time
// zone (DST-correct), the occurrences of a recurring post and their ids,
// the text/template data an occurrence is rendered with, and the split of
// a series' body into parts and the times the parts go out.
//
// The router runs it: router/schedules.go submits each occurrence as an
// ordinary announcement, router/series.go expands a series, and
// router/calendar.go lists what lies ahead (docs/operations-calendar.md).
package schedule

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/groupcast/groupcast"
)

// parser reads the five standard fields (minute hour day-of-month month
// day-of-week) and the @daily-style descriptors.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// starBit marks a field given as * (cron's convention, which decides how
// day-of-month and day-of-week combine).
const starBit = 1 << 63

// Cron is a parsed 5-field cron expression, evaluated in a time zone on
// its wall clock:
//
//   - A local time that a spring-forward jump skips (02:30 on the night
//     Berlin goes from 02:00 to 03:00) fires once, at the end of the gap
//     (03:00 local), the first moment the clocks show a later time.
//   - A local time that a fall-back repeats (02:30 on the night Berlin goes
//     from 03:00 back to 02:00) fires once, at its first instance (summer
//     time).
//
// So every matching wall-clock minute fires exactly once, and the instants
// never go backwards.
type Cron struct {
	spec *cron.SpecSchedule
	loc  *time.Location
	src  string
}

// ParseCron reads a standard 5-field expression ("30 9 * * 1") or a
// descriptor (@hourly, @daily, @midnight, @weekly, @monthly, @yearly,
// @annually). CRON_TZ=/TZ= prefixes and @every are refused: the config's
// timezone decides, and a schedule follows the wall clock.
func ParseCron(expr string, loc *time.Location) (*Cron, error) {
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return nil, errors.New("empty cron expression")
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return nil, errors.New("no TZ= prefix: the schedule uses the config's timezone")
	case strings.HasPrefix(expr, "@every"):
		return nil, errors.New("@every is not supported: use the five fields (minute hour day month weekday)")
	}
	if !strings.HasPrefix(expr, "@") {
		if n := len(strings.Fields(expr)); n != 5 {
			return nil, fmt.Errorf("%d fields; want 5: minute hour day-of-month month day-of-week, such as \"30 9 * * 1\"", n)
		}
	}
	s, err := parser.Parse(expr)
	if err != nil {
		return nil, err
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%q is not a wall-clock schedule", expr)
	}
	if loc == nil {
		loc = time.UTC
	}
	c := &Cron{spec: spec, loc: loc, src: expr}
	if _, ok := c.nextCivil(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 8*366); !ok {
		return nil, fmt.Errorf("%q never matches a date", expr)
	}
	return c, nil
}

// String is the expression as given.
func (c *Cron) String() string { return c.src }

// Location is the zone the expression is read in.
func (c *Cron) Location() *time.Location { return c.loc }

// Occurrence is one firing: the wall-clock minute the expression matched
// (Local, a time whose fields are the local date and time, in UTC so that
// no zone rule moves it) and the instant it fires (At).
type Occurrence struct {
	Local time.Time
	At    time.Time
}

// maxDays bounds a search for the next match (a 29 February every four
// years needs 1461).
const maxDays = 8 * 366

// Next is the first occurrence firing strictly after the instant after.
// ok is false when there is none within eight years.
func (c *Cron) Next(after time.Time) (Occurrence, bool) {
	// Start a little before after's wall-clock time: around a transition
	// the wall clock and the instants disagree by the jump.
	l := after.In(c.loc).Add(-3 * time.Hour)
	cu := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC)
	for range 1 << 20 {
		next, ok := c.nextCivil(cu, maxDays)
		if !ok {
			return Occurrence{}, false
		}
		at := Resolve(next, c.loc)
		if at.After(after) {
			return Occurrence{Local: next, At: at}, true
		}
		cu = next.Add(time.Minute)
	}
	return Occurrence{}, false
}

// Between lists the occurrences firing in (after, until], at most limit of
// them (0: no limit); more reports whether it stopped at the limit.
// Occurrences that fire at the same instant (the times a spring-forward
// gap skips, and the end of the gap) are all listed.
func (c *Cron) Between(after, until time.Time, limit int) (out []Occurrence, more bool) {
	o, ok := c.Next(after)
	for ok && !o.At.After(until) {
		if limit > 0 && len(out) == limit {
			return out, true
		}
		out = append(out, o)
		var next time.Time
		if next, ok = c.nextCivil(o.Local.Add(time.Minute), maxDays); ok {
			o = Occurrence{Local: next, At: Resolve(next, c.loc)}
		}
	}
	return out, false
}

// Count is how many wall-clock minutes from the local midnight starting
// since (inclusive) to local (inclusive) match: the ordinal of the
// occurrence at local. Zero when local is before since.
func (c *Cron) Count(since, local time.Time) int {
	s := c.spec
	hours := s.Hour & (1<<24 - 1)
	minutes := s.Minute & (1<<60 - 1)
	perDay := bits.OnesCount64(hours) * bits.OnesCount64(minutes)
	day := time.Date(since.Year(), since.Month(), since.Day(), 0, 0, 0, 0, time.UTC)
	last := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	n := 0
	for ; day.Before(last); day = day.AddDate(0, 0, 1) {
		if s.Month&(1<<uint(day.Month())) != 0 && c.dayMatches(day) {
			n += perDay
		}
	}
	if !day.Equal(last) || s.Month&(1<<uint(day.Month())) == 0 || !c.dayMatches(day) {
		return n
	}
	// The last day: the hours before local's, and local's hour up to its minute.
	n += bits.OnesCount64(hours&(1<<uint(local.Hour())-1)) * bits.OnesCount64(minutes)
	if hours&(1<<uint(local.Hour())) != 0 {
		n += bits.OnesCount64(minutes & (1<<uint(local.Minute()+1) - 1))
	}
	return n
}

// nextCivil is the first wall-clock minute at or after cu (a local time
// written in UTC) that the expression matches, searching days days.
func (c *Cron) nextCivil(cu time.Time, days int) (time.Time, bool) {
	s := c.spec
	day := time.Date(cu.Year(), cu.Month(), cu.Day(), 0, 0, 0, 0, time.UTC)
	for i := range days {
		if s.Month&(1<<uint(day.Month())) != 0 && c.dayMatches(day) {
			h0, m0 := 0, 0
			if i == 0 {
				h0, m0 = cu.Hour(), cu.Minute()
			}
			for h := h0; h < 24; h++ {
				if s.Hour&(1<<uint(h)) == 0 {
					continue
				}
				start := 0
				if h == h0 {
					start = m0
				}
				for m := start; m < 60; m++ {
					if s.Minute&(1<<uint(m)) != 0 {
						return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute), true
					}
				}
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}, false
}

// dayMatches is cron's rule: when day-of-month or day-of-week is *, both
// must match; when both are restricted, either may.
func (c *Cron) dayMatches(day time.Time) bool {
	s := c.spec
	dom := s.Dom&(1<<uint(day.Day())) != 0
	dow := s.Dow&(1<<uint(day.Weekday())) != 0
	if s.Dom&starBit != 0 || s.Dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}

// Resolve is the instant a local wall-clock time (its fields, in any
// location) names in loc: the first instance of a time a fall-back
// repeats, and the end of the gap for a time a spring-forward skips
// (groupcast.ResolveLocal, the one rule for schedules, series and A/B
// slots).
func Resolve(local time.Time, loc *time.Location) time.Time {
	return groupcast.ResolveLocal(local, loc)
}

// ID is the announcement id of a schedule's occurrence:
// "<name>-<YYYYMMDD>-<HHMM>" in local time ("weekly-report-20270104-0930").
// It is what makes an occurrence post once: the store creates an id once.
func ID(name string, local time.Time) string {
	return name + "-" + local.Format("20060102-1504")
}
