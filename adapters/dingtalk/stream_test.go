package dingtalk

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/adapterstest"
	"github.com/groupcast/groupcast/adapters/dingtalk/dingtalkfake"
	"github.com/groupcast/groupcast/configs"
)

const (
	canaryClientSecret = "client-secret-canary-9b2d"
	adminConv          = "cidAdminGroup=="
)

// fakeIntake plans every announcement to two targets, which settle after
// a number of Status calls.
type fakeIntake struct {
	mu          sync.Mutex
	submitted   []*groupcast.Announcement
	byID        map[string]groupcast.Status
	digests     map[string]string
	settleAfter int
	polls       int
	submitErr   error
}

func newFakeIntake() *fakeIntake {
	return &fakeIntake{byID: map[string]groupcast.Status{}, digests: map[string]string{}, settleAfter: 2}
}

func (f *fakeIntake) Submit(ctx context.Context, a *groupcast.Announcement) (groupcast.Accepted, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.submitErr != nil {
		return groupcast.Accepted{}, f.submitErr
	}
	if d, ok := f.digests[a.ID]; ok {
		if d != a.Digest() {
			return groupcast.Accepted{}, groupcast.ErrConflict
		}
		return groupcast.Accepted{Status: f.byID[a.ID], Existing: true}, nil
	}
	f.submitted = append(f.submitted, a)
	f.digests[a.ID] = a.Digest()
	st := groupcast.Status{ID: a.ID, Title: a.Title, State: "pending", Targets: []groupcast.Target{
		{Route: "ops", Platform: "dingtalk", Account: "ops-robot", Group: "ops-robot", Style: "formal", State: groupcast.StateQueued},
		{Route: "ops", Platform: "qq", Account: "qq-main", Group: "123456789", Style: "long", State: groupcast.StateQueued},
	}}
	f.byID[a.ID] = st
	return groupcast.Accepted{Status: st}, nil
}

func (f *fakeIntake) Status(ctx context.Context, id string) (groupcast.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.byID[id]
	if !ok {
		return groupcast.Status{}, groupcast.ErrNotFound
	}
	f.polls++
	if f.polls >= f.settleAfter {
		targets := append([]groupcast.Target(nil), st.Targets...)
		targets[0].State, targets[0].Parts = groupcast.StateDelivered, 1
		targets[1].State, targets[1].Reason = groupcast.StateDeferred, "throttled (130101): robot paused"
		st.Targets = targets
		st.State = groupcast.MessageState(targets)
		f.byID[id] = st
	}
	return st, nil
}

func (f *fakeIntake) Submitted() []*groupcast.Announcement {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*groupcast.Announcement(nil), f.submitted...)
}

type streamRig struct {
	gw     *dingtalkfake.Gateway
	intake *fakeIntake
	s      *Stream
	logs   *adapterstest.LogBuffer
	done   chan error
	cancel context.CancelFunc
}

func newStreamRig(t *testing.T, senders []string, before func(*dingtalkfake.Gateway), opts ...StreamOption) *streamRig {
	t.Helper()
	return newStreamRigSource(t, nil, senders, before, opts...)
}

// newStreamRigSource is newStreamRig with the source changed by edit.
func newStreamRigSource(t *testing.T, edit func(*configs.Source), senders []string, before func(*dingtalkfake.Gateway), opts ...StreamOption) *streamRig {
	t.Helper()
	gw := dingtalkfake.NewGateway(t)
	gw.AddClient("dingclientid", canaryClientSecret)
	if before != nil {
		before(gw)
	}
	intake := newFakeIntake()
	logs := &adapterstest.LogBuffer{}
	src := configs.Source{Name: "dt-admin", Driver: StreamDriver, ClientID: "dingclientid", ClientSecret: canaryClientSecret,
		Conversations: []string{adminConv}, Senders: senders, BaseURL: gw.URL}
	if edit != nil {
		edit(&src)
	}
	s, err := NewStream(src, intake, adapters.Env{Logger: logs.Logger()}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	s.checkEvery, s.backoffMin, s.backoffMax = 20*time.Millisecond, 10*time.Millisecond, 40*time.Millisecond
	s.pollMin, s.pollMax = 10*time.Millisecond, 40*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	rig := &streamRig{gw: gw, intake: intake, s: s, logs: logs, done: make(chan error, 1), cancel: cancel}
	go func() { rig.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-rig.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
		adapterstest.AssertNoSecret(t, "logs", logs.String(), canaryClientSecret)
	})
	return rig
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (r *streamRig) connected(t *testing.T, opens int) {
	t.Helper()
	if err := r.gw.WaitConnected(waitCtx(t), opens); err != nil {
		t.Fatal(err)
	}
	adapterstest.Eventually(t, "Ready", func() bool { return r.s.Ready() == nil })
}

func (r *streamRig) say(t *testing.T, sender, conv, text string) string {
	t.Helper()
	hook := r.gw.SessionWebhook(90 * time.Minute)
	ack, err := r.gw.Deliver(waitCtx(t), dingtalkfake.BotMessage{
		ConversationID: conv, SenderStaffID: sender, SenderNick: "值班员", Text: dingtalkfake.Text{Content: text},
		SessionWebhook: hook, RobotCode: "dingrobot",
	})
	if err != nil {
		t.Fatal(err)
	}
	if ack.Code != http.StatusOK {
		t.Fatalf("ack %+v", ack)
	}
	return hook
}

func TestStreamAnnounceAcceptedAndOutcome(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		id    string
		title string
	}{
		{"front matter", " /announce\n---\nid: drill-2026-11\ntitle: 机房断电演练\ntags: [ops]\n---\n今晚 **22:00** 演练。", "drill-2026-11", "机房断电演练"},
		{"title line", "@groupcast /announce 发布窗口调整\n本周五 20:00 发布，请提前合并。", "", "发布窗口调整"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newStreamRig(t, []string{"staff-1"}, nil)
			rig.connected(t, 1)
			hook := rig.say(t, "staff-1", adminConv, tt.text)
			replies, err := rig.gw.WaitReplies(waitCtx(t), hook, 2)
			if err != nil {
				t.Fatalf("%v; replies %+v", err, replies)
			}
			subs := rig.intake.Submitted()
			if len(subs) != 1 {
				t.Fatalf("%d submissions", len(subs))
			}
			a := subs[0]
			if a.Title != tt.title || (tt.id != "" && a.ID != tt.id) || !groupcast.ValidID(a.ID) || a.Author != "值班员" {
				t.Fatalf("announcement %+v", a)
			}
			first, second := replies[0].Text, replies[1].Text
			for _, want := range []string{a.ID, "ops-robot", "qq-main", "queued", "已受理"} {
				if !strings.Contains(first, want) {
					t.Errorf("first reply lacks %q:\n%s", want, first)
				}
			}
			for _, want := range []string{"结果", a.ID, "delivered", "deferred", "130101"} {
				if !strings.Contains(second, want) {
					t.Errorf("outcome reply lacks %q:\n%s", want, second)
				}
			}
			if len(rig.gw.Replies(hook)) != 2 {
				t.Error("more than one outcome reply")
			}
		})
	}
}

func TestStreamRedeliveredCallbackIsIdempotent(t *testing.T) {
	rig := newStreamRig(t, nil, nil)
	rig.connected(t, 1)
	msg := dingtalkfake.BotMessage{ConversationID: adminConv, SenderStaffID: "anyone", MsgID: "msgSAME==",
		Text: dingtalkfake.Text{Content: "/announce 停电通知\n明早 8 点停电。"}}
	for range 2 {
		msg.SessionWebhook = rig.gw.SessionWebhook(time.Hour)
		if _, err := rig.gw.Deliver(waitCtx(t), msg); err != nil {
			t.Fatal(err)
		}
		if _, err := rig.gw.WaitReplies(waitCtx(t), msg.SessionWebhook, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(rig.intake.Submitted()); n != 1 {
		t.Fatalf("%d announcements from one message delivered twice", n)
	}
	if r := rig.gw.Replies(msg.SessionWebhook); !strings.Contains(r[0].Text, "已存在") {
		t.Errorf("second reply: %s", r[0].Text)
	}
}

func TestStreamRefusals(t *testing.T) {
	tests := []struct {
		name   string
		sender string
		conv   string
		want   string
	}{
		{"sender not allowed", "staff-9", adminConv, "senders"},
		{"external sender", "", adminConv, "external"},
		{"other conversation", "staff-1", "cidOtherGroup==", "conversations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newStreamRig(t, []string{"staff-1"}, nil)
			rig.connected(t, 1)
			hook := rig.say(t, tt.sender, tt.conv, "/announce 标题\n正文")
			replies, err := rig.gw.WaitReplies(waitCtx(t), hook, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(replies[0].Text, "refused") || !strings.Contains(replies[0].Text, tt.want) {
				t.Errorf("refusal does not say why (%s): %s", tt.want, replies[0].Text)
			}
			if n := len(rig.intake.Submitted()); n != 0 {
				t.Fatalf("%d submissions from a refused message", n)
			}
		})
	}
}

func TestStreamInvalidAnnouncementNamesField(t *testing.T) {
	rig := newStreamRig(t, nil, nil)
	rig.connected(t, 1)
	hook := rig.say(t, "staff-1", adminConv, "/announce\n---\ntitle: 演练\nlinks: [{title: x, url: ftp://x}]\n---\n正文")
	replies, err := rig.gw.WaitReplies(waitCtx(t), hook, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(replies[0].Text, "links[0].url") {
		t.Errorf("reply does not name the field: %s", replies[0].Text)
	}
	// Markdown past the rendering limits is refused too, naming the body.
	hook = rig.say(t, "staff-1", adminConv, "/announce\n---\ntitle: 演练\n---\n"+strings.Repeat(">", 40)+" 正文")
	replies, err = rig.gw.WaitReplies(waitCtx(t), hook, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(replies[0].Text, "too_complex") || !strings.Contains(replies[0].Text, "`body`") {
		t.Errorf("reply does not refuse the body: %s", replies[0].Text)
	}
	if len(rig.intake.Submitted()) != 0 {
		t.Fatal("invalid announcement submitted")
	}
}

func TestStreamStatusCommand(t *testing.T) {
	rig := newStreamRig(t, nil, nil)
	rig.connected(t, 1)
	rig.intake.settleAfter = 1 << 30 // stays queued
	if _, err := rig.intake.Submit(context.Background(), &groupcast.Announcement{ID: "known-1", Title: "已知"}); err != nil {
		t.Fatal(err)
	}
	hook := rig.say(t, "staff-1", adminConv, "/status known-1")
	hook2 := rig.say(t, "staff-1", adminConv, "/status nope")
	hook3 := rig.say(t, "staff-1", adminConv, "你好")
	r1, err := rig.gw.WaitReplies(waitCtx(t), hook, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r1[0].Text, "known-1") || !strings.Contains(r1[0].Text, "qq-main / 123456789") {
		t.Errorf("status reply: %s", r1[0].Text)
	}
	r2, _ := rig.gw.WaitReplies(waitCtx(t), hook2, 1)
	if len(r2) == 0 || !strings.Contains(r2[0].Text, "not found") {
		t.Errorf("unknown id reply: %+v", r2)
	}
	r3, _ := rig.gw.WaitReplies(waitCtx(t), hook3, 1)
	if len(r3) == 0 || !strings.Contains(r3[0].Text, "/announce") {
		t.Errorf("help reply: %+v", r3)
	}
}

func TestStreamReconnectsAndReportsReadiness(t *testing.T) {
	rig := newStreamRig(t, nil, func(gw *dingtalkfake.Gateway) { gw.SetOpenStatus(http.StatusServiceUnavailable) })
	adapterstest.Eventually(t, "a failed connection", func() bool {
		err := rig.s.Ready()
		return err != nil && strings.Contains(err.Error(), "disconnected")
	})
	adapterstest.AssertNoSecret(t, "Ready", rig.s.Ready().Error(), canaryClientSecret)
	rig.gw.SetOpenStatus(0)
	rig.connected(t, 1)

	rig.gw.Drop()
	rig.connected(t, 2)
	hook := rig.say(t, "staff-1", adminConv, "/announce 重连后\n仍然可用。")
	if _, err := rig.gw.WaitReplies(waitCtx(t), hook, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(rig.intake.Submitted()); n != 1 {
		t.Fatalf("%d submissions after reconnect", n)
	}
}

// TestStreamReplacesASilentConnection: a half-open connection (the gateway
// answers nothing, not even WebSocket pings) is noticed by the keepalive —
// a ping after keepAlive without traffic, the connection closed when no
// pong comes within the SDK's fixed 5 s — and replaced. Without it the bot
// would stay ready and never receive again. Real time: the SDK's 5 s wait
// cannot be injected.
func TestStreamReplacesASilentConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the SDK's 5 s pong timeout")
	}
	rig := newStreamRig(t, nil, nil, func(s *Stream) { s.keepAlive = 3 * time.Second }) // the SDK's minimum
	rig.connected(t, 1)
	rig.gw.Silence()
	silenced := time.Now()
	// 3 s idle + 5 s without a pong + one 20 ms check; the bound is for a
	// loaded machine, the test fails rather than hangs.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := rig.gw.WaitConnected(ctx, 2); err != nil {
		t.Fatalf("the silent connection was not replaced: %v", err)
	}
	if d := time.Since(silenced); d < 3*time.Second {
		t.Fatalf("replaced after %v, before the keepalive could have noticed: not a keepalive", d)
	}
	adapterstest.Eventually(t, "Ready", func() bool { return rig.s.Ready() == nil })
	hook := rig.say(t, "staff-1", adminConv, "/announce 静默断线后\n仍然可用。")
	if _, err := rig.gw.WaitReplies(waitCtx(t), hook, 1); err != nil {
		t.Fatal(err)
	}
}

func TestStreamRunReturnsOnCancel(t *testing.T) {
	rig := newStreamRig(t, nil, nil)
	rig.connected(t, 1)
	rig.cancel()
	select {
	case err := <-rig.done:
		if err != nil {
			t.Fatal(err)
		}
		rig.done <- nil // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if rig.s.Ready() == nil {
		t.Error("ready after Run returned")
	}
	adapterstest.Eventually(t, "the connection to close", func() bool { return rig.gw.Connections() == 0 })
}

func TestNewStreamValidates(t *testing.T) {
	_, err := NewStream(configs.Source{Name: "x", ClientSecret: canaryClientSecret}, newFakeIntake(), adapters.Env{})
	if err == nil || !strings.Contains(err.Error(), "client_id") || !strings.Contains(err.Error(), "conversations") {
		t.Fatalf("got %v", err)
	}
	adapterstest.AssertNoSecret(t, "error", err.Error(), canaryClientSecret)
}

func TestDescribeError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&groupcast.InputError{Code: "invalid", Fields: []*groupcast.FieldError{{Field: "title", Message: "required"}}}, "`title`：required"},
		{&groupcast.InputError{Code: "no_route"}, "no_route"},
		{groupcast.ErrConflict, "conflict"},
		{errors.Join(groupcast.ErrNotReady), "not ready"},
	}
	for _, tt := range tests {
		if got := describeError(tt.err); !strings.Contains(got, tt.want) {
			t.Errorf("describeError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		in   string
		name string
		arg  string
	}{
		{"/announce\n---\ntitle: x\n---\nbody", "announce", "\n---\ntitle: x\n---\nbody"},
		{" @bot  /announce 标题\n正文", "announce", "标题\n正文"},
		{"/status  abc-1 \nmore", "status", "abc-1"},
		{"／status x", "status", "x"},
		{"/STATUS", "status", ""},
		{"hello", "help", ""},
		{"@bot", "help", ""},
		{"", "help", ""},
	}
	for _, tt := range tests {
		got := parseCommand(tt.in)
		if got.name != tt.name || got.arg != tt.arg {
			t.Errorf("parseCommand(%q) = %+v, want %s %q", tt.in, got, tt.name, tt.arg)
		}
	}
}

func FuzzStreamMessage(f *testing.F) {
	for _, s := range []string{"/announce\n---\nid: a\ntitle: t\n---\nbody", "/announce title: with colon\nbody",
		"/announce \"quoted\n", "/announce", "@x /status 1", "/announce ---\n", "/announce #\n", "/announce 标题\n---\n---"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, content string) {
		cmd := parseCommand(content)
		if cmd.name != "announce" {
			return
		}
		data, err := announcementDocument(cmd.arg)
		if err != nil {
			return
		}
		a, err := groupcast.Parse(groupcast.FormatMarkdown, data, now)
		if err != nil {
			var ie *groupcast.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("not an InputError: %v", err)
			}
			return
		}
		if a.Title == "" || strings.Contains(a.Title, "\n") {
			t.Fatalf("title %q", a.Title)
		}
		if id := messageAnnouncementID("m", data); !groupcast.ValidID(id) {
			t.Fatalf("derived id %q invalid", id)
		}
	})
}

// TestStreamBackoff drives the reconnect loop with an injected timer and
// clock: failed connections wait 1 s doubling to 5 min (±20 %), one log
// line each; a connection that drops before it has lived a minute does not
// start the backoff over, one that lived longer does.
func TestStreamBackoff(t *testing.T) {
	gw := dingtalkfake.NewGateway(t)
	gw.AddClient("dingclientid", canaryClientSecret)
	gw.SetOpenStatus(http.StatusServiceUnavailable)
	clock := adapterstest.NewClock(adapterstest.Epoch)
	logs := &adapterstest.LogBuffer{}
	src := configs.Source{Name: "dt-admin", Driver: StreamDriver, ClientID: "dingclientid", ClientSecret: canaryClientSecret,
		Conversations: []string{adminConv}, BaseURL: gw.URL}
	s, err := NewStream(src, newFakeIntake(), adapters.Env{Logger: logs.Logger(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	waits, tick := make(chan time.Duration), make(chan time.Time)
	s.after = func(d time.Duration) <-chan time.Time { waits <- d; return tick }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		go func() { // unblock a loop waiting to report its next wait
			for range waits {
			}
		}()
		if err := <-done; err != nil {
			t.Error(err)
		}
		close(waits)
	}()

	// next lets the loop go on and returns its next wait, skipping the
	// checks of a live connection (every 3 s, a value no backoff step takes).
	next := func(skipChecks bool) time.Duration {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			select {
			case tick <- time.Time{}:
			case d := <-waits:
				if skipChecks && d == s.checkEvery {
					// The SDK notices a dropped connection on its own
					// goroutine, at once (the fake closes it): give it the
					// time to, and never spin for ever. The bound is only
					// reached if the Drop missed the connection.
					if time.Now().After(deadline) {
						t.Fatalf("the dropped connection was not noticed within 20 s (did the fake's Drop reach it?)")
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				return d
			}
		}
	}
	inStep := func(d time.Duration, step int) bool {
		base := min(time.Second<<(step-1), 5*time.Minute)
		lo, hi := max(time.Second, base*8/10), min(5*time.Minute, base*12/10)
		return d >= lo && d <= hi
	}
	first := <-waits
	if !inStep(first, 1) {
		t.Fatalf("first wait %v, want 1 s ±20 %%", first)
	}
	for step := 2; step <= 12; step++ {
		if d := next(false); !inStep(d, step) {
			t.Fatalf("wait %d = %v, want step %d of 1 s doubling to 5 min", step, d, step)
		}
	}
	if n := strings.Count(logs.String(), "dingtalk stream connection failed"); n != 12 {
		t.Fatalf("%d failure lines for 12 failed attempts", n)
	}

	// Connected, then dropped within the minute: the backoff goes on.
	gw.SetOpenStatus(0)
	if d := next(false); d != s.checkEvery {
		t.Fatalf("after connecting: wait %v, want the %v check", d, s.checkEvery)
	}
	gw.SetOpenStatus(http.StatusServiceUnavailable)
	gw.Drop()
	if d := next(true); !inStep(d, 13) {
		t.Fatalf("a connection that lived less than a minute: wait %v, want 5 min ±20 %%", d)
	}
	// Connected for a minute, then dropped: the backoff starts over.
	gw.SetOpenStatus(0)
	if d := next(false); d != s.checkEvery {
		t.Fatalf("after connecting: wait %v", d)
	}
	clock.Advance(time.Minute)
	if d := next(false); d != s.checkEvery {
		t.Fatalf("a live connection: wait %v", d)
	}
	gw.SetOpenStatus(http.StatusServiceUnavailable)
	gw.Drop()
	if d := next(true); !inStep(d, 1) {
		t.Fatalf("a connection that lived a minute: wait %v, want 1 s ±20 %%", d)
	}
	if n := strings.Count(logs.String(), "dingtalk stream connected"); n != 2 {
		t.Errorf("%d connected lines for 2 connections", n)
	}
	adapterstest.AssertNoSecret(t, "logs", logs.String(), canaryClientSecret)
}
