package dingtalkfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BotTopic is the topic of robot @-messages (docs/platforms.md).
const BotTopic = "/v1.0/im/bot/messages/get"

// Gateway is a fake of DingTalk's Stream-mode gateway and of the
// per-message sessionWebhook a bot replies through (docs/platforms.md):
//
//   - POST /v1.0/gateway/connections/open checks the client id and secret
//     and that the subscriptions include the robot topic, and answers
//     {"endpoint":"ws://…/connect","ticket":"…"};
//   - GET /connect?ticket=… accepts each ticket once and upgrades to a
//     WebSocket over which Deliver sends CALLBACK frames and reads the acks;
//   - POST /session/{id} is a sessionWebhook: it records text and
//     markdown replies, checking their required fields, and answers
//     300001 once the session has expired.
type Gateway struct {
	// URL is the gateway host (the source's base_url).
	URL string

	srv      *httptest.Server
	upgrader websocket.Upgrader

	mu         sync.Mutex
	now        func() time.Time
	clients    map[string]string          // client id -> secret
	tickets    map[string]map[string]bool // issued, not yet used: ticket -> subscribed "TYPE topic"
	opens      int
	openStatus int
	conns      []*gatewayConn
	drops      int // Drop calls: a connection upgraded across one is dropped too
	acks       map[string]chan Ack
	sessions   map[string]time.Time
	replies    []Reply
	seq        int
	changed    chan struct{}

	upgraded func() // tests: called between the upgrade and listing the connection
}

// BotMessage is the data of a robot @-message callback (the fields the
// platform sends; see the SDK's chatbot model).
type BotMessage struct {
	ConversationID            string   `json:"conversationId"`
	ConversationType          string   `json:"conversationType"` // "1" one-to-one, "2" group
	ConversationTitle         string   `json:"conversationTitle,omitempty"`
	MsgID                     string   `json:"msgId"`
	Msgtype                   string   `json:"msgtype"`
	Text                      Text     `json:"text"`
	SenderID                  string   `json:"senderId,omitempty"`
	SenderNick                string   `json:"senderNick,omitempty"`
	SenderStaffID             string   `json:"senderStaffId,omitempty"`
	SenderCorpID              string   `json:"senderCorpId,omitempty"`
	IsAdmin                   bool     `json:"isAdmin,omitempty"`
	IsInAtList                bool     `json:"isInAtList"`
	AtUsers                   []AtUser `json:"atUsers,omitempty"`
	ChatbotUserID             string   `json:"chatbotUserId,omitempty"`
	RobotCode                 string   `json:"robotCode,omitempty"`
	SessionWebhook            string   `json:"sessionWebhook"`
	SessionWebhookExpiredTime int64    `json:"sessionWebhookExpiredTime"`
	CreateAt                  int64    `json:"createAt"`
}

// AtUser is one user an @-message mentions.
type AtUser struct {
	DingtalkID string `json:"dingtalkId"`
	StaffID    string `json:"staffId,omitempty"`
}

// Text is the text of a message.
type Text struct {
	Content string `json:"content"`
}

// Ack is the client's answer to a frame.
type Ack struct {
	Code    int               `json:"code"`
	Headers map[string]string `json:"headers"`
	Message string            `json:"message"`
	Data    string            `json:"data"`
}

// Reply is one message a bot posted to a sessionWebhook.
type Reply struct {
	Time      time.Time
	Session   string
	MsgType   string
	Title     string
	Text      string // text.content or markdown.text
	AtUserIDs []string
	Body      []byte
}

type gatewayConn struct {
	ws      *websocket.Conn
	topics  map[string]bool
	writeMu sync.Mutex
	silent  bool // under Gateway.mu: Silence was called; nothing is answered
}

// NewGateway starts a fake on 127.0.0.1, closed when tb ends (tb may be nil).
func NewGateway(tb testing.TB) *Gateway {
	g := &Gateway{
		now:      time.Now,
		clients:  map[string]string{},
		tickets:  map[string]map[string]bool{},
		acks:     map[string]chan Ack{},
		sessions: map[string]time.Time{},
		changed:  make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1.0/gateway/connections/open", g.open)
	mux.HandleFunc("GET /connect", g.connect)
	mux.HandleFunc("POST /session/{id}", g.session)
	g.srv = httptest.NewServer(mux)
	g.URL = g.srv.URL
	if tb != nil {
		tb.Cleanup(g.Close)
	}
	return g
}

// Close drops every connection and stops the server.
func (g *Gateway) Close() {
	g.Drop()
	g.srv.CloseClientConnections()
	g.srv.Close()
}

// SetNow sets the clock that session expiry uses.
func (g *Gateway) SetNow(now func() time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.now = now
}

// AddClient registers an app's client id and secret.
func (g *Gateway) AddClient(id, secret string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.clients[id] = secret
}

// SetOpenStatus answers connection opens with this HTTP status (an outage);
// 0 restores normal answers.
func (g *Gateway) SetOpenStatus(status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.openStatus = status
}

// Opens counts successful connection opens (endpoint requests).
func (g *Gateway) Opens() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.opens
}

// Connections counts live WebSocket connections.
func (g *Gateway) Connections() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// Drop closes every live connection, as a network failure would. A
// connection whose upgrade was under way is closed too, once the upgrade
// ends: the client may already hold it (it returns from its dial as soon as
// the 101 answer arrives, before the fake has listed the connection), and a
// Drop that missed it would leave it alive for good.
func (g *Gateway) Drop() {
	g.mu.Lock()
	conns := g.conns
	g.conns = nil
	g.drops++
	g.notifyLocked()
	g.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
	}
}

// Silence makes every live connection half-open, as when a NAT forgets it
// or the gateway host vanishes: it stays open, but nothing the client sends
// is answered (no pong to its WebSocket pings, acks ignored). Only the
// client's keepalive can notice; when it closes the connection, the fake
// lets it go.
func (g *Gateway) Silence() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.conns {
		c.silent = true
	}
}

func (g *Gateway) silent(c *gatewayConn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return c.silent
}

// SessionWebhook registers a session that expires after d and returns its
// URL.
func (g *Gateway) SessionWebhook(d time.Duration) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seq++
	id := "s" + strconv.Itoa(g.seq)
	g.sessions[id] = g.now().Add(d)
	return g.URL + "/session/" + id
}

// Replies returns the replies posted to a session ("" for every session).
// session may be the sessionWebhook URL or its id.
func (g *Gateway) Replies(session string) []Reply {
	session = session[strings.LastIndex(session, "/")+1:]
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Reply
	for _, r := range g.replies {
		if session == "" || r.Session == session {
			out = append(out, r)
		}
	}
	return out
}

// WaitReplies waits until a session has at least n replies.
func (g *Gateway) WaitReplies(ctx context.Context, session string, n int) ([]Reply, error) {
	for {
		ch := g.changedChan()
		if r := g.Replies(session); len(r) >= n {
			return r, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return g.Replies(session), fmt.Errorf("waiting for %d replies: %w", n, ctx.Err())
		}
	}
}

// WaitConnected waits until at least opens connection opens happened and a
// connection is live (listed and not silenced).
func (g *Gateway) WaitConnected(ctx context.Context, opens int) error {
	for {
		ch := g.changedChan()
		g.mu.Lock()
		ok := false
		for _, c := range g.conns {
			ok = ok || !c.silent
		}
		ok = ok && g.opens >= opens
		g.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for connection %d: %w", opens, ctx.Err())
		}
	}
}

func (g *Gateway) changedChan() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changed
}

func (g *Gateway) notifyLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// Deliver sends a robot @-message to the newest live connection subscribed
// to the robot topic and waits for its ack. Empty fields get defaults: a
// msgId, a group conversation, a 90-minute sessionWebhook of this fake,
// msgtype text.
func (g *Gateway) Deliver(ctx context.Context, m BotMessage) (Ack, error) {
	if m.MsgID == "" {
		g.mu.Lock()
		g.seq++
		m.MsgID = "msg" + strconv.Itoa(g.seq)
		g.mu.Unlock()
	}
	if m.SessionWebhook == "" {
		m.SessionWebhook = g.SessionWebhook(90 * time.Minute)
	}
	g.mu.Lock()
	if m.ConversationType == "" {
		m.ConversationType = "2"
	}
	if m.Msgtype == "" {
		m.Msgtype = "text"
	}
	if m.SessionWebhookExpiredTime == 0 {
		m.SessionWebhookExpiredTime = g.now().Add(90 * time.Minute).UnixMilli()
	}
	if m.CreateAt == 0 {
		m.CreateAt = g.now().UnixMilli()
	}
	m.IsInAtList = true
	g.mu.Unlock()
	data, err := json.Marshal(m)
	if err != nil {
		return Ack{}, err
	}
	return g.Send(ctx, "CALLBACK", BotTopic, string(data))
}

// Send sends a frame of the given type and topic with data to the newest
// live (not silenced) connection subscribed to it, and waits for the ack.
func (g *Gateway) Send(ctx context.Context, typ, topic, data string) (Ack, error) {
	g.mu.Lock()
	var c *gatewayConn
	for i := len(g.conns) - 1; i >= 0; i-- {
		if !g.conns[i].silent && (typ == "SYSTEM" || g.conns[i].topics[typ+" "+topic]) {
			c = g.conns[i]
			break
		}
	}
	if c == nil {
		g.mu.Unlock()
		return Ack{}, fmt.Errorf("no live connection subscribed to %s %s", typ, topic)
	}
	g.seq++
	id := "frame-" + strconv.Itoa(g.seq)
	ch := make(chan Ack, 1)
	g.acks[id] = ch
	now := g.now().UnixMilli()
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.acks, id)
		g.mu.Unlock()
	}()

	frame := map[string]any{
		"specVersion": "1.0",
		"type":        typ,
		"time":        now,
		"headers": map[string]string{
			"topic": topic, "messageId": id, "contentType": "application/json",
			"time": strconv.FormatInt(now, 10),
		},
		"data": data,
	}
	c.writeMu.Lock()
	err := c.ws.WriteJSON(frame)
	c.writeMu.Unlock()
	if err != nil {
		return Ack{}, fmt.Errorf("write frame: %w", err)
	}
	select {
	case a := <-ch:
		return a, nil
	case <-ctx.Done():
		return Ack{}, fmt.Errorf("waiting for the ack of %s: %w", id, ctx.Err())
	}
}

func (g *Gateway) open(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ClientID      string `json:"clientId"`
		ClientSecret  string `json:"clientSecret"`
		Subscriptions []struct {
			Type  string `json:"type"`
			Topic string `json:"topic"`
		} `json:"subscriptions"`
		UA string `json:"ua"`
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.openStatus != 0 {
		http.Error(w, "gateway unavailable", g.openStatus)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &req); err != nil {
		v1Error(w, http.StatusBadRequest, "InvalidBody", "body is not JSON")
		return
	}
	if secret, ok := g.clients[req.ClientID]; !ok || secret != req.ClientSecret {
		v1Error(w, http.StatusUnauthorized, "InvalidAuthentication", "clientId or clientSecret is wrong")
		return
	}
	topics := map[string]bool{}
	for _, s := range req.Subscriptions {
		topics[s.Type+" "+s.Topic] = true
	}
	if !topics["CALLBACK "+BotTopic] {
		v1Error(w, http.StatusBadRequest, "invalidParameter.subscriptions", "no robot subscription")
		return
	}
	g.opens++
	g.seq++
	ticket := "ticket-" + strconv.Itoa(g.seq)
	g.tickets[ticket] = topics
	endpoint := "ws" + strings.TrimPrefix(g.URL, "http") + "/connect"
	g.notifyLocked()
	writeJSON(w, http.StatusOK, map[string]string{"endpoint": endpoint, "ticket": ticket})
}

func (g *Gateway) connect(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	g.mu.Lock()
	topics, ok := g.tickets[ticket]
	if !ok {
		g.mu.Unlock()
		http.Error(w, "invalid ticket", http.StatusUnauthorized)
		return
	}
	delete(g.tickets, ticket)
	drops := g.drops
	g.mu.Unlock()

	ws, err := g.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gatewayConn{ws: ws, topics: topics}
	ws.SetPingHandler(func(data string) error {
		if g.silent(c) {
			return nil
		}
		// As gorilla's default handler: a pong; a failed write is not a
		// read error.
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		var ne net.Error
		if errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) {
			return nil
		}
		return err
	})
	if g.upgraded != nil {
		g.upgraded()
	}
	g.mu.Lock()
	if g.drops != drops {
		// Dropped while upgrading: the client has it, the network does not.
		g.notifyLocked()
		g.mu.Unlock()
		_ = ws.Close()
		return
	}
	g.conns = append(g.conns, c)
	g.notifyLocked()
	g.mu.Unlock()
	go g.read(c)
}

// read reads acks until the connection ends; gorilla answers the client's
// pings while it reads.
func (g *Gateway) read(c *gatewayConn) {
	defer func() {
		_ = c.ws.Close()
		g.mu.Lock()
		for i, k := range g.conns {
			if k == c {
				g.conns = append(g.conns[:i], g.conns[i+1:]...)
				break
			}
		}
		g.notifyLocked()
		g.mu.Unlock()
	}()
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var a Ack
		if g.silent(c) || json.Unmarshal(msg, &a) != nil {
			continue
		}
		g.mu.Lock()
		ch := g.acks[a.Headers["messageId"]]
		g.mu.Unlock()
		if ch != nil {
			select {
			case ch <- a:
			default:
			}
		}
	}
}

func (g *Gateway) session(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	g.mu.Lock()
	defer g.mu.Unlock()
	answer := func(code int, msg string) {
		writeJSON(w, http.StatusOK, map[string]any{"errcode": code, "errmsg": msg})
	}
	exp, ok := g.sessions[id]
	if !ok || !g.now().Before(exp) {
		answer(300001, "session 不存在")
		return
	}
	var m struct {
		MsgType string `json:"msgtype"`
		Text    *struct {
			Content string `json:"content"`
		} `json:"text"`
		Markdown *struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"markdown"`
		At *struct {
			AtUserIDs []string `json:"atUserIds"`
		} `json:"at"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		answer(400402, "缺少参数 json")
		return
	}
	rep := Reply{Time: g.now(), Session: id, MsgType: m.MsgType, Body: body}
	switch {
	case m.MsgType == "text" && m.Text != nil && m.Text.Content != "":
		rep.Text = m.Text.Content
	case m.MsgType == "markdown" && m.Markdown != nil && m.Markdown.Title != "" && m.Markdown.Text != "":
		rep.Title, rep.Text = m.Markdown.Title, m.Markdown.Text
	default:
		answer(400402, "缺少参数 "+m.MsgType)
		return
	}
	if m.At != nil {
		rep.AtUserIDs = m.At.AtUserIDs
	}
	g.replies = append(g.replies, rep)
	g.notifyLocked()
	answer(0, "ok")
}
