package router

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/router/jsbus"
	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/tracking"
)

// worker is one account's sender on the replica that owns the account. It
// follows the ledger's records in acceptance order and delivers the
// account's targets one at a time:
//
//   - A target waiting for a time of its own (send_at, a window, a cap, the
//     mix) or for review steps aside: its record is asked back when it is
//     due, and later announcements go meanwhile.
//   - A target waiting for a retry or a platform pause holds the queue:
//     nothing after it goes first.
//   - When a target that stepped aside is due again it goes before every
//     later announcement: ready records are taken by sequence, a record
//     asked back that is due is read from the store by its sequence
//     (fetchDue), and a target about to go looks again, at the instant it
//     is decided, for an older record that fell due meanwhile (a window
//     that opened between the two looks): then it steps back behind it.
//     A due record the store cannot give back after readAheadTries reads
//     goes when JetStream gives its message back, after later ones: the
//     order is given up for it, logged and counted
//     (groupcast_order_given_up_total).
//   - Recalls and review decisions (the control queue) are taken between
//     two sends, before the next target.
type worker struct {
	s    *Service
	name string
	hold *hold

	cancel  context.CancelFunc
	done    chan struct{}
	sendCtx context.Context // a send in flight outlives the stop by ShutdownGrace

	replayed     uint64 // the records' last sequence when the sender started
	nextSeq      uint64 // the record the queue should bring next (0: not known)
	lost         bool   // a queue ended under the sender
	recCh, ctlCh <-chan *message.Message
	ready        entries
	parked       map[uint64]parked
	blockedUntil time.Time // clock time: a retry or a pause holds the queue
	blockedBy    string    // the announcement that holds it
	control      []*controlJob
	cancelled    map[string]bool // announcements recalled: read their targets
	panics       map[uint64]int
	pausedUntil  time.Time
	pauseReason  string
	pauseLoaded  bool
	groups       *groupSlots // the policy state of this account's groups
}

// parked is a record asked back later, and when it is due (clock).
type parked struct {
	due    time.Time
	misses int // reads by sequence that failed since it fell due
}

// readAheadTries is how many times the sender reads a due record by its
// sequence, storeRetry apart, holding the later ones back, before it gives
// up the order for it: a store that cannot answer must not stall the
// account for good (the record's message comes back by itself).
const readAheadTries = 3

// entry is one record the worker holds: new, asked back, or rebuilt from
// the ledger after an approval.
type entry struct {
	seq   uint64
	c     cached
	dests []groupcast.Destination // this account's
	msg   *message.Message        // nil when rebuilt from the ledger
	seen  bool                    // its targets may have a stored state
}

type entries []*entry

func (e entries) Len() int           { return len(e) }
func (e entries) Less(i, j int) bool { return e[i].seq < e[j].seq }
func (e entries) Swap(i, j int)      { e[i], e[j] = e[j], e[i] }
func (e *entries) Push(x any)        { *e = append(*e, x.(*entry)) }
func (e *entries) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

// controlJob is a recall or review decision the worker is working on.
type controlJob struct {
	kind, id string
	msg      *message.Message
	at       time.Time // clock: not before (a recall retried after an outage)
}

func (s *Service) startWorker(ctx context.Context, name string, h *hold) *worker {
	ctx, cancel := context.WithCancel(ctx)
	sendCtx, sendCancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &worker{s: s, name: name, hold: h, cancel: cancel, done: make(chan struct{}), sendCtx: sendCtx,
		parked: map[uint64]parked{}, cancelled: map[string]bool{}, panics: map[uint64]int{}, groups: newGroupSlots(s.st)}
	go func() {
		<-ctx.Done()
		t := time.NewTimer(s.opts.ShutdownGrace)
		defer t.Stop()
		select {
		case <-t.C:
		case <-w.done:
		}
		sendCancel()
	}()
	go func() {
		defer close(w.done)
		w.run(ctx)
	}()
	return w
}

// stop ends the worker after the send in flight, and waits for it.
func (w *worker) stop() {
	w.cancel()
	<-w.done
}

func (w *worker) run(ctx context.Context) {
	s := w.s
	var wg sync.WaitGroup
	defer wg.Wait()
	a := s.account(w.name)
	if a == nil {
		return
	}
	actx, stopAccount := context.WithCancel(ctx)
	defer stopAccount()
	s.startAccount(actx, w.name, a, &wg)
	if w.hold.shared {
		s.st.ForgetHints() // another replica may have written this account's state
	}
	a.pacer.reset()
	a.pacer.setGuard(func() error {
		if ok, _ := w.hold.valid(); !ok {
			return groupcast.Temporary("lease", errors.New("this replica's lease on the account lapsed"))
		}
		return nil
	})

	defer func() {
		// Stopping with the lease still ours: the slots reserved ahead go
		// back (a lapsed lease leaves them counted: another replica may
		// be sending already).
		if ok, _ := w.hold.valid(); ok {
			if err := w.groups.release(w.sendCtx); err != nil {
				s.log.Warn("daily-cap slots reserved ahead not given back: they stay counted today", "account", w.name, "err", err)
			}
		}
	}()
	for ctx.Err() == nil {
		recs, ctl, err := w.subscribe(ctx)
		if err != nil {
			s.log.Warn("account sender not started, trying again", "account", w.name, "err", err)
			sleepCtx(ctx, 2*time.Second)
			continue
		}
		w.lost = false
		for ctx.Err() == nil && !w.lost {
			w.step(ctx)
		}
		_ = recs.Close()
		_ = ctl.Close()
		if w.lost && ctx.Err() == nil {
			// The store went away under a queue: follow it again from the
			// first unacknowledged record; what this sender held comes
			// back with it.
			s.log.Warn("account queue ended; following it again", "account", w.name)
			w.ready, w.control = nil, nil
			clear(w.parked)
			w.blockedUntil, w.blockedBy = time.Time{}, ""
			sleepCtx(ctx, time.Second)
		}
	}
}

// subscribe follows the account's two queues, the records (lookahead
// messages at a time, fetched a quarter of it at a time) and the events,
// each from its first unacknowledged message: whatever a crashed or
// departed owner left unsettled (in flight, or asked back later) comes
// back at once and in order.
func (w *worker) subscribe(ctx context.Context) (recs, ctl *jsbus.Subscriber, err error) {
	s := w.s
	js := s.st.JetStream()
	open := func(stream, durable string, inFlight, fetchMin int) (*jsbus.Subscriber, <-chan *message.Message, error) {
		floor, err := jsbus.AckFloor(ctx, js, stream, durable)
		if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, nil, err
		}
		if stream == store.RecordsStream {
			w.nextSeq = floor + 1 // the consumer starts there again
		}
		sub, err := jsbus.NewSubscriber(jsbus.SubscriberConfig{JetStream: js, Stream: stream, Durable: durable,
			AckWait: s.opts.AckWait, InFlight: inFlight, FetchMin: fetchMin, RecreateFrom: floor + 1, Logger: s.log})
		if err != nil {
			return nil, nil, err
		}
		ch, err := sub.Subscribe(ctx, "") // the whole stream
		if err != nil {
			_ = sub.Close()
			return nil, nil, err
		}
		return sub, ch, nil
	}
	// Records up to here may have been worked on (before a crash, or by
	// another replica): their targets' states are read.
	st, err := js.Stream(ctx, store.RecordsStream)
	if err != nil {
		return nil, nil, err
	}
	w.replayed = st.CachedInfo().State.LastSeq
	// Records are fetched a quarter of the lookahead at a time (the sender
	// still holds the other three quarters); control jobs at once.
	if recs, w.recCh, err = open(store.RecordsStream, store.ConsumerPrefix+w.name, s.opts.Lookahead, s.opts.Lookahead/4); err != nil {
		return nil, nil, err
	}
	if ctl, w.ctlCh, err = open(store.EventsStream, store.ControlPrefix+w.name, 16, 1); err != nil {
		_ = recs.Close()
		return nil, nil, err
	}
	return recs, ctl, nil
}

// step does one thing: a control job, one record, or a wait.
func (w *worker) step(ctx context.Context) {
	s := w.s
	w.take(ctx, false)
	now := s.clock.Now()
	if j := w.dueControl(now); j != nil {
		w.runControl(j)
		return
	}
	if now.Before(w.blockedUntil) {
		w.wait(ctx, w.blockedUntil.Sub(now))
		return
	}
	if len(w.ready) == 0 {
		w.wait(ctx, w.nextWake(now))
		return
	}
	e := w.ready[0]
	added, pending := w.fetchDue(e.seq, now)
	if pending {
		// An older due record could not be read: the later ones wait for
		// it (its own message may come back meanwhile).
		w.waitRead(ctx, e.seq)
		return
	}
	if added {
		return // older records that are due now come first: the heap has them
	}
	if f := s.beforeProcess.Load(); f != nil {
		(*f)(e.c.id)
	}
	heap.Pop(&w.ready)
	w.process(e)
}

// take moves what the queues have delivered into the worker; with block it
// waits for something first.
func (w *worker) take(ctx context.Context, block bool) {
	for {
		var m *message.Message
		var fromCtl, ok bool
		if block {
			select {
			case m, ok = <-w.recCh:
			case m, ok = <-w.ctlCh:
				fromCtl = true
			case <-ctx.Done():
				return
			}
		} else {
			select {
			case m, ok = <-w.ctlCh:
				fromCtl = true
			case m, ok = <-w.recCh:
			default:
				return
			}
		}
		if !ok {
			w.lost = true // a queue ended (the store went away): run follows it again
			return
		}
		if fromCtl {
			w.admitControl(m)
		} else {
			w.admit(m)
		}
		block = false
	}
}

// wait waits for d (clock time, at most MaxDeferWait of real time) or for
// something to arrive.
func (w *worker) wait(ctx context.Context, d time.Duration) {
	d = min(max(d, time.Millisecond), w.s.opts.MaxDeferWait)
	t := time.NewTimer(d)
	defer t.Stop()
	var m *message.Message
	var ok bool
	select {
	case m, ok = <-w.recCh:
		if ok {
			w.admit(m)
		}
	case m, ok = <-w.ctlCh:
		if ok {
			w.admitControl(m)
		}
	case <-t.C:
		return
	case <-ctx.Done():
		return
	}
	if !ok {
		w.lost = true
	}
}

// nextWake is how long to wait with nothing ready: until the first control
// job is due, else a while.
func (w *worker) nextWake(now time.Time) time.Duration {
	d := w.s.opts.MaxDeferWait
	for _, j := range w.control {
		d = min(d, j.at.Sub(now))
	}
	return d
}

// fetchDue takes the records older than seq that are due now but still
// asked back (JetStream gives them back on its own time) straight from the
// store by their sequence, so that they go before seq: order does not hang
// on redelivery timing. When their messages come back later they find
// their targets settled. It reports whether it added any, and whether one
// could not be read yet (it stays asked back and is read again; after
// readAheadTries failed reads the order is given up for it).
func (w *worker) fetchDue(seq uint64, now time.Time) (added, pending bool) {
	for ps, p := range w.parked {
		if ps >= seq || p.due.After(now) {
			continue
		}
		rec, err := w.readAhead(ps)
		if err != nil {
			switch {
			case errors.Is(err, groupcast.ErrNotFound):
				// Gone (retention): its message is gone with it.
				delete(w.parked, ps)
				w.s.log.Debug("due record no longer in the ledger", "account", w.name, "seq", ps)
			case p.misses+1 >= readAheadTries:
				delete(w.parked, ps)
				w.s.metrics.orderGivenUp.WithLabelValues(w.name).Inc()
				w.s.log.Warn("due record not read from the store: it goes when its message comes back, after later announcements",
					"account", w.name, "seq", ps, "tries", readAheadTries, "err", err)
			default:
				p.misses++
				w.parked[ps] = p
				pending = true
				w.s.log.Debug("due record not read from the store: later announcements wait", "account", w.name, "seq", ps, "err", err)
			}
			continue
		}
		delete(w.parked, ps)
		c, ok := w.s.records.get(rec.Announcement.ID)
		if !ok {
			c = w.s.records.put(rec, ps)
		}
		var dests []groupcast.Destination
		for _, d := range c.rec.Destinations {
			if d.Account == w.name {
				dests = append(dests, d)
			}
		}
		heap.Push(&w.ready, &entry{seq: ps, c: c, dests: dests, seen: true})
		added = true
	}
	return added, pending
}

// waitRead waits storeRetry (real time: it spaces reads of a store that
// failed) before a due record older than seq that could not be read is
// read again, taking in what arrives meanwhile; it ends early when the
// record's own message came back.
func (w *worker) waitRead(ctx context.Context, seq uint64) {
	until := time.Now().Add(storeRetry)
	for ctx.Err() == nil && !w.lost && w.readPending(seq) {
		d := time.Until(until)
		if d <= 0 {
			return
		}
		w.wait(ctx, d)
	}
}

// readPending reports whether a record older than seq is asked back after
// a failed read.
func (w *worker) readPending(seq uint64) bool {
	for ps, p := range w.parked {
		if ps < seq && p.misses > 0 {
			return true
		}
	}
	return false
}

// readAhead reads a record asked back by its sequence.
func (w *worker) readAhead(seq uint64) (*store.Record, error) {
	if f := w.s.readAheadFault.Load(); f != nil {
		if err := (*f)(seq); err != nil {
			return nil, err
		}
	}
	return w.s.st.RecordBySeq(w.sendCtx, seq)
}

// olderDue reports whether a record older than seq, asked back, is due at
// now: the record at seq must not go before it.
func (w *worker) olderDue(seq uint64, now time.Time) bool {
	for ps, p := range w.parked {
		if ps < seq && !p.due.After(now) {
			return true
		}
	}
	return false
}

// maxGap bounds the records a sender reads ahead for a gap in its queue:
// a larger one is records gone from the stream (retention), not lost on
// their way.
const maxGap = 1024

// admit takes in one record message.
func (w *worker) admit(m *message.Message) {
	seq := jsbus.StreamSeq(m)
	if f := w.s.lostRecord.Load(); f != nil && (*f)(w.name, seq, jsbus.Deliveries(m)) {
		jsbus.NackAfter(m, time.Second) // lost on its way: back after a while
		m.Nack()
		return
	}
	w.s.intake.taken(w.name, seq)
	delete(w.parked, seq)
	w.noteGap(seq)
	_, id, _ := store.KeyOf(m.Metadata.Get(jsbus.MetaStreamSubject))
	c, err := w.s.cachedRecord(id, seq, m.Payload)
	if err != nil {
		w.s.log.Error("undecodable record in the ledger: skipped", "account", w.name, "seq", seq, "err", err)
		m.Ack()
		return
	}
	var dests []groupcast.Destination
	for _, d := range c.rec.Destinations {
		if d.Account == w.name {
			dests = append(dests, d)
		}
	}
	if len(dests) == 0 {
		m.Ack()
		return
	}
	if jsbus.Deliveries(m) == 1 {
		w.s.records.done(c) // this account's sender will not ask for it again
	}
	e := &entry{seq: seq, c: c, dests: dests, msg: m,
		seen: seq <= w.replayed || jsbus.Deliveries(m) > 1 || w.cancelled[c.id]}
	heap.Push(&w.ready, e)
	if w.s.clock.Now().Before(w.pausedUntil) && w.blockedUntil.Equal(w.pausedUntil) {
		w.markPaused()
	}
}

// noteGap follows the sequence the queue brings records in: the consumer
// takes the whole stream in order, so a record that comes before the ones
// between it and the last one means those were lost on their way (a
// fetch cut by a leader going away); JetStream gives them back only after
// the ack wait. They are asked back due now, so that the sender reads
// them ahead by their sequence (fetchDue) before this later one goes.
func (w *worker) noteGap(seq uint64) {
	if w.nextSeq != 0 && seq > w.nextSeq && seq-w.nextSeq <= maxGap {
		now := w.s.clock.Now()
		for ps := w.nextSeq; ps < seq; ps++ {
			if _, ok := w.parked[ps]; !ok {
				w.parked[ps] = parked{due: now}
			}
		}
		w.s.log.Debug("records missing from the queue: read ahead before later ones", "account", w.name,
			"from", w.nextSeq, "to", seq-1)
	}
	if seq >= w.nextSeq {
		w.nextSeq = seq + 1
	}
}

// process runs one record's targets for this account, and settles the
// record message: acked when every target is done, asked back when one
// waits aside, kept when one holds the queue.
func (w *worker) process(e *entry) {
	defer func() {
		if p := recover(); p != nil {
			w.poisoned(e, fmt.Sprint(p))
		}
	}()
	var due time.Time
	waiting := false
	for _, d := range e.dests {
		r := w.deliver(e, d)
		switch r.step {
		case stepPark:
			waiting = true
			if due.IsZero() || r.at.Before(due) {
				due = r.at
			}
		case stepHold:
			waiting = true
			if due.IsZero() {
				due = w.s.clock.Now().Add(w.s.opts.MaxDeferWait)
			}
		case stepBlockQ:
			// Hold the queue: this record stays first, unsettled.
			e.seen = true
			w.blockedUntil, w.blockedBy = r.at, e.c.id
			heap.Push(&w.ready, e)
			return
		case stepStop:
			w.cancel() // stopping (or no longer the owner): the record comes back to the next owner
			return
		case stepYield:
			// An older record fell due since the step looked: it goes
			// first; this one (its earlier targets settled) comes after.
			e.seen = true
			heap.Push(&w.ready, e)
			return
		}
	}
	delete(w.panics, e.seq)
	if e.msg == nil {
		// Read ahead, or rebuilt after an approval: the original message
		// is still asked back. Waiting again, it is remembered with its
		// new due time, so that it is read ahead again then.
		if waiting {
			w.parked[e.seq] = parked{due: due}
		}
		return
	}
	if !waiting {
		e.msg.Ack()
		return
	}
	delay := min(max(due.Sub(w.s.clock.Now()), 0), w.s.opts.MaxDeferWait)
	w.parked[e.seq] = parked{due: due}
	jsbus.NackAfter(e.msg, delay)
	e.msg.Nack()
}

// poisoned ends a record's targets failed after a sender panicked on it
// three times, so that it does not wedge the account.
func (w *worker) poisoned(e *entry, p string) {
	s := w.s
	w.panics[e.seq]++
	s.log.Error("sender panicked", "account", w.name, "announcement", e.c.id, "panic", p, "times", w.panics[e.seq])
	if w.panics[e.seq] < 3 {
		e.seen = true
		heap.Push(&w.ready, e)
		return
	}
	delete(w.panics, e.seq)
	for _, d := range e.dests {
		_, err := s.settle(context.Background(), e.c.rec, d, func(t *store.TargetRecord) error {
			if t.State.Terminal() {
				return store.ErrUnchanged
			}
			t.State, t.Reason, t.NotBefore = groupcast.StateFailed, "poison: the sender panicked on it: "+p, nil
			return nil
		})
		if ignoreUnchanged(err) != nil {
			s.log.Error("poisoned target not recorded", "announcement", e.c.id, "account", w.name, "err", err)
		}
	}
	if e.msg != nil {
		e.msg.Ack()
	}
}

// result is what delivering one target came to.
type result struct {
	step step
	at   time.Time // stepPark, stepBlockQ: until when
}

// storeRetry is how soon a target is tried again after the store failed.
const storeRetry = time.Second

// deliver runs the steps for one target and settles the outcome.
func (w *worker) deliver(e *entry, d groupcast.Destination) result {
	s, ctx := w.s, w.sendCtx
	rec, id := e.c.rec, e.c.id
	now := s.clock.Now()
	if w.olderDue(e.seq, now) {
		// The clock moved past an older record's due time since the step
		// looked (a window opened): decided at this instant, it goes first.
		return result{step: stepYield}
	}
	blockFor := func(err error) result {
		s.log.Warn("store failed: the account's queue waits", "announcement", id, "account", w.name, "err", err)
		return result{step: stepBlockQ, at: now.Add(storeRetry)}
	}
	t := implied(rec, d)
	if e.seen {
		got, _, err := s.st.Target(ctx, id, d.Key())
		switch {
		case err == nil:
			t = got
		case !errors.Is(err, groupcast.ErrNotFound):
			return blockFor(err)
		}
	}
	if t.State.Terminal() {
		return result{step: stepEnd}
	}
	if t.State == groupcast.StateHeld {
		if exp := rec.Announcement.ExpiresAt; exp != nil && !now.Before(*exp) {
			return w.end(rec, d, t, groupcast.StateExpired, "expires_at "+exp.Format(time.RFC3339)+" passed while held for review")
		}
		return result{step: stepHold}
	}
	a := s.account(w.name)
	if a == nil {
		return result{step: stepStop}
	}
	if err := w.loadPause(ctx); err != nil {
		return blockFor(err)
	}
	in := stepInput{rec: rec, dest: d, target: t, now: now,
		pausedUntil: w.pausedUntil, pauseReason: w.pauseReason}
	in.doc, in.variant = e.c.docFor(d)
	if rec.Tracking != "" {
		secret, err := s.trackingSecret(ctx)
		if err != nil {
			return blockFor(err)
		}
		in.track = tracking.NewRewriter(rec.Tracking, secret, id, d)
	}
	var err error
	if in.pol, err = s.policyFor(e.c, d); err != nil {
		return w.end(rec, d, t, groupcast.StateFailed, "policy: "+err.Error())
	}
	if in.pol != nil {
		if in.group, err = w.groups.state(ctx, d.Key()); err != nil {
			return blockFor(err)
		}
	}
	o := evaluate(in)
	if o.step == stepHold {
		// Ask the review only now: most targets are never held.
		rv, err := s.st.Review(ctx, id)
		switch {
		case err == nil:
			in.review = rv
			o = evaluate(in)
		case !errors.Is(err, groupcast.ErrNotFound):
			return blockFor(err)
		case t.State == groupcast.StateQueued && strings.HasPrefix(t.Reason, approvedBy):
			// Decide released the target and has not written its event
			// yet (it writes it last): the approval is in the target.
			// Holding it again here would lose the approval.
			in.review = &store.Review{Decision: "approved", By: strings.TrimPrefix(t.Reason, approvedBy)}
			o = evaluate(in)
		}
	}
	s.countHits(rec, d, t, o)
	switch o.step {
	case stepEnd:
		return w.end(rec, d, t, o.state, o.reason)
	case stepPark, stepHold, stepBlockQ:
		if o.step == stepBlockQ && o.state == groupcast.StateQueued {
			return result{step: stepBlockQ, at: *o.notBefore} // a retry already written
		}
		if t.State != o.state || t.Reason != o.reason || !sameTime(t.NotBefore, o.notBefore) {
			if o.state == groupcast.StateScheduled && !e.seen {
				// What the record says already: nothing to write.
			} else if _, err := s.settleTarget(ctx, rec, d, freshOf(e, t), func(t *store.TargetRecord) error {
				if t.State.Terminal() {
					return store.ErrUnchanged
				}
				t.State, t.Reason, t.NotBefore = o.state, o.reason, o.notBefore
				t.HitsCounted = t.HitsCounted || len(o.decision.Hits) > 0
				return nil
			}); ignoreUnchanged(err) != nil {
				return blockFor(err)
			}
			e.seen = true
		}
		r := result{step: o.step}
		if o.notBefore != nil {
			r.at = *o.notBefore
		}
		return r
	}
	return w.send(e, a, d, t, o)
}

// freshOf is t, the target as its record implies it, when the sender has
// seen no stored state for it (a create may be tried without a read); nil
// otherwise.
func freshOf(e *entry, t *store.TargetRecord) *store.TargetRecord {
	if e.seen {
		return nil
	}
	return t
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// end settles a terminal state.
func (w *worker) end(rec *store.Record, d groupcast.Destination, t *store.TargetRecord, state groupcast.State, reason string) result {
	_, err := w.s.settle(w.sendCtx, rec, d, func(t *store.TargetRecord) error {
		if t.State.Terminal() {
			return store.ErrUnchanged
		}
		t.State, t.Reason, t.NotBefore = state, reason, nil
		return nil
	})
	if err = ignoreUnchanged(err); err != nil {
		w.s.log.Warn("store failed: the account's queue waits", "announcement", rec.Announcement.ID, "account", w.name, "err", err)
		return result{step: stepBlockQ, at: w.s.clock.Now().Add(storeRetry)}
	}
	return result{step: stepEnd}
}

// control ---------------------------------------------------------------

func (w *worker) admitControl(m *message.Message) {
	kind, id, ok := store.KeyOf(m.Metadata.Get(jsbus.MetaStreamSubject))
	if !ok {
		m.Ack()
		return
	}
	w.control = append(w.control, &controlJob{kind: kind, id: id, msg: m})
	if kind == store.KindRecall {
		w.cancelled[id] = true
		for _, e := range w.ready {
			if e.c.id == id {
				e.seen = true
			}
		}
	}
}

func (w *worker) dueControl(now time.Time) *controlJob {
	for i, j := range w.control {
		if !j.at.After(now) {
			w.control = slices.Delete(w.control, i, i+1)
			return j
		}
	}
	return nil
}

func (w *worker) runControl(j *controlJob) {
	var again time.Time
	var err error
	switch j.kind {
	case store.KindRecall:
		again, err = w.recall(j.id)
	case store.KindReview:
		err = w.reviewed(j.id)
	}
	switch {
	case err != nil:
		w.s.log.Warn("store failed: control job tried again", "account", w.name, "announcement", j.id, "err", err)
		j.at = w.s.clock.Now().Add(storeRetry)
		w.control = append(w.control, j)
	case !again.IsZero():
		j.at = again
		w.control = append(w.control, j)
	default:
		j.msg.Ack()
	}
}

// reviewed releases this account's targets of an approved announcement:
// the record is read back from the ledger and taken in order again.
func (w *worker) reviewed(id string) error {
	s := w.s
	rv, err := s.st.Review(w.sendCtx, id)
	if errors.Is(err, groupcast.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rv.Decision != "approved" {
		return nil // rejected targets were written by the decision
	}
	c, seq, err := s.recordByID(w.sendCtx, id)
	if errors.Is(err, groupcast.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var dests []groupcast.Destination
	for _, d := range c.rec.Destinations {
		if d.Account == w.name {
			dests = append(dests, d)
		}
	}
	if len(dests) == 0 {
		return nil
	}
	delete(w.parked, seq)
	heap.Push(&w.ready, &entry{seq: seq, c: c, dests: dests, seen: true})
	return nil
}
