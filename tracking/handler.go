package tracking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/groupcast/groupcast/store"
)

// ClickStore is what the handler keeps in the store (*store.Store).
type ClickStore interface {
	Link(ctx context.Context, code string) (store.TrackedLink, bool, error)
	DailySalt(ctx context.Context, day string) ([]byte, error)
	FirstClick(ctx context.Context, clientKey string) (bool, error)
	CountClick(ctx context.Context, announcement, code string) error
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
}

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
	if reason := NotCounted(r); reason == "" {
		h.count(ctx, r, code, l)
	}
	http.Redirect(w, r, l.URL, http.StatusFound)
}

// count counts one click unless the same client clicked the same link
// within store.ClickWindow. The client is known only by a hash of its
// address and User-Agent with the day's salt; a failure is logged and the
// visitor still redirected.
func (h *Handler) count(ctx context.Context, r *http.Request, code string, l store.TrackedLink) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	salt, err := h.Store.DailySalt(ctx, now().UTC().Format(time.DateOnly))
	if err != nil {
		h.log().Warn("click not counted", "announcement", l.Announcement, "code", code, "err", err)
		return
	}
	first, err := h.Store.FirstClick(ctx, ClientKey(salt, clientIP(r), r.UserAgent(), code))
	if err != nil {
		h.log().Warn("click not counted", "announcement", l.Announcement, "code", code, "err", err)
		return
	}
	if !first {
		return
	}
	if err := h.Store.CountClick(ctx, l.Announcement, code); err != nil {
		h.log().Warn("click not counted", "announcement", l.Announcement, "code", code, "err", err)
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

// clientIP is the address the click came from: the last X-Forwarded-For
// entry (what the proxy in front of groupcast saw), else X-Real-IP, else
// the connection's peer.
func clientIP(r *http.Request) string {
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		parts := strings.Split(xff[len(xff)-1], ",")
		if ip := strings.TrimSpace(parts[len(parts)-1]); ip != "" {
			return ip
		}
	}
	if ip := strings.TrimSpace(r.Header.Get("X-Real-IP")); ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
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
