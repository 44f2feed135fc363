package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/adapterstest"
	"github.com/groupcast/groupcast/adapters/dingtalk/dingtalkfake"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/transform"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	canaryToken  = "tok-canary-7f3a9c"
	canarySecret = "SECcanary-0123456789abcdef"
)

// webhookRig is a webhook driver wired to a strict fake with a fake clock.
type webhookRig struct {
	fake  *dingtalkfake.Webhook
	clock *adapterstest.Clock
	logs  *adapterstest.LogBuffer
	w     *Webhook
}

func newWebhookRig(t *testing.T, robot dingtalkfake.Robot, pacer func(*adapterstest.Clock) adapters.Pacer, rt http.RoundTripper) *webhookRig {
	t.Helper()
	clock := adapterstest.NewClock(adapterstest.Epoch)
	fake := dingtalkfake.NewWebhook(t)
	fake.SetNow(clock.Now)
	fake.AddRobot(robot)
	logs := &adapterstest.LogBuffer{}
	var p adapters.Pacer = adapters.NoPace{}
	if pacer != nil {
		p = pacer(clock)
	}
	env := testEnv(clock, logs, p)
	if rt != nil {
		env.HTTPClient = &http.Client{Transport: rt, Timeout: 5 * time.Second}
	}
	w, err := NewWebhook("ops-robot", WebhookConfig{
		AccessToken: configs.Secret(robot.Token), Secret: configs.Secret(robot.Secret), BaseURL: fake.URL}, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { adapterstest.AssertNoSecret(t, "logs", logs.String(), robot.Token, robot.Secret) })
	return &webhookRig{fake: fake, clock: clock, logs: logs, w: w}
}

func paced(perMinute int) func(*adapterstest.Clock) adapters.Pacer {
	return func(c *adapterstest.Clock) adapters.Pacer {
		return adapterstest.NewPacer(c, configs.Rate{PerMinute: perMinute, MinGap: 100 * time.Millisecond, MaxGap: 100 * time.Millisecond})
	}
}

func outgoing(id string, r groupcast.Rendered) groupcast.Outgoing {
	return groupcast.Outgoing{
		DeliveryID:   id + "/ops-robot/ops-robot",
		Announcement: &groupcast.Announcement{ID: id, Title: r.Title},
		Group:        "ops-robot",
		Rendered:     r,
	}
}

func formal(text string) groupcast.Rendered {
	return groupcast.Rendered{Style: "formal", Title: "【通知】机房断电演练", Format: groupcast.TextMarkdown, Text: text}
}

// TestSignKnownVector checks Sign against a value computed independently
// (Python's hmac and base64), one whose Base64 holds '+' and '='.
func TestSignKnownVector(t *testing.T) {
	tests := []struct {
		secret string
		ts     int64
		want   string
	}{
		{"SECcanary-0123456789abcdef", 1764032400000, "b9OAxkTTY5G8emnALYUbNEvplpEf4L+8YpiVBjJo1Is="},
		{"SEC000abc", 1700000000000, "xdv1Fa0nmxuOUFuRdlc2rjtKjqAjZzyHqI2Kzexl99I="},
	}
	for _, tt := range tests {
		if got := Sign(tt.secret, tt.ts); got != tt.want {
			t.Errorf("Sign(%q, %d) = %q, want %q", tt.secret, tt.ts, got, tt.want)
		}
	}
}

// recordingTransport records raw request URLs and can fail chosen requests.
type recordingTransport struct {
	mu   sync.Mutex
	n    int
	raw  []string
	fail func(n int) (before, after bool) // drop the request, or lose its answer
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.n++
	n := rt.n
	rt.raw = append(rt.raw, r.URL.RawQuery)
	rt.mu.Unlock()
	var before, after bool
	if rt.fail != nil {
		before, after = rt.fail(n)
	}
	if before {
		return nil, errors.New("connection reset by peer")
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if after && err == nil {
		resp.Body.Close()
		return nil, errors.New("read: connection reset by peer")
	}
	return resp, err
}

func TestWebhookSigning(t *testing.T) {
	tests := []struct {
		name  string
		robot dingtalkfake.Robot
	}{
		{"signed", dingtalkfake.Robot{Token: canaryToken, Secret: canarySecret}},
		{"unsigned", dingtalkfake.Robot{Token: canaryToken}},
		{"signed with keywords", dingtalkfake.Robot{Token: canaryToken, Secret: canarySecret, Keywords: []string{"通知"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &recordingTransport{}
			rig := newWebhookRig(t, tt.robot, nil, rt)
			// A timestamp whose signature has '+' and '=': both must be
			// percent-encoded exactly once.
			rig.clock.Set(time.UnixMilli(1764032400000))
			rec, err := rig.w.Send(context.Background(), outgoing("sign-1", formal("各位同事：\n\n今晚 22:00 演练。")))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if rec.Parts != 1 || len(rig.fake.Posts(canaryToken)) != 1 {
				t.Fatalf("receipt %+v, posts %d", rec, len(rig.fake.Posts(canaryToken)))
			}
			raw := rt.raw[0]
			if tt.robot.Secret != "" {
				if !strings.Contains(raw, "sign=b9OAxkTTY5G8emnALYUbNEvplpEf4L%2B8YpiVBjJo1Is%3D") || !strings.Contains(raw, "timestamp=1764032400000") {
					t.Errorf("query %q lacks the once-encoded signature", raw)
				}
				if strings.Contains(raw, "%25") {
					t.Errorf("query %q is encoded twice", raw)
				}
			} else if strings.Contains(raw, "sign=") {
				t.Errorf("unsigned robot got a signature: %q", raw)
			}
		})
	}
}

func TestWebhookWrongSecretIsPermanentAfterOneAttempt(t *testing.T) {
	rig := newWebhookRig(t, dingtalkfake.Robot{Token: canaryToken, Secret: canarySecret}, nil, nil)
	cfg := WebhookConfig{AccessToken: canaryToken, Secret: "SECwrong-secret-canary", BaseURL: rig.fake.URL}
	w, err := NewWebhook("ops-robot", cfg, testEnv(rig.clock, rig.logs, nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Send(context.Background(), outgoing("wrong-1", formal("正文")))
	adapterstest.WantClass(t, err, groupcast.ClassPermanent, "310000")
	if !strings.Contains(err.Error(), "sign not match") {
		t.Errorf("error lacks the platform message: %v", err)
	}
	if n := len(rig.fake.Requests()); n != 1 {
		t.Errorf("%d requests, want exactly 1", n)
	}
	adapterstest.AssertNoSecret(t, "error", err.Error(), canaryToken, canarySecret, "SECwrong-secret-canary")
	adapterstest.AssertNoSecret(t, "logs", rig.logs.String(), "SECwrong-secret-canary")
}

func TestWebhookTimestampOutsideWindow(t *testing.T) {
	rig := newWebhookRig(t, dingtalkfake.Robot{Token: canaryToken, Secret: canarySecret}, nil, nil)
	rig.fake.SetNow(func() time.Time { return rig.clock.Now().Add(61 * time.Minute) }) // DingTalk's clock is ahead
	_, err := rig.w.Send(context.Background(), outgoing("skew-1", formal("正文")))
	adapterstest.WantClass(t, err, groupcast.ClassPermanent, "310000")
	if !strings.Contains(err.Error(), "invalid timestamp") {
		t.Errorf("error: %v", err)
	}
}

// TestWebhookBurstIsPaced sends 50 announcements to one robot as fast as
// the router would: with the default pace of 20/min nothing is refused; the
// same burst without a pacer is caught by the fake (so the test can fail).
func TestWebhookBurstIsPaced(t *testing.T) {
	for _, tt := range []struct {
		name      string
		pacer     func(*adapterstest.Clock) adapters.Pacer
		throttled bool
	}{
		{"paced 20/min", paced(WebhookDriver.DefaultRate.PerMinute), false},
		{"unpaced", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rig := newWebhookRig(t, dingtalkfake.Robot{Token: canaryToken, Secret: canarySecret}, tt.pacer, nil)
			var throttled int
			for i := range 50 {
				_, err := rig.w.Send(context.Background(), outgoing(fmt.Sprintf("burst-%02d", i), formal(fmt.Sprintf("第 %d 条", i))))
				if err != nil {
					if c, _, _ := groupcast.Classify(err); c == groupcast.ClassThrottled {
						throttled++
						continue
					}
					t.Fatalf("send %d: %v", i, err)
				}
			}
			got130101 := rig.fake.Count(CodeTooFast)
			if tt.throttled {
				if got130101 == 0 || throttled == 0 {
					t.Fatalf("the fake did not catch an unpaced burst: %d answers 130101", got130101)
				}
				return
			}
			if got130101 != 0 || throttled != 0 {
				t.Fatalf("%d answers 130101 with pacing", got130101)
			}
			if n := len(rig.fake.Posts(canaryToken)); n != 50 {
				t.Fatalf("%d posts, want 50", n)
			}
		})
	}
}

func TestWebhookThrottleAnswers(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*dingtalkfake.Webhook)
		code  string
	}{
		{"forced 130101", func(f *dingtalkfake.Webhook) { f.SetForceCode(CodeTooFast) }, "130101"},
		{"locked robot", func(f *dingtalkfake.Webhook) { f.Lock(canaryToken, time.Now().Add(time.Hour*24*365*10)) }, "130101"},
		{"302 during the lock", func(f *dingtalkfake.Webhook) {
			f.SetLock302(true)
			f.Lock(canaryToken, time.Now().Add(time.Hour*24*365*10))
		}, "http_302"},
		{"quota 90030", func(f *dingtalkfake.Webhook) { f.SetForceCode(CodeWebhookOverQuota) }, "90030"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newWebhookRig(t, dingtalkfake.Robot{Token: canaryToken, Secret: canarySecret}, nil, nil)
			tt.setup(rig.fake)
			_, err := rig.w.Send(context.Background(), outgoing("thr-1", formal("正文")))
			if pause := adapterstest.WantClass(t, err, groupcast.ClassThrottled, tt.code); pause != 10*time.Minute {
				t.Errorf("pause %s, want 10m", pause)
			}
			if n := len(rig.fake.Requests()); n != 1 {
				t.Errorf("%d requests: a throttle must not be hammered", n)
			}
		})
	}
}

// TestWebhookRateLimitLocksRobot drives the fake into its own lock: the
// 21st request in a minute answers 130101 and the robot stays locked 10
// minutes.
func TestWebhookRateLimitLocksRobot(t *testing.T) {
	rig := newWebhookRig(t, dingtalkfake.Robot{Token: canaryToken}, nil, nil)
	for i := range 20 {
		if _, err := rig.w.Send(context.Background(), outgoing(fmt.Sprintf("r-%d", i), formal("x"))); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	_, err := rig.w.Send(context.Background(), outgoing("r-20", formal("x")))
	adapterstest.WantClass(t, err, groupcast.ClassThrottled, "130101")
	rig.clock.Advance(9 * time.Minute)
	_, err = rig.w.Send(context.Background(), outgoing("r-21", formal("x")))
	adapterstest.WantClass(t, err, groupcast.ClassThrottled, "130101")
	rig.clock.Advance(61 * time.Second)
	if _, err := rig.w.Send(context.Background(), outgoing("r-22", formal("x"))); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
}

const longParagraphs = 700

// longText is a formal-style body of about 85 KB with characters JSON
// would escape by default.
func longText() string {
	var b strings.Builder
	b.WriteString("### 【通知】机房断电演练\n\n各位同事：\n\n")
	for i := range longParagraphs {
		fmt.Fprintf(&b, "第 %d 段：请在 <22:00> 前保存工作 & 关闭终端，\"重要\"数据请备份到 https://backup.example.com/p/%d 。\n\n", i+1, i)
	}
	b.WriteString("特此通知。\n\n运维中心 2026-11-25")
	return b.String()
}

func TestWebhookLongAnnouncementInOrderedParts(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    groupcast.Rendered
	}{
		{"markdown", formal(longText())},
		{"actionCard with links", func() groupcast.Rendered {
			r := formal(longText())
			r.Links = []groupcast.Link{{Title: "演练手册", URL: "https://wiki.example.com/drill?a=1&b=2"}, {Title: "值班表", URL: "https://wiki.example.com/oncall"}}
			return r
		}()},
		{"plain text with @all", groupcast.Rendered{Style: "long", Format: groupcast.TextPlain, Text: longText(), MentionAll: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rig := newWebhookRig(t, dingtalkfake.Robot{Token: canaryToken, Secret: canarySecret}, paced(20), nil)
			want, err := rig.w.Parts(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) < 3 {
				t.Fatalf("%d parts; the text should need at least 3", len(want))
			}
			rec, err := rig.w.Send(context.Background(), outgoing("long-1", tt.r))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			posts := rig.fake.Posts(canaryToken)
			if rec.Parts != len(want) || len(posts) != len(want) || len(rec.MessageIDs) != len(want) {
				t.Fatalf("receipt %d parts, %d ids, %d posts, Parts() %d", rec.Parts, len(rec.MessageIDs), len(posts), len(want))
			}
			for i, p := range posts {
				if p.Bytes > WebhookMaxBody {
					t.Errorf("part %d is %d bytes on the wire", i+1, p.Bytes)
				}
				if p.Text != want[i] {
					t.Errorf("part %d posted differs from Parts()", i+1)
				}
				if marker := transform.Marker(i+1, len(posts)); !strings.HasPrefix(p.Text, marker) {
					t.Errorf("part %d starts %q, want marker %q", i+1, p.Text[:20], marker)
				}
				if p.MsgUUID != rec.MessageIDs[i] {
					t.Errorf("part %d msgUuid %q, receipt %q", i+1, p.MsgUUID, rec.MessageIDs[i])
				}
				last := i == len(posts)-1
				switch {
				case tt.r.Format == groupcast.TextPlain:
					if p.MsgType != "text" {
						t.Errorf("part %d msgtype %s", i+1, p.MsgType)
					}
				case len(tt.r.Links) > 0 && last:
					if p.MsgType != "actionCard" || len(p.Buttons) != len(tt.r.Links) || p.Buttons[0].ActionURL != tt.r.Links[0].URL {
						t.Errorf("last part %s with buttons %+v", p.MsgType, p.Buttons)
					}
				default:
					if p.MsgType != "markdown" || p.Title != tt.r.Title {
						t.Errorf("part %d %s titled %q", i+1, p.MsgType, p.Title)
					}
				}
				if p.AtAll != (tt.r.MentionAll && strings.Contains(p.Text, WebhookMentionAll)) {
					t.Errorf("part %d at.isAtAll %v", i+1, p.AtAll)
				}
			}
			// Nothing dropped: every paragraph arrives once, in order.
			var joined strings.Builder
			for _, p := range posts {
				joined.WriteString(p.Text)
			}
			for i := range longParagraphs {
				if strings.Count(joined.String(), fmt.Sprintf("第 %d 段：", i+1)) != 1 {
					t.Fatalf("paragraph %d missing or repeated", i+1)
				}
			}
			if strings.Index(joined.String(), "第 699 段") < strings.Index(joined.String(), "第 2 段") {
				t.Error("parts out of order")
			}
		})
	}
}

func TestWebhookMsgUUIDStableAcrossRetry(t *testing.T) {
	tests := []struct {
		name string
		fail func(n int) (before, after bool)
	}{
		// Part 2's answer is lost after the fake posted it: the retry
		// resends parts 1 and 2 with the same keys and the fake drops both.
		{"answer lost", func(n int) (bool, bool) { return false, n == 2 }},
		// Part 2 never reaches the fake: only part 1 is a duplicate.
		{"request lost", func(n int) (bool, bool) { return n == 2, false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &recordingTransport{fail: tt.fail}
			rig := newWebhookRig(t, dingtalkfake.Robot{Token: canaryToken, Secret: canarySecret}, paced(20), rt)
			m := outgoing("retry-1", formal(longText()))
			_, err := rig.w.Send(context.Background(), m)
			adapterstest.WantClass(t, err, groupcast.ClassTemporary, "network")
			adapterstest.AssertNoSecret(t, "error", err.Error(), canaryToken, canarySecret)
			rec, err := rig.w.Send(context.Background(), m) // the router's retry
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			posts := rig.fake.Posts(canaryToken)
			if len(posts) != rec.Parts {
				t.Fatalf("%d posts for %d parts: a part was posted twice or lost", len(posts), rec.Parts)
			}
			if rig.fake.Duplicates() == 0 {
				t.Error("the retry sent no duplicate key: the test proves nothing")
			}
			seen := map[string]bool{}
			for i, p := range posts {
				if seen[p.MsgUUID] {
					t.Errorf("msgUuid %s posted twice", p.MsgUUID)
				}
				seen[p.MsgUUID] = true
				if p.MsgUUID != partUUID(m.DeliveryID, i) {
					t.Errorf("part %d key is not derived from the delivery id", i+1)
				}
			}
		})
	}
}

func TestPartUUID(t *testing.T) {
	a, b := partUUID("m/acc/g", 0), partUUID("m/acc/g", 0)
	if a != b || a == partUUID("m/acc/g", 1) || a == partUUID("m/acc/h", 0) {
		t.Fatalf("keys not stable or not distinct: %s %s", a, b)
	}
	if len(a) != 36 || a[14] != '5' {
		t.Errorf("%q is not a version-5 layout UUID", a)
	}
	if partUUID("", 0) == partUUID("", 0) {
		t.Error("keys without a delivery id must be random")
	}
}

func TestWebhookErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*webhookRig)
		class groupcast.Class
		code  string
	}{
		{"unknown token", func(r *webhookRig) {
			r.fake.AddRobot(dingtalkfake.Robot{Token: "other"})
			r.w.token = "tok-unknown-canary"
		}, groupcast.ClassPermanent, "300001"},
		{"keyword missing", func(r *webhookRig) {
			r.fake.AddRobot(dingtalkfake.Robot{Token: canaryToken, Secret: canarySecret, Keywords: []string{"告警"}})
		}, groupcast.ClassPermanent, "310000"},
		{"outage 503", func(r *webhookRig) { r.fake.SetOutage(http.StatusServiceUnavailable) }, groupcast.ClassTemporary, "http_503"},
		{"server gone", func(r *webhookRig) { r.fake.Close() }, groupcast.ClassTemporary, "network"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newWebhookRig(t, dingtalkfake.Robot{Token: canaryToken, Secret: canarySecret}, nil, nil)
			tt.setup(rig)
			_, err := rig.w.Send(context.Background(), outgoing("err-1", formal("正文")))
			adapterstest.WantClass(t, err, tt.class, tt.code)
			adapterstest.AssertNoSecret(t, "error", err.Error(), canaryToken, canarySecret, "tok-unknown-canary")
			adapterstest.AssertNoSecret(t, "logs", rig.logs.String(), "tok-unknown-canary")
		})
	}
}

func TestWebhookHonoursContext(t *testing.T) {
	rig := newWebhookRig(t, dingtalkfake.Robot{Token: canaryToken, Secret: canarySecret}, paced(20), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := rig.w.Send(ctx, outgoing("ctx-1", formal("正文")))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n := len(rig.fake.Requests()); n != 0 {
		t.Errorf("%d requests after cancellation", n)
	}
}

func TestWebhookRecallUnsupported(t *testing.T) {
	rig := newWebhookRig(t, dingtalkfake.Robot{Token: canaryToken}, nil, nil)
	err := rig.w.Recall(context.Background(), "ops-robot", groupcast.Receipt{Parts: 1, MessageIDs: []string{"x"}})
	if !errors.Is(err, groupcast.ErrRecallUnsupported) {
		t.Fatalf("got %v", err)
	}
}

func TestWebhookEmptyTextIsPermanent(t *testing.T) {
	rig := newWebhookRig(t, dingtalkfake.Robot{Token: canaryToken}, nil, nil)
	_, err := rig.w.Send(context.Background(), outgoing("empty", formal("  \n ")))
	adapterstest.WantClass(t, err, groupcast.ClassPermanent, "content")
}

func TestCheckWebhookAccount(t *testing.T) {
	tests := []struct {
		acc  WebhookConfig
		want string
	}{
		{WebhookConfig{AccessToken: "abc", Secret: "SECx"}, ""},
		{WebhookConfig{AccessToken: "https://oapi.dingtalk.com/robot/send?access_token=abc"}, "access_token: paste only the token"},
		{WebhookConfig{AccessToken: "abc", Secret: "notsec"}, "secret: a DingTalk signing secret starts with SEC"},
		{WebhookConfig{AccessToken: "abc", BaseURL: "oapi.dingtalk.com"}, "base_url:"},
	}
	for _, tt := range tests {
		got := strings.Join(tt.acc.Check(), "; ")
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("check(%+v) = %q, want %q", tt.acc.BaseURL, got, tt.want)
		}
		adapterstest.AssertNoSecret(t, "check", got, "notsec")
	}
}

// TestWebhookGoldenBodies pins the exact request bodies of each message
// shape (run with -update to rewrite testdata/).
func TestWebhookGoldenBodies(t *testing.T) {
	tests := []struct {
		name string
		r    groupcast.Rendered
	}{
		{"markdown", formal("### 【通知】机房断电演练\n\n各位同事：\n\n今晚 <22:00> 演练 & 复盘。\n\n特此通知。")},
		{"actioncard", groupcast.Rendered{Title: "【通知】发布窗口", Format: groupcast.TextMarkdown, Text: "本周五 20:00 发布。",
			Links: []groupcast.Link{{Title: "发布单", URL: "https://ci.example.com/r?id=1&x=2"}, {URL: "https://wiki.example.com/w"}}}},
		{"text-mention-all", groupcast.Rendered{Title: "停电", Format: groupcast.TextPlain, Text: "明早 8 点停电。",
			MentionAll: true, Links: []groupcast.Link{{Title: "详情", URL: "https://example.com/a"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newWebhookRig(t, dingtalkfake.Robot{Token: canaryToken}, nil, nil)
			if _, err := rig.w.Send(context.Background(), outgoing("golden", tt.r)); err != nil {
				t.Fatal(err)
			}
			got := rig.fake.Requests()[0].Body
			var pretty map[string]any
			if err := json.Unmarshal(got, &pretty); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "webhook-"+tt.name+".json")
			if *update {
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if string(got)+"\n" != string(want) {
				t.Errorf("body differs from %s:\n got %s\nwant %s", path, got, want)
			}
		})
	}
}

func TestDecodeWebhookAnswer(t *testing.T) {
	tests := []struct {
		status int
		body   string
		class  groupcast.Class
		code   string
		ok     bool
	}{
		{200, `{"errcode":0,"errmsg":"ok"}`, 0, "", true},
		{200, `{"errmsg":"ok","errcode":"0"}`, 0, "", true},
		{200, `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`, groupcast.ClassThrottled, "130101", false},
		{200, `{"errcode":310000,"errmsg":"keywords not in content"}`, groupcast.ClassPermanent, "310000", false},
		{200, `{"errcode":300001,"errmsg":"token is not exist"}`, groupcast.ClassPermanent, "300001", false},
		{200, `{"errcode":400402,"errmsg":"参数 markdown --》 title 缺失"}`, groupcast.ClassPermanent, "400402", false},
		{200, `{"errcode":410100,"errmsg":"?"}`, groupcast.ClassPermanent, "410100", false},
		{200, `{"errcode":460101,"errmsg":"description: body 大小不合法;solution:请保持大小在 20000bytes 以内;"}`, groupcast.ClassPermanent, "460101", false},
		{200, `{"errcode":-1,"errmsg":"系统繁忙"}`, groupcast.ClassTemporary, "-1", false},
		{200, `<html>gateway</html>`, groupcast.ClassTemporary, "bad_answer", false},
		{200, `{"errmsg":"ok"}`, groupcast.ClassTemporary, "bad_answer", false},
		{302, ``, groupcast.ClassThrottled, "http_302", false},
		{429, ``, groupcast.ClassThrottled, "http_429", false},
		{502, `bad gateway`, groupcast.ClassTemporary, "http_502", false},
		{404, `not found`, groupcast.ClassPermanent, "http_404", false},
	}
	for _, tt := range tests {
		err := decodeWebhookAnswer(tt.status, []byte(tt.body))
		if tt.ok {
			if err != nil {
				t.Errorf("%d %s: %v", tt.status, tt.body, err)
			}
			continue
		}
		c, code, _ := groupcast.Classify(err)
		if err == nil || c != tt.class || code != tt.code {
			t.Errorf("%d %s: got %v %q (%v), want %v %q", tt.status, tt.body, c, code, err, tt.class, tt.code)
		}
	}
}

func FuzzDecodeWebhookAnswer(f *testing.F) {
	for _, s := range []string{`{"errcode":0,"errmsg":"ok"}`, `{"errcode":130101}`, `{"errcode":"310000","errmsg":"sign not match"}`,
		`{"errcode":1e3}`, `{"errcode":null}`, `[]`, ``, `{"errcode":99999999999999999999}`} {
		f.Add(200, []byte(s))
	}
	f.Add(302, []byte(nil))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		err := decodeWebhookAnswer(status, body)
		if err == nil {
			return
		}
		var de *groupcast.DeliveryError
		if !errors.As(err, &de) {
			t.Fatalf("unclassified error %v", err)
		}
		if de.Class == groupcast.ClassThrottled && de.Pause <= 0 {
			t.Fatalf("throttle without a pause: %v", err)
		}
	})
}

// BenchmarkWebhookParts measures planning an ~85 KB announcement: the
// splitter measures candidate parts by encoding whole request bodies.
func BenchmarkWebhookParts(b *testing.B) {
	w, err := NewWebhook("b", WebhookConfig{AccessToken: "t"}, adapters.Env{})
	if err != nil {
		b.Fatal(err)
	}
	r := formal(longText())
	b.SetBytes(int64(len(r.Text)))
	for b.Loop() {
		if _, err := w.Parts(r); err != nil {
			b.Fatal(err)
		}
	}
}
