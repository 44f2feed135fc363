package jsbus

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// receive takes the next message or fails the test after 15s.
func receive(t *testing.T, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return m
	case <-time.After(15 * time.Second):
		t.Fatal("no message within 15s")
	}
	return nil
}

func publishN(t *testing.T, p *Publisher, subject string, n int) []*message.Message {
	t.Helper()
	var msgs []*message.Message
	for i := range n {
		msgs = append(msgs, message.NewMessage(fmt.Sprintf("m-%d", i+1), []byte(fmt.Sprint(i+1))))
	}
	if err := p.PublishContext(testCtx(t), subject, msgs...); err != nil {
		t.Fatal(err)
	}
	return msgs
}

func consumerInfo(t *testing.T, js jetstream.JetStream, stream, durable string) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := js.Consumer(testCtx(t), stream, durable)
	if err != nil {
		t.Fatal(err)
	}
	return c.CachedInfo()
}

// TestNackAfter: a message nacked with a long delay stays pending while the
// next one is delivered; one nacked with a short delay comes back, same
// UUID, second delivery.
func TestNackAfter(t *testing.T) {
	js := embedded(t)
	stream(t, js, "S", jetstream.LimitsPolicy, "s.>")
	pub := &Publisher{JetStream: js}
	publishN(t, pub, "s.a", 3)
	sub := newSubscriber(t, SubscriberConfig{JetStream: js, Stream: "S", Durable: "d"})
	defer sub.Close()
	ch, err := sub.Subscribe(testCtx(t), "s.a")
	if err != nil {
		t.Fatal(err)
	}

	m1 := receive(t, ch)
	NackAfter(m1, time.Hour)
	m1.Nack()
	m2 := receive(t, ch) // with a plain Nak, m-1 would come first again
	if m2.UUID != "m-2" {
		t.Fatalf("after NackAfter(1h) got %s, want m-2", m2.UUID)
	}
	NackAfter(m2, 50*time.Millisecond)
	m2.Nack()
	var seen []string
	for len(seen) < 2 {
		m := receive(t, ch)
		seen = append(seen, fmt.Sprintf("%s#%d", m.UUID, Deliveries(m)))
		m.Ack()
	}
	// m-3 and the second delivery of m-2, in either order.
	if !(reflect.DeepEqual(seen, []string{"m-2#2", "m-3#1"}) || reflect.DeepEqual(seen, []string{"m-3#1", "m-2#2"})) {
		t.Errorf("got %v, want m-2#2 and m-3#1", seen)
	}
	// Acks are not answered: wait until the server has them all. Only m-1,
	// deferred for an hour, is left.
	waitFor(t, func() bool { return consumerInfo(t, js, "S", "d").NumAckPending == 1 })
	if ci := consumerInfo(t, js, "S", "d"); ci.AckFloor.Stream != 0 || ci.Delivered.Consumer != 4 {
		t.Errorf("floor %d, deliveries %d; want 0 (m-1 pending), 4", ci.AckFloor.Stream, ci.Delivered.Consumer)
	}
}

// TestInProgressHoldsPastAckWait: a handler holds a message for 3×AckWait
// while a second Subscriber on the same durable waits for work; with
// InProgress the message is never redelivered, without it (the control) it
// is.
func TestInProgressHoldsPastAckWait(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 3×AckWait twice (6s)")
	}
	const ackWait = time.Second
	for _, inProgress := range []bool{true, false} {
		t.Run(fmt.Sprintf("in-progress=%v", inProgress), func(t *testing.T) {
			js := embedded(t)
			stream(t, js, "S", jetstream.LimitsPolicy, "s.>")
			publishN(t, &Publisher{JetStream: js}, "s.a", 1)
			cfg := SubscriberConfig{JetStream: js, Stream: "S", Durable: "d", AckWait: ackWait}
			holder := newSubscriber(t, cfg)
			if !inProgress {
				holder.ticker = func(time.Duration) (<-chan time.Time, func()) { return nil, func() {} }
			}
			other := newSubscriber(t, cfg)
			defer holder.Close()
			defer other.Close()
			held, err := holder.Subscribe(testCtx(t), "s.a")
			if err != nil {
				t.Fatal(err)
			}
			m := receive(t, held)
			otherCh, err := other.Subscribe(testCtx(t), "s.a")
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * ackWait) // JetStream's AckWait runs on the server's clock
			m.Ack()
			redelivered := 0
			if inProgress {
				// Acked: nothing more to deliver; the ack is not answered, so
				// wait until the server has it.
				waitFor(t, func() bool { return consumerInfo(t, js, "S", "d").NumAckPending == 0 })
			} else {
				redelivered = 1
				m2 := receive(t, otherCh)
				m2.Ack()
			}
			// Every delivery, first or again, takes a consumer sequence. The
			// control may be redelivered more than once on a loaded machine
			// (its second holder's ticks can come late): at least once is
			// what it shows.
			got := consumerInfo(t, js, "S", "d").Delivered.Consumer
			if (inProgress && got != 1) || (!inProgress && got < 2) {
				t.Errorf("%d deliveries, want %d (in progress %v)", got, 1+redelivered, inProgress)
			}
			if inProgress {
				select {
				case m2 := <-otherCh:
					t.Errorf("the other subscriber got %s #%d while it was held", m2.UUID, Deliveries(m2))
				default:
				}
			}
		})
	}
}

// waitFor polls cond for up to 15s (server state that settles
// asynchronously, such as acks).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRecreateFromAckFloor: ten messages delivered, 1-3, 5 and 7 acked, the
// rest held when the subscriber closes (AckWait 1h: they would come back in
// an hour). Recreating the durable from the ack floor + 1 delivers every
// unacked one at once and in order (on a Limits stream also the acked ones
// above the floor).
func TestRecreateFromAckFloor(t *testing.T) {
	for _, tt := range []struct {
		retention jetstream.RetentionPolicy
		want      []string
	}{
		{jetstream.LimitsPolicy, []string{"m-4", "m-5", "m-6", "m-7", "m-8", "m-9", "m-10"}},
		{jetstream.WorkQueuePolicy, []string{"m-4", "m-6", "m-8", "m-9", "m-10"}},
	} {
		t.Run(tt.retention.String(), func(t *testing.T) {
			js := embedded(t)
			stream(t, js, "S", tt.retention, "s.>")
			publishN(t, &Publisher{JetStream: js}, "s.a", 10)
			cfg := SubscriberConfig{JetStream: js, Stream: "S", Durable: "owner", AckWait: time.Hour, InFlight: 10}
			first := newSubscriber(t, cfg)
			ch, err := first.Subscribe(testCtx(t), "s.a")
			if err != nil {
				t.Fatal(err)
			}
			for range 10 {
				m := receive(t, ch)
				switch m.UUID {
				case "m-1", "m-2", "m-3", "m-5", "m-7":
					m.Ack()
				}
			}
			waitFor(t, func() bool { return consumerInfo(t, js, "S", "owner").NumAckPending == 5 })
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			floor, err := AckFloor(testCtx(t), js, "S", "owner")
			if err != nil || floor != 3 {
				t.Fatalf("AckFloor = %d, %v; want 3", floor, err)
			}

			cfg.RecreateFrom = floor + 1
			cfg.InFlight = 1
			second := newSubscriber(t, cfg)
			defer second.Close()
			ch, err = second.Subscribe(testCtx(t), "s.a")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for range tt.want {
				m := receive(t, ch)
				got = append(got, m.UUID)
				m.Ack()
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("after recreate got %v, want %v", got, tt.want)
			}
			// A second Subscribe on the same Subscriber does not recreate again.
			if _, err := second.Subscribe(testCtx(t), "s.a"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return consumerInfo(t, js, "S", "owner").AckFloor.Stream == 10 })
		})
	}
	if _, err := AckFloor(context.Background(), embedded(t), "S", "none"); err == nil {
		t.Error("AckFloor of a missing stream: no error")
	}
}

// TestKVStream: a KV bucket's stream consumed directly; puts and then the
// delete and purge markers that replace them (History 1) are delivered with
// UUIDs derived from stream and sequence, the subject and the KV operation.
func TestKVStream(t *testing.T) {
	js := embedded(t)
	ctx := testCtx(t)
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "intake", History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	sub := newSubscriber(t, SubscriberConfig{JetStream: js, Stream: "KV_intake", Durable: "intake"})
	defer sub.Close()
	ch, err := sub.Subscribe(ctx, "$KV.intake.>")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	take := func(n int) {
		for range n {
			m := receive(t, ch)
			got = append(got, fmt.Sprintf("%s %s op=%s %s", m.UUID, m.Metadata.Get(MetaStreamSubject), m.Metadata.Get(MetaKVOperation), m.Payload))
			for k := range m.Metadata {
				if strings.HasPrefix(k, "Nats-") {
					t.Errorf("%s: JetStream header %s in metadata", m.UUID, k)
				}
			}
			m.Ack()
		}
	}
	for _, k := range []string{"a", "b"} {
		if _, err := kv.Put(ctx, k, []byte(strings.ToUpper(k))); err != nil {
			t.Fatal(err)
		}
	}
	take(2)
	if err := kv.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Purge(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	take(2)
	want := []string{
		"KV_intake:1 $KV.intake.a op= A",
		"KV_intake:2 $KV.intake.b op= B",
		"KV_intake:3 $KV.intake.a op=DEL ",
		"KV_intake:4 $KV.intake.b op=PURGE ",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// TestCloseJoinsGoroutines: two subscriptions, one ended by its context, one
// with messages a handler never settles; when Close returns, no goroutine of
// the subscriber is left and both channels are closed.
func TestCloseJoinsGoroutines(t *testing.T) {
	js := embedded(t)
	stream(t, js, "S", jetstream.LimitsPolicy, "s.>")
	publishN(t, &Publisher{JetStream: js}, "s.held", 3)
	for _, closeTimeout := range []time.Duration{0, 100 * time.Millisecond} {
		sub := newSubscriber(t, SubscriberConfig{JetStream: js, Stream: "S", InFlight: 4, CloseTimeout: closeTimeout})
		held, err := sub.Subscribe(testCtx(t), "s.held")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(testCtx(t))
		idle, err := sub.Subscribe(ctx, "s.idle")
		if err != nil {
			t.Fatal(err)
		}
		receive(t, held) // held, never settled
		// Its tracker starts right after it is handed out.
		for deadline := time.Now().Add(2 * time.Second); ours(sub) < 2 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		if n := ours(sub); n < 2 {
			t.Fatalf("%d goroutines of the subscriber found while subscribed, want 2 or more (fetch loop, held message): the check cannot fail", n)
		}
		cancel()
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		if n := ours(sub); n != 0 {
			t.Errorf("CloseTimeout %v: %d goroutines of the package left after Close:\n%s", closeTimeout, n, stacks())
		}
		for _, ch := range []<-chan *message.Message{held, idle} {
			for range ch { // messages already handed over, then closed
			}
		}
		if _, err := sub.Subscribe(testCtx(t), "s.held"); err == nil {
			t.Error("Subscribe after Close: no error")
		}
	}
}

func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// ours counts the goroutines running methods of sub (the receiver is the
// first argument in a stack frame). Other tests' subscribers do not count.
func ours(sub *Subscriber) int {
	frame := fmt.Sprintf("router/jsbus.(*Subscriber).%%s(%p", sub)
	n := 0
	for _, g := range strings.Split(stacks(), "\n\n") {
		for _, method := range []string{"fetchLoop", "handOut", "track", "settle"} {
			if strings.Contains(g, fmt.Sprintf(frame, method)) {
				n++
				break
			}
		}
	}
	return n
}

// TestPublisher: subject routing, duplicates dropped per subject, the same
// UUID on two subjects stored twice, async sequences in order and stable
// on republish.
func TestPublisher(t *testing.T) {
	js := embedded(t)
	stream(t, js, "S", jetstream.LimitsPolicy, "s.>")
	ctx := testCtx(t)
	pub := &Publisher{JetStream: js}

	m := message.NewMessage("u-1", []byte("x"))
	m.Metadata.Set("k", "v")
	for range 2 { // a republish (after a crash) is dropped
		if err := pub.Publish("s.a", m); err != nil {
			t.Fatal(err)
		}
	}
	routed := message.NewMessage("u-1", []byte("y")) // same UUID, other subject
	routed.Metadata.Set(MetaSubject, "s.b")
	if err := pub.PublishContext(ctx, "s.a", routed); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != 2 {
		t.Errorf("stored %d, want 2 (u-1 on s.a once, on s.b once)", n)
	}
	raw, err := st.GetMsg(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Subject != "s.b" || raw.Header.Get(MetaSubject) != "" || raw.Header.Get(HeaderUUID) != "u-1" {
		t.Errorf("stored %s %v", raw.Subject, raw.Header)
	}

	var batch []*message.Message
	for i := range 100 {
		batch = append(batch, message.NewMessage(fmt.Sprintf("b-%d", i), []byte("z")))
	}
	seqs, err := pub.PublishAsync(ctx, "s.c", batch...)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range seqs {
		if s != uint64(3+i) {
			t.Fatalf("seqs[%d] = %d, want %d (in order after 2)", i, s, 3+i)
		}
	}
	again, err := pub.PublishAsync(ctx, "s.c", batch...)
	if err != nil || !reflect.DeepEqual(again, seqs) {
		t.Errorf("republished batch: seqs %v, %v; want the first ones (duplicates)", again[:3], err)
	}
	// A small async window: PublishAsync waits for its own acks when full.
	small, err := jetstream.New(js.Conn(), jetstream.WithPublishAsyncMaxPending(8))
	if err != nil {
		t.Fatal(err)
	}
	for i := range batch {
		batch[i] = message.NewMessage(fmt.Sprintf("w-%d", i), []byte("z"))
	}
	seqs, err = (&Publisher{JetStream: small}).PublishAsync(ctx, "s.c", batch...)
	if err != nil || len(seqs) != len(batch) || seqs[0] != 103 || seqs[len(seqs)-1] != 202 {
		t.Errorf("small window: %d seqs from %v, err %v; want 100 from 103 to 202", len(seqs), seqs[:1], err)
	}

	quick := &Publisher{JetStream: js, backoff: func(int) time.Duration { return 0 }}
	if _, err := quick.PublishAsync(ctx, "nostream", batch[0]); err == nil {
		t.Error("async publish to a subject without a stream: no error")
	}
}

// flakyJetStream times out the first fails publishes and records the
// message id of each attempt.
type flakyJetStream struct {
	jetstream.JetStream
	mu    sync.Mutex
	fails int
	err   error
	ids   []string
}

func (f *flakyJetStream) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	f.mu.Lock()
	f.ids = append(f.ids, m.Header.Get("Nats-Msg-Id"))
	fail := len(f.ids) <= f.fails
	f.mu.Unlock()
	if fail {
		return nil, f.err
	}
	return f.JetStream.PublishMsg(ctx, m, opts...)
}

func TestPublishRetries(t *testing.T) {
	js := embedded(t)
	stream(t, js, "S", jetstream.LimitsPolicy, "s.>")
	for _, tt := range []struct {
		name     string
		fails    int
		err      error
		attempts int
		ok       bool
	}{
		{"timeouts then stored", 2, context.DeadlineExceeded, 3, true},
		{"no stream response then stored", 1, jetstream.ErrNoStreamResponse, 2, true},
		{"always timing out", 100, nats.ErrTimeout, publishAttempts, false},
		{"not retriable", 100, errors.New("maximum messages exceeded"), 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &flakyJetStream{JetStream: js, fails: tt.fails, err: tt.err}
			pub := &Publisher{JetStream: f, backoff: func(int) time.Duration { return 0 }}
			err := pub.PublishContext(testCtx(t), "s.r", message.NewMessage("r-1", nil))
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, tt.err)) {
				t.Errorf("err = %v, want ok=%v wrapping %v", err, tt.ok, tt.err)
			}
			if len(f.ids) != tt.attempts {
				t.Errorf("%d attempts, want %d", len(f.ids), tt.attempts)
			}
			for _, id := range f.ids {
				if id != "s.r:r-1" {
					t.Errorf("attempt with id %q, want s.r:r-1 every time", id)
				}
			}
		})
	}
}

// TestRestart: the server restarts (same store) between two batches while a
// subscription runs; the subscription survives it and every message of both
// batches arrives.
func TestRestart(t *testing.T) {
	ts, js := embeddedServer(t)
	stream(t, js, "S", jetstream.LimitsPolicy, "s.>")
	pub := &Publisher{JetStream: js, Timeout: 2 * time.Second}
	sub := newSubscriber(t, SubscriberConfig{JetStream: js, Stream: "S", Durable: "d", InFlight: 8, AckWait: 2 * time.Second})
	defer sub.Close()
	ch, err := sub.Subscribe(testCtx(t), "s.a")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	batch := func(from int) {
		for i := from; i < from+100; i++ {
			if err := pub.PublishContext(testCtx(t), "s.a", message.NewMessage(fmt.Sprintf("m-%d", i), nil)); err != nil {
				t.Fatal(err)
			}
		}
		for len(seen) < from+100 {
			m := receive(t, ch)
			seen[m.UUID] = true
			m.Ack()
		}
	}
	batch(0)
	if err := ts.restart(); err != nil {
		t.Fatal(err)
	}
	batch(100)
	if len(seen) != 200 {
		t.Errorf("got %d distinct messages, want 200", len(seen))
	}
}

// TestConsumerConfig: the consumer is created as configured (start
// sequence, several filter subjects, limits), and a later Subscriber with
// another deliver policy reuses it instead of failing (where a consumer
// starts cannot change).
func TestConsumerConfig(t *testing.T) {
	js := embedded(t)
	stream(t, js, "S", jetstream.LimitsPolicy, "s.>")
	pub := &Publisher{JetStream: js}
	publishN(t, pub, "s.a", 2) // m-1, m-2 at 1, 2
	publishN(t, pub, "s.b", 3) // other ids: m-1.. again, but another subject: 3, 4, 5
	publishN(t, pub, "s.c", 1) // 6: not in the filter
	cfg := SubscriberConfig{
		JetStream: js, Stream: "S", Durable: "d", FilterSubjects: []string{"s.a", "s.b"},
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, StartSeq: 2,
		AckWait: 7 * time.Second, MaxAckPending: 50,
	}
	sub := newSubscriber(t, cfg)
	defer sub.Close()
	ch, err := sub.Subscribe(testCtx(t), "ignored when FilterSubjects is set")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 4 {
		m := receive(t, ch)
		got = append(got, fmt.Sprintf("%d %s", StreamSeq(m), m.Metadata.Get(MetaStreamSubject)))
		m.Ack()
	}
	if want := []string{"2 s.a", "3 s.b", "4 s.b", "5 s.b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	c := consumerInfo(t, js, "S", "d").Config
	if c.AckWait != 7*time.Second || c.MaxAckPending != 50 || c.MaxDeliver != -1 || c.AckPolicy != jetstream.AckExplicitPolicy ||
		!reflect.DeepEqual(c.FilterSubjects, []string{"s.a", "s.b"}) || c.OptStartSeq != 2 {
		t.Errorf("consumer config %+v", c)
	}

	cfg.DeliverPolicy, cfg.StartSeq, cfg.AckWait = jetstream.DeliverAllPolicy, 0, 9*time.Second
	again := newSubscriber(t, cfg)
	defer again.Close()
	if _, err := again.Subscribe(testCtx(t), "s.a"); err != nil {
		t.Fatalf("second Subscriber with another deliver policy: %v", err)
	}
	if c := consumerInfo(t, js, "S", "d").Config; c.AckWait != 9*time.Second || c.OptStartSeq != 2 {
		t.Errorf("after update: AckWait %v (want 9s), start %d (want 2, kept)", c.AckWait, c.OptStartSeq)
	}
	if _, err := NewSubscriber(SubscriberConfig{JetStream: js, DeliverPolicy: jetstream.DeliverByStartSequencePolicy}); err == nil {
		t.Error("DeliverByStartSequencePolicy without StartSeq: no error")
	}
}

// TestFetchMin: with FetchMin a busy subscription asks for messages only
// once that many slots are free — settling fewer brings nothing new, and
// the FetchMin-th brings as many at once — and with the default it asks
// as soon as one is.
func TestFetchMin(t *testing.T) {
	for _, tt := range []struct {
		fetchMin, acked, want int // messages acked, then how many are out
	}{
		{fetchMin: 4, acked: 3, want: 5},
		{fetchMin: 4, acked: 4, want: 8},
		{fetchMin: 0, acked: 1, want: 8},
	} {
		t.Run(fmt.Sprintf("fetchmin=%d/acked=%d", tt.fetchMin, tt.acked), func(t *testing.T) {
			js := embedded(t)
			stream(t, js, "S", jetstream.LimitsPolicy, "s.>")
			publishN(t, &Publisher{JetStream: js}, "s.a", 20)
			sub := newSubscriber(t, SubscriberConfig{JetStream: js, Stream: "S", Durable: "d", InFlight: 8, FetchMin: tt.fetchMin})
			defer sub.Close()
			ch, err := sub.Subscribe(testCtx(t), "s.a")
			if err != nil {
				t.Fatal(err)
			}
			var held []*message.Message
			for range 8 {
				held = append(held, receive(t, ch))
			}
			for _, m := range held[:tt.acked] {
				m.Ack()
			}
			waitFor(t, func() bool { return consumerInfo(t, js, "S", "d").AckFloor.Consumer == uint64(tt.acked) })
			for range tt.want - (8 - tt.acked) {
				receive(t, ch)
			}
			// Long enough for a fetch to bring more, were one asked.
			time.Sleep(200 * time.Millisecond)
			select {
			case m := <-ch:
				t.Fatalf("message %s delivered: more than %d out", m.UUID, tt.want)
			default:
			}
			if got := consumerInfo(t, js, "S", "d").NumAckPending; got != tt.want {
				t.Errorf("%d messages out, want %d", got, tt.want)
			}
		})
	}
}
