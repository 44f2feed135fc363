package jsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// SubscriberConfig configures a Subscriber: one durable pull consumer per
// subscription, explicit acks.
type SubscriberConfig struct {
	JetStream jetstream.JetStream
	// Stream holds the subjects. Empty: the stream is looked up by the
	// topic given to Subscribe.
	Stream string
	// Durable is the consumer's name. Empty: derived from the topic ('.',
	// '*', '>', ' ', '/' and '\' become '_'), so that each topic has its own
	// consumer and every Subscriber of a topic shares it.
	Durable string
	// FilterSubjects are the subjects the consumer takes. Empty: the topic
	// given to Subscribe.
	FilterSubjects []string
	// DeliverPolicy is where a new consumer starts (default DeliverAll);
	// with jetstream.DeliverByStartSequencePolicy it starts at StartSeq. It
	// only applies when the consumer is created: an existing one keeps its
	// own.
	DeliverPolicy jetstream.DeliverPolicy
	StartSeq      uint64
	// AckWait is how long JetStream waits for an ack before redelivering
	// (default 30s). The Subscriber sends InProgress every AckWait/3 while a
	// handler holds a message, so a slow handler is not redelivered.
	AckWait time.Duration
	// MaxAckPending is how many messages may be delivered and not yet acked
	// (default 100000: deferred messages stay pending, NAKed with a delay,
	// until their time, so the limit must hold a long queue of them). -1:
	// no limit.
	MaxAckPending int
	// MaxDeliver is how many times a message is delivered at most (default
	// -1: no limit).
	MaxDeliver int
	// InFlight is how many messages one subscription has out at once
	// (default 1: in order, one after the other).
	InFlight int
	// FetchMin is how many free slots a fetch waits for (default 1: fetch
	// as soon as one message is settled; at most InFlight). Larger, a busy
	// subscription asks JetStream once for several messages instead of
	// once for each message settled — a fetch is a request, a reply
	// subscription and a status message — and its handler never runs dry:
	// it still holds InFlight−FetchMin messages while the fetch waits.
	FetchMin int
	// RecreateFrom, if not 0, deletes the durable consumer when the
	// Subscriber first subscribes with it and creates it again, starting at
	// this stream sequence, so that every message from there on is delivered
	// at once and in order (instead of each unacked one after its AckWait).
	// Typically AckFloor+1. On a WorkQueue stream the new consumer starts at
	// the first message still stored (WorkQueue consumers must deliver all;
	// every message still there is unacked). On a Limits stream, messages
	// above the floor that were acked are delivered again.
	RecreateFrom uint64
	// NackDelay is the redelivery delay of a nack without MetaNackDelay
	// (default 0: redeliver at once, as Watermill expects).
	NackDelay time.Duration
	// CloseTimeout is how long Close (or the end of a subscription's
	// context) waits for handlers to ack or nack the messages they hold
	// (default 0: not at all). Messages never handed to a handler are NAKed
	// at once; messages a handler still holds after CloseTimeout stay
	// unacked, and JetStream redelivers them after AckWait (or at once,
	// when the next owner recreates the consumer from the ack floor). With
	// CloseTimeout > 0 a waiting fetch is also left to end (each fetch
	// waits at most CloseTimeout, so an idle subscription polls that often)
	// and what it brings is NAKed; with 0 it is cancelled, and what was on
	// its way comes back after AckWait. Close takes up to about
	// 2×CloseTimeout.
	CloseTimeout time.Duration
	Logger       *slog.Logger
}

// Subscriber consumes JetStream through durable pull consumers. It
// implements message.Subscriber.
//
// Each delivered message carries MetaStreamSeq, MetaDeliveries,
// MetaStreamSubject and, for KV markers, MetaKVOperation. The handler acks
// or nacks it; a nack is a NAK with the message's MetaNackDelay (NackAfter),
// or else NackDelay.
type Subscriber struct {
	cfg SubscriberConfig
	log *slog.Logger
	// ticker makes the InProgress ticker (a seam for tests).
	ticker func(time.Duration) (<-chan time.Time, func())

	stop    context.Context // done when Close is called
	closing context.CancelFunc
	wg      sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	recreated map[string]bool // durables this Subscriber has recreated
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber checks cfg and fills its defaults.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	if cfg.JetStream == nil {
		return nil, errors.New("jsbus: SubscriberConfig.JetStream is nil")
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxAckPending == 0 {
		cfg.MaxAckPending = 100_000
	}
	if cfg.MaxDeliver == 0 {
		cfg.MaxDeliver = -1
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 1
	}
	cfg.FetchMin = min(max(cfg.FetchMin, 1), cfg.InFlight)
	if cfg.DeliverPolicy == jetstream.DeliverByStartSequencePolicy && cfg.StartSeq == 0 {
		return nil, errors.New("jsbus: DeliverByStartSequencePolicy needs StartSeq")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Subscriber{cfg: cfg, log: cfg.Logger, ticker: realTicker, recreated: map[string]bool{}}
	s.stop, s.closing = context.WithCancel(context.Background())
	return s, nil
}

func realTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// Subscribe creates (or updates, or recreates: RecreateFrom) the durable
// consumer and delivers its messages on the returned channel until ctx ends
// or Close is called; then the channel is closed.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("jsbus: subscriber closed")
	}
	s.wg.Add(1) // before Close can Wait: Close needs the lock to set closed
	s.mu.Unlock()
	cons, err := s.consumer(ctx, topic)
	if err != nil {
		s.wg.Done()
		return nil, err
	}
	fetchCtx, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(s.stop, cancel)
	out := make(chan *message.Message)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer cancel()
		defer unhook()
		s.fetchLoop(fetchCtx, cons, out)
	}()
	return out, nil
}

// Close stops every subscription: no more fetches, messages not yet handed
// out are NAKed, messages handlers hold get CloseTimeout to be settled. It
// returns when every goroutine of the Subscriber has ended and every
// subscription's channel is closed.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.closing()
	s.wg.Wait()
	return nil
}

// durableName derives a consumer name from a topic.
func durableName(topic string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '/', '\\', '\t':
			return '_'
		}
		return r
	}, topic)
}

func (s *Subscriber) consumer(ctx context.Context, topic string) (jetstream.Consumer, error) {
	js := s.cfg.JetStream
	stream := s.cfg.Stream
	if stream == "" {
		var err error
		if stream, err = js.StreamNameBySubject(ctx, topic); err != nil {
			return nil, fmt.Errorf("jsbus: stream for %s: %w", topic, err)
		}
	}
	durable := s.cfg.Durable
	if durable == "" {
		durable = durableName(topic)
	}
	cc := jetstream.ConsumerConfig{
		Durable:       durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.cfg.AckWait,
		MaxDeliver:    s.cfg.MaxDeliver,
		MaxAckPending: s.cfg.MaxAckPending,
		DeliverPolicy: s.cfg.DeliverPolicy,
		OptStartSeq:   s.cfg.StartSeq,
	}
	if f := s.cfg.FilterSubjects; len(f) == 1 {
		cc.FilterSubject = f[0]
	} else if len(f) > 1 {
		cc.FilterSubjects = f
	} else if topic != "" {
		cc.FilterSubject = topic
	} // else: the whole Stream, with no filter for the server to evaluate

	s.mu.Lock()
	recreate := s.cfg.RecreateFrom > 0 && !s.recreated[stream+"/"+durable]
	s.recreated[stream+"/"+durable] = true
	s.mu.Unlock()
	if recreate {
		c, err := s.recreate(ctx, stream, cc)
		if err != nil {
			s.mu.Lock()
			delete(s.recreated, stream+"/"+durable)
			s.mu.Unlock()
		}
		return c, err
	}
	// Where a consumer starts cannot be changed once it exists: keep the
	// existing one's, update the rest (AckWait, limits, filters).
	if c, err := js.Consumer(ctx, stream, durable); err == nil {
		info := c.CachedInfo()
		cc.DeliverPolicy, cc.OptStartSeq, cc.OptStartTime = info.Config.DeliverPolicy, info.Config.OptStartSeq, info.Config.OptStartTime
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("jsbus: consumer %s/%s: %w", stream, durable, err)
	}
	c, err := js.CreateOrUpdateConsumer(ctx, stream, cc)
	if err != nil {
		return nil, fmt.Errorf("jsbus: consumer %s/%s: %w", stream, durable, err)
	}
	return c, nil
}

// recreate deletes the durable and creates it again from RecreateFrom.
func (s *Subscriber) recreate(ctx context.Context, stream string, cc jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	js := s.cfg.JetStream
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("jsbus: stream %s: %w", stream, err)
	}
	if err := st.DeleteConsumer(ctx, cc.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("jsbus: delete consumer %s/%s: %w", stream, cc.Durable, err)
	}
	cc.OptStartTime = nil
	if st.CachedInfo().Config.Retention == jetstream.WorkQueuePolicy {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverAllPolicy, 0
	} else {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, s.cfg.RecreateFrom
	}
	c, err := st.CreateConsumer(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("jsbus: recreate consumer %s/%s from %d: %w", stream, cc.Durable, s.cfg.RecreateFrom, err)
	}
	s.log.Debug("consumer recreated", "stream", stream, "consumer", cc.Durable, "from", s.cfg.RecreateFrom)
	return c, nil
}

// AckFloor is the stream sequence up to which the durable consumer has every
// message acknowledged (0 if none). The error wraps
// jetstream.ErrConsumerNotFound if there is no such consumer.
func AckFloor(ctx context.Context, js jetstream.JetStream, stream, durable string) (uint64, error) {
	c, err := js.Consumer(ctx, stream, durable)
	if err != nil {
		return 0, fmt.Errorf("jsbus: consumer %s/%s: %w", stream, durable, err)
	}
	return c.CachedInfo().AckFloor.Stream, nil
}

// fetchWait is how long one fetch waits for messages before asking again.
const fetchWait = 5 * time.Second

// fetchLoop pulls as many messages as there are free slots, with an explicit
// fetch each time: a message is only taken from JetStream when a handler
// slot is free to start on it (so none waits in a client buffer past its
// AckWait), and no pull state can get lost between client and server. It
// returns when ctx ends and every message goroutine has ended.
func (s *Subscriber) fetchLoop(ctx context.Context, cons jetstream.Consumer, out chan<- *message.Message) {
	n := s.cfg.InFlight
	slots := make(chan struct{}, n)
	var workers sync.WaitGroup
	defer workers.Wait()
	for ctx.Err() == nil {
		select { // wait for one free slot, then count the others
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		free := 1
	count:
		for free < n {
			select {
			case slots <- struct{}{}:
				free++
			default:
				break count
			}
		}
		for free < s.cfg.FetchMin { // the handler still has the others
			select {
			case slots <- struct{}{}:
				free++
			case <-ctx.Done():
				return
			}
		}
		fctx, cancel := s.fetchContext(ctx)
		batch, err := cons.Fetch(free, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			for range free {
				<-slots
			}
			if errors.Is(err, nats.ErrConnectionClosed) {
				// For good: end the subscription (its channel closes).
				s.log.Warn("fetch: connection closed", "consumer", cons.CachedInfo().Name)
				return
			}
			if ctx.Err() == nil {
				s.log.Debug("fetch", "consumer", cons.CachedInfo().Name, "err", err)
				sleep(ctx, 100*time.Millisecond)
			}
			continue
		}
		got := 0
		for m := range batch.Messages() {
			got++
			// Handed out here, one after the other, in the order fetched:
			// a new message never overtakes an older new one.
			msg, done, ok := s.handOut(ctx, m, out)
			if !ok {
				<-slots
				continue
			}
			workers.Add(1)
			go func() {
				defer workers.Done()
				defer func() { <-slots }()
				s.track(ctx, m, msg, done)
			}()
		}
		cancel()
		for range free - got {
			<-slots
		}
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, nats.ErrTimeout) &&
			!errors.Is(err, context.DeadlineExceeded) {
			// Refused (the consumer deleted or being recreated, the server
			// going away): ask again shortly, not in a tight loop.
			s.log.Debug("fetch", "consumer", cons.CachedInfo().Name, "err", err)
			if got == 0 {
				sleep(ctx, 100*time.Millisecond)
			}
		}
	}
}

// fetchContext bounds one fetch. Without CloseTimeout, stopping cancels the
// fetch at once; messages the server sends to a cancelled fetch are dropped
// by the client and come back after AckWait. With CloseTimeout, a fetch
// lasts at most CloseTimeout (so an idle subscription asks again every
// CloseTimeout, 100ms at least) and is left to end by itself (the server
// ends it first: the request expires before the context), and every message
// it still brings is NAKed, so none is lost in transit.
func (s *Subscriber) fetchContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.cfg.CloseTimeout <= 0 {
		return context.WithTimeout(ctx, fetchWait)
	}
	return context.WithTimeout(context.WithoutCancel(ctx), min(fetchWait, max(s.cfg.CloseTimeout, 100*time.Millisecond)))
}

// handOut gives one message to the handler; ctx ending first means stop:
// the message, not handed out, is NAKed.
// The message's context ends when it is settled (the cancel returned).
func (s *Subscriber) handOut(ctx context.Context, jm jetstream.Msg, out chan<- *message.Message) (*message.Message, context.CancelFunc, bool) {
	msg := toMessage(jm)
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	msg.SetContext(mctx)
	select {
	case out <- msg:
		return msg, cancel, true
	case <-ctx.Done():
		cancel()
		if err := jm.Nak(); err != nil {
			s.log.Debug("nak on close", "subject", jm.Subject(), "err", err)
		}
		return nil, nil, false
	}
}

// track settles a message handed out in JetStream when the handler acks or
// nacks it. While the handler holds it, it tells JetStream every AckWait/3
// that the message is in progress, so that a handler waiting on a pacer is
// not redelivered. ctx ending means stop: a message the handler holds gets
// CloseTimeout.
func (s *Subscriber) track(ctx context.Context, jm jetstream.Msg, msg *message.Message, done context.CancelFunc) {
	defer done()
	tick, stopTick := s.ticker(s.cfg.AckWait / 3)
	defer stopTick()
	stopping := ctx.Done()
	var grace <-chan time.Time
	for {
		select {
		case <-msg.Acked():
			s.settle(jm, msg)
			return
		case <-msg.Nacked():
			s.settle(jm, msg)
			return
		case <-tick:
			if err := jm.InProgress(); err != nil {
				s.log.Debug("in progress", "subject", jm.Subject(), "err", err)
			}
		case <-stopping:
			if s.cfg.CloseTimeout <= 0 {
				s.settle(jm, msg) // if the handler settled it just now
				return            // else unacked: redelivered after AckWait
			}
			stopping = nil
			t := time.NewTimer(s.cfg.CloseTimeout)
			defer t.Stop()
			grace = t.C
		case <-grace:
			s.settle(jm, msg)
			return
		}
	}
}

// settle acks or NAKs jm if the handler has acked or nacked msg, and does
// nothing otherwise.
func (s *Subscriber) settle(jm jetstream.Msg, msg *message.Message) {
	select {
	case <-msg.Acked():
		if err := jm.Ack(); err != nil {
			s.log.Warn("ack", "subject", jm.Subject(), "err", err)
		}
	case <-msg.Nacked():
		d := s.cfg.NackDelay
		if v := msg.Metadata.Get(MetaNackDelay); v != "" {
			if pd, err := time.ParseDuration(v); err == nil {
				d = pd
			}
		}
		var err error
		if d > 0 {
			err = jm.NakWithDelay(d)
		} else {
			err = jm.Nak()
		}
		if err != nil {
			s.log.Warn("nak", "subject", jm.Subject(), "err", err)
		}
	default:
	}
}

// toMessage turns a JetStream message into a Watermill message; it cannot
// fail.
func toMessage(jm jetstream.Msg) *message.Message {
	h := jm.Headers()
	md, _ := jm.Metadata() // nil only for a message not from a consumer
	uuid := h.Get(HeaderUUID)
	if uuid == "" {
		uuid = h.Get(headerMsgID)
	}
	if uuid == "" && md != nil {
		uuid = md.Stream + ":" + strconv.FormatUint(md.Sequence.Stream, 10)
	}
	msg := message.NewMessage(uuid, jm.Data())
	for k, v := range h {
		switch {
		case len(v) == 0 || k == HeaderUUID || strings.HasPrefix(k, natsHeaderPrefix) || isLocal(k):
		case k == headerKVOperation:
			msg.Metadata.Set(MetaKVOperation, v[len(v)-1])
		default:
			msg.Metadata.Set(k, v[len(v)-1])
		}
	}
	msg.Metadata.Set(MetaStreamSubject, jm.Subject())
	if md != nil {
		msg.Metadata.Set(MetaStreamSeq, strconv.FormatUint(md.Sequence.Stream, 10))
		msg.Metadata.Set(MetaDeliveries, strconv.FormatUint(md.NumDelivered, 10))
	}
	return msg
}
