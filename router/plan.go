package router

import (
	"slices"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
)

// Plan matches an announcement against the routes and expands every
// matching route's targets into destinations, account × group. A group that
// two routes both name for the same account is planned once (the first
// route wins), so nobody gets the same announcement twice.
func Plan(cfg *configs.Config, a *groupcast.Announcement) []groupcast.Destination {
	n := 0
	for _, r := range cfg.Routes {
		if matches(r.Match, a) {
			for _, t := range r.Targets {
				n += len(t.Groups)
			}
		}
	}
	out := make([]groupcast.Destination, 0, n)
	seen := make(map[string]bool, n)
	for _, r := range cfg.Routes {
		if !matches(r.Match, a) {
			continue
		}
		for _, t := range r.Targets {
			acc, ok := cfg.Account(t.Account)
			if !ok {
				continue // validation refuses this; a hot reload cannot install it
			}
			for _, g := range t.Groups {
				d := groupcast.Destination{
					Route:    r.Name,
					Platform: acc.Platform,
					Account:  acc.Name,
					Group:    g.ID,
					Style:    t.Style,
					Policy:   r.Policy,
					Stage:    groupcast.Stage(g.Stage),
					Options: groupcast.StyleOptions{
						MaxChars:   t.MaxChars,
						Template:   t.Template,
						Salutation: t.Salutation,
						Closing:    t.Closing,
						Signature:  t.Signature,
						Org:        cfg.Org,
						Timezone:   cfg.Timezone,
					},
				}
				if k := d.Key(); !seen[k] {
					seen[k] = true
					out = append(out, d)
				}
			}
		}
	}
	return out
}

func matches(m configs.Match, a *groupcast.Announcement) bool {
	if len(m.Categories) > 0 && !slices.Contains(m.Categories, string(a.Category)) {
		return false
	}
	if len(m.Priorities) > 0 && !slices.Contains(m.Priorities, string(a.Priority)) {
		return false
	}
	if len(m.Tags) > 0 && !slices.ContainsFunc(m.Tags, func(t string) bool { return slices.Contains(a.Tags, t) }) {
		return false
	}
	return true
}
