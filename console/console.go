// Package console is groupcast's web console (docs/console.md): the board,
// one announcement, the editor, the review queue, the calendar and the
// accounts, served by the daemon on the API's listener. Pages are rendered
// on the server with html/template; one small embedded script (no build
// step, no CDN) adds the live board (server-sent events from the ledger's
// changes), the editor's preview as you type and the draft kept in the
// browser. Chinese first, English by ?lang=en or the browser's language.
//
// The console calls the engine in-process, as the API does, and uses the
// API's tokens: a login page takes a token and sets a signed, expiring
// session cookie that names the token's holder and role (never the token);
// every state-changing request carries a CSRF token bound to the session.
package console

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/groupcast/groupcast/api"
	"github.com/groupcast/groupcast/router"
)

// Engine is what the console needs from the running engine
// (*router.Service): the API's engine and the ledger's changes.
type Engine interface {
	api.Engine
	Watch() (<-chan router.Change, func())
	// Row and Rows are Status and List with each announcement, from one
	// read of its record.
	Row(ctx context.Context, id string) (router.Row, error)
	Rows(ctx context.Context, state string, limit int) ([]router.Row, error)
}

var _ Engine = (*router.Service)(nil)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure New.
type Options struct {
	Engine  Engine
	Drivers router.Drivers
	Logger  *slog.Logger
	// Now is the clock (default time.Now): sessions' expiry, the preview's
	// send times, the calendar's week.
	Now func() time.Time
	// SessionTTL is how long a login lasts (default 12h).
	SessionTTL time.Duration
	// Groups answers the per-group report (the inbound hub); without it
	// the group pages answer 503.
	Groups GroupReporter
}

// Console serves the pages. It is safe for concurrent use.
type Console struct {
	o      Options
	eng    Engine
	log    *slog.Logger
	now    func() time.Time
	pages  map[string]*pageTemplate
	static *assets
	mux    *http.ServeMux
	done   chan struct{} // closed by Close: open event streams end
	closed sync.Once
}

// New builds the console.
func New(o Options) (*Console, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	c := &Console{o: o, eng: o.Engine, log: o.Logger, now: o.Now}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	if c.static, err = loadAssets(sub); err != nil {
		return nil, err
	}
	if c.pages, err = parsePages(c.static); err != nil {
		return nil, err
	}
	c.done = make(chan struct{})
	c.mux = http.NewServeMux()
	c.routes()
	return c, nil
}

// paths the console answers; everything else goes to the next handler
// (the API).
func (c *Console) owns(p string) bool {
	switch p {
	case "/", "/compose", "/review", "/calendar", "/accounts", "/login", "/logout", "/events":
		return true
	}
	return strings.HasPrefix(p, "/messages/") || strings.HasPrefix(p, "/review/") || strings.HasPrefix(p, "/compose/") ||
		strings.HasPrefix(p, "/groups/") || strings.HasPrefix(p, "/static/")
}

// Wrap serves the console's paths and hands every other request to next
// (the API's handler), so both share one listener.
func (c *Console) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.owns(r.URL.Path) {
			c.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP answers the console's own paths.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	c.mux.ServeHTTP(w, r)
}

// CSP is the Content-Security-Policy of every console answer: the page's
// own script and style only, nothing inline, no frames.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Close stops the live board's feed (open event streams end).
func (c *Console) Close() { c.closed.Do(func() { close(c.done) }) }
