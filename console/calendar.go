package console

import (
	"net/http"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/policy"
)

// calDay is one column of the week.
type calDay struct {
	Date  time.Time
	Hours []calHour
}

// calHour is one cell: the items due in that hour, shaded when a send
// window of a policy is open at its start.
type calHour struct {
	Hour  int
	Open  bool
	Items []groupcast.CalendarItem
}

// weekOf is the Monday 00:00 (in loc) of the week holding t.
func weekOf(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	d := (int(t.Weekday()) + 6) % 7
	return time.Date(t.Year(), t.Month(), t.Day()-d, 0, 0, 0, 0, loc)
}

func (c *Console) calendar(w http.ResponseWriter, r *http.Request) {
	loc := c.loc()
	from := weekOf(c.now(), loc)
	if v := r.URL.Query().Get("week"); v != "" {
		t, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			c.fail(w, r, http.StatusBadRequest, "err_input", "week: YYYY-MM-DD")
			return
		}
		from = weekOf(t, loc)
	}
	to := from.AddDate(0, 0, 7)
	items, err := c.calendarItems(r, from, to)
	if err != nil {
		c.engineError(w, r, err)
		return
	}
	// The windows of every policy routes use: a cell is shaded when one
	// of them is open at its start.
	cfg := c.eng.Config()
	var pols []*policy.Policy
	for _, p := range cfg.Policies {
		if len(p.Windows) == 0 {
			continue
		}
		if cp, err := policy.Compile(p, loc); err == nil {
			pols = append(pols, cp)
		}
	}
	days := make([]calDay, 7)
	for d := range days {
		day := from.AddDate(0, 0, d)
		days[d] = calDay{Date: day, Hours: make([]calHour, 24)}
		for h := range 24 {
			at := time.Date(day.Year(), day.Month(), day.Day(), h, 0, 0, 0, loc)
			open := false
			for _, p := range pols {
				open = open || p.Open(at)
			}
			days[d].Hours[h] = calHour{Hour: h, Open: open}
		}
	}
	for _, it := range items {
		at := it.At.In(loc)
		d := int(time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, loc).Sub(from).Hours()+12) / 24
		if d < 0 || d > 6 {
			continue
		}
		it.At = at
		days[d].Hours[at.Hour()].Items = append(days[d].Hours[at.Hour()].Items, it)
	}
	c.render(w, r, http.StatusOK, "calendar", map[string]any{
		"Days": days, "From": from, "Prev": from.AddDate(0, 0, -7).Format(time.DateOnly),
		"Next": to.Format(time.DateOnly), "Zone": loc.String(), "Windows": len(pols) > 0, "Count": len(items)})
}

// calendarItems are the week's items, as GET /v1/calendar answers them.
func (c *Console) calendarItems(r *http.Request, from, to time.Time) ([]groupcast.CalendarItem, error) {
	return c.eng.Calendar(r.Context(), from, to)
}
