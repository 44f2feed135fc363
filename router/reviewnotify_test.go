package router_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/dingtalk"
	"github.com/groupcast/groupcast/adapters/dingtalk/dingtalkfake"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

const reviewConv = "cidOpsGroup01=="

// reviewConfig: one openapi account that both sends the announcements
// (to reviewConv) and pushes the review notices (%s is the notify entry).
const reviewConfig = `
accounts:
  - name: dt-admin
    platform: dingtalk
    driver: openapi
    app_key: dingappkey
    app_secret: app-secret-1
    robot_code: dingrobot
    base_url: %s
policies:
  - name: p
    rules:
      - {name: internal-only, terms: ["内部资料"], action: review}
routes:
  - name: r
    policy: p
    targets:
      - {account: dt-admin, groups: ["` + reviewConv + `"]}
review:
  notify:
    - %s
  reviewers: [manager01]
`

func newOpenAPIFake(t *testing.T) *dingtalkfake.OpenAPI {
	fake := dingtalkfake.NewOpenAPI(t)
	fake.AddApp(dingtalkfake.App{AppKey: "dingappkey", AppSecret: "app-secret-1", RobotCode: "dingrobot"})
	fake.AddConversation(reviewConv)
	fake.AddConversation("cidReviewers==")
	fake.AddUser("manager01")
	fake.AddUser("manager02")
	return fake
}

// TestReviewFromDingTalk: a held announcement is pushed to the reviewers
// once (not again at the next poll, nor after a restart), the reviewer
// approves it by messaging the stream bot, and it ends delivered with the
// reviewer's DingTalk id in the ledger.
func TestReviewFromDingTalk(t *testing.T) {
	fake := newOpenAPIFake(t)
	dir := t.TempDir()
	yaml := fmt.Sprintf(reviewConfig, fake.URL, "{account: dt-admin, to: [manager01, manager02]}")
	h := start(t, yaml, store.DriverEmbedded, dir)
	ctx := context.Background()
	submit(t, h, "---\nid: notice-1\ntitle: 机房通报\ncategory: notice\n---\n本文为**内部资料**，请勿外传。")
	h.waitFor("notice-1", "held", allIn(groupcast.StateHeld))
	waitOwns(t, h, "dt-admin")
	h.svc.NotifyReviews(ctx)
	h.svc.NotifyReviews(ctx)
	dms := fake.DirectMessages()
	if len(dms) != 2 {
		t.Fatalf("%d direct messages, want one notice to each of the 2 reviewers", len(dms))
	}
	for _, want := range []string{"机房通报", "`notice-1`", "internal-only", "内部资料", "#### short", "#### long", "#### formal",
		"/approve notice-1", "/reject notice-1 理由"} {
		if !strings.Contains(dms[0].Text, want) {
			t.Errorf("notice lacks %q:\n%s", want, dms[0].Text)
		}
	}
	if dms[0].UserID != "manager01" || dms[1].UserID != "manager02" {
		t.Errorf("notices went to %s and %s", dms[0].UserID, dms[1].UserID)
	}

	// A restart on the same store does not push it again.
	h.stop()
	h = start(t, yaml, store.DriverEmbedded, dir)
	waitOwns(t, h, "dt-admin")
	h.svc.NotifyReviews(ctx)
	if n := len(fake.DirectMessages()); n != 2 {
		t.Fatalf("after a restart: %d direct messages, want still 2", n)
	}

	// The reviewer answers the stream bot.
	gw := dingtalkfake.NewGateway(t)
	gw.AddClient("dingclient", "client-secret-1")
	src := configs.Source{Name: "dt-bot", Driver: dingtalk.StreamDriver, ClientID: "dingclient", ClientSecret: "client-secret-1",
		Conversations: []string{"cidAdmin=="}, BaseURL: gw.URL}
	bot, err := dingtalk.NewStream(src, h.svc, adapters.Env{}, dingtalk.WithReview(h.svc, func() []string { return h.svc.Config().Review.Reviewers }))
	if err != nil {
		t.Fatal(err)
	}
	bctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- bot.Run(bctx) }()
	t.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := gw.WaitConnected(wctx, 1); err != nil {
		t.Fatal(err)
	}
	say := func(sender, text string) string {
		hook := gw.SessionWebhook(90 * time.Minute)
		if _, err := gw.Deliver(wctx, dingtalkfake.BotMessage{ConversationID: "cidPrivate", ConversationType: "1",
			SenderStaffID: sender, Text: dingtalkfake.Text{Content: text}, SessionWebhook: hook}); err != nil {
			t.Fatal(err)
		}
		replies, err := gw.WaitReplies(wctx, hook, 1)
		if err != nil {
			t.Fatal(err)
		}
		return replies[0].Text
	}
	if r := say("staff-9", "/approve notice-1"); !strings.Contains(r, "not listed in review.reviewers") {
		t.Errorf("non-reviewer reply: %s", r)
	}
	if r := say("manager01", "/reject notice-1"); !strings.Contains(r, "reason is required") {
		t.Errorf("reject without reason reply: %s", r)
	}
	if st := mustStatus(t, h, "notice-1"); target(st).State != groupcast.StateHeld {
		t.Fatalf("a refused command decided: %+v", target(st))
	}
	if r := say("manager01", "/approve notice-1"); !strings.Contains(r, "approved") {
		t.Errorf("approve reply: %s", r)
	}
	h.waitFor("notice-1", "delivered after approval", allIn(groupcast.StateDelivered))
	rv, err := h.st.Review(ctx, "notice-1")
	if err != nil || rv.By != "dingtalk:manager01" || rv.Decision != "approved" {
		t.Errorf("ledger review record %+v, %v; want approved by dingtalk:manager01", rv, err)
	}
	var sent int
	for _, m := range fake.Messages() {
		if m.OpenConversationID == reviewConv && strings.Contains(m.Text, "机房通报") {
			sent++
		}
	}
	if sent != 1 {
		t.Errorf("%d group messages of the approved announcement, want 1", sent)
	}
	// Decided, it is no longer held: nothing new to push.
	h.svc.NotifyReviews(ctx)
	if n := len(fake.DirectMessages()); n != 2 {
		t.Errorf("after the decision: %d direct messages, want still 2", n)
	}
}

// TestReviewNoticeToGroup: a notify entry with a group posts the notice
// there through the account's ordinary send.
func TestReviewNoticeToGroup(t *testing.T) {
	fake := newOpenAPIFake(t)
	h := start(t, fmt.Sprintf(reviewConfig, fake.URL, "{account: dt-admin, group: \"cidReviewers==\"}"), store.DriverMemory, "")
	submit(t, h, "---\nid: notice-2\ntitle: 通报\n---\n内部资料")
	h.waitFor("notice-2", "held", allIn(groupcast.StateHeld))
	waitOwns(t, h, "dt-admin")
	h.svc.NotifyReviews(context.Background())
	h.svc.NotifyReviews(context.Background())
	var notices []dingtalkfake.Message
	for _, m := range fake.Messages() {
		if m.OpenConversationID == "cidReviewers==" {
			notices = append(notices, m)
		}
	}
	if len(notices) != 1 || notices[0].MsgKey != "sampleMarkdown" || !strings.Contains(notices[0].Text, "/approve notice-2") {
		t.Fatalf("group notices %+v, want one Markdown notice", notices)
	}
}

func waitOwns(t *testing.T, h *harness, account string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !h.svc.Owns(account) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never owned", account)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReviewNoticeClaimedElsewhere: a notice another replica has claimed
// (a push in flight there) is left to it; a claim older than the claim
// time-out is taken over.
func TestReviewNoticeClaimedElsewhere(t *testing.T) {
	fake := newOpenAPIFake(t)
	clock := &fakeClock{now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	h := startWithClock(t, fmt.Sprintf(reviewConfig, fake.URL, "{account: dt-admin, to: [manager01]}"), store.DriverMemory, "", clock)
	submit(t, h, "---\nid: notice-3\ntitle: 通报\n---\n内部资料")
	h.waitFor("notice-3", "held", allIn(groupcast.StateHeld))
	waitOwns(t, h, "dt-admin")
	ctx := context.Background()
	key := router.ReviewNoticeKey(h.svc.Config().Review.Notify[0], "notice-3")
	if err := h.st.PutJSON(ctx, key, router.ReviewNoticeClaim("notice-3", "other-replica", clock.Now())); err != nil {
		t.Fatal(err)
	}
	h.st.ForgetHints()
	h.svc.NotifyReviews(ctx)
	if n := len(fake.DirectMessages()); n != 0 {
		t.Fatalf("%d notices while another replica holds the claim", n)
	}
	clock.Set(clock.Now().Add(router.ReviewClaimTTL))
	h.svc.NotifyReviews(ctx)
	h.svc.NotifyReviews(ctx)
	if n := len(fake.DirectMessages()); n != 1 {
		t.Fatalf("%d notices after the claim timed out, want 1", n)
	}
}

// TestReviewNoticeShowsEveryVariant: an A/B test's notice shows every
// variant, named, in every style (each target gets one of them), within
// one DingTalk message.
func TestReviewNoticeShowsEveryVariant(t *testing.T) {
	fake := newOpenAPIFake(t)
	h := start(t, fmt.Sprintf(reviewConfig, fake.URL, "{account: dt-admin, to: [manager01]}"), store.DriverMemory, "")
	ctx := context.Background()
	submit(t, h, "---\nid: ab-1\ntitle: 原标题\ncategory: notice\nvariants:\n  - {name: A, title: 标题甲}\n"+
		"  - {name: B, title: 标题乙, body: 乙版正文：本文为内部资料，请联系客服。}\n---\n本文为**内部资料**，请勿外传。")
	h.waitFor("ab-1", "held", allIn(groupcast.StateHeld))
	waitOwns(t, h, "dt-admin")
	h.svc.NotifyReviews(ctx)
	dms := fake.DirectMessages()
	if len(dms) != 1 {
		t.Fatalf("%d direct messages, want 1", len(dms))
	}
	text := dms[0].Text
	for _, want := range []string{"标题甲", "标题乙", "乙版正文", "请勿外传",
		"变体（variant）A · short", "变体（variant）A · formal", "变体（variant）B · long", "变体（variant）B · formal"} {
		if !strings.Contains(text, want) {
			t.Errorf("notice lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "【原标题】") {
		t.Errorf("the notice renders the base wording, which no target gets:\n%s", text)
	}
}
