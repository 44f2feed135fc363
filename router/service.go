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
	handler *message.Handler
	removed bool // gone from the config; kept for what was accepted before

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
	var id [6]byte
	_, _ = rand.Read(id[:])
	s := &Service{
		opts: o, st: o.Store, log: o.Logger, clock: o.Clock, metrics: o.Metrics,
		instance: hex.EncodeToString(id[:]),
		accounts: map[string]*account{},
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
	for _, a := range s.accounts {
		s.startAccount(ctx, a)
	}
	s.mu.Unlock()
	go func() {
		<-s.router.Running()
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

// Running is closed once every handler runs.
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
	workers := 1 // a paced account sends one message at a time, in order
	if a.pacer.unlimited() {
		workers = s.opts.Workers
	}
	sub := &subscriber{js: s.st.JetStream(), stream: store.StreamDeliver, durable: "deliver_" + ac.Name,
		concurrency: workers, ackWait: s.opts.AckWait, log: s.log}
	s.gen++
	name := fmt.Sprintf("deliver-%s-%d", ac.Name, s.gen)
	a.handler = s.router.AddConsumerHandler(name, store.DeliverSubject(ac.Name), sub, s.deliverFor(ac.Name))
	s.accounts[ac.Name] = a
	return nil
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
		na := &account{cfg: want[c.name], sender: c.sender, pacer: c.pacer, handler: a.handler}
		s.accounts[c.name] = na
		if s.runCtx != nil {
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
	var added bool
	for name, ac := range want {
		if _, ok := s.accounts[name]; ok {
			continue
		}
		if err := s.addAccount(ac); err != nil {
			s.log.Error("account not added", "account", name, "err", err)
			continue
		}
		if s.runCtx != nil {
			s.startAccount(s.runCtx, s.accounts[name])
		}
		added = true
	}
	if added && s.runCtx != nil && s.running.Load() {
		if err := s.router.RunHandlers(s.runCtx); err != nil {
			return fmt.Errorf("start handlers: %w", err)
		}
	}
	return nil
}

func accountEqual(a, b configs.Account) bool { return a == b }

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
		if r, ok := a.sender.(groupcast.Readier); ok {
			if err := r.Ready(); err != nil {
				out = append(out, "account "+name+": "+err.Error())
			}
		}
	}
	return out
}
