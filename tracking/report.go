package tracking

import (
	"slices"
	"strings"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// Report is the figures of one announcement (GET /v1/messages/{id}/report).
//
// Delivered counts targets (groups) that received the announcement
// (state delivered, or recalled after delivery). Clicks counts the counted
// clicks on its tracked links: people's clicks, each client's repeats on
// the same link within the window taken once, previews, prefetches and
// crawlers left out. ClickRate is Clicks / Delivered (0 with nothing
// delivered): clicks per group reached, not per member (group robots do
// not tell how many members a group has, nor who read it), so it can
// pass 1. Opens are not reported: no group platform tells a robot.
type Report struct {
	ID         string    `json:"id"`
	Title      string    `json:"title,omitempty"`
	Tracked    bool      `json:"tracked"` // the announcement was sent with tracked links
	Delivered  int       `json:"delivered"`
	Clicks     uint64    `json:"clicks"`
	ClickRate  float64   `json:"click_rate"`
	ByTarget   []Target  `json:"by_target"`
	ByVariant  []Figures `json:"by_variant"`
	ByPlatform []Figures `json:"by_platform"`
}

// Target is one target's figures.
type Target struct {
	// Part is the id of the series part (<id>-pN) the row is for, in the
	// report of a series; empty otherwise.
	Part     string          `json:"part,omitempty"`
	Route    string          `json:"route"`
	Platform string          `json:"platform"`
	Account  string          `json:"account"`
	Group    string          `json:"group"`
	Variant  string          `json:"variant,omitempty"`
	State    groupcast.State `json:"state"`
	// Delivered is 1 when the target received the announcement, else 0.
	Delivered int    `json:"delivered"`
	Clicks    uint64 `json:"clicks"`
	// Links are the clicks per original URL (only URLs clicked).
	Links []Link `json:"links"`
}

// Link is the clicks on one original URL.
type Link struct {
	URL    string `json:"url"`
	Clicks uint64 `json:"clicks"`
}

// Figures add the targets up by variant or by platform.
type Figures struct {
	Name      string  `json:"name"`
	Targets   int     `json:"targets"`
	Delivered int     `json:"delivered"`
	Clicks    uint64  `json:"clicks"`
	ClickRate float64 `json:"click_rate"`
}

// BuildReport adds up the clicks (counted clicks by code) of an
// announcement whose targets are in st; links says what each clicked code
// stands for (a code the store no longer knows counts in the total only).
func BuildReport(st groupcast.Status, tracked bool, clicks map[string]uint64, links map[string]store.TrackedLink) Report {
	r := Report{ID: st.ID, Title: st.Title, Tracked: tracked, ByTarget: []Target{}, ByVariant: []Figures{}, ByPlatform: []Figures{}}
	index := map[string]int{} // target key → index in ByTarget
	for _, t := range st.Targets {
		key := groupcast.Destination{Account: t.Account, Group: t.Group}.Key()
		index[key] = len(r.ByTarget)
		tf := Target{Route: t.Route, Platform: t.Platform, Account: t.Account, Group: t.Group, Variant: t.Variant,
			State: t.State, Links: []Link{}}
		if t.State == groupcast.StateDelivered || t.State == groupcast.StateRecalled {
			tf.Delivered = 1
		}
		r.Delivered += tf.Delivered
		r.ByTarget = append(r.ByTarget, tf)
	}
	codes := make([]string, 0, len(clicks))
	for c := range clicks {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, code := range codes {
		n := clicks[code]
		r.Clicks += n
		l, ok := links[code]
		if !ok {
			continue
		}
		i, ok := index[l.Target]
		if !ok {
			continue
		}
		t := &r.ByTarget[i]
		t.Clicks += n
		j := slices.IndexFunc(t.Links, func(x Link) bool { return x.URL == l.URL })
		if j < 0 {
			t.Links = append(t.Links, Link{URL: l.URL})
			j = len(t.Links) - 1
		}
		t.Links[j].Clicks += n
	}
	r.ClickRate = clickRate(r.Clicks, r.Delivered)
	r.ByVariant = group(r.ByTarget, func(t Target) string { return t.Variant })
	r.ByPlatform = group(r.ByTarget, func(t Target) string { return t.Platform })
	return r
}

// SeriesReport adds up the reports of a series' parts (in part order)
// under the series' id and title: a row per part and target (Part names
// the part), delivered and clicks summed over the parts, so click_rate is
// clicks per delivered part per group. The series is tracked when any
// part is.
func SeriesReport(id, title string, parts []Report) Report {
	r := Report{ID: id, Title: title, ByTarget: []Target{}}
	for _, p := range parts {
		r.Tracked = r.Tracked || p.Tracked
		r.Delivered += p.Delivered
		r.Clicks += p.Clicks
		for _, t := range p.ByTarget {
			t.Part = p.ID
			r.ByTarget = append(r.ByTarget, t)
		}
	}
	r.ClickRate = clickRate(r.Clicks, r.Delivered)
	r.ByVariant = group(r.ByTarget, func(t Target) string { return t.Variant })
	r.ByPlatform = group(r.ByTarget, func(t Target) string { return t.Platform })
	return r
}

// group adds targets up by a name, in name order; targets with no name
// (no A/B test) make no row.
func group(ts []Target, name func(Target) string) []Figures {
	by := map[string]*Figures{}
	for _, t := range ts {
		n := name(t)
		if n == "" {
			continue
		}
		f := by[n]
		if f == nil {
			f = &Figures{Name: n}
			by[n] = f
		}
		f.Targets++
		f.Delivered += t.Delivered
		f.Clicks += t.Clicks
	}
	out := make([]Figures, 0, len(by))
	for _, f := range by {
		f.ClickRate = clickRate(f.Clicks, f.Delivered)
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b Figures) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func clickRate(clicks uint64, delivered int) float64 {
	if delivered == 0 {
		return 0
	}
	return float64(clicks) / float64(delivered)
}
