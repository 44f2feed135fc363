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
	Logger          *slog.Logger
}

// Store is an open connection to the JetStream that holds everything.
type Store struct {
	opts   Options
	srv    *server.Server // nil for driver nats
	nc     *nats.Conn
	js     jetstream.JetStream
	ledger jetstream.KeyValue
	counts jetstream.KeyValue
	log    *slog.Logger
	closed atomic.Bool
	hints  sync.Map // target key → targetHint
	docs   sync.Map // counters key → docHint
}

// Open starts (or connects to) the NATS server, and creates the streams and
// buckets if they do not exist. ctx bounds the start-up.
func Open(ctx context.Context, o Options) (*Store, error) {
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
	s := &Store{opts: o, log: o.Logger}
	var err error
	switch o.Driver {
	case DriverEmbedded, DriverMemory, "":
		if err = s.startEmbedded(); err != nil {
			return nil, err
		}
		s.nc, err = nats.Connect("", nats.InProcessServer(s.srv), nats.Name("groupcast"), nats.MaxReconnects(-1))
	case DriverNATS:
		s.nc, err = nats.Connect(o.URL, nats.Name("groupcast"), nats.MaxReconnects(-1),
			nats.RetryOnFailedConnect(true), nats.ReconnectWait(time.Second),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					s.log.Warn("store disconnected", "err", err)
				}
			}),
			nats.ReconnectHandler(func(*nats.Conn) { s.log.Info("store reconnected") }))
	default:
		return nil, fmt.Errorf("store: unknown driver %q", o.Driver)
	}
	if err != nil {
		s.shutdownServer()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: jetstream: %w", err)
	}
	if err := s.provision(ctx); err != nil {
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

func (s *Store) provision(ctx context.Context) error {
	st, r := s.storage(), s.opts.Replicas
	for _, name := range []string{"GROUPCAST_INTAKE", "GROUPCAST_DELIVER", "GROUPCAST_POISON"} {
		// Streams of the first release: the ledger is the queue now.
		if err := s.js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("store: remove old stream %s: %w", name, err)
		}
	}
	var err error
	s.ledger, err = s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucketLedger, History: 1, Storage: st, Replicas: r, TTL: s.opts.Retention,
		Description: "announcements and target states"})
	if err != nil {
		return fmt.Errorf("store: bucket %s: %w", bucketLedger, err)
	}
	s.counts, err = s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucketCounters, History: 1, Storage: st, Replicas: r, LimitMarkerTTL: time.Second,
		Description: "daily caps, pauses and pacing"})
	if err != nil {
		return fmt.Errorf("store: bucket %s: %w", bucketCounters, err)
	}
	return nil
}

// JetStream is the context the router builds its queues on.
func (s *Store) JetStream() jetstream.JetStream { return s.js }

// Ready is nil while the store can be used.
func (s *Store) Ready() error {
	if s.closed.Load() {
		return errors.New("store closed")
	}
	if !s.nc.IsConnected() {
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

// Backlog counts the announcements accepted that some account's sender
// has not taken yet (each account's consumer of the ledger's records).
// Targets deferred (taken and asked back later) do not count.
func (s *Store) Backlog(ctx context.Context) (int, error) {
	st, err := s.js.Stream(ctx, LedgerStream)
	if err != nil {
		return 0, fmt.Errorf("store: backlog: %w", err)
	}
	n := 0
	for info := range st.ListConsumers(ctx).Info() {
		if strings.HasPrefix(info.Name, ConsumerPrefix) {
			n += int(info.NumPending)
		}
	}
	return n, nil
}

// ConsumerPrefix starts the name of every account's record consumer.
const ConsumerPrefix = "send_"
