package router

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// intakeHold keeps intake within the record cache's reach of the senders
// while they are busy: when one of this process's senders that took a
// record a moment ago (it is working, not waiting for a pace, a window or
// a pause) is more than lag records behind the last record this process
// wrote, a new announcement waits — at most max — until every busy sender
// is within reach again.
//
// Without it, a burst faster than delivery leaves the senders thousands of
// records behind intake (up to server.max_backlog), out of the cache's
// reach: one sender per record decodes and parses it again, 15 % of the
// CPU under saturation (docs/development.md). Holding the request a few
// milliseconds instead costs the caller that wait and nothing else: no
// answer changes, server.max_backlog still refuses above its bound, and a
// sender that is slow for its platform's sake (paced, blocked, waiting for
// a window) does not hold intake, since it does not take records.
//
// Real time, not the service's clock: it paces against the CPU.
type intakeHold struct {
	lag    uint64        // records a busy sender may be behind before a hold
	max    time.Duration // longest hold of one request
	active time.Duration // a sender that took a record this recently is busy

	wrote atomic.Uint64 // the last record this process wrote

	waiters atomic.Int32
	mu      sync.Mutex
	senders map[string]*senderPos // by account
	moved   chan struct{}         // closed when held requests may go
	now     func() time.Time
}

// senderPos is the last record a sender took, and when.
type senderPos struct {
	seq atomic.Uint64
	at  atomic.Int64 // unix nanoseconds
}

// Defaults: the record cache keeps recordCacheSize records Submit wrote;
// the senders are held to three quarters of that.
const (
	holdLag    = recordCacheSize * 3 / 4
	holdMax    = 50 * time.Millisecond
	holdActive = 20 * time.Millisecond
)

func (h *intakeHold) init() {
	if h.lag == 0 {
		h.lag = holdLag
	}
	if h.max == 0 {
		h.max = holdMax
	}
	if h.active == 0 {
		h.active = holdActive
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.senders = map[string]*senderPos{}
	h.moved = make(chan struct{})
}

// written notes a record this process wrote.
func (h *intakeHold) written(seq uint64) {
	for {
		cur := h.wrote.Load()
		if seq <= cur || h.wrote.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// taken notes a record the account's sender took.
func (h *intakeHold) taken(account string, seq uint64) {
	h.mu.Lock()
	p := h.senders[account]
	if p == nil {
		p = &senderPos{}
		h.senders[account] = p
	}
	h.mu.Unlock()
	if seq > p.seq.Load() { // one sender per account: no race on its own position
		p.seq.Store(seq)
	}
	p.at.Store(h.now().UnixNano())
	// Wake the held requests only when they may go: waking them on every
	// move would cost more than the hold saves.
	if h.waiters.Load() > 0 && !h.behind() {
		h.mu.Lock()
		close(h.moved)
		h.moved = make(chan struct{})
		h.mu.Unlock()
	}
}

// behind reports whether a busy sender is out of the cache's reach.
func (h *intakeHold) behind() bool {
	wrote := h.wrote.Load()
	now := h.now().UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.senders {
		if wrote > p.seq.Load()+h.lag && time.Duration(now-p.at.Load()) < h.active {
			return true
		}
	}
	return false
}

// wait holds a new announcement while behind, at most h.max; it answers
// how long it held.
func (h *intakeHold) wait(ctx context.Context) time.Duration {
	if !h.behind() {
		return 0
	}
	start := h.now()
	h.waiters.Add(1)
	defer h.waiters.Add(-1)
	t := time.NewTimer(h.max)
	defer t.Stop()
	for {
		h.mu.Lock()
		moved := h.moved
		h.mu.Unlock()
		if !h.behind() { // checked after taking the channel: no move is missed
			return h.now().Sub(start)
		}
		select {
		case <-moved:
		case <-t.C:
			return h.now().Sub(start)
		case <-ctx.Done():
			return h.now().Sub(start)
		}
	}
}
