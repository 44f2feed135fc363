package inbound

import (
	"context"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/store"
)

// AutoWindow is how many full local days before today daily_cap.auto
// reads: the last 7.
const AutoWindow = 7

// autoCaps reviews, once per local day and group, the cap of every group
// a route sends to under a policy with daily_cap.auto (docs/two-way.md):
//
//	rate = leaves ÷ (joins + leaves) over the 7 days before today
//	rate > auto_threshold and leaves ≥ 3 → cap − auto_step (not under auto_min)
//	otherwise, a lowered cap                → cap + auto_step (back to the configured cap)
//
// The new cap holds from today (GroupState.AutoCap and AutoDay, written
// in the same compare-and-set document the sender reads its cap from), so
// it is done once a day on any number of replicas; only the replica that
// owns the account does it, so that its sender sees the write at once.
// Every change is logged.
func (h *Hub) autoCaps(ctx context.Context) {
	eng := h.engine()
	if eng == nil {
		return
	}
	cfg := eng.Config()
	now := h.clock.Now()
	today := dayKey(now, cfg.Location)
	for _, t := range policiesOf(cfg, "", "") {
		if !t.policy.DailyCap.Auto || !eng.Owns(t.account) {
			continue
		}
		k := groupKey(t.account, t.group)
		h.mu.Lock()
		done := h.autoDay[k] == today
		h.mu.Unlock()
		if done {
			continue
		}
		if err := h.autoCap(ctx, cfg, t, now, today); err != nil {
			h.log.Error("daily_cap.auto: not reviewed; trying again", "account", t.account, "group", t.group, "err", err)
			continue
		}
		h.mu.Lock()
		h.autoDay[k] = today
		h.mu.Unlock()
	}
}

func (h *Hub) autoCap(ctx context.Context, cfg *configs.Config, t target, now time.Time, today string) error {
	pol, err := policy.Compile(t.policy, cfg.Location)
	if err != nil {
		return err
	}
	dc := t.policy.DailyCap
	threshold, step, floor := dc.AutoThreshold, dc.AutoStep, dc.AutoMin
	if threshold == 0 {
		threshold = configs.DefaultAutoThreshold
	}
	if step <= 0 {
		step = configs.DefaultAutoStep
	}
	if floor <= 0 {
		floor = configs.DefaultAutoMin
	}
	var doc memberDoc
	if _, err := h.st.GetJSON(ctx, membersKey(t.account, t.group), &doc); err != nil {
		return err
	}
	joins, leaves := 0, 0
	for i := 1; i <= AutoWindow; i++ {
		d := doc.on(dayKey(daysBack(now, cfg.Location, i), cfg.Location))
		joins += d.Joins
		leaves += d.Leaves
	}
	rate := LeaveRate(joins, leaves)
	dest := groupcast.Destination{Account: t.account, Group: t.group, Stage: t.stage}
	var g policy.GroupState
	var from, to, base int
	err = h.st.ModifyJSON(ctx, store.GroupStateKey(dest.Key()), &g, func() { g = policy.GroupState{}; from, to = 0, 0 }, func() (bool, error) {
		if g.AutoDay == today {
			return false, nil // done today (by another replica, or before a restart)
		}
		base = pol.Cap(pol.Stage(policy.Input{Destination: dest, FirstDelivery: g.First, Now: now}))
		from = g.AutoCap
		if base <= 0 {
			g.AutoCap, g.AutoDay, to = 0, today, 0 // this stage has no cap to lower
			return true, nil
		}
		cur := g.AutoCap
		if cur <= 0 || cur > base {
			cur = base
		}
		next := cur
		switch {
		case rate > threshold && leaves >= configs.AutoMinLeaves:
			next = max(min(floor, base), cur-step)
		case g.AutoCap > 0:
			next = cur + step
		}
		to = next
		if next >= base {
			to = 0 // the configured cap again
		}
		g.AutoCap, g.AutoDay = to, today
		return true, nil
	})
	if err != nil || to == from {
		return err
	}
	dir := "lowered"
	if to == 0 || (to > from && from != 0) {
		dir = "raised"
	}
	h.m.caps.WithLabelValues(t.account, t.group, dir).Inc()
	h.log.Info("daily_cap.auto: group cap "+dir, "account", t.account, "group", t.group, "policy", t.policy.Name,
		"from", capText(from, base), "to", capText(to, base), "leave_rate", rate, "joins_7d", joins, "leaves_7d", leaves,
		"threshold", threshold, "day", today)
	return nil
}

// capText shows an automatic cap: the number, or the configured one.
func capText(auto, base int) any {
	if auto <= 0 {
		return base
	}
	return auto
}
