package router

import (
	"context"
	"sort"

	"github.com/groupcast/groupcast"
)

// Accounts reports each configured account's health for GET /v1/accounts.
//
// lead: replace. A stand-in so the API builds: state from the sender's
// Ready and the account's pause, owner from the lease; sent_today is not
// read from the counters yet (always 0).
func (s *Service) Accounts(ctx context.Context) ([]groupcast.AccountHealth, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]groupcast.AccountHealth, 0, len(s.accounts))
	for name, a := range s.accounts {
		if a.removed {
			continue
		}
		h := groupcast.AccountHealth{Name: name, Platform: a.cfg.Platform, Driver: a.cfg.Driver, State: groupcast.AccountOK}
		if o := s.owned[name]; o != nil && o.held {
			h.Owner = s.instance
		}
		a.mu.Lock()
		if a.pausedUntil.After(now) {
			until := a.pausedUntil
			h.State, h.PausedUntil, h.LastError = groupcast.AccountPaused, &until, a.pauseReason
		}
		a.mu.Unlock()
		if r, ok := a.sender.(groupcast.Readier); ok && h.State == groupcast.AccountOK {
			if err := r.Ready(); err != nil {
				h.State, h.LastError = groupcast.AccountDown, err.Error()
			}
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
