package tracking_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/tracking"
)

// memClicks is a ClickStore in memory.
type memClicks struct {
	mu      sync.Mutex
	keys    map[string]bool
	clicks  int
	lookups int // FirstClick calls: the store asked about a click
	salts   int // DailySalt calls
	// failCounts is how many CountClick calls fail before they succeed.
	failCounts int
	// block, if set, holds DailySalt until it is closed (or the call's
	// context ends, as a real store's call does).
	block chan struct{}
}

func (m *memClicks) Link(_ context.Context, code string) (store.TrackedLink, bool, error) {
	return store.TrackedLink{Announcement: "a1", Target: "qq.MTIz", Platform: "qq", URL: "https://example.com/x"}, code == "AbCdEf012345", nil
}
func (m *memClicks) DailySalt(ctx context.Context, _ string) ([]byte, error) {
	if m.block != nil {
		select {
		case <-m.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.salts++
	return []byte("salt"), nil
}
func (m *memClicks) FirstClick(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookups++
	if m.keys == nil {
		m.keys = map[string]bool{}
	}
	first := !m.keys[key]
	m.keys[key] = true
	return first, nil
}
func (m *memClicks) CountClick(context.Context, string, string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failCounts > 0 {
		m.failCounts--
		return errors.New("publish: no responders")
	}
	m.clicks++
	return nil
}
func (m *memClicks) ForgetClick(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, key)
	return nil
}

// serve sends one GET /l/AbCdEf012345 from peer with the headers, and
// answers the status.
func serve(h http.Handler, peer string, header map[string]string) int {
	req := httptest.NewRequest("GET", "/l/AbCdEf012345", nil)
	req.RemoteAddr = peer
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

// X-Forwarded-For and X-Real-IP are believed only from a trusted proxy:
// from anyone else, a client cannot pass for many people by sending
// another address each time.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		headers []map[string]string // one request each, same User-Agent
		want    int                 // clicks counted
	}{
		{"untrusted peer, varied X-Forwarded-For", nil, "203.0.113.5:4000",
			[]map[string]string{{"X-Forwarded-For": "198.51.100.1"}, {"X-Forwarded-For": "198.51.100.2"}, {"X-Real-IP": "198.51.100.3"}}, 1},
		{"peer outside the trusted blocks", proxies, "203.0.113.5:4000",
			[]map[string]string{{"X-Forwarded-For": "198.51.100.1"}, {"X-Forwarded-For": "198.51.100.2"}}, 1},
		{"trusted proxy, two clients", proxies, "10.0.0.2:4000",
			[]map[string]string{{"X-Forwarded-For": "198.51.100.1"}, {"X-Forwarded-For": "198.51.100.2"}, {"X-Forwarded-For": "198.51.100.2"}}, 2},
		{"trusted proxy: entries a client wrote before the proxy's are ignored", proxies, "10.0.0.2:4000",
			[]map[string]string{{"X-Forwarded-For": "1.1.1.1, 198.51.100.1"}, {"X-Forwarded-For": "2.2.2.2, 198.51.100.1"}}, 1},
		{"a chain of trusted proxies is skipped", proxies, "[fd00::2]:4000",
			[]map[string]string{{"X-Forwarded-For": "198.51.100.1, 10.1.1.1"}, {"X-Forwarded-For": "198.51.100.1", "X-Real-IP": "9.9.9.9"}}, 1},
		{"trusted proxy, X-Real-IP", proxies, "10.0.0.2:4000",
			[]map[string]string{{"X-Real-IP": "198.51.100.1"}, {"X-Real-IP": "198.51.100.2"}}, 2},
		{"trusted proxy, garbled entry: the proxy itself", proxies, "10.0.0.2:4000",
			[]map[string]string{{"X-Forwarded-For": "198.51.100.1, nonsense"}, {"X-Forwarded-For": "198.51.100.2, nonsense"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &memClicks{}
			h := &tracking.Handler{Store: st, TrustedProxies: func() []netip.Prefix { return tt.trusted }}
			for _, hd := range tt.headers {
				hd["User-Agent"] = browserUA
				if code := serve(h, tt.peer, hd); code != http.StatusFound {
					t.Fatalf("%v: %d, want 302", hd, code)
				}
			}
			if st.clicks != tt.want {
				t.Errorf("%d clicks counted, want %d", st.clicks, tt.want)
			}
		})
	}
}

// A flood from one address with a new User-Agent each time (so each looks
// like a new person) counts at most the limit; every request is still
// redirected; others' clicks still count; the bucket refills with time.
func TestCountLimitPerClient(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	st := &memClicks{}
	limited := 0
	h := &tracking.Handler{Store: st, Now: func() time.Time { return now }, CountRate: rate.Every(10 * time.Second), CountBurst: 5,
		Limited: func() { limited++ }}
	for i := range 200 {
		if code := serve(h, "203.0.113.5:4000", map[string]string{"User-Agent": fmt.Sprintf("%s/%d", browserUA, i)}); code != http.StatusFound {
			t.Fatalf("request %d: %d, want 302 (over the limit too)", i, code)
		}
	}
	if st.clicks != 5 || limited != 195 {
		t.Fatalf("flood: %d counted, %d limited; want 5 and 195", st.clicks, limited)
	}
	if st.lookups != 5 {
		t.Errorf("the store was asked %d times; over the limit it is not asked", st.lookups)
	}
	// An IPv6 client is limited by its /64: another address in it is the same client.
	for i := range 10 {
		serve(h, fmt.Sprintf("[2001:db8:1:2::%x]:4000", i+1), map[string]string{"User-Agent": fmt.Sprintf("%s/v6/%d", browserUA, i)})
	}
	if st.clicks != 10 {
		t.Errorf("IPv6 /64: %d counted in all, want 5 more", st.clicks)
	}
	// Someone else still counts.
	serve(h, "198.51.100.9:4000", map[string]string{"User-Agent": browserUA})
	if st.clicks != 11 {
		t.Errorf("another client: %d counted in all, want 11", st.clicks)
	}
	// Ten seconds later the flooding client has one more.
	now = now.Add(10 * time.Second)
	for i := range 3 {
		serve(h, "203.0.113.5:4000", map[string]string{"User-Agent": fmt.Sprintf("%s/later/%d", browserUA, i)})
	}
	if st.clicks != 12 {
		t.Errorf("after 10s: %d counted in all, want 12", st.clicks)
	}
}

// The defaults: a burst of DefaultCountBurst from one address.
func TestCountLimitDefault(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	st := &memClicks{}
	h := &tracking.Handler{Store: st, Now: func() time.Time { return now }}
	for i := range 3 * tracking.DefaultCountBurst {
		serve(h, "203.0.113.5:4000", map[string]string{"User-Agent": fmt.Sprintf("%s/%d", browserUA, i)})
	}
	if st.clicks != tracking.DefaultCountBurst {
		t.Errorf("%d counted, want the default burst %d", st.clicks, tracking.DefaultCountBurst)
	}
}

// Whatever the headers say, a request is redirected, and from a peer that
// is not a trusted proxy they change nothing: the fuzzed request and a
// plain one from the same peer are one client.
func FuzzForwardedFor(f *testing.F) {
	for _, s := range [][2]string{{"198.51.100.1", ""}, {"1.1.1.1, 10.0.0.3", "2.2.2.2"}, {"[2001:db8::1]:80, ::ffff:10.0.0.1", ""},
		{",,,", "nonsense"}, {"fe80::1%eth0", "10.0.0.1:99"}, {"", "198.51.100.7"}} {
		f.Add(s[0], s[1])
	}
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, xff, realIP string) {
		for _, peer := range []string{"10.0.0.2:4000", "203.0.113.5:4000"} {
			st := &memClicks{}
			h := &tracking.Handler{Store: st, TrustedProxies: func() []netip.Prefix { return proxies }}
			if code := serve(h, peer, map[string]string{"User-Agent": browserUA, "X-Forwarded-For": xff, "X-Real-IP": realIP}); code != http.StatusFound {
				t.Fatalf("%q %q from %s: %d, want 302", xff, realIP, peer, code)
			}
			serve(h, peer, map[string]string{"User-Agent": browserUA})
			if peer == "203.0.113.5:4000" && st.clicks != 1 {
				t.Fatalf("%q %q from an untrusted peer counted %d clients, want 1", xff, realIP, st.clicks)
			}
		}
	})
}
