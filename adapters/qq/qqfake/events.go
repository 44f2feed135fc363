package qqfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The inbound side of the fake: events reported the way OneBot v11
// implementations do (onebot-11 communication/http-post.md, ws.md):
// posted as JSON to a URL with X-Self-ID and, with a secret,
// "X-Signature: sha1=<hex HMAC-SHA1 of the body>"; or pushed as text
// frames to clients of the forward WebSocket, which authenticate with
// the access token (Authorization: Bearer, or ?access_token=).

// GroupMessage is a group message event from user in group, its message
// as segments (Text and At build them).
func (f *OneBot) GroupMessage(id int32, group, user int64, nickname string, segs ...Segment) map[string]any {
	f.mu.Lock()
	self := f.SelfID
	f.mu.Unlock()
	msg := make([]map[string]any, len(segs))
	raw := ""
	for i, s := range segs {
		msg[i] = map[string]any{"type": s.Type, "data": s.Data}
		switch s.Type {
		case "text":
			raw += cqEscape(s.Data["text"])
		default:
			raw += "[CQ:" + s.Type
			for k, v := range s.Data {
				raw += "," + k + "=" + cqEscape(v)
			}
			raw += "]"
		}
	}
	return map[string]any{
		"time": time.Now().Unix(), "self_id": self, "post_type": "message", "message_type": "group",
		"sub_type": "normal", "message_id": id, "group_id": group, "user_id": user, "anonymous": nil,
		"message": msg, "raw_message": raw, "font": 0,
		"sender": map[string]any{"user_id": user, "nickname": nickname, "card": "", "role": "member"},
	}
}

// TextSeg and AtSeg are message segments of an event.
func TextSeg(s string) Segment { return Segment{Type: "text", Data: map[string]string{"text": s}} }
func AtSeg(qq string) Segment  { return Segment{Type: "at", Data: map[string]string{"qq": qq}} }

// MemberNotice is a group_increase (join) or group_decrease (leave) notice
// at t.
func (f *OneBot) MemberNotice(join bool, group, user int64, t time.Time) map[string]any {
	f.mu.Lock()
	self := f.SelfID
	f.mu.Unlock()
	typ, sub := "group_decrease", "leave"
	if join {
		typ, sub = "group_increase", "approve"
	}
	return map[string]any{"time": t.Unix(), "self_id": self, "post_type": "notice", "notice_type": typ,
		"sub_type": sub, "group_id": group, "user_id": user, "operator_id": 0}
}

func cqEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "[", "&#91;", "]", "&#93;", ",", "&#44;").Replace(s)
}

// Post reports one event to url as an implementation's HTTP POST
// reporter does, signed with secret when it is not empty, and answers the
// HTTP status.
func (f *OneBot) Post(ctx context.Context, url, secret string, event any) (int, error) {
	body, err := json.Marshal(event)
	if err != nil {
		return 0, err
	}
	sig := ""
	if secret != "" {
		m := hmac.New(sha1.New, []byte(secret))
		m.Write(body)
		sig = "sha1=" + hex.EncodeToString(m.Sum(nil))
	}
	return f.PostRaw(ctx, url, sig, body)
}

// PostRaw posts body with the given X-Signature ("" for none).
func (f *OneBot) PostRaw(ctx context.Context, url, signature string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	f.mu.Lock()
	req.Header.Set("X-Self-ID", strconv.FormatInt(f.SelfID, 10))
	f.mu.Unlock()
	if signature != "" {
		req.Header.Set("X-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// ForwardWS is the fake's forward WebSocket server.
type ForwardWS struct {
	f   *OneBot
	srv *httptest.Server
	up  websocket.Upgrader

	mu       sync.Mutex
	conns    []*websocket.Conn
	accepted int
	refused  int
}

// StartForwardWS serves the forward WebSocket (any path) on its own port.
func (f *OneBot) StartForwardWS() *ForwardWS {
	w := &ForwardWS{f: f}
	w.srv = httptest.NewServer(http.HandlerFunc(w.serve))
	return w
}

// URL is the ws_url to configure.
func (w *ForwardWS) URL() string { return "ws" + strings.TrimPrefix(w.srv.URL, "http") }

// Close drops the clients and stops the server.
func (w *ForwardWS) Close() {
	w.Drop()
	w.srv.Close()
}

func (w *ForwardWS) serve(rw http.ResponseWriter, r *http.Request) {
	w.f.mu.Lock()
	token := w.f.Token
	self := w.f.SelfID
	w.f.mu.Unlock()
	if token != "" {
		got := r.URL.Query().Get("access_token")
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, tok, _ := strings.Cut(h, " ")
			if strings.EqualFold(scheme, "Bearer") {
				got = tok
			}
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.mu.Lock()
			w.refused++
			w.mu.Unlock()
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	c, err := w.up.Upgrade(rw, r, nil)
	if err != nil {
		return
	}
	life, _ := json.Marshal(map[string]any{"time": time.Now().Unix(), "self_id": self, "post_type": "meta_event",
		"meta_event_type": "lifecycle", "sub_type": "connect"})
	w.mu.Lock()
	w.conns = append(w.conns, c)
	w.accepted++
	err = c.WriteMessage(websocket.TextMessage, life)
	w.mu.Unlock()
	if err != nil {
		return
	}
	// Read (and drop) what the client sends until it goes.
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			w.mu.Lock()
			for i, x := range w.conns {
				if x == c {
					w.conns = append(w.conns[:i], w.conns[i+1:]...)
					break
				}
			}
			w.mu.Unlock()
			_ = c.Close()
			return
		}
	}
}

// Push sends an event to every connected client; it fails when none is.
func (w *ForwardWS) Push(event any) error {
	b, err := json.Marshal(event)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.conns) == 0 {
		return errors.New("qqfake: no forward WebSocket client connected")
	}
	for _, c := range w.conns {
		if err := c.WriteMessage(websocket.TextMessage, b); err != nil {
			return fmt.Errorf("qqfake: push: %w", err)
		}
	}
	return nil
}

// Drop closes every client connection (the implementation restarting).
func (w *ForwardWS) Drop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.conns {
		_ = c.Close()
	}
	w.conns = nil
}

// Connected is how many clients are connected now; Accepted how many
// connections were ever accepted; Refused how many had a bad token.
func (w *ForwardWS) Connected() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.conns)
}

func (w *ForwardWS) Accepted() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.accepted
}

func (w *ForwardWS) Refused() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.refused
}
