package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Fenced leases: one owner per key (an account), with the store's time.
//
// A lease is a key in the bucket groupcast_leases written with a per-key
// TTL: the server removes it TTL after the last write unless the owner
// renews it first, so expiry runs on the store's clock, never on a
// replica's. Every write is a compare-and-set on the key's revision.
//
// The holder keeps a local deadline, from its monotonic clock: the instant
// it sent the write that took or last renewed the lease, plus the TTL, less
// a safety margin (TTL/5). The server's TTL starts later than that instant
// (when the write arrives), so the holder's deadline passes before the
// store can expire the lease: a holder that stops claiming at its deadline
// never overlaps with the next owner, whatever happened to its renewals.
//
// The fencing token is the revision at which the owner took the lease. It
// stays the same while the owner renews and is larger for every later
// owner. CheckLease compares a token with the store, so that a claim made
// by a holder that was paused past its deadline can be refused.

// DefaultLeaseTTL is store.lease_ttl's default.
const DefaultLeaseTTL = 10 * time.Second

// MinLeaseTTL is the shortest TTL the store takes (per-key TTLs count in
// whole seconds).
const MinLeaseTTL = time.Second

var (
	// ErrLeaseHeld is returned by TakeLease when another owner holds the
	// lease.
	ErrLeaseHeld = errors.New("store: lease held by another owner")
	// ErrLeaseLost is returned by Renew and CheckLease when the lease has
	// expired or has another owner or token.
	ErrLeaseLost = errors.New("store: lease lost")
)

// leaseRecord is the value of a lease key. Token is 0 in the write that
// takes the lease: the token is that write's revision, known only after.
type leaseRecord struct {
	Owner string `json:"owner"`
	Token uint64 `json:"token,omitempty"`
}

func (r leaseRecord) token(rev uint64) uint64 {
	if r.Token == 0 {
		return rev
	}
	return r.Token
}

// LeaseHold is a lease this process holds. Its methods are safe for
// concurrent use: senders call Valid while a keeper calls Renew.
type LeaseHold struct {
	s     *Store
	key   string
	owner string
	token uint64
	ttl   time.Duration

	mu       sync.Mutex
	rev      uint64
	deadline time.Time // monotonic
}

// Key, Owner, Token and TTL describe the lease.
func (h *LeaseHold) Key() string        { return h.key }
func (h *LeaseHold) Owner() string      { return h.owner }
func (h *LeaseHold) Token() uint64      { return h.token }
func (h *LeaseHold) TTL() time.Duration { return h.ttl }

// Revision is the lease record's revision after the last write (what the
// next Renew compares against).
func (h *LeaseHold) Revision() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rev
}

// Deadline is the local instant after which the holder must not claim
// anything under this lease unless it renewed it.
func (h *LeaseHold) Deadline() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.deadline
}

// Valid reports whether the holder may still claim: its deadline has not
// passed. Check it right before each claim.
func (h *LeaseHold) Valid() bool {
	return h.s.now().Before(h.Deadline())
}

// LeaseMargin is how long before the store can expire a lease its holder
// stops claiming: TTL/5.
func LeaseMargin(ttl time.Duration) time.Duration { return ttl / 5 }

func (s *Store) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

func leaseSubject(key string) string { return "$KV." + BucketLeases + "." + key }

// TakeLease takes the lease on key for owner, for the store's lease TTL
// (store.lease_ttl). It fails with ErrLeaseHeld (naming the holder) while
// another owner holds it; a lease the same owner held (a restart under the
// same name) is taken anew, with a new token. key must be a valid KV key
// (an account name is).
func (s *Store) TakeLease(ctx context.Context, key, owner string) (*LeaseHold, error) {
	ttl := s.opts.LeaseTTL
	if ttl < MinLeaseTTL {
		return nil, fmt.Errorf("store: lease TTL %v is below %v", ttl, MinLeaseTTL)
	}
	b, _ := json.Marshal(leaseRecord{Owner: owner})
	for range 10 {
		sent := s.now()
		rev, err := s.leases.Create(ctx, key, b, jetstream.KeyTTL(ttl))
		if err == nil {
			return s.newHold(key, owner, rev, rev, ttl, sent), nil
		}
		if !casConflict(err) {
			return nil, fmt.Errorf("store: lease %s: %w", key, err)
		}
		e, err := s.leases.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // released or expired in between
		}
		if err != nil {
			return nil, fmt.Errorf("store: lease %s: %w", key, err)
		}
		var cur leaseRecord
		_ = json.Unmarshal(e.Value(), &cur)
		if cur.Owner != owner {
			return nil, fmt.Errorf("%w: %s holds %s", ErrLeaseHeld, cur.Owner, key)
		}
		// Ours from an earlier life (or a take whose answer was lost): a
		// new tenure, so that anything the earlier one claimed is fenced.
		sent = s.now()
		rev, err = s.putLease(ctx, key, b, e.Revision(), ttl)
		if err == nil {
			return s.newHold(key, owner, rev, rev, ttl, sent), nil
		}
		if !casConflict(err) {
			return nil, fmt.Errorf("store: lease %s: %w", key, err)
		}
	}
	return nil, fmt.Errorf("%w: lease %s", ErrConflict, key)
}

func (s *Store) newHold(key, owner string, token, rev uint64, ttl time.Duration, sent time.Time) *LeaseHold {
	return &LeaseHold{s: s, key: key, owner: owner, token: token, ttl: ttl, rev: rev,
		deadline: sent.Add(ttl - LeaseMargin(ttl))}
}

// putLease writes a lease record with a TTL if the key is still at rev.
func (s *Store) putLease(ctx context.Context, key string, b []byte, rev uint64, ttl time.Duration) (uint64, error) {
	ack, err := s.js.PublishMsg(ctx, &nats.Msg{Subject: leaseSubject(key), Data: b},
		jetstream.WithExpectLastSequencePerSubject(rev), jetstream.WithMsgTTL(ttl))
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// Renew extends the lease by its TTL, if it is still this holder's. On
// success the deadline moves to the instant the renewal was sent plus
// TTL less the margin. ErrLeaseLost means the lease expired or was taken:
// the deadline is cleared and the holder must stop at once. Any other
// error (a timeout, the cluster electing a leader) leaves the deadline
// where it was: try again before it passes.
func (h *LeaseHold) Renew(ctx context.Context) error {
	s := h.s
	b, _ := json.Marshal(leaseRecord{Owner: h.owner, Token: h.token})
	for range 3 {
		sent := s.now()
		rev := h.Revision()
		next, err := s.putLease(ctx, h.key, b, rev, h.ttl)
		if err == nil {
			h.mu.Lock()
			if next > h.rev {
				h.rev = next
				h.deadline = sent.Add(h.ttl - LeaseMargin(h.ttl))
			}
			h.mu.Unlock()
			return nil
		}
		if !casConflict(err) {
			return fmt.Errorf("store: renew lease %s: %w", h.key, err)
		}
		// The record moved. If it is still our tenure, an earlier renewal
		// whose answer was lost landed: carry on from its revision (the
		// deadline stays, its sending time is unknown).
		e, err := s.leases.Get(ctx, h.key)
		if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("store: renew lease %s: %w", h.key, err)
		}
		var cur leaseRecord
		if err == nil {
			_ = json.Unmarshal(e.Value(), &cur)
		}
		if err != nil || cur.Owner != h.owner || cur.token(e.Revision()) != h.token {
			h.lose()
			return fmt.Errorf("%w: %s", ErrLeaseLost, h.key)
		}
		h.mu.Lock()
		h.rev = max(h.rev, e.Revision())
		h.mu.Unlock()
	}
	return fmt.Errorf("%w: renew lease %s", ErrConflict, h.key)
}

func (h *LeaseHold) lose() {
	h.mu.Lock()
	h.deadline = time.Time{}
	h.mu.Unlock()
}

// Release stops claiming at once, then deletes the lease if it is still
// this holder's, so that another owner can take it without waiting for
// the TTL. A lease already lost is not an error.
func (h *LeaseHold) Release(ctx context.Context) error {
	h.lose()
	err := h.s.leases.Delete(ctx, h.key, jetstream.LastRevision(h.Revision()))
	if err == nil || casConflict(err) {
		return nil
	}
	return fmt.Errorf("store: release lease %s: %w", h.key, err)
}

// Keep renews the lease every TTL/3 until ctx ends, then releases it (with
// a few seconds of its own to do so) and returns nil. It returns
// ErrLeaseLost, without releasing, when the lease was taken or expired or
// when the deadline passed with every renewal failing; the holder is then
// no longer Valid.
func (h *LeaseHold) Keep(ctx context.Context) error {
	every := h.ttl / 3
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			return h.Release(rctx)
		case <-t.C:
		}
		// A renewal must not outlive the deadline: past it the answer is
		// useless.
		rctx, cancel := context.WithDeadline(ctx, h.Deadline())
		err := h.Renew(rctx)
		cancel()
		switch {
		case err == nil:
			t.Reset(every)
		case errors.Is(err, ErrLeaseLost):
			return err
		case !h.Valid():
			h.lose()
			return fmt.Errorf("%w: %s: could not renew before the deadline: %w", ErrLeaseLost, h.key, err)
		default:
			h.s.log.Warn("lease renewal failed; retrying", "lease", h.key, "err", err)
			t.Reset(min(every, time.Second))
		}
	}
}

// CheckLease returns nil if token is the current fencing token of the
// lease on key: the holder that took the lease at that revision still has
// it. Otherwise ErrLeaseLost, naming the current owner if there is one.
// It reads through the stream's leader, so it sees every write the store
// has acknowledged.
func (s *Store) CheckLease(ctx context.Context, key string, token uint64) error {
	e, err := s.leases.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("%w: %s is free", ErrLeaseLost, key)
	}
	if err != nil {
		return fmt.Errorf("store: lease %s: %w", key, err)
	}
	var cur leaseRecord
	if err := json.Unmarshal(e.Value(), &cur); err != nil {
		return fmt.Errorf("store: lease %s: %w", key, err)
	}
	if cur.token(e.Revision()) != token {
		return fmt.Errorf("%w: %s is held by %s since revision %d", ErrLeaseLost, key, cur.Owner, cur.token(e.Revision()))
	}
	return nil
}

// LeaseOwner reads who holds the lease on key ("" when free) and its
// fencing token.
func (s *Store) LeaseOwner(ctx context.Context, key string) (string, uint64, error) {
	e, err := s.leases.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("store: lease %s: %w", key, err)
	}
	var cur leaseRecord
	if err := json.Unmarshal(e.Value(), &cur); err != nil {
		return "", 0, fmt.Errorf("store: lease %s: %w", key, err)
	}
	return cur.Owner, cur.token(e.Revision()), nil
}

// LeaseTTL is the TTL of the leases this store takes.
func (s *Store) LeaseTTL() time.Duration { return s.opts.LeaseTTL }

// casConflict reports a compare-and-set that lost: the key moved. R1
// streams answer 10071, replicated ones 10164, which the KV client does
// not always wrap.
func casConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// replicaKey names a replica's presence in the leases bucket (account
// names cannot contain the dot, so it never clashes with a lease).
func replicaKey(instance string) string { return "replica." + instance }

// Present says this replica is alive for the lease TTL: replicas count
// each other to share the accounts (call it every TTL/3).
func (s *Store) Present(ctx context.Context, instance string) error {
	_, err := s.js.PublishMsg(ctx, &nats.Msg{Subject: leaseSubject(replicaKey(instance)), Data: []byte(instance)},
		jetstream.WithMsgTTL(s.opts.LeaseTTL))
	if err != nil {
		return fmt.Errorf("store: presence: %w", err)
	}
	return nil
}

// Absent takes this replica's presence back (a graceful stop).
func (s *Store) Absent(ctx context.Context, instance string) error {
	if err := s.leases.Purge(ctx, replicaKey(instance)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("store: presence: %w", err)
	}
	return nil
}

// Replicas counts the replicas present (at least 1: the caller).
func (s *Store) Replicas(ctx context.Context) (int, error) {
	l, err := s.leases.ListKeysFiltered(ctx, replicaKey(">"))
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: replicas: %w", err)
	}
	defer l.Stop()
	n := 0
	for range l.Keys() {
		n++
	}
	return max(n, 1), nil
}
