package router

import (
	"container/list"
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/groupcast/groupcast"

	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/transform"
)

// recordCache keeps announcements with their body parsed once, least
// recently used out first, in two parts of recordCacheSize entries each:
//
//   - fresh: what Submit wrote (it parsed the body to check it), for the
//     senders when they follow close behind;
//   - taken: what a sender has taken, for the other accounts' senders of
//     the same announcement, which reach it a little earlier or later.
//
// Kept apart, a burst of new announcements (the senders far behind) does
// not push out what one sender parsed before the others reached it: each
// record is then decoded and parsed once, not once per account. A record
// is written once and never changes.
//
// Once every account with targets in a record has taken it (each sender
// says so with done), the record leaves the cache: the room goes to
// records a sender has yet to reach, so the cache reaches as far back as
// the slowest sender is behind the fastest, not half as far.
type recordCache struct {
	mu           sync.Mutex
	size         int
	items        map[string]*list.Element
	fresh, taken list.List // front: most recently used
}

type cached struct {
	id  string
	seq uint64 // the record's sequence in the ledger
	rec *store.Record
	doc *transform.Doc
	// variants are the A/B variants' parsed bodies, by name.
	variants map[string]*transform.Doc
	// pols: the record's compiled policies, shared by every copy of
	// the entry.
	pols *recordPolicies
	// left counts the accounts with targets in the record whose senders
	// have not taken it yet; shared by every copy of the entry.
	left *atomic.Int32
}

// cacheEntry is a cached record and the part of the cache it is in.
type cacheEntry struct {
	c    cached
	part *list.List
}

// recordCacheSize bounds each part of the cache (about 7 KB an entry with
// its parse).
const recordCacheSize = 512

func (c *recordCache) get(id string) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[id]
	if !ok {
		return cached{}, false
	}
	ce := e.Value.(*cacheEntry)
	if ce.part == &c.taken {
		c.taken.MoveToFront(e)
		return ce.c, true
	}
	// A sender takes it: it stays for the other senders however many new
	// ones Submit writes meanwhile.
	c.fresh.Remove(e)
	c.add(ce.c, &c.taken)
	return ce.c, true
}

// peek answers a cached record without using it: it moves in neither part
// (a reader that is no sender — the calendar — must not promote fresh
// entries to taken, where they would push out what the senders share).
func (c *recordCache) peek(id string) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[id]
	if !ok {
		return cached{}, false
	}
	return e.Value.(*cacheEntry).c, true
}

// put adds a record a sender took, parsing its body, and answers the
// entry.
func (c *recordCache) put(rec *store.Record, seq uint64) cached {
	return c.insert(rec, seq, transform.Parse(&rec.Announcement), &c.taken)
}

// putParsed adds a record Submit wrote, whose body it parsed.
func (c *recordCache) putParsed(rec *store.Record, seq uint64, doc *transform.Doc) cached {
	return c.insert(rec, seq, doc, &c.fresh)
}

func (c *recordCache) insert(rec *store.Record, seq uint64, doc *transform.Doc, part *list.List) cached {
	e := cached{id: rec.Announcement.ID, seq: seq, rec: rec, doc: doc, variants: variantDocs(&rec.Announcement), pols: &recordPolicies{},
		left: new(atomic.Int32)}
	e.left.Store(int32(accountsIn(rec)))
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.items[e.id]; ok {
		ce := old.Value.(*cacheEntry)
		ce.part.MoveToFront(old)
		return ce.c
	}
	c.add(e, part)
	return e
}

// done notes that an account's sender took the record for its targets
// (the first time: not a redelivery); the record leaves the cache once
// every account with targets in it has.
func (c *recordCache) done(e cached) {
	if e.left == nil || e.left.Add(-1) > 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[e.id]; ok {
		el.Value.(*cacheEntry).part.Remove(el)
		delete(c.items, e.id)
	}
}

// accountsIn counts the accounts with targets in rec.
func accountsIn(rec *store.Record) int {
	ds := rec.Destinations
	if len(ds) > 16 { // many groups: a set, not a scan per destination
		seen := make(map[string]struct{}, 8)
		for _, d := range ds {
			seen[d.Account] = struct{}{}
		}
		return len(seen)
	}
	n := 0
	for i, d := range ds {
		if !slices.ContainsFunc(ds[:i], func(o groupcast.Destination) bool { return o.Account == d.Account }) {
			n++
		}
	}
	return n
}

// add puts an entry first in a part and drops that part's least recently
// used beyond the size. c.mu is held.
func (c *recordCache) add(e cached, part *list.List) {
	if c.items == nil {
		c.items = map[string]*list.Element{}
	}
	if c.size <= 0 {
		c.size = recordCacheSize
	}
	c.items[e.id] = part.PushFront(&cacheEntry{c: e, part: part})
	for part.Len() > c.size {
		last := part.Back()
		part.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).c.id)
	}
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
