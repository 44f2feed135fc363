package configs

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/schedule"
)

// Source is where the schedule's announcement comes from, for
// schedule.Source.Build.
func (s Schedule) Source() schedule.Source {
	if !s.HasInline {
		return schedule.Source{File: s.File}
	}
	in := s.Inline
	out := &schedule.Inline{Title: in.Title, Summary: in.Summary, Body: in.Body, Category: in.Category,
		Priority: in.Priority, Tags: in.Tags, MentionAll: in.MentionAll, Author: in.Author}
	for _, l := range in.Links {
		out.Links = append(out.Links, groupcast.Link{Title: l.Title, URL: l.URL})
	}
	return schedule.Source{Inline: out}
}

// CronIn parses the schedule's cron in loc (Load has checked it).
func (s Schedule) CronIn(loc *time.Location) (*schedule.Cron, error) {
	return schedule.ParseCron(s.Cron, loc)
}

// schedulesCheck checks schedules: unique names, a cron that parses, one
// of announcement and inline, dates, catch_up, and the announcement of the
// next occurrence rendered and parsed (an error names its field).
func (v *validator) schedulesCheck() {
	c, cfg := v.c, v.cfg
	seen := map[string]int{}
	for i := range cfg.Schedules {
		s := &cfg.Schedules[i]
		p := joinIndex("schedules", i)
		v.checkName(p+".name", s.Name, "schedule", seen, true)
		raw := v.rawItem("schedules", i)
		_, s.HasInline = raw["inline"]
		if _, ok := raw["catch_up"]; !ok {
			s.CatchUp = DefaultCatchUp
		}
		if s.CatchUp < time.Minute {
			c.add(p+".catch_up", "must be at least 1m (an occurrence is posted if the daemon is at most this late)")
		}
		var cron *schedule.Cron
		if strings.TrimSpace(s.Cron) == "" {
			c.add(p+".cron", "required: five fields, minute hour day-of-month month day-of-week, such as \"30 9 * * 1\"")
		} else if cr, err := s.CronIn(cfg.Location); err != nil {
			c.add(p+".cron", "%v", err)
		} else {
			cron = cr
		}
		s.StartDate = v.date(p+".start", s.Start)
		s.UntilDate = v.date(p+".until", s.Until)
		if !s.StartDate.IsZero() && !s.UntilDate.IsZero() && s.UntilDate.Before(s.StartDate) {
			c.add(p+".until", "is before start")
		}
		where := p + ".announcement"
		switch {
		case s.Announcement != "" && s.HasInline:
			c.add(p+".inline", "set announcement (a file) or inline, not both")
			continue
		case s.Announcement == "" && !s.HasInline:
			c.add(where, "required: a file (front matter and body), or set inline")
			continue
		case s.HasInline:
			where = p + ".inline"
		default:
			name, err := confined(v.dir, s.Announcement)
			if err != nil {
				c.add(where, "%v", err)
				continue
			}
			if _, err := readSmall(name, schedule.MaxFileSize); err != nil {
				c.add(where, "cannot read: %v", err)
				continue
			}
			s.File = name
		}
		if cron == nil {
			continue
		}
		// Render the next occurrence now: a template or front matter
		// mistake shows at load, not at 09:30 on Monday.
		o, ok := cron.Next(time.Now())
		if !ok {
			continue
		}
		if _, err := s.Source().Build(schedule.DataFor(s.Name, cron, o, s.StartDate)); err != nil {
			var in *groupcast.InputError
			if errors.As(err, &in) && s.HasInline {
				for _, f := range in.Fields {
					fp := where
					if f.Field != "" && f.Field != "template" {
						fp = joinKey(where, f.Field)
					}
					c.add(fp, "%s", f.Message)
				}
				continue
			}
			c.add(where, "%v", err)
		}
	}
}

// date reads an optional YYYY-MM-DD at path.
func (v *validator) date(path, s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		// An unquoted YAML date arrives as a timestamp at midnight UTC.
		if ts, err2 := time.Parse(time.RFC3339, s); err2 == nil && ts.Equal(ts.Truncate(24*time.Hour)) {
			return ts.UTC()
		}
		v.c.add(path, "%s is not a date such as 2027-06-30", v.c.quote(path, s))
		return time.Time{}
	}
	return d
}

// String names the schedule in logs.
func (s Schedule) String() string { return fmt.Sprintf("schedule %s (%s)", s.Name, s.Cron) }
