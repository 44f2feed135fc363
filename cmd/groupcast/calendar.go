package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/api"
)

func calendarCmd(g *globals) *cobra.Command {
	var f clientFlags
	var week bool
	var days int
	cmd := &cobra.Command{
		Use:   "calendar",
		Short: "Show what goes out in the coming days (GET /v1/calendar)",
		Long: `Show the content calendar in the daemon's time zone, day by day: the future
occurrences of schedules, the parts of series still to come, announcements
waiting for send_at, targets deferred to a later time (a window, a cap, the
mix, a platform pause) and announcements held for review — with the send
windows of each policy. By default from today for --days days; --week shows
this calendar week, Monday to Sunday.`,
		Example: `  groupcast calendar
  groupcast calendar --week
  groupcast calendar --days 14 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if days < 1 || days > 62 {
				return invalid("--days: %d is not 1 to 62", days)
			}
			d, err := f.client(g)
			if err != nil {
				return err
			}
			loc := d.loc
			if loc == nil {
				loc = time.Local
			}
			var cal api.Calendar
			var from, to time.Time
			for range 2 {
				from, to = calendarRange(time.Now().In(loc), week, days)
				cal, err = d.Calendar(cmd.Context(), from, to)
				if err != nil {
					return clientErr(err)
				}
				// The daemon's zone decides where a day starts: ask again
				// in it when it is not the one assumed.
				z, err := time.LoadLocation(cal.Timezone)
				if err != nil || z.String() == loc.String() {
					break
				}
				loc = z
			}
			if f.asJSON {
				return printJSON(g.stdout, cal)
			}
			return printCalendar(g.stdout, cal, from, to, loc)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&week, "week", false, "show this calendar week, Monday to Sunday")
	cmd.Flags().IntVar(&days, "days", 7, "without --week, show this many days from today (1 to 62)")
	return cmd
}

// calendarRange is this week (Monday 00:00 to the next Monday) or days
// days from today's midnight, in now's zone.
func calendarRange(now time.Time, week bool, days int) (time.Time, time.Time) {
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	if week {
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		day = time.Date(day.Year(), day.Month(), day.Day()-back, 0, 0, 0, 0, day.Location())
		days = 7
	}
	return day, time.Date(day.Year(), day.Month(), day.Day()+days, 0, 0, 0, 0, day.Location())
}

// printCalendar prints the windows, then each day and its items.
func printCalendar(w io.Writer, cal api.Calendar, from, to time.Time, loc *time.Location) error {
	last := to.AddDate(0, 0, -1)
	fmt.Fprintf(w, "Calendar %s – %s (%s)\n", from.Format("2006-01-02 Mon"), last.Format("2006-01-02 Mon"), cal.Timezone)
	if len(cal.Windows) == 0 {
		fmt.Fprintln(w, "Send windows: none (any time)")
	}
	for _, pw := range cal.Windows {
		routes := ""
		if len(pw.Routes) > 0 {
			routes = " (routes " + strings.Join(pw.Routes, ", ") + ")"
		}
		fmt.Fprintf(w, "Send windows: policy %s %s%s\n", pw.Policy, strings.Join(pw.Windows, ", "), routes)
	}
	fmt.Fprintln(w)
	var tb table
	i := 0
	for day := from; day.Before(to); day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc) {
		next := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
		tb.row(day.Format("Mon 01-02"))
		n := 0
		for ; i < len(cal.Items) && cal.Items[i].At.Before(next); i++ {
			it := cal.Items[i]
			what := it.ID
			if it.Name != "" {
				what = it.Name
			}
			tb.row("", it.At.In(loc).Format("15:04"), it.Kind, what, it.Title, strings.Join(it.Targets, ", "))
			n++
		}
		if n == 0 {
			tb.row("", "—")
		}
	}
	return tb.write(w)
}

// printParts lists a series' parts (groupcast status of a series).
func printParts(w io.Writer, d *daemonRef, parts []groupcast.PartStatus) error {
	var tb table
	tb.row("PART", "ID", "AT", "STATE", "TITLE")
	for _, p := range parts {
		tb.row(fmt.Sprintf("%d/%d", p.Part, len(parts)), p.ID, d.fmtTime(p.At), p.State, p.Title)
	}
	if err := tb.write(w); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}
