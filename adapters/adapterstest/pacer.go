package adapterstest

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
)

var _ adapters.Pacer = (*Pacer)(nil)

// Pacer is an adapters.Pacer on a fake Clock with the rules of the router's
// pacer: at most rate.PerMinute requests in any 60 seconds, and a random
// gap in [rate.MinGap, rate.MaxGap] between two consecutive requests. Wait
// does not sleep: it moves the clock to the moment the request may go, so a
// test paces hundreds of requests instantly. The gaps come from a fixed
// seed, so a test sees the same times on every run. It is safe for
// concurrent use.
type Pacer struct {
	clock *Clock
	rate  configs.Rate

	mu    sync.Mutex
	rng   *rand.Rand
	sent  []time.Time
	waits int
}

// NewPacer returns a pacer that keeps to rate on clock.
func NewPacer(clock *Clock, rate configs.Rate) *Pacer {
	return &Pacer{clock: clock, rate: rate, rng: rand.New(rand.NewPCG(1, 2))}
}

// Wait lets one request go: it returns ctx's error if ctx is done, else it
// moves the clock forward to the earliest moment the rate allows (not at
// all when that moment has passed) and records the request at that time.
func (p *Pacer) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	next := now
	if n := len(p.sent); n > 0 {
		if t := p.sent[n-1].Add(p.gap()); t.After(next) {
			next = t
		}
	}
	if n := p.rate.PerMinute; n > 0 && len(p.sent) >= n {
		// The n-th latest request must be a full minute old.
		if t := p.sent[len(p.sent)-n].Add(time.Minute); t.After(next) {
			next = t
		}
	}
	p.clock.advanceTo(next)
	p.sent = append(p.sent, next)
	p.waits++
	return nil
}

// gap draws the gap before the next request, as the router does: MinGap
// when MaxGap is not above it, else uniform in [MinGap, MaxGap].
func (p *Pacer) gap() time.Duration {
	lo, hi := p.rate.MinGap, p.rate.MaxGap
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(p.rng.Int64N(int64(hi-lo)+1))
}

// Waits returns how many requests Wait has let go.
func (p *Pacer) Waits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waits
}

// Sent returns the times Wait let the requests go, oldest first.
func (p *Pacer) Sent() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.sent...)
}
