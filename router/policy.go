package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/store"
)

// policyCache compiles each distinct policy once. An announcement carries
// the policies in force when it was accepted (store.Record.Policies), so a
// reload changes the rules only for announcements accepted afterwards.
type policyCache struct {
	mu sync.Mutex
	m  map[string]*policy.Policy
}

func (c *policyCache) get(p configs.Policy, tz string) (*policy.Policy, error) {
	b, _ := json.Marshal(struct {
		P  configs.Policy
		TZ string
	}{p, tz})
	sum := sha256.Sum256(b)
	key := hex.EncodeToString(sum[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if pol, ok := c.m[key]; ok {
		return pol, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("timezone %q: %w", tz, err)
	}
	pol, err := policy.Compile(p, loc)
	if err != nil {
		return nil, err
	}
	if c.m == nil || len(c.m) > 1000 {
		c.m = map[string]*policy.Policy{}
	}
	c.m[key] = pol
	return pol, nil
}

// policiesFor copies the policies the destinations name, for the record.
func policiesFor(cfg *configs.Config, dests []groupcast.Destination) map[string]configs.Policy {
	var out map[string]configs.Policy
	for _, d := range dests {
		if d.Policy == "" {
			continue
		}
		if p, ok := cfg.PolicyByName(d.Policy); ok {
			if out == nil {
				out = map[string]configs.Policy{}
			}
			out[d.Policy] = *p
		}
	}
	return out
}

// policyOf is the compiled policy of one destination, or nil.
func (s *Service) policyOf(rec *store.Record, d groupcast.Destination) (*policy.Policy, error) {
	if d.Policy == "" {
		return nil, nil
	}
	p, ok := rec.Policies[d.Policy]
	if !ok {
		return nil, nil
	}
	tz := rec.Timezone
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	return s.policies.get(p, tz)
}

type history struct {
	Deliveries []policy.Delivery `json:"deliveries"`
}

type firstDelivery struct {
	At time.Time `json:"at"`
}

// policyInput reads what a decision depends on from the store.
func (s *Service) policyInput(ctx context.Context, pol *policy.Policy, rec *store.Record, d groupcast.Destination,
	r groupcast.Rendered, now time.Time) (policy.Input, error) {
	in := policy.Input{Announcement: &rec.Announcement, Destination: d, Rendered: r, Now: now}
	if rv, err := s.st.Review(ctx, rec.Announcement.ID); err == nil {
		in.Approved = rv.Decision == "approved"
	} else if err != groupcast.ErrNotFound {
		return in, err
	}
	used, err := s.st.Count(ctx, store.CapKey(pol.CapKey(d, now)))
	if err != nil {
		return in, err
	}
	in.SentToday = int(used)
	var fd firstDelivery
	if _, err := s.st.GetJSON(ctx, store.FirstKey(d.Key()), &fd); err != nil {
		return in, err
	}
	in.FirstDelivery = fd.At
	var h history
	if _, err := s.st.GetJSON(ctx, store.HistoryKey(d.Key()), &h); err != nil {
		return in, err
	}
	in.Recent = h.Deliveries
	return in, nil
}

// remember records a delivery in the group's history: its first delivery
// (for the stage) and the recent ones (for the mix).
func (s *Service) remember(ctx context.Context, pol *policy.Policy, rec *store.Record, d groupcast.Destination, at time.Time) error {
	var fd firstDelivery
	found, err := s.st.GetJSON(ctx, store.FirstKey(d.Key()), &fd)
	if err != nil {
		return err
	}
	if !found {
		if err := s.st.PutJSON(ctx, store.FirstKey(d.Key()), firstDelivery{At: at}); err != nil {
			return err
		}
	}
	var h history
	if _, err := s.st.GetJSON(ctx, store.HistoryKey(d.Key()), &h); err != nil {
		return err
	}
	keep := h.Deliveries[:0]
	for _, x := range h.Deliveries {
		if at.Sub(x.At) < pol.MixWindow() {
			keep = append(keep, x)
		}
	}
	h.Deliveries = append(keep, policy.Delivery{At: at, Category: rec.Announcement.Category})
	return s.st.PutJSON(ctx, store.HistoryKey(d.Key()), h)
}
