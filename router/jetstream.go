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

// This file is groupcast's own Watermill Publisher and Subscriber on nats.go's
// jetstream package. It exists instead of watermill-nats because the router
// needs what that adapter lacks (see the README's design section): durable
// consumers it creates itself, a per-message redelivery delay (deferral
// until a time is a NAK with that delay, so no goroutine waits), progress
// signals for handlers that wait on a pacer longer than AckWait, several
// messages in flight per subscription, and no decoding step that can fail:
// headers become metadata as they are, so a foreign message cannot crash
// the daemon.

// Metadata keys the handlers and the subscriber share.
const (
	// metaRetryIn is set by a handler before it fails a message: the
	// subscriber NAKs with this delay (a Go duration string).
	metaRetryIn = "gc_retry_in"
	// metaSubject is set on outgoing messages: the subject to publish on.
	metaSubject = "gc_subject"
	// metaDeliveries is set on incoming messages: how many times JetStream
	// has delivered this one.
	metaDeliveries = "gc_deliveries"
	headerUUID     = "Gc-Uuid"
)

// retryIn asks the subscriber to redeliver msg after d.
func retryIn(msg *message.Message, d time.Duration) {
	if d < 0 {
		d = 0
	}
	msg.Metadata.Set(metaRetryIn, d.String())
}

// publisher publishes each message on its metaSubject (or the topic), with
// the message UUID as Nats-Msg-Id so a republish after a crash is dropped by
// JetStream's duplicate window.
type publisher struct {
	js      jetstream.JetStream
	timeout time.Duration
}

func (p *publisher) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		subject := m.Metadata.Get(metaSubject)
		if subject == "" {
			subject = topic
		}
		nm := &nats.Msg{Subject: subject, Data: m.Payload, Header: nats.Header{}}
		for k, v := range m.Metadata {
			if k == metaSubject || k == metaRetryIn || k == metaDeliveries {
				continue
			}
			nm.Header.Set(k, v)
		}
		nm.Header.Set(headerUUID, m.UUID)
		if err := p.publish(m.Context(), nm, m.UUID); err != nil {
			return err
		}
	}
	return nil
}

// publish retries timeouts with the same message id (a cluster electing a
// leader answers late; the id keeps the retry from storing twice).
func (p *publisher) publish(ctx context.Context, nm *nats.Msg, id string) error {
	var err error
	for attempt := range 5 {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout)
		_, err = p.js.PublishMsg(pctx, nm, jetstream.WithMsgID(id))
		cancel()
		if err == nil {
			return nil
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoStreamResponse) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	return fmt.Errorf("publish %s: %w", nm.Subject, err)
}

func (p *publisher) Close() error { return nil }

// subscriber consumes one durable consumer with up to Concurrency messages
// in flight.
type subscriber struct {
	js          jetstream.JetStream
	stream      string
	durable     string
	concurrency int
	ackWait     time.Duration
	log         *slog.Logger

	mu     sync.Mutex
	closed bool
	stops  []context.CancelFunc
}

func (s *subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	cons, err := s.js.CreateOrUpdateConsumer(ctx, s.stream, jetstream.ConsumerConfig{
		Durable:       s.durable,
		FilterSubject: topic,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.ackWait,
		MaxDeliver:    -1,
		// Deferred messages stay pending (NAKed with a delay) until their
		// time: the limit must hold a long queue of them.
		MaxAckPending: 100_000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", s.durable, err)
	}
	out := make(chan *message.Message)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.fetchLoop(ctx, cons, out)
	}()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return nil, errors.New("subscriber closed")
	}
	s.stops = append(s.stops, cancel)
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		wg.Wait()
		close(out)
	}()
	return out, nil
}

// fetchLoop pulls as many messages as there are free workers, with an
// explicit fetch each time: a message is only taken from JetStream when a
// worker is free to start on it (so none waits in a buffer past its
// AckWait), and no pull state can get lost between client and server.
func (s *subscriber) fetchLoop(ctx context.Context, cons jetstream.Consumer, out chan<- *message.Message) {
	slots := make(chan struct{}, s.concurrency)
	var workers sync.WaitGroup
	defer workers.Wait()
	for ctx.Err() == nil {
		select { // wait for one free worker, then count the others
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		free := 1
		for free < s.concurrency {
			select {
			case slots <- struct{}{}:
				free++
				continue
			default:
			}
			break
		}
		fctx, cancel := context.WithTimeout(ctx, fetchWait) // shutdown ends a waiting fetch
		batch, err := cons.Fetch(free, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			for range free {
				<-slots
			}
			if ctx.Err() == nil {
				s.log.Debug("fetch", "consumer", s.durable, "err", err)
				sleepCtx(ctx, 100*time.Millisecond)
			}
			continue
		}
		got := 0
		for m := range batch.Messages() {
			got++
			workers.Add(1)
			go func() {
				defer workers.Done()
				defer func() { <-slots }()
				s.process(ctx, m, out)
			}()
		}
		cancel()
		for range free - got {
			<-slots
		}
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, nats.ErrTimeout) &&
			!errors.Is(err, context.DeadlineExceeded) {
			s.log.Debug("fetch", "consumer", s.durable, "err", err)
		}
	}
}

// fetchWait is how long one fetch waits for messages before asking again.
const fetchWait = 5 * time.Second

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// process hands one message to the router and settles it in JetStream when
// the handler acks or nacks. While the handler works, it tells JetStream the
// message is in progress so that a handler waiting on a pacer is not
// redelivered elsewhere.
func (s *subscriber) process(ctx context.Context, jm jetstream.Msg, out chan<- *message.Message) {
	uuid := jm.Headers().Get(headerUUID)
	msg := message.NewMessage(uuid, jm.Data())
	for k, v := range jm.Headers() {
		if len(v) > 0 && k != headerUUID {
			msg.Metadata.Set(k, v[len(v)-1])
		}
	}
	if md, err := jm.Metadata(); err == nil {
		msg.Metadata.Set(metaDeliveries, strconv.FormatUint(md.NumDelivered, 10))
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msg.SetContext(mctx)
	select {
	case out <- msg:
	case <-ctx.Done():
		_ = jm.Nak()
		return
	}
	tick := time.NewTicker(s.ackWait / 3)
	defer tick.Stop()
	for {
		select {
		case <-msg.Acked():
			if err := jm.Ack(); err != nil && ctx.Err() == nil {
				s.log.Warn("ack", "consumer", s.durable, "err", err)
			}
			return
		case <-msg.Nacked():
			d, err := time.ParseDuration(msg.Metadata.Get(metaRetryIn))
			if err != nil {
				d = time.Second
			}
			if err := jm.NakWithDelay(d); err != nil && ctx.Err() == nil {
				s.log.Warn("nak", "consumer", s.durable, "err", err)
			}
			return
		case <-tick.C:
			_ = jm.InProgress()
		case <-ctx.Done():
			// Shutting down with the handler still busy: leave the message
			// unacknowledged; JetStream redelivers it after AckWait.
			return
		}
	}
}

func (s *subscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	stops := s.stops
	s.stops = nil
	s.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
	return nil
}
