package inbound

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/store"
)

// memberDay is one local day's joins and leaves of a group.
type memberDay struct {
	Day    string `json:"day"` // 20061231, in the config's timezone (policy.DayKey)
	Joins  int    `json:"joins"`
	Leaves int    `json:"leaves"`
}

// memberDoc is a group's member figures: one store document per group,
// changed by compare-and-set, the last MaxDays days.
type memberDoc struct {
	Days []memberDay `json:"days"`
}

// MaxDays is how many days of member figures a group keeps, and the most
// a report shows.
const MaxDays = 90

func (d *memberDoc) on(day string) memberDay {
	for _, x := range d.Days {
		if x.Day == day {
			return x
		}
	}
	return memberDay{Day: day}
}

func membersKey(account, group string) string { return "members." + groupKey(account, group) }

// dayKey is t's local day as policy.DayKey writes it.
func dayKey(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("20060102")
}

// daysBack is the local day n days before t's.
func daysBack(t time.Time, loc *time.Location, n int) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	y, m, d := t.Date()
	return time.Date(y, m, d-n, 12, 0, 0, 0, loc)
}

// eventDay is the day an event counts on.
func (h *Hub) eventDay(ev groupcast.InboundEvent, loc *time.Location) string {
	return dayKey(h.eventTime(ev), loc)
}

// eventTime is when an event happened: the platform's time when it is
// plausible (not ahead of the clock, not older than MaxDays), else now.
func (h *Hub) eventTime(ev groupcast.InboundEvent) time.Time {
	now := h.clock.Now()
	at := ev.At
	if at.IsZero() || at.After(now) || at.Before(now.AddDate(0, 0, -MaxDays)) {
		return now
	}
	return at
}

// countMember adds a join or a leave to the group's figures.
func (h *Hub) countMember(ctx context.Context, cfg *configs.Config, ev groupcast.InboundEvent) {
	join := ev.Kind == groupcast.EventMemberJoined
	label := "leave"
	if join {
		label = "join"
	}
	h.m.members.WithLabelValues(ev.Account, ev.Group, label).Inc()
	day := h.eventDay(ev, cfg.Location)
	var doc memberDoc
	err := h.st.ModifyJSON(ctx, membersKey(ev.Account, ev.Group), &doc, func() { doc = memberDoc{} }, func() (bool, error) {
		i := slices.IndexFunc(doc.Days, func(d memberDay) bool { return d.Day == day })
		if i < 0 {
			doc.Days = append(doc.Days, memberDay{Day: day})
			slices.SortFunc(doc.Days, func(a, b memberDay) int { return strings.Compare(a.Day, b.Day) })
			i = slices.IndexFunc(doc.Days, func(d memberDay) bool { return d.Day == day })
		}
		if join {
			doc.Days[i].Joins++
		} else {
			doc.Days[i].Leaves++
		}
		if n := len(doc.Days); n > MaxDays {
			doc.Days = slices.Delete(doc.Days, 0, n-MaxDays)
		}
		return true, nil
	})
	if err != nil {
		h.log.Error("member figure not counted", "account", ev.Account, "group", ev.Group, "event", ev.ID, "kind", ev.Kind, "err", err)
		return
	}
	h.log.Info("member "+label, "account", ev.Account, "group", ev.Group, "member", ev.Sender, "event", ev.ID)
}

// LeaveRate is leaves ÷ (joins + leaves), 0 when nobody moved: the share
// of the membership changes that were departures. groupcast does not know
// a group's size, so it is not leaves per member; above 0.5 the group
// shrinks.
func LeaveRate(joins, leaves int) float64 {
	if joins+leaves == 0 {
		return 0
	}
	return float64(leaves) / float64(joins+leaves)
}

// Report is a group's figures per local day (GET /v1/groups/{account}/{group}/report).
type Report struct {
	Account  string `json:"account"`
	Group    string `json:"group"`
	From     string `json:"from"` // first day, 2006-01-02
	To       string `json:"to"`   // last day (today)
	Timezone string `json:"timezone"`
	Joins    int    `json:"joins"`
	Leaves   int    `json:"leaves"`
	Sends    int    `json:"sends"`
	// LeaveRate is leaves ÷ (joins + leaves) over the period (LeaveRate).
	LeaveRate float64 `json:"leave_rate"`
	// SendsCounted: a route with a policy targets this group, so its sends
	// are counted (under a policy only; replies and welcomes never count).
	SendsCounted bool `json:"sends_counted"`
	// AutoCap is the group's cap as daily_cap.auto set it (0: not lowered).
	AutoCap int         `json:"auto_cap,omitempty"`
	Days    []ReportDay `json:"days"`
}

// ReportDay is one local day of a Report.
type ReportDay struct {
	Date      string  `json:"date"` // 2006-01-02
	Joins     int     `json:"joins"`
	Leaves    int     `json:"leaves"`
	Sends     int     `json:"sends"`
	LeaveRate float64 `json:"leave_rate"`
}

// ErrUnknownAccount: the report's account is not configured.
var ErrUnknownAccount = fmt.Errorf("%w: no such account", groupcast.ErrNotFound)

// Report reads a group's figures for the last days local days, today
// included (1 to MaxDays).
func (h *Hub) Report(ctx context.Context, cfg *configs.Config, account, group string, days int) (Report, error) {
	if _, ok := cfg.Account(account); !ok {
		return Report{}, ErrUnknownAccount
	}
	days = min(max(days, 1), MaxDays)
	var doc memberDoc
	if _, err := h.st.GetJSON(ctx, membersKey(account, group), &doc); err != nil {
		return Report{}, err
	}
	var g policy.GroupState
	dest := groupcast.Destination{Account: account, Group: group}
	if _, err := h.st.GetJSON(ctx, store.GroupStateKey(dest.Key()), &g); err != nil {
		return Report{}, err
	}
	loc := cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	now := h.clock.Now()
	rep := Report{Account: account, Group: group, Timezone: loc.String(), Days: make([]ReportDay, 0, days),
		SendsCounted: len(policiesOf(cfg, account, group)) > 0}
	today := dayKey(now, loc)
	if g.AutoDay != "" && g.AutoDay <= today {
		rep.AutoCap = g.AutoCap
	}
	for i := days - 1; i >= 0; i-- {
		t := daysBack(now, loc, i)
		key := dayKey(t, loc)
		m := doc.on(key)
		d := ReportDay{Date: t.Format("2006-01-02"), Joins: m.Joins, Leaves: m.Leaves, Sends: g.SentOn(key),
			LeaveRate: LeaveRate(m.Joins, m.Leaves)}
		rep.Joins += d.Joins
		rep.Leaves += d.Leaves
		rep.Sends += d.Sends
		rep.Days = append(rep.Days, d)
	}
	rep.From, rep.To = rep.Days[0].Date, rep.Days[len(rep.Days)-1].Date
	rep.LeaveRate = LeaveRate(rep.Joins, rep.Leaves)
	return rep, nil
}

// target is one group a route with a policy sends to.
type target struct {
	account, group string
	stage          groupcast.Stage
	policy         configs.Policy
}

// policiesOf lists the policed targets of (account, group), or of every
// group when group is "".
func policiesOf(cfg *configs.Config, account, group string) []target {
	var out []target
	seen := map[string]bool{}
	for _, r := range cfg.Routes {
		if r.Policy == "" {
			continue
		}
		p, ok := cfg.PolicyByName(r.Policy)
		if !ok {
			continue
		}
		for _, t := range r.Targets {
			if account != "" && t.Account != account {
				continue
			}
			for _, g := range t.Groups {
				if group != "" && g.ID != group {
					continue
				}
				k := t.Account + "\x00" + g.ID
				if seen[k] {
					continue // the first route wins, as in the plan
				}
				seen[k] = true
				out = append(out, target{account: t.Account, group: g.ID, stage: groupcast.Stage(g.Stage), policy: *p})
			}
		}
	}
	return out
}
