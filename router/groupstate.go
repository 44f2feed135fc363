package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/store"
)

// groupSlots is one account sender's copy of its groups' policy state
// (policy.GroupState, one store document per group), kept between sends.
// The sender is the only one that takes or gives back a group's slots
// while it holds the account's lease, so its copy is the state: a
// decision reads it without going to the store, and a send writes it only
// when the slot does not come from a reservation (policy.Reserve). Every
// write is a compare-and-set on the revision the copy came from; another
// writer (daily_cap.auto's lowered cap, say) makes the copy read again.
//
// A new sender (a start, a restart, a lease moved) reads each group fresh
// and counts whatever the last one left reserved as used: it cannot know
// whether those slots went out, and a cap must never pass. A sender that
// stops gives its reservations back (release).
//
// Only the worker's goroutine uses it: no lock.
type groupSlots struct {
	st *store.Store
	m  map[string]*groupSlot // by destination key (groupcast.Destination.Key)
}

type groupSlot struct {
	g   policy.GroupState
	rev uint64 // the document's revision g came from or was written as (0: absent)
}

func newGroupSlots(st *store.Store) *groupSlots {
	return &groupSlots{st: st, m: map[string]*groupSlot{}}
}

// get answers the group's slot, read from the store the first time and
// again when another writer in this process changed it.
func (gs *groupSlots) get(ctx context.Context, key string) (*groupSlot, error) {
	e, ok := gs.m[key]
	if ok {
		if r := gs.st.DocRevision(store.GroupStateKey(key)); r == 0 || r == e.rev {
			return e, nil
		}
	}
	return gs.read(ctx, key)
}

// read reads the group's document. What this sender reserved on the same
// day stays reserved (its earlier write put it in the count); a fresh
// sender counts the document's reservation as used.
func (gs *groupSlots) read(ctx context.Context, key string) (*groupSlot, error) {
	var g policy.GroupState
	rev, err := gs.st.ReadDoc(ctx, store.GroupStateKey(key), &g)
	if err != nil {
		delete(gs.m, key)
		return nil, err
	}
	g.Ahead = 0
	if old, ok := gs.m[key]; ok && old.g.Day == g.Day {
		g.Ahead = min(old.g.Ahead, g.Sent)
	}
	e := &groupSlot{g: g, rev: rev}
	gs.m[key] = e
	return e, nil
}

// state is the group's state for a decision (read only).
func (gs *groupSlots) state(ctx context.Context, key string) (policy.GroupState, error) {
	e, err := gs.get(ctx, key)
	if err != nil {
		return policy.GroupState{}, err
	}
	return e.g, nil
}

// modify applies change to a copy of the group's state and, when it says
// so, writes the copy; it reads again and retries on a concurrent write.
// A write whose outcome is unknown (a timeout) drops the copy: the next
// read counts what it may have reserved as used.
func (gs *groupSlots) modify(ctx context.Context, key string, change func(g *policy.GroupState) (write bool)) error {
	for range 10 {
		e, err := gs.get(ctx, key)
		if err != nil {
			return err
		}
		g := e.g
		g.History, g.Recent = slices.Clone(g.History), slices.Clone(g.Recent)
		if !change(&g) {
			e.g = g // a slot from the reservation: kept here only
			return nil
		}
		rev, err := gs.st.WriteDoc(ctx, store.GroupStateKey(key), &g, e.rev)
		if errors.Is(err, store.ErrConflict) {
			if _, err := gs.read(ctx, key); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			delete(gs.m, key)
			return err
		}
		e.g, e.rev = g, rev
		return nil
	}
	return fmt.Errorf("%w: %s", store.ErrConflict, store.GroupStateKey(key))
}

// take takes the group's daily-cap slot for a send (reserving more ahead
// where the cap leaves room); it answers the day taken and false when the
// cap has no slot left.
func (gs *groupSlots) take(ctx context.Context, pol *policy.Policy, d groupcast.Destination, c groupcast.Category,
	now time.Time, dec policy.Decision) (string, bool, error) {
	limit := dec.Limit
	if !dec.CountsToCap {
		limit = 0
	}
	granted := false
	err := gs.modify(ctx, d.Key(), func(g *policy.GroupState) bool {
		var write bool
		granted, write = pol.Reserve(g, c, now, limit)
		return granted && write
	})
	return pol.DayKey(now), granted, err
}

// giveBack returns a daily-cap slot taken on day after a send failed for
// good.
func (gs *groupSlots) giveBack(ctx context.Context, pol *policy.Policy, d groupcast.Destination, c groupcast.Category, day string) error {
	return gs.modify(ctx, d.Key(), func(g *policy.GroupState) bool {
		return pol.GiveBack(g, c, day)
	})
}

// release gives back every slot reserved ahead and not used: the sender
// is stopping. What cannot be written stays counted (a cap errs on the
// side of sending less).
func (gs *groupSlots) release(ctx context.Context) error {
	var errs []error
	for key, e := range gs.m {
		if e.g.Ahead == 0 {
			continue
		}
		if err := gs.modify(ctx, key, func(g *policy.GroupState) bool { return g.Release() }); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
