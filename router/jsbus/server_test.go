package jsbus

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// embedded starts an in-process NATS server with JetStream file storage in
// a temporary directory (no port), and returns a JetStream on it. Both end
// with the test.
func embedded(tb testing.TB) jetstream.JetStream {
	tb.Helper()
	srv, err := server.NewServer(&server.Options{
		ServerName: "jsbus-test", JetStream: true, StoreDir: tb.TempDir(),
		JetStreamMaxMemory: 64 << 20, JetStreamMaxStore: 1 << 30,
		NoSigs: true, NoLog: true, DontListen: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		tb.Fatal("embedded server did not start")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		srv.Shutdown()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		nc.Close()
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

// stream creates a file-storage stream.
func stream(tb testing.TB, js jetstream.JetStream, name string, retention jetstream.RetentionPolicy, subjects ...string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: subjects, Retention: retention,
		Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute,
	}); err != nil {
		tb.Fatal(err)
	}
}

func newSubscriber(tb testing.TB, cfg SubscriberConfig) *Subscriber {
	tb.Helper()
	s, err := NewSubscriber(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
