// Package qqfake has strict fakes of what the QQ drivers talk to: a OneBot
// v11 HTTP server (httptest) built from docs/platforms.md (QQ), and a MiraiGo
// protocol client that behaves like MiraiGo's SendGroupMessage and
// RecallGroupMessage, for the miraigo driver's interface.
package qqfake

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Answer is a scripted reply. HTTPStatus 0 means 200; with a 200 the body
// is {"status","retcode","msg","wording","data":null}.
type Answer struct {
	// Pass answers normally: Fail(Pass, Pass, AnswerOutage) fails the third.
	Pass       bool
	HTTPStatus int
	Status     string
	Retcode    int
	Msg        string
	Wording    string
}

// Answers the fake gives for scripted failures, in the wording of the
// implementations (docs/platforms.md; go-cqhttp's SEND_MSG_API_ERROR [C]).
var (
	AnswerRiskControl   = Answer{Status: "failed", Retcode: 100, Msg: "SEND_MSG_API_ERROR", Wording: "请参考 go-cqhttp 端输出"}
	AnswerGroupNotFound = Answer{Status: "failed", Retcode: 100, Msg: "GROUP_NOT_FOUND", Wording: "群聊不存在"}
	AnswerOutage        = Answer{HTTPStatus: http.StatusServiceUnavailable}
	Pass                = Answer{Pass: true}
)

// Segment is one recorded message segment, its data values as strings.
type Segment struct {
	Type string
	Data map[string]string
	// Content is a forward node's content.
	Content []Segment
}

// Text is the text of a segment list: text segments joined, at-all as
// "@全体成员", images as "[image]".
func Text(segs []Segment) string {
	var b strings.Builder
	for _, s := range segs {
		switch s.Type {
		case "text":
			b.WriteString(s.Data["text"])
		case "at":
			if s.Data["qq"] == "all" {
				b.WriteString("@全体成员")
			} else {
				b.WriteString("@" + s.Data["qq"])
			}
		case "image":
			b.WriteString("[image]")
		case "face":
			b.WriteString("[face]")
		}
	}
	return b.String()
}

// Message is one message the fake accepted.
type Message struct {
	ID      any // int32 or string, as answered
	GroupID int64
	Time    time.Time
	Action  string
	// Segments of a plain message; Nodes of a forward message.
	Segments []Segment
	Nodes    []Segment
	Deleted  bool
}

// Text is what the group sees: the segments' text, or a forward message's
// nodes' texts joined by blank lines.
func (m Message) Text() string {
	if m.Action == "send_group_forward_msg" {
		texts := make([]string, len(m.Nodes))
		for i, n := range m.Nodes {
			texts[i] = Text(n.Content)
		}
		return strings.Join(texts, "\n\n")
	}
	return Text(m.Segments)
}

// Request is one recorded HTTP request.
type Request struct {
	Time   time.Time
	Method string
	Action string
	// Auth is "ok", "missing" or "wrong".
	Auth   string
	Body   []byte
	Status int // HTTP status answered
	Answer []byte
}

// OneBot is a strict OneBot v11 HTTP server. Zero values are usable after
// NewOneBot; change settings before the first request or under Lock.
type OneBot struct {
	// Token is the access token; "" disables authentication.
	Token string
	// Groups the bot is in; a send elsewhere answers GROUP_NOT_FOUND. Empty
	// means every group.
	Groups []int64
	// StringIDs makes message_id a string (as some implementations do)
	// instead of an int32.
	StringIDs bool
	// NoForward answers 404 to send_group_forward_msg, like an
	// implementation without the go-cqhttp extension.
	NoForward bool
	// ForwardNames is which forward node name pair is required: "both"
	// (default: the driver must send user_id/nickname and uin/name),
	// "onebot" (user_id/nickname) or "gocq" (uin/name).
	ForwardNames string
	// MaxMessageEstimate is the per-message (and per-node) ceiling on
	// MiraiGo's estimate: text bytes, at display bytes, 100 per image.
	// Default 5000, as MiraiGo-based implementations enforce
	// (docs/platforms.md). A message over it fails with SEND_MSG_API_ERROR,
	// as go-cqhttp answers, and counts in Oversize.
	MaxMessageEstimate int
	// MaxImages per message, default 50.
	MaxImages int
	// MaxNodes per forward message, default 100 [U].
	MaxNodes int
	// MinGap is the smallest allowed gap between two message actions
	// (send_*, delete_msg); closer ones count in GapViolations.
	MinGap time.Duration
	// Now is the fake's clock (default time.Now).
	Now func() time.Time
	// SelfID and Nickname answer get_login_info.
	SelfID   int64
	Nickname string

	mu            sync.Mutex
	srv           *httptest.Server
	requests      []Request
	messages      []*Message
	nextID        int32
	scripted      []Answer
	scriptFor     map[string][]Answer
	outageFrom    time.Time
	outageUntil   time.Time
	lastSend      time.Time
	smallestGap   time.Duration
	gapViolations int
	oversize      int
	rejected      int
}

// NewOneBot starts a fake on 127.0.0.1 with the given token.
func NewOneBot(token string) *OneBot {
	f := &OneBot{Token: token, SelfID: 2854196310, Nickname: "groupcast-bot", nextID: 1000, smallestGap: -1}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the base_url to configure.
func (f *OneBot) URL() string { return f.srv.URL }

// Close stops the server.
func (f *OneBot) Close() { f.srv.Close() }

// Lock and Unlock guard settings changed while requests may be in flight.
func (f *OneBot) Lock()   { f.mu.Lock() }
func (f *OneBot) Unlock() { f.mu.Unlock() }

func (f *OneBot) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Fail makes the next len(answers) message actions (send_*, delete_msg)
// answer these, in order.
func (f *OneBot) Fail(answers ...Answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripted = append(f.scripted, answers...)
}

// FailAction makes the next calls of one action answer these, in order.
func (f *OneBot) FailAction(action string, answers ...Answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.scriptFor == nil {
		f.scriptFor = make(map[string][]Answer)
	}
	f.scriptFor[action] = append(f.scriptFor[action], answers...)
}

// Outage answers every request with HTTP 503 while the fake clock is in
// [from, until).
func (f *OneBot) Outage(from, until time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outageFrom, f.outageUntil = from, until
}

// Requests returns every request received, in order.
func (f *OneBot) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Messages returns every message accepted, in order.
func (f *OneBot) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Message, len(f.messages))
	for i, m := range f.messages {
		out[i] = *m
	}
	return out
}

// MessagesTo returns the messages accepted for one group, in order.
func (f *OneBot) MessagesTo(group int64) []Message {
	var out []Message
	for _, m := range f.Messages() {
		if m.GroupID == group {
			out = append(out, m)
		}
	}
	return out
}

// Count returns how many requests named action were received.
func (f *OneBot) Count(action string) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Action == action {
			n++
		}
	}
	return n
}

// SmallestGap is the smallest gap seen between two message actions, or -1
// before the second one.
func (f *OneBot) SmallestGap() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.smallestGap
}

// GapViolations counts message actions closer than MinGap to the previous.
func (f *OneBot) GapViolations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gapViolations
}

// Oversize counts messages refused for exceeding MaxMessageEstimate,
// MaxImages or MaxNodes.
func (f *OneBot) Oversize() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.oversize
}

// Rejected counts requests refused for their shape (HTTP 400/406 or a
// failed answer for a bad parameter).
func (f *OneBot) Rejected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rejected
}

var messageActions = map[string]bool{
	"send_group_msg": true, "send_msg": true, "send_group_forward_msg": true, "delete_msg": true,
}

var knownActions = map[string]bool{
	"send_group_msg": true, "send_msg": true, "send_group_forward_msg": true, "delete_msg": true,
	"get_login_info": true, "get_group_list": true, "can_send_image": true,
}

// answer is what a handler decided.
type answer struct {
	http    int
	status  string
	retcode int
	msg     string
	data    any
}

func okAnswer(data any) answer { return answer{http: 200, status: "ok", data: data} }

func failed(retcode int, msg string) answer {
	return answer{http: 200, status: "failed", retcode: retcode, msg: msg}
}

func (f *OneBot) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	action := strings.Trim(r.URL.Path, "/")
	rec := Request{Time: now, Method: r.Method, Action: action, Body: body, Auth: f.auth(r)}
	a := f.handle(r, &rec, action, body, now)
	var out []byte
	if a.http == 200 {
		env := map[string]any{"status": a.status, "retcode": a.retcode, "data": a.data}
		if a.msg != "" {
			env["msg"] = a.msg
			env["wording"] = a.msg
		}
		out, _ = json.Marshal(env)
		w.Header().Set("Content-Type", "application/json")
	} else {
		out = []byte(http.StatusText(a.http))
	}
	rec.Status = a.http
	rec.Answer = out
	f.requests = append(f.requests, rec)
	w.WriteHeader(a.http)
	_, _ = w.Write(out)
}

// auth checks the bearer token in the header or the access_token query
// parameter. [V] communication/authorization.md.
func (f *OneBot) auth(r *http.Request) string {
	if f.Token == "" {
		return "ok"
	}
	got := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, found := strings.Cut(h, " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			return "wrong"
		}
		got = tok
	} else if q := r.URL.Query().Get("access_token"); q != "" {
		got = q
	} else {
		return "missing"
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(f.Token)) != 1 {
		return "wrong"
	}
	return "ok"
}

func (f *OneBot) handle(r *http.Request, rec *Request, action string, body []byte, now time.Time) answer {
	switch rec.Auth {
	case "missing":
		return answer{http: http.StatusUnauthorized}
	case "wrong":
		return answer{http: http.StatusForbidden}
	}
	if !now.Before(f.outageFrom) && now.Before(f.outageUntil) {
		return answer{http: http.StatusServiceUnavailable}
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return answer{http: http.StatusMethodNotAllowed}
	}
	if !knownActions[action] || (action == "send_group_forward_msg" && f.NoForward) {
		return answer{http: http.StatusNotFound}
	}
	if r.Method == http.MethodPost && len(bytes.TrimSpace(body)) > 0 {
		ct := strings.ToLower(strings.TrimSpace(strings.SplitN(r.Header.Get("Content-Type"), ";", 2)[0]))
		if ct != "application/json" {
			f.rejected++
			return answer{http: http.StatusNotAcceptable}
		}
	}
	params := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&params); err != nil || dec.More() {
			f.rejected++
			return answer{http: http.StatusBadRequest}
		}
	}
	if messageActions[action] {
		if !f.lastSend.IsZero() {
			gap := now.Sub(f.lastSend)
			if f.smallestGap < 0 || gap < f.smallestGap {
				f.smallestGap = gap
			}
			if gap < f.MinGap {
				f.gapViolations++
			}
		}
		f.lastSend = now
		if q := f.scriptFor[action]; len(q) > 0 {
			f.scriptFor[action] = q[1:]
			if !q[0].Pass {
				return scriptedAnswer(q[0])
			}
		} else if len(f.scripted) > 0 {
			a := f.scripted[0]
			f.scripted = f.scripted[1:]
			if !a.Pass {
				return scriptedAnswer(a)
			}
		}
	}
	switch action {
	case "get_login_info":
		return okAnswer(map[string]any{"user_id": f.SelfID, "nickname": f.Nickname})
	case "can_send_image":
		return okAnswer(map[string]any{"yes": true})
	case "get_group_list":
		list := []map[string]any{}
		for _, g := range f.Groups {
			list = append(list, map[string]any{"group_id": g, "group_name": "group " + strconv.FormatInt(g, 10), "member_count": 10, "max_member_count": 500})
		}
		return okAnswer(list)
	case "send_group_msg", "send_msg":
		return f.sendMsg(action, params, now)
	case "send_group_forward_msg":
		return f.sendForward(params, now)
	case "delete_msg":
		return f.deleteMsg(params)
	}
	return answer{http: http.StatusNotFound}
}

func scriptedAnswer(a Answer) answer {
	if a.HTTPStatus != 0 && a.HTTPStatus != 200 {
		return answer{http: a.HTTPStatus}
	}
	msg := a.Msg
	if a.Wording != "" && a.Wording != a.Msg {
		msg = strings.TrimSpace(a.Msg + " " + a.Wording)
	}
	status := a.Status
	if status == "" {
		status = "failed"
	}
	return answer{http: 200, status: status, retcode: a.Retcode, msg: msg}
}

// badParam is a failed answer for a parameter of the wrong shape. The spec
// leaves the code open; 1400 is what the WebSocket transport uses for a
// bad request. [V] communication/ws.md.
func (f *OneBot) badParam(format string, args ...any) answer {
	f.rejected++
	return failed(1400, fmt.Sprintf(format, args...))
}

// groupID reads group_id: a JSON integer, positive. Strings are refused:
// the spec types it as a number [V] api/public.md.
func (f *OneBot) groupID(params map[string]json.RawMessage) (int64, *answer) {
	raw, ok := params["group_id"]
	if !ok {
		a := f.badParam("group_id is required")
		return 0, &a
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil || n <= 0 {
		a := f.badParam("group_id must be a positive integer, got %s", raw)
		return 0, &a
	}
	if len(f.Groups) > 0 {
		found := false
		for _, g := range f.Groups {
			found = found || g == n
		}
		if !found {
			a := failed(100, "GROUP_NOT_FOUND")
			return 0, &a
		}
	}
	return n, nil
}

func allowedKeys(params map[string]json.RawMessage, keys ...string) string {
	for k := range params {
		found := false
		for _, want := range keys {
			found = found || k == want
		}
		if !found {
			return k
		}
	}
	return ""
}

func (f *OneBot) sendMsg(action string, params map[string]json.RawMessage, now time.Time) answer {
	if k := allowedKeys(params, "message_type", "group_id", "user_id", "message", "auto_escape"); k != "" {
		return f.badParam("unknown parameter %q", k)
	}
	if action == "send_msg" {
		var mt string
		if raw, ok := params["message_type"]; ok && (json.Unmarshal(raw, &mt) != nil || mt != "group") {
			return f.badParam("this fake only has groups: message_type must be \"group\"")
		}
	} else if _, ok := params["message_type"]; ok {
		return f.badParam("unknown parameter %q", "message_type")
	}
	group, bad := f.groupID(params)
	if bad != nil {
		return *bad
	}
	autoEscape := false
	if raw, ok := params["auto_escape"]; ok {
		if err := json.Unmarshal(raw, &autoEscape); err != nil {
			return f.badParam("auto_escape must be a boolean")
		}
	}
	raw, ok := params["message"]
	if !ok {
		return f.badParam("message is required")
	}
	segs, err := parseMessage(raw, autoEscape, false)
	if err != nil {
		return f.badParam("message: %v", err)
	}
	if len(segs) == 0 {
		return failed(100, "EMPTY_MSG_ERROR")
	}
	if err := f.checkSize(segs); err != nil {
		f.oversize++
		return failed(100, "SEND_MSG_API_ERROR "+err.Error())
	}
	m := &Message{GroupID: group, Time: now, Action: "send_group_msg", Segments: segs}
	return okAnswer(map[string]any{"message_id": f.store(m)})
}

func (f *OneBot) sendForward(params map[string]json.RawMessage, now time.Time) answer {
	if k := allowedKeys(params, "group_id", "messages"); k != "" {
		return f.badParam("unknown parameter %q", k)
	}
	group, bad := f.groupID(params)
	if bad != nil {
		return *bad
	}
	raw, ok := params["messages"]
	if !ok {
		return f.badParam("messages is required")
	}
	var nodes []json.RawMessage
	if err := json.Unmarshal(raw, &nodes); err != nil || len(nodes) == 0 {
		return f.badParam("messages must be a non-empty array of node segments")
	}
	maxNodes := f.MaxNodes
	if maxNodes == 0 {
		maxNodes = 100
	}
	if len(nodes) > maxNodes {
		f.oversize++
		return failed(100, fmt.Sprintf("SEND_MSG_API_ERROR %d nodes, at most %d", len(nodes), maxNodes))
	}
	var parsed []Segment
	for i, n := range nodes {
		node, err := f.parseNode(n)
		if err != nil {
			return f.badParam("messages[%d]: %v", i, err)
		}
		if err := f.checkSize(node.Content); err != nil {
			f.oversize++
			return failed(100, fmt.Sprintf("SEND_MSG_API_ERROR messages[%d]: %v", i, err))
		}
		parsed = append(parsed, node)
	}
	m := &Message{GroupID: group, Time: now, Action: "send_group_forward_msg", Nodes: parsed}
	id := f.store(m)
	return okAnswer(map[string]any{"message_id": id, "forward_id": fmt.Sprintf("res_%v", id)})
}

// parseNode checks one custom node: type "node", the name pairs the fake
// requires, and a content of segments. Reference nodes ({"id"}) are accepted.
func (f *OneBot) parseNode(raw json.RawMessage) (Segment, error) {
	var n struct {
		Type string                     `json:"type"`
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return Segment{}, fmt.Errorf("not a segment object")
	}
	if n.Type != "node" {
		return Segment{}, fmt.Errorf("type %q, want \"node\"", n.Type)
	}
	str := func(k string) (string, bool) {
		v, ok := n.Data[k]
		if !ok {
			return "", false
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s, true
		}
		var num json.Number
		if json.Unmarshal(v, &num) == nil {
			return num.String(), true
		}
		return "", false
	}
	if id, ok := str("id"); ok && len(n.Data) == 1 {
		return Segment{Type: "node", Data: map[string]string{"id": id}}, nil
	}
	uid, hasUID := str("user_id")
	nick, hasNick := str("nickname")
	uin, hasUIN := str("uin")
	name, hasName := str("name")
	onebot := hasUID && hasNick && isUIN(uid) && nick != ""
	gocq := hasUIN && hasName && isUIN(uin) && name != ""
	switch f.ForwardNames {
	case "onebot":
		if !onebot {
			return Segment{}, fmt.Errorf("a custom node needs user_id (digits) and nickname")
		}
	case "gocq":
		if !gocq {
			return Segment{}, fmt.Errorf("a custom node needs uin (digits) and name")
		}
	default:
		if !onebot || !gocq {
			return Segment{}, fmt.Errorf("a custom node must carry both user_id/nickname and uin/name (implementations read one or the other)")
		}
	}
	content, ok := n.Data["content"]
	if !ok {
		return Segment{}, fmt.Errorf("content is required")
	}
	segs, err := parseMessage(content, false, true)
	if err != nil {
		return Segment{}, fmt.Errorf("content: %v", err)
	}
	if len(segs) == 0 {
		return Segment{}, fmt.Errorf("content is empty")
	}
	data := map[string]string{"user_id": uid, "nickname": nick, "uin": uin, "name": name}
	return Segment{Type: "node", Data: data, Content: segs}, nil
}

func isUIN(s string) bool {
	if s == "" || len(s) > 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// checkSize applies MiraiGo's estimate and image ceiling to one message.
func (f *OneBot) checkSize(segs []Segment) error {
	limit := f.MaxMessageEstimate
	if limit == 0 {
		limit = 5000
	}
	maxImages := f.MaxImages
	if maxImages == 0 {
		maxImages = 50
	}
	est, images := 0, 0
	for _, s := range segs {
		switch s.Type {
		case "text":
			est += len(s.Data["text"])
		case "at":
			if s.Data["qq"] == "all" {
				est += len("@全体成员")
			} else {
				est += 1 + len(s.Data["qq"])
			}
		case "image":
			est += 100
			images++
		default:
			est += 10
		}
	}
	if est > limit {
		return fmt.Errorf("message estimate %d bytes over %d", est, limit)
	}
	if images > maxImages {
		return fmt.Errorf("%d images, at most %d", images, maxImages)
	}
	return nil
}

func (f *OneBot) store(m *Message) any {
	f.nextID++
	var id any = f.nextID
	if f.StringIDs {
		// Like the implementations that answer base64url strings: never
		// all digits, so a client that parses them as numbers fails.
		var b [6]byte
		binary.BigEndian.PutUint32(b[2:], uint32(f.nextID))
		b[0], b[1] = 'q', 'q'
		id = "m" + base64.RawURLEncoding.EncodeToString(b[:])
	}
	m.ID = id
	f.messages = append(f.messages, m)
	return id
}

func (f *OneBot) deleteMsg(params map[string]json.RawMessage) answer {
	if k := allowedKeys(params, "message_id"); k != "" {
		return f.badParam("unknown parameter %q", k)
	}
	raw, ok := params["message_id"]
	if !ok {
		return f.badParam("message_id is required")
	}
	raw = bytes.TrimSpace(raw)
	var target *Message
	for _, m := range f.messages {
		switch id := m.ID.(type) {
		case int32:
			// The spec types message_id as int32: a number.
			if string(raw) == strconv.Itoa(int(id)) {
				target = m
			}
		case string:
			var s string
			if json.Unmarshal(raw, &s) == nil && s == id {
				target = m
			}
		}
	}
	if target == nil {
		if len(raw) > 0 && raw[0] == '"' && !f.StringIDs {
			return f.badParam("message_id must be a number")
		}
		return failed(100, "MSG_NOT_FOUND")
	}
	if target.Deleted {
		return failed(100, "MSG_ALREADY_RECALLED")
	}
	target.Deleted = true
	return okAnswer(nil)
}

// segment kinds the fake knows and the data keys each must have.
var segmentKeys = map[string][]string{
	"text":  {"text"},
	"image": {"file"},
	"at":    {"qq"},
	"face":  {"id"},
	"reply": {"id"},
}

// parseMessage reads a message parameter: a segment array, one segment, or
// a CQ-code string. Every data value must be a string. [V] message/array.md,
// message/string.md, message/segment.md.
func parseMessage(raw json.RawMessage, autoEscape, inNode bool) ([]Segment, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, fmt.Errorf("empty")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		if autoEscape {
			return []Segment{{Type: "text", Data: map[string]string{"text": s}}}, nil
		}
		return ParseCQ(s)
	case '{':
		raw = append(append([]byte("["), raw...), ']')
	case '[':
	default:
		return nil, fmt.Errorf("must be a string, a segment or an array of segments")
	}
	var items []struct {
		Type string                     `json:"type"`
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("not an array of {type, data} segments: %v", err)
	}
	out := make([]Segment, 0, len(items))
	for i, it := range items {
		keys, known := segmentKeys[it.Type]
		if !known {
			return nil, fmt.Errorf("[%d]: segment type %q not supported", i, it.Type)
		}
		data := map[string]string{}
		for k, v := range it.Data {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("[%d].data.%s: every data value is a string", i, k)
			}
			data[k] = s
		}
		seg := Segment{Type: it.Type, Data: data}
		for _, k := range keys {
			if _, ok := data[k]; !ok {
				return nil, fmt.Errorf("[%d]: %s segment needs data.%s", i, it.Type, k)
			}
		}
		if err := checkSegment(seg); err != nil {
			return nil, fmt.Errorf("[%d]: %v", i, err)
		}
		if inNode && seg.Type == "at" && seg.Data["qq"] == "all" {
			return nil, fmt.Errorf("[%d]: at all inside a forward node does nothing", i)
		}
		out = append(out, seg)
	}
	return out, nil
}

func checkSegment(s Segment) error {
	switch s.Type {
	case "text":
		if s.Data["text"] == "" {
			return fmt.Errorf("empty text segment")
		}
		if !utf8.ValidString(s.Data["text"]) {
			return fmt.Errorf("text is not UTF-8")
		}
	case "image":
		file := s.Data["file"]
		if !(strings.HasPrefix(file, "http://") || strings.HasPrefix(file, "https://") ||
			strings.HasPrefix(file, "file:///") || strings.HasPrefix(file, "base64://")) {
			return fmt.Errorf("image file %q is not an http(s)://, file:/// or base64:// reference", file)
		}
	case "at":
		if q := s.Data["qq"]; q != "all" && !isUIN(q) {
			return fmt.Errorf("at qq %q is neither \"all\" nor a number", q)
		}
	case "face", "reply":
		if _, err := strconv.ParseInt(s.Data["id"], 10, 64); err != nil {
			return fmt.Errorf("%s id %q is not a number", s.Type, s.Data["id"])
		}
	}
	return nil
}

// ParseCQ parses a CQ-code string message: text with &amp; &#91; &#93;
// escaped, and [CQ:type,key=value,…] codes whose values also escape ','
// as &#44;. A bare '[' or ']' in text, or a space inside a code, is an
// error. [V] onebot-11 message/string.md.
func ParseCQ(s string) ([]Segment, error) {
	var out []Segment
	for len(s) > 0 {
		i := strings.IndexAny(s, "[]")
		if i < 0 {
			t, err := unescapeCQ(s, false)
			if err != nil {
				return nil, err
			}
			out = append(out, Segment{Type: "text", Data: map[string]string{"text": t}})
			break
		}
		if i > 0 {
			t, err := unescapeCQ(s[:i], false)
			if err != nil {
				return nil, err
			}
			out = append(out, Segment{Type: "text", Data: map[string]string{"text": t}})
		}
		if s[i] == ']' || !strings.HasPrefix(s[i:], "[CQ:") {
			return nil, fmt.Errorf("unescaped %q in text at byte %d (write &#91; and &#93;)", s[i], i)
		}
		end := strings.IndexByte(s[i:], ']')
		if end < 0 {
			return nil, fmt.Errorf("CQ code at byte %d is not closed", i)
		}
		code := s[i+4 : i+end]
		if strings.ContainsAny(code, " [") {
			return nil, fmt.Errorf("CQ code %q has a space or '[' inside", code)
		}
		fields := strings.Split(code, ",")
		seg := Segment{Type: fields[0], Data: map[string]string{}}
		keys, known := segmentKeys[seg.Type]
		if !known {
			return nil, fmt.Errorf("CQ code type %q not supported", seg.Type)
		}
		for _, kv := range fields[1:] {
			k, v, found := strings.Cut(kv, "=")
			if !found || k == "" {
				return nil, fmt.Errorf("CQ code %q: %q is not key=value", code, kv)
			}
			uv, err := unescapeCQ(v, true)
			if err != nil {
				return nil, err
			}
			seg.Data[k] = uv
		}
		for _, k := range keys {
			if _, ok := seg.Data[k]; !ok {
				return nil, fmt.Errorf("CQ code %q needs %s", code, k)
			}
		}
		if seg.Type == "text" {
			return nil, fmt.Errorf("text is not written as a CQ code")
		}
		if err := checkSegment(seg); err != nil {
			return nil, err
		}
		out = append(out, seg)
		s = s[i+end+1:]
	}
	return out, nil
}

func unescapeCQ(s string, inCode bool) (string, error) {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "&amp;"):
			b.WriteByte('&')
			s = s[5:]
		case strings.HasPrefix(s, "&#91;"):
			b.WriteByte('[')
			s = s[5:]
		case strings.HasPrefix(s, "&#93;"):
			b.WriteByte(']')
			s = s[5:]
		case inCode && strings.HasPrefix(s, "&#44;"):
			b.WriteByte(',')
			s = s[5:]
		default:
			return "", fmt.Errorf("unescaped '&' (write &amp;)")
		}
	}
	return b.String(), nil
}

// Groups returns the ids of the groups that received messages, sorted.
func (f *OneBot) GroupsSent() []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, m := range f.Messages() {
		if !seen[m.GroupID] {
			seen[m.GroupID] = true
			out = append(out, m.GroupID)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
