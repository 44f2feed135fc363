package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/transform"
)

var _ groupcast.Intake = (*Service)(nil)

// Submit accepts an announcement: it plans the targets under the routes in
// force and stores the announcement with its plan, in one write (the id is
// the idempotency key). That write is the acceptance: each account's sender
// follows the ledger's records in their order, so the answer comes once the
// store has it, and a crash before the answer loses nothing the caller was
// told about (the caller retries with the same id and gets the stored one).
func (s *Service) Submit(ctx context.Context, a *groupcast.Announcement) (groupcast.Accepted, error) {
	if err := s.Busy(ctx); err != nil {
		return groupcast.Accepted{}, err
	}
	s.intake.wait(ctx)
	if a.ID == "" {
		a.ID = ulid.Make().String()
	}
	if a.Series != nil {
		return s.submitSeries(ctx, a) // series.go: a record of the plan, then one announcement per part
	}
	return s.submit(ctx, a, nil)
}

// submit stores one announcement with its plan; part, when given, marks
// the record as a part of a series.
func (s *Service) submit(ctx context.Context, a *groupcast.Announcement, part func(*store.Record)) (groupcast.Accepted, error) {
	// A body the styles cannot render in bounded time is refused here,
	// not failed target by target later (docs/limits.md); the parse is
	// kept for the senders.
	doc := transform.Parse(a)
	if err := doc.Err(); err != nil {
		return groupcast.Accepted{}, err
	}
	for i, v := range a.Variants {
		if v.Body == "" {
			continue
		}
		if err := transform.Check(v.Body); err != nil {
			return groupcast.Accepted{}, variantBodyError(i, err)
		}
	}
	cfg := s.cfg.Load()
	dests := Plan(cfg, a)
	if len(dests) == 0 {
		return groupcast.Accepted{}, &groupcast.InputError{Code: "no_route", Fields: []*groupcast.FieldError{{
			Field: "tags", Message: fmt.Sprintf("no route matches category %s, priority %s, tags [%s]",
				a.Category, a.Priority, strings.Join(a.Tags, ", ")),
		}}}
	}
	if keep := storeRetention(cfg); a.SendAt != nil && a.SendAt.Sub(s.clock.Now()) > keep {
		// The record would be gone before its time comes.
		return groupcast.Accepted{}, &groupcast.InputError{Code: "invalid", Fields: []*groupcast.FieldError{{
			Field: "send_at", Message: fmt.Sprintf("more than store.retention (%s) ahead: the store keeps an announcement that long", keep)}}}
	}
	// Acceptance order is the ledger's order: the time and the write go
	// together, so accepted_at, the answers and the senders agree.
	s.submitMu.Lock()
	now := s.clock.Now()
	AssignVariants(a, dests, now, cfg.Location)
	rec := newRecord(cfg, a, dests, now)
	rec.SubmittedBy = groupcast.PrincipalFrom(ctx)
	if part != nil {
		part(rec)
	}
	acc, err := s.createRecord(ctx, rec, doc, s.compiledPolicies(cfg))
	if err == nil && !acc.Existing {
		s.log.Info("accepted", "announcement", a.ID, "targets", len(dests), "title", a.Title)
	}
	return acc, err
}

// createRecord writes rec, built while the caller held submitMu, and
// releases submitMu once the store answered (acceptance order is the
// ledger's order). The same id stored with the same content answers that
// announcement as Existing; other content is ErrConflict.
func (s *Service) createRecord(ctx context.Context, rec *store.Record, doc *transform.Doc, compiled map[string]*policy.Policy) (groupcast.Accepted, error) {
	stored, seq, err := s.st.CreateRecord(ctx, rec)
	s.submitMu.Unlock()
	existing := errors.Is(err, store.ErrExists)
	switch {
	case existing && stored.Digest != rec.Digest:
		return groupcast.Accepted{}, groupcast.ErrConflict
	case existing:
		st, err := s.status(ctx, stored)
		if err != nil {
			return groupcast.Accepted{}, err
		}
		return groupcast.Accepted{Status: st, Existing: true}, nil
	case errors.Is(err, store.ErrTooLarge):
		return groupcast.Accepted{}, fmt.Errorf("%w: %v", groupcast.ErrTooLarge, err)
	case err != nil:
		return groupcast.Accepted{}, fmt.Errorf("%w: %v", groupcast.ErrNotReady, err)
	}
	if c := s.records.putParsed(rec, seq, doc); len(rec.Policies) > 0 && c.pols != nil {
		c.pols.prefill(rec, compiled)
	}
	s.intake.written(seq)
	s.metrics.accepted.Inc()
	return groupcast.Accepted{Status: s.statusOf(rec, nil, false)}, nil
}

// storeRetention is how long the store keeps an announcement.
func storeRetention(cfg *configs.Config) time.Duration {
	if r := cfg.Store.Retention; r > 0 {
		return r
	}
	return 30 * 24 * time.Hour
}

// newRecord is an announcement as accepted at now under cfg.
func newRecord(cfg *configs.Config, a *groupcast.Announcement, dests []groupcast.Destination, now time.Time) *store.Record {
	return &store.Record{Announcement: *a, Digest: a.Digest(), AcceptedAt: now.UTC(), Destinations: dests,
		Policies: policiesFor(cfg, dests), Timezone: cfg.Timezone, Tracking: cfg.Tracking.BaseURL}
}

// Busy answers why no announcement can be taken now, before anyone parses
// a body: shutting down, the store not ready, or more queued than
// server.max_backlog.
func (s *Service) Busy(ctx context.Context) error {
	if s.closing.Load() {
		return fmt.Errorf("%w: shutting down", groupcast.ErrNotReady)
	}
	if err := s.st.Ready(); err != nil {
		return fmt.Errorf("%w: %v", groupcast.ErrNotReady, err)
	}
	if max := s.cfg.Load().Server.MaxBacklog; max > 0 {
		if n := s.backlog(ctx); n > max {
			return fmt.Errorf("%w: an account's sender has %d announcements queued, server.max_backlog is %d", groupcast.ErrBusy, n, max)
		}
	}
	return nil
}

// Status reads one announcement and the state of each target.
func (s *Service) Status(ctx context.Context, id string) (groupcast.Status, error) {
	r, err := s.Row(ctx, id)
	return r.Status, err
}

// Row is an announcement's status and the announcement as accepted, from
// one read of its record (the console's board shows both).
type Row struct {
	Status       groupcast.Status
	Announcement *groupcast.Announcement
}

// Row answers an announcement's status with the announcement.
func (s *Service) Row(ctx context.Context, id string) (Row, error) {
	rec, err := s.st.Record(ctx, id)
	if err != nil {
		return Row{}, err
	}
	var st groupcast.Status
	if len(rec.Parts) > 0 {
		st, err = s.seriesStatus(ctx, rec)
	} else {
		st, err = s.status(ctx, rec)
	}
	return Row{Status: st, Announcement: &rec.Announcement}, err
}

func (s *Service) status(ctx context.Context, rec *store.Record) (groupcast.Status, error) {
	keys := make([]string, len(rec.Destinations))
	for i, d := range rec.Destinations {
		keys[i] = d.Key()
	}
	stored, err := s.st.Targets(ctx, rec.Announcement.ID, keys)
	if err != nil {
		return groupcast.Status{}, err
	}
	_, err = s.st.Recall(ctx, rec.Announcement.ID)
	recalling := err == nil
	if err != nil && !errors.Is(err, groupcast.ErrNotFound) {
		return groupcast.Status{}, err
	}
	return s.statusOf(rec, stored, recalling), nil
}

// statusOf merges the stored targets into the plan; a destination with
// nothing stored is where its record puts it. With a recall requested, a
// target whose recall has not run yet shows it pending.
func (s *Service) statusOf(rec *store.Record, stored []*store.TargetRecord, recalling bool) groupcast.Status {
	byKey := make(map[string]*store.TargetRecord, len(stored))
	for _, t := range stored {
		byKey[t.Key] = t
	}
	accepted := rec.AcceptedAt
	if !rec.StoredAt.IsZero() {
		accepted = rec.StoredAt // the store's order, whatever the writer's clock said
	}
	st := groupcast.Status{ID: rec.Announcement.ID, Title: rec.Announcement.Title, AcceptedAt: accepted,
		Targets: make([]groupcast.Target, 0, len(rec.Destinations))}
	for _, d := range rec.Destinations {
		var t *store.TargetRecord
		if len(byKey) > 0 { // none at acceptance: no key to build
			t = byKey[d.Key()]
		}
		var tt groupcast.Target
		if t != nil {
			tt = t.Target
		} else {
			tt = impliedTarget(rec, d)
		}
		tt.Variant = d.Variant
		if tt.PlatformMessageIDs == nil {
			tt.PlatformMessageIDs = []string{}
		}
		if recalling && tt.Recall == nil && (tt.State == groupcast.StateDelivered || !tt.State.Terminal()) {
			tt.Recall = &groupcast.TargetRecall{State: groupcast.RecallPending}
		}
		st.Targets = append(st.Targets, tt)
	}
	st.State = groupcast.MessageState(st.Targets)
	return st
}

// List answers the newest announcements first, optionally only those in
// state (an announcement state: pending, delivered, partial, failed; or a
// target state: any target in it).
func (s *Service) List(ctx context.Context, state string, limit int) ([]groupcast.Status, error) {
	rows, err := s.Rows(ctx, state, limit)
	out := make([]groupcast.Status, len(rows))
	for i, r := range rows {
		out[i] = r.Status
	}
	return out, err
}

// Rows is List with each announcement as accepted (one read of each
// record).
func (s *Service) Rows(ctx context.Context, state string, limit int) ([]Row, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	ids, err := s.st.IDs(ctx)
	if err != nil {
		return nil, err
	}
	out := []Row{}
	for _, id := range slices.Backward(ids) {
		r, err := s.Row(ctx, id)
		if err != nil {
			if errors.Is(err, groupcast.ErrNotFound) {
				continue
			}
			return nil, err
		}
		st := r.Status
		if state != "" && st.State != state && !slices.ContainsFunc(st.Targets, func(t groupcast.Target) bool {
			return string(t.State) == state
		}) {
			continue
		}
		out = append(out, r)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// backlog is how many announcements the slowest configured account's
// sender has not taken yet (from the store: the same on every replica),
// read at most every 250 ms: intake checks it on every request.
// Consumers of accounts no longer configured do not count.
func (s *Service) backlog(ctx context.Context) int {
	s.backlogMu.Lock()
	defer s.backlogMu.Unlock()
	if time.Since(s.backlogAt) < 250*time.Millisecond {
		return s.backlogN
	}
	queues, err := s.st.Queues(ctx)
	if err != nil {
		return s.backlogN // keep the last answer; the store's own errors surface elsewhere
	}
	n := 0
	for _, a := range s.cfg.Load().Accounts {
		n = max(n, queues[a.Name].Pending)
	}
	s.backlogN, s.backlogAt = n, time.Now()
	return n
}

// variantBodyError names the variant whose body the styles refuse.
func variantBodyError(i int, err error) error {
	var in *groupcast.InputError
	if errors.As(err, &in) {
		c := *in
		c.Fields = make([]*groupcast.FieldError, len(in.Fields))
		for k, f := range in.Fields {
			c.Fields[k] = &groupcast.FieldError{Field: fmt.Sprintf("variants[%d].%s", i, f.Field), Message: f.Message}
		}
		return &c
	}
	return err
}
