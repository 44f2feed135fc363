package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/groupcast/groupcast/store"
)

// The clicks stream is bounded by count and size besides age, discarding
// the oldest: a flood cannot fill the store nor stop new clicks counting.
func TestClicksStreamBounded(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		opts      store.Options
		wantMsgs  int64
		wantBytes int64
	}{
		{"defaults, memory", store.Options{Driver: store.DriverMemory}, store.DefaultClickMaxMsgs, store.DefaultClickMaxBytes},
		{"embedded, an eighth of a small disk cap", store.Options{Driver: store.DriverEmbedded, Dir: t.TempDir(), MaxBytes: 256 << 20}, store.DefaultClickMaxMsgs, 32 << 20},
		{"set", store.Options{Driver: store.DriverMemory, ClickMaxMsgs: 3, ClickMaxBytes: 1 << 20}, 3, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := open(t, tt.opts)
			s, err := st.JetStream().Stream(ctx, store.ClicksStream)
			if err != nil {
				t.Fatal(err)
			}
			info, err := s.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c := info.Config
			if c.MaxMsgs != tt.wantMsgs || c.MaxBytes != tt.wantBytes || c.Discard != jetstream.DiscardOld || c.MaxAge <= 0 {
				t.Errorf("clicks stream: max_msgs %d max_bytes %d discard %v max_age %v, want %d, %d, old, the retention",
					c.MaxMsgs, c.MaxBytes, c.Discard, c.MaxAge, tt.wantMsgs, tt.wantBytes)
			}
		})
	}
	// Over the limit, the newest clicks count and the oldest go.
	st := open(t, store.Options{Driver: store.DriverMemory, ClickMaxMsgs: 3})
	for i := range 5 {
		if err := st.CountClick(ctx, "a1", fmt.Sprintf("code%08d", i)); err != nil {
			t.Fatal(err)
		}
	}
	clicks, err := st.Clicks(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if len(clicks) != 3 || clicks["code00000004"] != 1 || clicks["code00000000"] != 0 {
		t.Errorf("clicks %v, want the newest 3", clicks)
	}
}

// A forgotten client key makes the client's next click on the link first
// again (for a click whose count failed); forgetting an unknown key is
// no error.
func TestForgetClick(t *testing.T) {
	ctx := context.Background()
	st := open(t, store.Options{Driver: store.DriverMemory})
	for i, want := range []bool{true, false} {
		if first, err := st.FirstClick(ctx, "k1"); err != nil || first != want {
			t.Fatalf("click %d: first %v, %v, want %v", i, first, err, want)
		}
	}
	if err := st.ForgetClick(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if first, err := st.FirstClick(ctx, "k1"); err != nil || !first {
		t.Errorf("after ForgetClick: first %v, %v, want true", first, err)
	}
	if err := st.ForgetClick(ctx, "never"); err != nil {
		t.Errorf("forget an unknown key: %v", err)
	}
}
