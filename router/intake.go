package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/oklog/ulid/v2"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

var _ groupcast.Intake = (*Service)(nil)

// Submit accepts an announcement: it plans the targets under the routes in
// force, stores the announcement (the id is the idempotency key), queues it
// for the plan handler, and answers once both writes are acknowledged by the
// store. A crash before the answer loses nothing the caller was told about;
// the caller retries with the same id and gets the stored one (200).
func (s *Service) Submit(ctx context.Context, a *groupcast.Announcement) (groupcast.Accepted, error) {
	if s.closing.Load() {
		return groupcast.Accepted{}, fmt.Errorf("%w: shutting down", groupcast.ErrNotReady)
	}
	if err := s.st.Ready(); err != nil {
		return groupcast.Accepted{}, fmt.Errorf("%w: %v", groupcast.ErrNotReady, err)
	}
	now := s.clock.Now()
	if a.ID == "" {
		a.ID = ulid.Make().String()
	}
	cfg := s.cfg.Load()
	if max := cfg.Server.MaxBacklog; max > 0 {
		if n := s.backlog(ctx); n > max {
			return groupcast.Accepted{}, fmt.Errorf("%w: %d targets queued, server.max_backlog is %d", groupcast.ErrBusy, n, max)
		}
	}
	dests := Plan(cfg, a)
	if len(dests) == 0 {
		return groupcast.Accepted{}, &groupcast.InputError{Code: "no_route", Fields: []*groupcast.FieldError{{
			Field: "tags", Message: fmt.Sprintf("no route matches category %s, priority %s, tags [%s]",
				a.Category, a.Priority, strings.Join(a.Tags, ", ")),
		}}}
	}
	rec := &store.Record{Announcement: *a, Digest: a.Digest(), AcceptedAt: now.UTC(), Destinations: dests,
		Policies: policiesFor(cfg, dests), Timezone: cfg.Timezone}
	stored, err := s.st.CreateRecord(ctx, rec)
	existing := errors.Is(err, store.ErrExists)
	switch {
	case existing && stored.Digest != rec.Digest:
		return groupcast.Accepted{}, groupcast.ErrConflict
	case existing:
		// Queue again in case the first attempt stopped between the two
		// writes; the plan handler is idempotent.
		if planned, err := s.planned(ctx, stored); err != nil || !planned {
			if err := s.queuePlan(ctx, stored.Announcement.ID); err != nil {
				return groupcast.Accepted{}, err
			}
		}
	case err != nil:
		return groupcast.Accepted{}, fmt.Errorf("%w: %v", groupcast.ErrNotReady, err)
	default:
		if err := s.queuePlan(ctx, a.ID); err != nil {
			return groupcast.Accepted{}, err
		}
		s.metrics.accepted.Inc()
		s.log.Info("accepted", "announcement", a.ID, "targets", len(dests), "title", a.Title)
	}
	if !existing {
		// Nothing is planned yet: the answer is the plan, without reading
		// the store again (the announcement is stored; a failed read here
		// must not turn into an error answer).
		return groupcast.Accepted{Status: s.statusOf(stored, nil)}, nil
	}
	st, err := s.status(ctx, stored)
	if err != nil {
		return groupcast.Accepted{}, err
	}
	return groupcast.Accepted{Status: st, Existing: true}, nil
}

func (s *Service) queuePlan(ctx context.Context, id string) error {
	m := message.NewMessage(id, []byte(id))
	m.SetContext(ctx)
	if err := s.pub.Publish(store.SubjectIntake, m); err != nil {
		return fmt.Errorf("%w: %v", groupcast.ErrNotReady, err)
	}
	return nil
}

func (s *Service) planned(ctx context.Context, r *store.Record) (bool, error) {
	if len(r.Destinations) == 0 {
		return true, nil
	}
	_, _, err := s.st.Target(ctx, r.Announcement.ID, r.Destinations[len(r.Destinations)-1].Key())
	if errors.Is(err, groupcast.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// deliveryMsg is the payload of a delivery: which target of which
// announcement. Everything else is read from the ledger.
type deliveryMsg struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// plan writes every destination of an announcement queued (or scheduled)
// and returns one delivery per destination; the router publishes them
// before it acknowledges the intake message.
func (s *Service) plan(msg *message.Message) ([]*message.Message, error) {
	ctx := msg.Context()
	id := string(msg.Payload)
	rec, err := s.st.Record(ctx, id)
	if errors.Is(err, groupcast.ErrNotFound) {
		return nil, fmt.Errorf("%w: intake names unknown announcement %q", errPoison, id)
	}
	if err != nil {
		retryIn(msg, storeRetry)
		return nil, errRetry
	}
	out := make([]*message.Message, 0, len(rec.Destinations))
	for _, d := range rec.Destinations {
		t := &store.TargetRecord{
			Target: groupcast.Target{
				Route: d.Route, Platform: d.Platform, Account: d.Account, Group: d.Group, Style: d.Style,
				State: groupcast.StateQueued, UpdatedAt: s.clock.Now(), PlatformMessageIDs: []string{},
			},
			Key:        d.Key(),
			AcceptedAt: rec.AcceptedAt,
		}
		if sa := rec.Announcement.SendAt; sa != nil && sa.After(rec.AcceptedAt) {
			t.State, t.NotBefore = groupcast.StateScheduled, sa
			t.Reason = "send_at"
		}
		got, err := s.st.CreateTarget(ctx, id, t)
		if err != nil {
			retryIn(msg, storeRetry)
			return nil, errRetry
		}
		if got == t {
			s.metrics.transition(d.Platform, d.Account, "", t.State)
			attrs := []any{"announcement", id, "account", d.Account, "group", d.Group, "state", t.State}
			if t.NotBefore != nil {
				attrs = append(attrs, "reason", t.Reason, "not_before", t.NotBefore.Format(time.RFC3339))
			}
			s.log.Info("state", attrs...)
		}
		out = append(out, deliveryMessage(id, d))
	}
	return out, nil
}

func deliveryMessage(id string, d groupcast.Destination) *message.Message {
	b, _ := json.Marshal(deliveryMsg{ID: id, Key: d.Key()})
	m := message.NewMessage(id+"/"+d.Key(), b)
	m.Metadata.Set(metaSubject, store.DeliverSubject(d.Account))
	return m
}

// Status reads one announcement and the state of each target.
func (s *Service) Status(ctx context.Context, id string) (groupcast.Status, error) {
	rec, err := s.st.Record(ctx, id)
	if err != nil {
		return groupcast.Status{}, err
	}
	return s.status(ctx, rec)
}

func (s *Service) status(ctx context.Context, rec *store.Record) (groupcast.Status, error) {
	stored, err := s.st.Targets(ctx, rec.Announcement.ID)
	if err != nil {
		return groupcast.Status{}, err
	}
	return s.statusOf(rec, stored), nil
}

// statusOf merges the stored targets into the plan; a destination with no
// stored target is not planned yet.
func (s *Service) statusOf(rec *store.Record, stored []*store.TargetRecord) groupcast.Status {
	byKey := make(map[string]*store.TargetRecord, len(stored))
	for _, t := range stored {
		byKey[t.Key] = t
	}
	st := groupcast.Status{ID: rec.Announcement.ID, Title: rec.Announcement.Title, AcceptedAt: rec.AcceptedAt}
	for _, d := range rec.Destinations {
		if t, ok := byKey[d.Key()]; ok {
			if t.PlatformMessageIDs == nil {
				t.PlatformMessageIDs = []string{}
			}
			st.Targets = append(st.Targets, t.Target)
			continue
		}
		// Accepted, not planned yet.
		t := groupcast.Target{Route: d.Route, Platform: d.Platform, Account: d.Account, Group: d.Group,
			Style: d.Style, State: groupcast.StateQueued, UpdatedAt: rec.AcceptedAt, PlatformMessageIDs: []string{}}
		if sa := rec.Announcement.SendAt; sa != nil && sa.After(rec.AcceptedAt) {
			t.State, t.NotBefore, t.Reason = groupcast.StateScheduled, sa, "send_at"
		}
		st.Targets = append(st.Targets, t)
	}
	st.State = groupcast.MessageState(st.Targets)
	return st
}

// List answers the newest announcements first, optionally only those in
// state (an announcement state: pending, delivered, partial, failed; or a
// target state: any target in it).
func (s *Service) List(ctx context.Context, state string, limit int) ([]groupcast.Status, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	ids, err := s.st.IDs(ctx)
	if err != nil {
		return nil, err
	}
	out := []groupcast.Status{}
	for _, id := range slices.Backward(ids) {
		st, err := s.Status(ctx, id)
		if err != nil {
			if errors.Is(err, groupcast.ErrNotFound) {
				continue
			}
			return nil, err
		}
		if state != "" && st.State != state && !slices.ContainsFunc(st.Targets, func(t groupcast.Target) bool {
			return string(t.State) == state
		}) {
			continue
		}
		out = append(out, st)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// backlog is the store's backlog, read at most every 250 ms: intake checks
// it on every request.
func (s *Service) backlog(ctx context.Context) int {
	s.backlogMu.Lock()
	defer s.backlogMu.Unlock()
	if time.Since(s.backlogAt) < 250*time.Millisecond {
		return s.backlogN
	}
	n, err := s.st.Backlog(ctx)
	if err != nil {
		return s.backlogN // keep the last answer; the store's own errors surface elsewhere
	}
	s.backlogN, s.backlogAt = n, time.Now()
	return n
}
