// Package inbound takes the events the accounts receive (group messages,
// members joining and leaving; groupcast.InboundEvent, whatever the
// platform) and answers them: keyword auto-replies, welcome messages, the
// member figures per group per day, and daily_cap.auto.
//
// The Hub is the groupcast.InboundSink every source hands events to (the
// OneBot HTTP POST route, the drivers' listeners). Inbound only queues:
// a bounded queue, counted and logged when full, so nothing inbound ever
// waits on a send. One goroutine (Run) takes the queue in order:
//
//	member events: de-duplicate (account, id) in the store → count → welcome
//	messages:      match a rule → de-duplicate → cooldown → reply
//
// Events are de-duplicated across restarts and replicas by a store key
// created once with a day's time to live; a message no rule answers (the
// account's own, an empty one, one no rule matches) is not written. A reply or welcome is submitted
// to the engine as an internal message with exactly one destination, no
// policy and a deterministic id (router.SubmitDirect): the account's
// sender, pacer, pauses and retries deliver it like any announcement, a
// platform throttle defers it, caps do not count it, and a redelivered
// event or a second replica cannot answer twice (the same id is the same
// message). docs/two-way.md is the operator's page.
package inbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/store"
)

// Engine is what the hub needs from the running engine (*router.Service).
type Engine interface {
	Config() *configs.Config
	// SubmitDirect accepts a message for one group of one account, outside
	// the routes and policies.
	SubmitDirect(ctx context.Context, a *groupcast.Announcement, account, group string) (groupcast.Accepted, error)
	// Owns reports whether this replica sends for the account now.
	Owns(account string) bool
}

// Clock is the hub's time (router.Clock satisfies it).
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Defaults of Options.
const (
	DefaultQueueSize = 1024
	DefaultDedupTTL  = 24 * time.Hour
	DefaultTick      = time.Second
)

// Options configure New.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger
	Clock  Clock
	// Registry takes the hub's metrics (nil: not registered).
	Registry prometheus.Registerer
	// QueueSize bounds the events waiting (default 1024); one more is
	// refused with groupcast.ErrBusy, counted and logged.
	QueueSize int
	// DedupTTL is how long an event id is remembered (default 24h).
	DedupTTL time.Duration
	// Tick is how often due welcomes and the daily cap review are looked
	// at (default 1s; the times themselves are the Clock's).
	Tick time.Duration
}

// Hub is the inbound sink and the engine of replies, welcomes and member
// figures. It is safe for concurrent use.
type Hub struct {
	st    *store.Store
	log   *slog.Logger
	clock Clock
	opts  Options
	queue chan groupcast.InboundEvent
	m     metrics

	eng   atomic.Pointer[engineBox]
	rules atomic.Pointer[compiled]

	// stopMu orders Inbound against Run's stop: once stopped is set no
	// event enters the queue, so the last drain takes every one.
	stopMu  sync.RWMutex
	stopped bool

	mu      sync.Mutex
	batches map[string]*batch // welcome batches by rule, account, group
	autoDay map[string]string // group key → the day daily_cap.auto last reviewed it here
}

type engineBox struct{ Engine }

// ErrQueueFull is why Inbound refuses an event: more are waiting than
// Options.QueueSize. It wraps groupcast.ErrBusy.
var ErrQueueFull = fmt.Errorf("%w: the inbound queue is full", groupcast.ErrBusy)

// ErrStopped is why Inbound refuses an event once Run has stopped (the
// daemon is shutting down): nothing would take it. It wraps
// groupcast.ErrNotReady, so the sender can deliver it again elsewhere.
var ErrStopped = fmt.Errorf("%w: inbound events are no longer taken (shutting down)", groupcast.ErrNotReady)

// New builds a hub on an open store. Run starts it.
func New(o Options) (*Hub, error) {
	if o.Store == nil {
		return nil, errors.New("inbound: a store is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.DedupTTL <= 0 {
		o.DedupTTL = DefaultDedupTTL
	}
	if o.Tick <= 0 {
		o.Tick = DefaultTick
	}
	h := &Hub{st: o.Store, log: o.Logger, clock: o.Clock, opts: o,
		queue: make(chan groupcast.InboundEvent, o.QueueSize), m: newMetrics(), batches: map[string]*batch{}, autoDay: map[string]string{}}
	if o.Registry != nil {
		if err := h.m.register(o.Registry); err != nil {
			return nil, fmt.Errorf("inbound: metrics: %w", err)
		}
	}
	return h, nil
}

var _ groupcast.InboundSink = (*Hub)(nil)

// Inbound queues one event and returns at once: it never waits on a
// send, a store or a full queue (then it answers ErrQueueFull, counted in
// groupcast_inbound_events_total{outcome="dropped"} and logged). After
// Run has stopped it answers ErrStopped, counted the same way.
func (h *Hub) Inbound(_ context.Context, ev groupcast.InboundEvent) error {
	if err := check(ev); err != nil {
		h.m.events.WithLabelValues(ev.Account, "invalid").Inc()
		return err
	}
	h.stopMu.RLock()
	defer h.stopMu.RUnlock()
	if h.stopped {
		h.m.events.WithLabelValues(ev.Account, "dropped").Inc()
		h.log.Warn("inbound event after the stop: refused", "account", ev.Account, "group", ev.Group,
			"event", ev.ID, "kind", ev.Kind)
		return ErrStopped
	}
	select {
	case h.queue <- ev:
		return nil
	default:
		h.m.events.WithLabelValues(ev.Account, "dropped").Inc()
		h.log.Warn("inbound queue full: event dropped", "account", ev.Account, "group", ev.Group,
			"event", ev.ID, "kind", ev.Kind, "queue", cap(h.queue))
		return ErrQueueFull
	}
}

// check refuses an event no rule could use.
func check(ev groupcast.InboundEvent) error {
	switch ev.Kind {
	case groupcast.EventMessage, groupcast.EventMemberJoined, groupcast.EventMemberLeft:
	default:
		return &groupcast.InputError{Code: "invalid", Fields: []*groupcast.FieldError{{Field: "kind", Message: fmt.Sprintf("unknown event kind %q", ev.Kind)}}}
	}
	for _, f := range []struct{ name, v string }{{"account", ev.Account}, {"group", ev.Group}, {"id", ev.ID}} {
		if f.v == "" {
			return &groupcast.InputError{Code: "invalid", Fields: []*groupcast.FieldError{{Field: f.name, Message: "required"}}}
		}
	}
	return nil
}

// Run takes the queue until ctx ends, with eng to submit replies and
// welcomes. Welcomes still batching when ctx ends are sent at once
// (early rather than never).
func (h *Hub) Run(ctx context.Context, eng Engine) error {
	h.eng.Store(&engineBox{eng})
	t := time.NewTicker(h.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// What was taken (and answered) before the stop is handled:
			// the events queued now, then the welcomes still batching.
			// From here on Inbound refuses (ErrStopped) rather than
			// queueing what nothing would take.
			h.stopMu.Lock()
			h.stopped = true
			h.stopMu.Unlock()
			dctx := context.WithoutCancel(ctx)
			for drained := false; !drained; {
				select {
				case ev := <-h.queue:
					h.handle(dctx, ev)
				default:
					drained = true
				}
			}
			h.flush(dctx, true)
			return nil
		case ev := <-h.queue:
			// Taken is answered: a stop that comes meanwhile does not
			// cancel its handling half-way.
			h.handle(context.WithoutCancel(ctx), ev)
		case <-t.C:
			h.Tick(ctx)
		}
	}
}

// Tick sends the welcomes whose batch time has passed and, once a local
// day, reviews daily_cap.auto. Run calls it every Options.Tick; tests call
// it after moving their clock.
func (h *Hub) Tick(ctx context.Context) {
	h.flush(ctx, false)
	h.autoCaps(ctx)
}

func (h *Hub) engine() Engine {
	if b := h.eng.Load(); b != nil {
		return b.Engine
	}
	return nil
}

// handle runs one event through de-duplication, the member figures and
// the rules.
func (h *Hub) handle(ctx context.Context, ev groupcast.InboundEvent) {
	eng := h.engine()
	cfg := eng.Config()
	acc, ok := cfg.Account(ev.Account)
	if !ok {
		h.m.events.WithLabelValues(ev.Account, "unknown_account").Inc()
		h.log.Warn("inbound event for an account not configured; ignored", "account", ev.Account, "event", ev.ID)
		return
	}
	if ev.Platform == "" {
		ev.Platform = acc.Platform
	}
	switch ev.Kind {
	case groupcast.EventMessage:
		// Most group messages match no rule (and NapCat echoes every
		// message the account sends): they cost no store write. The
		// event is claimed once a rule would answer it.
		h.reply(ctx, eng, cfg, ev)
	case groupcast.EventMemberJoined, groupcast.EventMemberLeft:
		// Member counts are not idempotent: every join and leave is
		// claimed before it is counted.
		if !h.first(ctx, ev) {
			return
		}
		if ev.Self {
			h.log.Info("this account joined or left a group", "account", ev.Account, "group", ev.Group, "kind", ev.Kind, "event", ev.ID)
			return
		}
		h.countMember(ctx, cfg, ev)
		if ev.Kind == groupcast.EventMemberJoined {
			h.join(cfg, ev)
		}
	}
}

// first claims an event's de-duplication key: true (counted as taken)
// when this is the first time any replica handles it, false (counted as
// a duplicate) when it was seen before.
func (h *Hub) first(ctx context.Context, ev groupcast.InboundEvent) bool {
	fresh, err := h.st.CreateOnce(ctx, dedupKey(ev.Account, ev.ID), h.opts.DedupTTL)
	if err != nil {
		// Better to act twice than never: a reply's id is derived from
		// the event, so a second one is the same message anyway.
		h.log.Warn("inbound de-duplication unavailable; handling the event", "account", ev.Account, "event", ev.ID, "err", err)
		fresh = true
	}
	if !fresh {
		h.m.events.WithLabelValues(ev.Account, "duplicate").Inc()
		h.log.Debug("inbound event seen before; ignored", "account", ev.Account, "group", ev.Group, "event", ev.ID)
		return false
	}
	h.m.events.WithLabelValues(ev.Account, "taken").Inc()
	return true
}

// dedupKey names an event's de-duplication key (any id, any length).
func dedupKey(account, id string) string {
	return "inbound." + account + "." + digest(id)
}

// digest is a short, key-safe digest of parts.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// groupKey is a group's part of a store key: account and the group,
// encoded (group ids may be any text): the destination's key.
func groupKey(account, group string) string {
	return groupcast.Destination{Account: account, Group: group}.Key()
}
