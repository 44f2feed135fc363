package tracking_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/tracking"
)

const browserUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

// twoReplicas opens a store and a second connection to the same
// JetStream, as two replicas of the daemon would have.
func twoReplicas(t *testing.T) (*store.Store, *store.Store) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx := context.Background()
	a, err := store.Open(ctx, store.Options{Driver: store.DriverEmbedded, Dir: t.TempDir(), Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := store.Open(ctx, store.Options{Driver: store.DriverNATS, URL: "nats://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// counted counts the clicks a handler reports, and follows its requests:
// a click is counted after the redirect went out, so a test settles (waits
// for every request it made to end) before it reads a count.
type counted struct {
	mu       sync.Mutex
	n        int
	inflight sync.WaitGroup
}

func (c *counted) add(store.TrackedLink) { c.mu.Lock(); c.n++; c.mu.Unlock() }

// settled is the count once every request made so far has ended.
func (c *counted) settled() int {
	c.inflight.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// loopback trusts the test's own address as a proxy, so that a request's
// X-Forwarded-For stands for a client behind it.
func loopback() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

func newHandler(st *store.Store, c *counted) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/l/", &tracking.Handler{Store: st, Counted: c.add, TrustedProxies: loopback})
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.inflight.Add(1)
		defer c.inflight.Done()
		mux.ServeHTTP(w, r)
	}))
}

func get(t *testing.T, srv *httptest.Server, method, path string, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	c := &http.Client{Transport: srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return &http.Response{}
	}
	resp.Body.Close()
	return resp
}

func TestHandlerRedirectsAndCountsPeopleOnce(t *testing.T) {
	ctx := context.Background()
	a, b := twoReplicas(t)
	secret, err := a.TrackingSecret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := b.TrackingSecret(ctx); err != nil || string(again) != string(secret) {
		t.Fatalf("the second replica got another secret (%v)", err)
	}
	code := tracking.Code(secret, "maint-1", "qq.MTIz", "https://status.example.com/maint")
	if err := a.PutLinks(ctx, map[string]store.TrackedLink{code: {Announcement: "maint-1", Target: "qq.MTIz",
		Platform: "qq", Variant: "B", URL: "https://status.example.com/maint"}}); err != nil {
		t.Fatal(err)
	}
	var c counted
	srvA, srvB := newHandler(a, &c), newHandler(b, &c)
	defer srvA.Close()
	defer srvB.Close()
	path := "/l/" + code

	resp := get(t, srvA, "GET", path, map[string]string{"User-Agent": browserUA, "X-Forwarded-For": "203.0.113.7"})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://status.example.com/maint" ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("answer %d, Location %q, Cache-Control %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Cache-Control"))
	}
	// Redirected, not counted: HEAD, previews, prefetches, previewers,
	// and the same client again (through the other replica too).
	for _, h := range []struct {
		method string
		header map[string]string
	}{
		{"HEAD", map[string]string{"User-Agent": browserUA, "X-Forwarded-For": "203.0.113.8"}},
		{"GET", map[string]string{"User-Agent": browserUA, "X-Forwarded-For": "203.0.113.9", "X-Purpose": "preview"}},
		{"GET", map[string]string{"User-Agent": browserUA, "X-Forwarded-For": "203.0.113.9", "Purpose": "prefetch"}},
		{"GET", map[string]string{"User-Agent": browserUA, "X-Forwarded-For": "203.0.113.9", "Sec-Purpose": "prefetch"}},
		{"GET", map[string]string{"User-Agent": "DingTalkBot-LinkService/1.0", "X-Forwarded-For": "203.0.113.10"}},
		{"GET", map[string]string{"User-Agent": "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"}},
		{"GET", map[string]string{"User-Agent": browserUA, "X-Forwarded-For": "203.0.113.7"}},
	} {
		for _, srv := range []*httptest.Server{srvA, srvB} {
			resp := get(t, srv, h.method, path, h.header)
			if resp.StatusCode != http.StatusFound {
				t.Errorf("%s %v: %d, want 302", h.method, h.header, resp.StatusCode)
			}
		}
	}
	n := c.settled()
	clicks, err := b.Clicks(ctx, "maint-1")
	if err != nil {
		t.Fatal(err)
	}
	if clicks[code] != 1 || n != 1 {
		t.Fatalf("clicks %v, metric %d: want exactly the first person's click", clicks, n)
	}
	// Unknown and malformed codes: 404, no redirect.
	for _, p := range []string{"/l/" + tracking.Code([]byte("x"), "a", "b", "c"), "/l/short", "/l/AbCdEf01234-"} {
		resp := get(t, srvB, "GET", p, map[string]string{"User-Agent": browserUA})
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Location") != "" {
			t.Errorf("%s: %d Location %q, want 404 and no redirect", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// Many people click at once through two replicas: every click is counted,
// none twice; each person's repeats (also at once) count once.
func TestParallelClicksOnTwoReplicas(t *testing.T) {
	ctx := context.Background()
	a, b := twoReplicas(t)
	code := "AbCdEf012345"
	if err := a.PutLinks(ctx, map[string]store.TrackedLink{code: {Announcement: "hot", Target: "qq.MTIz", Platform: "qq", URL: "https://example.com/"}}); err != nil {
		t.Fatal(err)
	}
	var c counted
	srvA, srvB := newHandler(a, &c), newHandler(b, &c)
	defer srvA.Close()
	defer srvB.Close()
	const people, repeats = 40, 3
	var wg sync.WaitGroup
	for p := range people {
		for r := range repeats {
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv := srvA
				if (p+r)%2 == 1 {
					srv = srvB
				}
				get(t, srv, "GET", "/l/"+code, map[string]string{"User-Agent": browserUA, "X-Forwarded-For": fmt.Sprintf("198.51.100.%d", p)})
			}()
		}
	}
	wg.Wait()
	n := c.settled()
	clicks, err := a.Clicks(ctx, "hot")
	if err != nil {
		t.Fatal(err)
	}
	if clicks[code] != people || n != people {
		t.Fatalf("clicks %d (metric %d), want %d: one per person", clicks[code], n, people)
	}
}

// The day's salt is the same for every replica and another the next day.
func TestDailySalt(t *testing.T) {
	ctx := context.Background()
	a, b := twoReplicas(t)
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	s1, err := a.DailySalt(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := b.DailySalt(ctx, day)
	if err != nil || string(s1) != string(s2) || len(s1) != 32 {
		t.Fatalf("replicas disagree on the salt (%v)", err)
	}
	next, err := a.DailySalt(ctx, "2026-12-02")
	if err != nil || string(next) == string(s1) {
		t.Fatalf("the next day has the same salt (%v)", err)
	}
	if tracking.ClientKey(s1, "203.0.113.7", browserUA, "AbCdEf012345") == tracking.ClientKey(next, "203.0.113.7", browserUA, "AbCdEf012345") {
		t.Fatal("a client's key is the same on two days")
	}
}
