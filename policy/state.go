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
	// Sent counts the daily-cap slots taken on Day: the sends, plus the
	// slots the group's sender reserved ahead and has not used yet
	// (Ahead). It never passes the cap, so a sender that stops without
	// giving its reservation back (a crash) only leaves slots unused.
	Sent int `json:"sent"`
	// Ahead is how many of Sent the sender had reserved ahead and not
	// used when it last wrote (see Reserve). A sender that reads the state
	// fresh counts them as used: it cannot know.
	Ahead int `json:"ahead,omitempty"`
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

// SentOn is the sends counted on day (a DayKey), from Sent (less what
// was reserved ahead and not used) or History.
func (g GroupState) SentOn(day string) int {
	if g.Day == day {
		return g.Sent - g.Ahead
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
		in.SentToday = g.Sent - g.Ahead
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
// (limit <= 0: no limit). A slot reserved ahead (Reserve) is used first.
func (p *Policy) Take(g *GroupState, c groupcast.Category, now time.Time, limit int64) bool {
	ok, _ := p.take(g, c, now, limit, false)
	return ok
}

// MaxAhead bounds the slots Reserve takes beyond the one it was asked for.
const MaxAhead = 15

// Reserve is Take for a group's single sender that keeps g between sends:
// when the cap leaves room for many more sends today, it takes up to
// MaxAhead more slots than the one asked for in the same write (Ahead),
// and the next sends use them without writing at all. write says whether
// g must be stored (compare-and-set) before the send: false when the slot
// came from the reservation.
//
// The reservation never lets the cap pass (Sent never goes above it), and
// it keeps to at most a sixteenth of what the cap leaves, so a cap below
// 17 is always taken one slot at a time, and a sender that dies with
// slots reserved loses at most that share of the day. Urgent sends (no
// limit), and policies with a content mix (whose history must be stored
// with each send), reserve nothing ahead.
func (p *Policy) Reserve(g *GroupState, c groupcast.Category, now time.Time, limit int64) (ok, write bool) {
	return p.take(g, c, now, limit, true)
}

func (p *Policy) take(g *GroupState, c groupcast.Category, now time.Time, limit int64, ahead bool) (ok, write bool) {
	day := p.DayKey(now)
	if g.Day == day && limit > 0 && int64(g.Sent-g.Ahead)+1 > limit {
		return false, false
	}
	if g.Day != day {
		if used := g.Sent - g.Ahead; g.Day != "" && used > 0 {
			g.History = append(g.History, DaySent{Day: g.Day, Sent: used})
			if n := len(g.History); n > MaxHistory {
				g.History = slices.Delete(g.History, 0, n-MaxHistory)
			}
		}
		g.Day, g.Sent, g.Ahead = day, 0, 0
	}
	if g.Ahead > 0 {
		g.Ahead-- // a slot reserved earlier today
		if !p.HasMix() {
			return true, false
		}
	} else {
		extra := 0
		if ahead && limit > 0 && !p.HasMix() {
			extra = min(MaxAhead, int(limit-int64(g.Sent)-1)/16)
		}
		g.Sent += 1 + extra
		g.Ahead = extra
	}
	if g.First.IsZero() {
		g.First = now
	}
	if !p.HasMix() {
		g.Recent = nil
		return true, true
	}
	keep := make([]Delivery, 0, len(g.Recent)+1) // a new slice: g may share its history with a copy
	for _, d := range g.Recent {
		if now.Sub(d.At) < p.mixWindow {
			keep = append(keep, d)
		}
	}
	g.Recent = append(keep, Delivery{At: now, Category: c})
	if n := len(g.Recent); n > MaxRecent {
		g.Recent = slices.Delete(g.Recent, 0, n-MaxRecent)
	}
	return true, true
}

// Release gives back the slots reserved ahead and not used (a sender that
// stops, or hands the group to another). It answers whether g changed.
func (g *GroupState) Release() bool {
	if g.Ahead == 0 {
		return false
	}
	g.Sent -= g.Ahead
	g.Ahead = 0
	return true
}

// GiveBack returns a slot taken on day by a send of category c that then
// failed for good, and takes its delivery out of the mix history.
func (p *Policy) GiveBack(g *GroupState, c groupcast.Category, day string) bool {
	if g.Day != day || g.Sent-g.Ahead == 0 {
		return false
	}
	g.Sent--
	for j := len(g.Recent) - 1; j >= 0; j-- {
		if g.Recent[j].Category == c {
			g.Recent = slices.Delete(slices.Clone(g.Recent), j, j+1)
			break
		}
	}
	return true
}
