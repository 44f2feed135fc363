package qq

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/internal/backoff"
)

// ListenKeepAlive is how often the forward WebSocket is pinged. A
// connection that delivers nothing, not even a pong, for twice as long is
// taken as dead (a half-open TCP connection never reports an error) and
// made again.
const ListenKeepAlive = 30 * time.Second

// Listen connects to the implementation's forward WebSocket (ws_url) and
// hands each group message and member notice to sink, until ctx ends. A
// dropped, silent or refused connection is tried again with jittered
// backoff (BackoffMin doubling to BackoffMax, reset after a connection
// that delivered an event: heartbeats and lifecycle frames do not count).
// Without ws_url it returns at once: the account's events come by HTTP
// POST, if at all. The router calls it while this replica owns the
// account.
func (o *OneBot) Listen(ctx context.Context, sink groupcast.InboundSink) error {
	if o.wsURL == "" {
		return nil
	}
	bo := backoff.Backoff{Min: BackoffMin, Max: BackoffMax}
	for ctx.Err() == nil {
		got, err := o.listenOnce(ctx, sink)
		if ctx.Err() != nil {
			return nil
		}
		if got > 0 {
			bo.Reset() // a connection that worked: start over
		}
		wait := bo.Next()
		o.log.Warn("OneBot forward WebSocket closed; connecting again", "error", err, "events", got, "wait", wait.String())
		select {
		case <-ctx.Done():
			return nil
		case <-o.after(wait):
		}
	}
	return nil
}

// listenOnce holds one connection until it fails or goes silent; it
// answers how many events it read.
func (o *OneBot) listenOnce(ctx context.Context, sink groupcast.InboundSink) (int, error) {
	h := http.Header{}
	if tok := o.token.Reveal(); tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	if o.client != nil && o.client.Transport != nil {
		if t, ok := o.client.Transport.(*http.Transport); ok {
			d.NetDialContext = t.DialContext
			d.TLSClientConfig = t.TLSClientConfig
		}
	}
	conn, resp, err := d.DialContext(ctx, o.wsURL, h)
	if err != nil {
		if resp != nil {
			_ = resp.Body.Close()
			return 0, fmt.Errorf("qq onebot: ws_url: HTTP %d", resp.StatusCode)
		}
		return 0, fmt.Errorf("qq onebot: ws_url: %w", StripURL(err))
	}
	defer conn.Close()
	o.log.Info("OneBot forward WebSocket connected")
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	conn.SetReadLimit(MaxEventBytes)

	// Keep-alive: a ping every keepAlive; any frame or pong moves the read
	// deadline on, so a connection that says nothing at all for two
	// rounds fails its read instead of blocking it for ever.
	keepAlive := o.keepAlive
	if keepAlive <= 0 {
		keepAlive = ListenKeepAlive
	}
	alive := func() error { return conn.SetReadDeadline(time.Now().Add(2 * keepAlive)) }
	_ = alive()
	conn.SetPongHandler(func(string) error { return alive() })
	pinged := make(chan struct{})
	defer func() { <-pinged }()
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(pinged)
		t := time.NewTicker(keepAlive)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				// A failed ping is the read's to report (the deadline).
				_ = conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(keepAlive))
			}
		}
	}()

	n := 0
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return n, fmt.Errorf("qq onebot: ws_url: %w", err)
		}
		_ = alive()
		if typ != websocket.TextMessage {
			continue
		}
		ev, err := DecodeEvent(o.account, data)
		if errors.Is(err, ErrNotEvent) {
			continue // heartbeats, lifecycle, API answers
		}
		if err != nil {
			o.log.Warn("OneBot event not understood; skipped", "error", err)
			continue
		}
		n++
		if err := sink.Inbound(ctx, ev); err != nil {
			o.log.Warn("inbound event not taken", "group", ev.Group, "event", ev.ID, "error", err)
		}
	}
}
