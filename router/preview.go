package router

import (
	"fmt"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/tracking"
	"github.com/groupcast/groupcast/transform"
)

// PreviewPart is one request a driver would make.
type PreviewPart struct {
	Text  string `json:"text"`
	Bytes int    `json:"bytes"`
	Chars int    `json:"chars"`
}

// PreviewTarget is what one target would receive (POST /v1/preview).
type PreviewTarget struct {
	Route    string `json:"route"`
	Platform string `json:"platform"`
	Account  string `json:"account"`
	Group    string `json:"group"`
	Style    string `json:"style"`
	// Variant is the A/B variant shown; Assigned says whether it is the
	// one this group would get (an A/B test shows every variant for every
	// target, the assigned one first).
	Variant   string        `json:"variant,omitempty"`
	Assigned  bool          `json:"assigned,omitempty"`
	State     string        `json:"state"`
	Reason    string        `json:"reason,omitempty"`
	Format    string        `json:"format"`
	Parts     []PreviewPart `json:"parts"`
	Rules     []string      `json:"rules"`
	NotBefore *time.Time    `json:"not_before,omitempty"`
}

// Preview runs the delivery steps for every target an announcement would
// reach, with no store, no side effects and no network, as if it were
// accepted now: the parts each driver would post, the rules that fire and
// the earliest send time. A group's history is taken as empty.
func Preview(cfg *configs.Config, drivers Drivers, a *groupcast.Announcement, now time.Time) ([]PreviewTarget, error) {
	dests := Plan(cfg, a)
	if len(dests) == 0 {
		return nil, &groupcast.InputError{Code: "no_route", Fields: []*groupcast.FieldError{{
			Field: "tags", Message: "no route matches this announcement"}}}
	}
	AssignVariants(a, dests, now, cfg.Location)
	rec := newRecord(cfg, a, dests, now)
	c := cached{rec: rec, doc: transform.Parse(&rec.Announcement), variants: variantDocs(&rec.Announcement)}
	var pols policyCache
	out := make([]PreviewTarget, 0, len(dests))
	for _, d := range previewDests(a, dests, now, cfg.Location) {
		pt := PreviewTarget{Route: d.Route, Platform: d.Platform, Account: d.Account, Group: d.Group,
			Style: d.Style, Variant: d.Variant, Rules: []string{}}
		for _, p := range dests {
			if p.Key() == d.Key() && p.Variant == d.Variant {
				pt.Assigned = d.Variant != ""
			}
		}
		pol, err := pols.of(rec, d)
		if err != nil {
			return nil, fmt.Errorf("policies %s: %w", d.Policy, err)
		}
		doc, variant := c.docFor(d)
		in := stepInput{rec: rec, doc: doc, variant: variant, dest: d, target: implied(rec, d), now: now, pol: pol}
		if rec.Tracking != "" {
			// Tracked links as they would look, with placeholder codes of
			// the real length (made without the store's secret: they
			// answer 404). evaluate sets which URLs the policy keeps
			// untracked before anything is rendered.
			in.track = tracking.NewRewriter(rec.Tracking, nil, a.ID, d)
			doc = doc.WithLinks(in.track.URL)
		}
		o := evaluate(in)
		pt.State, pt.Reason, pt.NotBefore = string(groupcast.StateQueued), o.reason, o.notBefore
		if o.step != stepSend {
			pt.State = string(o.state)
		}
		for _, h := range o.decision.Hits {
			pt.Rules = append(pt.Rules, fmt.Sprintf("%s: %s %q", h.Rule, h.Action, h.Term))
		}
		if o.state == groupcast.StateFailed {
			out = append(out, pt)
			continue
		}
		r := o.rendered
		if o.step != stepSend {
			r, _ = doc.Render(d, now) // show what would be sent once it may
		}
		if pol != nil {
			in := policy.Input{Announcement: a.Variant(d.Variant), Destination: d, Rendered: r, Now: now}
			if at, ok := pol.Earliest(in); ok && at.After(now) && pt.NotBefore == nil {
				pt.NotBefore = &at
			}
		}
		pt.Format = string(r.Format)
		texts := []string{r.Text}
		if acc, ok := cfg.Account(d.Account); ok {
			if drv, ok := drivers(acc.Platform, acc.Driver); ok {
				if snd, err := drv.New(*acc, adapters.Env{}.WithDefaults()); err == nil {
					if p, ok := snd.(groupcast.Parter); ok {
						texts, err = p.Parts(r)
						if err != nil {
							pt.State, pt.Reason = string(groupcast.StateFailed), err.Error()
						}
					}
				}
			}
		}
		for _, t := range texts {
			pt.Parts = append(pt.Parts, PreviewPart{Text: t, Bytes: len(t), Chars: len([]rune(t))})
		}
		out = append(out, pt)
	}
	return out, nil
}

// previewDests are the destinations a preview shows: each planned one,
// and for an A/B test each of them once per variant (the assigned variant
// first), so every wording is seen for every target.
func previewDests(a *groupcast.Announcement, dests []groupcast.Destination, now time.Time, loc *time.Location) []groupcast.Destination {
	if len(a.Variants) < 2 {
		return dests
	}
	if loc == nil {
		loc = time.UTC
	}
	out := make([]groupcast.Destination, 0, len(dests)*len(a.Variants))
	for _, d := range dests {
		out = append(out, d)
		for i, v := range a.Variants {
			if v.Name == d.Variant {
				continue
			}
			o := d
			o.Variant = v.Name
			if d.SendAt != nil && a.AB != nil && i < len(a.AB.Slots) {
				at := slotTime(a, i, now, loc)
				o.SendAt = &at
			}
			out = append(out, o)
		}
	}
	return out
}
