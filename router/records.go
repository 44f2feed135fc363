package router

import (
	"context"
	"sync"

	"github.com/groupcast/groupcast/store"
)

// recordCache keeps announcements read from the ledger: a record is
// written once and never changes, and every target of it reads it.
type recordCache struct {
	mu sync.Mutex
	m  map[string]*store.Record
}

const recordCacheSize = 4096

func (c *recordCache) get(ctx context.Context, st *store.Store, id string) (*store.Record, error) {
	c.mu.Lock()
	r, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return r, nil
	}
	r, err := st.Record(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= recordCacheSize {
		c.m = make(map[string]*store.Record, recordCacheSize) // simple and bounded
	}
	c.m[id] = r
	c.mu.Unlock()
	return r, nil
}
