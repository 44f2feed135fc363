package router_test

import (
	"context"
	"errors"
	"testing"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// TestSubmitDirect: a direct message goes to exactly the group given (one
// no route names), with its body as it is, through the account's sender;
// the same id again is the stored message, other content a conflict; an
// unknown account or a bad id is refused.
//
// Tracking is on: a direct message's links are still sent as they are (a
// URL a member wrote never becomes a tracked link on the org's domain).
func TestSubmitDirect(t *testing.T) {
	h := start(t, scriptedConfig("")+"tracking: {base_url: \"https://gc.example.com\"}\n", store.DriverMemory, "")
	ctx := context.Background()
	body := "**报名**请点： https://example.com/signup  \n第二行"
	a := &groupcast.Announcement{ID: "reply-signup-1", Title: "reply signup", Category: groupcast.CategoryInteraction,
		Priority: groupcast.PriorityNormal, Body: body}
	acc, err := h.svc.SubmitDirect(ctx, a, "s1", "99")
	if err != nil || acc.Existing {
		t.Fatalf("SubmitDirect: %+v %v", acc, err)
	}
	if len(acc.Targets) != 1 || acc.Targets[0].Group != "99" || acc.Targets[0].Route != "direct" {
		t.Fatalf("targets %+v, want one to group 99 by route direct", acc.Targets)
	}
	h.waitFor("reply-signup-1", "delivered", allIn(groupcast.StateDelivered))
	v, _ := scriptedSenders.Load("s1")
	s := v.(*scripted)
	s.mu.Lock()
	sent := s.sent[len(s.sent)-1]
	s.mu.Unlock()
	if sent.Group != "99" || sent.Rendered.Text != body {
		t.Errorf("sent %q to %s, want the body as it is to 99", sent.Rendered.Text, sent.Group)
	}
	again, err := h.svc.SubmitDirect(ctx, a, "s1", "99")
	if err != nil || !again.Existing {
		t.Errorf("the same id again: %+v %v, want the stored one", again, err)
	}
	other := *a
	other.Body = "别的"
	if _, err := h.svc.SubmitDirect(ctx, &other, "s1", "99"); !errors.Is(err, groupcast.ErrConflict) {
		t.Errorf("other content under the id: %v, want ErrConflict", err)
	}
	b := *a
	b.ID = "x"
	if _, err := h.svc.SubmitDirect(ctx, &b, "nope", "1"); !errors.Is(err, groupcast.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	b.ID = "bad id"
	if _, err := h.svc.SubmitDirect(ctx, &b, "s1", "1"); err == nil {
		t.Error("a bad id was accepted")
	}
}
