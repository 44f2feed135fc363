package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// Recall asks for an announcement to be taken back everywhere. It answers
// at once, with the request stored: the sender of each account (on
// whichever replica owns it) takes its targets back between two sends —
// right after a send in flight — cancelling those not sent yet and
// recalling delivered ones where the driver can, retried through outages.
// The status shows each target's recall progress.
func (s *Service) Recall(ctx context.Context, id string) (groupcast.Status, error) {
	rec, err := s.st.Record(ctx, id)
	if err != nil {
		return groupcast.Status{}, err
	}
	if len(rec.Parts) > 0 {
		return s.recallSeries(ctx, rec) // series.go: every part
	}
	if _, err := s.st.RequestRecall(ctx, id, s.clock.Now()); err != nil {
		return groupcast.Status{}, err
	}
	return s.status(ctx, rec)
}

// recall takes back this account's targets of an announcement. It answers
// when to try again if some recall met a temporary failure.
func (w *worker) recall(id string) (time.Time, error) {
	s, ctx := w.s, w.sendCtx
	c, _, err := s.recordByID(ctx, id)
	if errors.Is(err, groupcast.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	var again time.Time
	for _, d := range c.rec.Destinations {
		if d.Account != w.name {
			continue
		}
		t, _, err := s.st.Target(ctx, id, d.Key())
		switch {
		case errors.Is(err, groupcast.ErrNotFound):
			t = implied(c.rec, d)
		case err != nil:
			return time.Time{}, err
		}
		switch {
		case !t.State.Terminal():
			_, err = s.settle(ctx, c.rec, d, func(t *store.TargetRecord) error {
				if t.State.Terminal() {
					return store.ErrUnchanged
				}
				t.State, t.Reason, t.NotBefore = groupcast.StateRecalled, "cancelled before delivery", nil
				return nil
			})
			if err = ignoreUnchanged(err); err != nil {
				return time.Time{}, err
			}
			if w.blockedBy == id {
				w.blockedUntil = time.Time{} // the target holding the queue is gone
			}
		case t.State == groupcast.StateDelivered && (t.Recall == nil || t.Recall.State == groupcast.RecallPending):
			at, err := w.recallDelivered(c.rec, d, t)
			if err != nil {
				return time.Time{}, err
			}
			if !at.IsZero() && (again.IsZero() || at.Before(again)) {
				again = at
			}
		}
	}
	return again, nil
}

// recallDelivered takes one delivered target back through its driver.
func (w *worker) recallDelivered(rec *store.Record, d groupcast.Destination, t *store.TargetRecord) (time.Time, error) {
	s, ctx := w.s, w.sendCtx
	now := s.clock.Now()
	prog := groupcast.TargetRecall{State: groupcast.RecallPending}
	if t.Recall != nil {
		prog = *t.Recall
	}
	prog.Attempts++
	var again time.Time
	a := s.account(w.name)
	r, ok := a.sender.(groupcast.Recaller)
	if !ok {
		prog.State, prog.Reason = groupcast.RecallUnsupported, unsupportedReason(fmt.Errorf("%w: driver %s cannot recall", groupcast.ErrRecallUnsupported, a.cfg.Driver))
	} else {
		receipt := groupcast.Receipt{Parts: t.Parts, MessageIDs: t.PlatformMessageIDs}
		if t.Receipt != nil {
			receipt.SentAt = t.Receipt.SentAt
		}
		err := r.Recall(ctx, d.Group, receipt)
		class, _, _ := groupcast.Classify(err)
		maxAttempts := s.cfg.Load().Delivery.MaxAttempts
		switch {
		case err == nil:
			prog.State, prog.Reason = groupcast.RecallDone, ""
		case errors.Is(err, groupcast.ErrRecallUnsupported):
			prog.State, prog.Reason = groupcast.RecallUnsupported, unsupportedReason(err)
		case ctx.Err() != nil:
			return now.Add(storeRetry), nil // stopping: the next owner does it
		case class == groupcast.ClassPermanent || prog.Attempts >= maxAttempts:
			prog.State, prog.Reason = groupcast.RecallFailed, fmt.Sprintf("recall failed after %d attempts: %v", prog.Attempts, err)
		default:
			prog.Reason = fmt.Sprintf("recall %d/%d failed, retrying: %v", prog.Attempts, maxAttempts, err)
			again = now.Add(backoff(s.cfg.Load().Delivery.Backoff, s.cfg.Load().Delivery.MaxBackoff, prog.Attempts))
		}
	}
	_, err := s.settle(ctx, rec, d, func(t *store.TargetRecord) error {
		if t.State != groupcast.StateDelivered {
			return store.ErrUnchanged
		}
		p := prog
		t.Recall = &p
		switch prog.State {
		case groupcast.RecallDone:
			t.State, t.Reason = groupcast.StateRecalled, "recalled"
		case groupcast.RecallUnsupported, groupcast.RecallFailed:
			t.Reason = prog.Reason
		}
		return nil
	})
	return again, ignoreUnchanged(err)
}

// unsupportedReason is the reason a target keeps when its driver cannot
// recall: "recall_unsupported: " and the driver's words, the prefix once
// (the CLI and the console look for it at the start). Drivers wrap
// groupcast.ErrRecallUnsupported with %w first, so their message usually
// starts with it already; one wrapped further in has it moved to the
// front.
func unsupportedReason(err error) string {
	prefix := groupcast.ErrRecallUnsupported.Error()
	msg := err.Error()
	if strings.HasPrefix(msg, prefix) {
		return msg
	}
	if before, after, ok := strings.Cut(msg, prefix+": "); ok {
		msg = before + after
	}
	return prefix + ": " + msg
}
