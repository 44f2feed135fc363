package router

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/store"
)

// pacer keeps one account within its rate: at most PerMinute requests in
// any 60 seconds plus Margin (the platform counts by its own clock, after
// network delay: a request exactly 60 s after the first of a full window can
// land inside it), and a random gap between MinGap and MaxGap between two
// requests. The times of the recent requests are written to the store
// before each request goes out, so a restart resumes the pace instead of
// bursting.
type pacer struct {
	account string
	rate    configs.Rate
	clock   Clock
	st      *store.Store

	loc   *time.Location
	guard atomic.Pointer[func() error] // may this process still send for the account

	mu      sync.Mutex
	loaded  bool
	sends   []time.Time // the last PerMinute request times, oldest first
	nextGap time.Duration
	day     string // local day of count
	count   int    // requests on day
}

// setGuard makes every Wait ask guard, after waiting, whether the request
// may still go.
func (p *pacer) setGuard(guard func() error) { p.guard.Store(&guard) }

func (p *pacer) check() error {
	if g := p.guard.Load(); g != nil {
		return (*g)()
	}
	return nil
}

// sentOn answers the requests the account made on day (a local date) and
// in the minute before now, as its send log in the store has them; false
// for an account without a pace (it keeps no log).
func (p *pacer) sentOn(ctx context.Context, day string, now time.Time) (today, lastMinute int, ok bool, err error) {
	if p.unlimited() {
		return 0, 0, false, nil
	}
	var l sendLog
	if _, err := p.st.GetJSON(ctx, store.SendLogKey(p.account), &l); err != nil {
		return 0, 0, false, err
	}
	for _, t := range l.Sends {
		if now.Sub(t) < time.Minute {
			lastMinute++
		}
	}
	if l.Day != day {
		return 0, lastMinute, true, nil
	}
	return l.Count, lastMinute, true, nil
}

type sendLog struct {
	Sends []time.Time `json:"sends"`
	// Day and Count are the sends of the account's local day (the log is
	// written before each send anyway: the count rides along).
	Day   string `json:"day,omitempty"`
	Count int    `json:"count,omitempty"`
}

func newPacer(account string, rate configs.Rate, clock Clock, st *store.Store, loc *time.Location) *pacer {
	if loc == nil {
		loc = time.Local
	}
	return &pacer{account: account, rate: rate, clock: clock, st: st, loc: loc}
}

// reset makes the next Wait read the send log from the store again (another
// replica may have sent for the account meanwhile).
func (p *pacer) reset() {
	p.mu.Lock()
	p.loaded = false
	p.mu.Unlock()
}

func (p *pacer) unlimited() bool {
	return p.rate.PerMinute <= 0 && p.rate.MinGap <= 0 && p.rate.MaxGap <= 0
}

// Wait blocks until the account may send one more request, and records it.
func (p *pacer) Wait(ctx context.Context) error {
	if p.unlimited() {
		if err := p.check(); err != nil {
			return err
		}
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.loaded {
		var l sendLog
		if _, err := p.st.GetJSON(ctx, store.SendLogKey(p.account), &l); err != nil {
			return fmt.Errorf("pace %s: %w", p.account, err)
		}
		p.sends, p.day, p.count, p.loaded = l.Sends, l.Day, l.Count, true
		p.nextGap = p.gap()
	}
	for {
		now := p.clock.Now()
		at := p.earliest()
		if !at.After(now) {
			break
		}
		if err := p.clock.Sleep(ctx, at.Sub(now)); err != nil {
			return err
		}
	}
	// The last moment before the request goes: a replica whose lease
	// lapsed while it waited (or was paused) sends nothing.
	if err := p.check(); err != nil {
		return err
	}
	p.sends = append(p.sends, p.clock.Now())
	if keep := max(p.rate.PerMinute, 1); len(p.sends) > keep {
		p.sends = append([]time.Time(nil), p.sends[len(p.sends)-keep:]...)
	}
	p.nextGap = p.gap()
	if day := p.clock.Now().In(p.loc).Format(time.DateOnly); day != p.day {
		p.day, p.count = day, 0
	}
	p.count++
	if err := p.st.PutJSON(ctx, store.SendLogKey(p.account), sendLog{Sends: p.sends, Day: p.day, Count: p.count}); err != nil {
		return fmt.Errorf("pace %s: %w", p.account, err)
	}
	return nil
}

func (p *pacer) earliest() time.Time {
	var at time.Time
	if n := len(p.sends); n > 0 {
		at = p.sends[n-1].Add(p.nextGap)
	}
	if pm := p.rate.PerMinute; pm > 0 && len(p.sends) >= pm {
		if t := p.sends[len(p.sends)-pm].Add(time.Minute + p.rate.Margin); t.After(at) {
			at = t
		}
	}
	return at
}

func (p *pacer) gap() time.Duration {
	lo, hi := p.rate.MinGap, p.rate.MaxGap
	if hi < lo {
		hi = lo
	}
	if hi == lo {
		return lo
	}
	return lo + time.Duration(rand.Int64N(int64(hi-lo)+1))
}

// recallPacer spaces the requests of a recall: not the account's send pace
// (a WeChat revoke must land within two minutes of the send, and a recall
// of a hundred groups behind a 3–5 s pace would not), but a short random
// gap so that a burst of revokes does not look like a script.
type recallPacer struct {
	clock Clock
	mu    sync.Mutex
	last  time.Time
}

// RecallGap bounds the random gap between two recall requests of one
// account.
const (
	RecallMinGap = 300 * time.Millisecond
	RecallMaxGap = 700 * time.Millisecond
)

func newRecallPacer(c Clock) *recallPacer { return &recallPacer{clock: c} }

func (p *recallPacer) Wait(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	gap := RecallMinGap + time.Duration(rand.Int64N(int64(RecallMaxGap-RecallMinGap)+1))
	if !p.last.IsZero() {
		if d := p.last.Add(gap).Sub(p.clock.Now()); d > 0 {
			if err := p.clock.Sleep(ctx, d); err != nil {
				return err
			}
		}
	}
	p.last = p.clock.Now()
	return ctx.Err()
}

// dayCounter is adapters.DayCounter in the store: one document per
// account, changed by compare-and-set, so a daily ceiling is shared by
// every replica and survives restarts and lease moves.
type dayCounter struct {
	st  *store.Store
	key string
}

type dayCount struct {
	Day   string `json:"day"`
	Count int    `json:"count"`
}

func (c dayCounter) Add(ctx context.Context, day string, n, limit int) (int, bool, error) {
	var d dayCount
	ok := false
	err := c.st.ModifyJSON(ctx, c.key, &d, func() { d = dayCount{} }, func() (bool, error) {
		if d.Day != day {
			d = dayCount{Day: day}
		}
		if n == 0 || (limit > 0 && n > 0 && d.Count+n > limit) {
			return false, nil
		}
		d.Count = max(d.Count+n, 0)
		ok = true
		return true, nil
	})
	return d.Count, ok || n == 0, err
}
