package router

import (
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

// of is the compiled policy of one destination of a record, or nil.
func (c *policyCache) of(rec *store.Record, d groupcast.Destination) (*policy.Policy, error) {
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
	return c.get(p, tz)
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
	return s.policies.of(rec, d)
}

// recordPolicies keeps the compiled policies of one cached record by name:
// its targets find theirs without encoding and hashing the policy again
// (a record's policies and time zone never change).
type recordPolicies struct {
	mu sync.Mutex
	m  map[string]*policy.Policy
}

// policyFor is policyOf through the record's own memo.
func (s *Service) policyFor(c cached, d groupcast.Destination) (*policy.Policy, error) {
	if c.pols == nil || d.Policy == "" {
		return s.policyOf(c.rec, d)
	}
	c.pols.mu.Lock()
	pol, ok := c.pols.m[d.Policy]
	c.pols.mu.Unlock()
	if ok {
		return pol, nil
	}
	pol, err := s.policyOf(c.rec, d)
	if err != nil {
		return nil, err // not kept: the error is said again for each target
	}
	c.pols.mu.Lock()
	if c.pols.m == nil {
		c.pols.m = map[string]*policy.Policy{}
	}
	c.pols.m[d.Policy] = pol
	c.pols.mu.Unlock()
	return pol, nil
}

// configPolicies are one config's policies, compiled: a record accepted
// under that config starts its memo with them (recordPolicies), so no
// policy is encoded and hashed per record.
type configPolicies struct {
	cfg *configs.Config
	m   map[string]*policy.Policy
}

// compiledPolicies answers cfg's policies compiled, by name (one that does
// not compile is left out: its targets say why through policyOf).
func (s *Service) compiledPolicies(cfg *configs.Config) map[string]*policy.Policy {
	if cp := s.cfgPolicies.Load(); cp != nil && cp.cfg == cfg {
		return cp.m
	}
	tz := cfg.Timezone
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	m := make(map[string]*policy.Policy, len(cfg.Policies))
	for _, p := range cfg.Policies {
		if pol, err := s.policies.get(p, tz); err == nil {
			m[p.Name] = pol
		}
	}
	s.cfgPolicies.Store(&configPolicies{cfg: cfg, m: m})
	return m
}

// prefill puts the compiled policies the record names into its memo.
func (r *recordPolicies) prefill(rec *store.Record, compiled map[string]*policy.Policy) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name := range rec.Policies {
		if pol, ok := compiled[name]; ok {
			if r.m == nil {
				r.m = make(map[string]*policy.Policy, len(rec.Policies))
			}
			r.m[name] = pol
		}
	}
}
