package qq_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/qq"
	"github.com/groupcast/groupcast/adapters/qq/qqfake"
)

// rawWS is a forward WebSocket server whose behaviour a test chooses:
// serve runs on each accepted connection until it returns (then the
// connection is closed).
type rawWS struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   int // connections accepted
}

func newRawWS(t *testing.T, serve func(c *websocket.Conn)) *rawWS {
	t.Helper()
	w := &rawWS{}
	up := websocket.Upgrader{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(rw, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		w.mu.Lock()
		w.n++
		w.mu.Unlock()
		serve(c)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *rawWS) url() string { return "ws" + strings.TrimPrefix(w.srv.URL, "http") }

func (w *rawWS) accepted() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// listen runs o.Listen until the test ends, with an instant reconnect
// timer that records its waits.
func listen(t *testing.T, o *qq.OneBot) func() []time.Duration {
	t.Helper()
	var mu sync.Mutex
	var waits []time.Duration
	qq.SetOneBotAfter(o, func(d time.Duration) <-chan time.Time {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		c := make(chan time.Time, 1)
		c <- time.Now()
		return c
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Listen(ctx, newSink()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Listen: %v", err)
		}
	})
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(waits)
	}
}

// TestListenSilentConnectionReconnects: a connection that stays open but
// says nothing and answers no ping (a half-open TCP connection) is given
// up after the keep-alive and made again, instead of blocking the read
// for ever.
func TestListenSilentConnectionReconnects(t *testing.T) {
	ws := newRawWS(t, func(c *websocket.Conn) {
		c.SetPingHandler(func(string) error { return nil }) // no pong
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	o, err := qq.NewOneBot(qq.OneBotConfig{BaseURL: "http://127.0.0.1:1", WSURL: ws.url()}, adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	qq.SetOneBotKeepAlive(o, 20*time.Millisecond)
	listen(t, o)
	waitUntil(t, "a new connection after the silent one", func() bool { return ws.accepted() >= 2 })
}

// TestListenPongKeepsConnection: an implementation that sends nothing but
// answers the pings keeps its one connection.
func TestListenPongKeepsConnection(t *testing.T) {
	fake := qqfake.NewOneBot("")
	t.Cleanup(fake.Close)
	ws := fake.StartForwardWS()
	t.Cleanup(ws.Close)
	o, err := qq.NewOneBot(qq.OneBotConfig{BaseURL: fake.URL(), WSURL: ws.URL()}, adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	qq.SetOneBotKeepAlive(o, 20*time.Millisecond)
	listen(t, o)
	waitUntil(t, "the connection", func() bool { return ws.Connected() == 1 })
	// Twenty-five keep-alive rounds (the connection would fail after two
	// without the pongs).
	time.Sleep(500 * time.Millisecond)
	if n := ws.Accepted(); n != 1 {
		t.Errorf("%d connections, want the one kept alive by its pongs", n)
	}
}

// TestListenBackoffNotResetByMetaFrames: connections that deliver only
// heartbeat and lifecycle frames, then drop, keep backing off (the waits
// double): only a real event starts the backoff over.
func TestListenBackoffNotResetByMetaFrames(t *testing.T) {
	ws := newRawWS(t, func(c *websocket.Conn) {
		for _, f := range []string{
			`{"time":1764115200,"self_id":10001,"post_type":"meta_event","meta_event_type":"lifecycle","sub_type":"connect"}`,
			`{"time":1764115200,"self_id":10001,"post_type":"meta_event","meta_event_type":"heartbeat","interval":30000,"status":{"online":true,"good":true}}`,
		} {
			if err := c.WriteMessage(websocket.TextMessage, []byte(f)); err != nil {
				return
			}
		}
	})
	o, err := qq.NewOneBot(qq.OneBotConfig{BaseURL: "http://127.0.0.1:1", WSURL: ws.url()}, adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	waits := listen(t, o)
	waitUntil(t, "three reconnects", func() bool { return len(waits()) >= 3 })
	// Jittered by ±20 %: about 1 s, 2 s, 4 s; a reset would keep all of
	// them at about 1 s (at most 1.2 s).
	if w := waits(); w[1] <= qq.BackoffMin*13/10 || w[2] <= 2*qq.BackoffMin {
		t.Fatalf("reconnect waits %v: the backoff started over after frames that were no events", w)
	}
}
