package policy

import (
	"slices"
	"time"

	"github.com/groupcast/groupcast"
)

// GroupState is what the policy remembers of one group, the state port of
// Decide: the store keeps it as one document per group, read before a
// decision and written by one compare-and-set when a send takes its slot,
// so the daily cap stays exact across workers and replicas.
type GroupState struct {
	// Day is the local day (DayKey) that Sent and Holds count.
	Day string `json:"day"`
	// Sent counts the sends on Day that took a daily-cap slot.
	Sent int `json:"sent"`
	// Holds are the announcements holding a slot on Day, so that a retry
	// does not take a second one and a final failure gives it back.
	Holds []string `json:"holds,omitempty"`
	// First is the group's first delivery (its stage, when not configured).
	First time.Time `json:"first,omitzero"`
	// Recent are the deliveries within the mix window, for the content mix.
	Recent []Delivery `json:"recent,omitempty"`
}

// Fill copies the state into a decision's input for in.Now.
func (p *Policy) Fill(in *Input, g GroupState) {
	if g.Day == p.DayKey(in.Now) {
		in.SentToday = g.Sent
	}
	in.FirstDelivery = g.First
	in.Recent = g.Recent
}

// Holding reports whether announcement id holds a slot of the group's day.
func (g GroupState) Holding(id, day string) bool {
	return g.Day == day && slices.Contains(g.Holds, id)
}

// Take records a send of announcement id (category c) at now: one slot of
// the day, the first delivery, and the mix history pruned to the window.
// It answers false, changing nothing, when the slot would pass limit
// (limit <= 0: no limit).
func (p *Policy) Take(g *GroupState, id string, c groupcast.Category, now time.Time, limit int64) bool {
	day := p.DayKey(now)
	if g.Day != day {
		g.Day, g.Sent, g.Holds = day, 0, nil
	}
	if slices.Contains(g.Holds, id) {
		return true
	}
	if limit > 0 && int64(g.Sent)+1 > limit {
		return false
	}
	g.Sent++
	g.Holds = append(g.Holds, id)
	if g.First.IsZero() {
		g.First = now
	}
	keep := g.Recent[:0]
	for _, d := range g.Recent {
		if now.Sub(d.At) < p.mixWindow {
			keep = append(keep, d)
		}
	}
	g.Recent = append(keep, Delivery{At: now, Category: c})
	return true
}

// GiveBack returns the slot announcement id took on day (its send failed
// for good), and takes its delivery out of the mix history.
func (p *Policy) GiveBack(g *GroupState, id, day string, c groupcast.Category) bool {
	if g.Day != day {
		return false
	}
	i := slices.Index(g.Holds, id)
	if i < 0 {
		return false
	}
	g.Holds = slices.Delete(g.Holds, i, i+1)
	g.Sent = max(g.Sent-1, 0)
	for j := len(g.Recent) - 1; j >= 0; j-- {
		if g.Recent[j].Category == c {
			g.Recent = slices.Delete(g.Recent, j, j+1)
			break
		}
	}
	return true
}
