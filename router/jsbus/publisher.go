package jsbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher publishes Watermill messages to JetStream. Each message goes on
// its MetaSubject, or else the topic (subject) it is published to, with
// "<subject>:<UUID>" as Nats-Msg-Id, so that a republish after a crash, or a
// retry after a timeout, is dropped by the stream's duplicate window. (The
// subject is part of the id because Watermill gives the copies of one
// message sent to several topics the same UUID: with the bare UUID the
// stream would drop every copy after the first.)
//
// The zero value is not usable: set JetStream. Publisher owns nothing;
// Close does nothing.
type Publisher struct {
	JetStream jetstream.JetStream
	// Timeout bounds one attempt to publish one message (default 5s). A
	// timed-out attempt is retried, with the same id, up to 5 attempts.
	Timeout time.Duration

	// backoff is the pause before retry n (1, 2, ...); a test seam.
	backoff func(n int) time.Duration
}

var _ message.Publisher = (*Publisher)(nil)

// publishAttempts is how many times a timed-out publish is tried.
const publishAttempts = 5

func (p *Publisher) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return 5 * time.Second
}

// Publish publishes msgs in order, each with its own context for values
// only: a cancelled message context does not abandon a publish (a handler's
// fan-out is not cut in half by shutdown); each attempt is bounded by
// Timeout. It implements message.Publisher.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		if _, err := p.publish(context.WithoutCancel(m.Context()), toNats(topic, m)); err != nil {
			return err
		}
	}
	return nil
}

// PublishContext publishes msgs in order, each on its MetaSubject or else
// subject, and waits for each to be stored. It gives up when ctx ends.
func (p *Publisher) PublishContext(ctx context.Context, subject string, msgs ...*message.Message) error {
	for _, m := range msgs {
		if _, err := p.publish(ctx, toNats(subject, m)); err != nil {
			return err
		}
	}
	return nil
}

// PublishAsync sends msgs without waiting between them (PublishMsgAsync),
// then waits for every acknowledgement in order, and returns the stream
// sequence of each message (seqs[i] belongs to msgs[i]). It is for one
// goroutine that needs many publishes stored: the messages leave on one
// connection in order, so a stream stores them in order, unless one of them
// failed and was published again (a timeout, a leader change): a message
// whose acknowledgement does not come within Timeout is republished
// synchronously with the same id (stored once either way), and may then be
// stored after messages that followed it. Compare the sequences if order
// matters.
//
// On error, seqs holds the sequences of the messages before the first that
// failed. Create the JetStream with jetstream.WithPublishAsyncTimeout, or a
// lost acknowledgement keeps its slot in the async window forever.
func (p *Publisher) PublishAsync(ctx context.Context, subject string, msgs ...*message.Message) ([]uint64, error) {
	seqs := make([]uint64, 0, len(msgs))
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	// settle waits for futures[len(seqs):upTo].
	settle := func(upTo int) error {
		for i := len(seqs); i < upTo; i++ {
			seq, err := p.await(ctx, futures[i])
			if err != nil {
				return err
			}
			seqs = append(seqs, seq)
		}
		return nil
	}
	for _, m := range msgs {
		nm := toNats(subject, m)
		f, err := p.JetStream.PublishMsgAsync(nm)
		if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			// The async window is full: wait for ours, then try again.
			if err := settle(len(futures)); err != nil {
				return seqs, err
			}
			f, err = p.JetStream.PublishMsgAsync(nm)
		}
		if err != nil {
			if err := settle(len(futures)); err != nil {
				return seqs, err
			}
			seq, err := p.publish(ctx, nm)
			if err != nil {
				return seqs, err
			}
			futures = append(futures, nil)
			seqs = append(seqs, seq)
			continue
		}
		futures = append(futures, f)
	}
	return seqs, settle(len(futures))
}

// await waits for one async acknowledgement; a failure or a silence longer
// than Timeout is retried synchronously with the same id.
func (p *Publisher) await(ctx context.Context, f jetstream.PubAckFuture) (uint64, error) {
	t := time.NewTimer(p.timeout())
	defer t.Stop()
	select {
	case ack := <-f.Ok():
		return ack.Sequence, nil
	case <-f.Err():
	case <-t.C:
	case <-ctx.Done():
		return 0, fmt.Errorf("publish %s: %w", f.Msg().Subject, ctx.Err())
	}
	return p.publish(ctx, f.Msg())
}

// publish stores nm, retrying timeouts with the same message id (a cluster
// electing a leader answers late; the id keeps the retry from storing
// twice).
func (p *Publisher) publish(ctx context.Context, nm *nats.Msg) (uint64, error) {
	var err error
	for attempt := range publishAttempts {
		var ack *jetstream.PubAck
		actx, cancel := context.WithTimeout(ctx, p.timeout())
		ack, err = p.JetStream.PublishMsg(actx, nm)
		cancel()
		if err == nil {
			return ack.Sequence, nil
		}
		if ctx.Err() != nil || !retriable(err) || attempt == publishAttempts-1 {
			break
		}
		if !sleep(ctx, p.pause(attempt+1)) {
			break
		}
	}
	return 0, fmt.Errorf("publish %s: %w", nm.Subject, err)
}

func (p *Publisher) pause(n int) time.Duration {
	if p.backoff != nil {
		return p.backoff(n)
	}
	return time.Duration(n) * 200 * time.Millisecond
}

func retriable(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrNoStreamResponse)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Close does nothing: the Publisher owns no connection.
func (p *Publisher) Close() error { return nil }

// toNats builds the NATS message for m: on its MetaSubject, else subject.
func toNats(subject string, m *message.Message) *nats.Msg {
	if s := m.Metadata.Get(MetaSubject); s != "" {
		subject = s
	}
	nm := &nats.Msg{Subject: subject, Data: m.Payload, Header: make(nats.Header, len(m.Metadata)+2)}
	for k, v := range m.Metadata {
		if !isLocal(k) {
			nm.Header[k] = []string{v}
		}
	}
	if m.UUID != "" {
		nm.Header[HeaderUUID] = []string{m.UUID}
		if _, ok := m.Metadata[headerMsgID]; !ok {
			nm.Header[headerMsgID] = []string{subject + ":" + m.UUID}
		}
	}
	return nm
}
