package dingtalk

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/adapterstest"
	"github.com/groupcast/groupcast/adapters/dingtalk/dingtalkfake"
	"github.com/groupcast/groupcast/configs"
)

// eventSink collects inbound events.
type eventSink struct {
	mu     sync.Mutex
	events []groupcast.InboundEvent
}

func (s *eventSink) Inbound(_ context.Context, ev groupcast.InboundEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	return nil
}

func (s *eventSink) Events() []groupcast.InboundEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]groupcast.InboundEvent(nil), s.events...)
}

func TestStreamGroupMessageBecomesEvent(t *testing.T) {
	sink := &eventSink{}
	rig := newStreamRigSource(t, func(s *configs.Source) { s.Account = "dt-app" }, nil, nil, WithInbound(sink))
	rig.connected(t, 1)
	ctx := waitCtx(t)
	hook := rig.gw.SessionWebhook(90 * time.Minute)
	ack, err := rig.gw.Deliver(ctx, dingtalkfake.BotMessage{
		MsgID: "msgA1", ConversationID: "cidCustomers==", ConversationType: "2", SenderStaffID: "staff-7", SenderNick: "李四",
		Text: dingtalkfake.Text{Content: " @groupcast 报名怎么弄？"}, SessionWebhook: hook, ChatbotUserID: "$:bot",
		AtUsers:  []dingtalkfake.AtUser{{DingtalkID: "$:bot"}, {DingtalkID: "$:wang", StaffID: "staff-8"}},
		CreateAt: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC).UnixMilli(),
	})
	if err != nil || ack.Code != http.StatusOK {
		t.Fatalf("ack %+v, %v", ack, err)
	}
	// A one-to-one message is no group event; /status in the admin group
	// still works and is an event too.
	if _, err := rig.gw.Deliver(ctx, dingtalkfake.BotMessage{MsgID: "msgP1", ConversationID: "cidPrivate", ConversationType: "1",
		SenderStaffID: "staff-7", Text: dingtalkfake.Text{Content: "hi"}}); err != nil {
		t.Fatal(err)
	}
	statusHook := rig.say(t, "staff-1", adminConv, "/status nope-1")
	replies, err := rig.gw.WaitReplies(ctx, statusHook, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(replies[0].Text, "not found") {
		t.Errorf("/status reply: %s", replies[0].Text)
	}
	evs := sink.Events()
	if len(evs) != 2 {
		t.Fatalf("events %+v, want the two group messages", evs)
	}
	ev := evs[0]
	want := groupcast.InboundEvent{Kind: groupcast.EventMessage, Platform: "dingtalk", Account: "dt-app", Group: "cidCustomers==",
		ID: "msgA1", Sender: "staff-7", SenderName: "李四", Text: "报名怎么弄？", Mentions: []string{"staff-8"}, MentionsMe: true,
		At: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	if ev.Kind != want.Kind || ev.Platform != want.Platform || ev.Account != want.Account || ev.Group != want.Group ||
		ev.ID != want.ID || ev.Sender != want.Sender || ev.SenderName != want.SenderName || ev.Text != want.Text ||
		strings.Join(ev.Mentions, ",") != "staff-8" || !ev.MentionsMe || ev.Self || !ev.At.Equal(want.At) {
		t.Errorf("event\n got %+v\nwant %+v", ev, want)
	}
	if evs[1].Group != adminConv || evs[1].Text != "/status nope-1" {
		t.Errorf("second event %+v", evs[1])
	}
}

// TestStreamNoAccountNoEvents: a source without account makes no events
// (the hub would drop them: no account answers them); commands still work.
func TestStreamNoAccountNoEvents(t *testing.T) {
	sink := &eventSink{}
	rig := newStreamRig(t, nil, nil, WithInbound(sink))
	rig.connected(t, 1)
	ctx := waitCtx(t)
	hook := rig.say(t, "staff-1", adminConv, "/status nope-1")
	if _, err := rig.gw.WaitReplies(ctx, hook, 1); err != nil {
		t.Fatal(err)
	}
	if evs := sink.Events(); len(evs) != 0 {
		t.Errorf("events %+v, want none without sources[].account", evs)
	}
}

// fakeDecider records decisions; held lists the ids with held targets.
type fakeDecider struct {
	mu    sync.Mutex
	held  map[string]bool
	calls []string
}

func (f *fakeDecider) Decide(_ context.Context, id string, approve bool, by, reason string) (groupcast.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, strings.Join([]string{id, map[bool]string{true: "approve", false: "reject"}[approve], by, reason}, "|"))
	if !f.held[id] {
		return groupcast.Status{}, groupcast.ErrNotFound
	}
	delete(f.held, id)
	state := groupcast.StateQueued
	if !approve {
		state = groupcast.StateRejected
	}
	return groupcast.Status{ID: id, Title: "内部通知", Targets: []groupcast.Target{{Account: "qq-main", Group: "123", Style: "long", State: state}}}, nil
}

func (f *fakeDecider) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func TestStreamReviewCommands(t *testing.T) {
	tests := []struct {
		name     string
		sender   string
		conv     string
		text     string
		want     []string // in the reply
		decision string   // the Decide call, "" for none
	}{
		{"approve by a reviewer in a one-to-one chat", "rev-1", "cidPrivate", "/approve notice-1", []string{"approved", "dingtalk:rev-1"}, "notice-1|approve|dingtalk:rev-1|"},
		{"reject with a reason, full-width slash", "rev-1", adminConv, "@groupcast ／reject notice-1  含内部资料，请改写", []string{"rejected", "含内部资料，请改写"}, "notice-1|reject|dingtalk:rev-1|含内部资料，请改写"},
		{"reject without a reason", "rev-1", adminConv, "/reject notice-1", []string{"reason is required", "nothing decided"}, ""},
		{"not a reviewer", "staff-1", adminConv, "/approve notice-1", []string{"refused", "review.reviewers", "nothing decided"}, ""},
		{"external user", "", adminConv, "/approve notice-1", []string{"external", "nothing decided"}, ""},
		{"no id", "rev-1", adminConv, "/approve", []string{"usage"}, ""},
		{"unknown id", "rev-1", adminConv, "/approve other-9", []string{"not found", "nothing decided"}, "other-9|approve|dingtalk:rev-1|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := &fakeDecider{held: map[string]bool{"notice-1": true}}
			rig := newStreamRig(t, []string{"staff-1"}, nil, WithReview(dec, func() []string { return []string{"rev-1", "rev-2"} }))
			rig.connected(t, 1)
			hook := rig.gw.SessionWebhook(90 * time.Minute)
			typ := "2"
			if tt.conv == "cidPrivate" {
				typ = "1"
			}
			if _, err := rig.gw.Deliver(waitCtx(t), dingtalkfake.BotMessage{ConversationID: tt.conv, ConversationType: typ,
				SenderStaffID: tt.sender, Text: dingtalkfake.Text{Content: tt.text}, SessionWebhook: hook}); err != nil {
				t.Fatal(err)
			}
			replies, err := rig.gw.WaitReplies(waitCtx(t), hook, 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(replies[0].Text, w) {
					t.Errorf("reply lacks %q: %s", w, replies[0].Text)
				}
			}
			calls := dec.Calls()
			switch {
			case tt.decision == "" && len(calls) != 0:
				t.Errorf("decided %v, want nothing", calls)
			case tt.decision != "" && (len(calls) != 1 || calls[0] != tt.decision):
				t.Errorf("decisions %v, want %s", calls, tt.decision)
			}
		})
	}
}

func TestStreamReviewCommandsNeedWithReview(t *testing.T) {
	rig := newStreamRig(t, nil, nil)
	rig.connected(t, 1)
	hook := rig.say(t, "rev-1", adminConv, "/approve notice-1")
	replies, err := rig.gw.WaitReplies(waitCtx(t), hook, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(replies[0].Text, "usage") {
		t.Errorf("without review, /approve gets the usage: %s", replies[0].Text)
	}
	adapterstest.AssertNoSecret(t, "reply", replies[0].Text, canaryClientSecret)
}

func TestParseReviewCommand(t *testing.T) {
	tests := []struct {
		in, name, arg, reason string
	}{
		{"/approve a-1", "approve", "a-1", ""},
		{"@bot ／APPROVE  a-1 \n", "approve", "a-1", ""},
		{"/reject a-1 含内部资料", "reject", "a-1", "含内部资料"},
		{"/reject\u3000a-1\u3000理由\n第二行", "reject", "a-1", "理由\n第二行"},
		{"/reject a-1", "reject", "a-1", ""},
		{"/reject", "reject", "", ""},
		{"/approval a-1", "help", "", ""},
	}
	for _, tt := range tests {
		got := parseCommand(tt.in)
		if got.name != tt.name || got.arg != tt.arg || got.reason != tt.reason {
			t.Errorf("parseCommand(%q) = %+v, want %s %q %q", tt.in, got, tt.name, tt.arg, tt.reason)
		}
	}
}

func FuzzReviewCommand(f *testing.F) {
	for _, s := range []string{"/approve a-1", "／reject a-1 理由", "@x /reject\u3000a\u3000b", "/reject  ", "/approve\n\n",
		"/reject a-1 " + strings.Repeat("长", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		cmd := parseCommand(content)
		if cmd.name != "approve" && cmd.name != "reject" {
			if cmd.reason != "" {
				t.Fatalf("reason on %s", cmd.name)
			}
			return
		}
		if strings.ContainsAny(cmd.arg, " \t\r\n\u3000") {
			t.Fatalf("id %q has spaces", cmd.arg)
		}
		if cmd.reason != strings.Trim(cmd.reason, " \t\r\n\u3000") {
			t.Fatalf("reason %q not trimmed", cmd.reason)
		}
		if cmd.arg == "" && cmd.reason != "" {
			t.Fatalf("a reason without an id: %+v", cmd)
		}
	})
}
