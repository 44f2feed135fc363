package router

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// fleet is account ownership: which accounts this replica sends for, and
// the sender running for each. On a store no one else uses every account
// is owned at once; on a shared one (driver nats) each is owned through a
// lease renewed every third of LeaseTTL, and a replica that cannot renew
// stops sending before its lease can expire. Every goroutine it starts is
// joined by stop.
type fleet struct {
	s *Service

	mu      sync.Mutex
	ctx     context.Context
	stopped bool
	holds   map[string]*hold
	wg      sync.WaitGroup

	replicas atomic.Int64 // replicas present on the shared store, this one included
}

// hold is this replica's hold on one account.
type hold struct {
	cancel context.CancelFunc // ends the lease loop (or the worker, unshared)
	done   chan struct{}      // closed when the loop has ended

	mu     sync.Mutex
	w      *worker
	lease  *store.LeaseHold // shared store: the account's lease while held
	shared bool
}

func newFleet(s *Service) *fleet { return &fleet{s: s, holds: map[string]*hold{}} }

func (f *fleet) start(ctx context.Context, names []string) {
	f.mu.Lock()
	f.ctx = ctx
	f.mu.Unlock()
	f.replicas.Store(1)
	if f.s.st.Shared() {
		f.wg.Add(1)
		go func() { defer f.wg.Done(); f.presence(ctx) }()
	}
	for _, name := range names {
		f.add(name)
	}
}

// presence says this replica is alive, and counts the others, every third
// of the lease TTL; on the way out it says it is gone, so that the others
// count it out at once.
func (f *fleet) presence(ctx context.Context) {
	s := f.s
	tick := time.NewTicker(s.st.LeaseTTL() / 3)
	defer tick.Stop()
	for {
		if err := s.st.Present(ctx, s.instance); err != nil && ctx.Err() == nil {
			s.log.Warn("presence not written", "err", err)
		}
		if n, err := s.st.Replicas(ctx); err == nil {
			f.replicas.Store(int64(n))
		}
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = s.st.Absent(rctx, s.instance)
			cancel()
			return
		case <-tick.C:
		}
	}
}

// share is how many accounts this replica should hold: its share of the
// configured ones, rounded up.
func (f *fleet) share() int {
	f.mu.Lock()
	n := len(f.holds)
	f.mu.Unlock()
	r := max(int(f.replicas.Load()), 1)
	return (n + r - 1) / r
}

// held lists the accounts this replica sends for, sorted.
func (f *fleet) held() []string {
	f.mu.Lock()
	holds := make(map[string]*hold, len(f.holds))
	for name, h := range f.holds {
		holds[name] = h
	}
	f.mu.Unlock()
	var out []string
	for name, h := range holds {
		h.mu.Lock()
		if h.w != nil {
			out = append(out, name)
		}
		h.mu.Unlock()
	}
	slices.Sort(out)
	return out
}

// excess reports whether this replica holds more than its share and name
// is the one to hand over (the last of its accounts, so that replicas
// agree without talking).
func (f *fleet) excess(name string) bool {
	held := f.held()
	return len(held) > f.share() && held[len(held)-1] == name
}

// add starts holding an account.
func (f *fleet) add(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped || f.ctx == nil || f.holds[name] != nil {
		return
	}
	ctx, cancel := context.WithCancel(f.ctx)
	h := &hold{cancel: cancel, done: make(chan struct{}), shared: f.s.st.Shared()}
	f.holds[name] = h
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(h.done)
		if h.shared {
			f.leaseLoop(ctx, name, h)
			return
		}
		h.mu.Lock()
		h.w = f.s.startWorker(ctx, name, h)
		h.mu.Unlock()
		<-ctx.Done()
		f.stopWorker(h)
	}()
}

// restart gives a running account's queue to its new sender (a reload
// changed the account).
func (f *fleet) restart(name string) {
	f.mu.Lock()
	h := f.holds[name]
	ctx := f.ctx
	f.mu.Unlock()
	if h == nil || ctx == nil {
		return
	}
	h.mu.Lock()
	w := h.w
	h.w = nil
	h.mu.Unlock()
	if w == nil {
		return
	}
	w.stop() // not under h.mu: the sender reads the hold while it stops
	h.mu.Lock()
	h.w = f.s.startWorker(ctx, name, h)
	h.mu.Unlock()
}

// owns reports whether this replica sends for the account now.
func (f *fleet) owns(name string) bool {
	f.mu.Lock()
	h := f.holds[name]
	f.mu.Unlock()
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.w != nil
}

// valid reports whether the hold still entitles this replica to send, and
// the lease's fencing token that its claims carry.
func (h *hold) valid() (bool, uint64) {
	if !h.shared {
		return true, 0
	}
	h.mu.Lock()
	lease := h.lease
	h.mu.Unlock()
	if lease == nil {
		return false, 0
	}
	return lease.Valid(), lease.Token()
}

func (f *fleet) stopWorker(h *hold) {
	h.mu.Lock()
	w := h.w
	h.w = nil
	h.mu.Unlock()
	if w != nil {
		w.stop()
	}
}

// leaseLoop contends for the account's lease, runs its sender while this
// replica holds it, and hands the lease back when ctx ends (after the
// sender has finished or handed back what it holds). A lease that cannot
// be renewed stops the sender before the store can give the account to
// another replica: time is the store's (the lease is a key with a TTL),
// and the holder's own deadline counts from when it asked, less a margin.
func (f *fleet) leaseLoop(ctx context.Context, name string, h *hold) {
	s := f.s
	poll := s.st.LeaseTTL() / 4
	for ctx.Err() == nil {
		if len(f.held()) >= f.share() {
			// Enough here: leave the account to a replica with fewer.
			sleepCtx(ctx, poll)
			continue
		}
		lease, err := s.st.TakeLease(ctx, name, s.instance)
		if err != nil {
			if !errors.Is(err, store.ErrLeaseHeld) && ctx.Err() == nil {
				s.log.Warn("lease not taken", "account", name, "err", err)
			}
			sleepCtx(ctx, poll)
			continue
		}
		s.log.Info("account owned by this replica", "account", name, "fence", lease.Token())
		keepCtx, stopKeep := context.WithCancel(context.WithoutCancel(ctx))
		kept := make(chan error, 1)
		go func() { kept <- lease.Keep(keepCtx) }()
		h.mu.Lock()
		h.lease = lease
		h.w = s.startWorker(ctx, name, h)
		h.mu.Unlock()
		balance := time.NewTicker(poll)
	holding:
		for {
			select {
			case <-ctx.Done():
				balance.Stop()
				f.stopWorker(h) // finish or hand back the send in flight
				stopKeep()      // then hand the lease back
				<-kept
				return
			case err := <-kept:
				s.log.Warn("lease lost: this replica stops sending for the account", "account", name, "err", err)
				f.stopWorker(h)
				break holding
			case <-balance.C:
				if f.excess(name) {
					// More replicas than when it was taken: hand it over, and
					// give the others time to take it.
					s.log.Info("account handed to another replica", "account", name, "replicas", f.replicas.Load())
					f.stopWorker(h)
					stopKeep()
					<-kept
					sleepCtx(ctx, 3*poll)
					break holding
				}
			}
		}
		balance.Stop()
		stopKeep()
	}
}

// stop ends every hold: senders finish or hand back what they hold, and
// leases are released.
func (f *fleet) stop() {
	f.mu.Lock()
	f.stopped = true
	holds := make([]*hold, 0, len(f.holds))
	for _, h := range f.holds {
		holds = append(holds, h)
	}
	f.mu.Unlock()
	for _, h := range holds {
		h.cancel()
	}
	f.wg.Wait()
}

// startAccount runs an account's login or connection (groupcast.Starter)
// while ctx lasts.
func (s *Service) startAccount(ctx context.Context, name string, a *account, wg *sync.WaitGroup) {
	if l, ok := a.sender.(groupcast.Listener); ok && s.opts.Inbound != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Listen(ctx, s.opts.Inbound); err != nil && ctx.Err() == nil {
				s.log.Error("account listen failed", "account", name, "err", err)
			}
		}()
	}
	st, ok := a.sender.(groupcast.Starter)
	if !ok {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := st.Start(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("account start failed", "account", name, "err", err)
		}
	}()
}
