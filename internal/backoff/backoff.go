// Package backoff is the jittered exponential backoff of every reconnect
// loop (the DingTalk stream, the openwechat session, the OneBot probe):
// 1 s after the first failure, doubling to 5 min, each wait spread ±20 %
// so that accounts that failed together do not retry together, and never
// outside [Min, Max].
package backoff

import (
	"math/rand/v2"
	"time"
)

// Defaults of Backoff.
const (
	DefaultMin    = time.Second
	DefaultMax    = 5 * time.Minute
	DefaultJitter = 0.2
	// DefaultStable is how long a connection must have lived for its end
	// to start the backoff over: a link that drops as soon as it is made
	// keeps backing off instead of reconnecting at once, for ever.
	DefaultStable = time.Minute
)

// Backoff counts failures and says how long to wait after each. The zero
// value uses the defaults. It is not safe for concurrent use: each loop
// owns one.
type Backoff struct {
	Min, Max time.Duration
	Jitter   float64        // the spread, a fraction of the wait (default 0.2; negative: none)
	Rand     func() float64 // in [0, 1); nil: math/rand/v2
	failures int
}

// Next counts one more failure and returns the wait before the next
// attempt: Min·2^(failures-1) capped at Max, spread by Jitter, within
// [Min, Max].
func (b *Backoff) Next() time.Duration {
	lo, hi := b.bounds()
	d := lo
	for i := 0; i < b.failures && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	b.failures++
	j := b.Jitter
	if j == 0 {
		j = DefaultJitter
	}
	if j > 0 {
		r := rand.Float64
		if b.Rand != nil {
			r = b.Rand
		}
		d = time.Duration(float64(d) * (1 - j + 2*j*r()))
	}
	return max(lo, min(d, hi))
}

// Reset starts over after a success.
func (b *Backoff) Reset() { b.failures = 0 }

// Failures is how many failures Next has counted since the last Reset.
func (b *Backoff) Failures() int { return b.failures }

func (b *Backoff) bounds() (lo, hi time.Duration) {
	lo, hi = b.Min, b.Max
	if lo <= 0 {
		lo = DefaultMin
	}
	if hi <= 0 {
		hi = DefaultMax
	}
	return lo, max(lo, hi)
}
