// Package router is groupcast's engine and the only package that imports
// Watermill. Accepting an announcement is one write: its record in the
// ledger, with the targets planned. Each account's sender follows the
// ledger's records through its own durable consumer (a Watermill
// Subscriber, router/jsbus), in acceptance order, and for each of its targets
// runs the delivery steps (steps.go) — expiry, schedule, pause, render,
// policy, claim, pace, send — whose one outcome a single settle writes.
// Waiting for a time (send_at, a window, a cap, review) is a redelivery
// after a delay held by JetStream, never a sleeping goroutine; waiting for
// a retry or a platform pause holds the account's queue, so that its
// targets keep their order.
package router

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	// Inbound takes the events of accounts whose sender listens
	// (groupcast.Listener): each listens while this replica owns the
	// account. Nil: nobody listens.
	Inbound groupcast.InboundSink
	// AckWait is how long JetStream waits before redelivering a message
	// whose holder stopped answering (default 30s).
	AckWait time.Duration
	// MaxDeferWait is the longest single redelivery delay (default 1h): a
	// target deferred for longer is looked at again after this, and
	// deferred again. It bounds how stale a wait can get (a clock step);
	// tests with a fake clock set it short.
	MaxDeferWait time.Duration
	// Lookahead is how many announcements an account's sender holds ahead
	// of the one it sends (default 64).
	Lookahead int
	// ShutdownGrace is how long a send in flight may finish after Run's
	// context ends (default 10s); past it, it is abandoned and sent again
	// by whoever owns the account next.
	ShutdownGrace time.Duration
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
	// cfgPolicies: the config in force's policies, compiled once.
	cfgPolicies atomic.Pointer[configPolicies]
	records     recordCache
	skips       ledgerSkips // what the ledger scans may leave out (ledgerscan.go)
	submitMu    sync.Mutex  // acceptance order is the ledger's order
	// intake holds new announcements while the senders are busy and out
	// of the record cache's reach (intakehold.go).
	intake intakeHold
	// hitsCounted marks targets whose rule hits are in the metrics until
	// the mark is written with their next state.
	hitsCounted sync.Map
	fleet       *fleet
	sched       *scheduler
	// seriesFault, when set (tests), fails a series' expansion before the
	// part it is called with.
	seriesFault func(part int) error
	// beforeProcess, when set (tests), is called by a sender between its
	// look at the records asked back and the record it takes next.
	beforeProcess atomic.Pointer[func(id string)]
	// readAheadFault, when set (tests), fails a sender's read of a due
	// record by its sequence when it answers an error.
	readAheadFault atomic.Pointer[func(seq uint64) error]
	// lostRecord, when set (tests), makes a sender treat a record message
	// as lost on its way (JetStream gives it back later): not admitted.
	lostRecord atomic.Pointer[func(account string, seq, deliveries uint64) bool]
	watch      watchHub // the ledger's changes, for the console (watch.go)
	// secret is the tracked-link secret, read from the store once.
	secret atomic.Pointer[[]byte]

	backlogMu sync.Mutex
	backlogN  int
	backlogAt time.Time

	mu       sync.Mutex
	checks   map[string]func() error
	accounts map[string]*account
	running  atomic.Bool
	closing  atomic.Bool
	started  chan struct{}
}

// account is one configured account at run time.
type account struct {
	cfg     configs.Account
	sender  groupcast.Sender
	pacer   *pacer
	health  health
	removed bool // gone from the config; kept for what was accepted before
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
	if o.Lookahead <= 0 {
		o.Lookahead = 64
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 10 * time.Second
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	s := &Service{
		opts: o, st: o.Store, log: o.Logger, clock: o.Clock, metrics: o.Metrics,
		instance: hex.EncodeToString(id[:]),
		accounts: map[string]*account{},
		started:  make(chan struct{}),
	}
	s.cfg.Store(o.Config)
	s.intake.init()
	s.fleet = newFleet(s)
	s.sched = newScheduler(s)
	if err := o.Metrics.Registry.Register(accountUp{s: s, desc: prometheus.NewDesc("groupcast_account_up",
		"1 while the account can send (ok or degraded), 0 while it is down or paused.", []string{"account", "platform"}, nil)}); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := o.Metrics.Registry.Register(newQueueGauges(s)); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	names := make([]string, 0, len(o.Config.Accounts))
	for _, a := range o.Config.Accounts {
		if err := s.addAccount(a); err != nil {
			return nil, err
		}
		names = append(names, a.Name)
	}
	if err := s.ensureConsumers(names); err != nil {
		return nil, err
	}
	return s, nil
}

// ensureConsumers makes the accounts' consumers exist before anything can
// be routed to them (an account new to the config starts after what is
// stored).
func (s *Service) ensureConsumers(names []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return retryStore(ctx, func(ctx context.Context) error { return s.st.EnsureConsumers(ctx, names) })
}

// Run runs the engine until ctx ends, then stops it gracefully: no new
// work is taken, sends in flight finish (within ShutdownGrace) or are
// handed back, and every account's lease is released.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	names := make([]string, 0, len(s.accounts))
	for name := range s.accounts {
		names = append(names, name)
	}
	s.mu.Unlock()
	s.fleet.start(ctx, names)
	// Schedules and unfinished series run on every replica (the store's
	// create-once writes keep them from posting twice).
	var bg sync.WaitGroup
	bg.Go(func() { s.sched.run(ctx) })
	bg.Go(func() { s.finishSeries(ctx) })
	s.running.Store(true)
	close(s.started)
	<-ctx.Done()
	s.running.Store(false)
	bg.Wait()
	s.fleet.stop()
	return nil
}

// Running is closed once the engine runs. Accounts start sending right
// after, as this replica takes them.
func (s *Service) Running() chan struct{} { return s.started }

// Shutdown stops taking announcements; Run's ctx ending stops the rest.
func (s *Service) Shutdown() { s.closing.Store(true) }

// Config is the configuration in force.
func (s *Service) Config() *configs.Config { return s.cfg.Load() }

// Metrics are the engine's series.
func (s *Service) Metrics() *Metrics { return s.metrics }

func (s *Service) addAccount(ac configs.Account) error {
	a, err := s.buildAccount(ac)
	if err != nil {
		return err
	}
	s.accounts[ac.Name] = a
	return nil
}

func (s *Service) buildAccount(ac configs.Account) (*account, error) {
	d, ok := s.opts.Drivers(ac.Platform, ac.Driver)
	if !ok {
		return nil, fmt.Errorf("accounts %s: unknown driver %s/%s", ac.Name, ac.Platform, ac.Driver)
	}
	a := &account{cfg: ac, pacer: newPacer(ac.Name, ac.Rate, s.clock, s.st, s.cfg.Load().Location)}
	sender, err := d.New(ac, s.env(ac, a.pacer))
	if err != nil {
		return nil, fmt.Errorf("accounts %s: %w", ac.Name, err)
	}
	a.sender = sender
	return a, nil
}

func (s *Service) env(ac configs.Account, p adapters.Pacer) adapters.Env {
	cfg := s.cfg.Load()
	return adapters.Env{
		Logger:      s.log.With("account", ac.Name, "platform", ac.Platform),
		HTTPClient:  s.opts.HTTPClient,
		Now:         s.clock.Now,
		Org:         cfg.Org,
		Location:    cfg.Location,
		Pacer:       p,
		RecallPacer: newRecallPacer(s.clock),
		Daily:       dayCounter{st: s.st, key: store.DailyKey(ac.Name)},
		DataDir:     cfg.Store.Dir,
	}.WithDefaults()
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
	want := map[string]configs.Account{}
	for _, a := range cfg.Accounts {
		want[a.Name] = a
	}
	// Build every new sender before changing anything: all or nothing.
	changed := map[string]*account{}
	for name, ac := range want {
		old, ok := s.accounts[name]
		if !ok {
			continue
		}
		if accountEqual(old.cfg, ac) {
			old.removed = false // back in the config
			continue
		}
		na, err := s.buildAccount(ac)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		changed[name] = na
	}
	var added []string
	fresh := map[string]*account{}
	for name, ac := range want {
		if _, ok := s.accounts[name]; ok {
			continue
		}
		na, err := s.buildAccount(ac)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		fresh[name] = na
		added = append(added, name)
	}
	if len(added) > 0 {
		// Before the config that routes to them is in force.
		if err := s.ensureConsumers(added); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.cfg.Store(cfg)
	for name, na := range changed {
		s.accounts[name] = na
	}
	for name, na := range fresh {
		s.accounts[name] = na
	}
	for name, a := range s.accounts {
		if _, ok := want[name]; !ok && !a.removed {
			// Announcements accepted before the reload keep the accounts
			// they were planned to: the sender stays until a restart.
			a.removed = true
			s.log.Info("account removed from the config: it still sends what was accepted before, until the next restart", "account", name)
		}
	}
	s.mu.Unlock()
	for name := range changed {
		s.fleet.restart(name) // the new sender takes over the account's queue
	}
	s.sched.poke() // schedules reload with the config
	if s.running.Load() {
		for _, name := range added {
			s.fleet.add(name)
		}
	}
	return nil
}

func accountEqual(a, b configs.Account) bool { return a == b }

// Owns reports whether this replica sends for the account now.
func (s *Service) Owns(account string) bool { return s.fleet.owns(account) }

// AddCheck adds a readiness check shown in /readyz (a source, say).
func (s *Service) AddCheck(name string, ready func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.checks == nil {
		s.checks = map[string]func() error{}
	}
	s.checks[name] = ready
}

// NotReady lists what keeps the daemon from accepting work: the store, the
// engine, shutting down, and added checks. Accounts never do: one broken
// account must not keep a sidecar out of service; their health is in
// Accounts and groupcast_account_up.
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
	return out
}
