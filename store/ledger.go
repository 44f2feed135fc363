package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
)

// Ledger keys:
//
//	m.<id>         Record: the announcement and its planned destinations (written once)
//	t.<id>.<key>   TargetRecord: one destination's state (key = Destination.Key())
//	r.<id>         Review: who approved or rejected the announcement, and when
const (
	prefixMessage = "m."
	prefixTarget  = "t."
	prefixReview  = "r."
)

// Record is an accepted announcement with the destinations it was planned
// to when it was accepted.
type Record struct {
	Announcement groupcast.Announcement  `json:"announcement"`
	Digest       string                  `json:"digest"`
	AcceptedAt   time.Time               `json:"accepted_at"`
	Destinations []groupcast.Destination `json:"destinations"`
	// Policies are the policies the destinations name, as configured when
	// the announcement was accepted: a reload applies to later ones.
	Policies map[string]configs.Policy `json:"policies,omitempty"`
	// Location is the timezone in force at acceptance.
	Timezone string `json:"timezone,omitempty"`
}

// TargetRecord is the stored state of one destination.
type TargetRecord struct {
	groupcast.Target
	Key string `json:"key"`
	// Owner is the instance sending this target while State is sending;
	// another instance finding it there knows the sender crashed.
	Owner       string             `json:"owner,omitempty"`
	Receipt     *groupcast.Receipt `json:"receipt,omitempty"`
	AcceptedAt  time.Time          `json:"accepted_at"`
	DeliveredAt *time.Time         `json:"delivered_at,omitempty"`
	Masked      bool               `json:"masked,omitempty"`
	// Reserved is the daily-cap counter this target holds a slot in (so a
	// retry does not take a second one, and a final failure gives it back).
	Reserved string `json:"reserved,omitempty"`
	// HitsCounted: the content rule hits of this target are in the metrics.
	HitsCounted bool `json:"hits_counted,omitempty"`
}

// Review records a decision on held targets.
type Review struct {
	Decision string    `json:"decision"` // approved | rejected
	By       string    `json:"by"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// ErrExists is returned by CreateRecord when the id is taken; the existing
// record comes back with it.
var ErrExists = errors.New("store: exists")

// ErrConflict is returned by UpdateTarget when the record changed between
// read and write more times than it retries.
var ErrConflict = errors.New("store: concurrent update")

// CreateRecord stores an announcement under its id, once. If the id exists
// it returns the stored record and ErrExists.
func (s *Store) CreateRecord(ctx context.Context, r *Record) (*Record, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("store: encode record: %w", err)
	}
	if _, err := s.ledger.Create(ctx, prefixMessage+r.Announcement.ID, b); err != nil {
		if isExists(err) {
			old, err2 := s.Record(ctx, r.Announcement.ID)
			if err2 != nil {
				return nil, err2
			}
			return old, ErrExists
		}
		return nil, fmt.Errorf("store: create record %s: %w", r.Announcement.ID, err)
	}
	return r, nil
}

// Record reads an announcement; groupcast.ErrNotFound if unknown.
func (s *Store) Record(ctx context.Context, id string) (*Record, error) {
	if !groupcast.ValidID(id) {
		return nil, groupcast.ErrNotFound
	}
	e, err := s.ledger.Get(ctx, prefixMessage+id)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, groupcast.ErrNotFound
		}
		return nil, fmt.Errorf("store: read record %s: %w", id, err)
	}
	var r Record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return nil, fmt.Errorf("store: decode record %s: %w", id, err)
	}
	return &r, nil
}

// CreateTarget writes a destination's first state. If it exists already (a
// plan redelivered after a crash) the stored one is kept and returned.
func (s *Store) CreateTarget(ctx context.Context, id string, t *TargetRecord) (*TargetRecord, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("store: encode target: %w", err)
	}
	if _, err := s.ledger.Create(ctx, targetKey(id, t.Key), b); err != nil {
		if isExists(err) {
			old, _, err := s.Target(ctx, id, t.Key)
			return old, err
		}
		return nil, fmt.Errorf("store: create target %s/%s: %w", id, t.Key, err)
	}
	return t, nil
}

// Target reads one target and its revision.
func (s *Store) Target(ctx context.Context, id, key string) (*TargetRecord, uint64, error) {
	e, err := s.ledger.Get(ctx, targetKey(id, key))
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, 0, groupcast.ErrNotFound
		}
		return nil, 0, fmt.Errorf("store: read target %s/%s: %w", id, key, err)
	}
	var t TargetRecord
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return nil, 0, fmt.Errorf("store: decode target %s/%s: %w", id, key, err)
	}
	s.remember(targetKey(id, key), &t, e.Revision())
	return &t, e.Revision(), nil
}

// targetHint is the last version of a target this process read or wrote.
type targetHint struct {
	t   TargetRecord
	rev uint64
}

func (h targetHint) record() *TargetRecord {
	t := h.t
	t.PlatformMessageIDs = append([]string(nil), h.t.PlatformMessageIDs...)
	return &t
}

// remember keeps the version of a target that is still moving; a finished
// one is forgotten, so the hints stay as few as the targets in flight.
func (s *Store) remember(k string, t *TargetRecord, rev uint64) {
	if t.State.Terminal() {
		s.hints.Delete(k)
		return
	}
	h := targetHint{t: *t, rev: rev}
	h.t.PlatformMessageIDs = append([]string(nil), t.PlatformMessageIDs...)
	s.hints.Store(k, h)
}

// ErrUnchanged may be returned by an UpdateTarget function to write nothing.
var ErrUnchanged = errors.New("store: unchanged")

// UpdateTarget applies change to the stored target with compare-and-set,
// re-reading and re-applying on a concurrent write. change may return
// ErrUnchanged to leave the record as it is (UpdateTarget then returns the
// current record and ErrUnchanged).
func (s *Store) UpdateTarget(ctx context.Context, id, key string, change func(*TargetRecord) error) (*TargetRecord, error) {
	for attempt := range 50 {
		var t *TargetRecord
		var rev uint64
		var err error
		if h, ok := s.hints.Load(targetKey(id, key)); ok && attempt == 0 {
			// The version this process wrote or read last: usually still
			// current, which saves a read; compare-and-set catches it if not.
			hint := h.(targetHint)
			t, rev = hint.record(), hint.rev
		} else if t, rev, err = s.Target(ctx, id, key); err != nil {
			return nil, err
		}
		if err := change(t); err != nil {
			return t, err
		}
		b, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("store: encode target: %w", err)
		}
		next, err := s.ledger.Update(ctx, targetKey(id, key), b, rev)
		if err != nil {
			s.hints.Delete(targetKey(id, key))
			if isConflict(err) {
				continue
			}
			return nil, fmt.Errorf("store: update target %s/%s: %w", id, key, err)
		}
		s.remember(targetKey(id, key), t, next)
		return t, nil
	}
	return nil, fmt.Errorf("%w: %s/%s", ErrConflict, id, key)
}

// Targets reads every stored target of an announcement.
func (s *Store) Targets(ctx context.Context, id string) ([]*TargetRecord, error) {
	w, err := s.ledger.Watch(ctx, prefixTarget+id+".>", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("store: list targets %s: %w", id, err)
	}
	defer w.Stop()
	var out []*TargetRecord
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok || e == nil {
				return out, nil
			}
			var t TargetRecord
			if err := json.Unmarshal(e.Value(), &t); err != nil {
				return nil, fmt.Errorf("store: decode target %s: %w", e.Key(), err)
			}
			out = append(out, &t)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// IDs lists announcement ids, oldest accepted first (the ledger's write
// order: records are written once).
func (s *Store) IDs(ctx context.Context) ([]string, error) {
	l, err := s.ledger.ListKeysFiltered(ctx, prefixMessage+">")
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("store: list: %w", err)
	}
	defer l.Stop()
	var ids []string
	for k := range l.Keys() {
		ids = append(ids, strings.TrimPrefix(k, prefixMessage))
	}
	return ids, nil
}

// PutReview records a review decision.
func (s *Store) PutReview(ctx context.Context, id string, r Review) error {
	b, _ := json.Marshal(r)
	if _, err := s.ledger.Put(ctx, prefixReview+id, b); err != nil {
		return fmt.Errorf("store: review %s: %w", id, err)
	}
	return nil
}

// Review reads a review decision; groupcast.ErrNotFound if none.
func (s *Store) Review(ctx context.Context, id string) (*Review, error) {
	e, err := s.ledger.Get(ctx, prefixReview+id)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, groupcast.ErrNotFound
		}
		return nil, fmt.Errorf("store: review %s: %w", id, err)
	}
	var r Review
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return nil, fmt.Errorf("store: decode review %s: %w", id, err)
	}
	return &r, nil
}

func targetKey(id, key string) string { return prefixTarget + id + "." + key }

// isExists reports a Create on a key that is there. On replicated streams
// nats.go can return the raw API error 10164 instead of ErrKeyExists.
func isExists(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || isConflict(err)
}

func isConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return false
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return host, port, nil
}
