package router

import (
	"context"
	"errors"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// ErrNotHeld: a review decision on an announcement none of whose targets
// is held.
var ErrNotHeld = errors.New("no target of it is held for review")

// Review is one announcement with held targets.
type Review struct {
	groupcast.Status
	Held int `json:"held"`
}

// Reviews lists announcements with targets held for review, oldest first.
func (s *Service) Reviews(ctx context.Context) ([]Review, error) {
	ids, err := s.st.IDs(ctx)
	if err != nil {
		return nil, err
	}
	out := []Review{}
	for _, id := range ids {
		st, err := s.Status(ctx, id)
		if err != nil {
			continue
		}
		held := 0
		for _, t := range st.Targets {
			if t.State == groupcast.StateHeld {
				held++
			}
		}
		if held > 0 {
			out = append(out, Review{Status: st, Held: held})
		}
	}
	return out, nil
}

// Decide approves or rejects every held target of an announcement, and
// records who decided and when. Approved targets are queued again (the
// other rules, windows and caps still apply) and their account's sender
// takes them in order at once, on whichever replica owns it; rejected ones
// end rejected. ErrNotHeld when nothing is held.
func (s *Service) Decide(ctx context.Context, id string, approve bool, by, reason string) (groupcast.Status, error) {
	rec, err := s.st.Record(ctx, id)
	if err != nil {
		return groupcast.Status{}, err
	}
	decision := "rejected"
	if approve {
		decision = "approved"
	}
	held := 0
	for _, d := range rec.Destinations {
		_, err := s.settle(ctx, rec, d, func(t *store.TargetRecord) error {
			if t.State != groupcast.StateHeld {
				return store.ErrUnchanged
			}
			if approve {
				t.State, t.Reason = groupcast.StateQueued, "approved by "+by
			} else {
				t.State, t.Reason = groupcast.StateRejected, "rejected by "+by+": "+reason
			}
			t.NotBefore = nil
			return nil
		})
		switch {
		case errors.Is(err, store.ErrUnchanged), errors.Is(err, groupcast.ErrNotFound):
		case err != nil:
			return groupcast.Status{}, err
		default:
			held++
		}
	}
	if held == 0 {
		return groupcast.Status{}, ErrNotHeld
	}
	// The decision is the event the senders follow: written last, so they
	// find the targets released.
	if err := s.st.PutReview(ctx, id, store.Review{Decision: decision, By: by, Reason: reason, At: s.clock.Now()}); err != nil {
		return groupcast.Status{}, err
	}
	return s.status(ctx, rec)
}
