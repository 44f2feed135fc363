package router

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/store"
)

// ledgerSkips bounds the scans of the whole ledger (Reviews, the review
// notifier every 15 s, the calendar on every page view) by remembering, in
// this process, facts about an announcement that never change once true:
//
//   - settled: every target is in a terminal state (delivered, failed,
//     blocked, rejected, expired, recalled): nothing of it can be held,
//     deferred or scheduled again (no API moves a terminal target back);
//   - unholdable: no destination has a policy with a review rule (the
//     record carries its policies as they were when it was accepted), so
//     it is never held: replies, welcomes (route direct, no policy) and
//     every announcement of a route without review rules;
//   - parent: a series' record, whose parts are announcements of their own;
//   - noticed: a review notice (reviewNoticeKey) is recorded as sent or
//     failed for good.
//
// A scan then reads only the records it has not settled yet: the active
// ones. The sets hold ids of this ledger; they are not pruned (an id is a
// few dozen bytes).
type ledgerSkips struct {
	mu         sync.Mutex
	settled    map[string]bool
	unholdable map[string]bool
	parent     map[string]bool
	noticed    map[string]bool

	// reads counts the records the scans read (tests measure it).
	reads atomic.Int64
}

func (k *ledgerSkips) has(set *map[string]bool, key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return (*set)[key]
}

func (k *ledgerSkips) mark(set *map[string]bool, key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if *set == nil {
		*set = map[string]bool{}
	}
	(*set)[key] = true
}

// skipReview: id can be left out of a scan for held announcements.
func (k *ledgerSkips) skipReview(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.settled[id] || k.unholdable[id] || k.parent[id]
}

// skipCalendar: id has no calendar item now or later.
func (k *ledgerSkips) skipCalendar(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.settled[id] || k.parent[id]
}

// learnRecord notes what the record alone says.
func (k *ledgerSkips) learnRecord(rec *store.Record) {
	id := rec.Announcement.ID
	if len(rec.Parts) > 0 {
		k.mark(&k.parent, id)
		return
	}
	if !canHold(rec) {
		k.mark(&k.unholdable, id)
	}
}

// learnStatus notes a settled announcement.
func (k *ledgerSkips) learnStatus(st groupcast.Status) {
	if len(st.Targets) == 0 {
		return
	}
	for _, t := range st.Targets {
		if !t.State.Terminal() {
			return
		}
	}
	k.mark(&k.settled, st.ID)
}

// canHold says whether any destination's policy, as the record keeps it,
// has a review rule: the only way a target is held.
func canHold(rec *store.Record) bool {
	for _, d := range rec.Destinations {
		if d.Policy == "" {
			continue
		}
		p, ok := rec.Policies[d.Policy]
		if !ok {
			continue
		}
		if slices.ContainsFunc(p.Rules, func(r configs.Rule) bool { return r.Action == policy.ActionReview }) {
			return true
		}
	}
	return false
}
