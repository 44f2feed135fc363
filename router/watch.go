package router

import (
	"context"
	"sync"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// Kinds of Change.
const (
	ChangeRecord = "record" // an announcement was accepted
	ChangeTarget = "target" // a target's state was written
	// ChangeReset: changes may have been missed (a watcher fell behind, or
	// the store's watch broke and started again): read the ledger again.
	ChangeReset = "reset"
)

// Change is one change of the ledger as the console's live board follows
// it.
type Change struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
	// Target is the target's new state (kind target).
	Target *groupcast.Target `json:"target,omitempty"`
}

// watchBuffer is how many changes a watcher may be behind before it is
// told to reset instead.
const watchBuffer = 256

// watchHub fans one store watch out to every watcher of the process: a
// hundred open boards cost one KV watch, not a hundred. The store watch
// runs while anyone watches.
type watchHub struct {
	mu     sync.Mutex
	subs   map[chan Change]struct{}
	cancel context.CancelFunc
	ready  chan struct{} // closed once the running store watch is open
}

// Watch follows the ledger's changes from now on: announcements accepted
// and targets written, on any replica. Call stop when done; the channel is
// closed then. A watcher that falls behind by more than a few hundred
// changes gets one ChangeReset instead of the changes it held.
func (s *Service) Watch() (changes <-chan Change, stop func()) {
	h := &s.watch
	ch := make(chan Change, watchBuffer)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[chan Change]struct{}{}
	}
	h.subs[ch] = struct{}{}
	if h.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel, h.ready = cancel, make(chan struct{})
		go s.runWatch(ctx, h.ready)
	}
	ready := h.ready
	h.mu.Unlock()
	// Changes from now on: wait (briefly) for the store watch to be open;
	// one that cannot open yet (the store failing) sends a reset when it
	// does.
	t := time.NewTimer(5 * time.Second)
	select {
	case <-ready:
	case <-t.C:
	}
	t.Stop()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, ch)
			if len(h.subs) == 0 && h.cancel != nil {
				h.cancel()
				h.cancel = nil
			}
			h.mu.Unlock()
			close(ch)
		})
	}
}

// runWatch keeps one store watch open until ctx ends, starting it again
// (and telling the watchers to reset) when it breaks.
func (s *Service) runWatch(ctx context.Context, ready chan struct{}) {
	// missed: changes may have gone by unseen (the watch broke, or could
	// not open while watchers waited): tell them to reset once it is open.
	opened, missed := false, false
	defer func() {
		if !opened { // stopped before it opened: nobody waits for it
			close(ready)
		}
	}()
	for ctx.Err() == nil {
		changes, err := s.st.Watch(ctx)
		if err != nil {
			s.log.Warn("ledger watch", "err", err)
			missed = true
			if s.clock.Sleep(ctx, time.Second) != nil {
				return
			}
			continue
		}
		if !opened {
			opened = true
			close(ready)
		}
		if missed {
			s.watch.broadcast(ctx, Change{Kind: ChangeReset})
		}
		missed = true // from here on, a reopen follows a break
		for c := range changes {
			ch := Change{ID: c.ID, Kind: ChangeRecord}
			if c.Kind == store.KindTarget {
				t := c.Target.Target
				if t.PlatformMessageIDs == nil {
					t.PlatformMessageIDs = []string{}
				}
				ch.Kind, ch.Target = ChangeTarget, &t
			}
			s.watch.broadcast(ctx, ch)
		}
	}
}

// broadcast hands c to every watcher without waiting. A watcher whose
// buffer is full has fallen behind: what it holds is dropped for one
// ChangeReset (it reads the ledger again), and it follows on from there.
func (h *watchHub) broadcast(ctx context.Context, c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Err() != nil {
		return // a stopped watch: its watchers may be closed
	}
	for ch := range h.subs {
		select {
		case ch <- c:
			continue
		default:
		}
		for drained := false; !drained; {
			select {
			case <-ch:
			default:
				drained = true
			}
		}
		ch <- Change{Kind: ChangeReset} // room: only this hub sends, under h.mu
	}
}
