package dingtalkfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Limits the webhook fake enforces (docs/platforms.md).
const (
	MaxBody      = 20000
	PerMinute    = 20
	Window       = time.Minute
	LockDuration = 10 * time.Minute
	SignWindow   = time.Hour
)

// Webhook is a strict fake of DingTalk's custom robot endpoint
// (docs/platforms.md): POST /robot/send?access_token=T[&timestamp&sign].
//
// It checks, in this order: the token (300001), the signature and its
// timestamp for robots with a secret (310000), the body size (460101), the
// JSON and the required fields of its msgtype (400402), the keywords for
// robots with keywords (310000), the rate — a sliding 60 s window per
// robot, the 21st request answered 130101 and the robot locked for 10
// minutes, every request during the lock answered 130101 — and finally
// msgUuid de-duplication (a repeated msgUuid answers ok and posts nothing).
// It always answers HTTP 200 unless told otherwise.
type Webhook struct {
	// URL is the base_url to configure: the driver posts to URL+"/robot/send".
	URL string

	srv *httptest.Server

	mu         sync.Mutex
	now        func() time.Time
	robots     map[string]*robotState
	requests   []Request
	posts      []Post
	outage     int           // HTTP status answered to everything; 0: none
	lock302    bool          // answer HTTP 302 during a lock instead of 130101
	forceCode  int           // errcode answered to everything after auth; 0: none
	win        time.Duration // the rate window; 0: Window
	duplicates int
	changed    chan struct{}
}

// Robot is one custom robot of the fake.
type Robot struct {
	Token string
	// Secret, when set ("SEC…"), puts the robot in signed mode.
	Secret string
	// Keywords, when set, puts the robot in keyword mode: a message must
	// contain one of them.
	Keywords []string
}

type robotState struct {
	Robot
	recent      []time.Time // accepted-for-rate requests in the last window
	lockedUntil time.Time
	uuids       map[string]bool
}

// Request is one request the fake received and its answer.
type Request struct {
	Time    time.Time
	Token   string
	Bytes   int
	MsgType string
	MsgUUID string
	Status  int    // HTTP status answered
	ErrCode int    // errcode answered
	ErrMsg  string // errmsg answered
	Body    []byte
}

// Post is one message the fake accepted and "posted" to the group.
type Post struct {
	Time    time.Time
	Token   string
	MsgType string
	MsgUUID string
	Title   string
	Text    string // text.content, markdown.text or actionCard.text
	Buttons []Button
	AtAll   bool
	Bytes   int
}

// Button is an actionCard button.
type Button struct {
	Title     string `json:"title"`
	ActionURL string `json:"actionURL"`
}

// NewWebhook starts a fake on 127.0.0.1, closed when tb ends. tb may be nil;
// call Close then.
func NewWebhook(tb testing.TB) *Webhook {
	w := &Webhook{
		now:     time.Now,
		robots:  map[string]*robotState{},
		changed: make(chan struct{}),
	}
	w.srv = httptest.NewServer(http.HandlerFunc(w.serve))
	w.URL = w.srv.URL
	if tb != nil {
		tb.Cleanup(w.Close)
	}
	return w
}

// Close stops the server.
func (w *Webhook) Close() { w.srv.Close() }

// Client is an HTTP client for the fake.
func (w *Webhook) Client() *http.Client { return w.srv.Client() }

// SetNow sets the fake's clock (time.Now by default); signatures, the rate
// window and locks use it.
func (w *Webhook) SetNow(now func() time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = now
}

// AddRobot registers a robot.
func (w *Webhook) AddRobot(r Robot) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.robots[r.Token] = &robotState{Robot: r, uuids: map[string]bool{}}
}

// SetOutage makes the fake answer every request with the HTTP status (503,
// say) and a non-JSON body; 0 ends the outage.
func (w *Webhook) SetOutage(status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.outage = status
}

// SetWindow widens (or narrows) the rate window the fake counts in (60 s
// by default). The platform counts by its own clock, after network delay:
// a window of 61 s stands for a platform that sees requests a second late.
func (w *Webhook) SetWindow(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.win = d
}

func (w *Webhook) window() time.Duration {
	if w.win > 0 {
		return w.win
	}
	return Window
}

// SetForceCode makes the fake answer every authenticated request with this
// errcode (130101: a robot already locked by someone else); 0 ends it.
func (w *Webhook) SetForceCode(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forceCode = code
}

// SetLock302 answers HTTP 302 instead of 130101 while a robot is locked, as
// DingTalk has been seen doing.
func (w *Webhook) SetLock302(on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lock302 = on
}

// Lock locks a robot until the given time, as if it had gone over the rate.
func (w *Webhook) Lock(token string, until time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r := w.robots[token]; r != nil {
		r.lockedUntil = until
	}
}

// LockedUntil reports until when a robot is locked.
func (w *Webhook) LockedUntil(token string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.robots[token]
	if r == nil || !w.now().Before(r.lockedUntil) {
		return time.Time{}, false
	}
	return r.lockedUntil, true
}

// Requests returns every request received, in order.
func (w *Webhook) Requests() []Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Request(nil), w.requests...)
}

// Posts returns the messages posted to a robot's group, in order ("" for
// every robot).
func (w *Webhook) Posts(token string) []Post {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Post
	for _, p := range w.posts {
		if token == "" || p.Token == token {
			out = append(out, p)
		}
	}
	return out
}

// Count returns how many requests were answered with errcode (0 counts
// the successful ones, duplicates included).
func (w *Webhook) Count(errcode int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, r := range w.requests {
		if r.Status == http.StatusOK && r.ErrCode == errcode {
			n++
		}
	}
	return n
}

// Duplicates returns how many requests repeated a msgUuid already posted
// (answered ok, posted nothing).
func (w *Webhook) Duplicates() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.duplicates
}

// Changed returns a channel closed at the next request, for tests that wait
// without sleeping.
func (w *Webhook) Changed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed
}

func (w *Webhook) answer(rw http.ResponseWriter, req *Request, status, code int, msg string) {
	req.Status, req.ErrCode, req.ErrMsg = status, code, msg
	w.requests = append(w.requests, *req)
	close(w.changed)
	w.changed = make(chan struct{})
	switch {
	case status == http.StatusFound:
		rw.Header().Set("Location", "/robot/limited")
		rw.WriteHeader(status)
	case status != http.StatusOK:
		http.Error(rw, http.StatusText(status), status)
	default:
		rw.Header().Set("Content-Type", "application/json;charset=utf-8")
		b, _ := json.Marshal(map[string]any{"errcode": code, "errmsg": msg})
		_, _ = rw.Write(b)
	}
}

// message is the union of the webhook body shapes (docs/platforms.md).
type message struct {
	MsgType string `json:"msgtype"`
	MsgUUID string `json:"msgUuid"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text"`
	Markdown *struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
	Link *struct {
		Title      string `json:"title"`
		Text       string `json:"text"`
		MessageURL string `json:"messageUrl"`
		PicURL     string `json:"picUrl"`
	} `json:"link"`
	ActionCard *struct {
		Title          string   `json:"title"`
		Text           string   `json:"text"`
		BtnOrientation string   `json:"btnOrientation"`
		SingleTitle    string   `json:"singleTitle"`
		SingleURL      string   `json:"singleURL"`
		Btns           []Button `json:"btns"`
	} `json:"actionCard"`
	FeedCard *struct {
		Links []struct {
			Title      string `json:"title"`
			MessageURL string `json:"messageURL"`
			PicURL     string `json:"picURL"`
		} `json:"links"`
	} `json:"feedCard"`
	At *struct {
		IsAtAll   bool     `json:"isAtAll"`
		AtMobiles []string `json:"atMobiles"`
		AtUserIDs []string `json:"atUserIds"`
	} `json:"at"`
}

// check returns the errmsg of a missing required field, or "".
func (m *message) check() (title, text, missing string) {
	need := func(ok bool, field string) {
		if !ok && missing == "" {
			missing = "缺少参数 " + field
		}
	}
	switch m.MsgType {
	case "text":
		need(m.Text != nil && strings.TrimSpace(m.Text.Content) != "", "text.content")
		if m.Text != nil {
			text = m.Text.Content
		}
	case "markdown":
		need(m.Markdown != nil, "markdown")
		if m.Markdown != nil {
			need(strings.TrimSpace(m.Markdown.Title) != "", "markdown --》 title")
			need(strings.TrimSpace(m.Markdown.Text) != "", "markdown --》 text")
			title, text = m.Markdown.Title, m.Markdown.Text
		}
	case "link":
		need(m.Link != nil, "link")
		if m.Link != nil {
			need(m.Link.Title != "", "link --》 title")
			need(m.Link.Text != "", "link --》 text")
			need(m.Link.MessageURL != "", "link --》 messageUrl")
			title, text = m.Link.Title, m.Link.Text
		}
	case "actionCard":
		need(m.ActionCard != nil, "actionCard")
		if c := m.ActionCard; c != nil {
			need(strings.TrimSpace(c.Title) != "", "actionCard --》 title")
			need(strings.TrimSpace(c.Text) != "", "actionCard --》 text")
			single := c.SingleTitle != "" && c.SingleURL != ""
			need(single || len(c.Btns) > 0, "actionCard --》 singleURL or btns")
			for i, b := range c.Btns {
				need(b.Title != "" && b.ActionURL != "", fmt.Sprintf("actionCard --》 btns[%d]", i))
			}
			title, text = c.Title, c.Text
		}
	case "feedCard":
		need(m.FeedCard != nil && len(m.FeedCard.Links) > 0, "feedCard --》 links")
		if m.FeedCard != nil {
			for i, l := range m.FeedCard.Links {
				need(l.Title != "" && l.MessageURL != "", fmt.Sprintf("feedCard --》 links[%d]", i))
				title += l.Title
			}
		}
	case "":
		missing = "缺少参数 msgtype"
	default:
		missing = "不支持的 msgtype " + m.MsgType
	}
	return title, text, missing
}

func (w *Webhook) serve(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	q := r.URL.Query()
	req := &Request{Time: now, Token: q.Get("access_token"), Bytes: len(body), Body: body}
	if w.outage != 0 {
		w.answer(rw, req, w.outage, 0, "")
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/robot/send" {
		w.answer(rw, req, http.StatusNotFound, 0, "")
		return
	}
	// 1. token
	robot := w.robots[req.Token]
	if robot == nil {
		w.answer(rw, req, http.StatusOK, 300001, "token is not exist")
		return
	}
	// 2. signature and timestamp (q.Get has decoded the URL encoding once)
	if robot.Secret != "" {
		ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		if err != nil {
			w.answer(rw, req, http.StatusOK, 310000, "invalid timestamp")
			return
		}
		if d := now.UnixMilli() - ts; d > SignWindow.Milliseconds() || -d > SignWindow.Milliseconds() {
			w.answer(rw, req, http.StatusOK, 310000, "invalid timestamp")
			return
		}
		mac := hmac.New(sha256.New, []byte(robot.Secret))
		mac.Write([]byte(q.Get("timestamp") + "\n" + robot.Secret))
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if subtle.ConstantTimeCompare([]byte(want), []byte(q.Get("sign"))) != 1 {
			w.answer(rw, req, http.StatusOK, 310000, "sign not match")
			return
		}
	}
	// 3. size: the whole body as received
	if len(body) > MaxBody {
		w.answer(rw, req, http.StatusOK, 460101, "description: body 大小不合法;solution:请保持大小在 20000bytes 以内;")
		return
	}
	// 4. JSON and required fields
	var m message
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		w.answer(rw, req, http.StatusOK, 400402, "缺少参数 json")
		return
	}
	req.MsgType, req.MsgUUID = m.MsgType, m.MsgUUID
	title, text, missing := m.check()
	if missing != "" {
		w.answer(rw, req, http.StatusOK, 400402, missing)
		return
	}
	// 5. keywords
	if len(robot.Keywords) > 0 {
		found := false
		for _, k := range robot.Keywords {
			if strings.Contains(title+text, k) {
				found = true
				break
			}
		}
		if !found {
			w.answer(rw, req, http.StatusOK, 310000, "keywords not in content")
			return
		}
	}
	// 6. rate: a lock, then a sliding 60 s window
	if w.forceCode != 0 {
		w.answer(rw, req, http.StatusOK, w.forceCode, "forced by the fake")
		return
	}
	if now.Before(robot.lockedUntil) {
		if w.lock302 {
			w.answer(rw, req, http.StatusFound, 0, "")
		} else {
			w.answer(rw, req, http.StatusOK, 130101, "send too fast, exceed 20 times per minute")
		}
		return
	}
	kept := robot.recent[:0]
	for _, t := range robot.recent {
		if now.Sub(t) < w.window() {
			kept = append(kept, t)
		}
	}
	robot.recent = kept
	if len(robot.recent) >= PerMinute {
		robot.lockedUntil = now.Add(LockDuration)
		robot.recent = nil
		w.answer(rw, req, http.StatusOK, 130101, "send too fast, exceed 20 times per minute")
		return
	}
	robot.recent = append(robot.recent, now)
	// 7. msgUuid de-duplication
	if m.MsgUUID != "" {
		if robot.uuids[m.MsgUUID] {
			w.duplicates++
			w.answer(rw, req, http.StatusOK, 0, "ok")
			return
		}
		robot.uuids[m.MsgUUID] = true
	}
	p := Post{Time: now, Token: robot.Token, MsgType: m.MsgType, MsgUUID: m.MsgUUID, Title: title, Text: text, Bytes: len(body)}
	if m.ActionCard != nil {
		p.Buttons = m.ActionCard.Btns
	}
	if m.At != nil {
		p.AtAll = m.At.IsAtAll
	}
	w.posts = append(w.posts, p)
	w.answer(rw, req, http.StatusOK, 0, "ok")
}
