package tracking_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/groupcast/groupcast/store"

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

// The day's salt is read from the store once a day, not once a click.
func TestSaltReadOncePerDay(t *testing.T) {
	now := time.Date(2026, 12, 1, 23, 59, 0, 0, time.UTC)
	m := &memClicks{}
	h := &tracking.Handler{Store: m, Now: func() time.Time { return now }}
	for i := range 5 {
		serve(h, fmt.Sprintf("192.0.2.%d:4000", i+1), map[string]string{"User-Agent": browserUA})
	}
	now = now.Add(2 * time.Minute) // the next day (UTC)
	serve(h, "192.0.2.9:4000", map[string]string{"User-Agent": browserUA})
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.salts != 2 || m.clicks != 6 {
		t.Errorf("%d salt reads, %d clicks; want 2 (one a day) and 6", m.salts, m.clicks)
	}
}

// A stalled store holds the redirect for CountTimeout at most: the visitor
// gets the whole 302 while the store is still stuck, and the click it
// could not take is not counted.
func TestRedirectNotHeldByTheStore(t *testing.T) {
	m := &memClicks{block: make(chan struct{})}
	counted := make(chan struct{}, 1)
	srv := httptest.NewServer(&tracking.Handler{Store: m, Counted: func(store.TrackedLink) { counted <- struct{}{} },
		CountTimeout: 50 * time.Millisecond})
	defer srv.Close()
	defer close(m.block)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", srv.URL+"/l/AbCdEf012345", nil)
	req.Header.Set("User-Agent", browserUA)
	resp, err := c.Do(req) // with the store blocked: returns only if the 302 is out
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://example.com/x" {
		t.Fatalf("%d %q %q %v, want 302 to https://example.com/x", resp.StatusCode, resp.Header.Get("Location"), body, err)
	}
	select {
	case <-counted:
		t.Error("a click the stalled store never took was counted")
	default:
	}
}

// Cycling through many addresses neither grows the limiters past their
// bound nor resets the limit of a client that keeps clicking.
func TestCountLimitNotResetByManyAddresses(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	m := &memClicks{}
	h := &tracking.Handler{Store: m, Now: func() time.Time { return now }, CountBurst: 3}
	limited := 0
	h.Limited = func() { limited++ }
	flooder := func(i int) string { return fmt.Sprintf("%d.%d.%d.1:4000", 10+i>>16, i>>8&255, i&255) }
	for i := range 3 {
		serve(h, "203.0.113.5:4000", map[string]string{"User-Agent": fmt.Sprintf("%s/%d", browserUA, i)})
	}
	for i := range 1 << 17 { // twice the bound
		serve(h, flooder(i), map[string]string{"User-Agent": browserUA})
		if i%1000 == 0 {
			serve(h, "203.0.113.5:4000", map[string]string{"User-Agent": fmt.Sprintf("%s/x%d", browserUA, i)})
		}
	}
	if limited != 132 {
		t.Errorf("%d clicks of the limited client left uncounted, want all 132 after its burst", limited)
	}
	if n := tracking.ClientsKept(h); n > 1<<16 {
		t.Errorf("%d limiters kept, want at most %d", n, 1<<16)
	}
}
