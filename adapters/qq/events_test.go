package qq_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/qq"
	"github.com/groupcast/groupcast/adapters/qq/qqfake"
)

func TestDecodeEvent(t *testing.T) {
	for _, tt := range []struct {
		name string
		body string
		want groupcast.InboundEvent
		err  error
	}{
		{"segments with a mention of the bot",
			`{"time":1764115200,"self_id":10001,"post_type":"message","message_type":"group","sub_type":"normal","message_id":42,"group_id":123456,"user_id":20002,"message":[{"type":"at","data":{"qq":"10001"}},{"type":"text","data":{"text":" 我想报名 "}},{"type":"image","data":{"file":"a.jpg"}}],"raw_message":"x","sender":{"user_id":20002,"nickname":"张三","card":"三哥"}}`,
			groupcast.InboundEvent{Kind: groupcast.EventMessage, Platform: "qq", Account: "qq-main", Group: "123456", ID: "msg:123456:42:1764115200",
				Sender: "20002", SenderName: "三哥", Text: "我想报名", Mentions: []string{"10001"}, MentionsMe: true, At: time.Unix(1764115200, 0).UTC()}, nil},
		{"CQ codes, string ids, numeric at",
			`{"time":1764115200,"self_id":"10001","post_type":"message","message_type":"group","message_id":"AbC-1","group_id":"123456","user_id":20002,"message":"[CQ:at,qq=all] 发票&#91;急&#93;&amp;[CQ:face,id=1]","sender":{"nickname":"李四"}}`,
			groupcast.InboundEvent{Kind: groupcast.EventMessage, Platform: "qq", Account: "qq-main", Group: "123456", ID: "msg:123456:AbC-1:1764115200",
				Sender: "20002", SenderName: "李四", Text: "发票[急]&", Mentions: []string{"all"}, At: time.Unix(1764115200, 0).UTC()}, nil},
		{"the bot's own message",
			`{"self_id":10001,"post_type":"message","message_type":"group","message_id":7,"group_id":1,"user_id":10001,"message":[{"type":"text","data":{"text":"报名"}}]}`,
			groupcast.InboundEvent{Kind: groupcast.EventMessage, Platform: "qq", Account: "qq-main", Group: "1", ID: "msg:1:7:", Sender: "10001", Text: "报名", Self: true}, nil},
		{"NapCat message_sent",
			`{"self_id":10001,"post_type":"message_sent","message_type":"group","message_id":8,"group_id":1,"user_id":10001,"raw_message":"hi"}`,
			groupcast.InboundEvent{Kind: groupcast.EventMessage, Platform: "qq", Account: "qq-main", Group: "1", ID: "msg:1:8:", Sender: "10001", Text: "hi", Self: true}, nil},
		{"join",
			`{"time":1764115200,"self_id":10001,"post_type":"notice","notice_type":"group_increase","sub_type":"approve","group_id":1,"user_id":30003,"operator_id":0}`,
			groupcast.InboundEvent{Kind: groupcast.EventMemberJoined, Platform: "qq", Account: "qq-main", Group: "1", ID: "group_increase:1:30003:1764115200:approve", Sender: "30003", At: time.Unix(1764115200, 0).UTC()}, nil},
		{"kicked",
			`{"time":1764115200,"self_id":10001,"post_type":"notice","notice_type":"group_decrease","sub_type":"kick","group_id":1,"user_id":30003,"operator_id":null}`,
			groupcast.InboundEvent{Kind: groupcast.EventMemberLeft, Platform: "qq", Account: "qq-main", Group: "1", ID: "group_decrease:1:30003:1764115200:kick", Sender: "30003", At: time.Unix(1764115200, 0).UTC()}, nil},
		{"heartbeat", `{"post_type":"meta_event","meta_event_type":"heartbeat"}`, groupcast.InboundEvent{}, qq.ErrNotEvent},
		{"private message", `{"post_type":"message","message_type":"private","message_id":1,"user_id":2}`, groupcast.InboundEvent{}, qq.ErrNotEvent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := qq.DecodeEvent("qq-main", []byte(tt.body))
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				return
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(tt.want)
			if string(gb) != string(wb) {
				t.Errorf("got  %s\nwant %s", gb, wb)
			}
		})
	}
}

func TestDecodeEventRefusesMalformed(t *testing.T) {
	for _, body := range []string{
		``, `[]`, `{"post_type":"message","message_type":"group","group_id":1,"user_id":2}`, // no message_id
		`{"post_type":"message","message_type":"group","message_id":1,"user_id":2}`, // no group
		`{"post_type":"notice","notice_type":"group_increase","group_id":1}`,        // no user
		`{"post_type":"message","message_type":"group","message_id":1.5,"group_id":1,"user_id":2}`,
		`{"post_type":"message","message_type":"group","message_id":1,"group_id":1,"user_id":2,"message":"[CQ:at,qq=1"}`,
		`{"post_type":"message","message_type":"group","message_id":1,"group_id":1,"user_id":2,"message":7}`,
		`{} {}`,
	} {
		if _, err := qq.DecodeEvent("a", []byte(body)); err == nil || errors.Is(err, qq.ErrNotEvent) {
			t.Errorf("%s: err = %v, want a decoding error", body, err)
		}
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{
		`{"self_id":1,"post_type":"message","message_type":"group","message_id":42,"group_id":123,"user_id":2,"message":[{"type":"text","data":{"text":"报名"}},{"type":"at","data":{"qq":1}}]}`,
		`{"post_type":"message","message_type":"group","message_id":"x","group_id":"1","user_id":"2","message":"[CQ:at,qq=3]a&#44;b"}`,
		`{"post_type":"notice","notice_type":"group_decrease","sub_type":"kick_me","group_id":1,"user_id":1,"self_id":1}`,
		`{"post_type":"meta_event"}`, `{`, `null`, `{"message":[{"type":"text","data":{"text":7}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := qq.DecodeEvent("acc", b)
		if err != nil {
			return
		}
		if ev.ID == "" || ev.Group == "" || ev.Sender == "" || ev.Account != "acc" {
			t.Fatalf("accepted an event without id, group or sender: %+v", ev)
		}
		switch ev.Kind {
		case groupcast.EventMessage, groupcast.EventMemberJoined, groupcast.EventMemberLeft:
		default:
			t.Fatalf("unknown kind %q", ev.Kind)
		}
		if utf8.ValidString(string(b)) && !utf8.ValidString(ev.Text) {
			t.Fatalf("invalid text from valid input: %q", ev.Text)
		}
	})
}

func TestCheckSignature(t *testing.T) {
	body := []byte(`{"post_type":"notice"}`)
	good := qq.Sign("s3cret", body)
	for _, tt := range []struct {
		header string
		ok     bool
	}{
		{good, true},
		{" " + good + " ", true},
		{qq.Sign("other", body), false},
		{good[5:], false}, // no sha1= prefix
		{"sha1=zz", false},
		{"sha256=" + good[5:], false},
		{"", false},
	} {
		if got := qq.CheckSignature("s3cret", body, tt.header); got != tt.ok {
			t.Errorf("CheckSignature(%q) = %v, want %v", tt.header, got, tt.ok)
		}
	}
	if qq.CheckSignature("s3cret", append(body, ' '), good) {
		t.Error("a changed body passed")
	}
}

// sink collects events.
type sink struct {
	mu  sync.Mutex
	evs []groupcast.InboundEvent
	got chan struct{}
}

func newSink() *sink { return &sink{got: make(chan struct{}, 100)} }

func (s *sink) Inbound(_ context.Context, ev groupcast.InboundEvent) error {
	s.mu.Lock()
	s.evs = append(s.evs, ev)
	s.mu.Unlock()
	s.got <- struct{}{}
	return nil
}

func (s *sink) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no event arrived")
	}
}

// waitUntil polls cond (real time: the fake's connections are real).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestListenReconnects: the forward WebSocket authenticates with the
// access token, delivers events, and after the implementation drops the
// connection the driver connects again (after the backoff, on an injected
// timer that records the waits) and delivers what comes next.
func TestListenReconnects(t *testing.T) {
	fake := qqfake.NewOneBot("tok")
	t.Cleanup(fake.Close)
	ws := fake.StartForwardWS()
	t.Cleanup(ws.Close)
	o, err := qq.NewOneBot(qq.OneBotConfig{BaseURL: fake.URL(), AccessToken: "tok", WSURL: ws.URL()}, adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var waits []time.Duration
	qq.SetOneBotAfter(o, func(d time.Duration) <-chan time.Time {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		c := make(chan time.Time, 1)
		c <- time.Now()
		return c
	})
	s := newSink()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Listen(ctx, s) }()
	waitUntil(t, "the first connection", func() bool { return ws.Connected() == 1 })
	if err := ws.Push(fake.GroupMessage(1, 123, 2, "张三", qqfake.TextSeg("报名"))); err != nil {
		t.Fatal(err)
	}
	s.wait(t)
	ws.Drop()
	waitUntil(t, "a second connection", func() bool { return ws.Accepted() == 2 && ws.Connected() == 1 })
	if err := ws.Push(fake.MemberNotice(true, 123, 3, time.Unix(1764115200, 0))); err != nil {
		t.Fatal(err)
	}
	s.wait(t)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Listen: %v", err)
	}
	s.mu.Lock()
	kinds := []string{s.evs[0].Kind, s.evs[1].Kind}
	s.mu.Unlock()
	if !slices.Equal(kinds, []string{groupcast.EventMessage, groupcast.EventMemberJoined}) {
		t.Errorf("events %v, want a message then a join (the lifecycle meta events skipped)", kinds)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) == 0 || waits[0] < qq.BackoffMin/2 {
		t.Errorf("reconnect waits %v, want a backoff of about %v first", waits, qq.BackoffMin)
	}
	if ws.Refused() != 0 {
		t.Errorf("%d connections refused: the token was not sent", ws.Refused())
	}
}

func TestListenWithoutWSURLReturns(t *testing.T) {
	o, err := qq.NewOneBot(qq.OneBotConfig{BaseURL: "http://127.0.0.1:1"}, adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Listen(context.Background(), newSink()); err != nil {
		t.Fatal(err)
	}
}
