package dingtalk

import (
	"context"
	"errors"
	"fmt"
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
	canaryAppSecret = "appsecret-canary-55e1"
	testConv        = "cidOpsGroup01=="
)

type openAPIRig struct {
	fake  *dingtalkfake.OpenAPI
	clock *adapterstest.Clock
	logs  *adapterstest.LogBuffer
	o     *OpenAPI
}

func newOpenAPIRig(t *testing.T, secret string) *openAPIRig {
	t.Helper()
	clock := adapterstest.NewClock(adapterstest.Epoch)
	fake := dingtalkfake.NewOpenAPI(t)
	fake.SetNow(clock.Now)
	fake.AddApp(dingtalkfake.App{AppKey: "dingappkey", AppSecret: canaryAppSecret, RobotCode: "dingrobot"})
	fake.AddConversation(testConv)
	logs := &adapterstest.LogBuffer{}
	o, err := NewOpenAPI("ent-robot", OpenAPIConfig{
		AppKey: "dingappkey", AppSecret: configs.Secret(secret), RobotCode: "dingrobot", BaseURL: fake.URL},
		testEnv(clock, logs, adapters.NoPace{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		adapterstest.AssertNoSecret(t, "logs", logs.String(), canaryAppSecret, secret)
		for _, m := range fake.Messages() {
			adapterstest.AssertNoSecret(t, "message", m.MsgParam, canaryAppSecret)
		}
	})
	return &openAPIRig{fake: fake, clock: clock, logs: logs, o: o}
}

func toConv(id string, r groupcast.Rendered) groupcast.Outgoing {
	m := outgoing(id, r)
	m.Group = testConv
	m.DeliveryID = id + "/ent-robot/" + testConv
	return m
}

func TestOpenAPITokenFetchedOnceForConcurrentSends(t *testing.T) {
	rig := newOpenAPIRig(t, canaryAppSecret)
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := rig.o.Send(context.Background(), toConv(fmt.Sprintf("c-%d", i), formal("并发发送")))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := rig.fake.TokenFetches(); n != 1 {
		t.Fatalf("%d token fetches for 30 concurrent sends, want 1", n)
	}
	if n := len(rig.fake.Messages()); n != 30 {
		t.Fatalf("%d messages", n)
	}
}

func TestOpenAPITokenRefresh(t *testing.T) {
	rig := newOpenAPIRig(t, canaryAppSecret)
	send := func(id string) {
		t.Helper()
		if _, err := rig.o.Send(context.Background(), toConv(id, formal("正文"))); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	send("a")
	rig.clock.Advance(6000 * time.Second)
	send("b") // still fresh
	if n := rig.fake.TokenFetches(); n != 1 {
		t.Fatalf("%d fetches before expiry", n)
	}
	rig.clock.Advance(1050 * time.Second) // 7050 s: inside the refresh margin, before the 7200 s expiry
	send("c")
	if n := rig.fake.TokenFetches(); n != 2 {
		t.Fatalf("%d fetches: the token was not refreshed before expiry", n)
	}
	// The platform revokes the token early: one refusal, a new token, success.
	rig.fake.RevokeTokens()
	send("d")
	if n := rig.fake.TokenFetches(); n != 3 {
		t.Fatalf("%d fetches after revocation", n)
	}
	if n := len(rig.fake.Messages()); n != 4 {
		t.Fatalf("%d messages", n)
	}
}

func TestOpenAPIShortLivedToken(t *testing.T) {
	rig := newOpenAPIRig(t, canaryAppSecret)
	rig.fake.SetTokenTTL(100 * time.Second)
	for i := range 3 {
		if _, err := rig.o.Send(context.Background(), toConv(fmt.Sprintf("s-%d", i), formal("x"))); err != nil {
			t.Fatal(err)
		}
		rig.clock.Advance(95 * time.Second) // past 90 s (ttl less a tenth)
	}
	if n := rig.fake.TokenFetches(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
}

func TestOpenAPISendAndRecall(t *testing.T) {
	rig := newOpenAPIRig(t, canaryAppSecret)
	r := formal(longText()) // about 60 KB: several msgParam parts
	r.Links = []groupcast.Link{{Title: "手册", URL: "https://wiki.example.com/drill"}}
	rec, err := rig.o.Send(context.Background(), toConv("rc-1", r))
	if err != nil {
		t.Fatal(err)
	}
	msgs := rig.fake.Messages()
	want, _ := rig.o.Parts(r)
	if rec.Parts < 4 || len(msgs) != rec.Parts || len(want) != rec.Parts {
		t.Fatalf("%d parts, %d messages, Parts() %d", rec.Parts, len(msgs), len(want))
	}
	for i, m := range msgs {
		if m.ProcessQueryKey != rec.MessageIDs[i] {
			t.Errorf("part %d: receipt id %s, processQueryKey %s", i+1, rec.MessageIDs[i], m.ProcessQueryKey)
		}
		if len(m.MsgParam) > MsgParamMax || m.MsgKey != "sampleMarkdown" || m.Title != r.Title || m.Text != want[i] {
			t.Errorf("part %d: %d bytes, %s, %q", i+1, len(m.MsgParam), m.MsgKey, m.Title)
		}
	}
	if !strings.Contains(msgs[len(msgs)-1].Text, "[手册](https://wiki.example.com/drill)") {
		t.Error("the link is missing from the last part")
	}
	if err := rig.o.Recall(context.Background(), testConv, rec); err != nil {
		t.Fatalf("Recall: %v", err)
	}
	for i, m := range rig.fake.Messages() {
		if !m.Recalled {
			t.Errorf("part %d not recalled", i+1)
		}
	}
	err = rig.o.Recall(context.Background(), testConv, rec)
	if !errors.Is(err, groupcast.ErrRecallUnsupported) || !strings.Contains(err.Error(), "already recalled") {
		t.Fatalf("second recall: %v", err)
	}
}

func TestOpenAPIPlainText(t *testing.T) {
	rig := newOpenAPIRig(t, canaryAppSecret)
	r := groupcast.Rendered{Style: "short", Format: groupcast.TextPlain, Text: "明早停电", Links: []groupcast.Link{{Title: "详情", URL: "https://e.example.com/x"}}}
	if _, err := rig.o.Send(context.Background(), toConv("pt", r)); err != nil {
		t.Fatal(err)
	}
	m := rig.fake.Messages()[0]
	if m.MsgKey != "sampleText" || m.Text != "明早停电\n\n详情：https://e.example.com/x" {
		t.Fatalf("%s %q", m.MsgKey, m.Text)
	}
}

func TestOpenAPIErrors(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		setup  func(*openAPIRig)
		group  string
		class  groupcast.Class
		code   string
	}{
		{"wrong app secret", "wrong-secret-canary", nil, testConv, groupcast.ClassPermanent, "invalidClientIdOrSecret"},
		{"unknown conversation", canaryAppSecret, nil, "cidUnknown", groupcast.ClassPermanent, "invalidParameter.openConversationId.invalid"},
		{"group name instead of id", canaryAppSecret, nil, "运维群", groupcast.ClassPermanent, "bad_group"},
		{"qps limit", canaryAppSecret, func(r *openAPIRig) { r.fake.SetQPS(1); r.o.Send(context.Background(), toConv("warm", formal("x"))) },
			testConv, groupcast.ClassThrottled, "Forbidden.AccessDenied.QpsLimitForApi"},
		{"outage", canaryAppSecret, func(r *openAPIRig) { r.fake.SetOutage(http.StatusBadGateway) }, testConv, groupcast.ClassTemporary, "http_502"},
		{"gone", canaryAppSecret, func(r *openAPIRig) { r.fake.Close() }, testConv, groupcast.ClassTemporary, "network"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newOpenAPIRig(t, tt.secret)
			if tt.setup != nil {
				tt.setup(rig)
			}
			m := toConv("e-1", formal("正文"))
			m.Group = tt.group
			_, err := rig.o.Send(context.Background(), m)
			adapterstest.WantClass(t, err, tt.class, tt.code)
			adapterstest.AssertNoSecret(t, "error", err.Error(), canaryAppSecret, tt.secret)
		})
	}
}

func TestOpenAPIHonoursContext(t *testing.T) {
	rig := newOpenAPIRig(t, canaryAppSecret)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := rig.o.Send(ctx, toConv("ctx", formal("x")))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if len(rig.fake.Messages()) != 0 {
		t.Fatal("sent after cancellation")
	}
}

// TestTokenSourceCancelledWaiter: a caller that gives up does not fail the
// fetch the others wait for.
func TestTokenSourceCancelledWaiter(t *testing.T) {
	release := make(chan struct{})
	fetches := 0
	var mu sync.Mutex
	ts := &tokenSource{now: time.Now, fetchTimeout: time.Minute, fetch: func(ctx context.Context) (string, time.Duration, error) {
		mu.Lock()
		fetches++
		mu.Unlock()
		select {
		case <-release:
			return "tok", time.Hour, nil
		case <-ctx.Done():
			return "", 0, ctx.Err()
		}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := ts.get(ctx); first <- err }()
	second := make(chan string, 1)
	go func() { tok, _ := ts.get(context.Background()); second <- tok }()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v", err)
	}
	close(release)
	if tok := <-second; tok != "tok" {
		t.Fatalf("second caller got %q", tok)
	}
	if fetches != 1 {
		t.Fatalf("%d fetches", fetches)
	}
}

func TestClassifyV1(t *testing.T) {
	tests := []struct {
		status int
		body   string
		class  groupcast.Class
		code   string
	}{
		{400, `{"code":"invalidParameter.robotCode.notExsit","message":"robotCode不存在","requestid":"r1"}`, groupcast.ClassPermanent, "invalidParameter.robotCode.notExsit"},
		{403, `{"code":"Forbidden.AccessDenied.QpsLimitForApi","message":"qps"}`, groupcast.ClassThrottled, "Forbidden.AccessDenied.QpsLimitForApi"},
		{403, ``, groupcast.ClassThrottled, "http_403"},
		{403, `{"code":"Forbidden.AccessDenied.AccessTokenPermissionDenied","message":"no qyapi_robot_sendmsg"}`, groupcast.ClassPermanent, "Forbidden.AccessDenied.AccessTokenPermissionDenied"},
		{429, ``, groupcast.ClassThrottled, "http_429"},
		{500, `{"code":"ServiceUnavailable"}`, groupcast.ClassTemporary, "ServiceUnavailable"},
		{404, `nope`, groupcast.ClassPermanent, "http_404"},
	}
	for _, tt := range tests {
		err := classifyV1("send", tt.status, []byte(tt.body))
		c, code, pause := groupcast.Classify(err)
		if c != tt.class || code != tt.code {
			t.Errorf("%d %s: %v %q (%v)", tt.status, tt.body, c, code, err)
		}
		if c == groupcast.ClassThrottled && pause <= 0 {
			t.Errorf("%d: throttle without pause", tt.status)
		}
	}
}

func FuzzOpenAPIAnswers(f *testing.F) {
	for _, s := range []string{`{"processQueryKey":"pqk-1"}`, `{"accessToken":"t","expireIn":7200}`, `{"accessToken":"t","expireIn":-5}`,
		`{"successResult":["a"],"failedResult":{"b":"too late"}}`, `{"code":"InvalidAuthentication","message":"x"}`, `null`, ``, `{"expireIn":1e30}`} {
		f.Add(200, []byte(s))
		f.Add(400, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		check := func(err error) {
			if err == nil || errors.Is(err, groupcast.ErrRecallUnsupported) {
				return
			}
			var de *groupcast.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("unclassified: %v", err)
			}
		}
		_, err := decodeSendAnswer(status, body)
		check(err)
		tok, ttl, err := decodeTokenAnswer(status, body)
		check(err)
		if err == nil && (tok == "" || ttl <= 0) {
			t.Fatalf("token %q ttl %s accepted", tok, ttl)
		}
		check(decodeRecallAnswer(status, body, []string{"a", "b"}))
		_ = isAuthError(status, body)
	})
}
