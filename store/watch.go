package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Change is one write to the ledger as Watch sees it: an announcement
// accepted (Kind KindRecord, Target nil), or a target's state written
// (KindTarget, Target set).
type Change struct {
	Kind   string
	ID     string
	Target *TargetRecord
}

// KindTarget is a Change of a target's state.
const KindTarget = "target"

// Watch follows the ledger from now on: every target written (a KV watch
// on the ledger's target keys, updates only) and every announcement
// accepted (an ordered consumer on the records stream from its next
// message, subjects only: a write the stream refused is not seen, and a
// reconnect loses nothing). The channel is closed when ctx ends or the
// watch breaks; the caller starts a new one and reads what it missed from
// the ledger. A slow reader holds the watch back, not the writers:
// JetStream's ordered consumers wait.
func (s *Store) Watch(ctx context.Context) (<-chan Change, error) {
	w, err := s.ledger.Watch(ctx, prefixTarget+">", jetstream.UpdatesOnly(), jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("store: watch ledger: %w", err)
	}
	rc, err := s.js.OrderedConsumer(ctx, RecordsStream, jetstream.OrderedConsumerConfig{
		HeadersOnly: true, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		_ = w.Stop()
		return nil, fmt.Errorf("store: watch records: %w", err)
	}
	recs := make(chan string, 256)
	done := make(chan struct{})
	cc, err := rc.Consume(func(m jetstream.Msg) {
		if _, id, ok := KeyOf(m.Subject()); ok {
			select {
			case recs <- id:
			case <-done:
			}
		}
	})
	if err != nil {
		_ = w.Stop()
		return nil, fmt.Errorf("store: watch records: %w", err)
	}
	out := make(chan Change, 64)
	go func() {
		defer close(out)
		defer func() { close(done); cc.Stop(); _ = w.Stop() }()
		send := func(c Change) bool {
			select {
			case out <- c:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-cc.Closed():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil { // the end of the initial values (none: updates only)
					continue
				}
				if c, ok := targetChange(e.Key(), e.Value()); ok && !send(c) {
					return
				}
			case id := <-recs:
				if !send(Change{Kind: KindRecord, ID: id}) {
					return
				}
			}
		}
	}()
	return out, nil
}

// targetChange decodes a ledger entry t.<id>.<key>. Ids may hold dots, so
// the id is what is left of the key once the record's own key (written in
// its value) is cut off.
func targetChange(key string, value []byte) (Change, bool) {
	rest, ok := strings.CutPrefix(key, prefixTarget)
	if !ok {
		return Change{}, false
	}
	var t TargetRecord
	if err := json.Unmarshal(value, &t); err != nil || t.Key == "" {
		return Change{}, false
	}
	id, ok := strings.CutSuffix(rest, "."+t.Key)
	if !ok || id == "" {
		return Change{}, false
	}
	return Change{Kind: KindTarget, ID: id, Target: &t}, true
}
