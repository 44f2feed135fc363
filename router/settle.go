package router

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// settle writes one change of a target's state (the first write creates
// it from what its record implies), counts it in the metrics and logs it.
func (s *Service) settle(ctx context.Context, rec *store.Record, d groupcast.Destination, change func(*store.TargetRecord) error) (*store.TargetRecord, error) {
	return s.settleTarget(ctx, rec, d, nil, change)
}

// settleTarget is settle; fresh, when not nil, is the target as its record
// implies it (implied) and says the sender has seen no stored state for it
// (its record is new to it), so the first write is tried as a create from
// fresh without reading first (refused, and read, if it exists).
func (s *Service) settleTarget(ctx context.Context, rec *store.Record, d groupcast.Destination, fresh *store.TargetRecord, change func(*store.TargetRecord) error) (*store.TargetRecord, error) {
	id, key := rec.Announcement.ID, d.Key()
	var from groupcast.State
	update, initial := s.st.UpdateNewTarget, fresh
	if fresh == nil {
		update, initial = s.st.UpdateTarget, implied(rec, d)
	}
	t, err := update(ctx, id, key, initial, func(t *store.TargetRecord) error {
		from = t.State
		if len(t.Timeline) == 0 {
			t.Record(t.UpdatedAt) // the state the record implied, since acceptance
		}
		if err := change(t); err != nil {
			return err
		}
		t.Record(s.clock.Now())
		if _, ok := s.hitsCounted.Load(id + "/" + key); ok {
			t.HitsCounted = true
		}
		t.UpdatedAt = s.clock.Now()
		return nil
	})
	if err != nil {
		return t, err
	}
	s.hitsCounted.Delete(id + "/" + key)
	if from != t.State {
		s.metrics.transition(t.Platform, t.Account, from, t.State)
		level := stateLevel(t.State)
		if !s.log.Enabled(ctx, level) {
			return t, nil // progress is DEBUG: not even its attributes are built
		}
		attrs := []any{"announcement", id, "account", t.Account, "group", t.Group, "state", t.State}
		if t.Reason != "" {
			attrs = append(attrs, "reason", t.Reason)
		}
		if t.NotBefore != nil {
			attrs = append(attrs, "not_before", t.NotBefore.Format(time.RFC3339))
		}
		s.log.Log(ctx, level, "state", attrs...)
	}
	return t, nil
}

// stateLevel is how loud a state change is: a failure needs a person, a
// block or an expiry may, a wait is worth a line, progress is detail.
func stateLevel(st groupcast.State) slog.Level {
	switch st {
	case groupcast.StateFailed:
		return slog.LevelError
	case groupcast.StateBlocked, groupcast.StateExpired, groupcast.StateRejected:
		return slog.LevelWarn
	case groupcast.StateDeferred, groupcast.StateHeld, groupcast.StateRecalled:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// countHits counts a target's content rule hits once, when the policy's
// answer is not a wait.
func (s *Service) countHits(rec *store.Record, d groupcast.Destination, t *store.TargetRecord, o outcome) {
	if len(o.decision.Hits) == 0 || t.HitsCounted || o.step == stepPark {
		return
	}
	k := rec.Announcement.ID + "/" + d.Key()
	if _, loaded := s.hitsCounted.LoadOrStore(k, true); loaded {
		return
	}
	for _, h := range o.decision.Hits {
		s.metrics.RuleHit(h.Rule, h.Action)
	}
}

func ignoreUnchanged(err error) error {
	if errors.Is(err, store.ErrUnchanged) {
		return nil
	}
	return err
}
