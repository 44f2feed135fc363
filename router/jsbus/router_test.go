package jsbus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
)

// TestRouter: the shape the router uses. A Watermill router consumes one
// subject with 4 in flight and, for each message, publishes one on the
// subject named in its metadata; a message nacked with NackAfter once comes
// back and goes through. After the router closes, every input is acked and
// every output stored once.
func TestRouter(t *testing.T) {
	js := embedded(t)
	stream(t, js, "IN", jetstream.WorkQueuePolicy, "in")
	stream(t, js, "OUT", jetstream.LimitsPolicy, "out.>")
	pub := &Publisher{JetStream: js}
	publishN(t, pub, "in", 20)

	sub := newSubscriber(t, SubscriberConfig{JetStream: js, Stream: "IN", Durable: "plan", InFlight: 4, CloseTimeout: time.Second})
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 20)
	r.AddHandler("plan", "in", sub, "out.default", pub, func(m *message.Message) ([]*message.Message, error) {
		if m.UUID == "m-5" && Deliveries(m) == 1 {
			NackAfter(m, 10*time.Millisecond)
			return nil, errDefer
		}
		out := message.NewMessage(m.UUID+"/x", m.Payload)
		out.Metadata.Set(MetaSubject, "out.x")
		done <- struct{}{}
		return []*message.Message{out}, nil
	})
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	go func() { _ = r.Run(ctx) }()
	for range 20 {
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("router stalled")
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		st, err := js.Stream(testCtx(t), "IN")
		return err == nil && st.CachedInfo().State.Msgs == 0 // WorkQueue: acked = removed
	})
	st, err := js.Stream(testCtx(t), "OUT")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(testCtx(t), jetstream.WithSubjectFilter("out.>"))
	if err != nil {
		t.Fatal(err)
	}
	if n := info.State.Subjects["out.x"]; n != 20 || info.State.Msgs != 20 {
		t.Errorf("out: %d messages, %d on out.x; want 20, all on out.x (MetaSubject)", info.State.Msgs, n)
	}
}

var errDefer = errors.New("deferred")
