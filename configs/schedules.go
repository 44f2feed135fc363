package configs

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/schedule"
)

// Schedule is a recurring post. At each occurrence of Cron (in the
// config's timezone, DST-correct: docs/operations-calendar.md) its
// announcement is rendered and submitted as an ordinary announcement with
// the id "<name>-<YYYYMMDD>-<HHMM>" (local time): the store creates an id
// once, so a restart, a reload or a second replica never posts an
// occurrence twice.
type Schedule struct {
	// Name identifies the schedule and starts each occurrence's id
	// (letters, digits, _ and -, at most 64).
	Name string `mapstructure:"name"`
	// Cron is a standard five-field expression, minute hour day-of-month
	// month day-of-week ("30 9 * * 1": Mondays 09:30), or @daily, @weekly,
	// @monthly, …, read in the config's timezone.
	Cron string `mapstructure:"cron"`
	// Announcement is a file (front matter and body, as groupcast send
	// takes) in the config file's directory or below it, read at each
	// occurrence and rendered as a Go text/template with .Date, .Week,
	// .Weekday, .Occurrence and .Time. Set announcement or inline.
	Announcement string `mapstructure:"announcement"`
	// Inline is the announcement written in the schedule instead of a
	// file; title, summary and body are templates as above.
	Inline ScheduleInline `mapstructure:"inline"`
	// Start (YYYY-MM-DD) is the day {{.Occurrence}} counts from (1 = the
	// first occurrence on or after it); default: 1 January of each
	// occurrence's year.
	Start string `mapstructure:"start"`
	// Until (YYYY-MM-DD) is the last local day the schedule posts on;
	// empty: no end.
	Until string `mapstructure:"until"`
	// CatchUp is how late an occurrence may still be posted when the
	// daemon was down at its time (default 1h); older missed occurrences
	// are skipped and logged.
	CatchUp time.Duration `mapstructure:"catch_up"`

	// File is Announcement resolved against the config's directory. Set by
	// Load.
	File string `mapstructure:"-"`
	// StartDate and UntilDate are Start and Until read (local dates as UTC
	// midnights; zero when unset). Set by Load.
	StartDate time.Time `mapstructure:"-"`
	UntilDate time.Time `mapstructure:"-"`
	// HasInline reports whether the file gave inline. Set by Load.
	HasInline bool `mapstructure:"-"`
}

// DefaultCatchUp is Schedule.CatchUp's default.
const DefaultCatchUp = time.Hour

// ScheduleInline is an announcement written in a schedule: the fields of
// an announcement's front matter that make sense for a recurring post.
type ScheduleInline struct {
	// Title is the announcement's title (a template).
	Title string `mapstructure:"title"`
	// Summary is the short style's text, when set (a template).
	Summary string `mapstructure:"summary"`
	// Body is the Markdown body (a template).
	Body string `mapstructure:"body"`
	// Category is notice (default), interaction or promotion.
	Category string `mapstructure:"category"`
	// Priority is normal (default), urgent or low.
	Priority string `mapstructure:"priority"`
	// Tags route the announcement.
	Tags []string `mapstructure:"tags"`
	// Links are titled URLs.
	Links []ScheduleLink `mapstructure:"links"`
	// MentionAll mentions everyone where the driver can.
	MentionAll bool `mapstructure:"mention_all"`
	// Author names who wrote it.
	Author string `mapstructure:"author"`
}

// ScheduleLink is a titled URL of an inline announcement.
type ScheduleLink struct {
	// Title is the link's text; default the URL.
	Title string `mapstructure:"title"`
	// URL is an absolute http(s) URL.
	URL string `mapstructure:"url"`
}

// Schedule finds a schedule by name.
func (c *Config) Schedule(name string) (Schedule, bool) {
	for _, s := range c.Schedules {
		if s.Name == name {
			return s, true
		}
	}
	return Schedule{}, false
}

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
