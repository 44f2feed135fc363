package wechat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/adapterstest"
	"github.com/groupcast/groupcast/adapters/imagefetch"
	"github.com/groupcast/groupcast/configs"
)

// fakeSession is the interface fake of a logged-in account.
type fakeSession struct {
	clock *adapterstest.Clock

	mu        sync.Mutex
	groups    []Group
	groupCall int
	sends     []fakeSend
	revokes   []Sent
	fail      []error // next SendText/SendImage errors, one each
	done      chan struct{}
	reason    error
	nextID    int
}

type fakeSend struct {
	To, Text string
	Image    []byte
	At       time.Time
	Sent     Sent
}

func newFakeSession(clock *adapterstest.Clock, groups ...Group) *fakeSession {
	return &fakeSession{clock: clock, groups: groups, done: make(chan struct{})}
}

func (s *fakeSession) Groups(ctx context.Context) ([]Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groupCall++
	return append([]Group(nil), s.groups...), nil
}

func (s *fakeSession) send(ctx context.Context, to, text string, img []byte) (Sent, error) {
	if err := ctx.Err(); err != nil {
		return Sent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fail) > 0 {
		err := s.fail[0]
		s.fail = s.fail[1:]
		if err != nil {
			return Sent{}, err
		}
	}
	s.nextID++
	now := s.clock.Now()
	sent := Sent{MsgID: strconv.Itoa(1000 + s.nextID), ClientMsgID: strconv.FormatInt(now.UnixNano()/100, 10)}
	s.sends = append(s.sends, fakeSend{To: to, Text: text, Image: img, At: now, Sent: sent})
	return sent, nil
}

func (s *fakeSession) SendText(ctx context.Context, to, text string) (Sent, error) {
	return s.send(ctx, to, text, nil)
}

func (s *fakeSession) SendImage(ctx context.Context, to string, img []byte) (Sent, error) {
	return s.send(ctx, to, "", img)
}

func (s *fakeSession) Revoke(ctx context.Context, to string, m Sent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokes = append(s.revokes, m)
	return nil
}

func (s *fakeSession) Done() <-chan struct{} { return s.done }

func (s *fakeSession) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

func (s *fakeSession) Close() { s.end(errors.New("closed")) }

func (s *fakeSession) end(reason error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
	default:
		s.reason = reason
		close(s.done)
	}
}

func (s *fakeSession) Sends() []fakeSend {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]fakeSend(nil), s.sends...)
}

// fakeConn hands out sessions, or fails with ErrLoginRequired until the
// stored session "changes".
type fakeConn struct {
	mu       sync.Mutex
	sessions []*fakeSession
	err      error
	stamp    string
	logins   int
}

func (c *fakeConn) HotLogin(ctx context.Context) (Session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logins++
	if c.err != nil {
		return nil, c.err
	}
	if len(c.sessions) == 0 {
		return nil, fmt.Errorf("%w: stored session expired", ErrLoginRequired)
	}
	s := c.sessions[0]
	c.sessions = c.sessions[1:]
	return s, nil
}

func (c *fakeConn) Stamp() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stamp
}

// newLogin simulates `groupcast login wechat`: a new session file.
func (c *fakeConn) newLogin(s *fakeSession) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions = append(c.sessions, s)
	c.err = nil
	c.stamp += "+"
}

type wxRig struct {
	clock *adapterstest.Clock
	pacer *adapterstest.Pacer
	logs  *adapterstest.LogBuffer
	conn  *fakeConn
	sess  *fakeSession
	w     *OpenWeChat
	stop  context.CancelFunc
	done  chan struct{}
}

var testGroups = []Group{
	{UserName: "@@ops1", NickName: "运维通知群"},
	{UserName: "@@dev1", NickName: "研发群", RemarkName: "dev"},
	{UserName: "@@dup1", NickName: "同名群"},
	{UserName: "@@dup2", NickName: "同名群"},
	{UserName: "@@q1", NickName: "值班群🔥"},
	{UserName: "@@q2", NickName: "客服群"},
}

// newWxRig builds the driver on the interface fake. With loggedIn, Start
// runs and a session with testGroups is ready.
func newWxRig(t *testing.T, name string, c OpenWeChatConfig, loggedIn bool, env adapters.Env) *wxRig {
	t.Helper()
	clock := adapterstest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	log, buf := adapterstest.NewLogger()
	pacer := adapterstest.NewPacer(clock, OpenWeChatDriver.DefaultRate)
	env.Logger, env.Now, env.Pacer = log, clock.Now, pacer
	if name == "" {
		name = "wx-ops"
	}
	if c.SessionFile == "" {
		c.SessionFile = t.TempDir() + "/session.json"
	}
	conn := &fakeConn{stamp: "s0"}
	sess := newFakeSession(clock, testGroups...)
	if loggedIn {
		conn.sessions = []*fakeSession{sess}
	}
	w, err := NewOpenWeChatWith(name, c, env, conn)
	if err != nil {
		t.Fatal(err)
	}
	w.retryEvery, w.backoffMin = 5*time.Millisecond, 5*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Start(ctx); err != nil {
			t.Errorf("Start: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	rig := &wxRig{clock: clock, pacer: pacer, logs: buf, conn: conn, sess: sess, w: w, stop: cancel, done: done}
	if loggedIn {
		adapterstest.Eventually(t, "ready", func() bool { return w.Ready() == nil })
	}
	return rig
}

func wxOut(group, text string) groupcast.Outgoing {
	return groupcast.Outgoing{DeliveryID: "d-" + group, Announcement: &groupcast.Announcement{ID: "a1"}, Group: group,
		Rendered: groupcast.Rendered{Style: "short", Format: groupcast.TextPlain, Text: text}}
}

func TestOpenWeChatPacingWithJitter(t *testing.T) {
	rig := newWxRig(t, "", OpenWeChatConfig{}, true, adapters.Env{})
	names := []string{"运维通知群", "研发群", "值班群🔥", "客服群", "dev", "运维通知群", "研发群", "客服群"}
	for _, g := range names {
		if _, err := rig.w.Send(context.Background(), wxOut(g, "今晚 22:00 维护")); err != nil {
			t.Fatalf("send to %s: %v", g, err)
		}
	}
	sends := rig.sess.Sends()
	if len(sends) != len(names) || rig.pacer.Waits() != len(names) {
		t.Fatalf("%d sends, %d pacer waits; want %d each", len(sends), rig.pacer.Waits(), len(names))
	}
	gaps := map[time.Duration]bool{}
	for i := 1; i < len(sends); i++ {
		gap := sends[i].At.Sub(sends[i-1].At)
		if gap < OpenWeChatMinGap || gap > OpenWeChatMaxGap {
			t.Errorf("gap %d is %v; want within [%v, %v]", i, gap, OpenWeChatMinGap, OpenWeChatMaxGap)
		}
		gaps[gap] = true
	}
	if len(gaps) < 3 {
		t.Errorf("gaps %v are not random", gaps)
	}
	if sends[4].To != "@@dev1" {
		t.Errorf("the remark name dev went to %s", sends[4].To)
	}
}

func TestOpenWeChatDefaultRateIsHumanPace(t *testing.T) {
	r := OpenWeChatDriver.DefaultRate
	if r.MinGap != 3*time.Second || r.MaxGap != 5*time.Second || r.PerMinute <= 0 || r.PerMinute > 20 {
		t.Fatalf("default rate %+v", r)
	}
	if OpenWeChatDriver.Groups != configs.GroupsRequired || !configs.SettingsKeys(OpenWeChatDriver.Settings)[0].Required {
		t.Fatalf("spec %+v", OpenWeChatDriver.DriverSpec)
	}
}

func TestOpenWeChatGroupNames(t *testing.T) {
	tests := []struct {
		group string
		code  string
		in    string
	}{
		{"运维通知群", "", ""},
		{"dev", "", ""},
		{"不存在的群", "group_not_found", `"不存在的群"`},
		{"同名群", "group_ambiguous", `"同名群"`},
		{"运维通知", "group_not_found", `"运维通知"`}, // no prefix guessing
	}
	for _, tt := range tests {
		t.Run(tt.group, func(t *testing.T) {
			rig := newWxRig(t, "", OpenWeChatConfig{}, true, adapters.Env{})
			_, err := rig.w.Send(context.Background(), wxOut(tt.group, "hi"))
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			class, code, _ := groupcast.Classify(err)
			if class != groupcast.ClassPermanent || code != tt.code || !strings.Contains(err.Error(), tt.in) {
				t.Fatalf("got %v %q: %v; want permanent %s naming %s", class, code, err, tt.code, tt.in)
			}
			if n := len(rig.sess.Sends()); n != 0 {
				t.Fatalf("%d messages sent on a name error", n)
			}
		})
	}
}

func TestOpenWeChatAmbiguousNamesLoggedAtStart(t *testing.T) {
	rig := newWxRig(t, "", OpenWeChatConfig{}, true, adapters.Env{})
	err := rig.w.CheckGroups(context.Background(), []string{"运维通知群", "同名群", "没有这个群"})
	if err == nil || !strings.Contains(err.Error(), `"同名群"`) || !strings.Contains(err.Error(), `"没有这个群"`) || strings.Contains(err.Error(), "运维通知群") {
		t.Fatalf("CheckGroups: %v", err)
	}
	if !strings.Contains(rig.logs.String(), "group=同名群 count=2") {
		t.Fatalf("no warning about the ambiguous name:\n%s", rig.logs.String())
	}
}

func TestOpenWeChatGroupListRefresh(t *testing.T) {
	rig := newWxRig(t, "", OpenWeChatConfig{}, true, adapters.Env{})
	// A group saved after login is found once the list is a minute old,
	// and a missing name does not reload the list more often than that.
	rig.sess.mu.Lock()
	rig.sess.groups = append(rig.sess.groups, Group{UserName: "@@new", NickName: "新群"})
	calls := rig.sess.groupCall
	rig.sess.mu.Unlock()
	if _, err := rig.w.Send(context.Background(), wxOut("新群", "hi")); err == nil {
		t.Fatal("found a group without reloading the list")
	}
	rig.clock.Advance(time.Minute)
	if _, err := rig.w.Send(context.Background(), wxOut("新群", "hi")); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
	for range 3 {
		_, _ = rig.w.Send(context.Background(), wxOut("还没有", "hi"))
	}
	rig.clock.Advance(time.Minute)
	_, _ = rig.w.Send(context.Background(), wxOut("还没有", "hi"))
	rig.sess.mu.Lock()
	defer rig.sess.mu.Unlock()
	if got := rig.sess.groupCall - calls; got != 2 {
		t.Fatalf("%d group list reloads; want 2", got)
	}
}

func TestOpenWeChatRecallWindow(t *testing.T) {
	rig := newWxRig(t, "", OpenWeChatConfig{}, true, adapters.Env{})
	long := strings.Repeat("这是一段很长的公告内容。", 200) // 2400 characters: two parts
	rec, err := rig.w.Send(context.Background(), wxOut("运维通知群", long))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Parts != 2 || len(rec.MessageIDs) != 2 {
		t.Fatalf("receipt %+v", rec)
	}
	rig.clock.Advance(90 * time.Second)
	if err := rig.w.Recall(context.Background(), "运维通知群", rec); err != nil {
		t.Fatalf("recall within the window: %v", err)
	}
	sends := rig.sess.Sends()
	rig.sess.mu.Lock()
	revokes := append([]Sent(nil), rig.sess.revokes...)
	rig.sess.mu.Unlock()
	if len(revokes) != 2 || revokes[0] != sends[1].Sent || revokes[1] != sends[0].Sent {
		t.Fatalf("revoked %+v; want both parts, newest first", revokes)
	}

	rec2, err := rig.w.Send(context.Background(), wxOut("运维通知群", "短公告"))
	if err != nil {
		t.Fatal(err)
	}
	rig.clock.Advance(RevokeWindow)
	err = rig.w.Recall(context.Background(), "运维通知群", rec2)
	if !errors.Is(err, groupcast.ErrRecallUnsupported) || !strings.Contains(err.Error(), "too late") {
		t.Fatalf("recall after 2 minutes: %v", err)
	}
	rig.sess.mu.Lock()
	defer rig.sess.mu.Unlock()
	if len(rig.sess.revokes) != 2 {
		t.Fatal("a revoke was attempted after the window")
	}
}

func TestOpenWeChatNotReadyUntilLogin(t *testing.T) {
	rig := newWxRig(t, "wx-ops", OpenWeChatConfig{}, false, adapters.Env{})
	adapterstest.Eventually(t, "not ready reported", func() bool {
		err := rig.w.Ready()
		return err != nil && strings.Contains(err.Error(), "run groupcast login wechat wx-ops")
	})
	if !strings.Contains(rig.logs.String(), "hint=\"run groupcast login wechat wx-ops\"") {
		t.Fatalf("no log line tells the operator what to run:\n%s", rig.logs.String())
	}
	_, err := rig.w.Send(context.Background(), wxOut("运维通知群", "hi"))
	if class, code, pause := groupcast.Classify(err); class != groupcast.ClassThrottled || code != "not_ready" || pause <= 0 {
		t.Fatalf("send while not ready: %v %q %v", class, code, pause)
	}
	// The operator logs in: the session file changes and the account
	// becomes ready without a restart.
	rig.conn.newLogin(rig.sess)
	adapterstest.Eventually(t, "ready after login", func() bool { return rig.w.Ready() == nil })
	if _, err := rig.w.Send(context.Background(), wxOut("运维通知群", "hi")); err != nil {
		t.Fatal(err)
	}
}

func TestOpenWeChatNeverBlocksOtherAccounts(t *testing.T) {
	waiting := newWxRig(t, "wx-a", OpenWeChatConfig{}, false, adapters.Env{})
	ready := newWxRig(t, "wx-b", OpenWeChatConfig{}, true, adapters.Env{})
	if _, err := ready.w.Send(context.Background(), wxOut("运维通知群", "hi")); err != nil {
		t.Fatal(err)
	}
	if waiting.w.Ready() == nil {
		t.Fatal("the account without a session is ready")
	}
}

func TestOpenWeChatKickDetected(t *testing.T) {
	rig := newWxRig(t, "", OpenWeChatConfig{}, true, adapters.Env{})
	rig.sess.end(&RetError{Ret: retLoginCheck})
	adapterstest.Eventually(t, "logout reported", func() bool {
		err := rig.w.Ready()
		return err != nil && strings.Contains(err.Error(), "logged out") && strings.Contains(err.Error(), "groupcast login wechat")
	})
	adapterstest.Eventually(t, "logout logged", func() bool { return strings.Contains(rig.logs.String(), "logged out or kicked") })
}

func TestOpenWeChatSendErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		class    groupcast.Class
		code     string
		pause    time.Duration
		notReady bool
	}{
		{"logged out", &RetError{Ret: 1101}, groupcast.ClassThrottled, "ret_1101", NotReadyPause, true},
		{"too often", &RetError{Ret: 1205}, groupcast.ClassThrottled, "ret_1205", OperateTooOftenPause, false},
		{"param", &RetError{Ret: 1}, groupcast.ClassPermanent, "ret_1", 0, false},
		{"unknown ret", &RetError{Ret: 4242}, groupcast.ClassPermanent, "ret_4242", 0, false},
		{"system", &RetError{Ret: -1}, groupcast.ClassTemporary, "ret_-1", 0, false},
		{"network", errors.New("dial tcp: connection refused"), groupcast.ClassTemporary, "network", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newWxRig(t, "", OpenWeChatConfig{}, true, adapters.Env{})
			rig.sess.fail = []error{tt.err}
			_, err := rig.w.Send(context.Background(), wxOut("运维通知群", "hi"))
			class, code, pause := groupcast.Classify(err)
			if class != tt.class || code != tt.code || pause != tt.pause {
				t.Fatalf("got %v %q %v (%v)", class, code, pause, err)
			}
			if got := rig.w.Ready() != nil; got != tt.notReady {
				t.Fatalf("not ready = %v after %v", got, err)
			}
		})
	}
}

func TestOpenWeChatDailyLimit(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	dir := t.TempDir()
	rig := newWxRig(t, "", OpenWeChatConfig{DailyLimit: 3}, true, adapters.Env{Location: shanghai, DataDir: dir})
	// 10:00 UTC is 18:00 in Shanghai: 6 hours to local midnight.
	for i := range 3 {
		if _, err := rig.w.Send(context.Background(), wxOut("运维通知群", "hi")); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	_, err = rig.w.Send(context.Background(), wxOut("运维通知群", "hi"))
	class, code, pause := groupcast.Classify(err)
	now := rig.clock.Now().In(shanghai)
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, shanghai)
	if class != groupcast.ClassThrottled || code != "daily_limit" || pause != midnight.Sub(now) {
		t.Fatalf("4th send: %v %q %v (%v); want throttled until %v", class, code, pause, err, midnight)
	}
	// A restart does not reset the count.
	again := newWxRig(t, "", OpenWeChatConfig{DailyLimit: 3}, true, adapters.Env{Location: shanghai, DataDir: dir})
	again.clock.Set(rig.clock.Now())
	if _, err := again.w.Send(context.Background(), wxOut("运维通知群", "hi")); err == nil {
		t.Fatal("the daily count was lost in a restart")
	}
	// The next local day the account sends again.
	rig.clock.Advance(pause)
	if _, err := rig.w.Send(context.Background(), wxOut("运维通知群", "hi")); err != nil {
		t.Fatalf("after midnight: %v", err)
	}
}

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestOpenWeChatImages(t *testing.T) {
	pic := pngBytes(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok.png":
			_, _ = w.Write(pic)
		case "/page.html":
			_, _ = w.Write([]byte("<html>not an image</html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	rig := newWxRig(t, "", OpenWeChatConfig{}, true, adapters.Env{HTTPClient: srv.Client(), Images: loopbackImages})
	m := wxOut("运维通知群", "见图")
	m.Rendered.Images = []groupcast.Image{{URL: srv.URL + "/missing.png?sig=SECRET"}, {URL: srv.URL + "/ok.png"}, {URL: srv.URL + "/page.html"},
		{URL: "http://169.254.169.254/latest/meta-data/?sig=SECRET"}}
	rec, err := rig.w.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("an image failure failed the target: %v", err)
	}
	sends := rig.sess.Sends()
	if len(sends) != 2 || sends[0].Text != "见图" || !bytes.Equal(sends[1].Image, pic) {
		t.Fatalf("sent %+v", sends)
	}
	if rec.Parts != 1 || len(rec.MessageIDs) != 2 {
		t.Fatalf("receipt %+v", rec)
	}
	logs := rig.logs.String()
	if strings.Count(logs, "image skipped") != 3 || strings.Count(logs, "image_address") != 1 || strings.Contains(logs, "SECRET") {
		t.Fatalf("logs:\n%s", logs)
	}
	if got := rig.w.daily.count(context.Background(), rig.clock.Now()); got != 2 {
		t.Fatalf("daily count %d; want 2 (skipped images are not counted)", got)
	}
}

func TestOpenWeChatSplitsLongText(t *testing.T) {
	rig := newWxRig(t, "", OpenWeChatConfig{}, true, adapters.Env{})
	text := strings.Repeat("一二三四五六七八九十。", 400) // 4400 characters
	parts, err := rig.w.Parts(groupcast.Rendered{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rig.w.Send(context.Background(), wxOut("运维通知群", text)); err != nil {
		t.Fatal(err)
	}
	sends := rig.sess.Sends()
	if len(parts) != 3 || len(sends) != 3 {
		t.Fatalf("%d parts, %d sends", len(parts), len(sends))
	}
	for i, s := range sends {
		if s.Text != parts[i] || len([]rune(s.Text)) > OpenWeChatPartChars {
			t.Errorf("part %d: %d characters, same as Parts: %v", i+1, len([]rune(s.Text)), s.Text == parts[i])
		}
	}
}

func TestOpenWeChatHonoursContext(t *testing.T) {
	rig := newWxRig(t, "", OpenWeChatConfig{}, true, adapters.Env{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := rig.w.Send(ctx, wxOut("运维通知群", "hi"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if len(rig.sess.Sends()) != 0 {
		t.Fatal("sent after cancellation")
	}
	if got := rig.w.daily.count(context.Background(), rig.clock.Now()); got != 0 {
		t.Fatalf("daily count %d after a cancelled send", got)
	}
}

func TestParseSent(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"123:17000000000000000", true},
		{"123", false},
		{":1", false},
		{"1:2:3", false},
		{"a:1", false},
		{"1:-5", false},
	} {
		s, err := parseSent(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%q: %v", tt.in, err)
		}
		if err == nil && formatSent(s) != tt.in {
			t.Errorf("%q round-trips to %q", tt.in, formatSent(s))
		}
	}
}

func FuzzParseSent(f *testing.F) {
	for _, s := range []string{"1:2", "7000000000000000001:17331234567890123", "", ":", "x:y", "99999999999999999999:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		s, err := parseSent(id)
		if err != nil {
			return
		}
		if formatSent(s) != id {
			t.Fatalf("%q round-trips to %q", id, formatSent(s))
		}
		_, _ = s.sentAt()
	})
}

// loopbackImages fetches from the tests' loopback fakes, and from no
// other address production would refuse.
var loopbackImages = imagefetch.New(imagefetch.Options{Permit: imagefetch.Loopback})

// TestOpenWeChatReconnectBackoff drives Start with an injected timer: hot
// logins that fail, and sessions thrown out as soon as they are made, wait
// 1 s doubling (±20 %) with one log line each, instead of logging in again
// at once; a session that lived a minute starts the backoff over.
func TestOpenWeChatReconnectBackoff(t *testing.T) {
	clock := adapterstest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	log, buf := adapterstest.NewLogger()
	conn := &fakeConn{stamp: "s0"}
	kicked := func() *fakeSession { s := newFakeSession(clock, testGroups...); s.end(errors.New("kicked")); return s }
	for range 4 {
		conn.sessions = append(conn.sessions, kicked())
	}
	long := newFakeSession(clock, testGroups...)
	conn.sessions = append(conn.sessions, long)
	w, err := NewOpenWeChatWith("wx-ops", OpenWeChatConfig{SessionFile: t.TempDir() + "/session.json"},
		adapters.Env{Logger: log, Now: clock.Now}, conn)
	if err != nil {
		t.Fatal(err)
	}
	waits, tick := make(chan time.Duration), make(chan time.Time)
	w.after = func(d time.Duration) <-chan time.Time { waits <- d; return tick }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Start(ctx) }()
	defer func() {
		cancel()
		for {
			select {
			case <-waits: // a wait reported as ctx ended
			case <-done:
				return
			}
		}
	}()

	inStep := func(d time.Duration, step int) bool {
		base := min(time.Second<<(step-1), 5*time.Minute)
		return d >= max(time.Second, base*8/10) && d <= base*12/10
	}
	logins := func() int { conn.mu.Lock(); defer conn.mu.Unlock(); return conn.logins }
	// Four sessions thrown out at once: four growing waits, one line each.
	for step := 1; step <= 4; step++ {
		if d := <-waits; !inStep(d, step) {
			t.Fatalf("wait %d = %v, want step %d of 1 s doubling", step, d, step)
		}
		if n := logins(); n != step {
			t.Fatalf("%d hot logins before wait %d", n, step)
		}
		tick <- time.Time{}
	}
	if n := strings.Count(buf.String(), "logged out or kicked"); n != 4 {
		t.Fatalf("%d logout lines for 4 sessions", n)
	}
	// The fifth lives a minute, then ends: the next failure waits 1 s again.
	adapterstest.Eventually(t, "ready", func() bool { return w.Ready() == nil })
	clock.Advance(time.Minute)
	conn.mu.Lock()
	conn.err = errors.New("connection refused")
	conn.mu.Unlock()
	long.end(errors.New("kicked"))
	if d := <-waits; !inStep(d, 1) {
		t.Fatalf("after a session that lived a minute: wait %v, want 1 s ±20 %%", d)
	}
	tick <- time.Time{}
	if d := <-waits; !inStep(d, 2) {
		t.Fatalf("second failed hot login: wait %v, want 2 s ±20 %%", d)
	}
	if n := strings.Count(buf.String(), "hot login failed"); n != 2 {
		t.Fatalf("%d failure lines for 2 failed logins", n)
	}
}

// memoryDays is adapters.DayCounter in memory, shared by two senders as
// the store is shared by two replicas.
type memoryDays struct {
	mu sync.Mutex
	m  map[string]int
}

func (d *memoryDays) Add(_ context.Context, day string, n, limit int) (int, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]int{}
	}
	if limit > 0 && n > 0 && d.m[day]+n > limit {
		return d.m[day], false, nil
	}
	d.m[day] = max(d.m[day]+n, 0)
	return d.m[day], true, nil
}

// With the daemon's store (Env.Daily) the daily ceiling is the account's,
// not the process's: a second sender for the account (another replica
// after a lease move) starts from the first one's count.
func TestOpenWeChatDailyLimitSharedThroughTheStore(t *testing.T) {
	days := &memoryDays{}
	first := newWxRig(t, "", OpenWeChatConfig{DailyLimit: 3}, true, adapters.Env{Daily: days})
	for range 2 {
		if _, err := first.w.Send(context.Background(), wxOut("运维通知群", "hi")); err != nil {
			t.Fatal(err)
		}
	}
	second := newWxRig(t, "", OpenWeChatConfig{DailyLimit: 3}, true, adapters.Env{Daily: days})
	if _, err := second.w.Send(context.Background(), wxOut("运维通知群", "third")); err != nil {
		t.Fatalf("the third send of the day: %v", err)
	}
	_, err := second.w.Send(context.Background(), wxOut("运维通知群", "fourth"))
	adapterstest.WantClass(t, err, groupcast.ClassThrottled, "daily_limit")
	if n := len(second.sess.Sends()); n != 1 {
		t.Errorf("the second sender sent %d, want 1 (the ceiling is the account's)", n)
	}
}
