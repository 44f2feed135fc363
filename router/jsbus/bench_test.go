package jsbus

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkPublishConsumeAck: b.N messages (16-byte payload, one metadata
// entry) published to a file-storage Limits stream on the embedded server
// (in-process connection) while one subscription with InFlight slots
// consumes and acks them; the clock stops when the last one is received.
// publish=sync: 8 goroutines, PublishContext one message each call;
// publish=async: 1 goroutine, PublishAsync in batches of 256.
func BenchmarkPublishConsumeAck(b *testing.B) {
	for _, async := range []bool{false, true} {
		for _, inFlight := range []int{1, 64} {
			mode := "sync"
			if async {
				mode = "async"
			}
			b.Run(fmt.Sprintf("publish=%s/inflight=%d", mode, inFlight), func(b *testing.B) {
				benchPubSub(b, async, inFlight)
			})
		}
	}
}

func benchPubSub(b *testing.B, async bool, inFlight int) {
	js := embedded(b)
	stream(b, js, "B", jetstream.LimitsPolicy, "b.>")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pub := &Publisher{JetStream: js}
	sub := newSubscriber(b, SubscriberConfig{JetStream: js, Stream: "B", Durable: "bench", InFlight: inFlight})
	defer sub.Close()
	ch, err := sub.Subscribe(ctx, "b.x")
	if err != nil {
		b.Fatal(err)
	}
	msgs := make([]*message.Message, b.N)
	for i := range msgs {
		msgs[i] = message.NewMessage(fmt.Sprintf("bench-%d", i), []byte("0123456789abcdef"))
		msgs[i].Metadata.Set("account", "acme")
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	if async {
		wg.Go(func() {
			for i := 0; i < len(msgs); i += 256 {
				if _, err := pub.PublishAsync(ctx, "b.x", msgs[i:min(i+256, len(msgs))]...); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		const publishers = 8
		for w := range publishers {
			wg.Go(func() {
				for i := w; i < len(msgs); i += publishers {
					if err := pub.PublishContext(ctx, "b.x", msgs[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
	}
	seen := make(map[string]bool, b.N)
	for len(seen) < b.N {
		select {
		case m := <-ch:
			seen[m.UUID] = true
			m.Ack()
		case <-ctx.Done():
			b.Fatalf("received %d of %d", len(seen), b.N)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	wg.Wait()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}
