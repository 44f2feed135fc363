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

// Listen connects to the implementation's forward WebSocket (ws_url) and
// hands each group message and member notice to sink, until ctx ends. A
// dropped or refused connection is tried again with jittered backoff
// (BackoffMin doubling to BackoffMax, reset after a connection that
// delivered). Without ws_url it returns at once: the account's events come
// by HTTP POST, if at all. The router calls it while this replica owns the
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
			bo.Reset()
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

// listenOnce holds one connection until it fails; it answers how many
// frames it read.
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
	n := 0
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return n, fmt.Errorf("qq onebot: ws_url: %w", err)
		}
		n++
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
		if err := sink.Inbound(ctx, ev); err != nil {
			o.log.Warn("inbound event not taken", "group", ev.Group, "event", ev.ID, "error", err)
		}
	}
}
