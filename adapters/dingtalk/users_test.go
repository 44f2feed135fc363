package dingtalk

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/groupcast/groupcast"
)

// countPacer counts Wait calls.
type countPacer struct{ n int }

func (p *countPacer) Wait(context.Context) error { p.n++; return nil }

func TestOpenAPISendToUsers(t *testing.T) {
	rig := newOpenAPIRig(t, canaryAppSecret)
	pacer := &countPacer{}
	rig.o.env.Pacer = pacer
	var users []string
	for i := range 21 {
		id := fmt.Sprintf("manager%02d", i)
		users = append(users, id)
		rig.fake.AddUser(id)
	}
	if err := rig.o.SendToUsers(context.Background(), users, "待审核", "**待审核** `a-1`"); err != nil {
		t.Fatal(err)
	}
	dms := rig.fake.DirectMessages()
	if len(dms) != 21 {
		t.Fatalf("%d direct messages, want 21", len(dms))
	}
	if dms[0].MsgKey != "sampleMarkdown" || dms[0].Title != "待审核" || !strings.Contains(dms[0].Text, "`a-1`") {
		t.Errorf("message %+v", dms[0])
	}
	if dms[0].ProcessQueryKey == dms[20].ProcessQueryKey {
		t.Error("21 users went in one request: batchSend takes at most 20")
	}
	if pacer.n != 2 {
		t.Errorf("pacer waited %d times, want once per request (2)", pacer.n)
	}

	err := rig.o.SendToUsers(context.Background(), []string{"manager00", "ghost"}, "t", "x")
	if c, code, _ := groupcast.Classify(err); c != groupcast.ClassPermanent || code != "invalid_user" || !strings.Contains(err.Error(), "ghost") {
		t.Errorf("unknown user: %v (%v %s)", err, c, code)
	}
	if err := rig.o.SendToUsers(context.Background(), nil, "t", "x"); err == nil {
		t.Error("no users accepted")
	}

}
