package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bucket names.
const (
	BucketLedger   = bucketLedger
	BucketCounters = bucketCounters
	BucketLeases   = "groupcast_leases"
)

// KVStreamName is the stream that holds a KV bucket.
func KVStreamName(bucket string) string { return "KV_" + bucket }

// StreamConfigs are the streams the store ensures, in order: any extra
// streams, then the streams of the KV buckets (the records stream is the queue:
// each account's sender follows its records). Every replica ensures all of them at
// start; the write is create-or-update, so replicas may start together
// and an older config is brought up to date. Add a stream here (or pass it
// in Options.Streams) and every replica creates it.
func (s *Store) StreamConfigs() []jetstream.StreamConfig {
	st, r := s.storage(), s.opts.Replicas
	out := append(s.ledgerStreams(), s.opts.Streams...)
	return append(append(out,
		kvStreamConfig(bucketLedger, "target states", st, r, s.opts.Retention, 0),
		kvStreamConfig(bucketCounters, "daily caps, pauses and pacing", st, r, 0, time.Second),
		kvStreamConfig(BucketLeases, "which replica sends for each account", st, r, 0, time.Second),
	), s.linkStreams()...)
}

// kvStreamConfig is the stream of a KV bucket with history 1, laid out as
// the KV client expects, with one difference: AllowDirect is off.
//
// With AllowDirect (what the KV client sets) every replica of the stream,
// followers included, answers a Get from its own copy, which may not hold
// a write the leader has already acknowledged: a read right after a write,
// through another server, can see the old value or "not found". Without
// it, the KV client reads through the stream's leader ($JS.API.STREAM.MSG.GET),
// which has applied every write it acknowledged. Every read of these
// buckets decides something (a target's state, a cap, a lease), so they
// all pay the extra hop. markerTTL > 0 allows per-key TTLs and leaves a
// marker for that long when a key expires.
func kvStreamConfig(bucket, desc string, st jetstream.StorageType, replicas int, ttl, markerTTL time.Duration) jetstream.StreamConfig {
	dup := 2 * time.Minute
	if ttl > 0 && ttl < dup {
		dup = ttl
	}
	return jetstream.StreamConfig{
		Name:                   KVStreamName(bucket),
		Description:            desc,
		Subjects:               []string{"$KV." + bucket + ".>"},
		MaxMsgsPerSubject:      1,
		MaxBytes:               -1,
		MaxAge:                 ttl,
		MaxMsgSize:             -1,
		MaxMsgs:                -1,
		MaxConsumers:           -1,
		Storage:                st,
		Replicas:               replicas,
		AllowRollup:            true,
		DenyDelete:             true,
		Duplicates:             dup,
		AllowDirect:            false,
		Discard:                jetstream.DiscardNew,
		AllowMsgTTL:            markerTTL > 0,
		SubjectDeleteMarkerTTL: markerTTL,
	}
}

// oldStreams are the queues of the first release, before the ledger
// became the queue: removed at start.
var oldStreams = []string{"GROUPCAST_INTAKE", "GROUPCAST_DELIVER", "GROUPCAST_POISON"}

// provision ensures every stream, then opens the buckets.
func (s *Store) provision(ctx context.Context, report func(error)) error {
	for _, name := range oldStreams {
		err := retry(ctx, "remove old stream "+name, report, func(ctx context.Context) error {
			if err := s.js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				return err
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := EnsureStreams(ctx, s.js, s.StreamConfigs(), report); err != nil {
		return err
	}
	var err error
	if s.ledger, err = s.bucket(ctx, bucketLedger, report); err != nil {
		return err
	}
	if s.counts, err = s.bucket(ctx, bucketCounters, report); err != nil {
		return err
	}
	for _, p := range []struct {
		st   *jetstream.Stream
		name string
	}{{&s.records, RecordsStream}, {&s.events, EventsStream}} {
		err := retry(ctx, "stream "+p.name, report, func(ctx context.Context) error {
			var err error
			*p.st, err = s.js.Stream(ctx, p.name)
			return err
		})
		if err != nil {
			return err
		}
	}
	if s.leases, err = s.bucket(ctx, BucketLeases, report); err != nil {
		return err
	}
	if s.links, err = s.bucket(ctx, BucketLinks, report); err != nil {
		return err
	}
	s.clickers, err = s.bucket(ctx, BucketClickers, report)
	return err
}

// bucket opens a KV bucket whose stream was ensured, and checks that its
// reads go through the leader: a replica of an older version, starting at
// the same moment, may have turned AllowDirect back on; then it is turned
// off again.
func (s *Store) bucket(ctx context.Context, name string, report func(error)) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	err := retry(ctx, "bucket "+name, report, func(ctx context.Context) error {
		var err error
		if kv, err = s.js.KeyValue(ctx, name); err != nil {
			return err
		}
		st, err := kv.Status(ctx)
		if err != nil {
			return err
		}
		if b, ok := st.(*jetstream.KeyValueBucketStatus); ok && b.StreamInfo().Config.AllowDirect {
			cfg := b.StreamInfo().Config
			cfg.AllowDirect = false
			if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
				return err
			}
			return errors.New("direct gets were allowed; turned off")
		}
		return nil
	})
	return kv, err
}

// EnsureStreams creates or updates each stream in turn. Each is retried
// with backoff until ctx ends while the cluster cannot answer (no meta
// leader yet, a stream being placed, a timeout), reporting each failed
// attempt to report (if not nil); a config the server refuses ends it at
// once.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfgs []jetstream.StreamConfig, report func(error)) error {
	for _, c := range cfgs {
		err := retry(ctx, "stream "+c.Name, report, func(ctx context.Context) error {
			return ensureStream(ctx, js, c)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ensureStream updates the stream if it exists, else creates it.
//
// When several clients create the same stream at the same moment, the
// cluster creates it once and may leave every request unanswered, so each
// would wait out its timeout. While the create waits, the stream's info is
// polled; once the stream exists it is updated to c (an update is always
// answered) and the create is abandoned.
func ensureStream(ctx context.Context, js jetstream.JetStream, c jetstream.StreamConfig) error {
	// A stream just placed has no leader for a moment, and nobody answers
	// its info: ask again rather than wait.
	stream := func() (jetstream.Stream, error) {
		ictx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		return js.Stream(ictx, c.Name)
	}
	have, err := stream()
	if err == nil {
		if !differs(have.CachedInfo().Config, c) {
			// Already as wanted: no update (every replica starting would
			// otherwise rewrite the stream's config under the others'
			// consumers being created).
			return nil
		}
		_, err = js.UpdateStream(ctx, c)
		return err
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	created := make(chan error, 1)
	go func() {
		_, err := js.CreateStream(cctx, c)
		created <- err
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-created:
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				_, err = js.UpdateStream(ctx, c)
			}
			return err
		case <-tick.C:
			if _, err := stream(); err == nil {
				cancel()
				_, err = js.UpdateStream(ctx, c)
				return err
			}
		}
	}
}

// Each attempt of the start-up gets firstAttempt, doubled after every
// failure up to maxAttempt. Short first: when replicas create the same
// stream at the same moment on a fresh cluster, the meta leader answers
// the first request and leaves the others unanswered, so they would wait
// out the whole timeout. Growing: an R3 stream on a loaded cluster can
// take seconds to place, and the next attempt finds what a timed-out one
// created.
const (
	firstAttempt = time.Second
	maxAttempt   = 15 * time.Second
)

// retry runs f until it succeeds, ctx ends or the error is permanent.
func retry(ctx context.Context, what string, report func(error), f func(context.Context) error) error {
	wait, budget := 100*time.Millisecond, firstAttempt
	for {
		actx, cancel := context.WithTimeout(ctx, budget)
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		err = fmt.Errorf("store: %s: %w", what, err)
		if permanent(err) {
			return err
		}
		if report != nil {
			report(err)
		}
		// Jitter, so that replicas started together do not retry together.
		d := wait/2 + rand.N(wait)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up: %v)", err, context.Cause(ctx))
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
		budget = min(2*budget, maxAttempt)
	}
}

// permanent reports errors that waiting does not cure: a config the server
// refuses, a server without JetStream, a closed connection.
func permanent(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode {
		case 10052, // stream configuration invalid
			10065, // subjects overlap with an existing stream
			10074, // replicas > 1 on a server that is not clustered
			jetstream.JSErrCodeJetStreamNotEnabled,
			jetstream.JSErrCodeJetStreamNotEnabledForAccount:
			return true
		}
	}
	return errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount)
}

// differs reports whether a stream's config lacks something wanted: a
// field set in want (not its zero value) that have holds otherwise. Fields
// want leaves zero are the server's to fill and are not compared.
func differs(have, want jetstream.StreamConfig) bool {
	h, w := reflect.ValueOf(have), reflect.ValueOf(want)
	for i := range w.NumField() {
		f := w.Field(i)
		if f.IsZero() {
			continue
		}
		if !reflect.DeepEqual(f.Interface(), h.Field(i).Interface()) {
			return true
		}
	}
	return false
}
