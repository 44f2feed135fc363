package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Metadata the queue sets on each message, and reads back from a Nack.
const (
	// metaSeq is the message's sequence in its stream: the acceptance
	// order of announcements.
	metaSeq = "gc_seq"
	// metaDeliveries is how many times JetStream delivered the message.
	metaDeliveries = "gc_deliveries"
	// metaSubject is the subject the message was stored under.
	metaSubject = "gc_subject"
	// metaRetryIn is set before a Nack: redeliver after this (a Go duration).
	metaRetryIn = "gc_retry_in"
)

// nackAfter asks the queue to redeliver msg after d, and nacks it.
func nackAfter(msg *message.Message, d time.Duration) {
	msg.Metadata.Set(metaRetryIn, max(d, 0).String())
	msg.Nack()
}

func seqOf(msg *message.Message) uint64 {
	n, _ := strconv.ParseUint(msg.Metadata.Get(metaSeq), 10, 64)
	return n
}

func deliveriesOf(msg *message.Message) uint64 {
	n, _ := strconv.ParseUint(msg.Metadata.Get(metaDeliveries), 10, 64)
	return n
}

// queue is a Watermill Subscriber on one durable JetStream consumer that
// hands messages over in stream order, at most lookahead unsettled at a
// time. The account sender builds on these promises:
//
//   - Order: messages come out in the order fetched, one goroutine pushing
//     them, so a new message never overtakes an older new one; messages
//     redelivered (asked back after a delay) come out among them and carry
//     their sequence, so the reader can put them back in order.
//   - Restart: with fromFloor, the consumer is recreated at its first
//     unacknowledged message when the queue starts, so that everything a
//     crashed or departed owner left unsettled (in flight, or asked back
//     later) comes back at once and in order, not one AckWait later.
//   - Holding: while a message is neither acked nor nacked, the queue tells
//     JetStream it is in progress, so a message waiting on a pacer or a
//     retry for minutes is not redelivered behind the reader's back.
type queue struct {
	js        jetstream.JetStream
	stream    string
	durable   string
	filters   []string
	lookahead int
	ackWait   time.Duration
	fromFloor bool
	log       *slog.Logger

	// replayed is the stream's last sequence when the queue started:
	// messages up to it may have been worked on before (by this process
	// before a crash, or by another replica), so their targets' states are
	// read; later ones are new.
	replayed uint64

	mu     sync.Mutex
	closed bool
	stops  []context.CancelFunc
	wg     sync.WaitGroup
}

var _ message.Subscriber = (*queue)(nil)

// Subscribe starts the consumer; topic is ignored (the filters say what
// the consumer takes).
func (q *queue) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	cons, err := q.consumer(ctx)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil, errors.New("queue closed")
	}
	ctx, cancel := context.WithCancel(ctx)
	q.stops = append(q.stops, cancel)
	q.wg.Add(1)
	q.mu.Unlock()
	out := make(chan *message.Message)
	go func() {
		defer q.wg.Done()
		defer close(out)
		q.fetchLoop(ctx, cons, out)
	}()
	return out, nil
}

func (q *queue) config(start uint64) jetstream.ConsumerConfig {
	c := jetstream.ConsumerConfig{
		Durable:        q.durable,
		FilterSubjects: q.filters,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        q.ackWait,
		MaxDeliver:     -1,
		// Targets waiting for a window or a review stay pending (asked
		// back later): the limit must hold a long queue of them.
		MaxAckPending: 100_000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if start > 0 {
		c.DeliverPolicy, c.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
	}
	return c
}

// consumer finds or creates the durable consumer; with fromFloor an
// existing one is recreated at its first unacknowledged message.
func (q *queue) consumer(ctx context.Context) (jetstream.Consumer, error) {
	var cons jetstream.Consumer
	err := retryStore(ctx, func(ctx context.Context) error {
		st, err := q.js.Stream(ctx, q.stream)
		if err != nil {
			return err
		}
		q.replayed = st.CachedInfo().State.LastSeq
		old, err := q.js.Consumer(ctx, q.stream, q.durable)
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			cons, err = q.js.CreateConsumer(ctx, q.stream, q.config(0))
			return err
		case err != nil:
			return err
		case !q.fromFloor:
			cons = old
			return nil
		}
		info, err := old.Info(ctx)
		if err != nil {
			return err
		}
		if err := q.js.DeleteConsumer(ctx, q.stream, q.durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return err
		}
		cons, err = q.js.CreateConsumer(ctx, q.stream, q.config(info.AckFloor.Stream+1))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", q.durable, err)
	}
	return cons, nil
}

// retryStore runs f until it succeeds, ctx ends, or it fails with
// something other than a timeout (a cluster electing a leader answers
// late) for about 30 s.
func retryStore(ctx context.Context, f func(context.Context) error) error {
	var err error
	for attempt := range 10 {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = f(fctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) &&
			!errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, nats.ErrNoResponders) {
			return err
		}
		sleepCtx(ctx, time.Duration(attempt+1)*200*time.Millisecond)
	}
	return err
}

// fetchWait is how long one fetch waits for messages before asking again.
const fetchWait = 2 * time.Second

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// fetchLoop fetches as many messages as there are free places and pushes
// them out one by one, in the order JetStream handed them over.
func (q *queue) fetchLoop(ctx context.Context, cons jetstream.Consumer, out chan<- *message.Message) {
	slots := make(chan struct{}, q.lookahead)
	var tracking sync.WaitGroup
	defer tracking.Wait()
	for ctx.Err() == nil {
		select { // wait for one free place, then count the others
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		free := 1
	count:
		for free < q.lookahead {
			select {
			case slots <- struct{}{}:
				free++
			default:
				break count
			}
		}
		fctx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := cons.Fetch(free, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			for range free {
				<-slots
			}
			if ctx.Err() == nil {
				q.log.Debug("fetch", "consumer", q.durable, "err", err)
				sleepCtx(ctx, 100*time.Millisecond)
			}
			continue
		}
		got := 0
		for jm := range batch.Messages() {
			got++
			msg := q.message(ctx, jm)
			select {
			case out <- msg:
			case <-ctx.Done():
				_ = jm.Nak()
				<-slots
				continue
			}
			tracking.Add(1)
			go func() {
				defer tracking.Done()
				defer func() { <-slots }()
				q.track(ctx, jm, msg)
			}()
		}
		cancel()
		for range free - got {
			<-slots
		}
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, nats.ErrTimeout) &&
			!errors.Is(err, context.DeadlineExceeded) {
			q.log.Debug("fetch", "consumer", q.durable, "err", err)
			sleepCtx(ctx, 100*time.Millisecond)
		}
	}
}

func (q *queue) message(ctx context.Context, jm jetstream.Msg) *message.Message {
	var seq, delivered uint64
	if md, err := jm.Metadata(); err == nil {
		seq, delivered = md.Sequence.Stream, md.NumDelivered
	}
	msg := message.NewMessage(q.durable+"/"+strconv.FormatUint(seq, 10), jm.Data())
	for k, v := range jm.Headers() {
		if len(v) > 0 {
			msg.Metadata.Set(k, v[len(v)-1])
		}
	}
	msg.Metadata.Set(metaSeq, strconv.FormatUint(seq, 10))
	msg.Metadata.Set(metaDeliveries, strconv.FormatUint(delivered, 10))
	msg.Metadata.Set(metaSubject, jm.Subject())
	msg.SetContext(ctx)
	return msg
}

// track settles one message in JetStream when the reader acks or nacks it,
// and keeps it in progress meanwhile.
func (q *queue) track(ctx context.Context, jm jetstream.Msg, msg *message.Message) {
	tick := time.NewTicker(q.ackWait / 3)
	defer tick.Stop()
	for {
		select {
		case <-msg.Acked():
			if err := jm.Ack(); err != nil && ctx.Err() == nil {
				q.log.Warn("ack", "consumer", q.durable, "err", err)
			}
			return
		case <-msg.Nacked():
			d, err := time.ParseDuration(msg.Metadata.Get(metaRetryIn))
			if err != nil {
				d = time.Second
			}
			if err := jm.NakWithDelay(d); err != nil && ctx.Err() == nil {
				q.log.Warn("nak", "consumer", q.durable, "err", err)
			}
			return
		case <-tick.C:
			_ = jm.InProgress()
		case <-ctx.Done():
			// Stopping with the message unsettled: it comes back to whoever
			// owns the consumer next.
			return
		}
	}
}

// Close stops fetching and waits for the fetch loops to end; messages not
// settled by then come back later.
func (q *queue) Close() error {
	q.mu.Lock()
	q.closed = true
	stops := q.stops
	q.stops = nil
	q.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
	q.wg.Wait()
	return nil
}
