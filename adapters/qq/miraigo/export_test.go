package miraigo

import "time"

// SetAfter replaces the timer Start waits on, for tests.
func SetAfter(g *Sender, after func(time.Duration) <-chan time.Time) { g.after = after }
