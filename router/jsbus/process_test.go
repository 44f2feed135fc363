package jsbus

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// fakeMsg is a jetstream.Msg that records how it was settled.
type fakeMsg struct {
	subject string
	data    []byte
	header  nats.Header
	meta    *jetstream.MsgMetadata

	mu      sync.Mutex
	calls   []string // "ack", "nak", "nak 30s", "progress"
	settled chan struct{}
}

func newFakeMsg(seq uint64, header nats.Header) *fakeMsg {
	return &fakeMsg{
		subject: "t.x", data: []byte("payload"), header: header,
		meta: &jetstream.MsgMetadata{
			Sequence: jetstream.SequencePair{Stream: seq, Consumer: seq}, NumDelivered: 1, Stream: "S", Consumer: "c",
		},
		settled: make(chan struct{}),
	}
}

func (m *fakeMsg) record(call string, final bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, call)
	if final {
		close(m.settled)
	}
	return nil
}

func (m *fakeMsg) got() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

func (m *fakeMsg) Metadata() (*jetstream.MsgMetadata, error) { return m.meta, nil }
func (m *fakeMsg) Data() []byte                              { return m.data }
func (m *fakeMsg) Headers() nats.Header                      { return m.header }
func (m *fakeMsg) Subject() string                           { return m.subject }
func (m *fakeMsg) Reply() string                             { return "" }
func (m *fakeMsg) Ack() error                                { return m.record("ack", true) }
func (m *fakeMsg) DoubleAck(context.Context) error           { return m.record("ack", true) }
func (m *fakeMsg) Nak() error                                { return m.record("nak", true) }
func (m *fakeMsg) NakWithDelay(d time.Duration) error        { return m.record("nak "+d.String(), true) }
func (m *fakeMsg) InProgress() error                         { return m.record("progress", false) }
func (m *fakeMsg) Term() error                               { return m.record("term", true) }
func (m *fakeMsg) TermWithReason(string) error               { return m.record("term", true) }

var _ jetstream.Msg = (*fakeMsg)(nil)

// TestProcess drives one message through process with a hand-driven ticker:
// what the handler does, and what JetStream is told.
func TestProcess(t *testing.T) {
	tests := []struct {
		name      string
		nackDelay time.Duration // SubscriberConfig.NackDelay
		ticks     int           // InProgress ticks while the handler holds it
		handle    func(*message.Message)
		want      []string
	}{
		{"ack", 0, 0, func(m *message.Message) { m.Ack() }, []string{"ack"}},
		{"nack redelivers at once", 0, 0, func(m *message.Message) { m.Nack() }, []string{"nak"}},
		{"nack with the configured delay", 2 * time.Second, 0, func(m *message.Message) { m.Nack() }, []string{"nak 2s"}},
		{"NackAfter wins over the configured delay", 2 * time.Second, 0,
			func(m *message.Message) { NackAfter(m, 30*time.Second); m.Nack() }, []string{"nak 30s"}},
		{"NackAfter a negative delay", 2 * time.Second, 0,
			func(m *message.Message) { NackAfter(m, -time.Second); m.Nack() }, []string{"nak"}},
		{"held: in progress on every tick", 0, 3, func(m *message.Message) { m.Ack() },
			[]string{"progress", "progress", "progress", "ack"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ticks := make(chan time.Time)
			var gotWait time.Duration
			s := newSubscriber(t, SubscriberConfig{JetStream: nopJetStream{}, AckWait: 30 * time.Second, NackDelay: tt.nackDelay})
			s.ticker = func(d time.Duration) (<-chan time.Time, func()) { gotWait = d; return ticks, func() {} }
			fm := newFakeMsg(7, nil)
			out := make(chan *message.Message)
			done := make(chan struct{})
			go func() { defer close(done); process(context.Background(), s, fm, out) }()
			m := <-out
			for range tt.ticks {
				ticks <- time.Time{} // unbuffered: process has taken it
			}
			tt.handle(m)
			<-done
			if got := fm.got(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("calls = %q, want %q", got, tt.want)
			}
			if gotWait != 10*time.Second {
				t.Errorf("InProgress every %v, want AckWait/3 = 10s", gotWait)
			}
			select {
			case <-m.Context().Done():
			default:
				t.Error("message context not cancelled after settling")
			}
		})
	}
}

// TestProcessStop: stopping NAKs a message no handler has taken, leaves one
// a handler holds unacked (CloseTimeout 0), and with CloseTimeout settles
// what the handler does within it.
func TestProcessStop(t *testing.T) {
	s := newSubscriber(t, SubscriberConfig{JetStream: nopJetStream{}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fm := newFakeMsg(1, nil)
	process(ctx, s, fm, make(chan *message.Message)) // nobody reads
	if got := fm.got(); !reflect.DeepEqual(got, []string{"nak"}) {
		t.Errorf("not handed out: calls = %q, want nak", got)
	}

	for _, closeTimeout := range []time.Duration{0, time.Hour} {
		s := newSubscriber(t, SubscriberConfig{JetStream: nopJetStream{}, CloseTimeout: closeTimeout})
		ctx, cancel := context.WithCancel(context.Background())
		fm := newFakeMsg(2, nil)
		out := make(chan *message.Message)
		done := make(chan struct{})
		go func() { defer close(done); process(ctx, s, fm, out) }()
		m := <-out
		cancel()
		if closeTimeout == 0 {
			<-done
			m.Ack() // too late: nobody listens
			if got := fm.got(); len(got) != 0 {
				t.Errorf("CloseTimeout 0: calls = %q, want none (left for redelivery)", got)
			}
			continue
		}
		m.Ack() // within the grace
		<-done
		if got := fm.got(); !reflect.DeepEqual(got, []string{"ack"}) {
			t.Errorf("CloseTimeout 1h: calls = %q, want ack", got)
		}
	}
}

func TestToMessage(t *testing.T) {
	tests := []struct {
		name     string
		header   nats.Header
		wantUUID string
		wantMeta map[string]string
	}{
		{"groupcast message", nats.Header{HeaderUUID: {"u-1"}, "Nats-Msg-Id": {"t.x:u-1"}, "account": {"a"}},
			"u-1", map[string]string{"account": "a"}},
		{"foreign message with a msg id", nats.Header{"Nats-Msg-Id": {"m-9"}}, "m-9", nil},
		{"kv put: no headers", nil, "S:7", nil},
		{"kv delete", nats.Header{"KV-Operation": {"DEL"}}, "S:7", map[string]string{MetaKVOperation: KVDelete}},
		{"kv purge: rollup header dropped", nats.Header{"KV-Operation": {"PURGE"}, "Nats-Rollup": {"sub"}},
			"S:7", map[string]string{MetaKVOperation: KVPurge}},
		{"repeated header: last value", nats.Header{"x": {"1", "2"}}, "S:7", map[string]string{"x": "2"}},
		{"process-local keys are not taken from headers", nats.Header{MetaNackDelay: {"1h"}, MetaSubject: {"elsewhere"}}, "S:7", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := toMessage(newFakeMsg(7, tt.header))
			if m.UUID != tt.wantUUID {
				t.Errorf("UUID = %q, want %q", m.UUID, tt.wantUUID)
			}
			want := message.Metadata{MetaStreamSeq: "7", MetaDeliveries: "1", MetaStreamSubject: "t.x"}
			for k, v := range tt.wantMeta {
				want[k] = v
			}
			if !reflect.DeepEqual(m.Metadata, want) {
				t.Errorf("metadata = %v, want %v", m.Metadata, want)
			}
			if string(m.Payload) != "payload" || StreamSeq(m) != 7 || Deliveries(m) != 1 {
				t.Errorf("payload %q seq %d deliveries %d", m.Payload, StreamSeq(m), Deliveries(m))
			}
		})
	}
}

func TestToNats(t *testing.T) {
	m := message.NewMessage("u-1", []byte("p"))
	m.Metadata.Set("account", "a")
	m.Metadata.Set(MetaSubject, "t.elsewhere")
	NackAfter(m, time.Minute)
	nm := toNats("t.topic", m)
	want := nats.Header{"account": {"a"}, HeaderUUID: {"u-1"}, "Nats-Msg-Id": {"t.elsewhere:u-1"}}
	if nm.Subject != "t.elsewhere" || string(nm.Data) != "p" || !reflect.DeepEqual(nm.Header, want) {
		t.Errorf("got %s %q %v, want t.elsewhere %q %v", nm.Subject, nm.Data, nm.Header, "p", want)
	}
	m.Metadata.Set("Nats-Msg-Id", "mine")
	if got := toNats("t.topic", m).Header.Get("Nats-Msg-Id"); got != "mine" {
		t.Errorf("explicit Nats-Msg-Id = %q, want mine", got)
	}
}

// nopJetStream satisfies NewSubscriber for tests that never reach the server.
type nopJetStream struct{ jetstream.JetStream }

// process hands one message out and tracks it until it is settled, as
// the fetch loop does.
func process(ctx context.Context, s *Subscriber, jm jetstream.Msg, out chan<- *message.Message) {
	if msg, done, ok := s.handOut(ctx, jm, out); ok {
		s.track(ctx, jm, msg, done)
	}
}
