// Package router is groupcast's engine and the only package that imports
// Watermill. Intake stores an announcement and queues it; the plan handler
// writes each target queued and publishes one delivery per target on its
// account's subject; one deliver handler per account renders, paces, sends
// and records the outcome. Deferral (send_at, throttles, retries, and the
// policy's windows and caps) is a redelivery after a delay, held by
// JetStream, never by a sleeping goroutine.
package router

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/store"
)

// Drivers looks a driver up by platform and name (adapters/registry.Lookup).
type Drivers func(platform, driver string) (adapters.Driver, bool)

// Options configure New.
type Options struct {
	Store   *store.Store
	Config  *configs.Config
	Drivers Drivers
	Logger  *slog.Logger
	Clock   Clock
	Metrics *Metrics
	// HTTPClient is handed to HTTP drivers (tests point it at fakes).
	HTTPClient *http.Client
	// AckWait is how long JetStream waits before redelivering an
	// unacknowledged message (default 30s). In-flight sends of a killed
	// process come back after it.
	AckWait time.Duration
	// MaxDeferWait is the longest single redelivery delay (default 1h): a
	// target deferred for longer is looked at again after this, and
	// deferred again. It bounds how stale a wait can get (a clock step);
	// tests with a fake clock set it short.
	MaxDeferWait time.Duration
	// Workers is the number of messages in flight for the plan handler and
	// for accounts without a rate (default 16).
	Workers int
	// LeaseTTL is how long a replica owns an account without renewing
	// (default 15s; driver nats only): a lost replica's accounts move to
	// another within it.
	LeaseTTL time.Duration
}

// Service is the running engine.
type Service struct {
	opts     Options
	st       *store.Store
	log      *slog.Logger
	clock    Clock
	metrics  *Metrics
	instance string

	cfg      atomic.Pointer[configs.Config]
	policies policyCache
	order    releaseOrder
	inflight sync.Map // deliveryMsg → struct{}: sends under way in this process
	records  recordCache

	backlogMu sync.Mutex
	backlogN  int
	backlogAt time.Time

	mu       sync.Mutex
	checks   map[string]func() error
	accounts map[string]*account
	owned    map[string]*ownership // account name → this replica's hold on it
	stopping bool                  // Run's ctx ended: take nothing more
	starting sync.WaitGroup        // takes whose handler runHandlers has not started yet
	gen      int
	router   *message.Router
	runCtx   context.Context
	running  atomic.Bool
	closing  atomic.Bool
	pub      *publisher
}

// account is one configured account at run time.
type account struct {
	cfg     configs.Account
	sender  groupcast.Sender
	pacer   *pacer
	cancel  context.CancelFunc // stops Start
	removed bool               // gone from the config; kept for what was accepted before

	mu          sync.Mutex
	pausedUntil time.Time
	pauseReason string
	pauseLoaded bool
}

// New builds the engine on an open store. Run starts it.
func New(o Options) (*Service, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.MaxDeferWait <= 0 {
		o.MaxDeferWait = time.Hour
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 15 * time.Second
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	s := &Service{
		opts: o, st: o.Store, log: o.Logger, clock: o.Clock, metrics: o.Metrics,
		instance: hex.EncodeToString(id[:]),
		accounts: map[string]*account{},
		owned:    map[string]*ownership{},
		pub:      &publisher{js: o.Store.JetStream(), timeout: 5 * time.Second},
	}
	s.cfg.Store(o.Config)
	wlog := watermill.NewSlogLoggerWithLevelMapping(o.Logger, map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug,
	})
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, wlog)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	poison, err := middleware.PoisonQueueWithFilter(s.pub, store.SubjectPoison, func(err error) bool {
		return errors.Is(err, errPoison)
	})
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	// Outermost first: record and park poison, turn panics into errors.
	r.AddMiddleware(s.recordPoison, poison, middleware.Recoverer, poisonPanics)
	s.router = r
	planSub := &subscriber{js: o.Store.JetStream(), stream: store.StreamIntake, durable: "plan",
		concurrency: o.Workers, ackWait: o.AckWait, log: o.Logger}
	r.AddHandler("plan", store.SubjectIntake, planSub, store.SubjectIntake, s.pub, s.plan)
	for _, a := range o.Config.Accounts {
		if err := s.addAccount(a); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Run runs the engine until ctx ends, then stops it gracefully: no new
// messages are taken, and sends in flight finish or are handed back.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	s.runCtx = ctx
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		s.stopping = true // no more takes
		s.mu.Unlock()
		s.starting.Wait()
		_ = s.router.Close() // stops the handlers, which outlive ctx
	}()
	go func() {
		select {
		case <-s.router.Running():
		case <-ctx.Done():
			return
		}
		s.mu.Lock()
		names := make([]string, 0, len(s.accounts))
		for name := range s.accounts {
			names = append(names, name)
		}
		s.mu.Unlock()
		for _, name := range names {
			s.hold(ctx, name)
		}
		s.running.Store(true)
	}()
	err := s.router.Run(ctx)
	s.running.Store(false)
	s.mu.Lock()
	for _, a := range s.accounts {
		if a.cancel != nil {
			a.cancel()
		}
	}
	s.mu.Unlock()
	return err
}

// Running is closed once the engine runs. Accounts start sending right
// after, as this replica takes them.
func (s *Service) Running() chan struct{} { return s.router.Running() }

// Shutdown stops taking announcements; Run's ctx ending stops the rest.
func (s *Service) Shutdown() { s.closing.Store(true) }

// Config is the configuration in force.
func (s *Service) Config() *configs.Config { return s.cfg.Load() }

// Metrics are the engine's series.
func (s *Service) Metrics() *Metrics { return s.metrics }

func (s *Service) addAccount(ac configs.Account) error {
	d, ok := s.opts.Drivers(ac.Platform, ac.Driver)
	if !ok {
		return fmt.Errorf("accounts %s: unknown driver %s/%s", ac.Name, ac.Platform, ac.Driver)
	}
	a := &account{cfg: ac, pacer: newPacer(ac.Name, ac.Rate, s.clock, s.st)}
	sender, err := d.New(ac, s.env(ac, a.pacer))
	if err != nil {
		return fmt.Errorf("accounts %s: %w", ac.Name, err)
	}
	a.sender = sender
	s.accounts[ac.Name] = a
	return nil
}

// ownership is this replica's hold on one account: while it owns the
// account, the account's deliver handler and its login (Starter) run here.
type ownership struct {
	held    bool
	handler *message.Handler
}

// take starts sending for an account this replica now owns; s.mu is held.
// It reports whether it added a handler, which the caller then starts with
// runHandlers once it has let go of s.mu.
func (s *Service) take(ctx context.Context, name string) bool {
	a := s.accounts[name]
	o := s.owned[name]
	if a == nil || o == nil || o.held || s.stopping {
		return false
	}
	// What another replica did meanwhile is in the store: read it again.
	a.pacer.reset()
	a.mu.Lock()
	a.pauseLoaded = false
	a.mu.Unlock()
	workers := 1 // a paced account sends one message at a time, in order
	if a.pacer.unlimited() {
		workers = s.opts.Workers
	}
	sub := &subscriber{js: s.st.JetStream(), stream: store.StreamDeliver, durable: "deliver_" + name,
		concurrency: workers, ackWait: s.opts.AckWait, log: s.log}
	s.gen++
	s.starting.Add(1)
	o.handler = s.router.AddConsumerHandler(fmt.Sprintf("deliver-%s-%d", name, s.gen), store.DeliverSubject(name), sub, s.deliverFor(name))
	o.held = true
	s.startAccount(ctx, a)
	return true
}

// runHandlers starts the handlers added since the router started, once per
// take that added one. It is called without s.mu: the router takes its own
// locks. The handlers' context outlives Run's: a handler added but never
// run would keep the router from closing, so Run closes the router itself,
// after the last take has run its handler.
func (s *Service) runHandlers(ctx context.Context) {
	defer s.starting.Done()
	if err := s.router.RunHandlers(context.WithoutCancel(ctx)); err != nil {
		s.log.Error("handlers not started", "err", err)
	}
}

// drop stops sending for an account another replica took over.
func (s *Service) drop(name string) {
	o := s.owned[name]
	if o == nil || !o.held {
		return
	}
	o.held = false
	if a := s.accounts[name]; a != nil && a.cancel != nil {
		a.cancel()
	}
	if o.handler != nil {
		select {
		case <-o.handler.Started():
			o.handler.Stop()
		default:
		}
		o.handler = nil
	}
}

// hold keeps an account owned: at once on a store no one else uses, and
// with a lease renewed every third of LeaseTTL on a shared one.
func (s *Service) hold(ctx context.Context, name string) {
	s.mu.Lock()
	if _, ok := s.owned[name]; ok {
		s.mu.Unlock()
		return
	}
	s.owned[name] = &ownership{}
	if !s.st.Shared() {
		added := s.take(ctx, name)
		s.mu.Unlock()
		if added {
			s.runHandlers(ctx)
		}
		return
	}
	s.mu.Unlock()
	go func() {
		key := store.LeaseKey(name)
		tick := time.NewTicker(s.opts.LeaseTTL / 3)
		defer tick.Stop()
		for {
			ok, err := s.st.AcquireLease(ctx, key, s.instance, s.opts.LeaseTTL)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("lease not renewed", "account", name, "err", err)
			}
			s.mu.Lock()
			was, added := s.owned[name].held, false
			switch {
			case ok && !was:
				s.log.Info("account owned by this replica", "account", name)
				added = s.take(ctx, name)
			case !ok && was && err == nil:
				s.log.Warn("account taken over by another replica", "account", name)
				s.drop(name)
			}
			s.mu.Unlock()
			if added {
				s.runHandlers(ctx)
			}
			select {
			case <-ctx.Done():
				s.mu.Lock()
				held := s.owned[name].held
				s.mu.Unlock()
				if held {
					rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					_ = s.st.ReleaseLease(rctx, key, s.instance)
					cancel()
				}
				return
			case <-tick.C:
			}
		}
	}()
}

func (s *Service) env(ac configs.Account, p adapters.Pacer) adapters.Env {
	cfg := s.cfg.Load()
	return adapters.Env{
		Logger:     s.log.With("account", ac.Name, "platform", ac.Platform),
		HTTPClient: s.opts.HTTPClient,
		Now:        s.clock.Now,
		Org:        cfg.Org,
		Location:   cfg.Location,
		Pacer:      p,
		DataDir:    cfg.Store.Dir,
	}.WithDefaults()
}

func (s *Service) startAccount(ctx context.Context, a *account) {
	st, ok := a.sender.(groupcast.Starter)
	if !ok {
		return
	}
	actx, cancel := context.WithCancel(ctx)
	a.cancel = cancel
	go func() {
		if err := st.Start(actx); err != nil && actx.Err() == nil {
			s.log.Error("account start failed", "account", a.cfg.Name, "err", err)
		}
	}()
}

func (s *Service) account(name string) *account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[name]
}

// Apply installs a new configuration: routes and policies for
// announcements accepted from now on, and accounts — new ones start, changed
// ones get a new sender, removed ones keep sending what was accepted before
// the reload until the next restart (after a restart, targets of an account
// no longer configured wait, untouched, until it comes back).
func (s *Service) Apply(cfg *configs.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := map[string]configs.Account{}
	for _, a := range cfg.Accounts {
		want[a.Name] = a
	}
	// Build every new sender before changing anything: all or nothing.
	type change struct {
		name   string
		sender groupcast.Sender
		pacer  *pacer
	}
	var changed []change
	for name, ac := range want {
		old, ok := s.accounts[name]
		if !ok {
			continue
		}
		if accountEqual(old.cfg, ac) {
			old.removed = false // back in the config
			continue
		}
		d, ok := s.opts.Drivers(ac.Platform, ac.Driver)
		if !ok {
			return fmt.Errorf("accounts %s: unknown driver %s/%s", name, ac.Platform, ac.Driver)
		}
		p := newPacer(name, ac.Rate, s.clock, s.st)
		snd, err := d.New(ac, s.env(ac, p))
		if err != nil {
			return fmt.Errorf("accounts %s: %w", name, err)
		}
		changed = append(changed, change{name, snd, p})
	}
	s.cfg.Store(cfg)
	for _, c := range changed {
		a := s.accounts[c.name]
		if a.cancel != nil {
			a.cancel()
		}
		na := &account{cfg: want[c.name], sender: c.sender, pacer: c.pacer}
		s.accounts[c.name] = na
		if o := s.owned[c.name]; o != nil && o.held && s.runCtx != nil {
			s.startAccount(s.runCtx, na)
		}
	}
	for name, a := range s.accounts {
		if _, ok := want[name]; !ok && !a.removed {
			// Announcements accepted before the reload keep the accounts
			// they were planned to: the sender stays until a restart.
			a.removed = true
			s.log.Info("account removed from the config: it still sends what was accepted before, until the next restart", "account", name)
		}
	}
	var added []string
	for name, ac := range want {
		if _, ok := s.accounts[name]; ok {
			continue
		}
		if err := s.addAccount(ac); err != nil {
			s.log.Error("account not added", "account", name, "err", err)
			continue
		}
		added = append(added, name)
	}
	if ctx := s.runCtx; ctx != nil && s.running.Load() {
		go func() { // hold takes s.mu
			for _, name := range added {
				s.hold(ctx, name)
			}
		}()
	}
	return nil
}

func accountEqual(a, b configs.Account) bool { return a == b }

// Owns reports whether this replica sends for the account now.
func (s *Service) Owns(account string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.owned[account]
	return o != nil && o.held
}

// AddCheck adds a readiness check shown in /readyz (a source, say).
func (s *Service) AddCheck(name string, ready func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.checks == nil {
		s.checks = map[string]func() error{}
	}
	s.checks[name] = ready
}

// NotReady lists what keeps the daemon from being ready: the store, the
// engine, and each account that says it cannot send.
func (s *Service) NotReady() []string {
	var out []string
	if err := s.st.Ready(); err != nil {
		out = append(out, "store: "+err.Error())
	}
	if !s.running.Load() {
		out = append(out, "router: not running")
	}
	if s.closing.Load() {
		out = append(out, "shutting down")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, ready := range s.checks {
		if err := ready(); err != nil {
			out = append(out, name+": "+err.Error())
		}
	}
	for name, a := range s.accounts {
		if o := s.owned[name]; o == nil || !o.held {
			continue // another replica sends for it (or it is not taken yet)
		}
		if r, ok := a.sender.(groupcast.Readier); ok {
			if err := r.Ready(); err != nil {
				out = append(out, "account "+name+": "+err.Error())
			}
		}
	}
	return out
}
