package router

import (
	"context"
	"sync"
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
}

// hold is this replica's hold on one account.
type hold struct {
	cancel context.CancelFunc // ends the lease loop (or the worker, unshared)
	done   chan struct{}      // closed when the loop has ended

	mu     sync.Mutex
	w      *worker
	until  time.Time // monotonic: past this the lease may be someone else's
	fence  uint64    // lease revision (shared store)
	shared bool
}

func newFleet(s *Service) *fleet { return &fleet{s: s, holds: map[string]*hold{}} }

func (f *fleet) start(ctx context.Context, names []string) {
	f.mu.Lock()
	f.ctx = ctx
	f.mu.Unlock()
	for _, name := range names {
		f.add(name)
	}
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
// the lease revision that fences its claims.
func (h *hold) valid() (bool, uint64) {
	if !h.shared {
		return true, 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Now().Before(h.until), h.fence
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

// leaseLoop takes and renews the account's lease, runs its sender while it
// holds it, and hands the lease back when ctx ends.
func (f *fleet) leaseLoop(ctx context.Context, name string, h *hold) {
	s := f.s
	ttl := s.opts.LeaseTTL
	key := store.LeaseKey(name)
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	for {
		asked := time.Now()
		ok, err := s.st.AcquireLease(ctx, key, s.instance, ttl)
		h.mu.Lock()
		held := h.w != nil
		switch {
		case ok:
			// Stop claiming a safe margin before the lease can lapse.
			h.until = asked.Add(ttl - ttl/4)
		case err == nil:
			h.until = time.Time{} // someone else's
		}
		expired := !time.Now().Before(h.until)
		h.mu.Unlock()
		switch {
		case ok && !held:
			s.log.Info("account owned by this replica", "account", name)
			h.mu.Lock()
			h.w = s.startWorker(ctx, name, h)
			h.mu.Unlock()
		case held && expired:
			if err != nil {
				s.log.Warn("lease not renewed: this replica stops sending for the account", "account", name, "err", err)
			} else {
				s.log.Warn("account taken over by another replica", "account", name)
			}
			f.stopWorker(h)
		case err != nil && ctx.Err() == nil:
			s.log.Warn("lease not renewed", "account", name, "err", err)
		}
		select {
		case <-ctx.Done():
			f.stopWorker(h)
			if held || ok {
				rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_ = s.st.ReleaseLease(rctx, key, s.instance)
				cancel()
			}
			return
		case <-tick.C:
		}
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
