package tracking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/groupcast/groupcast/store"
)

// ClickStore is what the handler keeps in the store (*store.Store).
type ClickStore interface {
	Link(ctx context.Context, code string) (store.TrackedLink, bool, error)
	DailySalt(ctx context.Context, day string) ([]byte, error)
	FirstClick(ctx context.Context, clientKey string) (bool, error)
	CountClick(ctx context.Context, announcement, code string) error
	ForgetClick(ctx context.Context, clientKey string) error
}

var _ ClickStore = (*store.Store)(nil)

// Handler answers GET and HEAD /l/{code}: 302 to the link's original URL
// (Cache-Control: no-store, so every click comes back here), counting a
// person's click; 404 with a short page for a code it does not know,
// and 503 when the store cannot say.
type Handler struct {
	Store ClickStore
	// Now is the clock that picks the day's salt (default time.Now).
	Now func() time.Time
	Log *slog.Logger
	// Counted, if set, is called once per counted click (the metric).
	Counted func(l store.TrackedLink)
	// TrustedProxies, if set, answers the proxies (tracking.trusted_proxies)
	// whose X-Forwarded-For and X-Real-IP name the client; it is asked on
	// every request, so a reload applies at once. A request from any
	// other peer is known by its connection's address. nil or empty: no
	// proxy is trusted.
	TrustedProxies func() []netip.Prefix
	// CountRate and CountBurst limit the clicks counted per client
	// address (an IPv6 address by its /64) on this replica: a token
	// bucket of CountBurst refilled at CountRate. Over it a click is still
	// redirected but not counted, nor looked up in the store. Zero:
	// DefaultCountRate and DefaultCountBurst.
	CountRate  rate.Limit
	CountBurst int
	// Limited, if set, is called for each click left uncounted by the
	// limit (the metric); a warning says how many at most once a minute.
	Limited func()

	// CountTimeout bounds the store calls counting one click (made after
	// the redirect is sent). Zero: DefaultCountTimeout.
	CountTimeout time.Duration

	saltMu  sync.Mutex
	saltDay string // the day of salt (UTC, 2006-01-02)
	salt    []byte // the day's salt, read once a day

	mu sync.Mutex
	// The limiters per client address, in two generations: a lookup
	// finds a client in either (moving it to cur); cur becomes prev, and
	// prev is dropped, every time a limiter takes to refill (then a
	// limiter last used before the previous swap is full, the same as a
	// new one) or when cur holds maxClients/2. O(1) a click, at most
	// maxClients limiters, and nobody can empty the others' limits.
	cur, prev map[netip.Addr]*rate.Limiter
	genStart  time.Time     // when cur was started
	logLim    *rate.Limiter // the warning about uncounted clicks
	dropped   int           // clicks uncounted since the last warning
}

// The default per-client limit of counted clicks: a burst of 60, then one
// a second. A person clicks a few links; an office behind one NAT address
// can reach a burst when a notice lands, which 60 allows; a script
// varying its User-Agent to look like many people counts at most this.
const (
	DefaultCountRate  rate.Limit = 1
	DefaultCountBurst            = 60
	// maxClients bounds the limiters kept (both generations together).
	maxClients = 1 << 16
)

// forgetTimeout bounds the removal of a key whose click was not counted.
const forgetTimeout = 2 * time.Second

var _ http.Handler = (*Handler)(nil)

// Prefix is the path the handler is mounted on.
const Prefix = "/l/"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		page(w, http.StatusMethodNotAllowed, "请用浏览器打开这个链接。", "Open this link in a browser.")
		return
	}
	code, ok := ParseCode(strings.TrimPrefix(r.URL.Path, Prefix))
	if !ok {
		page(w, http.StatusNotFound, "链接不存在或已过期。", "This link does not exist or has expired.")
		return
	}
	ctx := r.Context()
	l, found, err := h.Store.Link(ctx, code)
	if err != nil {
		h.log().Warn("tracked link not read", "code", code, "err", err)
		w.Header().Set("Retry-After", "5")
		page(w, http.StatusServiceUnavailable, "暂时无法打开，请稍后再试。", "Not available right now; try again shortly.")
		return
	}
	if !found {
		page(w, http.StatusNotFound, "链接不存在或已过期。", "This link does not exist or has expired.")
		return
	}
	if NotCounted(r) != "" {
		http.Redirect(w, r, l.URL, http.StatusFound)
		return
	}
	ip := h.clientAddr(r)
	if !h.allow(ip, l) {
		http.Redirect(w, r, l.URL, http.StatusFound)
		return
	}
	// The click is counted before the redirect (so that a report read
	// after the visitor arrived has it), within CountTimeout whatever
	// becomes of the request: a stalled store holds the visitor that long
	// at most, and the click it could not take is not counted.
	timeout := h.CountTimeout
	if timeout <= 0 {
		timeout = DefaultCountTimeout
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	h.count(cctx, r, ip, code, l)
	cancel()
	http.Redirect(w, r, l.URL, http.StatusFound)
}

// DefaultCountTimeout bounds the store calls counting one click, and so
// how long a stalled store can hold a redirect. Generous: a busy store
// (many clicks at once on two replicas) answers well within it.
const DefaultCountTimeout = 2 * time.Second

// dailySalt answers the day's salt, asking the store once a day.
func (h *Handler) dailySalt(ctx context.Context) ([]byte, error) {
	day := h.now().UTC().Format(time.DateOnly)
	h.saltMu.Lock()
	if h.saltDay == day {
		salt := h.salt
		h.saltMu.Unlock()
		return salt, nil
	}
	h.saltMu.Unlock()
	salt, err := h.Store.DailySalt(ctx, day)
	if err != nil {
		return nil, err
	}
	h.saltMu.Lock()
	h.saltDay, h.salt = day, salt
	h.saltMu.Unlock()
	return salt, nil
}

// count counts one click unless the same client clicked the same link
// within store.ClickWindow. The client is known only by a hash of its
// address and User-Agent with the day's salt; a failure is logged and the
// visitor still redirected.
func (h *Handler) count(ctx context.Context, r *http.Request, ip netip.Addr, code string, l store.TrackedLink) {
	salt, err := h.dailySalt(ctx)
	if err != nil {
		h.log().Warn("click not counted", "announcement", l.Announcement, "code", code, "err", err)
		return
	}
	addr := r.RemoteAddr // not an IP address (a test's pipe): as it is
	if ip.IsValid() {
		addr = ip.String()
	}
	key := ClientKey(salt, addr, r.UserAgent(), code)
	first, err := h.Store.FirstClick(ctx, key)
	if err != nil {
		h.log().Warn("click not counted", "announcement", l.Announcement, "code", code, "err", err)
		return
	}
	if !first {
		return
	}
	if err := h.Store.CountClick(ctx, l.Announcement, code); err != nil {
		h.log().Warn("click not counted", "announcement", l.Announcement, "code", code, "err", err)
		// The key says this client was counted; it was not. Remove it so
		// that the same person's next click counts (with a context of its
		// own: ctx may be what failed).
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), forgetTimeout)
		defer cancel()
		if err := h.Store.ForgetClick(fctx, key); err != nil {
			h.log().Warn("uncounted click's key not removed: the client's repeats within the window are not counted either",
				"announcement", l.Announcement, "code", code, "err", err)
		}
		return
	}
	if h.Counted != nil {
		h.Counted(l)
	}
}

// ClientKey is the key of one client's clicks on one link on one day:
// a hash of the day's salt, the address, the User-Agent and the code, of
// which nothing can be read back.
func ClientKey(salt []byte, ip, ua, code string) string {
	m := sha256.New()
	m.Write(salt)
	for _, s := range []string{ip, ua, code} {
		m.Write([]byte{0})
		m.Write([]byte(s))
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// allow takes a token of the client's limiter; false (and the metric, and
// now and then a warning) when it has none left.
func (h *Handler) allow(ip netip.Addr, l store.TrackedLink) bool {
	key := ip
	if ip.Is6() {
		key = netip.PrefixFrom(ip, 64).Masked().Addr() // one /64 is one subscriber
	}
	now := h.now()
	lim, burst := h.CountRate, h.CountBurst
	if lim <= 0 {
		lim = DefaultCountRate
	}
	if burst <= 0 {
		burst = DefaultCountBurst
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.logLim == nil {
		h.logLim = rate.NewLimiter(rate.Every(time.Minute), 1)
	}
	refill := time.Duration(float64(burst) / float64(lim) * float64(time.Second))
	if h.cur == nil || now.Sub(h.genStart) >= refill || now.Before(h.genStart) || len(h.cur) >= maxClients/2 {
		h.prev, h.cur, h.genStart = h.cur, make(map[netip.Addr]*rate.Limiter), now
	}
	c := h.cur[key]
	if c == nil {
		if c = h.prev[key]; c != nil {
			delete(h.prev, key)
		} else {
			c = rate.NewLimiter(lim, burst)
		}
		h.cur[key] = c
	}
	if c.AllowN(now, 1) {
		return true
	}
	if h.Limited != nil {
		h.Limited()
	}
	h.dropped++
	if h.logLim.AllowN(now, 1) {
		h.log().Warn("clicks over the per-client limit not counted (still redirected)",
			"not_counted", h.dropped, "announcement", l.Announcement, "limit_per_second", float64(c.Limit()), "burst", c.Burst())
		h.dropped = 0
	}
	return false
}

// clientAddr is the address the click came from: the connection's peer,
// unless the peer is a trusted proxy; then the X-Forwarded-For entries
// are read from the last (the one the proxy added) back, skipping trusted
// proxies, and the first other address is the client (a proxy chain
// whose every entry is trusted gives the first entry). Without
// X-Forwarded-For, a trusted proxy's X-Real-IP is the client. The zero
// Addr when the peer is not an IP address.
func (h *Handler) clientAddr(r *http.Request) netip.Addr {
	peer := parseAddr(r.RemoteAddr)
	var proxies []netip.Prefix
	if h.TrustedProxies != nil {
		proxies = h.TrustedProxies()
	}
	if !peer.IsValid() || !trusted(proxies, peer) {
		return peer
	}
	var entries []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		entries = append(entries, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(entries) - 1; i >= 0; i-- {
		a := parseAddr(strings.TrimSpace(entries[i]))
		if !a.IsValid() {
			break // a garbled entry: nothing before it can be believed
		}
		client = a
		if !trusted(proxies, a) {
			return a
		}
	}
	if len(entries) == 0 {
		if a := parseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); a.IsValid() {
			return a
		}
	}
	return client
}

// parseAddr reads an address, with or without a port ("192.0.2.1",
// "192.0.2.1:443", "[2001:db8::1]:443", "2001:db8::1"); an IPv4 address
// in IPv6 form is taken as IPv4, and a zone is dropped.
func parseAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

func trusted(proxies []netip.Prefix, a netip.Addr) bool {
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

// page writes a short HTML page in Chinese and English.
func page(w http.ResponseWriter, status int, zh, en string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte("<!doctype html><meta charset=\"utf-8\"><title>groupcast</title><p>" + zh + "</p><p>" + en + "</p>\n"))
}
