package wechat

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/adapterstest"
	"github.com/groupcast/groupcast/adapters/wechat/wechatfake"
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

// TestWireInboundEvents runs openwechat's own sync loop against the fake:
// a member's message (with an @-mention of the bot), the account's own
// message, a join note naming two members and a removal note become
// events; a one-to-one message and a rename note do not.
func TestWireInboundEvents(t *testing.T) {
	ops := wechatfake.Contact{UserName: "@@ops0001", NickName: "运维通知群", Members: []wechatfake.Member{
		{UserName: wireSelf.UserName, NickName: wireSelf.NickName},
		{UserName: "@m0000001", NickName: "李四", DisplayName: "运维-李四"},
		{UserName: "@m0000002", NickName: "王五"},
	}}
	fake := wechatfake.NewWeb(wireSelf, append([]wechatfake.Contact{ops}, wireContacts[1:]...)...)
	t.Cleanup(fake.Close)
	rig := startWire(t, fake, fake.StoredSession())
	adapterstest.Eventually(t, "hot login", func() bool { return rig.w.Ready() == nil })

	sink := &eventSink{}
	ctx, cancel := context.WithCancel(context.Background())
	listened := make(chan error, 1)
	go func() { listened <- rig.w.Listen(ctx, sink) }()
	adapterstest.Eventually(t, "listening", func() bool {
		rig.w.mu.Lock()
		defer rig.w.mu.Unlock()
		return rig.w.inbound != nil
	})

	fake.GroupText("@@ops0001", "@m0000001", "@运维小助手\u2005报名怎么弄？\n在线等")
	fake.SelfText("@@ops0001", "请看群公告")
	fake.Receive(wechatfake.SyncMessage{FromUserName: "@friend01", ToUserName: wireSelf.UserName, MsgType: wechatfake.MsgTypeText, Content: "私聊"})
	fake.SystemNote("@@ops0001", `"李四"邀请"赵六、钱七"加入了群聊`)
	fake.SystemNote("@@ops0001", `"李四"修改群名为"运维通知群"`)
	fake.SystemNote("@@ops0001", `你将"王五"移出了群聊`)
	// The removal note came last: once it is here, everything before it
	// was handled.
	adapterstest.Eventually(t, "the removal", func() bool {
		evs := sink.Events()
		return len(evs) > 0 && evs[len(evs)-1].Kind == groupcast.EventMemberLeft
	})
	evs := sink.Events()
	if len(evs) != 5 {
		t.Fatalf("%d events: %+v", len(evs), evs)
	}
	for _, ev := range evs {
		if ev.Platform != "wechat" || ev.Account != "wx-ops" || ev.Group != "运维通知群" || ev.ID == "" || ev.At.IsZero() {
			t.Errorf("event envelope %+v", ev)
		}
	}
	m := evs[0]
	if m.Kind != groupcast.EventMessage || m.Text != "报名怎么弄？\n在线等" || m.Sender != MemberID("李四") ||
		m.SenderName != "运维-李四" || !m.MentionsMe || m.Self || len(m.Mentions) != 1 || m.Mentions[0] != MemberID("运维小助手") {
		t.Errorf("member message %+v", m)
	}
	if own := evs[1]; own.Kind != groupcast.EventMessage || !own.Self || own.Text != "请看群公告" || own.Sender != MemberID(wireSelf.NickName) {
		t.Errorf("own message %+v", own)
	}
	j1, j2 := evs[2], evs[3]
	if j1.Kind != groupcast.EventMemberJoined || j1.SenderName != "赵六" || j1.Sender != MemberID("赵六") ||
		j2.Kind != groupcast.EventMemberJoined || j2.SenderName != "钱七" || j1.ID == j2.ID {
		t.Errorf("joins %+v %+v", j1, j2)
	}
	if l := evs[4]; l.Kind != groupcast.EventMemberLeft || l.SenderName != "王五" || l.Sender != MemberID("王五") {
		t.Errorf("leave %+v", l)
	}
	if fake.Count("/cgi-bin/mmwebwx-bin/webwxsync") == 0 {
		t.Error("the events did not come through webwxsync")
	}
	cancel()
	if err := <-listened; err != nil {
		t.Errorf("Listen: %v", err)
	}
	// Nobody listens: the sync loop goes on, nothing is handed over.
	fake.GroupText("@@ops0001", "@m0000002", "还有人吗")
	adapterstest.Eventually(t, "synced", func() bool { return fake.Pending() == 0 })
	if n := len(sink.Events()); n != 5 {
		t.Errorf("%d events after Listen ended", n)
	}
}

func TestParseMemberNote(t *testing.T) {
	tests := []struct {
		note  string
		kind  string
		names string
	}{
		{`"张三"邀请"李四"加入了群聊`, groupcast.EventMemberJoined, "李四"},
		{`"张三"邀请"李四、王五"加入了群聊`, groupcast.EventMemberJoined, "李四|王五"},
		{`你邀请"李四"加入了群聊  <_wc_custom_link_ href="weixin://x">撤销</_wc_custom_link_>`, groupcast.EventMemberJoined, "李四"},
		{`"李四"通过扫描"张三"分享的二维码加入群聊`, groupcast.EventMemberJoined, "李四"},
		{`"李四"通过扫描二维码加入群聊`, groupcast.EventMemberJoined, "李四"},
		{`“李四”通过扫描二维码加入群聊`, groupcast.EventMemberJoined, "李四"},
		{`"李四"加入了群聊`, groupcast.EventMemberJoined, "李四"},
		{`你将"李四"移出了群聊`, groupcast.EventMemberLeft, "李四"},
		{`"群主"将"李四"移出了群聊`, groupcast.EventMemberLeft, "李四"},
		{`"张三"邀请你加入了群聊，群聊参与人还有：李四`, "", ""},
		{`你被"张三"移出群聊`, "", ""},
		{`"张三"修改群名为"新群"`, "", ""},
		{`"张三" 拍了拍我`, "", ""},
		{`""加入了群聊`, "", ""},
		{``, "", ""},
	}
	for _, tt := range tests {
		kind, names := ParseMemberNote(tt.note)
		if kind != tt.kind || strings.Join(names, "|") != tt.names {
			t.Errorf("ParseMemberNote(%q) = %q %q, want %q %q", tt.note, kind, names, tt.kind, tt.names)
		}
	}
}

func TestSplitMentions(t *testing.T) {
	text, names := splitMentions("@运维小助手\u2005@李四\u2005报名 a@b.com @ 结束")
	if text != "报名 a@b.com @ 结束" || strings.Join(names, "|") != "运维小助手|李四" {
		t.Errorf("got %q %q", text, names)
	}
}

func FuzzParseMemberNote(f *testing.F) {
	for _, s := range []string{`"张三"邀请"李四、王五"加入了群聊`, `你将"李四"移出了群聊`, `"李四"通过扫描"张三"分享的二维码加入群聊`,
		`"""加入了群聊`, `"、"邀请"、、"加入了群聊`, "你邀请\"a\nb\"加入了群聊", `"x"将"你"移出了群聊`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, note string) {
		kind, names := ParseMemberNote(note)
		switch kind {
		case "":
			if names != nil {
				t.Fatalf("names without a kind: %q", names)
			}
		case groupcast.EventMemberJoined, groupcast.EventMemberLeft:
			if len(names) == 0 {
				t.Fatal("a member event naming nobody")
			}
			for _, n := range names {
				if n == "" || n == "你" || strings.Contains(n, "\n") || strings.Contains(n, "、") {
					t.Fatalf("bad name %q in %q", n, note)
				}
			}
		default:
			t.Fatalf("kind %q", kind)
		}
		in := Incoming{Group: "g", System: true, Text: note, At: time.Unix(1, 0)}
		evs := inboundEvents("a", in)
		if len(evs) != len(names) {
			t.Fatalf("%d events for %d names", len(evs), len(names))
		}
		seen := map[string]bool{}
		for _, ev := range evs {
			if ev.ID == "" || seen[ev.ID] {
				t.Fatalf("event id %q empty or repeated", ev.ID)
			}
			seen[ev.ID] = true
		}
	})
}
