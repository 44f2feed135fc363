package miraigo

import "time"

// SetAfter replaces the timer Start waits on, for tests.
func SetAfter(g *Sender, after func(time.Duration) <-chan time.Time) { g.after = after }

// SetJitter replaces the backoff's jitter, for tests.
func SetJitter(g *Sender, j func(time.Duration) time.Duration) { g.jitter = j }

// Backoff exposes the backoff for tests: n waits from a fresh one.
func Backoff(n int, j func(time.Duration) time.Duration) []time.Duration {
	b := &backoff{min: BackoffMin, max: BackoffMax, jitter: j}
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = b.next()
	}
	return out
}

// Jitter is the backoff's jitter.
var Jitter = jitter
