package wechatfake

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Web protocol facts the fake enforces (docs/platforms.md, openwechat v1.4.10
// url.go, mode.go, global.go).
const (
	WebAppID      = "wx782c26e4c19acffb"
	LoginHost     = "login.wx.qq.com"
	QRHost        = "login.weixin.qq.com"
	Domain        = "wx.qq.com"
	FileHost      = "file.wx.qq.com"
	SyncHost      = "webpush.wx.qq.com"
	RevokeWindow  = 2 * time.Minute
	RetOK         = 0
	RetParamError = 1
	RetLoggedOut  = 1101
	RetEnvAbnorm  = 1203
)

// Contact is a contact of the fake account. A UserName starting with "@@"
// is a group.
type Contact struct {
	UserName   string
	NickName   string
	RemarkName string
	VerifyFlag int // non-zero for official accounts
	// Members are a group's members (webwxbatchgetcontact's MemberList).
	Members []Member
}

// Member is one member of a group. DisplayName is the name set for this
// group ("" when none).
type Member struct {
	UserName    string
	NickName    string
	DisplayName string
}

// Message types of the web protocol (openwechat global.go).
const (
	MsgTypeText = 1
	MsgTypeSys  = 10000
)

// SyncMessage is one message the account receives through webwxsync
// (AddMsgList), in the wire's shape: a group message of another member
// has FromUserName the group and Content "@member:<br/>text"; one the
// account sent itself from the phone has FromUserName the account and
// ToUserName the group; a system note (MsgType 10000) has the note as
// Content.
type SyncMessage struct {
	MsgID        string
	FromUserName string
	ToUserName   string
	MsgType      int
	Content      string
	CreateTime   int64
}

// WebMessage is one message the account sent.
type WebMessage struct {
	Type        int // 1 text, 3 image
	From, To    string
	Content     string
	MediaID     string
	Image       []byte
	MsgID       string
	ClientMsgID string
	At          time.Time
	Revoked     bool
}

// WebRequest is one request as received.
type WebRequest struct {
	Host   string // the host the client meant (the Host header)
	Method string
	Path   string
	Query  url.Values
	Ret    int
}

type loginState struct {
	desktop   bool
	scanned   bool
	reported  bool // the 201 was answered
	confirmed bool
	ticket    string
}

type webSession struct {
	uin                         int64
	sid, skey, pass, dataTicket string
	valid                       bool
}

// Web is a fake of the web WeChat endpoints openwechat uses, reached through
// RewriteTransport (the client keeps its https URLs on the real hosts; the
// fake checks each endpoint is asked for on its own host).
//
// It enforces: the desktop (UOS) login (mod=desktop and the client-version
// and extspam headers, else ret 1203 as for accounts barred from web
// login); a login only after Scan and Confirm; BaseRequest, pass_ticket,
// skey and the wxsid cookie on every call after login (ret 1101 otherwise,
// and after Kick); webwx_data_ticket as form field and cookie on uploads;
// messages only from the account to its known contacts; revokes only of
// its own messages with matching ids, within two minutes (fake clock).
type Web struct {
	// Now is the clock used for message times and the revoke window.
	Now func() time.Time
	// Hold is how long the login and sync long polls wait for news
	// (the real server holds ~25 s; default 50 ms).
	Hold time.Duration

	srv *httptest.Server

	mu        sync.Mutex
	changed   chan struct{} // closed and renewed on every state change
	self      Contact
	contacts  []Contact
	logins    map[string]*loginState // by uuid
	uuids     []string
	sessions  map[string]*webSession // by sid
	media     map[string][]byte
	messages  []WebMessage
	requests  []WebRequest
	nextID    int64
	nextUUID  int
	failSends []int
	inbox     []SyncMessage // waiting for webwxsync
	syncs     int           // SyncKey value, moved on by every webwxsync with news
}

// NewWeb starts a fake for the account self with the given contacts.
func NewWeb(self Contact, contacts ...Contact) *Web {
	f := &Web{
		self:     self,
		contacts: contacts,
		logins:   map[string]*loginState{},
		sessions: map[string]*webSession{},
		media:    map[string][]byte{},
		nextID:   7_000_000_000_000_000_000,
		changed:  make(chan struct{}),
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the fake's real address.
func (f *Web) URL() string { return f.srv.URL }

// Close stops the server.
func (f *Web) Close() { f.srv.CloseClientConnections(); f.srv.Close() }

// Client is an HTTP client whose transport sends every request to the fake.
func (f *Web) Client() *http.Client { return &http.Client{Transport: RewriteTransport(f.srv.URL)} }

// RewriteTransport sends every request for a host under qq.com to base (a
// loopback httptest URL), keeping the original host in the Host header, so
// that a client with hard-coded https hosts (openwechat) talks to a local
// fake (docs/platforms.md). Other hosts (image servers in tests) are
// reached as they are.
func RewriteTransport(base string) http.RoundTripper {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		panic("wechatfake: bad base URL " + base) // test helper: a programming error
	}
	inner := http.DefaultTransport.(*http.Transport).Clone()
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		h := r.URL.Hostname()
		if h != "qq.com" && !strings.HasSuffix(h, ".qq.com") {
			return inner.RoundTrip(r)
		}
		c := r.Clone(r.Context())
		c.Host = r.URL.Host
		c.URL.Scheme, c.URL.Host = u.Scheme, u.Host
		return inner.RoundTrip(c)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (f *Web) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Web) hold() time.Duration {
	if f.Hold > 0 {
		return f.Hold
	}
	return 50 * time.Millisecond
}

// bump wakes long polls; f.mu must be held.
func (f *Web) bump() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// QRCodes returns the login uuids issued so far.
func (f *Web) QRCodes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.uuids...)
}

// Scan marks the QR code uuid as scanned on the phone.
func (f *Web) Scan(uuid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.logins[uuid]
	if !ok {
		return fmt.Errorf("no QR code %q", uuid)
	}
	st.scanned = true
	f.bump()
	return nil
}

// Confirm marks the login of uuid as confirmed on the phone.
func (f *Web) Confirm(uuid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.logins[uuid]
	if !ok {
		return fmt.Errorf("no QR code %q", uuid)
	}
	st.scanned, st.confirmed = true, true
	f.bump()
	return nil
}

// Kick ends every session, as a logout on the phone or a login elsewhere
// does: the sync poll answers retcode 1101 and calls answer ret 1101.
func (f *Web) Kick() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sessions {
		s.valid = false
	}
	f.bump()
}

// Receive queues a message for the account: the next sync check answers
// selector 2 and webwxsync hands it over. A message without MsgID or
// CreateTime gets one.
func (f *Web) Receive(m SyncMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m.MsgID == "" {
		f.nextID++
		m.MsgID = strconv.FormatInt(f.nextID, 10)
	}
	if m.CreateTime == 0 {
		m.CreateTime = f.now().Unix()
	}
	f.inbox = append(f.inbox, m)
	f.bump()
}

// GroupText queues a text message of member in group, as web WeChat
// delivers another member's group message.
func (f *Web) GroupText(group, member, text string) {
	f.Receive(SyncMessage{FromUserName: group, ToUserName: f.self.UserName, MsgType: MsgTypeText,
		Content: member + ":<br/>" + htmlEscape(text)})
}

// SelfText queues a text the account itself sent to group from another
// device (the phone), as web WeChat syncs it.
func (f *Web) SelfText(group, text string) {
	f.Receive(SyncMessage{FromUserName: f.self.UserName, ToUserName: group, MsgType: MsgTypeText, Content: htmlEscape(text)})
}

// SystemNote queues a system note of group (joins, removals …).
func (f *Web) SystemNote(group, note string) {
	f.Receive(SyncMessage{FromUserName: group, ToUserName: f.self.UserName, MsgType: MsgTypeSys, Content: htmlEscape(note)})
}

// Pending counts messages not yet fetched by webwxsync.
func (f *Web) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.inbox)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;", "\n", "<br/>").Replace(s)
}

// FailSends makes the next sends answer the given rets, one each.
func (f *Web) FailSends(rets ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failSends = append(f.failSends, rets...)
}

// Messages returns the messages sent, in order.
func (f *Web) Messages() []WebMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]WebMessage(nil), f.messages...)
}

// Requests returns every request received, in order.
func (f *Web) Requests() []WebRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]WebRequest(nil), f.requests...)
}

// Count returns how many requests asked for path (e.g. "/cgi-bin/mmwebwx-bin/webwxinit").
func (f *Web) Count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.Path == path {
			n++
		}
	}
	return n
}

// StoredSession returns a session file as openwechat's hot-reload storage
// writes it, for a new valid session: what a login a while ago left.
func (f *Web) StoredSession() []byte {
	f.mu.Lock()
	s := f.newSessionLocked()
	f.mu.Unlock()
	item := map[string]any{
		"Jar": map[string]any{
			"https://" + Domain: []map[string]any{
				{"Name": "wxuin", "Value": strconv.FormatInt(s.uin, 10)},
				{"Name": "wxsid", "Value": s.sid},
				{"Name": "webwx_data_ticket", "Value": s.dataTicket},
			},
		},
		"BaseRequest":  map[string]any{"Uin": s.uin, "Sid": s.sid, "Skey": s.skey, "DeviceID": "e123456789012345"},
		"LoginInfo":    map[string]any{"Ret": 0, "WxUin": s.uin, "IsGrayScale": 1, "Message": "", "SKey": s.skey, "WxSid": s.sid, "PassTicket": s.pass},
		"WechatDomain": Domain,
		"SyncKey":      map[string]any{"Count": 1, "List": []map[string]int64{{"Key": 1, "Val": 1}}},
		"UUID":         "stored",
	}
	raw, _ := json.Marshal(item)
	return raw
}

func (f *Web) newSessionLocked() *webSession {
	n := len(f.sessions) + 1
	s := &webSession{
		uin:        1000 + int64(n),
		sid:        fmt.Sprintf("sid%d", n),
		skey:       fmt.Sprintf("@crypt_skey_%d", n),
		pass:       fmt.Sprintf("pass%%2B%d", n),
		dataTicket: fmt.Sprintf("ticket%d", n),
		valid:      true,
	}
	f.sessions[s.sid] = s
	return s
}

type baseRequest struct {
	Uin                 int64
	Sid, Skey, DeviceID string
}

func (f *Web) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<20))
	host := r.Host
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	rec := WebRequest{Host: host, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	f.mu.Lock()
	idx := len(f.requests)
	f.requests = append(f.requests, rec)
	f.mu.Unlock()
	ret := f.route(w, r, host, body)
	f.mu.Lock()
	f.requests[idx].Ret = ret
	f.mu.Unlock()
}

const mm = "/cgi-bin/mmwebwx-bin/"

func (f *Web) route(w http.ResponseWriter, r *http.Request, host string, body []byte) int {
	p := r.URL.Path
	want := map[string]string{
		"/jslogin": LoginHost, mm + "login": LoginHost,
		mm + "webwxnewloginpage": Domain, mm + "webwxinit": Domain, mm + "webwxstatusnotify": Domain,
		mm + "webwxgetcontact": Domain, mm + "webwxsendmsg": Domain, mm + "webwxsendmsgimg": Domain,
		mm + "webwxrevokemsg": Domain, mm + "webwxlogout": Domain,
		mm + "webwxsync": Domain, mm + "webwxbatchgetcontact": Domain,
		mm + "synccheck": SyncHost, mm + "webwxuploadmedia": FileHost,
	}
	if strings.HasPrefix(p, "/qrcode/") {
		if host != QRHost {
			http.Error(w, "wrong host", http.StatusNotFound)
			return -1
		}
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write([]byte("\xff\xd8\xff\xe0fake-qr"))
		return 0
	}
	if h, ok := want[p]; !ok || h != host {
		http.Error(w, fmt.Sprintf("no %s on host %s", p, host), http.StatusNotFound)
		return -1
	}
	switch p {
	case "/jslogin":
		return f.jslogin(w, r)
	case mm + "login":
		return f.checkLogin(w, r)
	case mm + "webwxnewloginpage":
		return f.newLoginPage(w, r)
	case mm + "synccheck":
		return f.syncCheck(w, r)
	case mm + "webwxgetcontact":
		return f.getContact(w, r)
	case mm + "webwxuploadmedia":
		return f.upload(w, r, body)
	case mm + "webwxlogout":
		f.mu.Lock()
		if s := f.sessionBySkey(r.URL.Query().Get("skey")); s != nil {
			s.valid = false
			f.bump()
		}
		f.mu.Unlock()
		return 0
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return -1
	}
	var req struct {
		BaseRequest baseRequest
		List        []struct{ UserName string }
		Msg         struct {
			Type         int
			Content      string
			FromUserName string
			ToUserName   string
			LocalID      string
			ClientMsgId  string
			MediaId      string
		}
		ClientMsgId flexString // a number in webwxstatusnotify, a string in webwxrevokemsg
		SvrMsgId    flexString
		ToUserName  string
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return f.base(w, RetParamError, "bad json", nil)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessionFor(req.BaseRequest, r)
	if s == nil {
		return f.base(w, RetLoggedOut, "", nil)
	}
	switch p {
	case mm + "webwxinit":
		return f.base(w, RetOK, "", map[string]any{
			"User":        f.userJSON(f.self),
			"ContactList": []any{},
			"SyncKey":     map[string]any{"Count": 1, "List": []map[string]int64{{"Key": 1, "Val": 1}}},
			"SKey":        s.skey,
			"Count":       0,
		})
	case mm + "webwxsync":
		q := r.URL.Query()
		if q.Get("sid") != s.sid || q.Get("skey") != s.skey || q.Get("pass_ticket") != s.pass {
			return f.base(w, RetParamError, "bad sid, skey or pass_ticket", nil)
		}
		msgs := make([]map[string]any, 0, len(f.inbox))
		for _, m := range f.inbox {
			msgs = append(msgs, map[string]any{"MsgId": m.MsgID, "FromUserName": m.FromUserName, "ToUserName": m.ToUserName,
				"MsgType": m.MsgType, "Content": m.Content, "CreateTime": m.CreateTime, "Status": 3, "ImgStatus": 1})
		}
		if len(f.inbox) > 0 {
			f.syncs++
		}
		f.inbox = nil
		key := map[string]any{"Count": 1, "List": []map[string]int64{{"Key": 1, "Val": int64(1 + f.syncs)}}}
		return f.base(w, RetOK, "", map[string]any{"AddMsgCount": len(msgs), "AddMsgList": msgs, "SyncKey": key,
			"SyncCheckKey": key, "ContinueFlag": 0, "Skey": ""})
	case mm + "webwxbatchgetcontact":
		list := []any{}
		for _, item := range req.List {
			for _, c := range f.contacts {
				if c.UserName != item.UserName {
					continue
				}
				u := f.userJSON(c)
				members := []any{}
				for _, m := range c.Members {
					members = append(members, map[string]any{"UserName": m.UserName, "NickName": m.NickName, "DisplayName": m.DisplayName})
				}
				u["MemberList"], u["MemberCount"] = members, len(members)
				list = append(list, u)
			}
		}
		return f.base(w, RetOK, "", map[string]any{"Count": len(list), "ContactList": list})
	case mm + "webwxstatusnotify":
		if r.URL.Query().Get("pass_ticket") != s.pass {
			return f.base(w, RetParamError, "bad pass_ticket", nil)
		}
		return f.base(w, RetOK, "", map[string]any{"MsgID": "1"})
	case mm + "webwxsendmsg", mm + "webwxsendmsgimg":
		if r.URL.Query().Get("pass_ticket") != s.pass {
			return f.base(w, RetParamError, "bad pass_ticket", nil)
		}
		if len(f.failSends) > 0 {
			ret := f.failSends[0]
			f.failSends = f.failSends[1:]
			return f.base(w, ret, "forced by the test", nil)
		}
		m := req.Msg
		wantType := 1
		if p == mm+"webwxsendmsgimg" {
			wantType = 3
		}
		switch {
		case m.Type != wantType:
			return f.base(w, RetParamError, "bad Msg.Type", nil)
		case m.FromUserName != f.self.UserName:
			return f.base(w, RetParamError, "bad FromUserName", nil)
		case !f.known(m.ToUserName):
			return f.base(w, RetParamError, "unknown ToUserName", nil)
		case m.ClientMsgId == "" || m.LocalID == "":
			return f.base(w, RetParamError, "missing ClientMsgId", nil)
		case wantType == 1 && m.Content == "":
			return f.base(w, RetParamError, "empty content", nil)
		case wantType == 3 && f.media[m.MediaId] == nil:
			return f.base(w, RetParamError, "unknown MediaId", nil)
		}
		f.nextID++
		msg := WebMessage{Type: m.Type, From: m.FromUserName, To: m.ToUserName, Content: m.Content, MediaID: m.MediaId,
			MsgID: strconv.FormatInt(f.nextID, 10), ClientMsgID: m.ClientMsgId, At: f.now()}
		if wantType == 3 {
			msg.Image = f.media[m.MediaId]
		}
		f.messages = append(f.messages, msg)
		return f.base(w, RetOK, "", map[string]any{"MsgID": msg.MsgID, "LocalID": m.LocalID})
	case mm + "webwxrevokemsg":
		for i := range f.messages {
			m := &f.messages[i]
			if m.MsgID != string(req.SvrMsgId) {
				continue
			}
			if m.ClientMsgID != string(req.ClientMsgId) || m.To != req.ToUserName || m.Revoked {
				return f.base(w, RetParamError, "revoke does not match the message", nil)
			}
			if f.now().Sub(m.At) >= RevokeWindow {
				return f.base(w, RetParamError, "revoke time out", nil)
			}
			m.Revoked = true
			return f.base(w, RetOK, "", map[string]any{"Introduction": "", "SysWording": ""})
		}
		return f.base(w, RetParamError, "no such message", nil)
	}
	return f.base(w, RetParamError, "unhandled", nil)
}

// base answers {"BaseResponse":{"Ret","ErrMsg"}, …extra}.
func (f *Web) base(w http.ResponseWriter, ret int, msg string, extra map[string]any) int {
	out := map[string]any{"BaseResponse": map[string]any{"Ret": ret, "ErrMsg": msg}}
	for k, v := range extra {
		out[k] = v
	}
	w.Header().Set("Content-Type", "text/plain")
	_ = json.NewEncoder(w).Encode(out)
	return ret
}

func (f *Web) userJSON(c Contact) map[string]any {
	return map[string]any{"UserName": c.UserName, "NickName": c.NickName, "RemarkName": c.RemarkName, "VerifyFlag": c.VerifyFlag}
}

func (f *Web) known(user string) bool {
	if user == "filehelper" {
		return true
	}
	for _, c := range f.contacts {
		if c.UserName == user {
			return true
		}
	}
	return false
}

// sessionFor checks a BaseRequest and the wxsid cookie; f.mu must be held.
func (f *Web) sessionFor(b baseRequest, r *http.Request) *webSession {
	s := f.sessions[b.Sid]
	if s == nil || !s.valid || s.uin != b.Uin || s.skey != b.Skey {
		return nil
	}
	if c, err := r.Cookie("wxsid"); err != nil || c.Value != s.sid {
		return nil
	}
	return s
}

func (f *Web) sessionBySkey(skey string) *webSession {
	for _, s := range f.sessions {
		if s.skey == skey {
			return s
		}
	}
	return nil
}

func (f *Web) jslogin(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	if q.Get("appid") != WebAppID || q.Get("fun") != "new" {
		_, _ = io.WriteString(w, `window.QRLogin.code = 400; window.QRLogin.error = "bad appid";`)
		return 400
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Host != Domain {
		_, _ = io.WriteString(w, `window.QRLogin.code = 400; window.QRLogin.error = "bad redirect_uri";`)
		return 400
	}
	f.mu.Lock()
	f.nextUUID++
	uuid := fmt.Sprintf("QRuuid%03d==", f.nextUUID)
	f.logins[uuid] = &loginState{desktop: redirect.Query().Get("mod") == "desktop"}
	f.uuids = append(f.uuids, uuid)
	f.mu.Unlock()
	fmt.Fprintf(w, `window.QRLogin.code = 200; window.QRLogin.uuid = "%s";`, uuid)
	return 200
}

func (f *Web) checkLogin(w http.ResponseWriter, r *http.Request) int {
	uuid := r.URL.Query().Get("uuid")
	deadline := time.NewTimer(f.hold())
	defer deadline.Stop()
	for {
		f.mu.Lock()
		st := f.logins[uuid]
		if st == nil {
			f.mu.Unlock()
			_, _ = io.WriteString(w, "window.code=400;")
			return 400
		}
		switch {
		case st.confirmed:
			if st.ticket == "" {
				st.ticket = "ticket-" + uuid
			}
			f.mu.Unlock()
			fmt.Fprintf(w, "window.code=200;\nwindow.redirect_uri=\"https://%s/cgi-bin/mmwebwx-bin/webwxnewloginpage?ticket=%s&uuid=%s&lang=zh_CN&scan=%d\";",
				Domain, url.QueryEscape(st.ticket), url.QueryEscape(uuid), f.now().Unix())
			return 200
		case st.scanned && !st.reported:
			st.reported = true
			f.mu.Unlock()
			_, _ = io.WriteString(w, "window.code=201;window.userAvatar = 'data:img/jpg;base64,AAAA';")
			return 201
		}
		changed := f.changed
		f.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			_, _ = io.WriteString(w, "window.code=408;")
			return 408
		case <-r.Context().Done():
			return -1
		}
	}
}

func (f *Web) newLoginPage(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.logins[q.Get("uuid")]
	xmlErr := func(ret int, msg string) int {
		fmt.Fprintf(w, "<error><ret>%d</ret><message>%s</message></error>", ret, msg)
		return ret
	}
	if st == nil || !st.confirmed || st.ticket == "" || q.Get("ticket") != st.ticket {
		return xmlErr(RetLoggedOut, "ticket invalid")
	}
	desktop := st.desktop && r.Header.Get("client-version") != "" && r.Header.Get("extspam") != ""
	if !desktop {
		return xmlErr(RetEnvAbnorm, "为了你的帐号安全，此微信号不能登录网页微信。")
	}
	st.ticket = "used" // one use
	s := f.newSessionLocked()
	for _, c := range []*http.Cookie{
		{Name: "wxuin", Value: strconv.FormatInt(s.uin, 10), Domain: Domain, Path: "/"},
		{Name: "wxsid", Value: s.sid, Domain: Domain, Path: "/"},
		{Name: "webwx_data_ticket", Value: s.dataTicket, Domain: Domain, Path: "/"},
	} {
		http.SetCookie(w, c)
	}
	fmt.Fprintf(w, "<error><ret>0</ret><message></message><skey>%s</skey><wxsid>%s</wxsid><wxuin>%d</wxuin><pass_ticket>%s</pass_ticket><isgrayscale>1</isgrayscale></error>",
		s.skey, s.sid, s.uin, s.pass)
	return 0
}

func (f *Web) syncCheck(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	deadline := time.NewTimer(f.hold())
	defer deadline.Stop()
	for {
		f.mu.Lock()
		s := f.sessions[q.Get("sid")]
		ok := s != nil && s.valid && s.skey == q.Get("skey") && strconv.FormatInt(s.uin, 10) == q.Get("uin") && q.Get("synckey") != ""
		news := len(f.inbox) > 0
		changed := f.changed
		f.mu.Unlock()
		if !ok {
			_, _ = io.WriteString(w, `window.synccheck={retcode:"1101",selector:"0"}`)
			return RetLoggedOut
		}
		if news {
			_, _ = io.WriteString(w, `window.synccheck={retcode:"0",selector:"2"}`)
			return 0
		}
		select {
		case <-changed:
			continue
		case <-deadline.C:
			_, _ = io.WriteString(w, `window.synccheck={retcode:"0",selector:"0"}`)
			return 0
		case <-r.Context().Done():
			return -1
		}
	}
}

func (f *Web) getContact(w http.ResponseWriter, r *http.Request) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessionBySkey(r.URL.Query().Get("skey"))
	if s == nil || !s.valid {
		return f.base(w, RetLoggedOut, "", nil)
	}
	if c, err := r.Cookie("wxsid"); err != nil || c.Value != s.sid {
		return f.base(w, RetLoggedOut, "", nil)
	}
	list := make([]any, 0, len(f.contacts))
	for _, c := range f.contacts {
		list = append(list, f.userJSON(c))
	}
	return f.base(w, RetOK, "", map[string]any{"MemberCount": len(list), "MemberList": list, "Seq": 0})
}

func (f *Web) upload(w http.ResponseWriter, r *http.Request, body []byte) int {
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		return f.base(w, RetParamError, "bad multipart", nil)
	}
	var meta struct {
		BaseRequest baseRequest
		FileMd5     string
		ToUserName  string
		MediaType   int
	}
	if err := json.Unmarshal([]byte(r.FormValue("uploadmediarequest")), &meta); err != nil {
		return f.base(w, RetParamError, "bad uploadmediarequest", nil)
	}
	file, _, err := r.FormFile("filename")
	if err != nil {
		return f.base(w, RetParamError, "no file", nil)
	}
	data, _ := io.ReadAll(file)
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessions[meta.BaseRequest.Sid]
	if s == nil || !s.valid || s.uin != meta.BaseRequest.Uin || s.skey != meta.BaseRequest.Skey {
		return f.base(w, RetLoggedOut, "", nil)
	}
	c, err := r.Cookie("webwx_data_ticket")
	if err != nil || c.Value != s.dataTicket || r.FormValue("webwx_data_ticket") != s.dataTicket {
		return f.base(w, RetLoggedOut, "webwx_data_ticket missing", nil)
	}
	if r.FormValue("pass_ticket") != s.pass {
		return f.base(w, RetParamError, "bad pass_ticket", nil)
	}
	sum := md5.Sum(data)
	if meta.FileMd5 != hex.EncodeToString(sum[:]) {
		return f.base(w, RetParamError, "md5 mismatch", nil)
	}
	id := fmt.Sprintf("@crypt_media_%d", len(f.media)+1)
	f.media[id] = data
	return f.base(w, RetOK, "", map[string]any{"MediaId": id, "StartPos": len(data)})
}

// flexString decodes a JSON string or number as its text.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n)
	return nil
}
