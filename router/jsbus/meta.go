// Package jsbus is groupcast's Watermill Publisher and Subscriber on NATS
// JetStream (nats.go's jetstream package).
//
// It exists instead of watermill-nats because groupcast needs what that
// adapter lacks: durable pull consumers it creates itself (and can recreate
// from a stream sequence), a per-message redelivery delay (deferral until a
// time is a NAK with that delay, so no goroutine waits), progress signals for
// handlers that hold a message longer than AckWait, several messages in
// flight per subscription, and no decoding step that can fail: headers become
// metadata as they are, and a message without groupcast's UUID header (a KV
// put, a message from another client) is still delivered.
//
// Messages cross the wire as follows. Publish: payload → data; every metadata
// entry → a header of the same name, except keys starting with "jsbus_",
// which stay in the process; the UUID → header Gc-Uuid; Nats-Msg-Id →
// "<subject>:<UUID>" unless the metadata sets Nats-Msg-Id itself. Receive:
// data → payload; headers → metadata (last value of each), except
// JetStream's own "Nats-*" headers and Gc-Uuid; plus the keys below.
package jsbus

import (
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Metadata keys. Every key starting with "jsbus_" is local to the process:
// the Publisher never turns it into a header.
const (
	// MetaSubject, set on an outgoing message, is the subject to publish it
	// on instead of the topic given to Publish.
	MetaSubject = "jsbus_subject"
	// MetaNackDelay, set by a handler before it nacks, is how long JetStream
	// waits before redelivering (a Go duration string). See NackAfter.
	MetaNackDelay = "jsbus_nack_delay"

	// MetaStreamSeq is set on every delivered message: its stream sequence.
	MetaStreamSeq = "jsbus_stream_seq"
	// MetaDeliveries is set on every delivered message: how many times
	// JetStream has delivered it (1 the first time).
	MetaDeliveries = "jsbus_deliveries"
	// MetaStreamSubject is set on every delivered message: the subject it is
	// stored under (for a KV entry, "$KV.<bucket>.<key>").
	MetaStreamSubject = "jsbus_stream_subject"
	// MetaKVOperation is set on a delivered KV delete or purge marker: the
	// value of its KV-Operation header (KVDelete or KVPurge). A KV put has
	// no such header, and the key is not set.
	MetaKVOperation = "jsbus_kv_operation"

	metaPrefix = "jsbus_"
)

// KV operations as they appear in MetaKVOperation.
const (
	KVDelete = "DEL"
	KVPurge  = "PURGE"
)

// HeaderUUID carries the Watermill message UUID. Messages without it get a
// UUID derived from the stream and sequence ("<stream>:<seq>") or, if they
// have one, their Nats-Msg-Id.
const HeaderUUID = "Gc-Uuid"

const (
	headerKVOperation = "KV-Operation"
	headerMsgID       = "Nats-Msg-Id"
	natsHeaderPrefix  = "Nats-"
)

// NackAfter asks the Subscriber to have msg redelivered no sooner than d
// after the handler nacks it (NakWithDelay). A negative d counts as 0
// (redeliver at once).
func NackAfter(msg *message.Message, d time.Duration) {
	msg.Metadata.Set(MetaNackDelay, max(d, 0).String())
}

// StreamSeq is the stream sequence of a delivered message (0 if unknown).
func StreamSeq(msg *message.Message) uint64 {
	n, _ := strconv.ParseUint(msg.Metadata.Get(MetaStreamSeq), 10, 64)
	return n
}

// Deliveries is how many times JetStream has delivered msg (0 if unknown).
func Deliveries(msg *message.Message) uint64 {
	n, _ := strconv.ParseUint(msg.Metadata.Get(MetaDeliveries), 10, 64)
	return n
}

func isLocal(key string) bool { return strings.HasPrefix(key, metaPrefix) }
