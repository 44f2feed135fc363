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
// ones. Each set maps its key (the id; a notice key for noticed) to the id
// it is about, and a scan that has just listed the ledger's ids drops the
// entries of ids no longer in it (retain), so the sets never outgrow the
// ledger.
type ledgerSkips struct {
	mu         sync.Mutex
	settled    map[string]string
	unholdable map[string]string
	parent     map[string]string
	noticed    map[string]string

	// reads counts the records the scans read (tests measure it).
	reads atomic.Int64
}

func (k *ledgerSkips) has(set *map[string]string, key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := (*set)[key]
	return ok
}

// mark adds key, about announcement id, to set.
func (k *ledgerSkips) mark(set *map[string]string, key, id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if *set == nil {
		*set = map[string]string{}
	}
	(*set)[key] = id
}

// retain drops the entries about announcements not in ids, the ledger's
// ids as a scan just listed them (gone by the ledger's retention). An
// entry a concurrent scan adds for a newer id may go too: it is learnt
// again at the next read.
func (k *ledgerSkips) retain(ids []string) {
	listed := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		listed[id] = struct{}{}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, set := range []map[string]string{k.settled, k.unholdable, k.parent, k.noticed} {
		for key, id := range set {
			if _, ok := listed[id]; !ok {
				delete(set, key)
			}
		}
	}
}

// skipReview: id can be left out of a scan for held announcements.
func (k *ledgerSkips) skipReview(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, settled := k.settled[id]
	_, unholdable := k.unholdable[id]
	_, parent := k.parent[id]
	return settled || unholdable || parent
}

// skipCalendar: id has no calendar item now or later.
func (k *ledgerSkips) skipCalendar(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, settled := k.settled[id]
	_, parent := k.parent[id]
	return settled || parent
}

// learnRecord notes what the record alone says.
func (k *ledgerSkips) learnRecord(rec *store.Record) {
	id := rec.Announcement.ID
	if len(rec.Parts) > 0 {
		k.mark(&k.parent, id, id)
		return
	}
	if !canHold(rec) {
		k.mark(&k.unholdable, id, id)
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
	k.mark(&k.settled, st.ID, st.ID)
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
