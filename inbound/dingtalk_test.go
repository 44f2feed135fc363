package inbound_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/dingtalk"
	"github.com/groupcast/groupcast/adapters/dingtalk/dingtalkfake"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/inbound"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

// dingtalkConfig is the documented two-way setup (docs/two-way.md): the
// stream bot dt-admin hears the groups, the openapi account dt-app
// answers them.
const dingtalkConfig = `
timezone: Asia/Shanghai
store: {driver: memory}
accounts:
  - {name: dt-app, platform: dingtalk, driver: openapi, app_key: dingappkey, app_secret: app-secret-1, robot_code: dingrobot, base_url: "%s"}
sources:
  - name: dt-admin
    driver: dingtalk-stream
    client_id: dingclient
    client_secret: client-secret-1
    conversations: ["cidAdmin=="]
    base_url: "%s"
    account: dt-app
routes:
  - name: r
    targets: [{account: dt-app, groups: ["cidCustomers=="]}]
replies:
  - name: signup
    accounts: [dt-app]
    keywords: ["报名"]
    text: "{{.Sender}}，报名请点：https://example.com/signup"
`

// TestDingTalkStreamReplyEndToEnd: an @-message delivered by the stream
// gateway fake becomes an event of the source's account, the hub's reply
// rule matches, and the reply reaches the group through that account's
// openapi send.
func TestDingTalkStreamReplyEndToEnd(t *testing.T) {
	api := dingtalkfake.NewOpenAPI(t)
	api.AddApp(dingtalkfake.App{AppKey: "dingappkey", AppSecret: "app-secret-1", RobotCode: "dingrobot"})
	api.AddConversation("cidCustomers==")
	gw := dingtalkfake.NewGateway(t)
	gw.AddClient("dingclient", "client-secret-1")

	var warnings []string
	cfg, err := configs.LoadBytes([]byte(fmt.Sprintf(dingtalkConfig, api.URL, gw.URL)), "t.yaml",
		configs.Options{Catalog: registry.Catalog, Platforms: registry.Platforms(),
			Warn: func(p configs.Problem) { warnings = append(warnings, p.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		if strings.Contains(w, "sources") || strings.Contains(w, "DingTalk") {
			t.Errorf("the documented setup warns: %s", w)
		}
	}
	clock := &fakeClock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai)}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, store.Options{Driver: store.DriverMemory})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	metrics := router.NewMetrics()
	hub, err := inbound.New(inbound.Options{Store: st, Clock: clock, Registry: metrics.Registry, Tick: time.Hour,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := router.New(router.Options{Store: st, Config: cfg, Drivers: registry.Lookup, Clock: clock,
		Metrics: metrics, Inbound: hub, AckWait: 2 * time.Second, MaxDeferWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	bot, err := dingtalk.NewStream(cfg.Sources[0], svc, adapters.Env{}, dingtalk.WithInbound(hub))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 3)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Running()
	go func() { done <- hub.Run(ctx, svc) }()
	go func() { done <- bot.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range 3 {
			<-done
		}
		st.Close()
	})
	h := &harness{t: t, clock: clock, st: st, svc: svc, hub: hub, cfg: cfg, logs: logs}

	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := gw.WaitConnected(wctx, 1); err != nil {
		t.Fatal(err)
	}
	session := gw.SessionWebhook(90 * time.Minute)
	if _, err := gw.Deliver(wctx, dingtalkfake.BotMessage{
		MsgID: "msgA1", ConversationID: "cidCustomers==", ConversationType: "2", SenderStaffID: "staff-7", SenderNick: "李四",
		Text: dingtalkfake.Text{Content: "@groupcast 报名怎么弄？"}, SessionWebhook: session,
		ChatbotUserID: "$:bot", AtUsers: []dingtalkfake.AtUser{{DingtalkID: "$:bot"}}, IsInAtList: true,
	}); err != nil {
		t.Fatal(err)
	}
	h.eventually("the reply in the group", func() bool {
		for _, m := range api.Messages() {
			if m.OpenConversationID == "cidCustomers==" {
				return true
			}
		}
		return false
	})
	var got []string
	for _, m := range api.Messages() {
		if m.OpenConversationID == "cidCustomers==" {
			got = append(got, m.Text)
		}
	}
	if len(got) != 1 || got[0] != "李四，报名请点：https://example.com/signup" {
		t.Errorf("group messages %q, want the one reply", got)
	}
	if strings.Contains(logs.String(), "not configured") {
		t.Errorf("hub logs:\n%s", logs.String())
	}
	// The customer group is not an admin conversation: the message is
	// the hub's, and the bot itself says nothing there (no refusal that
	// names the configuration, no usage text). The bot answers on the
	// session webhook before the frame is acked, so Deliver has waited.
	if r := gw.Replies(session); len(r) != 0 {
		t.Errorf("the customer group got bot answers %+v, want none", r)
	}
	// A real command from that group is still refused, as before.
	cmdSession := gw.SessionWebhook(90 * time.Minute)
	if _, err := gw.Deliver(wctx, dingtalkfake.BotMessage{
		MsgID: "msgA2", ConversationID: "cidCustomers==", ConversationType: "2", SenderStaffID: "staff-7", SenderNick: "李四",
		Text: dingtalkfake.Text{Content: "@groupcast /status abc"}, SessionWebhook: cmdSession,
		ChatbotUserID: "$:bot", AtUsers: []dingtalkfake.AtUser{{DingtalkID: "$:bot"}}, IsInAtList: true,
	}); err != nil {
		t.Fatal(err)
	}
	if r := gw.Replies(cmdSession); len(r) != 1 || !strings.Contains(r[0].Text, "refused") {
		t.Errorf("a command from the customer group: answers %+v, want one refusal", r)
	}
}
