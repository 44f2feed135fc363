// Package store is groupcast's durable state on NATS JetStream: the queues
// the router consumes (intake, per-account deliveries, poison) and the KV
// ledger that holds every announcement and the state of each target.
//
// Three drivers share all of the code: embedded runs a NATS server inside
// the process with file storage under a directory (the default: one binary,
// no port), nats connects to an external server or cluster by URL, and
// memory runs the embedded server with memory storage (demo and tests only:
// not durable).
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Drivers.
const (
	DriverEmbedded = "embedded"
	DriverNATS     = "nats"
	DriverMemory   = "memory"
)

// Subjects and stream names. Every name starts with "groupcast" so the
// project can share a cluster with others.
const (
	bucketLedger   = "groupcast_ledger"
	bucketCounters = "groupcast_counters"
)

// Options configure Open.
type Options struct {
	Driver     string // embedded | nats | memory
	Dir        string // embedded: where the files go
	URL        string // nats: comma-separated server URLs
	Replicas   int    // nats: stream and bucket replicas
	MaxBytes   int64  // embedded: disk cap (0: 1 GiB)
	SyncAlways bool   // embedded: fsync every write
	Listen     string // embedded: also listen on this host:port (debugging)
	// Retention is how long ledger entries live after their last write
	// (default 30 days).
	Retention time.Duration
	// DuplicateWindow is how long JetStream remembers message ids (default 10m).
	DuplicateWindow time.Duration
	// ClickMaxMsgs and ClickMaxBytes bound the stream of counted clicks
	// (GROUPCAST_CLICKS) besides Retention: when either is reached the
	// oldest clicks are discarded (default DefaultClickMaxMsgs and
	// DefaultClickMaxBytes; embedded, at most an eighth of MaxBytes).
	ClickMaxMsgs  int64
	ClickMaxBytes int64
	// TLS, Creds, NKey and User/Password connect to an external NATS
	// (driver nats) like any production client: a CA and client
	// certificate, a .creds file, an nkey seed file, or a user and
	// password (at most one of the three credentials).
	TLS      TLSFiles
	Creds    string
	NKey     string
	User     string
	Password string
	// LeaseTTL is how long an account lease lives in the store without a
	// renewal (default 10s): the longest a crashed replica's accounts wait.
	LeaseTTL time.Duration
	// Streams are more streams to ensure at start, after the built-in
	// queues and before the buckets (see StreamConfigs).
	Streams []jetstream.StreamConfig
	Logger  *slog.Logger
	// Now is the local clock of lease deadlines (default time.Now, whose
	// monotonic reading is what counts); tests inject one.
	Now func() time.Time
}

// Store is an open connection to the JetStream that holds everything.
type Store struct {
	opts    Options
	srv     *server.Server // nil for driver nats
	nc      *nats.Conn
	js      jetstream.JetStream
	ledger  jetstream.KeyValue
	counts  jetstream.KeyValue
	records jetstream.Stream // accepted announcements
	events  jetstream.Stream // recall requests and review decisions
	leases  jetstream.KeyValue
	// links and clickers hold tracked links (links.go).
	links    jetstream.KeyValue
	clickers jetstream.KeyValue
	log      *slog.Logger
	closed   atomic.Bool
	hints    sync.Map // target key → targetHint
	docs     sync.Map // counters key → docHint
}

// Open starts (or connects to) the NATS server, and creates or updates the
// streams and buckets. With driver nats a server that cannot be reached or
// refuses the credentials is an error at once (OpenWait waits instead);
// the streams are retried while the cluster elects leaders, until ctx ends
// (at most 30s when ctx has no deadline).
func Open(ctx context.Context, o Options) (*Store, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	s, err := newStore(o)
	if err != nil {
		return nil, err
	}
	if err := s.connect(); err != nil {
		s.shutdownServer()
		return nil, err
	}
	return s.finish(ctx, nil)
}

// OpenWait is Open for replicas that start before, or together with, their
// NATS cluster: it tries to connect and to ensure the streams and buckets
// until it succeeds or ctx ends, with backoff (100ms doubling to 5s, with
// jitter). Each failed attempt goes to report, as an error that says what
// to check ("store: connecting to nats://a:4222,nats://b:4222: no server
// reachable …", "… authorization violation: check store.creds …"), for
// /readyz and the log; report(nil) means the store is ready. Files that
// cannot be read and configs the server refuses end it at once.
func OpenWait(ctx context.Context, o Options, report func(error)) (*Store, error) {
	if report == nil {
		report = func(error) {}
	}
	if o.Driver != DriverNATS {
		s, err := Open(ctx, o)
		if err == nil {
			report(nil)
		}
		return s, err
	}
	s, err := newStore(o)
	if err != nil {
		return nil, err
	}
	err = retry(ctx, "connecting to "+redactURLs(o.URL), report, func(context.Context) error { return s.dial() })
	if err != nil {
		s.shutdownServer()
		return nil, err
	}
	s, err = s.finish(ctx, report)
	if err == nil {
		report(nil)
	}
	return s, err
}

func newStore(o Options) (*Store, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.Retention <= 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.DuplicateWindow <= 0 {
		o.DuplicateWindow = 10 * time.Minute
	}
	if o.ClickMaxMsgs <= 0 {
		o.ClickMaxMsgs = DefaultClickMaxMsgs
	}
	if o.ClickMaxBytes <= 0 {
		o.ClickMaxBytes = DefaultClickMaxBytes
		if o.Driver != DriverNATS {
			o.ClickMaxBytes = min(o.ClickMaxBytes, o.MaxBytes/8)
		}
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	switch o.Driver {
	case DriverEmbedded, DriverMemory, "":
	case DriverNATS:
		if err := o.checkFiles(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("store: unknown driver %q", o.Driver)
	}
	s := &Store{opts: o, log: o.Logger}
	if o.Driver == DriverNATS {
		// A seed file that does not parse is not worth retrying.
		if _, err := s.natsOptions(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// connect starts the embedded server, or makes one attempt to connect to
// the external one.
func (s *Store) connect() error {
	var err error
	if s.opts.Driver != DriverNATS {
		if err = s.startEmbedded(); err != nil {
			return err
		}
		s.nc, err = nats.Connect("", nats.InProcessServer(s.srv), nats.Name("groupcast"), nats.MaxReconnects(-1))
		if err != nil {
			return fmt.Errorf("store: connect: %w", err)
		}
		return nil
	}
	if err := s.dial(); err != nil {
		return fmt.Errorf("store: connecting to %s: %w", redactURLs(s.opts.URL), err)
	}
	return nil
}

// dial makes one attempt to connect to the external NATS.
func (s *Store) dial() error {
	opts, err := s.natsOptions()
	if err != nil {
		return err
	}
	if s.nc, err = nats.Connect(s.opts.URL, opts...); err != nil {
		return describeConnErr(s.opts, err)
	}
	return nil
}

// finish ensures the streams and buckets on a connected store.
func (s *Store) finish(ctx context.Context, report func(error)) (*Store, error) {
	var err error
	if s.js, err = jetstream.New(s.nc); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: jetstream: %w", err)
	}
	if err := s.provision(ctx, report); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) startEmbedded() error {
	o := s.opts
	dir := o.Dir
	if o.Driver == DriverMemory {
		tmp, err := os.MkdirTemp("", "groupcast-memory-")
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		dir = tmp
	}
	if dir == "" {
		dir = "./data"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("store.dir: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return fmt.Errorf("store.dir: %w", err)
	}
	opts := &server.Options{
		ServerName:         "groupcast-embedded",
		JetStream:          true,
		StoreDir:           abs,
		JetStreamMaxStore:  o.MaxBytes,
		JetStreamMaxMemory: 256 << 20,
		SyncAlways:         o.SyncAlways,
		NoSigs:             true,
		NoLog:              true,
		DontListen:         o.Listen == "",
		// A record holds the body as JSON: room for a max_body of 1 MiB
		// even when every character needs escaping.
		MaxPayload: 8 << 20,
	}
	if o.Listen != "" {
		host, port, err := splitHostPort(o.Listen)
		if err != nil {
			return fmt.Errorf("store.listen: %w", err)
		}
		opts.Host, opts.Port = host, port
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("store: embedded server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return errors.New("store: embedded server did not start within 30s (is another groupcast using store.dir?)")
	}
	s.srv = srv
	return nil
}

func (s *Store) storage() jetstream.StorageType {
	if s.opts.Driver == DriverMemory {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

// JetStream is the context the router builds its queues on.
func (s *Store) JetStream() jetstream.JetStream { return s.js }

// Ready is nil while the store can be used.
func (s *Store) Ready() error {
	if s.closed.Load() {
		return errors.New("store closed")
	}
	if !s.nc.IsConnected() {
		if err := s.nc.LastError(); err != nil {
			return fmt.Errorf("store not connected (%s): %w", s.nc.Status(), describeConnErr(s.opts, err))
		}
		return fmt.Errorf("store not connected (%s)", s.nc.Status())
	}
	return nil
}

// Close flushes and closes the connection, then stops an embedded server.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.nc != nil {
		_ = s.nc.Drain()
		deadline := time.Now().Add(5 * time.Second)
		for !s.nc.IsClosed() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		s.nc.Close()
	}
	s.shutdownServer()
	return nil
}

func (s *Store) shutdownServer() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	if s.opts.Driver == DriverMemory {
		_ = os.RemoveAll(s.srv.StoreDir())
	}
}

// Queue is one account's share of the records: accepted and not taken
// yet, and taken but waiting (for a time, a review or a retry).
type Queue struct {
	Pending, Waiting int
}

// Queues reads every account's queue from its consumer's state.
func (s *Store) Queues(ctx context.Context) (map[string]Queue, error) {
	out := map[string]Queue{}
	l := s.records.ListConsumers(ctx)
	for info := range l.Info() {
		if account, ok := strings.CutPrefix(info.Name, ConsumerPrefix); ok {
			out[account] = Queue{Pending: int(info.NumPending), Waiting: info.NumAckPending}
		}
	}
	return out, l.Err()
}

// EnsureConsumers creates each account's consumers (of the records and of
// the events) that do not exist yet, starting after everything stored
// now: an account new to the config has nothing in the records before
// this. Call it before announcements can be routed to the account, so
// that none accepted for it is missed. Existing consumers are left as
// they are.
func (s *Store) EnsureConsumers(ctx context.Context, accounts []string) error {
	for _, p := range []struct {
		st     jetstream.Stream
		prefix string
	}{{s.records, ConsumerPrefix}, {s.events, ControlPrefix}} {
		info, err := p.st.Info(ctx)
		if err != nil {
			return fmt.Errorf("store: consumers: %w", err)
		}
		for _, a := range accounts {
			_, err := p.st.Consumer(ctx, p.prefix+a)
			if err == nil {
				continue
			}
			if !errors.Is(err, jetstream.ErrConsumerNotFound) {
				return fmt.Errorf("store: consumer %s%s: %w", p.prefix, a, err)
			}
			_, err = p.st.CreateConsumer(ctx, jetstream.ConsumerConfig{
				Durable: p.prefix + a, AckPolicy: jetstream.AckExplicitPolicy,
				DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: info.State.LastSeq + 1,
			})
			if err != nil && !errors.Is(err, jetstream.ErrConsumerExists) {
				return fmt.Errorf("store: consumer %s%s: %w", p.prefix, a, err)
			}
		}
	}
	return nil
}

// ControlPrefix starts the name of every account's event consumer.
const ControlPrefix = "control_"

// ConsumerPrefix starts the name of every account's record consumer.
const ConsumerPrefix = "send_"
