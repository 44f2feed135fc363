package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/internal/backoff"
	"github.com/groupcast/groupcast/transform"
)

// OpenWeChatDriver is the driver table entry for personal WeChat accounts
// logged in through openwechat's desktop (UOS) web protocol
// (platform wechat, driver openwechat).
var OpenWeChatDriver = adapters.Define("openwechat", configs.DriverSpec{
	Platform: Platform,
	Groups:   configs.GroupsRequired,
	DefaultRate: configs.Rate{
		PerMinute: OpenWeChatPerMinute,
		MinGap:    OpenWeChatMinGap,
		MaxGap:    OpenWeChatMaxGap,
	},
	CheckGroup: checkGroupName,
}, func(ac configs.Account, c OpenWeChatConfig, env adapters.Env) (groupcast.Sender, error) {
	return NewOpenWeChat(ac.Name, c, env)
})

// checkGroupName: WeChat group names are free text, but a name with a line
// break or surrounding spaces cannot match a saved group exactly.
func checkGroupName(g string) error {
	if strings.TrimSpace(g) != g || strings.ContainsAny(g, "\r\n") {
		return errors.New("a WeChat group name must be one line without surrounding spaces")
	}
	return nil
}

// ErrLoginRequired means there is no usable stored session: someone has to
// scan a QR code with `groupcast login wechat ACCOUNT`.
var ErrLoginRequired = errors.New("login required")

// Group is a group saved to the account's contacts.
type Group struct {
	// UserName is the session's id of the group ("@@…"); it changes at
	// every login, so groupcast never stores it.
	UserName   string
	NickName   string
	RemarkName string
}

// Sent identifies a sent message for a later revoke.
type Sent struct {
	MsgID       string // the server's id (SvrMsgId)
	ClientMsgID string // the client's id: a timestamp in units of 100 ns
}

// Session is a logged-in personal WeChat account, the part of openwechat the
// driver uses. It is safe for concurrent use.
type Session interface {
	// Groups lists the groups saved to the account's contacts.
	Groups(ctx context.Context) ([]Group, error)
	SendText(ctx context.Context, to, text string) (Sent, error)
	SendImage(ctx context.Context, to string, image []byte) (Sent, error)
	Revoke(ctx context.Context, to string, s Sent) error
	// Done is closed when the session ends: logout, kick or Close.
	Done() <-chan struct{}
	// Err says why the session ended, once Done is closed.
	Err() error
	// Close stops the session without logging out.
	Close()
}

// Connector opens sessions from the stored login.
type Connector interface {
	// HotLogin logs in from the stored session without a scan. It returns an
	// error wrapping ErrLoginRequired when there is no stored session or it
	// is no longer valid.
	HotLogin(ctx context.Context) (Session, error)
	// Stamp changes whenever the stored session does (a new login).
	Stamp() string
}

// RetError is a web WeChat BaseResponse.Ret other than 0.
type RetError struct {
	Ret int
	Msg string
}

func (e *RetError) Error() string {
	name := map[int]string{
		retTicketError: "ticket error", retLogicError: "logic error", retSysError: "system error",
		retParamError: "parameter error", retLoginWarn: "logged out", retLoginCheck: "logged out",
		retCookieInvalid: "cookie invalid", retEnvAbnormal: "login environment abnormal",
		retTooOften: "operate too often",
	}[e.Ret]
	if name == "" {
		name = "unknown"
	}
	if e.Msg != "" {
		return fmt.Sprintf("web wechat ret %d (%s): %s", e.Ret, name, e.Msg)
	}
	return fmt.Sprintf("web wechat ret %d (%s)", e.Ret, name)
}

// sessionLost reports whether ret means the login is gone.
func sessionLost(ret int) bool {
	switch ret {
	case retLoginWarn, retLoginCheck, retCookieInvalid, retEnvAbnormal, retTicketError:
		return true
	}
	return false
}

// OpenWeChat sends as one personal WeChat account.
type OpenWeChat struct {
	name       string
	env        adapters.Env
	conn       Connector
	daily      *dailyCounter
	sem        chan struct{}
	retryEvery time.Duration // how often Start looks for a new session file
	// The reconnect backoff: hot logins that fail, or sessions that end
	// within stable, wait backoffMin doubling to 5 min (jittered).
	backoffMin time.Duration
	stable     time.Duration
	after      func(time.Duration) <-chan time.Time // Start's timer; tests inject theirs
	// groupRefresh is the least time between two reloads of the group list
	// when a name is not found.
	groupRefresh time.Duration

	mu       sync.Mutex
	sess     Session
	notReady error
	groups   []Group
	groupsAt time.Time
	inbound  *inboundTarget // set while Listen runs
}

var (
	_ groupcast.Sender   = (*OpenWeChat)(nil)
	_ groupcast.Parter   = (*OpenWeChat)(nil)
	_ groupcast.Recaller = (*OpenWeChat)(nil)
	_ groupcast.Starter  = (*OpenWeChat)(nil)
	_ groupcast.Readier  = (*OpenWeChat)(nil)
)

// NewOpenWeChat builds the sender on the real openwechat client; it does no
// I/O (login happens in Start).
func NewOpenWeChat(name string, c OpenWeChatConfig, env adapters.Env) (*OpenWeChat, error) {
	env = env.WithDefaults()
	if c.SessionFile == "" {
		return nil, errors.New("session_file: required by driver openwechat")
	}
	conn := &webConnector{path: c.SessionFile, http: webHTTPClient(env.HTTPClient), log: env.Logger}
	return NewOpenWeChatWith(name, c, env, conn)
}

// NewOpenWeChatWith builds the sender on any Connector (tests use a fake).
func NewOpenWeChatWith(name string, c OpenWeChatConfig, env adapters.Env, conn Connector) (*OpenWeChat, error) {
	env = env.WithDefaults()
	if probs := c.Check(); len(probs) > 0 {
		return nil, errors.New(strings.Join(probs, "; "))
	}
	limit := c.DailyLimit
	if limit == 0 {
		limit = DefaultDailyLimit
	}
	var dailyPath string
	if env.DataDir != "" {
		dailyPath = filepath.Join(env.DataDir, "wechat-"+safeName(name)+"-daily.json")
	}
	w := &OpenWeChat{
		name:         name,
		env:          env,
		conn:         conn,
		daily:        &dailyCounter{limit: limit, path: dailyPath, loc: env.Location, log: env.Logger, store: env.Daily},
		sem:          make(chan struct{}, 1),
		retryEvery:   10 * time.Second,
		backoffMin:   backoff.DefaultMin,
		stable:       backoff.DefaultStable,
		after:        time.After,
		groupRefresh: time.Minute,
		notReady:     errors.New("starting: logging in from the session file"),
	}
	if ic, ok := conn.(interface{ SetInbound(func(Incoming)) }); ok {
		ic.SetInbound(w.incoming)
	}
	return w, nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == ':' {
			return '_'
		}
		return r
	}, s)
}

func (w *OpenWeChat) loginHint() string {
	return "run groupcast login wechat " + w.name
}

// Ready is nil while the account is logged in, else says why not and what
// to do.
func (w *OpenWeChat) Ready() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sess != nil {
		return nil
	}
	return w.notReady
}

// Start logs in from the session file and keeps the account logged in until
// ctx ends. Without a valid session it reports not ready, logs what to run,
// and waits for the session file to change; it never blocks other accounts.
func (w *OpenWeChat) Start(ctx context.Context) error {
	log := w.env.Logger
	// One hot login, and one log line, per backoff step. A session that
	// ends within w.stable of its login (a server that lets in and throws
	// out at once) counts as a failure: the next login waits longer.
	bo := backoff.Backoff{Min: w.backoffMin, Max: backoff.DefaultMax}
	var lost error // why the last session ended, kept for Ready
	for {
		stamp := w.conn.Stamp()
		sess, err := w.conn.HotLogin(ctx)
		if ctx.Err() != nil {
			if sess != nil {
				sess.Close()
			}
			w.setNotReady(nil, errors.New("stopped"))
			return nil
		}
		if err != nil {
			if errors.Is(err, ErrLoginRequired) {
				why := err
				if lost != nil {
					why = fmt.Errorf("logged out: %v; %w", lost, err)
				}
				w.setNotReady(nil, fmt.Errorf("waiting for QR login: %s (%v)", w.loginHint(), why))
				log.Warn("wechat account needs a QR login", "state", "not_ready", "reason", err.Error(),
					"hint", w.loginHint())
				if !w.waitForNewSession(ctx, stamp) {
					return nil
				}
				bo.Reset()
				continue
			}
			wait := bo.Next()
			w.setNotReady(nil, fmt.Errorf("connecting: %v; retrying in %s", err, wait.Round(time.Millisecond)))
			log.Warn("wechat hot login failed; retrying", "state", "not_ready", "reason", err.Error(),
				"attempt", bo.Failures(), "retry_in", wait.String())
			if !w.sleep(ctx, wait) {
				return nil
			}
			continue
		}
		lost = nil
		loggedIn := w.env.Now()
		groups, gerr := sess.Groups(ctx)
		if gerr != nil {
			log.Warn("wechat group list failed; it is reloaded when a send needs it", "reason", gerr.Error())
		}
		w.mu.Lock()
		w.sess, w.notReady = sess, nil
		w.groups, w.groupsAt = groups, w.env.Now()
		if gerr != nil {
			w.groupsAt = time.Time{}
		}
		w.mu.Unlock()
		log.Info("wechat account logged in", "state", "ready", "groups", len(groups))
		for name, n := range duplicateNames(groups) {
			log.Warn("wechat group name is ambiguous: targets naming it will fail", "group", name, "count", n)
		}
		select {
		case <-ctx.Done():
			sess.Close()
			w.setNotReady(sess, errors.New("stopped"))
			return nil
		case <-sess.Done():
			reason := sess.Err()
			if reason == nil {
				reason = errors.New("session closed")
			}
			lost = reason
			w.setNotReady(sess, fmt.Errorf("logged out (%v): %s", reason, w.loginHint()))
			if w.env.Now().Sub(loggedIn) >= w.stable {
				bo.Reset()
				log.Error("wechat account logged out or kicked", "state", "not_ready", "reason", reason.Error(),
					"hint", w.loginHint())
				continue
			}
			wait := bo.Next()
			log.Error("wechat account logged out or kicked", "state", "not_ready", "reason", reason.Error(),
				"hint", w.loginHint(), "attempt", bo.Failures(), "retry_in", wait.String())
			if !w.sleep(ctx, wait) {
				return nil
			}
		}
	}
}

// sleep waits d on Start's timer; false if ctx ended first.
func (w *OpenWeChat) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-w.after(d):
		return true
	}
}

// setNotReady records why the account cannot send. With sess non-nil it
// only applies while sess is still the current session.
func (w *OpenWeChat) setNotReady(sess Session, why error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if sess != nil && w.sess != sess {
		return
	}
	w.sess, w.notReady = nil, why
}

// drop ends sess after a send found the login gone.
func (w *OpenWeChat) drop(sess Session, why error) {
	w.setNotReady(sess, fmt.Errorf("logged out (%v): %s", why, w.loginHint()))
	sess.Close()
}

// waitForNewSession polls the session file until it changes (someone ran
// the login command) or ctx ends.
func (w *OpenWeChat) waitForNewSession(ctx context.Context, stamp string) bool {
	t := time.NewTicker(w.retryEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			if w.conn.Stamp() != stamp {
				return true
			}
		}
	}
}

func duplicateNames(groups []Group) map[string]int {
	seen := map[string]int{}
	for _, g := range groups {
		seen[g.NickName]++
	}
	dup := map[string]int{}
	for n, c := range seen {
		if c > 1 {
			dup[n] = c
		}
	}
	return dup
}

func (w *OpenWeChat) current() (Session, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sess == nil {
		return nil, w.notReady
	}
	return w.sess, nil
}

// Parts splits the text at OpenWeChatPartChars characters; web WeChat has
// no Markdown, so the text goes as it is.
func (w *OpenWeChat) Parts(r groupcast.Rendered) ([]string, error) {
	text := strings.TrimSpace(r.Text)
	if text == "" {
		return nil, groupcast.Permanent("empty", errors.New("empty text"))
	}
	parts, err := transform.Split(text, OpenWeChatPartChars, transform.Chars)
	if err != nil {
		return nil, groupcast.Permanent("split", err)
	}
	return parts, nil
}

// ResolveGroup finds the saved group named name. A missing or ambiguous
// name is a Permanent error naming the group: the driver never guesses.
func (w *OpenWeChat) ResolveGroup(ctx context.Context, name string) (Group, error) {
	sess, err := w.current()
	if err != nil {
		return Group{}, groupcast.Throttled("not_ready", NotReadyPause, err)
	}
	return w.resolve(ctx, sess, name)
}

// CheckGroups resolves every name (the groups routes send to, checked once
// the account is ready) and reports each missing or ambiguous one, so that
// a bad name shows at start rather than on the first announcement.
func (w *OpenWeChat) CheckGroups(ctx context.Context, names []string) error {
	var errs []error
	for _, n := range names {
		if _, err := w.ResolveGroup(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (w *OpenWeChat) resolve(ctx context.Context, sess Session, name string) (Group, error) {
	w.mu.Lock()
	groups, at := w.groups, w.groupsAt
	w.mu.Unlock()
	matches := matchGroup(groups, name)
	if len(matches) == 0 && (at.IsZero() || w.env.Now().Sub(at) >= w.groupRefresh) {
		fresh, err := sess.Groups(ctx)
		if err != nil {
			return Group{}, w.classify(sess, fmt.Errorf("listing groups: %w", err))
		}
		w.mu.Lock()
		if w.sess == sess {
			w.groups, w.groupsAt = fresh, w.env.Now()
		}
		w.mu.Unlock()
		groups, matches = fresh, matchGroup(fresh, name)
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return Group{}, groupcast.Permanent("group_not_found", fmt.Errorf(
			"no group named %q among the %d groups saved to the contacts of %s (open the group on the phone and choose 保存到通讯录)",
			name, len(groups), w.name))
	default:
		return Group{}, groupcast.Permanent("group_ambiguous", fmt.Errorf(
			"%d saved groups are named %q: rename one so that the name is unique", len(matches), name))
	}
}

// matchGroup matches the group name exactly, else the remark name exactly.
func matchGroup(groups []Group, name string) []Group {
	var byNick, byRemark []Group
	for _, g := range groups {
		if g.NickName == name {
			byNick = append(byNick, g)
		} else if g.RemarkName != "" && g.RemarkName == name {
			byRemark = append(byRemark, g)
		}
	}
	if len(byNick) > 0 {
		return byNick
	}
	return byRemark
}

// Send posts the text parts, then the announcement's images, to the group.
// Every request waits for the account's pacer (3–5 s random by default) and
// counts against the daily ceiling.
func (w *OpenWeChat) Send(ctx context.Context, m groupcast.Outgoing) (groupcast.Receipt, error) {
	parts, err := w.Parts(m.Rendered)
	if err != nil {
		return groupcast.Receipt{}, err
	}
	sess, err := w.current()
	if err != nil {
		return groupcast.Receipt{}, groupcast.Throttled("not_ready", NotReadyPause, err)
	}
	select {
	case w.sem <- struct{}{}:
		defer func() { <-w.sem }()
	case <-ctx.Done():
		return groupcast.Receipt{}, groupcast.Temporary("timeout", ctx.Err())
	}
	group, err := w.resolve(ctx, sess, m.Group)
	if err != nil {
		return groupcast.Receipt{}, err
	}
	images := m.Rendered.Images
	start := m.Resume(len(parts)) // a retry resumes after the parts delivered before
	need := len(parts) - start + len(images)
	if err := w.daily.take(ctx, w.env.Now(), need); err != nil {
		return groupcast.Receipt{}, err
	}
	used := 0
	defer func() { w.daily.giveBack(ctx, w.env.Now(), need-used) }()

	log := w.env.Logger.With("announcement", announcementID(m), "group", m.Group)
	ids := append(make([]string, 0, len(parts)+len(images)), m.Done[:start]...)
	for i := start; i < len(parts); i++ {
		p := parts[i]
		if err := w.env.Pacer.Wait(ctx); err != nil {
			return groupcast.Receipt{}, groupcast.Temporary("timeout", fmt.Errorf("part %d/%d: waiting for the pacer: %w", i+1, len(parts), err))
		}
		used++
		sent, err := sess.SendText(ctx, group.UserName, p)
		if err != nil {
			err = w.classify(sess, err)
			log.Warn("wechat send failed", "part", i+1, "parts", len(parts), "reason", err.Error())
			if i > 0 {
				err = fmt.Errorf("part %d/%d (parts before it were delivered): %w", i+1, len(parts), err)
			}
			return groupcast.Receipt{}, err
		}
		ids = append(ids, formatSent(sent))
		if len(images) == 0 {
			err = m.Delivered(ctx, i, len(parts), formatSent(sent))
		} else if m.Progress != nil {
			err = m.Progress(ctx, i+1, len(parts), formatSent(sent)) // the images come after
		}
		if err != nil {
			return groupcast.Receipt{}, err
		}
	}
	for i, im := range images {
		data, err := w.fetchImage(ctx, im.URL)
		if err != nil {
			log.Warn("wechat image skipped: fetch failed", "image", i+1, "url", redactQuery(im.URL), "reason", err.Error())
			continue
		}
		if err := w.env.Pacer.Wait(ctx); err != nil {
			log.Warn("wechat image skipped: cancelled", "image", i+1, "reason", err.Error())
			break
		}
		used++
		sent, err := sess.SendImage(ctx, group.UserName, data)
		if err != nil {
			err = w.classify(sess, err)
			log.Warn("wechat image not sent; the text was delivered", "image", i+1, "reason", err.Error())
			if c, _, _ := groupcast.Classify(err); c == groupcast.ClassThrottled {
				break // logged out or told to slow down: stop here
			}
			continue
		}
		ids = append(ids, formatSent(sent))
	}
	return groupcast.Receipt{Parts: len(parts), MessageIDs: ids, SentAt: w.env.Now()}, nil
}

// fetchImage downloads an image for sending through env.Images (public
// addresses only, at most imagefetch's 10 MiB, under openwechat's 20 MB
// upload ceiling) and checks that it is one.
func (w *OpenWeChat) fetchImage(ctx context.Context, rawURL string) ([]byte, error) {
	data, err := w.env.Images.Fetch(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	if ct := http.DetectContentType(data); !strings.HasPrefix(ct, "image/") {
		return nil, fmt.Errorf("not an image (%s)", ct)
	}
	return data, nil
}

// redactQuery drops the query of a URL for logs: image URLs may be signed.
func redactQuery(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i] + "?…"
	}
	return raw
}

// Recall revokes every message of the receipt. WeChat allows it for two
// minutes after sending; later the receipt stays delivered with an error
// wrapping groupcast.ErrRecallUnsupported ("too late").
func (w *OpenWeChat) Recall(ctx context.Context, group string, r groupcast.Receipt) error {
	sents := make([]Sent, 0, len(r.MessageIDs))
	now := w.env.Now()
	for _, id := range r.MessageIDs {
		s, err := parseSent(id)
		if err != nil {
			return groupcast.Permanent("bad_receipt", err)
		}
		if at, ok := s.sentAt(); ok && now.Sub(at) >= RevokeWindow {
			return fmt.Errorf("%w: too late: WeChat revokes only within %s of sending, this was sent %s ago",
				groupcast.ErrRecallUnsupported, RevokeWindow, now.Sub(at).Round(time.Second))
		}
		sents = append(sents, s)
	}
	if len(sents) == 0 {
		return fmt.Errorf("%w: no message ids in the receipt", groupcast.ErrRecallUnsupported)
	}
	sess, err := w.current()
	if err != nil {
		return groupcast.Temporary("not_ready", err)
	}
	select {
	case w.sem <- struct{}{}:
		defer func() { <-w.sem }()
	case <-ctx.Done():
		return groupcast.Temporary("timeout", ctx.Err())
	}
	g, err := w.resolve(ctx, sess, group)
	if err != nil {
		return err
	}
	// Newest first: if the window closes half way, the older ones are lost
	// either way.
	for i := len(sents) - 1; i >= 0; i-- {
		// The recall pace, not the send pace: revokes must land within
		// RevokeWindow, and a recall of many groups behind the 3–5 s send
		// gap would not.
		if err := w.env.RecallPacer.Wait(ctx); err != nil {
			return groupcast.Temporary("timeout", err)
		}
		if err := sess.Revoke(ctx, g.UserName, sents[i]); err != nil {
			return w.classify(sess, fmt.Errorf("revoking message %d of %d: %w", i+1, len(sents), err))
		}
	}
	return nil
}

// classify turns a session error into a delivery class. A lost login ends
// the session (Ready reports it) and defers the target instead of failing
// it; "operate too often" rests the account; an unknown Ret is permanent,
// because repeating what WeChat refused is what gets accounts banned.
func (w *OpenWeChat) classify(sess Session, err error) error {
	var de *groupcast.DeliveryError
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return groupcast.Temporary("timeout", err)
	}
	var re *RetError
	if !errors.As(err, &re) {
		return groupcast.Temporary("network", err)
	}
	code := "ret_" + strconv.Itoa(re.Ret)
	switch {
	case sessionLost(re.Ret):
		w.drop(sess, err)
		w.env.Logger.Error("wechat account logged out or kicked", "state", "not_ready", "reason", err.Error(), "hint", w.loginHint())
		return groupcast.Throttled(code, NotReadyPause, fmt.Errorf("%w: %s", err, w.loginHint()))
	case re.Ret == retTooOften:
		return groupcast.Throttled(code, OperateTooOftenPause, err)
	case re.Ret == retSysError:
		return groupcast.Temporary(code, err)
	default:
		return groupcast.Permanent(code, err)
	}
}

// formatSent writes a message id for the receipt as "SvrMsgId:ClientMsgId".
func formatSent(s Sent) string { return s.MsgID + ":" + s.ClientMsgID }

// parseSent reads an id written by formatSent.
func parseSent(id string) (Sent, error) {
	svr, cli, ok := strings.Cut(id, ":")
	if !ok || svr == "" || cli == "" || strings.Contains(cli, ":") {
		return Sent{}, fmt.Errorf("message id %q is not SvrMsgId:ClientMsgId", clip(id, 80))
	}
	for _, s := range []string{svr, cli} {
		if strings.Trim(s, "0123456789") != "" {
			return Sent{}, fmt.Errorf("message id %q is not numeric", clip(id, 80))
		}
	}
	return Sent{MsgID: svr, ClientMsgID: cli}, nil
}

// sentAt reads the send time from the client id, which web WeChat clients
// make from the clock in units of 100 ns (openwechat NewSendMessage).
func (s Sent) sentAt() (time.Time, bool) {
	n, err := strconv.ParseInt(s.ClientMsgID, 10, 64)
	if err != nil || n <= 0 || n > (1<<63-1)/100 {
		return time.Time{}, false
	}
	return time.Unix(0, n*100), true
}
