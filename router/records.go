package router

import (
	"context"
	"sync"

	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/transform"
)

// recordCache keeps announcements read from the ledger, with their body
// parsed once: a record is written once and never changes, and every
// target of it reads it and renders it.
type recordCache struct {
	mu sync.Mutex
	m  map[string]cached
}

type cached struct {
	rec *store.Record
	doc *transform.Doc
}

const recordCacheSize = 4096

func (c *recordCache) get(ctx context.Context, st *store.Store, id string) (*store.Record, *transform.Doc, error) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return e.rec, e.doc, nil
	}
	r, err := st.Record(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	e = cached{rec: r, doc: transform.Parse(&r.Announcement)}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= recordCacheSize {
		c.m = make(map[string]cached, recordCacheSize) // simple and bounded
	}
	c.m[id] = e
	c.mu.Unlock()
	return e.rec, e.doc, nil
}
