package router

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/store"
)

// send takes the target's daily-cap slot, claims it, sends it and settles
// what the platform answered.
func (w *worker) send(e *entry, a *account, d groupcast.Destination, t *store.TargetRecord, o outcome) result {
	s, ctx := w.s, w.sendCtx
	rec, id := e.c.rec, e.c.id
	now := s.clock.Now()
	reserved := t.Reserved
	if o.policy != nil && reserved != o.policy.DayKey(now) {
		// The slot is taken once per day: a retry today keeps the one the
		// first attempt took (the target records it).
		day, ok, err := w.groups.take(ctx, o.policy, d, rec.Announcement.Category, now, o.decision)
		if err != nil {
			w.s.log.Warn("store failed: the account's queue waits", "announcement", id, "account", w.name, "err", err)
			return result{step: stepBlockQ, at: now.Add(storeRetry)}
		}
		if !ok {
			// Another sender took the last slot since the read: the cap
			// deferral, decided again on the state as it is now.
			g, err := w.groups.state(ctx, d.Key())
			if err != nil {
				return result{step: stepBlockQ, at: now.Add(storeRetry)}
			}
			in := policy.Input{Announcement: &rec.Announcement, Destination: d, Rendered: o.rendered, Now: now, Approved: true}
			o.policy.Fill(&in, g)
			dec := o.policy.Decide(in)
			nb := dec.NotBefore
			if dec.Action != policy.Defer {
				nb = now.Add(storeRetry)
			}
			if _, err := s.settle(ctx, rec, d, func(t *store.TargetRecord) error {
				t.State, t.Reason, t.NotBefore = groupcast.StateDeferred, dec.Reason, &nb
				return nil
			}); ignoreUnchanged(err) != nil {
				return result{step: stepBlockQ, at: now.Add(storeRetry)}
			}
			return result{step: stepPark, at: nb}
		}
		reserved = day
	}
	// Tracked links: what each code stands for is stored before the text
	// carrying it goes out (the codes are the same on every attempt).
	if len(o.links) > 0 {
		if err := s.st.PutLinks(ctx, o.links); err != nil {
			w.s.log.Warn("store failed: the account's queue waits", "announcement", id, "account", w.name, "err", err)
			return result{step: stepBlockQ, at: now.Add(storeRetry)}
		}
	}
	// Claim: on a shared store the claim is written before anything goes
	// out, fenced by the lease, so a replica whose lease has moved on
	// sends nothing; a multi-part send resumes after the parts recorded.
	valid, fence := w.hold.valid()
	if !valid {
		return result{step: stepStop}
	}
	if w.hold.shared {
		// The lease as the store has it: a replica whose lease moved on
		// (a pause longer than its deadline, say) claims nothing.
		if err := s.st.CheckLease(ctx, w.name, fence); errors.Is(err, store.ErrLeaseLost) {
			s.log.Warn("lease no longer ours: not claiming", "announcement", id, "account", w.name, "err", err)
			return result{step: stepStop}
		} else if err != nil {
			// Not known either way (a timeout, a leader election): ask again.
			s.log.Warn("lease not checked: the account's queue waits", "announcement", id, "account", w.name, "err", err)
			return result{step: stepBlockQ, at: now.Add(storeRetry)}
		}
	}
	claimed := t
	if w.hold.shared {
		var err error
		claimed, err = s.settleTarget(ctx, rec, d, freshOf(e, t), func(t *store.TargetRecord) error {
			if t.State.Terminal() || t.State == groupcast.StateHeld {
				return store.ErrUnchanged
			}
			t.State, t.Fence, t.NotBefore = groupcast.StateSending, fence, nil
			t.Attempts++
			t.Reserved = reserved
			return nil
		})
		if errors.Is(err, store.ErrUnchanged) {
			return result{step: stepEnd}
		}
		if err != nil {
			return result{step: stepBlockQ, at: now.Add(storeRetry)}
		}
	}
	done := append([]string(nil), claimed.PlatformMessageIDs...)
	if claimed.PartsSent < len(done) {
		done = done[:claimed.PartsSent]
	}
	out := groupcast.Outgoing{
		DeliveryID: id + "/" + d.Key(), Announcement: &rec.Announcement, Group: d.Group,
		Destination: d, Rendered: o.rendered, Done: done,
		Progress: func(ctx context.Context, part, parts int, messageID string) error {
			if ok, _ := w.hold.valid(); !ok {
				return groupcast.Temporary("lease", errors.New("this replica's lease on the account lapsed"))
			}
			_, err := s.settle(ctx, rec, d, func(t *store.TargetRecord) error {
				if t.PartsSent >= part {
					return store.ErrUnchanged
				}
				t.State, t.Parts, t.PartsSent, t.NotBefore = groupcast.StateSending, parts, part, nil
				t.PlatformMessageIDs = append(t.PlatformMessageIDs[:min(len(t.PlatformMessageIDs), part-1)], messageID)
				return nil
			})
			if err = ignoreUnchanged(err); err != nil {
				return groupcast.Temporary("store", fmt.Errorf("recording part %d/%d: %w", part, parts, err))
			}
			return nil
		},
	}
	receipt, sendErr := a.sender.Send(ctx, out)
	if sendErr == nil {
		a.health.sentOne(now.In(s.cfg.Load().Location).Format(time.DateOnly))
		return w.delivered(rec, d, receipt, freshOf(e, t))
	}
	a.health.failed(now, sendErr)
	if ctx.Err() != nil {
		return result{step: stepStop} // shut down mid-send: it goes again later
	}
	if ok, _ := w.hold.valid(); !ok {
		return result{step: stepStop} // the lease lapsed: the next owner sends it, and records what happened
	}
	return w.failed(rec, d, a, sendErr, o, reserved)
}

// fresh: the target as its record implies it, when the sender saw no
// stored state for it before the send (else nil).
func (w *worker) delivered(rec *store.Record, d groupcast.Destination, r groupcast.Receipt, fresh *store.TargetRecord) result {
	s := w.s
	now := s.clock.Now()
	if r.SentAt.IsZero() {
		r.SentAt = now
	}
	mark := func(t *store.TargetRecord) error {
		t.State, t.Reason, t.NotBefore = groupcast.StateDelivered, "", nil
		if !w.hold.shared {
			t.Attempts++ // counted at the claim on a shared store
		}
		t.Parts, t.PartsSent = r.Parts, 0
		t.PlatformMessageIDs = append([]string{}, r.MessageIDs...)
		t.Receipt = &groupcast.Receipt{Parts: r.Parts, SentAt: r.SentAt}
		t.DeliveredAt = &now
		return nil
	}
	t, err := s.settleTarget(w.sendCtx, rec, d, fresh, mark)
	// Sent, not recorded: the store is failing. Sending again would send
	// twice: record it when the store is back, however long that takes.
	for attempt := 1; err != nil && w.sendCtx.Err() == nil; attempt++ {
		if attempt == 3 {
			s.log.Error("delivered but not recorded yet: the store is failing; retrying", "announcement", rec.Announcement.ID, "account", w.name, "err", err)
		}
		sleepCtx(w.sendCtx, storeRetry)
		t, err = s.settle(w.sendCtx, rec, d, mark)
	}
	if err != nil {
		return result{step: stepStop} // stopping: sent again by the next owner
	}
	start := rec.AcceptedAt
	if sa := sendAt(&rec.Announcement, d); sa != nil && sa.After(start) {
		start = *sa
	}
	s.metrics.latency.WithLabelValues(t.Platform).Observe(now.Sub(start).Seconds())
	return result{step: stepEnd}
}

// failed settles a send the platform refused or did not answer.
func (w *worker) failed(rec *store.Record, d groupcast.Destination, a *account, sendErr error, o outcome, reserved string) result {
	s, ctx := w.s, w.sendCtx
	class, code, pause := groupcast.Classify(sendErr)
	now := s.clock.Now()
	cfg := s.cfg.Load()
	reason := sendErr.Error()
	storeFailed := func(err error) result {
		s.log.Warn("store failed: the account's queue waits", "announcement", rec.Announcement.ID, "account", w.name, "err", err)
		return result{step: stepBlockQ, at: now.Add(storeRetry)}
	}
	switch {
	case class == groupcast.ClassThrottled:
		if pause <= 0 {
			pause = time.Minute
		}
		until := now.Add(pause)
		preason := fmt.Sprintf("throttled by platform (%s): %s paused until %s", code, w.name, until.Format(time.RFC3339))
		s.metrics.throttled.WithLabelValues(w.name).Inc()
		if err := w.setPause(ctx, until, preason); err != nil {
			return storeFailed(err)
		}
		if _, err := s.settle(ctx, rec, d, func(t *store.TargetRecord) error {
			t.State, t.Reason, t.NotBefore = groupcast.StateDeferred, preason, &until
			if w.hold.shared {
				t.Attempts-- // a throttle is not a failed attempt
			}
			return nil
		}); err != nil {
			return storeFailed(err)
		}
		w.markPaused()
		return result{step: stepBlockQ, at: until}
	}
	var attempts int
	t, err := s.settle(ctx, rec, d, func(t *store.TargetRecord) error {
		if t.State.Terminal() {
			return store.ErrUnchanged // settled meanwhile (by a recall, say)
		}
		if !w.hold.shared {
			t.Attempts++ // counted at the claim on a shared store
		}
		attempts = t.Attempts
		t.Reserved = reserved
		if class == groupcast.ClassPermanent || t.Attempts >= cfg.Delivery.MaxAttempts {
			if class != groupcast.ClassPermanent {
				reason = fmt.Sprintf("gave up after %d attempts: %s", t.Attempts, reason)
			}
			t.State, t.Reason, t.NotBefore = groupcast.StateFailed, reason, nil
			return nil
		}
		at := now.Add(backoff(cfg.Delivery.Backoff, cfg.Delivery.MaxBackoff, t.Attempts))
		t.State, t.NotBefore = groupcast.StateQueued, &at
		t.Reason = fmt.Sprintf("retry %d/%d after temporary error: %s", t.Attempts, cfg.Delivery.MaxAttempts, reason)
		return nil
	})
	if errors.Is(err, store.ErrUnchanged) {
		return result{step: stepEnd}
	}
	if err != nil {
		return storeFailed(err)
	}
	if t.State == groupcast.StateFailed {
		if reserved != "" && o.policy != nil {
			// Nothing went out: give the daily-cap slot back.
			if err := w.groups.giveBack(ctx, o.policy, d, rec.Announcement.Category, reserved); err != nil {
				s.log.Warn("daily-cap slot not given back", "announcement", rec.Announcement.ID, "account", w.name, "err", err)
			}
		}
		return result{step: stepEnd}
	}
	s.log.Info("send failed, will retry", "announcement", rec.Announcement.ID, "account", w.name, "group", d.Group,
		"attempt", attempts, "not_before", t.NotBefore.Format(time.RFC3339), "reason", reason)
	return result{step: stepBlockQ, at: *t.NotBefore}
}

// backoff is base·2^(attempt-1), capped, with ±20% jitter.
func backoff(base, most time.Duration, attempt int) time.Duration {
	if base <= 0 {
		base = time.Second
	}
	if most <= 0 {
		most = 5 * time.Minute
	}
	d := base
	for i := 1; i < attempt && d < most; i++ {
		d *= 2
	}
	d = min(d, most)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// loadPause reads the account's pause once per worker, so that a pause
// survives a restart and a lease move.
func (w *worker) loadPause(ctx context.Context) error {
	if w.pauseLoaded {
		return nil
	}
	var p store.Pause
	if _, err := w.s.st.GetJSON(ctx, store.PauseKey(w.name), &p); err != nil {
		return err
	}
	w.pausedUntil, w.pauseReason, w.pauseLoaded = p.Until, p.Reason, true
	return nil
}

func (w *worker) setPause(ctx context.Context, until time.Time, reason string) error {
	if err := w.s.st.PutJSON(ctx, store.PauseKey(w.name), store.Pause{Until: until, Reason: reason}); err != nil {
		return err
	}
	w.pausedUntil, w.pauseReason, w.pauseLoaded = until, reason, true
	w.s.log.Warn("account paused", "account", w.name, "until", until.Format(time.RFC3339), "reason", reason)
	return nil
}

// markPaused shows the pause on the targets waiting behind it in this
// worker (deferred, with the pause's reason and end), once each: they keep
// their place, and a reader of their status sees why they wait.
func (w *worker) markPaused() {
	s := w.s
	until := w.pausedUntil
	for _, e := range w.ready {
		for _, d := range e.dests {
			_, err := s.settle(w.sendCtx, e.c.rec, d, func(t *store.TargetRecord) error {
				if t.State.Terminal() || t.State == groupcast.StateHeld || t.State == groupcast.StateScheduled ||
					(t.NotBefore != nil && !t.NotBefore.Before(until)) {
					return store.ErrUnchanged
				}
				t.State, t.Reason, t.NotBefore = groupcast.StateDeferred, w.pauseReason, &until
				return nil
			})
			if err = ignoreUnchanged(err); err != nil {
				s.log.Warn("pause not shown on a waiting target", "announcement", e.c.id, "account", w.name, "err", err)
				return
			}
			e.seen = true
		}
	}
}
