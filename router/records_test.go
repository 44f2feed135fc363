package router

import (
	"context"
	"fmt"
	"testing"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/transform"
)

func cacheRecord(i int) *store.Record {
	return &store.Record{Announcement: groupcast.Announcement{ID: fmt.Sprint("a", i), Title: "t", Body: "b"}}
}

// What one sender took stays for the others however many announcements
// Submit writes meanwhile; what nobody took goes first.
func TestRecordCacheKeepsWhatASenderTook(t *testing.T) {
	c := &recordCache{size: 4}
	for i := range 4 {
		r := cacheRecord(i)
		c.putParsed(r, uint64(i), transform.Parse(&r.Announcement))
	}
	if _, ok := c.get("a0"); !ok { // a sender takes a0: moved to the taken part
		t.Fatal("a0 not cached")
	}
	c.put(cacheRecord(100), 100) // a sender's miss
	for i := 4; i < 20; i++ {    // a burst of new announcements
		r := cacheRecord(i)
		c.putParsed(r, uint64(i), transform.Parse(&r.Announcement))
	}
	for _, id := range []string{"a0", "a100", "a16", "a19"} {
		if _, ok := c.get(id); !ok {
			t.Errorf("%s was dropped", id)
		}
	}
	for _, id := range []string{"a1", "a3", "a15"} {
		if _, ok := c.get(id); ok {
			t.Errorf("%s is still cached: the fresh part is bounded", id)
		}
	}
	if n := len(c.items); n != c.fresh.Len()+c.taken.Len() || c.fresh.Len() > 4 || c.taken.Len() > 4 {
		t.Fatalf("%d items, fresh %d, taken %d", n, c.fresh.Len(), c.taken.Len())
	}
	// The same record put twice is one entry, the first.
	first, _ := c.get("a0")
	if again := c.put(first.rec, first.seq); again.doc != first.doc {
		t.Fatal("a second put replaced the entry")
	}
}

// The calendar reads records without using them: a fresh entry it reads
// stays fresh, and what the senders took is not pushed out.
func TestCalendarDoesNotChurnRecordCache(t *testing.T) {
	s := &Service{records: recordCache{size: 2}}
	for i := range 2 {
		r := cacheRecord(i)
		s.records.putParsed(r, uint64(i), transform.Parse(&r.Announcement))
	}
	s.records.put(cacheRecord(100), 100) // taken by senders
	s.records.put(cacheRecord(101), 101)
	for range 3 { // page views
		for _, id := range []string{"a0", "a1"} {
			rec, err := s.calendarRecord(context.Background(), id)
			if err != nil || rec.Announcement.ID != id {
				t.Fatalf("%s: %v, %v", id, rec, err)
			}
		}
	}
	if s.records.fresh.Len() != 2 || s.records.taken.Len() != 2 {
		t.Errorf("fresh %d, taken %d; want 2 and 2", s.records.fresh.Len(), s.records.taken.Len())
	}
	for _, id := range []string{"a100", "a101"} {
		if _, ok := s.records.peek(id); !ok {
			t.Errorf("%s, taken by the senders, was pushed out by the calendar", id)
		}
	}
	if _, ok := s.records.get("a0"); !ok || s.records.taken.Front().Value.(*cacheEntry).c.id != "a0" {
		t.Error("a sender's get no longer promotes")
	}
}

// A record leaves the cache once every account with targets in it has
// taken it: the room goes to records a sender has yet to reach.
func TestRecordCacheDropsWhatEveryAccountTook(t *testing.T) {
	rec := func(i int, accounts ...string) *store.Record {
		r := cacheRecord(i)
		for _, a := range accounts {
			r.Destinations = append(r.Destinations, groupcast.Destination{Account: a, Group: "g"})
		}
		return r
	}
	for _, tc := range []struct {
		name     string
		accounts []string
		takes    int
		kept     bool
	}{
		{"no account has taken it", []string{"a", "b", "c"}, 0, true},
		{"two of three accounts", []string{"a", "b", "c"}, 2, true},
		{"every account", []string{"a", "b", "c"}, 3, false},
		{"two groups of one account count once", []string{"a", "a", "b"}, 2, false},
		{"two groups of one account, one taker", []string{"a", "a", "b"}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &recordCache{size: 4}
			r := rec(1, tc.accounts...)
			c.putParsed(r, 1, transform.Parse(&r.Announcement))
			other := rec(2, "a")
			c.put(other, 2)
			for range tc.takes {
				e, ok := c.get("a1")
				if !ok {
					t.Fatal("dropped before every account took it")
				}
				c.done(e)
			}
			if _, ok := c.get("a1"); ok != tc.kept {
				t.Fatalf("cached = %v, want %v", ok, tc.kept)
			}
			if _, ok := c.get("a2"); !ok {
				t.Fatal("another record was dropped")
			}
			if n := len(c.items); n != c.fresh.Len()+c.taken.Len() {
				t.Fatalf("%d items, fresh %d, taken %d", n, c.fresh.Len(), c.taken.Len())
			}
		})
	}
	// An entry dropped meanwhile (the bound) is no error; the count is
	// shared by the copies of an entry.
	c := &recordCache{size: 1}
	r := rec(1, "a", "b")
	e := c.put(r, 1)
	c.put(rec(2, "a"), 2) // pushes a1 out
	c.done(e)
	c.done(e)
	if _, ok := c.get("a2"); !ok {
		t.Fatal("a2 dropped by done on a record no longer cached")
	}
}

func TestAccountsIn(t *testing.T) {
	for _, n := range []int{0, 1, 5, 16, 17, 200} {
		r := cacheRecord(1)
		want := 0
		for i := range n {
			a := fmt.Sprint("acct", i%7)
			if i < 7 {
				want++
			}
			r.Destinations = append(r.Destinations, groupcast.Destination{Account: a, Group: fmt.Sprint(i)})
		}
		if got := accountsIn(r); got != want {
			t.Errorf("%d destinations: %d accounts, want %d", n, got, want)
		}
	}
}
