package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/store"
)

var (
	// errPoison marks a message no retry can help: it goes to the poison
	// stream and, where it names a target, the target ends failed.
	errPoison = errors.New("poison")
	// errRetry makes the router NAK the message with the delay the handler
	// set (retryIn). It is not an error of the message.
	errRetry = errors.New("retry later")
)

// storeRetry is how soon a message is tried again after the store failed.
const storeRetry = time.Second

// orderWait is how long a due target waits for each earlier-accepted one of
// the same account to go first, up to maxOrderWait.
const (
	orderWait    = 20 * time.Millisecond
	maxOrderWait = 5 * time.Second
)

// poisonPanics turns a recovered panic into a poison error, so one bad
// message is parked instead of crashing or wedging its account.
func poisonPanics(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		var p middleware.RecoveredPanicError
		if errors.As(err, &p) {
			return out, fmt.Errorf("%w: panic: %v", errPoison, p.V)
		}
		return out, err
	}
}

// recordPoison ends the target a poisoned delivery names as failed, with
// the reason, before the message is parked.
func (s *Service) recordPoison(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err == nil || !errors.Is(err, errPoison) {
			return out, err
		}
		s.log.Error("poison message parked", "uuid", msg.UUID, "err", err)
		var d deliveryMsg
		if json.Unmarshal(msg.Payload, &d) == nil && d.ID != "" && d.Key != "" {
			_, _ = s.update(msg.Context(), d.ID, d.Key, func(t *store.TargetRecord) error {
				if t.State.Terminal() {
					return store.ErrUnchanged
				}
				t.State, t.Reason, t.NotBefore = groupcast.StateFailed, "poison: "+err.Error(), nil
				return nil
			})
		}
		return out, err
	}
}

// update applies a change to a target, logs the state change and counts it.
func (s *Service) update(ctx context.Context, id, key string, change func(*store.TargetRecord) error) (*store.TargetRecord, error) {
	var from groupcast.State
	t, err := s.st.UpdateTarget(ctx, id, key, func(t *store.TargetRecord) error {
		from = t.State
		if err := change(t); err != nil {
			return err
		}
		t.UpdatedAt = s.clock.Now()
		return nil
	})
	if err != nil {
		return t, err
	}
	switch {
	case t.State == groupcast.StateDeferred && t.NotBefore != nil:
		s.order.set(t.Account, id+"/"+key, t.AcceptedAt, *t.NotBefore)
	case from == groupcast.StateDeferred:
		s.order.remove(t.Account, id+"/"+key)
	}
	if from != t.State {
		s.metrics.transition(t.Platform, t.Account, from, t.State)
		attrs := []any{"announcement", id, "account", t.Account, "group", t.Group, "state", t.State}
		if t.Reason != "" {
			attrs = append(attrs, "reason", t.Reason)
		}
		if t.NotBefore != nil {
			attrs = append(attrs, "not_before", t.NotBefore.Format(time.RFC3339))
		}
		s.log.Info("state", attrs...)
	}
	return t, nil
}

// deferTo asks for the message again at t (bounded by MaxDeferWait: a long
// deferral is looked at again and deferred again).
func (s *Service) deferTo(msg *message.Message, t time.Time) error {
	d := t.Sub(s.clock.Now())
	if d > s.opts.MaxDeferWait {
		d = s.opts.MaxDeferWait
	}
	retryIn(msg, d)
	return errRetry
}

func (s *Service) deliverFor(accountName string) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		var d deliveryMsg
		if err := json.Unmarshal(msg.Payload, &d); err != nil || d.ID == "" || d.Key == "" {
			return fmt.Errorf("%w: undecodable delivery: %v", errPoison, err)
		}
		err := s.deliver(msg, accountName, d)
		if errors.Is(err, errRetry) || errors.Is(err, errPoison) || err == nil {
			return err
		}
		// The store failed: try again soon; nothing is decided.
		s.log.Warn("delivery postponed", "announcement", d.ID, "account", accountName, "err", err)
		retryIn(msg, storeRetry)
		return errRetry
	}
}

func (s *Service) deliver(msg *message.Message, accountName string, d deliveryMsg) error {
	ctx := msg.Context()
	rec, doc, err := s.records.get(ctx, s.st, d.ID)
	if errors.Is(err, groupcast.ErrNotFound) {
		return fmt.Errorf("%w: delivery for unknown announcement %q", errPoison, d.ID)
	}
	if err != nil {
		return err
	}
	dest, ok := findDestination(rec, d.Key)
	if !ok {
		return fmt.Errorf("%w: announcement %q has no target %q", errPoison, d.ID, d.Key)
	}
	t, _, err := s.st.Target(ctx, d.ID, d.Key)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	switch {
	case t.State.Terminal(), t.State == groupcast.StateHeld:
		return nil // done, or waiting for a person: approval queues it again
	case t.State == groupcast.StateSending && t.Owner == s.instance && s.sendingNow(d):
		// Another copy is being sent by this process right now. (One left
		// sending by a store failure, or by a killed process, is sent again.)
		return s.deferTo(msg, now.Add(s.opts.AckWait))
	}
	if exp := rec.Announcement.ExpiresAt; exp != nil && !now.Before(*exp) {
		_, err := s.update(ctx, d.ID, d.Key, func(t *store.TargetRecord) error {
			if t.State.Terminal() {
				return store.ErrUnchanged
			}
			t.State, t.Reason, t.NotBefore = groupcast.StateExpired, "expires_at "+exp.Format(time.RFC3339)+" passed", nil
			return nil
		})
		return ignoreUnchanged(err)
	}
	if t.NotBefore != nil && t.NotBefore.After(now) {
		if t.State == groupcast.StateDeferred {
			s.order.set(accountName, d.ID+"/"+d.Key, t.AcceptedAt, *t.NotBefore)
		}
		return s.deferTo(msg, *t.NotBefore)
	}
	a := s.account(accountName)
	if a == nil {
		// Removed by a reload while this was queued: wait for it to return.
		return s.deferTo(msg, now.Add(s.opts.MaxDeferWait))
	}
	if t.State == groupcast.StateDeferred && t.NotBefore != nil && !a.pacer.unlimited() {
		// Due now. An earlier-accepted target of this account that is due
		// too goes first: wait a moment (real time: this is about order).
		// The wait grows with the number ahead, so a long queue is not
		// looked at over and over while the first ones go.
		k := d.ID + "/" + d.Key
		if s.order.firstDue(accountName, k, t.AcceptedAt, *t.NotBefore) {
			retryIn(msg, orderWait)
			return errRetry
		}
		if ahead := s.order.earlierDue(accountName, k, t.AcceptedAt, now); ahead > 0 {
			retryIn(msg, min(time.Duration(ahead)*orderWait, maxOrderWait))
			return errRetry
		}
	}
	if until, reason, err := s.paused(ctx, a); err != nil {
		return err
	} else if until.After(now) {
		if _, err := s.update(ctx, d.ID, d.Key, func(t *store.TargetRecord) error {
			if t.State.Terminal() {
				return store.ErrUnchanged
			}
			t.State, t.Reason, t.NotBefore = groupcast.StateDeferred, reason, &until
			return nil
		}); ignoreUnchanged(err) != nil {
			return err
		}
		return s.deferTo(msg, until)
	}

	rendered, err := doc.Render(dest, now)
	if err != nil {
		_, uerr := s.update(ctx, d.ID, d.Key, func(t *store.TargetRecord) error {
			t.State, t.Reason, t.NotBefore = groupcast.StateFailed, "render: "+err.Error(), nil
			return nil
		})
		return uerr
	}

	pol, err := s.policyOf(rec, dest)
	if err != nil {
		_, uerr := s.update(ctx, d.ID, d.Key, func(t *store.TargetRecord) error {
			t.State, t.Reason, t.NotBefore = groupcast.StateFailed, "policy: "+err.Error(), nil
			return nil
		})
		return uerr
	}
	reserved := t.Reserved
	if pol != nil {
		var done bool
		rendered, reserved, done, err = s.decide(ctx, msg, pol, rec, dest, t, rendered, now)
		if done || err != nil {
			return err
		}
	}

	// Claim the target: only one sender, and a record of the attempt
	// before anything goes out. Two copies of one delivery in this process
	// (after a crash both may be queued) never send at once.
	if _, busy := s.inflight.LoadOrStore(d, struct{}{}); busy {
		return s.deferTo(msg, now.Add(s.opts.AckWait))
	}
	defer s.inflight.Delete(d)
	t, err = s.update(ctx, d.ID, d.Key, func(t *store.TargetRecord) error {
		if t.State.Terminal() || t.State == groupcast.StateHeld {
			return store.ErrUnchanged
		}
		t.State, t.Owner, t.NotBefore = groupcast.StateSending, s.instance, nil
		t.Reserved = reserved
		t.Attempts++
		return nil
	})
	if errors.Is(err, store.ErrUnchanged) {
		return nil
	}
	if err != nil {
		return err
	}
	receipt, sendErr := a.sender.Send(ctx, groupcast.Outgoing{
		DeliveryID: d.ID + "/" + d.Key, Announcement: &rec.Announcement, Group: dest.Group,
		Destination: dest, Rendered: rendered,
	})
	if sendErr == nil {
		if err := s.delivered(ctx, d, rec, receipt); err != nil {
			return err
		}
		if pol != nil {
			if err := s.remember(ctx, pol, rec, dest, s.clock.Now()); err != nil {
				s.log.Warn("group history not recorded", "announcement", d.ID, "account", dest.Account, "group", dest.Group, "err", err)
			}
		}
		return nil
	}
	return s.failedSend(ctx, msg, a, d, t, sendErr)
}

func (s *Service) delivered(ctx context.Context, d deliveryMsg, rec *store.Record, r groupcast.Receipt) error {
	now := s.clock.Now()
	t, err := s.update(ctx, d.ID, d.Key, func(t *store.TargetRecord) error {
		t.State, t.Reason, t.Owner = groupcast.StateDelivered, "", ""
		t.Parts = r.Parts
		t.PlatformMessageIDs = append([]string{}, r.MessageIDs...)
		if r.SentAt.IsZero() {
			r.SentAt = now
		}
		t.Receipt = &r
		t.DeliveredAt = &now
		return nil
	})
	if err != nil {
		return err
	}
	start := rec.AcceptedAt
	if sa := rec.Announcement.SendAt; sa != nil && sa.After(start) {
		start = *sa
	}
	s.metrics.latency.WithLabelValues(t.Platform).Observe(now.Sub(start).Seconds())
	return nil
}

func (s *Service) failedSend(ctx context.Context, msg *message.Message, a *account, d deliveryMsg, t *store.TargetRecord, sendErr error) error {
	class, code, pause := groupcast.Classify(sendErr)
	now := s.clock.Now()
	cfg := s.cfg.Load()
	reason := sendErr.Error()
	switch {
	case class == groupcast.ClassThrottled:
		if pause <= 0 {
			pause = time.Minute
		}
		until := now.Add(pause)
		preason := fmt.Sprintf("throttled by platform (%s): %s paused until %s", code, a.cfg.Name, until.Format(time.RFC3339))
		s.metrics.throttled.WithLabelValues(a.cfg.Name).Inc()
		if err := s.setPause(ctx, a, until, preason); err != nil {
			return err
		}
		_, err := s.update(ctx, d.ID, d.Key, func(t *store.TargetRecord) error {
			t.State, t.Reason, t.NotBefore, t.Owner = groupcast.StateDeferred, preason, &until, ""
			t.Attempts-- // a throttle is not a failed attempt
			return nil
		})
		if err != nil {
			return err
		}
		return s.deferTo(msg, until)
	case class == groupcast.ClassPermanent || t.Attempts >= cfg.Delivery.MaxAttempts:
		if class != groupcast.ClassPermanent {
			reason = fmt.Sprintf("gave up after %d attempts: %s", t.Attempts, reason)
		}
		if t.Reserved != "" {
			// Nothing went out: give the daily-cap slot back.
			if err := s.st.Release(ctx, t.Reserved, 1); err != nil {
				return err
			}
		}
		_, err := s.update(ctx, d.ID, d.Key, func(t *store.TargetRecord) error {
			t.State, t.Reason, t.NotBefore, t.Owner = groupcast.StateFailed, reason, nil, ""
			return nil
		})
		return err
	default:
		delay := backoff(cfg.Delivery.Backoff, cfg.Delivery.MaxBackoff, t.Attempts)
		at := now.Add(delay)
		_, err := s.update(ctx, d.ID, d.Key, func(t *store.TargetRecord) error {
			t.State, t.NotBefore, t.Owner = groupcast.StateQueued, &at, ""
			t.Reason = fmt.Sprintf("retry %d/%d after temporary error: %s", t.Attempts, cfg.Delivery.MaxAttempts, reason)
			return nil
		})
		if err != nil {
			return err
		}
		return s.deferTo(msg, at)
	}
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

// paused reads an account's pause, from memory or (once) from the store,
// so a pause survives a restart.
func (s *Service) paused(ctx context.Context, a *account) (time.Time, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.pauseLoaded {
		var p store.Pause
		if _, err := s.st.GetJSON(ctx, store.PauseKey(a.cfg.Name), &p); err != nil {
			return time.Time{}, "", err
		}
		a.pausedUntil, a.pauseReason, a.pauseLoaded = p.Until, p.Reason, true
	}
	return a.pausedUntil, a.pauseReason, nil
}

func (s *Service) setPause(ctx context.Context, a *account, until time.Time, reason string) error {
	if err := s.st.PutJSON(ctx, store.PauseKey(a.cfg.Name), store.Pause{Until: until, Reason: reason}); err != nil {
		return err
	}
	a.mu.Lock()
	a.pausedUntil, a.pauseReason, a.pauseLoaded = until, reason, true
	a.mu.Unlock()
	s.log.Warn("account paused", "account", a.cfg.Name, "until", until.Format(time.RFC3339), "reason", reason)
	return nil
}

// sendingNow reports whether this process is sending d at this moment.
func (s *Service) sendingNow(d deliveryMsg) bool {
	_, ok := s.inflight.Load(d)
	return ok
}

func findDestination(rec *store.Record, key string) (groupcast.Destination, bool) {
	for _, d := range rec.Destinations {
		if d.Key() == key {
			return d, true
		}
	}
	return groupcast.Destination{}, false
}

func ignoreUnchanged(err error) error {
	if errors.Is(err, store.ErrUnchanged) {
		return nil
	}
	return err
}

// decide applies the target's policy. It answers the text to send (masked
// where a rule says so) and the daily-cap slot the send holds, or done when
// the target was blocked, held, deferred or expired instead.
func (s *Service) decide(ctx context.Context, msg *message.Message, pol *policy.Policy, rec *store.Record,
	dest groupcast.Destination, t *store.TargetRecord, r groupcast.Rendered, now time.Time) (groupcast.Rendered, string, bool, error) {
	id, key := rec.Announcement.ID, t.Key
	in, err := s.policyInput(ctx, pol, rec, dest, r, now)
	if err != nil {
		return r, "", true, err
	}
	dec := pol.Decide(in)
	capKey := store.CapKey(pol.CapKey(dest, now))
	reserved := t.Reserved
	if dec.Action == policy.Send && dec.CountsToCap && reserved != capKey {
		granted, used, err := s.st.Reserve(ctx, capKey, 1, dec.Limit)
		if err != nil {
			return r, "", true, err
		}
		if granted {
			reserved = capKey
		} else {
			in.SentToday = int(used)
			dec = pol.Decide(in) // the cap deferral
		}
	}
	countHits := dec.Action != policy.Defer && !t.HitsCounted
	if countHits {
		for _, h := range dec.Hits {
			s.metrics.RuleHit(h.Rule, h.Action)
		}
	}
	exp := rec.Announcement.ExpiresAt
	var next groupcast.State
	switch dec.Action {
	case policy.Send:
		if countHits && len(dec.Hits) > 0 {
			if _, err := s.update(ctx, id, key, func(t *store.TargetRecord) error {
				t.HitsCounted, t.Masked = true, dec.Rendered.Text != r.Text
				return nil
			}); err != nil {
				return r, "", true, err
			}
		}
		return dec.Rendered, reserved, false, nil
	case policy.Block:
		next = groupcast.StateBlocked
	case policy.Hold:
		next = groupcast.StateHeld
		if rv, err := s.st.Review(ctx, id); err == nil && rv.Decision == "rejected" {
			next, dec.Reason = groupcast.StateRejected, "rejected by "+rv.By+": "+rv.Reason
		}
	case policy.Defer:
		next = groupcast.StateDeferred
		if exp != nil && !dec.NotBefore.Before(*exp) {
			next, dec.Reason = groupcast.StateExpired, "expires_at "+exp.Format(time.RFC3339)+" comes before "+dec.Reason
		}
	}
	_, err = s.update(ctx, id, key, func(t *store.TargetRecord) error {
		if t.State.Terminal() || (t.State == groupcast.StateHeld && next == groupcast.StateHeld) {
			return store.ErrUnchanged
		}
		t.State, t.Reason, t.Owner = next, dec.Reason, ""
		t.NotBefore = nil
		if next == groupcast.StateDeferred {
			nb := dec.NotBefore
			t.NotBefore = &nb
		}
		t.HitsCounted = t.HitsCounted || countHits
		return nil
	})
	if err = ignoreUnchanged(err); err != nil {
		return r, "", true, err
	}
	if next == groupcast.StateDeferred {
		return r, "", true, s.deferTo(msg, dec.NotBefore)
	}
	return r, "", true, nil
}
