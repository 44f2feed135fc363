package router

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/transform"
)

// AssignVariants gives each planned destination of an A/B test its
// variant, in place, once at acceptance (the plan is stored, so a restart
// or a reload never moves a group to another variant).
//
// By group, each route's destinations are ordered by a hash of the
// announcement id and the destination, and dealt the variants in turn:
// within a route the counts differ by at most one, the same group of the
// same announcement always gets the same variant, and which groups get A
// changes from one announcement to the next. By slot, each group still
// gets one variant, dealt exactly as by group, and is sent it at that
// variant's slot: a group dealt variant i goes at ab.slots[i], the next
// time the clock in loc reads it, at or after the announcement's send_at
// (or now). No group receives more than one variant.
func AssignVariants(a *groupcast.Announcement, dests []groupcast.Destination, now time.Time, loc *time.Location) {
	if len(a.Variants) < 2 || len(dests) == 0 {
		return
	}
	if loc == nil {
		loc = time.UTC
	}
	by := groupcast.ABByGroup
	if a.AB != nil && a.AB.By != "" {
		by = a.AB.By
	}
	n := len(a.Variants)
	if by == groupcast.ABBySlot && a.AB != nil && len(a.AB.Slots) == n {
		// The groups are dealt the variants as by group, and each
		// variant's groups go at its slot.
		assignByHash(a.ID, dests, n, func(d *groupcast.Destination, i int) {
			at := slotTime(a, i, now, loc)
			d.Variant, d.SendAt = a.Variants[i].Name, &at
		})
		return
	}
	assignByHash(a.ID, dests, n, func(d *groupcast.Destination, i int) { d.Variant = a.Variants[i].Name })
}

// slotTime is when variant i of an A/B test by slot goes: the next time
// the clock in loc reads ab.slots[i], at or after the announcement's
// send_at (or now).
func slotTime(a *groupcast.Announcement, i int, now time.Time, loc *time.Location) time.Time {
	from := now
	if a.SendAt != nil && a.SendAt.After(from) {
		from = *a.SendAt
	}
	h, m, _ := groupcast.ParseClock(a.AB.Slots[i])
	return groupcast.NextClock(from, h, m, loc)
}

// assignByHash deals n variants round-robin to each route's destinations
// in the order of their hashes.
func assignByHash(id string, dests []groupcast.Destination, n int, set func(*groupcast.Destination, int)) {
	type ranked struct {
		i    int
		hash [sha256.Size]byte
	}
	byRoute := map[string][]ranked{}
	var routes []string
	for i, d := range dests {
		if _, ok := byRoute[d.Route]; !ok {
			routes = append(routes, d.Route)
		}
		byRoute[d.Route] = append(byRoute[d.Route], ranked{i: i, hash: sha256.Sum256([]byte(id + "\x00" + d.Key()))})
	}
	for _, r := range routes {
		list := byRoute[r]
		slices.SortFunc(list, func(x, y ranked) int { return bytes.Compare(x.hash[:], y.hash[:]) })
		for k, e := range list {
			set(&dests[e.i], k%n)
		}
	}
}

// variantDocs parses each variant of an A/B announcement once (nil when
// it has none).
func variantDocs(a *groupcast.Announcement) map[string]*transform.Doc {
	if len(a.Variants) == 0 {
		return nil
	}
	out := make(map[string]*transform.Doc, len(a.Variants))
	for _, v := range a.Variants {
		out[v.Name] = transform.Parse(a.Variant(v.Name))
	}
	return out
}

// docFor is the parsed body a destination is rendered from, and its
// variant as an announcement (nil without an A/B test).
func (c cached) docFor(d groupcast.Destination) (*transform.Doc, *groupcast.Announcement) {
	if d.Variant == "" {
		return c.doc, nil
	}
	if doc, ok := c.variants[d.Variant]; ok {
		return doc, c.rec.Announcement.Variant(d.Variant)
	}
	return c.doc, nil
}
