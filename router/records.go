package router

import (
	"container/list"
	"context"
	"sync"

	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/transform"
)

// recordCache keeps announcements with their body parsed once, least
// recently used out first. A record is written once and never changes;
// Submit fills the cache where it writes the record, so the senders of
// this process do not decode or parse it again.
type recordCache struct {
	mu    sync.Mutex
	size  int
	items map[string]*list.Element
	order list.List // front: most recently used
}

type cached struct {
	id  string
	seq uint64 // the record's sequence in the ledger
	rec *store.Record
	doc *transform.Doc
	// variants are the A/B variants' parsed bodies, by name.
	variants map[string]*transform.Doc
}

// recordCacheSize bounds the cache: the senders follow the records close
// behind Submit, or, when they lag, refill it as they go (the first of
// them to reach a record parses it for the others).
const recordCacheSize = 512

func (c *recordCache) get(id string) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[id]
	if !ok {
		return cached{}, false
	}
	c.order.MoveToFront(e)
	return e.Value.(cached), true
}

// put adds a record, parsing its body, and answers the entry.
func (c *recordCache) put(rec *store.Record, seq uint64) cached {
	return c.putParsed(rec, seq, transform.Parse(&rec.Announcement))
}

// putParsed adds a record whose body is parsed already.
func (c *recordCache) putParsed(rec *store.Record, seq uint64, doc *transform.Doc) cached {
	e := cached{id: rec.Announcement.ID, seq: seq, rec: rec, doc: doc, variants: variantDocs(&rec.Announcement)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[string]*list.Element{}
		if c.size <= 0 {
			c.size = recordCacheSize
		}
	}
	if old, ok := c.items[e.id]; ok {
		c.order.MoveToFront(old)
		return old.Value.(cached)
	}
	c.items[e.id] = c.order.PushFront(e)
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(cached).id)
	}
	return e
}

// cachedRecord is the record a ledger message carries, from the cache when
// this process has it.
func (s *Service) cachedRecord(id string, seq uint64, payload []byte) (cached, error) {
	if c, ok := s.records.get(id); ok {
		return c, nil
	}
	rec, err := store.DecodeRecord(payload)
	if err != nil {
		return cached{}, err
	}
	return s.records.put(rec, seq), nil
}

// recordByID reads a record and its sequence, from the cache when this
// process has it.
func (s *Service) recordByID(ctx context.Context, id string) (cached, uint64, error) {
	if c, ok := s.records.get(id); ok {
		return c, c.seq, nil
	}
	rec, seq, err := s.st.RecordAt(ctx, id)
	if err != nil {
		return cached{}, 0, err
	}
	return s.records.put(rec, seq), seq, nil
}
