package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast/adapters/qq"
	"github.com/groupcast/groupcast/adapters/qq/qqfake"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/api"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/inbound"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

// inboundServer runs an engine with a OneBot account on the strict fake,
// a hub, and the API (with a bearer token: the OneBot route must not need
// it).
func inboundServer(t *testing.T) (*httptest.Server, *qqfake.OneBot, *router.Service) {
	t.Helper()
	fake := qqfake.NewOneBot("tok")
	t.Cleanup(fake.Close)
	yaml := fmt.Sprintf(`
store: {driver: memory}
server: {tokens: [s3cret], max_body: 64KiB}
accounts:
  - {name: qq-main, platform: qq, driver: onebot, base_url: "%[1]s", access_token: tok, post_secret: psec}
  - {name: qq-open, platform: qq, driver: onebot, base_url: "%[1]s", access_token: tok}
  - {name: dt, platform: dingtalk, driver: console}
routes:
  - name: r
    targets: [{account: qq-main, groups: ["123"]}]
replies:
  - {name: signup, platforms: [qq], keywords: ["报名"], text: "报名请点链接"}
`, fake.URL())
	cfg, err := configs.LoadBytes([]byte(yaml), "t.yaml", configs.Options{Catalog: registry.Catalog, Platforms: registry.Platforms()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, store.Options{Driver: store.DriverMemory})
	if err != nil {
		t.Fatal(err)
	}
	metrics := router.NewMetrics()
	hub, err := inbound.New(inbound.Options{Store: st, Registry: metrics.Registry})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := router.New(router.Options{Store: st, Config: cfg, Drivers: registry.Lookup, Metrics: metrics, Inbound: hub})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Running()
	go func() { done <- hub.Run(ctx, svc) }()
	s := api.NewServer(svc, registry.Lookup, nil)
	s.SetInbound(hub)
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		<-done
		st.Close()
	})
	return srv, fake, svc
}

func eventuallyTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOneBotPostSigned: a signed post is taken without a bearer token and
// answered through the account's sender; a post with a bad or missing
// signature is refused 401 and nothing is sent for it; malformed bodies,
// unknown or non-OneBot accounts are refused; a heartbeat is ignored.
func TestOneBotPostSigned(t *testing.T) {
	srv, fake, _ := inboundServer(t)
	ctx := context.Background()
	url := srv.URL + "/v1/inbound/onebot/qq-main"
	msg := func(id int32, text string) map[string]any {
		return fake.GroupMessage(id, 123, 20002, "张三", qqfake.TextSeg(text))
	}
	for _, tt := range []struct {
		name   string
		secret string
		sig    string // overrides the signature when set
		want   int
	}{
		{"missing signature", "", "", 401},
		{"wrong secret", "nope", "", 401},
		{"malformed header", "", "sha1=xyz", 401},
	} {
		var code int
		var err error
		if tt.sig != "" {
			body, _ := json.Marshal(msg(1, "报名"))
			code, err = fake.PostRaw(ctx, url, tt.sig, body)
		} else {
			code, err = fake.Post(ctx, url, tt.secret, msg(1, "报名"))
		}
		if err != nil || code != tt.want {
			t.Errorf("%s: %d %v, want %d", tt.name, code, err, tt.want)
		}
	}
	// A signature of another body (replayed header) is refused too.
	body, _ := json.Marshal(msg(2, "报名"))
	if code, _ := fake.PostRaw(ctx, url, qq.Sign("psec", []byte(`{}`)), body); code != 401 {
		t.Errorf("a signature of another body: %d, want 401", code)
	}
	if code, _ := fake.Post(ctx, url, "psec", map[string]any{"post_type": "meta_event", "meta_event_type": "heartbeat"}); code != 204 {
		t.Errorf("heartbeat: %d, want 204", code)
	}
	if code, _ := fake.PostRaw(ctx, url, qq.Sign("psec", []byte(`{"post_type":`)), []byte(`{"post_type":`)); code != 400 {
		t.Errorf("bad JSON: %d, want 400", code)
	}
	for _, acc := range []string{"nope", "dt"} {
		if code, _ := fake.Post(ctx, srv.URL+"/v1/inbound/onebot/"+acc, "psec", msg(3, "报名")); code != 404 {
			t.Errorf("account %s: %d, want 404", acc, code)
		}
	}
	big := map[string]any{"post_type": "message", "pad": strings.Repeat("x", 70<<10)}
	if code, _ := fake.Post(ctx, url, "psec", big); code != 413 {
		t.Errorf("oversized event: %d, want 413", code)
	}
	// Nothing refused above was sent.
	if n := len(fake.Messages()); n != 0 {
		t.Fatalf("%d messages sent for refused posts", n)
	}
	if code, err := fake.Post(ctx, url, "psec", msg(4, "我要报名")); err != nil || code != 204 {
		t.Fatalf("signed post: %d %v, want 204", code, err)
	}
	eventuallyTrue(t, "the reply", func() bool { return len(fake.MessagesTo(123)) == 1 })
	if got := fake.MessagesTo(123)[0].Text(); got != "报名请点链接" {
		t.Errorf("reply %q", got)
	}
	// An account without post_secret takes unsigned posts.
	open := fake.GroupMessage(5, 456, 20002, "张三", qqfake.TextSeg("报名"))
	if code, _ := fake.Post(ctx, srv.URL+"/v1/inbound/onebot/qq-open", "", open); code != 204 {
		t.Errorf("unsigned post to an account without post_secret: %d, want 204", code)
	}
	eventuallyTrue(t, "the reply in 456", func() bool { return len(fake.MessagesTo(456)) == 1 })
	// The bot's own message is ignored.
	self := fake.GroupMessage(6, 123, 2854196310, "bot", qqfake.TextSeg("报名"))
	if code, _ := fake.Post(ctx, url, "psec", self); code != 204 {
		t.Errorf("own message: %d, want 204", code)
	}
	// The rest of /v1 still needs the token.
	if a := call(t, srv, "GET", "/v1/groups/qq-main/123/report", "", ""); a.status != 401 {
		t.Errorf("report without a token: %d, want 401", a.status)
	}
	// Another event gets in line after the own message: when it is
	// answered, the own message has been handled (and not answered).
	late := fake.GroupMessage(7, 789, 20002, "张三", qqfake.TextSeg("报名"))
	if code, _ := fake.Post(ctx, url, "psec", late); code != 204 {
		t.Fatalf("late post: %d", code)
	}
	eventuallyTrue(t, "the reply in 789", func() bool { return len(fake.MessagesTo(789)) == 1 })
	if n := len(fake.MessagesTo(123)); n != 1 {
		t.Errorf("group 123 got %d messages, want 1 (the bot's own message is never answered)", n)
	}
}

// TestGroupReportRoute: the report answers joins and leaves from posted
// notices, with days bounded.
func TestGroupReportRoute(t *testing.T) {
	srv, fake, _ := inboundServer(t)
	ctx := context.Background()
	url := srv.URL + "/v1/inbound/onebot/qq-main"
	now := time.Now()
	for i, join := range []bool{true, true, false} {
		if code, _ := fake.Post(ctx, url, "psec", fake.MemberNotice(join, 123, int64(30000+i), now)); code != 204 {
			t.Fatalf("notice %d: %d", i, code)
		}
	}
	auth := []string{"Authorization", "Bearer s3cret"}
	var a answer
	eventuallyTrue(t, "the figures", func() bool {
		a = call(t, srv, "GET", "/v1/groups/qq-main/123/report?days=7", "", "", auth...)
		return a.status == 200 && a.body["leaves"] == 1.0 && a.body["joins"] == 2.0
	})
	days, _ := a.body["days"].([]any)
	if len(days) != 7 || a.body["sends_counted"] != false {
		t.Errorf("report %v", a.body)
	}
	if a := call(t, srv, "GET", "/v1/groups/qq-main/123/report?days=91", "", "", auth...); a.status != 400 {
		t.Errorf("days=91: %d, want 400", a.status)
	}
	if a := call(t, srv, "GET", "/v1/groups/nope/123/report", "", "", auth...); a.status != 404 {
		t.Errorf("unknown account: %d, want 404", a.status)
	}
	if got := call(t, srv, "POST", "/v1/groups/qq-main/123/report", "", "", auth...); got.status != http.StatusMethodNotAllowed {
		t.Errorf("POST report: %d", got.status)
	}
}
