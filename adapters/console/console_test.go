package console_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/console"
	"github.com/groupcast/groupcast/configs"
)

func TestPrintsOneBlockPerTarget(t *testing.T) {
	var out bytes.Buffer
	c := console.New(configs.Account{Name: "demo-qq", Platform: "qq"}, &out)
	r, err := c.Send(context.Background(), groupcast.Outgoing{
		Announcement: &groupcast.Announcement{ID: "a1"}, Group: "123",
		Rendered: groupcast.Rendered{Style: "long", Text: "【标题】\n正文", Images: []groupcast.Image{{URL: "https://x.example/i.png"}}},
	})
	if err != nil || r.Parts != 1 || len(r.MessageIDs) != 1 {
		t.Fatalf("receipt %+v, err %v", r, err)
	}
	got := out.String()
	for _, want := range []string{"a1 · qq · demo-qq → 123  [long]", "【标题】\n正文", "[image] https://x.example/i.png"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Send(ctx, groupcast.Outgoing{Announcement: &groupcast.Announcement{ID: "a2"}}); err == nil {
		t.Error("a cancelled context must not print")
	}
}
