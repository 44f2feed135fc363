package jsbus

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// testServer is an in-process NATS server with JetStream file storage in a
// temporary directory (no port) that can be restarted on the same
// directory; clients reconnect to the new instance.
type testServer struct {
	dir      string
	mu       sync.Mutex
	srv      *server.Server
	restarts int
}

func startServer(dir string) (*server.Server, error) {
	srv, err := server.NewServer(&server.Options{
		ServerName: "jsbus-test", JetStream: true, StoreDir: dir,
		JetStreamMaxMemory: 64 << 20, JetStreamMaxStore: 1 << 30,
		NoSigs: true, NoLog: true, DontListen: true,
	})
	if err != nil {
		return nil, err
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("embedded server did not start")
	}
	return srv, nil
}

// InProcessConn makes nats.InProcessServer(ts) reach whichever instance is
// running.
func (ts *testServer) InProcessConn() (net.Conn, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.srv == nil {
		return nil, errors.New("server restarting")
	}
	return ts.srv.InProcessConn()
}

// restart shuts the server down and starts it again on the same directory.
func (ts *testServer) restart() error {
	ts.mu.Lock()
	old := ts.srv
	ts.srv = nil
	ts.mu.Unlock()
	old.Shutdown()
	old.WaitForShutdown()
	srv, err := startServer(ts.dir)
	if err != nil {
		return err
	}
	ts.mu.Lock()
	ts.srv = srv
	ts.restarts++
	ts.mu.Unlock()
	return nil
}

// embeddedServer starts a testServer and returns it with a JetStream on a
// connection that reconnects forever. Both end with the test.
func embeddedServer(tb testing.TB) (*testServer, jetstream.JetStream) {
	tb.Helper()
	ts := &testServer{dir: tb.TempDir()}
	srv, err := startServer(ts.dir)
	if err != nil {
		tb.Fatal(err)
	}
	ts.srv = srv
	nc, err := nats.Connect("", nats.InProcessServer(ts), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		srv.Shutdown()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		nc.Close()
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if ts.srv != nil {
			ts.srv.Shutdown()
			ts.srv.WaitForShutdown()
		}
	})
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	return ts, js
}

// embedded is embeddedServer for tests that never restart it.
func embedded(tb testing.TB) jetstream.JetStream {
	tb.Helper()
	_, js := embeddedServer(tb)
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
