package router

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/schedule"
)

// The scheduler posts the configured schedules' occurrences. It runs on
// every replica: each occurrence is submitted with its deterministic id
// (schedule.ID), and the store creates an id once, so whichever replica
// comes first posts it and the others get the stored one back. That needs
// no lease and no election, and an occurrence is posted on time as long as
// any replica runs; the price is a file read and a render per replica per
// occurrence.
//
// How far each schedule is handled lives in the store (counters key
// "schedule.<name>", the latest instant handled, only ever moved
// forward): after a restart the occurrences missed meanwhile are posted
// when at most catch_up late and skipped (and logged) when older. A
// schedule seen for the first time starts at that moment: it posts nothing
// from before it existed. A schedule removed from the config has its
// progress deleted (on the reload that removes it, and at start for any
// stored progress of a schedule not configured), so one re-added later
// under the same name starts afresh and posts nothing it skipped while it
// was gone.
type scheduler struct {
	s    *Service
	wake chan struct{}

	// outcomes counts occurrences by schedule and outcome: posted,
	// existing (another replica or an earlier run posted it), conflict,
	// skipped (later than catch_up), failed (did not build, or refused).
	outcomes *prometheus.CounterVec

	mu      sync.Mutex
	through map[string]time.Time // schedule name → occurrences up to here are handled (this replica)
	crons   map[string]*schedule.Cron
}

func newScheduler(s *Service) *scheduler {
	sc := &scheduler{s: s, wake: make(chan struct{}, 1), through: map[string]time.Time{}, crons: map[string]*schedule.Cron{},
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "groupcast_schedule_occurrences_total",
			Help: "Occurrences of schedules this replica handled, by schedule and outcome (posted, existing, conflict, skipped, failed)."},
			[]string{"schedule", "outcome"})}
	if err := s.metrics.Registry.Register(sc.outcomes); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if c, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				sc.outcomes = c // a second engine on the same metrics (tests)
			}
		}
	}
	return sc
}

// poke makes the scheduler look at the config again (a reload).
func (sc *scheduler) poke() {
	select {
	case sc.wake <- struct{}{}:
	default:
	}
}

// scheduleMark is the stored progress of a schedule.
type scheduleMark struct {
	Through time.Time `json:"through"`
}

func scheduleKey(name string) string { return "schedule." + name }

// run posts occurrences until ctx ends.
func (sc *scheduler) run(ctx context.Context) {
	s := sc.s
	sc.prune(ctx, s.cfg.Load())
	for ctx.Err() == nil {
		now := s.clock.Now()
		cfg := s.cfg.Load()
		wait := s.opts.MaxDeferWait
		sc.forget(ctx, cfg)
		for _, sch := range cfg.Schedules {
			next := sc.handle(ctx, cfg, sch, now)
			if !next.IsZero() {
				wait = min(wait, next.Sub(now))
			}
		}
		t := time.NewTimer(max(wait, 10*time.Millisecond))
		select {
		case <-t.C:
		case <-sc.wake:
		case <-ctx.Done():
		}
		t.Stop()
	}
}

// forget drops what it knows of schedules no longer configured, and their
// stored progress: re-added, a schedule starts from then, as a new one
// does (its old mark would post the occurrences it skipped while gone).
func (sc *scheduler) forget(ctx context.Context, cfg *configs.Config) {
	var removed []string
	sc.mu.Lock()
	for name := range sc.through {
		if sch, ok := cfg.Schedule(name); !ok {
			delete(sc.through, name)
			delete(sc.crons, name)
			removed = append(removed, name)
		} else if c := sc.crons[name]; c != nil && (c.String() != sch.Cron || c.Location() != cfg.Location) {
			delete(sc.crons, name)
		}
	}
	sc.mu.Unlock()
	for _, name := range removed {
		sc.drop(ctx, name, "schedule removed: its progress is forgotten (re-added, it starts afresh)")
	}
}

// prune deletes the stored progress of schedules the config does not have
// (removed while this replica was down). A failure is logged: a schedule
// re-added later would then resume from its old mark.
func (sc *scheduler) prune(ctx context.Context, cfg *configs.Config) {
	keys, err := sc.s.st.KeysUnder(ctx, scheduleKey(""))
	if err != nil {
		sc.s.log.Warn("stored schedule progress not listed", "err", err)
		return
	}
	for _, k := range keys {
		name := strings.TrimPrefix(k, scheduleKey(""))
		if _, ok := cfg.Schedule(name); !ok {
			sc.drop(ctx, name, "progress of a schedule no longer configured: forgotten (re-added, it starts afresh)")
		}
	}
}

func (sc *scheduler) drop(ctx context.Context, name, msg string) {
	log := sc.s.log.With("schedule", name)
	if err := sc.s.st.DeleteJSON(ctx, scheduleKey(name)); err != nil {
		log.Warn("schedule progress not deleted: re-added, it would resume from its old mark", "err", err)
		return
	}
	log.Info(msg)
}

// cron is the schedule's parsed expression.
func (sc *scheduler) cron(cfg *configs.Config, sch configs.Schedule) (*schedule.Cron, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if c, ok := sc.crons[sch.Name]; ok {
		return c, nil
	}
	c, err := sch.CronIn(cfg.Location)
	if err != nil {
		return nil, err
	}
	sc.crons[sch.Name] = c
	return c, nil
}

// handle posts the schedule's occurrences due by now and answers when its
// next one is (zero: none, or the store failed and it is tried again
// after the longest wait).
func (sc *scheduler) handle(ctx context.Context, cfg *configs.Config, sch configs.Schedule, now time.Time) time.Time {
	s := sc.s
	log := s.log.With("schedule", sch.Name)
	c, err := sc.cron(cfg, sch)
	if err != nil {
		log.Error("schedule not run: bad cron", "err", err) // Load refuses this; a hand-built config may not
		return time.Time{}
	}
	sc.mu.Lock()
	through, known := sc.through[sch.Name]
	sc.mu.Unlock()
	if !known {
		var mark scheduleMark
		found, err := s.st.GetJSON(ctx, scheduleKey(sch.Name), &mark)
		if err != nil {
			log.Warn("schedule progress not read: trying again", "err", err)
			return now.Add(storeRetry)
		}
		through = now
		if found && mark.Through.Before(now) {
			through = mark.Through
		}
		if !found {
			log.Info("schedule starts", "cron", sch.Cron)
			if err := sc.advance(ctx, sch.Name, now); err != nil {
				log.Warn("schedule progress not stored", "err", err)
			}
		}
	}
	until := time.Time{} // the last local minute it may fire (zero: none)
	if !sch.UntilDate.IsZero() {
		until = sch.UntilDate.Add(24*time.Hour - time.Minute)
	}
	moved := through
	from := through
	// Occurrences firing more than catch_up before now are not posted:
	// skip them at once (counted, said once) rather than list them, so
	// that however long the daemon was down the recent ones are reached.
	if skipTo := now.Add(-sch.CatchUp - time.Nanosecond); skipTo.After(through) {
		n, first, last := 0, schedule.Occurrence{}, schedule.Occurrence{}
		eachBetween(c, through, skipTo, until, func(o schedule.Occurrence) bool {
			if n == 0 {
				first = o
			}
			n, last = n+1, o
			return true
		})
		if n > 0 {
			sc.outcomes.WithLabelValues(sch.Name, "skipped").Add(float64(n))
			log.Warn("occurrences missed and not posted: later than catch_up", "skipped", n,
				"first", schedule.ID(sch.Name, first.Local), "last", schedule.ID(sch.Name, last.Local),
				"catch_up", sch.CatchUp.String())
		}
		moved, from = skipTo, skipTo
	}
	retry := false
	eachBetween(c, from, now, until, func(o schedule.Occurrence) bool {
		id := schedule.ID(sch.Name, o.Local)
		if sc.post(ctx, cfg, sch, c, o, id, log) {
			// Just before this one: others at the same instant (a DST
			// gap) that posted are submitted again, which posts nothing.
			if before := o.At.Add(-time.Nanosecond); before.After(moved) {
				moved = before
			}
			retry = true
			return false
		}
		moved = o.At
		return true
	})
	if retry {
		if moved.After(through) {
			sc.store(ctx, sch.Name, moved, log)
		}
		return now.Add(storeRetry)
	}
	if moved.After(through) {
		sc.store(ctx, sch.Name, moved, log)
	}
	sc.mu.Lock()
	sc.through[sch.Name] = now
	sc.mu.Unlock()
	o, ok := c.Next(now)
	if !ok || (!sch.UntilDate.IsZero() && o.Local.After(sch.UntilDate.Add(24*time.Hour-time.Minute))) {
		return time.Time{}
	}
	return o.At
}

// eachBetween calls f with the cron's occurrences firing in (after, to],
// in order, up to the local minute until (zero: no end), until f answers
// false. It lists them a thousand at a time, however many there are.
func eachBetween(c *schedule.Cron, after, to, until time.Time, f func(schedule.Occurrence) bool) {
	var done time.Time // the local minute of the last one handled
	for {
		occs, more := c.Between(after, to, 1000)
		for _, o := range occs {
			if !done.IsZero() && !o.Local.After(done) {
				continue // listed again: the batch ended inside a DST gap's instant
			}
			if !until.IsZero() && o.Local.After(until) {
				return
			}
			if !f(o) {
				return
			}
			done = o.Local
		}
		if !more || len(occs) == 0 {
			return
		}
		// Just before the last one's instant, so that others firing at
		// that same instant (a DST gap) are not passed over.
		after = occs[len(occs)-1].At.Add(-time.Nanosecond)
	}
}

// store records progress in the store (and this replica).
func (sc *scheduler) store(ctx context.Context, name string, through time.Time, log *slog.Logger) {
	if err := sc.advance(ctx, name, through); err != nil {
		log.Warn("schedule progress not stored: a restart may look at these occurrences again (they post once all the same)", "err", err)
	}
	sc.mu.Lock()
	sc.through[name] = through
	sc.mu.Unlock()
}

// advance moves the stored progress forward to through (never back: a
// second replica may be ahead).
func (sc *scheduler) advance(ctx context.Context, name string, through time.Time) error {
	var m scheduleMark
	return sc.s.st.ModifyJSON(ctx, scheduleKey(name), &m, func() { m = scheduleMark{} }, func() (bool, error) {
		if !through.After(m.Through) {
			return false, nil
		}
		m.Through = through.UTC()
		return true, nil
	})
}

// post submits one occurrence. It reports whether to try again later (the
// store or the daemon was not ready); every other outcome is final for it.
func (sc *scheduler) post(ctx context.Context, cfg *configs.Config, sch configs.Schedule, c *schedule.Cron,
	o schedule.Occurrence, id string, log *slog.Logger) (retry bool) {
	s := sc.s
	a, err := sch.Source().Build(schedule.DataFor(sch.Name, c, o, sch.StartDate))
	if err != nil {
		sc.outcomes.WithLabelValues(sch.Name, "failed").Inc()
		log.Error("occurrence not posted: its announcement does not build", "announcement", id, "err", err)
		return false
	}
	a.ID = id
	acc, err := s.Submit(groupcast.WithPrincipal(ctx, "schedule:"+sch.Name), a)
	var in *groupcast.InputError
	switch {
	case err == nil && acc.Existing:
		sc.outcomes.WithLabelValues(sch.Name, "existing").Inc()
		log.Debug("occurrence already posted", "announcement", id)
	case err == nil:
		sc.outcomes.WithLabelValues(sch.Name, "posted").Inc()
		log.Info("occurrence posted", "announcement", id, "targets", len(acc.Targets))
	case errors.Is(err, groupcast.ErrConflict):
		// Posted before (by another replica, or before a restart) from a
		// different file or config: the posted one stands. Said once per
		// occurrence per replica, not on every tick.
		sc.outcomes.WithLabelValues(sch.Name, "conflict").Inc()
		log.Warn("occurrence already posted with other content (its file changed since): the posted one stands", "announcement", id)
	case errors.As(err, &in), errors.Is(err, groupcast.ErrTooLarge):
		sc.outcomes.WithLabelValues(sch.Name, "failed").Inc()
		log.Error("occurrence not posted", "announcement", id, "err", err)
	default:
		log.Warn("occurrence not posted yet: trying again", "announcement", id, "err", err)
		return true
	}
	return false
}
