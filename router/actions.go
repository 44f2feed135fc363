package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/transform"
)

// Recall takes an announcement back: targets not yet sent are cancelled
// (recalled, with a reason saying so); delivered ones are recalled where the
// driver can, and otherwise stay delivered with reason
// "recall_unsupported: …".
func (s *Service) Recall(ctx context.Context, id string) (groupcast.Status, error) {
	rec, err := s.st.Record(ctx, id)
	if err != nil {
		return groupcast.Status{}, err
	}
	targets, err := s.st.Targets(ctx, id)
	if err != nil {
		return groupcast.Status{}, err
	}
	stored := map[string]bool{}
	for _, t := range targets {
		stored[t.Key] = true
	}
	// Targets not planned yet are written cancelled: the plan handler keeps
	// a target that exists, and its delivery then finds it terminal.
	for _, d := range rec.Destinations {
		if stored[d.Key()] {
			continue
		}
		t := &store.TargetRecord{
			Target: groupcast.Target{Route: d.Route, Platform: d.Platform, Account: d.Account, Group: d.Group,
				Style: d.Style, State: groupcast.StateRecalled, Reason: "cancelled before delivery",
				UpdatedAt: s.clock.Now(), PlatformMessageIDs: []string{}},
			Key: d.Key(), AcceptedAt: rec.AcceptedAt,
		}
		got, err := s.st.CreateTarget(ctx, id, t)
		if err != nil {
			return groupcast.Status{}, err
		}
		if got == t {
			s.metrics.transition(d.Platform, d.Account, "", groupcast.StateRecalled)
			continue
		}
		targets = append(targets, got) // planned meanwhile: treat it as the others
	}
	for _, t := range targets {
		switch {
		case t.State == groupcast.StateDelivered:
			s.recallDelivered(ctx, id, t)
		case !t.State.Terminal() && t.State != groupcast.StateSending:
			_, err := s.update(ctx, id, t.Key, func(t *store.TargetRecord) error {
				if t.State.Terminal() || t.State == groupcast.StateSending {
					return store.ErrUnchanged
				}
				t.State, t.Reason, t.NotBefore = groupcast.StateRecalled, "cancelled before delivery", nil
				return nil
			})
			if ignoreUnchanged(err) != nil {
				return groupcast.Status{}, err
			}
		}
	}
	return s.status(ctx, rec)
}

func (s *Service) recallDelivered(ctx context.Context, id string, t *store.TargetRecord) {
	a := s.account(t.Account)
	reason := ""
	switch r, ok := senderOf(a).(groupcast.Recaller); {
	case a == nil:
		reason = "recall_unsupported: account " + t.Account + " is no longer configured"
	case !ok:
		reason = "recall_unsupported: driver " + a.cfg.Driver + " cannot recall"
	default:
		var receipt groupcast.Receipt
		if t.Receipt != nil {
			receipt = *t.Receipt
		}
		err := r.Recall(ctx, t.Group, receipt)
		switch {
		case err == nil:
		case errors.Is(err, groupcast.ErrRecallUnsupported):
			reason = err.Error()
		default:
			reason = "recall failed: " + err.Error()
		}
	}
	_, err := s.update(ctx, id, t.Key, func(t *store.TargetRecord) error {
		if t.State != groupcast.StateDelivered {
			return store.ErrUnchanged
		}
		if reason == "" {
			t.State, t.Reason = groupcast.StateRecalled, "recalled"
		} else {
			t.Reason = reason
		}
		return nil
	})
	if ignoreUnchanged(err) != nil {
		s.log.Error("recall not recorded", "announcement", id, "account", t.Account, "err", err)
	}
}

func senderOf(a *account) groupcast.Sender {
	if a == nil {
		return nil
	}
	return a.sender
}

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
// records who decided and when. Approved targets are queued again (the other
// rules, windows and caps still apply); rejected ones end rejected.
func (s *Service) Decide(ctx context.Context, id string, approve bool, by, reason string) (groupcast.Status, error) {
	rec, err := s.st.Record(ctx, id)
	if err != nil {
		return groupcast.Status{}, err
	}
	decision := "rejected"
	if approve {
		decision = "approved"
	}
	if err := s.st.PutReview(ctx, id, store.Review{Decision: decision, By: by, Reason: reason, At: s.clock.Now()}); err != nil {
		return groupcast.Status{}, err
	}
	targets, err := s.st.Targets(ctx, id)
	if err != nil {
		return groupcast.Status{}, err
	}
	for _, t := range targets {
		if t.State != groupcast.StateHeld {
			continue
		}
		_, err := s.update(ctx, id, t.Key, func(t *store.TargetRecord) error {
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
		if errors.Is(err, store.ErrUnchanged) {
			continue
		}
		if err != nil {
			return groupcast.Status{}, err
		}
		if approve {
			if d, ok := findDestination(rec, t.Key); ok {
				m := deliveryMessage(id, d)
				// A fresh message id: the first delivery's id may still be
				// in JetStream's duplicate window.
				m.UUID = fmt.Sprintf("%s/approved/%d", m.UUID, s.clock.Now().UnixNano())
				m.SetContext(ctx)
				if err := s.pub.Publish(store.DeliverSubject(d.Account), m); err != nil {
					return groupcast.Status{}, err
				}
			}
		}
	}
	return s.status(ctx, rec)
}

// PreviewPart is one request a driver would make.
type PreviewPart struct {
	Text  string `json:"text"`
	Bytes int    `json:"bytes"`
	Chars int    `json:"chars"`
}

// PreviewTarget is what one target would receive (POST /v1/preview).
type PreviewTarget struct {
	Route     string        `json:"route"`
	Platform  string        `json:"platform"`
	Account   string        `json:"account"`
	Group     string        `json:"group"`
	Style     string        `json:"style"`
	State     string        `json:"state"`
	Reason    string        `json:"reason,omitempty"`
	Format    string        `json:"format"`
	Parts     []PreviewPart `json:"parts"`
	Rules     []string      `json:"rules"`
	NotBefore *time.Time    `json:"not_before,omitempty"`
}

// Preview renders an announcement for every target it would reach, with no
// side effects and no network: the parts each driver would post, the rules
// that fire and the earliest send time.
func Preview(cfg *configs.Config, drivers Drivers, a *groupcast.Announcement, now time.Time) ([]PreviewTarget, error) {
	dests := Plan(cfg, a)
	if len(dests) == 0 {
		return nil, &groupcast.InputError{Code: "no_route", Fields: []*groupcast.FieldError{{
			Field: "tags", Message: "no route matches this announcement"}}}
	}
	out := make([]PreviewTarget, 0, len(dests))
	for _, d := range dests {
		pt := PreviewTarget{Route: d.Route, Platform: d.Platform, Account: d.Account, Group: d.Group,
			Style: d.Style, State: string(groupcast.StateQueued), Rules: []string{}}
		if a.SendAt != nil && a.SendAt.After(now) {
			pt.State, pt.NotBefore = string(groupcast.StateScheduled), a.SendAt
		}
		r, err := transform.Render(a, d, now)
		if err != nil {
			pt.State, pt.Reason = string(groupcast.StateFailed), "render: "+err.Error()
			out = append(out, pt)
			continue
		}
		if p, ok := cfg.PolicyByName(d.Policy); ok && d.Policy != "" {
			pol, err := policy.Compile(*p, cfg.Location)
			if err != nil {
				return nil, fmt.Errorf("policies %s: %w", d.Policy, err)
			}
			in := policy.Input{Announcement: a, Destination: d, Rendered: r, Now: now}
			dec := pol.Decide(in)
			for _, h := range dec.Hits {
				pt.Rules = append(pt.Rules, fmt.Sprintf("%s: %s %q", h.Rule, h.Action, h.Term))
			}
			r = dec.Rendered
			switch dec.Action {
			case policy.Block:
				pt.State, pt.Reason = string(groupcast.StateBlocked), dec.Reason
			case policy.Hold:
				pt.State, pt.Reason = string(groupcast.StateHeld), dec.Reason
			case policy.Defer:
				pt.State, pt.Reason = string(groupcast.StateDeferred), dec.Reason
			}
			if at, ok := pol.Earliest(in); ok && at.After(now) {
				pt.NotBefore = &at
			}
		}
		pt.Format = string(r.Format)
		texts := []string{r.Text}
		if acc, ok := cfg.Account(d.Account); ok {
			if drv, ok := drivers(acc.Platform, acc.Driver); ok {
				if snd, err := drv.New(*acc, adapters.Env{}.WithDefaults()); err == nil {
					if p, ok := snd.(groupcast.Parter); ok {
						texts, err = p.Parts(r)
						if err != nil {
							pt.State, pt.Reason = string(groupcast.StateFailed), err.Error()
						}
					}
				}
			}
		}
		for _, t := range texts {
			pt.Parts = append(pt.Parts, PreviewPart{Text: t, Bytes: len(t), Chars: len([]rune(t))})
		}
		out = append(out, pt)
	}
	return out, nil
}
