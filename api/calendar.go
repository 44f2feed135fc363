package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/router"
)

// Calendar is the answer of GET /v1/calendar.
type Calendar struct {
	// Timezone is the configured zone; every time is in it.
	Timezone string                   `json:"timezone"`
	Items    []groupcast.CalendarItem `json:"items"`
	// Windows are the send windows of each policy that has some, and the
	// routes under it.
	Windows []PolicyWindows `json:"windows"`
}

// PolicyWindows are one policy's send windows.
type PolicyWindows struct {
	Policy  string   `json:"policy"`
	Windows []string `json:"windows"`
	Routes  []string `json:"routes"`
}

// calendar answers GET /v1/calendar?from=RFC3339&to=RFC3339.
func (s *Server) calendar(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var bounds [2]time.Time
	for i, name := range []string{"from", "to"} {
		v := q.Get(name)
		if v == "" {
			writeError(w, http.StatusBadRequest, "invalid", name, name+" is required: an RFC 3339 time such as 2027-01-04T00:00:00+08:00")
			return
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid", name, name+" "+strconv.Quote(v)+" is not an RFC 3339 time such as 2027-01-04T00:00:00+08:00")
			return
		}
		bounds[i] = t
	}
	from, to := bounds[0], bounds[1]
	switch {
	case !to.After(from):
		writeError(w, http.StatusBadRequest, "invalid", "to", "to must be after from")
		return
	case to.Sub(from) > router.MaxCalendarRange:
		writeError(w, http.StatusBadRequest, "invalid", "to", "the range is at most 62 days")
		return
	}
	items, err := s.svc.Calendar(r.Context(), from, to)
	if err != nil {
		writeErr(w, err)
		return
	}
	loc := s.location()
	if items == nil {
		items = []groupcast.CalendarItem{}
	}
	for i := range items {
		items[i].At = items[i].At.In(loc)
		if items[i].Targets == nil {
			items[i].Targets = []string{}
		}
	}
	cfg := s.svc.Config()
	out := Calendar{Timezone: loc.String(), Items: items, Windows: []PolicyWindows{}}
	for _, p := range cfg.Policies {
		if len(p.Windows) == 0 {
			continue
		}
		pw := PolicyWindows{Policy: p.Name, Windows: slices.Clone(p.Windows), Routes: []string{}}
		for _, rt := range cfg.Routes {
			if rt.Policy == p.Name {
				pw.Routes = append(pw.Routes, rt.Name)
			}
		}
		out.Windows = append(out.Windows, pw)
	}
	writeJSON(w, http.StatusOK, out)
}

// Calendar reads GET /v1/calendar for [from, to).
func (c *Client) Calendar(ctx context.Context, from, to time.Time) (Calendar, error) {
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	var out Calendar
	_, err := c.do(ctx, http.MethodGet, "/v1/calendar?"+q.Encode(), "", nil, &out)
	return out, err
}
