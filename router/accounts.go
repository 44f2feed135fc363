package router

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// health is what this replica saw of an account it sends for: the last
// send failure, for a degraded state and the reason.
type health struct {
	mu        sync.Mutex
	lastError string
	errorAt   time.Time
	day       string
	sent      int // sends today, when the account has no pacer to count them
}

// degradedFor is how long after a failed send an account reads degraded.
const degradedFor = 5 * time.Minute

func (h *health) failed(at time.Time, err error) {
	h.mu.Lock()
	h.lastError, h.errorAt = err.Error(), at
	h.mu.Unlock()
}

func (h *health) sentOne(day string) {
	h.mu.Lock()
	if h.day != day {
		h.day, h.sent = day, 0
	}
	h.sent++
	h.mu.Unlock()
}

// Accounts reports each configured account's health (GET /v1/accounts),
// from any replica: the pause and the owner come from the store; whether
// the account can send (its login, its connection) and its last error
// from the replica that sends for it.
func (s *Service) Accounts(ctx context.Context) ([]groupcast.AccountHealth, error) {
	now := s.clock.Now()
	day := now.In(s.cfg.Load().Location).Format(time.DateOnly)
	s.mu.Lock()
	accounts := make(map[string]*account, len(s.accounts))
	for name, a := range s.accounts {
		if !a.removed {
			accounts[name] = a
		}
	}
	s.mu.Unlock()
	out := make([]groupcast.AccountHealth, 0, len(accounts))
	for name, a := range accounts {
		h := groupcast.AccountHealth{Name: name, Platform: a.cfg.Platform, Driver: a.cfg.Driver, State: groupcast.AccountOK}
		owned := s.fleet.owns(name)
		switch {
		case owned:
			h.Owner = s.instance
		case s.st.Shared():
			if owner, _, err := s.st.LeaseOwner(ctx, name); err == nil {
				h.Owner = owner
			}
		}
		var p store.Pause
		if _, err := s.st.GetJSON(ctx, store.PauseKey(name), &p); err != nil {
			return nil, err
		}
		if p.Until.After(now) {
			until := p.Until
			h.State, h.PausedUntil, h.LastError = groupcast.AccountPaused, &until, p.Reason
		}
		h.PerMinute = a.cfg.Rate.PerMinute
		if n, last, ok, err := a.pacer.sentOn(ctx, day, now); err != nil {
			return nil, err
		} else if ok {
			h.SentToday, h.SentLastMinute = n, last
		} else {
			a.health.mu.Lock()
			if a.health.day == day {
				h.SentToday = a.health.sent
			}
			a.health.mu.Unlock()
		}
		if owned && h.State == groupcast.AccountOK {
			if r, ok := a.sender.(groupcast.Readier); ok {
				if err := r.Ready(); err != nil {
					h.State, h.LastError = groupcast.AccountDown, err.Error()
				}
			}
			a.health.mu.Lock()
			if h.State == groupcast.AccountOK && a.health.lastError != "" && now.Sub(a.health.errorAt) < degradedFor {
				h.State, h.LastError = groupcast.AccountDegraded, a.health.lastError
			}
			a.health.mu.Unlock()
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// accountUp is groupcast_account_up{account,platform}: 1 while an account
// can send (ok or degraded), 0 while it is down or paused. It is read at
// each scrape.
type accountUp struct {
	s    *Service
	desc *prometheus.Desc
}

func (c accountUp) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c accountUp) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	accounts, err := c.s.Accounts(ctx)
	if err != nil {
		return
	}
	for _, a := range accounts {
		up := 0.0
		if a.State == groupcast.AccountOK || a.State == groupcast.AccountDegraded {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, up, a.Name, a.Platform)
	}
}

// queueGauges are groupcast_queue_pending{account} (announcements accepted
// that the account's sender has not taken yet) and
// groupcast_queue_waiting{account} (announcements it took that wait for a
// time, a review or a retry), read from the store at each scrape: the same
// figures on every replica.
type queueGauges struct {
	s                *Service
	pending, waiting *prometheus.Desc
}

func newQueueGauges(s *Service) queueGauges {
	return queueGauges{s: s,
		pending: prometheus.NewDesc("groupcast_queue_pending",
			"Announcements accepted that the account's sender has not taken yet (store-wide).", []string{"account"}, nil),
		waiting: prometheus.NewDesc("groupcast_queue_waiting",
			"Announcements the account's sender took that wait for a time, a review or a retry (store-wide).", []string{"account"}, nil),
	}
}

func (c queueGauges) Describe(ch chan<- *prometheus.Desc) { ch <- c.pending; ch <- c.waiting }

func (c queueGauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	queues, err := c.s.st.Queues(ctx)
	if err != nil {
		return
	}
	for account, q := range queues {
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(q.Pending), account)
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(q.Waiting), account)
	}
}
