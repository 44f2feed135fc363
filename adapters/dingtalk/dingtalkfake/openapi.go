package dingtalkfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// MaxMsgParam is the most bytes msgParam may hold (docs/platforms.md).
const MaxMsgParam = 15000

// OpenAPI is a strict fake of the DingTalk v1.0 API an enterprise robot
// uses (docs/platforms.md):
//
//   - POST /v1.0/oauth2/accessToken {"appKey","appSecret"} issues a token
//     valid for TokenTTL (7200 s by default) on the fake's clock;
//   - POST /v1.0/robot/groupMessages/send checks the
//     x-acs-dingtalk-access-token header (400 InvalidAuthentication), the
//     robotCode, the openConversationId, the msgKey and that msgParam is
//     JSON of at most 15000 bytes with its template's fields (400
//     invalidParameter.*), then answers {"processQueryKey":"pqk-N"};
//   - POST /v1.0/robot/groupMessages/recall moves keys into successResult
//     (unknown or already recalled ones into failedResult);
//   - POST /v1.0/robot/oToMessages/batchSend checks the token, the
//     robotCode, 1..20 userIds and msgParam as for groups, and answers
//     {"processQueryKey","invalidStaffIdList","flowControlledStaffIdList"}
//     (user ids not registered with AddUser, when any is, are invalid);
//   - an optional per-second limit answers 403
//     Forbidden.AccessDenied.QpsLimitForApi.
type OpenAPI struct {
	// URL is the base_url to configure.
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	now      func() time.Time
	ttl      time.Duration
	apps     map[string]App    // by appKey
	robots   map[string]string // robotCode -> appKey
	convs    map[string]bool   // known openConversationIds; empty: any
	users    map[string]bool   // known staff ids; empty: any
	direct   []DirectMessage
	tokens   map[string]issued
	fetches  int
	seq      int
	messages []Message
	qps      int
	second   time.Time
	inSecond int
	outage   int
}

// App is an enterprise-internal app and its robot.
type App struct {
	AppKey    string
	AppSecret string
	RobotCode string
}

type issued struct {
	appKey  string
	expires time.Time
}

// Message is one message the fake posted to a group.
type Message struct {
	Time               time.Time
	ProcessQueryKey    string
	OpenConversationID string
	RobotCode          string
	MsgKey             string
	MsgParam           string
	Title              string
	Text               string // sampleMarkdown.text or sampleText.content
	Recalled           bool
}

// NewOpenAPI starts a fake on 127.0.0.1, closed when tb ends (tb may be nil).
func NewOpenAPI(tb testing.TB) *OpenAPI {
	o := &OpenAPI{
		now:    time.Now,
		ttl:    7200 * time.Second,
		apps:   map[string]App{},
		robots: map[string]string{},
		convs:  map[string]bool{},
		users:  map[string]bool{},
		tokens: map[string]issued{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1.0/oauth2/accessToken", o.token)
	mux.HandleFunc("POST /v1.0/robot/groupMessages/send", o.send)
	mux.HandleFunc("POST /v1.0/robot/groupMessages/recall", o.recall)
	mux.HandleFunc("POST /v1.0/robot/oToMessages/batchSend", o.batchSend)
	o.srv = httptest.NewServer(mux)
	o.URL = o.srv.URL
	if tb != nil {
		tb.Cleanup(o.Close)
	}
	return o
}

// Close stops the server.
func (o *OpenAPI) Close() { o.srv.Close() }

// SetNow sets the fake's clock.
func (o *OpenAPI) SetNow(now func() time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.now = now
}

// SetTokenTTL sets the lifetime of tokens issued from now on.
func (o *OpenAPI) SetTokenTTL(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ttl = d
}

// AddApp registers an app and its robot code.
func (o *OpenAPI) AddApp(a App) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.apps[a.AppKey] = a
	o.robots[a.RobotCode] = a.AppKey
}

// AddConversation registers an openConversationId; once one is registered,
// sends to others are refused.
func (o *OpenAPI) AddConversation(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.convs[id] = true
}

// AddUser registers a staff id; once one is registered, one-to-one
// messages to others are answered in invalidStaffIdList.
func (o *OpenAPI) AddUser(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.users[id] = true
}

// DirectMessage is one message the fake posted to a user one to one.
type DirectMessage struct {
	Time            time.Time
	ProcessQueryKey string
	UserID          string
	RobotCode       string
	MsgKey          string
	Title           string
	Text            string
}

// DirectMessages returns the one-to-one messages posted, one per user, in
// order.
func (o *OpenAPI) DirectMessages() []DirectMessage {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]DirectMessage(nil), o.direct...)
}

// SetQPS limits requests per second (of the fake's clock) over the send and
// recall endpoints; 0 means no limit.
func (o *OpenAPI) SetQPS(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.qps = n
}

// SetOutage answers every request with the HTTP status; 0 ends it.
func (o *OpenAPI) SetOutage(status int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outage = status
}

// RevokeTokens makes every issued token invalid at once.
func (o *OpenAPI) RevokeTokens() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tokens = map[string]issued{}
}

// TokenFetches counts successful access token requests.
func (o *OpenAPI) TokenFetches() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fetches
}

// Messages returns the messages posted, in order.
func (o *OpenAPI) Messages() []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Message(nil), o.messages...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func v1Error(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg, "requestid": "fake-request"})
}

// readJSON decodes a JSON request body; a form or empty body gets the
// platform's "body is mandatory" answer.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		v1Error(w, http.StatusBadRequest, "MissingBody", "body is mandatory")
		return false
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, v); err != nil {
		v1Error(w, http.StatusBadRequest, "InvalidBody", "body is not JSON")
		return false
	}
	return true
}

func (o *OpenAPI) token(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AppKey    string `json:"appKey"`
		AppSecret string `json:"appSecret"`
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.outage != 0 {
		http.Error(w, "outage", o.outage)
		return
	}
	if !readJSON(w, r, &req) {
		return
	}
	app, ok := o.apps[req.AppKey]
	if !ok || app.AppSecret != req.AppSecret {
		v1Error(w, http.StatusBadRequest, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
		return
	}
	o.fetches++
	o.seq++
	tok := fmt.Sprintf("fake-token-%d", o.seq)
	o.tokens[tok] = issued{appKey: app.AppKey, expires: o.now().Add(o.ttl)}
	writeJSON(w, http.StatusOK, map[string]any{"accessToken": tok, "expireIn": int64(o.ttl / time.Second)})
}

// authorize checks the token header and the QPS limit; it answers and
// returns "" when the request is refused.
func (o *OpenAPI) authorize(w http.ResponseWriter, r *http.Request) string {
	if o.outage != 0 {
		http.Error(w, "outage", o.outage)
		return ""
	}
	tok := r.Header.Get("x-acs-dingtalk-access-token")
	is, ok := o.tokens[tok]
	if !ok || !o.now().Before(is.expires) {
		v1Error(w, http.StatusBadRequest, "InvalidAuthentication", "不合法的access_token")
		return ""
	}
	if o.qps > 0 {
		sec := o.now().Truncate(time.Second)
		if !sec.Equal(o.second) {
			o.second, o.inSecond = sec, 0
		}
		o.inSecond++
		if o.inSecond > o.qps {
			v1Error(w, http.StatusForbidden, "Forbidden.AccessDenied.QpsLimitForApi", "调用频率超过限制")
			return ""
		}
	}
	return is.appKey
}

func (o *OpenAPI) checkRobot(w http.ResponseWriter, appKey, robotCode, conv string) bool {
	if owner, ok := o.robots[robotCode]; !ok || owner != appKey {
		v1Error(w, http.StatusBadRequest, "invalidParameter.robotCode.notExsit", "robotCode不存在")
		return false
	}
	if conv == "" || (len(o.convs) > 0 && !o.convs[conv]) {
		v1Error(w, http.StatusBadRequest, "invalidParameter.openConversationId.invalid", "openConversationId无效")
		return false
	}
	return true
}

func (o *OpenAPI) send(w http.ResponseWriter, r *http.Request) {
	var req struct {
		MsgKey             string `json:"msgKey"`
		MsgParam           string `json:"msgParam"`
		OpenConversationID string `json:"openConversationId"`
		RobotCode          string `json:"robotCode"`
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	appKey := o.authorize(w, r)
	if appKey == "" || !readJSON(w, r, &req) || !o.checkRobot(w, appKey, req.RobotCode, req.OpenConversationID) {
		return
	}
	param, ok := msgParam(w, req.MsgParam)
	if !ok {
		return
	}
	str := func(k string) string { s, _ := param[k].(string); return s }
	m := Message{Time: o.now(), OpenConversationID: req.OpenConversationID, RobotCode: req.RobotCode, MsgKey: req.MsgKey, MsgParam: req.MsgParam}
	switch req.MsgKey {
	case "sampleText":
		m.Text = str("content")
		if m.Text == "" {
			v1Error(w, http.StatusBadRequest, "invalidParameter.msgParam.invalid", "sampleText缺少content")
			return
		}
	case "sampleMarkdown":
		m.Title, m.Text = str("title"), str("text")
		if m.Title == "" || m.Text == "" {
			v1Error(w, http.StatusBadRequest, "invalidParameter.msgParam.invalid", "sampleMarkdown缺少title或text")
			return
		}
	case "sampleLink", "sampleImageMsg", "sampleActionCard":
	default:
		v1Error(w, http.StatusBadRequest, "invalidParameter.msgKey.invalid", "msgKey不存在")
		return
	}
	o.seq++
	m.ProcessQueryKey = fmt.Sprintf("pqk-%d", o.seq)
	o.messages = append(o.messages, m)
	writeJSON(w, http.StatusOK, map[string]string{"processQueryKey": m.ProcessQueryKey})
}

func (o *OpenAPI) recall(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OpenConversationID string   `json:"openConversationId"`
		RobotCode          string   `json:"robotCode"`
		ProcessQueryKeys   []string `json:"processQueryKeys"`
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	appKey := o.authorize(w, r)
	if appKey == "" || !readJSON(w, r, &req) || !o.checkRobot(w, appKey, req.RobotCode, req.OpenConversationID) {
		return
	}
	if len(req.ProcessQueryKeys) == 0 {
		v1Error(w, http.StatusBadRequest, "invalidParameter.processQueryKeys.empty", "processQueryKeys为空")
		return
	}
	success := []string{}
	failed := map[string]string{}
	for _, k := range req.ProcessQueryKeys {
		found := false
		for i := range o.messages {
			m := &o.messages[i]
			if m.ProcessQueryKey == k && m.OpenConversationID == req.OpenConversationID && m.RobotCode == req.RobotCode {
				found = true
				if m.Recalled {
					failed[k] = "message already recalled"
				} else {
					m.Recalled = true
					success = append(success, k)
				}
			}
		}
		if !found {
			failed[k] = "processQueryKey not found"
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"successResult": success, "failedResult": failed})
}

func (o *OpenAPI) batchSend(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RobotCode string   `json:"robotCode"`
		UserIDs   []string `json:"userIds"`
		MsgKey    string   `json:"msgKey"`
		MsgParam  string   `json:"msgParam"`
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	appKey := o.authorize(w, r)
	if appKey == "" || !readJSON(w, r, &req) {
		return
	}
	if owner, ok := o.robots[req.RobotCode]; !ok || owner != appKey {
		v1Error(w, http.StatusBadRequest, "invalidParameter.robotCode.notExsit", "robotCode不存在")
		return
	}
	if len(req.UserIDs) == 0 || len(req.UserIDs) > 20 {
		v1Error(w, http.StatusBadRequest, "invalidParameter.userIds.invalid", "userIds须为1到20个")
		return
	}
	param, ok := msgParam(w, req.MsgParam)
	if !ok {
		return
	}
	str := func(k string) string { s, _ := param[k].(string); return s }
	var title, text string
	switch req.MsgKey {
	case "sampleText":
		text = str("content")
	case "sampleMarkdown":
		title, text = str("title"), str("text")
		if title == "" {
			text = ""
		}
	default:
		v1Error(w, http.StatusBadRequest, "invalidParameter.msgKey.invalid", "msgKey不存在")
		return
	}
	if text == "" {
		v1Error(w, http.StatusBadRequest, "invalidParameter.msgParam.invalid", "msgParam缺少必填字段")
		return
	}
	o.seq++
	key := fmt.Sprintf("pqk-%d", o.seq)
	invalid := []string{}
	for _, u := range req.UserIDs {
		if len(o.users) > 0 && !o.users[u] {
			invalid = append(invalid, u)
			continue
		}
		o.direct = append(o.direct, DirectMessage{Time: o.now(), ProcessQueryKey: key, UserID: u, RobotCode: req.RobotCode,
			MsgKey: req.MsgKey, Title: title, Text: text})
	}
	writeJSON(w, http.StatusOK, map[string]any{"processQueryKey": key, "invalidStaffIdList": invalid, "flowControlledStaffIdList": []string{}})
}

// msgParam decodes a robot message's msgParam as the platform checks it:
// at most MaxMsgParam bytes of JSON; false when it answered the error.
func msgParam(w http.ResponseWriter, raw string) (map[string]any, bool) {
	if len(raw) > MaxMsgParam {
		v1Error(w, http.StatusBadRequest, "invalidParameter.msgParam.invalid", fmt.Sprintf("msgParam超过%d字节", MaxMsgParam))
		return nil, false
	}
	var param map[string]any
	if err := json.Unmarshal([]byte(raw), &param); err != nil {
		v1Error(w, http.StatusBadRequest, "invalidParameter.msgParam.invalid", "msgParam不是合法的JSON")
		return nil, false
	}
	return param, true
}
