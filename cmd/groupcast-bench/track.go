package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/groupcast/groupcast"
)

// targetRef names one planned target (what POST /v1/preview answers).
type targetRef struct {
	Account string `json:"account"`
	Group   string `json:"group"`
}

func (t targetRef) key() string { return t.Account + "\x00" + t.Group }

// outcome of one target of one accepted announcement.
type outcome struct {
	state       groupcast.State // "" while unknown
	deliveredAt time.Time
	lines       int // file lines seen (more than one is a duplicate)
}

// entry is one accepted announcement.
type entry struct {
	sentAt     time.Time // when the request started
	acceptedAt time.Time // when the 202 came back
	replica    int       // the daemon that answered it (0 with one daemon)
	targets    []outcome
	open       int // targets not terminal yet
}

// seenLine is a delivery read from a file before its 202 was processed.
type seenLine struct {
	key string
	at  time.Time
}

// tracker matches the announcements a phase posted with the deliveries the
// daemon made. Announcements of other phases (other id prefixes) are
// ignored.
type tracker struct {
	prefix  string
	targets []targetRef
	index   map[string]int // targetRef.key → position
	viaFile []bool         // target i is on a file-driver account

	mu         sync.Mutex
	entries    map[string]*entry
	early      map[string][]seenLine // lines for ids not accepted yet
	open       int                   // accepted announcements with open targets
	deliveries int
	duplicates int
	lastAt     time.Time
	unexpected int // lines for ids that were never accepted (checked at the end)
	outcomes   map[string]int
}

func newTracker(prefix string, targets []targetRef, files map[string]string) *tracker {
	t := &tracker{prefix: prefix, targets: targets, index: map[string]int{}, entries: map[string]*entry{},
		early: map[string][]seenLine{}, outcomes: map[string]int{}}
	for i, r := range targets {
		t.index[r.key()] = i
		_, ok := files[r.Account]
		t.viaFile = append(t.viaFile, ok)
	}
	return t
}

// allViaFile is true when every target's delivery shows up in a file.
func (t *tracker) allViaFile() bool {
	for _, f := range t.viaFile {
		if !f {
			return false
		}
	}
	return true
}

// accepted records a 202.
func (t *tracker) accepted(id string, sent, at time.Time) { t.acceptedBy(id, sent, at, 0) }

// acceptedBy records a 202 from daemon replica.
func (t *tracker) acceptedBy(id string, sent, at time.Time, replica int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.entries[id]; ok {
		return
	}
	e := &entry{sentAt: sent, acceptedAt: at, replica: replica, targets: make([]outcome, len(t.targets)), open: len(t.targets)}
	t.entries[id] = e
	t.open++
	for _, l := range t.early[id] {
		t.deliveredLocked(e, l.key, l.at)
	}
	delete(t.early, id)
}

// line records one delivery line of a file driver.
func (t *tracker) line(id, account, group string, at time.Time) {
	if !strings.HasPrefix(id, t.prefix) {
		return
	}
	key := account + "\x00" + group
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[id]
	if !ok {
		t.early[id] = append(t.early[id], seenLine{key, at})
		return
	}
	t.deliveredLocked(e, key, at)
}

func (t *tracker) deliveredLocked(e *entry, key string, at time.Time) {
	i, ok := t.index[key]
	if !ok {
		t.unexpected++
		return
	}
	o := &e.targets[i]
	o.lines++
	if o.lines > 1 {
		t.duplicates++
		return
	}
	if o.state != "" { // already settled by a status poll
		return
	}
	t.settleLocked(e, i, groupcast.StateDelivered, at)
}

func (t *tracker) settleLocked(e *entry, i int, st groupcast.State, at time.Time) {
	o := &e.targets[i]
	o.state = st
	t.outcomes[string(st)]++
	if st == groupcast.StateDelivered {
		o.deliveredAt = at
		t.deliveries++
		if at.After(t.lastAt) {
			t.lastAt = at
		}
	}
	e.open--
	if e.open == 0 {
		t.open--
	}
}

// status records what GET /v1/messages/{id} says: terminal targets that no
// file shows (failed ones, or targets on other drivers) are settled.
func (t *tracker) status(st groupcast.Status) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[st.ID]
	if !ok {
		return
	}
	for _, tg := range st.Targets {
		i, ok := t.index[targetRef{tg.Account, tg.Group}.key()]
		if !ok || e.targets[i].state != "" || !tg.State.Terminal() {
			continue
		}
		if tg.State == groupcast.StateDelivered && t.viaFile[i] {
			continue // the file line carries the exact time; it is on its way
		}
		t.settleLocked(e, i, tg.State, tg.UpdatedAt)
	}
}

// openIDs lists up to n accepted announcements with open targets.
func (t *tracker) openIDs(n int) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for id, e := range t.entries {
		if e.open > 0 {
			out = append(out, id)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

type trackerCounts struct {
	accepted, open, deliveries int
	lastAt                     time.Time
}

func (t *tracker) counts() trackerCounts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return trackerCounts{accepted: len(t.entries), open: t.open, deliveries: t.deliveries, lastAt: t.lastAt}
}

// fileLine is the part of a file driver line the bench reads.
type fileLine struct {
	Announcement string    `json:"announcement"`
	Account      string    `json:"account"`
	Group        string    `json:"group"`
	Time         time.Time `json:"time"`
}

// lineSplitter turns appended chunks of a file into whole lines, keeping a
// partial last line until its newline arrives.
type lineSplitter struct {
	partial []byte
}

// feed calls fn for every complete line in chunk (without the newline).
func (s *lineSplitter) feed(chunk []byte, fn func([]byte)) {
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			s.partial = append(s.partial, chunk...)
			return
		}
		if len(s.partial) > 0 {
			s.partial = append(s.partial, chunk[:i]...)
			fn(s.partial)
			s.partial = s.partial[:0]
		} else {
			fn(chunk[:i])
		}
		chunk = chunk[i+1:]
	}
}

// tailer follows one delivery file from where it was when created, and
// hands each line to the current tracker.
type tailer struct {
	path    string
	cur     *atomic.Pointer[tracker]
	off     int64
	split   lineSplitter
	buf     []byte
	bad     atomic.Int64 // lines that did not decode
	readErr atomic.Value // last read error (string)
}

func newTailer(path string, cur *atomic.Pointer[tracker]) *tailer {
	t := &tailer{path: path, cur: cur, buf: make([]byte, 1<<20)}
	if fi, err := os.Stat(path); err == nil {
		t.off = fi.Size() // a --config run may append to an old file
	}
	return t
}

// poll reads whatever was appended since the last poll.
func (t *tailer) poll() {
	f, err := os.Open(t.path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			t.readErr.Store(err.Error())
		}
		return
	}
	defer f.Close()
	for {
		n, err := f.ReadAt(t.buf, t.off)
		if n > 0 {
			t.off += int64(n)
			t.split.feed(t.buf[:n], t.handle)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.readErr.Store(err.Error())
			}
			return
		}
	}
}

func (t *tailer) handle(b []byte) {
	var l fileLine
	if err := json.Unmarshal(b, &l); err != nil || l.Announcement == "" {
		t.bad.Add(1)
		return
	}
	if tr := t.cur.Load(); tr != nil {
		tr.line(l.Announcement, l.Account, l.Group, l.Time)
	}
}

// follow polls every interval until ctx ends, then once more.
func (t *tailer) follow(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		t.poll()
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.poll()
			return
		}
	}
}
