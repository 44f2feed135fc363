package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Counter keys are built by the caller from safe characters (letters,
// digits, '-', '_', '=', '.'); group names must be encoded first.

// Reserve adds n to the counter at key if the total stays within limit
// (limit <= 0: no limit). It is exact under concurrency and across
// processes: the write is a compare-and-set on the counter's revision.
// It returns whether n was granted and the total after the call.
func (s *Store) Reserve(ctx context.Context, key string, n, limit int64) (bool, int64, error) {
	for range 1000 {
		e, err := s.counts.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if limit > 0 && n > limit {
				return false, 0, nil
			}
			if _, err := s.counts.Create(ctx, key, []byte(strconv.FormatInt(n, 10))); err != nil {
				if isExists(err) {
					continue
				}
				return false, 0, fmt.Errorf("store: counter %s: %w", key, err)
			}
			return true, n, nil
		case err != nil:
			return false, 0, fmt.Errorf("store: counter %s: %w", key, err)
		}
		used, _ := strconv.ParseInt(string(e.Value()), 10, 64)
		if limit > 0 && used+n > limit {
			return false, used, nil
		}
		if _, err := s.counts.Update(ctx, key, []byte(strconv.FormatInt(used+n, 10)), e.Revision()); err != nil {
			if isConflict(err) {
				continue
			}
			return false, 0, fmt.Errorf("store: counter %s: %w", key, err)
		}
		return true, used + n, nil
	}
	return false, 0, fmt.Errorf("%w: counter %s", ErrConflict, key)
}

// Count reads a counter (0 when absent).
func (s *Store) Count(ctx context.Context, key string) (int64, error) {
	e, err := s.counts.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: counter %s: %w", key, err)
	}
	return strconv.ParseInt(string(e.Value()), 10, 64)
}

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

// Release takes n back from the counter at key, never below zero (a daily
// cap slot given back after a send failed for good).
func (s *Store) Release(ctx context.Context, key string, n int64) error {
	for range 1000 {
		e, err := s.counts.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: counter %s: %w", key, err)
		}
		used, _ := strconv.ParseInt(string(e.Value()), 10, 64)
		next := max(used-n, 0)
		if _, err := s.counts.Update(ctx, key, []byte(strconv.FormatInt(next, 10)), e.Revision()); err != nil {
			if isConflict(err) {
				continue
			}
			return fmt.Errorf("store: counter %s: %w", key, err)
		}
		return nil
	}
	return fmt.Errorf("%w: counter %s", ErrConflict, key)
}

// Keys of a group's history, for the policy: when it first got a delivery
// and what it got recently (the content mix).
func FirstKey(dest string) string   { return "first." + dest }
func HistoryKey(dest string) string { return "mix." + dest }
func CapKey(key string) string      { return "cap." + key }

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
			e, err := s.counts.Get(ctx, key)
			switch {
			case errors.Is(err, jetstream.ErrKeyNotFound):
			case err != nil:
				return fmt.Errorf("store: %s: %w", key, err)
			default:
				if err := json.Unmarshal(e.Value(), v); err != nil {
					return fmt.Errorf("store: decode %s: %w", key, err)
				}
				rev = e.Revision()
			}
		}
		write, err := change()
		if err != nil || !write {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("store: encode %s: %w", key, err)
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
				continue
			}
			return fmt.Errorf("store: %s: %w", key, err)
		}
		s.docs.Store(key, docHint{value: b, rev: next})
		return nil
	}
	return fmt.Errorf("%w: %s", ErrConflict, key)
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
