package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eatmoreapple/openwechat"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/adapterstest"
	"github.com/groupcast/groupcast/adapters/wechat/wechatfake"
	"github.com/groupcast/groupcast/configs"
)

// These tests run the real openwechat client against wechatfake.Web through
// a transport that rewrites the hard-coded WeChat hosts to the local fake
// (docs/platforms.md).

var (
	wireSelf     = wechatfake.Contact{UserName: "@self0001", NickName: "运维小助手"}
	wireContacts = []wechatfake.Contact{
		{UserName: "@@ops0001", NickName: "运维通知群"},
		{UserName: "@@dev0001", NickName: `研发<span class="emoji emoji1f525"></span>群`},
		{UserName: "@friend01", NickName: "张三"},
		{UserName: "@mp000001", NickName: "某公众号", VerifyFlag: 24},
	}
)

type wireRig struct {
	fake *wechatfake.Web
	w    *OpenWeChat
	logs *adapterstest.LogBuffer
	path string
}

// startWire starts the driver with session (the stored session file
// contents, or nil for none) against a fake; imageClient, if set, is where
// image URLs are fetched from (else the rewriting client).
func startWire(t *testing.T, fake *wechatfake.Web, session []byte) *wireRig {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "wx-ops.json")
	if session != nil {
		if err := os.WriteFile(path, session, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	log, buf := adapterstest.NewLogger()
	env := adapters.Env{Logger: log, HTTPClient: fake.Client(), Pacer: adapters.NoPace{}, Images: loopbackImages}
	acc := configs.Account{Name: "wx-ops", Platform: "wechat", Driver: "openwechat",
		Settings: configs.MustSettings(map[string]any{"session_file": path})}
	s, err := OpenWeChatDriver.New(acc, env)
	if err != nil {
		t.Fatal(err)
	}
	w := s.(*OpenWeChat)
	w.retryEvery, w.backoffMin = 20*time.Millisecond, 20*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Start(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &wireRig{fake: fake, w: w, logs: buf, path: path}
}

func newWireFake(t *testing.T) *wechatfake.Web {
	fake := wechatfake.NewWeb(wireSelf, wireContacts...)
	t.Cleanup(fake.Close)
	return fake
}

func TestWireHotLoginGroupsTextAndRevoke(t *testing.T) {
	fake := newWireFake(t)
	rig := startWire(t, fake, fake.StoredSession())
	adapterstest.Eventually(t, "hot login", func() bool { return rig.w.Ready() == nil })

	if n := fake.Count("/jslogin"); n != 0 {
		t.Fatalf("a QR code was requested (%d) although the session was valid", n)
	}
	if n := fake.Count("/cgi-bin/mmwebwx-bin/webwxinit"); n != 1 {
		t.Fatalf("webwxinit %d times", n)
	}
	st, err := os.Stat(rig.path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("session file after the hot login: %v %v", st.Mode(), err)
	}

	g, err := rig.w.ResolveGroup(context.Background(), "研发🔥群")
	if err != nil || g.UserName != "@@dev0001" {
		t.Fatalf("emoji group name: %+v %v", g, err)
	}
	if _, err := rig.w.ResolveGroup(context.Background(), "某公众号"); err == nil {
		t.Fatal("an official account was taken for a group")
	}

	rec, err := rig.w.Send(context.Background(), wxOut("运维通知群", "【维护】今晚 22:00 数据库升级"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].To != "@@ops0001" || msgs[0].From != wireSelf.UserName || msgs[0].Content != "【维护】今晚 22:00 数据库升级" {
		t.Fatalf("messages %+v", msgs)
	}
	if want := msgs[0].MsgID + ":" + msgs[0].ClientMsgID; len(rec.MessageIDs) != 1 || rec.MessageIDs[0] != want {
		t.Fatalf("receipt ids %v; want %s", rec.MessageIDs, want)
	}
	if err := rig.w.Recall(context.Background(), "运维通知群", rec); err != nil {
		t.Fatalf("recall: %v", err)
	}
	if !fake.Messages()[0].Revoked {
		t.Fatal("the fake did not see the revoke")
	}
}

func TestWireImageAfterHotReload(t *testing.T) {
	pic := pngBytes(t)
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(pic) }))
	defer img.Close()
	fake := newWireFake(t)
	rig := startWire(t, fake, fake.StoredSession())
	adapterstest.Eventually(t, "hot login", func() bool { return rig.w.Ready() == nil })
	m := wxOut("运维通知群", "见附图")
	m.Rendered.Images = []groupcast.Image{{URL: img.URL + "/a.png"}}
	rec, err := rig.w.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages()
	if len(msgs) != 2 || msgs[1].Type != 3 || !bytes.Equal(msgs[1].Image, pic) || len(rec.MessageIDs) != 2 {
		t.Fatalf("messages %+v, receipt %+v\nlogs:\n%s", msgs, rec, rig.logs.String())
	}
}

func TestWireKickIsReported(t *testing.T) {
	fake := newWireFake(t)
	rig := startWire(t, fake, fake.StoredSession())
	adapterstest.Eventually(t, "hot login", func() bool { return rig.w.Ready() == nil })
	fake.Kick()
	adapterstest.Eventually(t, "logout reported", func() bool {
		err := rig.w.Ready()
		return err != nil && strings.Contains(err.Error(), "logged out") && strings.Contains(err.Error(), "groupcast login wechat wx-ops")
	})
	_, err := rig.w.Send(context.Background(), wxOut("运维通知群", "hi"))
	if c, _, _ := groupcast.Classify(err); c != groupcast.ClassThrottled {
		t.Fatalf("send after a kick: %v", err)
	}
	if !strings.Contains(rig.logs.String(), "logged out or kicked") {
		t.Fatalf("logs:\n%s", rig.logs.String())
	}
}

func TestWireExpiredSessionNeedsLogin(t *testing.T) {
	other := wechatfake.NewWeb(wireSelf)
	stale := other.StoredSession() // a session this server never issued
	other.Close()
	fake := newWireFake(t)
	rig := startWire(t, fake, stale)
	adapterstest.Eventually(t, "not ready", func() bool {
		err := rig.w.Ready()
		return err != nil && strings.Contains(err.Error(), "run groupcast login wechat wx-ops")
	})
	if fake.Count("/jslogin") != 0 || fake.Count("/cgi-bin/mmwebwx-bin/login") != 0 {
		t.Fatal("serve started a QR login")
	}
}

func TestWireMissingSessionFile(t *testing.T) {
	fake := newWireFake(t)
	rig := startWire(t, fake, nil)
	adapterstest.Eventually(t, "not ready", func() bool {
		err := rig.w.Ready()
		return err != nil && strings.Contains(err.Error(), "no session file")
	})
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("%d requests without a session", n)
	}
}

func TestWireFakeRefusesWebModeLogin(t *testing.T) {
	// The fake is strict: the plain web mode (not desktop/UOS) is refused
	// with ret 1203, as for accounts barred from web WeChat.
	fake := newWireFake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bot := newBot(ctx, webHTTPClient(fake.Client()), slog.New(slog.DiscardHandler))
	openwechat.Normal.Prepare(bot)
	bot.UUIDCallback = func(uuid string) { _ = fake.Confirm(uuid) }
	err := bot.Login()
	if err == nil || !strings.Contains(err.Error(), "不能登录网页微信") {
		t.Fatalf("web-mode login: %v", err)
	}
}

func TestCheckSessionFile(t *testing.T) {
	fake := wechatfake.NewWeb(wireSelf)
	defer fake.Close()
	good := fake.StoredSession()
	tests := []struct {
		name string
		raw  string
		ok   bool
	}{
		{"stored", string(good), true},
		{"empty", ``, false},
		{"null jar", strings.Replace(string(good), `"Jar":{`, `"Jar":null,"X":{`, 1), false},
		{"not json", `hello`, false},
		{"bad domain", strings.Replace(string(good), `"WechatDomain":"wx.qq.com"`, `"WechatDomain":"wx.qq.com/evil?"`, 1), false},
	}
	for _, tt := range tests {
		if err := checkSessionFile([]byte(tt.raw)); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func FuzzCheckSessionFile(f *testing.F) {
	fake := wechatfake.NewWeb(wireSelf)
	f.Add(fake.StoredSession())
	fake.Close()
	for _, s := range []string{`{}`, `{"Jar":{}}`, `null`, `{"Jar":{"https://wx.qq.com":[{"Name":"a"}]},"BaseRequest":{"Sid":"s","Skey":"k"},"LoginInfo":{"WxSid":"s"},"WechatDomain":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if checkSessionFile(raw) != nil {
			return
		}
		// Whatever passes the check must not panic openwechat's reload.
		var item openwechat.HotReloadStorageItem
		if json.Unmarshal(raw, &item) == nil && (item.Jar == nil || item.BaseRequest == nil || item.LoginInfo == nil) {
			t.Fatalf("a session openwechat cannot use passed the check: %s", raw)
		}
	})
}

func TestWireRestartReusesRewrittenSession(t *testing.T) {
	// openwechat rewrites the session file at every hot login. Its cookie
	// jar forgets reloaded cookies when it is written again, so without the
	// driver's repair a restarted serve would find no cookies and need a
	// new QR scan.
	fake := newWireFake(t)
	first := startWire(t, fake, fake.StoredSession())
	adapterstest.Eventually(t, "first hot login", func() bool { return first.w.Ready() == nil })
	raw, err := os.ReadFile(first.path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "wxsid") {
		t.Fatalf("the rewritten session lost its cookies: %s", raw)
	}
	second := startWire(t, fake, raw)
	adapterstest.Eventually(t, "hot login after a restart", func() bool { return second.w.Ready() == nil })
	if _, err := second.w.Send(context.Background(), wxOut("运维通知群", "hi")); err != nil {
		t.Fatal(err)
	}
}
