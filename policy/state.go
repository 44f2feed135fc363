package policy

import (
	"slices"
	"time"

	"github.com/groupcast/groupcast"
)

// GroupState is what the policy remembers of one group, the state port of
// Decide: the store keeps it as one document per group, read before a
// decision and written by one compare-and-set when a send takes its slot,
// so the daily cap stays exact across workers and replicas. It stays
// small whatever the traffic: a count for the day, one time, and the
// recent deliveries only when the policy has a mix (at most MaxRecent).
type GroupState struct {
	// Day is the local day (DayKey) that Sent counts.
	Day string `json:"day"`
	// Sent counts the sends on Day that took a daily-cap slot.
	Sent int `json:"sent"`
	// First is the group's first delivery (its stage, when not configured).
	First time.Time `json:"first,omitzero"`
	// Recent are the deliveries within the mix window, newest last, for
	// the content mix (kept only when the policy has one).
	Recent []Delivery `json:"recent,omitempty"`
	// History are the earlier days' Sent, oldest first, at most MaxHistory
	// (the per-group report's sends per day).
	History []DaySent `json:"history,omitempty"`
	// AutoCap is the cap daily_cap.auto set for AutoDay and the days after
	// (0: not lowered); the inbound hub writes it once a day.
	AutoCap int    `json:"auto_cap,omitempty"`
	AutoDay string `json:"auto_day,omitempty"`
}

// DaySent is one local day's count of sends to a group under a policy.
type DaySent struct {
	Day  string `json:"day"`
	Sent int    `json:"sent"`
}

// MaxHistory bounds GroupState.History: the report shows at most 90 days.
const MaxHistory = 90

// SentOn is the sends counted on day (a DayKey), from Sent or History.
func (g GroupState) SentOn(day string) int {
	if g.Day == day {
		return g.Sent
	}
	for _, h := range g.History {
		if h.Day == day {
			return h.Sent
		}
	}
	return 0
}

// MaxRecent bounds GroupState.Recent: a mix is judged on at most this many
// of the latest deliveries within its window (a week at the 12-a-day
// ceiling past which members leave is 84).
const MaxRecent = 256

// Fill copies the state into a decision's input for in.Now.
func (p *Policy) Fill(in *Input, g GroupState) {
	if g.Day == p.DayKey(in.Now) {
		in.SentToday = g.Sent
	}
	in.FirstDelivery = g.First
	in.Recent = g.Recent
	if p.auto && g.AutoDay != "" && g.AutoDay <= p.DayKey(in.Now) {
		in.AutoCap = g.AutoCap
	}
}

// HasMix reports whether the policy limits the content mix (and so needs
// the recent deliveries).
func (p *Policy) HasMix() bool { return p.mixPromo > 0 || p.mixInter > 0 }

// Take records a send of category c at now: one slot of the day, the
// first delivery, and (with a mix) the history pruned to the window. It
// answers false, changing nothing, when the slot would pass limit
// (limit <= 0: no limit).
func (p *Policy) Take(g *GroupState, c groupcast.Category, now time.Time, limit int64) bool {
	day := p.DayKey(now)
	if limit > 0 && g.Day == day && int64(g.Sent)+1 > limit {
		return false
	}
	if g.Day != day {
		if g.Day != "" && g.Sent > 0 {
			g.History = append(g.History, DaySent{Day: g.Day, Sent: g.Sent})
			if n := len(g.History); n > MaxHistory {
				g.History = slices.Delete(g.History, 0, n-MaxHistory)
			}
		}
		g.Day, g.Sent = day, 0
	}
	g.Sent++
	if g.First.IsZero() {
		g.First = now
	}
	if !p.HasMix() {
		g.Recent = nil
		return true
	}
	keep := g.Recent[:0]
	for _, d := range g.Recent {
		if now.Sub(d.At) < p.mixWindow {
			keep = append(keep, d)
		}
	}
	g.Recent = append(keep, Delivery{At: now, Category: c})
	if n := len(g.Recent); n > MaxRecent {
		g.Recent = slices.Delete(g.Recent, 0, n-MaxRecent)
	}
	return true
}

// GiveBack returns a slot taken on day by a send of category c that then
// failed for good, and takes its delivery out of the mix history.
func (p *Policy) GiveBack(g *GroupState, c groupcast.Category, day string) bool {
	if g.Day != day || g.Sent == 0 {
		return false
	}
	g.Sent--
	for j := len(g.Recent) - 1; j >= 0; j-- {
		if g.Recent[j].Category == c {
			g.Recent = slices.Delete(g.Recent, j, j+1)
			break
		}
	}
	return true
}
