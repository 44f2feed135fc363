package console

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/inbound"
	"github.com/groupcast/groupcast/tracking"
)

// GroupReporter answers a group's member figures and sends per day
// (*inbound.Hub, the code behind GET /v1/groups/{account}/{group}/report).
type GroupReporter interface {
	Report(ctx context.Context, cfg *configs.Config, account, group string, days int) (inbound.Report, error)
}

var _ GroupReporter = (*inbound.Hub)(nil)

// defaultDays is the group page's period without ?days=, as the API's.
const defaultDays = 30

// parseDays reads ?days= (1 to inbound.MaxDays; defaultDays when absent).
func parseDays(r *http.Request) (int, bool) {
	v := r.URL.Query().Get("days")
	if v == "" {
		return defaultDays, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > inbound.MaxDays {
		return 0, false
	}
	return n, true
}

// routedGroups lists each account's groups as the routes name them, in
// the order they first appear.
func routedGroups(cfg *configs.Config) map[string][]string {
	out := map[string][]string{}
	for _, rt := range cfg.Routes {
		for _, t := range rt.Targets {
			for _, g := range t.Groups {
				if !slices.Contains(out[t.Account], g.ID) {
					out[t.Account] = append(out[t.Account], g.ID)
				}
			}
		}
	}
	return out
}

// groupView is the group page's data.
type groupView struct {
	inbound.Report
	Platform string
	Routed   bool
	Days     int
	Chart    chart
	Newest   []inbound.ReportDay // the days, newest first, for the table
	Choices  []int               // the period links
}

// group shows one group's report: joins, leaves and sends per day, the
// leave rate, whether sends are counted, as a table and a bar chart.
func (c *Console) group(w http.ResponseWriter, r *http.Request) {
	account, group := r.PathValue("account"), r.PathValue("group")
	days, ok := parseDays(r)
	if !ok {
		c.fail(w, r, http.StatusBadRequest, "err_days", strconv.Itoa(inbound.MaxDays))
		return
	}
	cfg := c.eng.Config()
	acc, ok := cfg.Account(account)
	if !ok {
		c.fail(w, r, http.StatusNotFound, "err_no_group", "")
		return
	}
	if c.o.Groups == nil {
		c.fail(w, r, http.StatusServiceUnavailable, "err_no_figures", "")
		return
	}
	routed := slices.Contains(routedGroups(cfg)[account], group)
	if !routed {
		// A group no route names is known when figures reached it (its
		// events: replies and welcomes answer groups outside the routes).
		all, err := c.o.Groups.Report(r.Context(), cfg, account, group, inbound.MaxDays)
		if err != nil {
			c.groupError(w, r, err)
			return
		}
		if all.Joins == 0 && all.Leaves == 0 && all.Sends == 0 {
			c.fail(w, r, http.StatusNotFound, "err_no_group", "")
			return
		}
	}
	rep, err := c.o.Groups.Report(r.Context(), cfg, account, group, days)
	if err != nil {
		c.groupError(w, r, err)
		return
	}
	v := groupView{Report: rep, Platform: acc.Platform, Routed: routed, Days: days, Chart: chartOf(rep),
		Choices: []int{7, 30, 90}}
	v.Newest = slices.Clone(rep.Days)
	slices.Reverse(v.Newest)
	c.render(w, r, http.StatusOK, "group", v)
}

func (c *Console) groupError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, groupcast.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, "err_no_group", "")
		return
	}
	c.engineError(w, r, err)
}

// chart is the group page's bar chart, drawn as inline SVG with its
// geometry computed here (the CSP allows no style attribute; the colours
// are the style sheet's classes).
type chart struct {
	Width, Height int
	Base          int // the y of the zero line
	Top           int // the y of the top line
	Left          int // the x where the axes start
	LabelX        int // the right edge of the axis' numbers
	Max           int // the value of the top line
	Bars          []chartBar
	Ticks         []chartTick // date labels under the bars
}

type chartBar struct {
	X, Y, W, H int
	Series     string // join, leave, send: the class c-<series>
	Date       string
	Value      int
}

type chartTick struct {
	X    int
	Text string
}

// Chart geometry, in pixels.
const (
	chartHeight = 160
	chartTop    = 12  // room for the top line's label
	chartBottom = 18  // room for the date labels
	chartLeft   = 28  // room for the axis' numbers
	chartPlotW  = 720 // the bars' width to fill, about
	chartBarMin = 2   // one series' bar, at least
	chartBarMax = 12  // and at most
	chartGap    = 3   // between two days
	chartLabelW = 32  // room for one date label (MM-DD)
)

// chartOf draws joins, leaves and (when counted) sends per day, side by
// side, on one scale.
func chartOf(rep inbound.Report) chart {
	series := 2
	if rep.SendsCounted {
		series = 3
	}
	n := len(rep.Days)
	bw := min(max((chartPlotW/max(n, 1)-chartGap)/series, chartBarMin), chartBarMax)
	slot := series*bw + chartGap
	ch := chart{Width: chartLeft + n*slot + 4, Height: chartHeight, Base: chartHeight - chartBottom, Top: chartTop,
		Left: chartLeft - 2, LabelX: chartLeft - 6}
	for _, d := range rep.Days {
		ch.Max = max(ch.Max, d.Joins, d.Leaves)
		if rep.SendsCounted {
			ch.Max = max(ch.Max, d.Sends)
		}
	}
	scale := ch.Max
	if scale == 0 {
		scale = 1
	}
	plot := ch.Base - chartTop
	every := max(1, (n+9)/10, (chartLabelW+slot-1)/slot) // at most ten date labels, apart
	for i, d := range rep.Days {
		x := chartLeft + i*slot + 1
		vals := []struct {
			v      int
			series string
		}{{d.Joins, "join"}, {d.Leaves, "leave"}, {d.Sends, "send"}}[:series]
		for k, s := range vals {
			if s.v == 0 {
				continue // the table says 0; an empty slot shows it
			}
			h := max(1, s.v*plot/scale) // a figure is never invisible
			ch.Bars = append(ch.Bars, chartBar{X: x + k*bw, Y: ch.Base - h, W: bw, H: h, Series: s.series, Date: d.Date, Value: s.v})
		}
		if i%every == 0 {
			ch.Ticks = append(ch.Ticks, chartTick{X: x, Text: d.Date[5:]})
		}
	}
	return ch
}

// reportView is the announcement report on its page.
type reportView struct {
	tracking.Report
	Err bool // the report could not be read (the page still shows)
}

// reportOf is what GET /v1/messages/{id}/report answers (the engine's
// Report). A store error leaves the rest of the page standing.
func (c *Console) reportOf(r *http.Request, id string) reportView {
	var v reportView
	var err error
	if v.Report, err = c.eng.Report(r.Context(), id); err != nil {
		c.log.Warn("console: report", "id", id, "err", err)
		v.Err = true
	}
	return v
}
