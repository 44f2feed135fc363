package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/eatmoreapple/openwechat"
)

// This file is the only one that speaks openwechat (v1.4.10, desktop/UOS
// mode, docs/platforms.md). Everything it does goes through openwechat's
// Caller, whose methods take a ctx, rather than the Bot/Self helpers, which
// use the bot's own context.

// webHTTPClient is the HTTP client openwechat gets: the transport of the
// environment's client (tests point it at a fake), no redirects followed
// (the login flow reads them), and a timeout above the 25 s long polls of
// the login and sync endpoints (openwechat DefaultClient uses 30 s).
func webHTTPClient(base *http.Client) *http.Client {
	var rt http.RoundTripper
	if base != nil {
		rt = base.Transport
	}
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: 35 * time.Second,
	}
}

// userAgent is what openwechat's default client sends (UOS browser).
type userAgent struct{}

func (userAgent) BeforeRequest(r *http.Request) {
	r.Header.Set("User-Agent", "Mozilla/5.0 (Linux; U; UOS x86_64; zh-cn) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36 UOSBrowser/6.0.1.1001")
}
func (userAgent) AfterRequest(*http.Response, error) {}

// newBot makes a desktop-mode bot on hc that never opens a browser, never
// prints, and never retries a request by itself: a retried send is a
// duplicate message, and retries are the router's business.
func newBot(ctx context.Context, hc *http.Client, log *slog.Logger) *openwechat.Bot {
	bot := openwechat.NewBot(ctx)
	client := openwechat.NewClient(hc)
	client.MaxRetryTimes = 1
	client.AddHttpHook(userAgent{}, &jarRepair{client: client})
	bot.Caller = openwechat.NewCaller(client)
	openwechat.Desktop.Prepare(bot)
	bot.UUIDCallback = func(string) {}
	bot.SyncCheckCallback = nil
	bot.MessageErrorHandler = syncErrorHandler(bot, log)
	return bot
}

// syncErrorHandler keeps the background sync loop alive through network
// trouble (with a pause, so a dead network is not hammered) and ends the
// session when web WeChat says the login is gone.
func syncErrorHandler(bot *openwechat.Bot, log *slog.Logger) openwechat.MessageErrorHandler {
	return func(err error) error {
		var ret openwechat.Ret
		if errors.As(err, &ret) && sessionLost(int(ret)) {
			return err
		}
		log.Debug("wechat sync hiccup", "reason", err.Error())
		select {
		case <-bot.Context().Done():
		case <-time.After(2 * time.Second):
		}
		return nil
	}
}

// convertErr maps openwechat's errors to RetError and network errors,
// without request URLs (they carry session tickets).
func convertErr(err error) error {
	if err == nil {
		return nil
	}
	var ret openwechat.Ret
	if errors.As(err, &ret) {
		return &RetError{Ret: int(ret)}
	}
	return redactURLError(err)
}

// sessionFile is openwechat's hot-reload storage on a file, written
// atomically with mode 0600: it holds the login cookies.
type sessionFile struct {
	path    string
	mu      sync.Mutex
	r       *bytes.Reader
	stopped bool // the session was closed: openwechat's loop may still try to write
}

// stop ends the writes: once it returns, none is under way and none follows
// (the caller may remove the file's directory).
func (s *sessionFile) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}

func (s *sessionFile) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r == nil {
		raw, err := os.ReadFile(s.path)
		if err != nil {
			return 0, err
		}
		s.r = bytes.NewReader(raw)
	}
	return s.r.Read(p)
}

// Write stores one complete session (openwechat writes each as one JSON
// document in one call).
func (s *sessionFile) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return 0, errors.New("session closed")
	}
	if err := writeFileAtomic(s.path, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// storedSession is the part of openwechat's HotReloadStorageItem checked
// before a hot login: openwechat itself would panic on a session without a
// cookie jar.
type storedSession struct {
	Jar         map[string][]json.RawMessage
	BaseRequest *struct {
		Uin                 int64
		Sid, Skey, DeviceID string
	}
	LoginInfo *struct {
		WxUin      int64
		SKey       string
		WxSid      string
		PassTicket string
	}
	WechatDomain string
}

// checkSessionFile reads a stored session and says what is wrong with it.
func checkSessionFile(raw []byte) error {
	var s storedSession
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("session file is not a stored session: %w", err)
	}
	switch {
	case s.Jar == nil:
		return errors.New("session file has no cookies")
	case s.BaseRequest == nil || s.BaseRequest.Sid == "" || s.BaseRequest.Skey == "":
		return errors.New("session file has no BaseRequest")
	case s.LoginInfo == nil || s.LoginInfo.WxSid == "":
		return errors.New("session file has no LoginInfo")
	case s.WechatDomain == "":
		return errors.New("session file has no domain")
	}
	if u, err := url.Parse("https://" + s.WechatDomain); err != nil || u.Host != s.WechatDomain {
		return fmt.Errorf("session file has a bad domain %q", clip(s.WechatDomain, 60))
	}
	return nil
}

// webConnector logs in from a session file with the real openwechat client.
type webConnector struct {
	path string
	http *http.Client
	log  *slog.Logger
	// onMessage takes the group messages of every session (set once, by
	// the driver, before the first login).
	onMessage func(Incoming)
}

// SetInbound sets what receives the group messages of the sessions.
func (c *webConnector) SetInbound(f func(Incoming)) { c.onMessage = f }

func (c *webConnector) Stamp() string {
	st, err := os.Stat(c.path)
	if err != nil {
		return ""
	}
	return st.ModTime().UTC().Format(time.RFC3339Nano) + "/" + strconv.FormatInt(st.Size(), 10)
}

func (c *webConnector) HotLogin(ctx context.Context) (Session, error) {
	raw, err := os.ReadFile(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no session file at %s", ErrLoginRequired, c.path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the session file: %w", err)
	}
	if err := checkSessionFile(raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLoginRequired, err)
	}
	bctx, cancel := context.WithCancel(ctx)
	bot := newBot(bctx, c.http, c.log)
	if c.onMessage != nil {
		// openwechat's sync loop (the one HotLogin starts, which also keeps
		// the login alive) hands every message here.
		bot.MessageHandler = messageHandler(c.onMessage, c.log)
	}
	// No login options: without a valid session HotLogin fails instead of
	// falling back to a QR scan nobody is there to do.
	file := &sessionFile{path: c.path}
	if err := bot.HotLogin(file); err != nil {
		file.stop()
		cancel()
		err = convertErr(err)
		var re *RetError
		if errors.As(err, &re) && sessionLost(re.Ret) {
			return nil, fmt.Errorf("%w: the stored session is no longer valid (%v)", ErrLoginRequired, err)
		}
		return nil, fmt.Errorf("hot login: %w", err)
	}
	self, err := bot.GetCurrentUser()
	if err != nil {
		file.stop()
		cancel()
		return nil, fmt.Errorf("hot login: %w", err)
	}
	return &webSession{
		bot:    bot,
		file:   file,
		cancel: cancel,
		self:   self.UserName,
		info:   bot.Storage.LoginInfo,
		req:    bot.Storage.Request,
	}, nil
}

// jarRepair fixes two faults of openwechat's cookie jar after a hot
// reload, on the first request once the domain is known (webwxinit, before
// the session is written back and before any other goroutine uses the
// client):
//
//   - Jar.UnmarshalJSON does not record the hosts its cookies belong to, and
//     Jar.MarshalJSON writes only recorded hosts, so the session file written
//     right after a hot login has no cookies and the next restart needs a
//     new scan. Setting the cookies again records their host.
//   - Cookies are stored per host without their Domain, so after a reload
//     webwx_data_ticket is known only for wx.qq.com and image uploads to
//     file.wx.qq.com fail with ErrWebWxDataTicketNotFound. It is copied to
//     the file host.
type jarRepair struct {
	client *openwechat.Client
	mu     sync.Mutex
	done   bool
}

func (h *jarRepair) BeforeRequest(*http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done || h.client.Domain == "" {
		return
	}
	h.done = true
	jar := h.client.Jar()
	base, err1 := url.Parse(h.client.Domain.BaseHost() + "/")
	file, err2 := url.Parse(h.client.Domain.FileHost() + "/")
	if err1 != nil || err2 != nil {
		return
	}
	cookies := jar.Cookies(base)
	if len(cookies) == 0 {
		return
	}
	if raw, err := json.Marshal(jar); err == nil && string(raw) == "{}" {
		jar.SetCookies(base, hostCookies(cookies))
	}
	for _, c := range jar.Cookies(file) {
		if c.Name == "webwx_data_ticket" {
			return // a domain cookie already covers the file host
		}
	}
	for _, c := range cookies {
		if c.Name == "webwx_data_ticket" {
			jar.SetCookies(file, hostCookies([]*http.Cookie{c}))
		}
	}
}

func (h *jarRepair) AfterRequest(*http.Response, error) {}

func hostCookies(cs []*http.Cookie) []*http.Cookie {
	out := make([]*http.Cookie, len(cs))
	for i, c := range cs {
		out[i] = &http.Cookie{Name: c.Name, Value: c.Value, Path: "/"}
	}
	return out
}

// webSession is a logged-in openwechat bot.
type webSession struct {
	bot    *openwechat.Bot
	file   *sessionFile
	cancel context.CancelFunc
	self   string
	info   *openwechat.LoginInfo
	req    *openwechat.BaseRequest

	mu     sync.Mutex
	closed bool
}

func (s *webSession) Groups(ctx context.Context) ([]Group, error) {
	members, err := s.bot.Caller.WebWxGetContact(ctx, s.info)
	if err != nil {
		return nil, convertErr(err)
	}
	var out []Group
	for _, m := range members {
		if m == nil || !m.IsGroup() {
			continue
		}
		out = append(out, Group{
			UserName:   m.UserName,
			NickName:   openwechat.FormatEmoji(m.NickName),
			RemarkName: openwechat.FormatEmoji(m.RemarkName),
		})
	}
	return out, nil
}

func (s *webSession) SendText(ctx context.Context, to, text string) (Sent, error) {
	msg := openwechat.NewTextSendMessage(text, s.self, to)
	sent, err := s.bot.Caller.WebWxSendMsg(ctx, &openwechat.CallerWebWxSendMsgOptions{
		LoginInfo: s.info, BaseRequest: s.req, Message: msg,
	})
	if err != nil {
		return Sent{}, convertErr(err)
	}
	return Sent{MsgID: sent.MsgId, ClientMsgID: msg.ClientMsgId}, nil
}

func (s *webSession) SendImage(ctx context.Context, to string, image []byte) (Sent, error) {
	sent, err := s.bot.Caller.WebWxSendImageMsg(ctx, bytes.NewReader(image), &openwechat.CallerWebWxSendImageMsgOptions{
		FromUserName: s.self, ToUserName: to, BaseRequest: s.req, LoginInfo: s.info,
	})
	if err != nil {
		return Sent{}, convertErr(err)
	}
	return Sent{MsgID: sent.MsgId, ClientMsgID: sent.ClientMsgId}, nil
}

func (s *webSession) Revoke(ctx context.Context, to string, m Sent) error {
	msg := &openwechat.SentMessage{
		SendMessage: &openwechat.SendMessage{ClientMsgId: m.ClientMsgID, ToUserName: to},
		MsgId:       m.MsgID,
	}
	return convertErr(s.bot.Caller.WebWxRevokeMsg(ctx, msg, s.req))
}

func (s *webSession) Done() <-chan struct{} { return s.bot.Context().Done() }

func (s *webSession) Err() error {
	select {
	case <-s.Done():
	default:
		return nil
	}
	if err := s.bot.CrashReason(); err != nil {
		return convertErr(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("session closed")
	}
	return context.Cause(s.bot.Context())
}

// Close stops the sync loop without logging out, so the stored session
// stays usable.
func (s *webSession) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.file.stop()
}

// messageHandler reads the group messages and system notes of the sync
// loop into Incoming; messages of one-to-one chats and media are skipped.
// It runs on the sync loop: the lookups it makes (the group's name and
// members, cached by openwechat after the first) are on the session.
func messageHandler(deliver func(Incoming), log *slog.Logger) openwechat.MessageHandler {
	return func(msg *openwechat.Message) {
		in, ok := incomingOf(msg)
		if !ok {
			return
		}
		if in.Group == "" {
			log.Debug("wechat message of a group whose name is unknown skipped", "msg_id", msg.MsgId)
			return
		}
		deliver(in)
	}
}

func incomingOf(msg *openwechat.Message) (Incoming, bool) {
	if !msg.IsComeFromGroup() || (!msg.IsText() && !msg.IsSystem()) || msg.Owner() == nil {
		return Incoming{}, false
	}
	in := Incoming{
		ID:     msg.MsgId,
		Text:   msg.Content,
		System: msg.IsSystem(),
		Self:   msg.IsSendBySelf(),
		At:     time.Unix(msg.CreateTime, 0),
	}
	var group *openwechat.User
	var err error
	if in.Self {
		group, err = msg.Receiver()
	} else {
		group, err = msg.Sender()
	}
	if err == nil && group != nil {
		in.Group = openwechat.FormatEmoji(group.NickName)
	}
	switch {
	case in.System:
	case in.Self:
		self := msg.Owner()
		in.SenderUser, in.SenderNick, in.SenderName = self.UserName, self.NickName, self.NickName
	default:
		in.MentionsMe = msg.IsAt()
		if u, err := msg.SenderInGroup(); err == nil && u != nil {
			in.SenderUser, in.SenderNick = u.UserName, openwechat.FormatEmoji(u.NickName)
			in.SenderName = openwechat.FormatEmoji(u.DisplayName)
			if in.SenderName == "" {
				in.SenderName = in.SenderNick
			}
		}
	}
	return in, true
}
