package wechat

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/adapterstest"
	"github.com/groupcast/groupcast/adapters/wechat/wechatfake"
	"github.com/groupcast/groupcast/configs"
)

const canaryKey = "CANARY-7f3e9a1c-0b2d-4e5f-8a9b-1c2d3e4f5a6b"

type wecomRig struct {
	fake   *wechatfake.WeCom
	clock  *adapterstest.Clock
	pacer  *adapterstest.Pacer
	logs   *adapterstest.LogBuffer
	sender *WeCom
}

// newWeComRig wires a WeCom sender to a strict fake. With paced, requests
// go through a 20/min pacer on the fake clock; else they are not paced.
func newWeComRig(t *testing.T, key string, paced bool) *wecomRig {
	t.Helper()
	fake := wechatfake.NewWeCom(canaryKey)
	t.Cleanup(fake.Close)
	clock := adapterstest.NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	fake.Now = clock.Now
	log, buf := adapterstest.NewLogger()
	env := adapters.Env{Logger: log, HTTPClient: fake.Client(), Now: clock.Now}
	var pacer *adapterstest.Pacer
	if paced {
		pacer = adapterstest.NewPacer(clock, WeComDriver.DefaultRate)
		env.Pacer = pacer
	}
	acc := configs.Account{Name: "wecom-ops", Platform: "wechat", Driver: "wecom",
		Settings: configs.MustSettings(map[string]any{"key": key, "base_url": fake.URL()})}
	s, err := WeComDriver.New(acc, env)
	if err != nil {
		t.Fatal(err)
	}
	return &wecomRig{fake: fake, clock: clock, pacer: pacer, logs: buf, sender: s.(*WeCom)}
}

func out(r groupcast.Rendered) groupcast.Outgoing {
	return groupcast.Outgoing{DeliveryID: "d1", Announcement: &groupcast.Announcement{ID: "a1"}, Group: "wecom-ops", Rendered: r}
}

var markerRE = regexp.MustCompile(`^（(\d+)/(\d+)）\n`)

func TestWeComLongTextArrivesCompleteInOrder(t *testing.T) {
	rig := newWeComRig(t, canaryKey, true)
	var b strings.Builder
	for i := 0; b.Len() < 10_000; i++ {
		b.WriteString("第")
		b.WriteString(strings.Repeat("段", i%7+1))
		b.WriteString("：服务器维护通知，请各位同事提前保存工作。Maintenance window v2.3.1 starts at 22:00.\n\n")
	}
	text := strings.TrimSpace(b.String())
	if len(text) < 10_000 {
		t.Fatalf("text is %d bytes", len(text))
	}
	rec, err := rig.sender.Send(context.Background(), out(groupcast.Rendered{Style: "long", Format: groupcast.TextPlain, Text: text}))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := rig.fake.Messages()
	if rig.fake.Count(40058) != 0 {
		t.Fatalf("the fake answered 40058 %d times", rig.fake.Count(40058))
	}
	if len(msgs) != rec.Parts || len(msgs) < 3 {
		t.Fatalf("%d messages for %d parts; want ≥3", len(msgs), rec.Parts)
	}
	var joined strings.Builder
	for i, m := range msgs {
		if m.MsgType != "markdown" || len(m.Content) > WeComMarkdownMaxBytes {
			t.Errorf("part %d: %s of %d bytes", i+1, m.MsgType, len(m.Content))
		}
		mk := markerRE.FindStringSubmatch(m.Content)
		if mk == nil || mk[1] != itoa(i+1) || mk[2] != itoa(len(msgs)) {
			t.Fatalf("part %d starts %q: not in order", i+1, clip(m.Content, 20))
		}
		joined.WriteString(strings.TrimPrefix(m.Content, mk[0]))
	}
	strip := func(s string) string { return strings.Join(strings.Fields(s), "") }
	if strip(joined.String()) != strip(text) {
		t.Error("the parts joined are not the text")
	}
	if rig.pacer.Waits() != len(msgs) {
		t.Errorf("pacer waited %d times for %d requests", rig.pacer.Waits(), len(msgs))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestWeComBurstOverLimitDefers(t *testing.T) {
	rig := newWeComRig(t, canaryKey, false) // no pacer: a burst reaches the platform
	msg := out(groupcast.Rendered{Style: "short", Format: groupcast.TextPlain, Text: "短消息"})
	for i := range WeComPerMinute {
		if _, err := rig.sender.Send(context.Background(), msg); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	_, err := rig.sender.Send(context.Background(), msg)
	pause := adapterstest.WantClass(t, err, groupcast.ClassThrottled, "45009")
	if pause != WeComThrottlePause {
		t.Fatalf("21st send: pause %v (%v); want %v", pause, err, WeComThrottlePause)
	}
	// After the pause the robot takes messages again.
	rig.clock.Advance(pause)
	if _, err := rig.sender.Send(context.Background(), msg); err != nil {
		t.Fatalf("after the pause: %v", err)
	}
}

func TestWeComPacedBurstNeverThrottled(t *testing.T) {
	rig := newWeComRig(t, canaryKey, true)
	start := rig.clock.Now()
	msg := out(groupcast.Rendered{Style: "short", Format: groupcast.TextPlain, Text: "短消息"})
	for i := range 65 {
		if _, err := rig.sender.Send(context.Background(), msg); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	if n := rig.fake.Count(45009); n != 0 {
		t.Fatalf("%d answers 45009 with the default pace", n)
	}
	if d := rig.clock.Now().Sub(start); d < 3*time.Minute {
		t.Errorf("65 sends took %v of fake time; 20/min needs ≥3m", d)
	}
}

func TestWeComBadKeyFailsPermanentlyAtOnce(t *testing.T) {
	rig := newWeComRig(t, "wrong-"+canaryKey, false)
	_, err := rig.sender.Send(context.Background(), out(groupcast.Rendered{Style: "short", Format: groupcast.TextPlain, Text: "hi"}))
	adapterstest.WantClass(t, err, groupcast.ClassPermanent, "93000")
	if n := len(rig.fake.Requests()); n != 1 {
		t.Fatalf("%d requests; want exactly one attempt", n)
	}
	adapterstest.AssertNoSecret(t, "error", err.Error(), canaryKey)
}

func TestWeComMessageShapes(t *testing.T) {
	long := strings.Repeat("运维公告内容。", 120) // 2520 bytes: over the text limit
	tests := []struct {
		name      string
		r         groupcast.Rendered
		wantTypes []string
		mentioned []bool
	}{
		{"short text", groupcast.Rendered{Style: "short", Format: groupcast.TextPlain, Text: "明晚维护"}, []string{"text"}, []bool{false}},
		{"short text @all", groupcast.Rendered{Style: "short", Format: groupcast.TextPlain, Text: "明晚维护", MentionAll: true}, []string{"text"}, []bool{true}},
		{"plain over 2048 B goes markdown", groupcast.Rendered{Style: "short", Format: groupcast.TextPlain, Text: long}, []string{"markdown"}, []bool{false}},
		{"formal markdown", groupcast.Rendered{Style: "formal", Format: groupcast.TextMarkdown, Title: "维护", Text: "### 【通知】维护\n各位同事：\n明晚维护。"}, []string{"markdown"}, []bool{false}},
		{"markdown @all adds a text part", groupcast.Rendered{Style: "formal", Format: groupcast.TextMarkdown, Title: "维护", Text: "### 维护", MentionAll: true}, []string{"markdown", "text"}, []bool{false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newWeComRig(t, canaryKey, false)
			parts, err := rig.sender.Parts(tt.r)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := rig.sender.Send(context.Background(), out(tt.r))
			if err != nil {
				t.Fatal(err)
			}
			msgs := rig.fake.Messages()
			if len(msgs) != len(tt.wantTypes) || rec.Parts != len(msgs) || len(parts) != len(msgs) {
				t.Fatalf("%d messages, %d parts, receipt %d; want %d", len(msgs), len(parts), rec.Parts, len(tt.wantTypes))
			}
			for i, m := range msgs {
				if m.MsgType != tt.wantTypes[i] {
					t.Errorf("message %d is %s; want %s", i+1, m.MsgType, tt.wantTypes[i])
				}
				if got := len(m.MentionedList) == 1 && m.MentionedList[0] == "@all"; got != tt.mentioned[i] {
					t.Errorf("message %d mentions %v", i+1, m.MentionedList)
				}
				if m.Content != parts[i] {
					t.Errorf("message %d differs from Parts()", i+1)
				}
			}
		})
	}
}

func TestWeComGoldenRequests(t *testing.T) {
	rig := newWeComRig(t, canaryKey, false)
	for _, r := range []groupcast.Rendered{
		{Style: "short", Format: groupcast.TextPlain, Text: "【维护】今晚 22:00 <数据库> & 缓存升级\n详情：https://ops.example.com/n/1", MentionAll: true},
		{Style: "formal", Format: groupcast.TextMarkdown, Title: "升级通知", Text: "### 【通知】升级通知\n各位同事：\n今晚升级。\n\n特此通知。", MentionAll: true},
	} {
		if _, err := rig.sender.Send(context.Background(), out(r)); err != nil {
			t.Fatal(err)
		}
	}
	var got bytes.Buffer
	for _, r := range rig.fake.Requests() {
		got.WriteString(r.Method + " " + r.Path + "\n")
		got.Write(r.Body)
		got.WriteString("\n\n")
	}
	golden(t, "wecom_requests.golden", got.Bytes())
}

func TestWeComNeverOverLimit(t *testing.T) {
	samples := []string{
		strings.Repeat("a", 9000),
		strings.Repeat("中", 5000),
		strings.Repeat("👨‍👩‍👧", 800),
		strings.Repeat("混合 text 与 emoji 😀，", 700),
		strings.Repeat("x", WeComMarkdownMaxBytes) + "y",
		strings.Repeat("<&>", 3000),
	}
	for i, s := range samples {
		for _, style := range []string{"short", "long"} {
			rig := newWeComRig(t, canaryKey, false)
			rig.fake.PerMinute = 1000
			if _, err := rig.sender.Send(context.Background(), out(groupcast.Rendered{Style: style, Format: groupcast.TextPlain, Text: s})); err != nil {
				t.Fatalf("sample %d %s: %v", i, style, err)
			}
			for _, m := range rig.fake.Messages() {
				limit := WeComMarkdownMaxBytes
				if m.MsgType == "text" {
					limit = WeComTextMaxBytes
				}
				if len(m.Content) > limit || !utf8.ValidString(m.Content) {
					t.Fatalf("sample %d: a %s part of %d bytes", i, m.MsgType, len(m.Content))
				}
			}
			if rig.fake.Count(40058) != 0 {
				t.Fatalf("sample %d: 40058", i)
			}
		}
	}
}

func TestWeComFailureClasses(t *testing.T) {
	msg := out(groupcast.Rendered{Style: "short", Format: groupcast.TextPlain, Text: "hi"})
	tests := []struct {
		name  string
		setup func(*wecomRig)
		class groupcast.Class
		code  string
	}{
		{"outage", func(r *wecomRig) { r.fake.Outage(1) }, groupcast.ClassTemporary, "http_503"},
		{"oversize answer", func(r *wecomRig) { r.fake.Fail(40058) }, groupcast.ClassPermanent, "40058"},
		{"unknown code", func(r *wecomRig) { r.fake.Fail(40008) }, groupcast.ClassPermanent, "40008"},
		{"system busy", func(r *wecomRig) { r.fake.Fail(-1) }, groupcast.ClassTemporary, "-1"},
		{"frequency", func(r *wecomRig) { r.fake.Fail(45009) }, groupcast.ClassThrottled, "45009"},
		{"server gone", func(r *wecomRig) { r.fake.Close() }, groupcast.ClassTemporary, "network"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newWeComRig(t, canaryKey, false)
			tt.setup(rig)
			_, err := rig.sender.Send(context.Background(), msg)
			class, code, pause := groupcast.Classify(err)
			if class != tt.class || code != tt.code {
				t.Fatalf("got %v %q (%v); want %v %q", class, code, err, tt.class, tt.code)
			}
			if class == groupcast.ClassThrottled && pause <= 0 {
				t.Error("throttled without a pause")
			}
			adapterstest.AssertNoSecret(t, "error", err.Error(), canaryKey)
			adapterstest.AssertNoSecret(t, "logs", rig.logs.String(), canaryKey)
		})
	}
}

func TestWeComHonoursContext(t *testing.T) {
	rig := newWeComRig(t, canaryKey, true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := rig.sender.Send(ctx, out(groupcast.Rendered{Style: "short", Format: groupcast.TextPlain, Text: "hi"}))
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v; want a cancellation", err)
	}
	if c, _, _ := groupcast.Classify(err); c != groupcast.ClassTemporary {
		t.Errorf("class %v", c)
	}
	if n := len(rig.fake.Requests()); n != 0 {
		t.Fatalf("%d requests after cancellation", n)
	}
}

func TestWeComRecallUnsupported(t *testing.T) {
	rig := newWeComRig(t, canaryKey, false)
	err := rig.sender.Recall(context.Background(), "wecom-ops", groupcast.Receipt{Parts: 1})
	if !errors.Is(err, groupcast.ErrRecallUnsupported) {
		t.Fatalf("got %v", err)
	}
}

func TestWeComCheckAccount(t *testing.T) {
	tests := []struct {
		acc  WeComConfig
		want string
	}{
		{WeComConfig{Key: "k"}, ""},
		{WeComConfig{Key: "k", BaseURL: "ftp://x"}, "base_url"},
		{WeComConfig{Key: "k", BaseURL: "https://x/?key=1"}, "base_url"},
		{WeComConfig{Key: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"}, "key"},
	}
	for _, tt := range tests {
		probs := tt.acc.Check()
		got := strings.Join(probs, ";")
		if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
			t.Errorf("%+v: %q; want prefix %q", tt.acc.BaseURL, got, tt.want)
		}
		if strings.Contains(got, tt.acc.Key.Reveal()) && tt.acc.Key != "k" {
			t.Error("a problem shows the key")
		}
	}
}

func TestDecodeWeComResponse(t *testing.T) {
	tests := []struct {
		in      string
		code    int
		wantErr bool
	}{
		{`{"errcode":0,"errmsg":"ok"}`, 0, false},
		{`{"errcode":45009,"errmsg":"api freq out of limit"}`, 45009, false},
		{`{"errmsg":"ok"}`, 0, true},
		{`<html>`, 0, true},
		{`{"errcode":"x"}`, 0, true},
		{`{"errcode":1.5}`, 0, true},
	}
	for _, tt := range tests {
		got, err := decodeWeComResponse([]byte(tt.in))
		if (err != nil) != tt.wantErr || (err == nil && got.ErrCode != tt.code) {
			t.Errorf("%s: %+v %v", tt.in, got, err)
		}
	}
}

func FuzzDecodeWeComResponse(f *testing.F) {
	for _, s := range []string{`{"errcode":0,"errmsg":"ok"}`, `{"errcode":93000,"errmsg":"invalid webhook url"}`, `{}`, `null`, `[`, `{"errcode":99999999999999999999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := decodeWeComResponse(raw)
		if err != nil {
			return
		}
		e := r.err()
		if (r.ErrCode == 0) != (e == nil) {
			t.Fatalf("errcode %d gave %v", r.ErrCode, e)
		}
		if e != nil {
			if c, code, _ := groupcast.Classify(e); code == "" || (r.ErrCode == 45009) != (c == groupcast.ClassThrottled) {
				t.Fatalf("errcode %d classified %v %q", r.ErrCode, c, code)
			}
		}
	})
}
