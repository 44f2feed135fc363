package tracking_test

import (
	"testing"

	"github.com/groupcast/groupcast/tracking"
)

// A click whose count fails is not remembered as counted: the same
// person's next click within the repeat window counts.
func TestFailedCountIsNotARepeat(t *testing.T) {
	m := &memClicks{failCounts: 1}
	h := &tracking.Handler{Store: m}
	ua := map[string]string{"User-Agent": browserUA}
	for range 3 {
		if code := serve(h, "192.0.2.7:4000", ua); code != 302 {
			t.Fatalf("status %d, want 302", code)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.clicks != 1 {
		t.Errorf("%d clicks counted, want 1 (the retry after the failure; the third is a repeat)", m.clicks)
	}
}
