package policy

import (
	"context"
	"sync"
)

// Counters hold the daily-cap counters, one per group and local day (keys
// from Policy.CapKey). The store implements them in JetStream KV with
// compare-and-set, so that caps are exact under concurrency, across restarts
// and across replicas; MemoryCounters is the in-process version for tests.
//
// Flow: read Get for Input.SentToday, Decide, and when the decision is a
// Send with CountsToCap, Reserve with Decision.Limit before sending. A
// refused reservation means another sender took the last slot since the
// read: decide again with SentToday = used, which defers to the next day.
// Release gives a slot back when the send then failed for good; a crash
// between Reserve and the send leaves the slot taken, which errs on the side
// of fewer messages, never more.
type Counters interface {
	// Reserve adds one to key if its value is below limit (limit <= 0: no
	// limit, always add). It reports whether it added and the value after
	// (when refused, the value as it stands).
	Reserve(ctx context.Context, key string, limit int64) (granted bool, used int64, err error)
	// Release takes one back from key, never below zero.
	Release(ctx context.Context, key string) error
	// Get reads key; an absent key is 0.
	Get(ctx context.Context, key string) (int64, error)
}

// MemoryCounters is Counters in memory: exact under concurrency, lost on
// restart. The zero value is ready to use.
type MemoryCounters struct {
	mu sync.Mutex
	m  map[string]int64
}

var _ Counters = (*MemoryCounters)(nil)

// Reserve implements Counters.
func (c *MemoryCounters) Reserve(ctx context.Context, key string, limit int64) (bool, int64, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]int64)
	}
	v := c.m[key]
	if limit > 0 && v >= limit {
		return false, v, nil
	}
	v++
	c.m[key] = v
	return true, v, nil
}

// Release implements Counters.
func (c *MemoryCounters) Release(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.m[key]; v > 1 {
		c.m[key] = v - 1
	} else {
		delete(c.m, key)
	}
	return nil
}

// Get implements Counters.
func (c *MemoryCounters) Get(ctx context.Context, key string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key], nil
}
