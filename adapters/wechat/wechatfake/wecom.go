// Package wechatfake holds strict local fakes of the WeChat platforms
// groupcast talks to: the WeCom group robot webhook (WeCom) and the web
// WeChat endpoints openwechat uses (Web). Both run on httptest servers on
// 127.0.0.1, record every request, take an injectable clock and enforce the
// limits docs/platforms.md states for WeCom robots and personal WeChat.
package wechatfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// WeCom limits and codes, as docs/platforms.md states them.
const (
	TextMaxBytes     = 2048
	MarkdownMaxBytes = 4096
	PerMinute        = 20
)

// WeComMessage is one accepted robot message.
type WeComMessage struct {
	Key           string
	MsgType       string
	Content       string
	MentionedList []string
	At            time.Time
}

// WeComRequest is one request as received, accepted or not.
type WeComRequest struct {
	Method  string
	Path    string
	Key     string
	Body    []byte
	ErrCode int // -1 when answered with an HTTP error instead
	At      time.Time
}

// WeCom is a fake of `POST /cgi-bin/webhook/send?key=KEY`.
//
// It answers like the platform: HTTP 200 with {"errcode","errmsg"};
// 93000 for an unknown key, 40008 for an unknown msgtype, 44004 for empty
// content, 40058 when text.content is over 2048 bytes or markdown.content
// over 4096 bytes (UTF-8), and 45009 for the 21st accepted message of a
// key within any 60 seconds.
type WeCom struct {
	// Now is the clock the rate window uses (default time.Now).
	Now func() time.Time
	// PerMinute is the per-key limit (default 20).
	PerMinute int

	srv *httptest.Server

	mu       sync.Mutex
	keys     map[string]bool
	sent     map[string][]time.Time // accepted sends per key, for the window
	messages []WeComMessage
	requests []WeComRequest
	outage   int // answer this many requests with HTTP 503
	forced   []int
}

// NewWeCom starts a fake that accepts the given robot keys. Close it when
// done.
func NewWeCom(keys ...string) *WeCom {
	f := &WeCom{keys: map[string]bool{}, sent: map[string][]time.Time{}}
	for _, k := range keys {
		f.keys[k] = true
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the base_url to configure.
func (f *WeCom) URL() string { return f.srv.URL }

// Client is an HTTP client for the fake.
func (f *WeCom) Client() *http.Client { return f.srv.Client() }

// Close stops the server.
func (f *WeCom) Close() { f.srv.Close() }

// AddKey accepts another robot key.
func (f *WeCom) AddKey(k string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[k] = true
}

// Outage makes the next n requests answer HTTP 503.
func (f *WeCom) Outage(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outage = n
}

// Fail makes the next requests answer the given errcodes, one each.
func (f *WeCom) Fail(codes ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forced = append(f.forced, codes...)
}

// Messages returns the accepted messages in arrival order.
func (f *WeCom) Messages() []WeComMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]WeComMessage(nil), f.messages...)
}

// Requests returns every request received, in order.
func (f *WeCom) Requests() []WeComRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]WeComRequest(nil), f.requests...)
}

// Count returns how many requests were answered with errcode code.
func (f *WeCom) Count(code int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.ErrCode == code {
			n++
		}
	}
	return n
}

func (f *WeCom) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

type weComBody struct {
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content             string   `json:"content"`
		MentionedList       []string `json:"mentioned_list"`
		MentionedMobileList []string `json:"mentioned_mobile_list"`
	} `json:"text"`
	Markdown *struct {
		Content string `json:"content"`
	} `json:"markdown"`
	MarkdownV2 *struct {
		Content string `json:"content"`
	} `json:"markdown_v2"`
}

func (f *WeCom) serve(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20))
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	key := r.URL.Query().Get("key")
	rec := WeComRequest{Method: r.Method, Path: r.URL.Path, Key: key, Body: buf.Bytes(), ErrCode: -1, At: now}
	defer func() { f.requests = append(f.requests, rec) }()

	if f.outage > 0 {
		f.outage--
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path != "/cgi-bin/webhook/send" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	answer := func(code int, msg string) {
		rec.ErrCode = code
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		if code != 0 {
			msg += fmt.Sprintf(", hint: [fake], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=%d", code)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"errcode": code, "errmsg": msg})
	}
	if !f.keys[key] {
		answer(93000, "invalid webhook url")
		return
	}
	if len(f.forced) > 0 {
		code := f.forced[0]
		f.forced = f.forced[1:]
		answer(code, "forced by the test")
		return
	}
	var body weComBody
	if err := json.Unmarshal(buf.Bytes(), &body); err != nil {
		answer(40000, "invalid json: "+err.Error())
		return
	}
	msg := WeComMessage{Key: key, MsgType: body.MsgType, At: now}
	limit := 0
	switch body.MsgType {
	case "text":
		if body.Text == nil {
			answer(44004, "empty text")
			return
		}
		msg.Content, msg.MentionedList, limit = body.Text.Content, body.Text.MentionedList, TextMaxBytes
	case "markdown":
		if body.Markdown == nil {
			answer(44004, "empty markdown")
			return
		}
		msg.Content, limit = body.Markdown.Content, MarkdownMaxBytes
	case "markdown_v2":
		if body.MarkdownV2 == nil {
			answer(44004, "empty markdown_v2")
			return
		}
		msg.Content, limit = body.MarkdownV2.Content, MarkdownMaxBytes
	default:
		answer(40008, "invalid message type")
		return
	}
	if msg.Content == "" {
		answer(44004, "empty content")
		return
	}
	if n := len(msg.Content); n > limit {
		answer(40058, fmt.Sprintf("%s.content exceed max length %d. invalid Request Parameter (got %d bytes)", body.MsgType, limit, n))
		return
	}
	// Sliding 60 s window of accepted sends per key.
	perMinute := f.PerMinute
	if perMinute <= 0 {
		perMinute = PerMinute
	}
	window := f.sent[key][:0]
	for _, t := range f.sent[key] {
		if now.Sub(t) < time.Minute {
			window = append(window, t)
		}
	}
	f.sent[key] = window
	if len(window) >= perMinute {
		answer(45009, "api freq out of limit")
		return
	}
	f.sent[key] = append(f.sent[key], now)
	f.messages = append(f.messages, msg)
	answer(0, "ok")
}
