package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Counter keys are built by the caller from safe characters (letters,
// digits, '-', '_', '=', '.'); group names must be encoded first.

// GetJSON reads a small JSON value from the counters bucket into v; it
// reports false when absent.
func (s *Store) GetJSON(ctx context.Context, key string, v any) (bool, error) {
	e, err := s.counts.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return false, fmt.Errorf("store: decode %s: %w", key, err)
	}
	return true, nil
}

// PutJSON writes a small JSON value to the counters bucket.
func (s *Store) PutJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", key, err)
	}
	if _, err := s.counts.Put(ctx, key, b); err != nil {
		return fmt.Errorf("store: %s: %w", key, err)
	}
	return nil
}

// PauseKey and SendLogKey name an account's pause and pacing records.
func PauseKey(account string) string   { return "pause." + account }
func SendLogKey(account string) string { return "sends." + account }

// Pause is an account's rest after a platform throttle answer.
type Pause struct {
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

// Shared reports whether other processes may use the same store (driver
// nats): then accounts need leases.
func (s *Store) Shared() bool { return s.opts.Driver == DriverNATS }

// DailyKey names an account's count of sends per local day.
func DailyKey(account string) string { return "daily." + account }

// GroupStateKey names a group's policy state (policy.GroupState).
func GroupStateKey(destKey string) string { return "group." + destKey }

// docHint is the last version of a counters document this process read
// or wrote: a single owner usually writes it next, which saves a read.
type docHint struct {
	value []byte
	rev   uint64
}

// ModifyJSON reads the JSON document at key into v (left as it is when
// absent), calls change, and writes v back with compare-and-set, reading
// and calling again on a concurrent write. change answers whether to
// write at all.
func (s *Store) ModifyJSON(ctx context.Context, key string, v any, reset func(), change func() (bool, error)) error {
	for attempt := range 100 {
		reset()
		var rev uint64
		if h, ok := s.docs.Load(key); ok && attempt == 0 {
			d := h.(docHint)
			if err := json.Unmarshal(d.value, v); err != nil {
				return fmt.Errorf("store: decode %s: %w", key, err)
			}
			rev = d.rev
		} else {
			var err error
			if rev, err = s.ReadDoc(ctx, key, v); err != nil {
				return err
			}
		}
		write, err := change()
		if err != nil || !write {
			return err
		}
		if _, err := s.WriteDoc(ctx, key, v, rev); errors.Is(err, ErrConflict) {
			continue
		} else if err != nil {
			return err
		}
		return nil
	}
	return fmt.Errorf("%w: %s", ErrConflict, key)
}

// ReadDoc reads the JSON document at key into v from the store (never
// from this process's memory) and answers its revision: 0 when absent,
// v left as it is. With WriteDoc it serves a single owner that keeps the
// document between writes.
func (s *Store) ReadDoc(ctx context.Context, key string, v any) (uint64, error) {
	e, err := s.counts.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, fmt.Errorf("store: decode %s: %w", key, err)
	}
	return e.Revision(), nil
}

// WriteDoc writes v at key if the document is still at rev (0: absent)
// and answers its new revision; ErrConflict when another write came
// first. Other errors leave it unknown whether the write happened.
func (s *Store) WriteDoc(ctx context.Context, key string, v any, rev uint64) (uint64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("store: encode %s: %w", key, err)
	}
	var next uint64
	if rev == 0 {
		next, err = s.counts.Create(ctx, key, b)
	} else {
		next, err = s.counts.Update(ctx, key, b, rev)
	}
	if err != nil {
		s.docs.Delete(key)
		if isExists(err) {
			return 0, fmt.Errorf("%w: %s", ErrConflict, key)
		}
		return 0, fmt.Errorf("store: %s: %w", key, err)
	}
	s.docs.Store(key, docHint{value: b, rev: next})
	return next, nil
}

// DocRevision is the revision of the document at key as this process last
// read or wrote it (0: not known here): an owner keeping a copy sees that
// another writer in this process changed it.
func (s *Store) DocRevision(key string) uint64 {
	if h, ok := s.docs.Load(key); ok {
		return h.(docHint).rev
	}
	return 0
}

// ReadJSON reads the document at key into v, from this process's last
// version when it has one (a single owner writes it), else from the store.
func (s *Store) ReadJSON(ctx context.Context, key string, v any) error {
	if h, ok := s.docs.Load(key); ok {
		return json.Unmarshal(h.(docHint).value, v)
	}
	e, err := s.counts.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", key, err)
	}
	s.docs.Store(key, docHint{value: e.Value(), rev: e.Revision()})
	return json.Unmarshal(e.Value(), v)
}

// ForgetHints drops what this process remembers of documents (another
// replica may have written them: an account just taken over).
func (s *Store) ForgetHints() { s.docs.Clear() }

// DeleteJSON removes the document at key (absent is fine). The key's
// marker goes after a second (the bucket's marker TTL), so removed keys do
// not pile up under KeysUnder.
func (s *Store) DeleteJSON(ctx context.Context, key string) error {
	s.docs.Delete(key)
	if err := s.counts.Purge(ctx, key, jetstream.PurgeTTL(time.Second)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("store: delete %s: %w", key, err)
	}
	return nil
}

// KeysUnder lists the counters keys under prefix ("series." lists
// "series.<id>"), in no particular order, from the stream's subjects (no
// consumer is created). A key removed within the last second may still be
// listed: read it to know.
func (s *Store) KeysUnder(ctx context.Context, prefix string) ([]string, error) {
	st, err := s.js.Stream(ctx, KVStreamName(bucketCounters))
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", prefix, err)
	}
	subject := "$KV." + bucketCounters + "."
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject+prefix+">"))
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", prefix, err)
	}
	out := make([]string, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		out = append(out, strings.TrimPrefix(subj, subject))
	}
	return out, nil
}

// CreateOnce writes key to the counters bucket only when it is absent,
// with a time to live (the store's time, not the caller's clock): it
// answers true for the one caller, of any replica, that created it, and
// false while the key lives. It de-duplicates inbound events.
func (s *Store) CreateOnce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl < time.Second {
		ttl = time.Second
	}
	_, err := s.counts.Create(ctx, key, []byte("1"), jetstream.KeyTTL(ttl))
	switch {
	case err == nil:
		return true, nil
	case isExists(err):
		return false, nil
	default:
		return false, fmt.Errorf("store: %s: %w", key, err)
	}
}
