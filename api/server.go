// Package api is groupcast's HTTP API (docs/api.md) and the client the CLI
// uses to talk to a running daemon.
package api

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/tracking"
	"github.com/groupcast/groupcast/transform"
)

// Engine is what the API needs from the running engine (*router.Service).
type Engine interface {
	Config() *configs.Config
	Metrics() *router.Metrics
	Submit(ctx context.Context, a *groupcast.Announcement) (groupcast.Accepted, error)
	// Busy answers why nothing can be accepted now (shutting down, the
	// store not ready, the backlog full), before a body is read.
	Busy(ctx context.Context) error
	Status(ctx context.Context, id string) (groupcast.Status, error)
	List(ctx context.Context, state string, limit int) ([]groupcast.Status, error)
	Recall(ctx context.Context, id string) (groupcast.Status, error)
	Reviews(ctx context.Context) ([]router.Review, error)
	// Announcement reads a stored announcement as accepted.
	Announcement(ctx context.Context, id string) (*groupcast.Announcement, error)
	Decide(ctx context.Context, id string, approve bool, by, reason string) (groupcast.Status, error)
	Accounts(ctx context.Context) ([]groupcast.AccountHealth, error)
	// Calendar lists what will go out in [from, to) (GET /v1/calendar).
	Calendar(ctx context.Context, from, to time.Time) ([]groupcast.CalendarItem, error)
	NotReady() []string
	// Report adds up an announcement's deliveries and counted clicks.
	Report(ctx context.Context, id string) (tracking.Report, error)
	// LinkHandler answers GET /l/{code} (tracked links).
	LinkHandler() http.Handler
}

var _ Engine = (*router.Service)(nil)

// OpenAPI is the OpenAPI 3.1 document of this API, served at /openapi.json
// and held against the routes below by a test.
//
//go:embed openapi.json
var OpenAPI []byte

// Server answers the HTTP API from a running engine.
type Server struct {
	svc     Engine
	drivers router.Drivers
	log     *slog.Logger
	now     func() time.Time
	mux     *http.ServeMux
	routes  map[string][]string // pattern → methods, for the OpenAPI test

	inbound Inbound // nil: the inbound routes answer 503

	limMu   sync.Mutex
	limiter *rate.Limiter // nil: no intake limit
	limRate float64       // the server.intake_per_second it was built for
}

// NewServer builds the handler. The tokens, body limit and intake rate are
// read from the engine's config on every request, so a reload applies.
func NewServer(svc Engine, drivers router.Drivers, log *slog.Logger) *Server {
	s := &Server{svc: svc, drivers: drivers, log: log, now: time.Now, mux: http.NewServeMux(), routes: map[string][]string{}}
	// Who may call what: every role reads; senders submit, preview and
	// recall; reviewers approve and reject; admins do everything.
	send := func(h http.HandlerFunc) http.HandlerFunc { return allow(h, configs.RoleSender) }
	review := func(h http.HandlerFunc) http.HandlerFunc { return allow(h, configs.RoleReviewer) }
	s.route("/v1/messages", map[string]http.HandlerFunc{"POST": send(s.submit), "GET": s.list})
	s.route("/v1/messages/{id}", map[string]http.HandlerFunc{"GET": s.status})
	s.route("/v1/messages/{id}/recall", map[string]http.HandlerFunc{"POST": send(s.recall)})
	s.route("/v1/messages/{id}/preview", map[string]http.HandlerFunc{"GET": s.storedPreview})
	s.route("/v1/messages/{id}/report", map[string]http.HandlerFunc{"GET": s.report})
	// Tracked links: no token (whoever got the link clicks it).
	s.route("/l/{code}", map[string]http.HandlerFunc{"GET": svc.LinkHandler().ServeHTTP})
	s.route("/v1/preview", map[string]http.HandlerFunc{"POST": send(s.preview)})
	s.route("/v1/review", map[string]http.HandlerFunc{"GET": s.reviews})
	s.route("/v1/review/{id}/approve", map[string]http.HandlerFunc{"POST": review(s.decide(true))})
	s.route("/v1/review/{id}/reject", map[string]http.HandlerFunc{"POST": review(s.decide(false))})
	s.route("/v1/accounts", map[string]http.HandlerFunc{"GET": s.accounts})
	s.route("/v1/calendar", map[string]http.HandlerFunc{"GET": s.calendar})
	s.route("/v1/groups/{account}/{group}/report", map[string]http.HandlerFunc{"GET": s.groupReport})
	// Not guarded by the bearer tokens (publicPath): signed by post_secret.
	s.route("/v1/inbound/onebot/{account}", map[string]http.HandlerFunc{"POST": s.onebotEvent})
	s.route("/openapi.json", map[string]http.HandlerFunc{"GET": func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(OpenAPI)
	}})
	s.route("/healthz", map[string]http.HandlerFunc{"GET": func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}})
	s.route("/readyz", map[string]http.HandlerFunc{"GET": s.ready})
	metrics := promhttp.HandlerFor(svc.Metrics().Registry, promhttp.HandlerOpts{})
	s.route("/metrics", map[string]http.HandlerFunc{"GET": metrics.ServeHTTP})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "", "no such endpoint: "+r.URL.Path)
	})
	return s
}

func (s *Server) route(pattern string, methods map[string]http.HandlerFunc) {
	for m := range methods {
		s.routes[pattern] = append(s.routes[pattern], m)
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		h, ok := methods[r.Method]
		if !ok && r.Method == http.MethodHead {
			h, ok = methods["GET"]
		}
		if !ok {
			allow := make([]string, 0, len(methods))
			for m := range methods {
				allow = append(allow, m)
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "", r.Method+" is not allowed on "+r.URL.Path)
			return
		}
		h(w, r)
	})
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !canonicalPath(r.URL.Path) {
		// ServeMux would answer 307 with an HTML body to a cleaned path;
		// an API client gets a JSON error and no redirect to follow.
		writeError(w, http.StatusBadRequest, "malformed", "path",
			"the path "+strconv.Quote(r.URL.Path)+" has an empty, . or .. segment; use the path as documented")
		return
	}
	if strings.HasPrefix(r.URL.Path, "/v1/") && !publicPath(r.URL.Path) {
		p, ok := s.principal(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="groupcast"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "", "a valid bearer token is required")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	}
	s.mux.ServeHTTP(w, r)
}

// Principal is who calls: the name and role of the request's token, or
// Anonymous (an admin) when no tokens are configured.
type Principal struct {
	Name string
	Role string
	// Anonymous: no tokens are configured, so nobody is identified.
	Anonymous bool
}

// AnonymousName is the principal's name when no tokens are configured.
const AnonymousName = "anonymous"

type principalKey struct{}

// principalOf is the principal ServeHTTP found for the request.
func principalOf(r *http.Request) Principal {
	p, ok := r.Context().Value(principalKey{}).(Principal)
	if !ok {
		return Principal{Name: AnonymousName, Role: configs.RoleAdmin, Anonymous: true}
	}
	return p
}

// allow lets admins and the given role call h; anyone else gets 403.
func allow(h http.HandlerFunc, role string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r)
		if p.Role != configs.RoleAdmin && p.Role != role {
			writeError(w, http.StatusForbidden, "forbidden", "",
				"token "+strconv.Quote(p.Name)+" has role "+p.Role+", which may not "+r.Method+" "+r.URL.Path+
					" (it needs role "+role+" or admin)")
			return
		}
		h(w, r)
	}
}

// canonicalPath reports whether p is a path ServeMux routes as it is:
// absolute, with no empty ("//"), "." or ".." segment. A trailing slash is
// left to the mux (it answers 404: no endpoint ends in one).
func canonicalPath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return false
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		switch {
		case seg == "." || seg == "..":
			return false
		case seg == "" && i < len(segs)-1:
			return false
		}
	}
	return true
}

// principal finds who the bearer token belongs to. It compares the token
// with every configured token in constant time, so neither a match nor its
// position can be timed. With no tokens configured everyone is an
// anonymous admin (the listener is loopback only).
func (s *Server) principal(r *http.Request) (Principal, bool) {
	tokens := s.svc.Config().Server.Tokens
	if len(tokens) == 0 {
		return Principal{Name: AnonymousName, Role: configs.RoleAdmin, Anonymous: true}, true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return Principal{}, false
	}
	found := -1
	for i, t := range tokens {
		// Tokens are unique (configs checks), so at most one matches.
		if subtle.ConstantTimeCompare([]byte(got), []byte(t.Token.Reveal())) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Principal{}, false
	}
	return Principal{Name: tokens[found].Name, Role: tokens[found].Role}, true
}

// readAnnouncement reads and parses a request body under max_body.
func (s *Server) readAnnouncement(w http.ResponseWriter, r *http.Request) (*groupcast.Announcement, bool) {
	format, ok := groupcast.FormatForContentType(r.Header.Get("Content-Type"))
	if !ok {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type",
			"send text/markdown, application/json or application/yaml, not "+strconv.Quote(r.Header.Get("Content-Type")))
		return nil, false
	}
	limit := int64(s.svc.Config().Server.MaxBody)
	if limit <= 0 {
		limit = 1 << 20
	}
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "body",
			"body of "+strconv.FormatInt(r.ContentLength, 10)+" bytes is over server.max_body ("+strconv.FormatInt(limit, 10)+")")
		return nil, false
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "body",
				"body is over server.max_body ("+strconv.FormatInt(limit, 10)+" bytes)")
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "malformed", "body", "reading the body: "+err.Error())
		return nil, false
	}
	a, err := groupcast.Parse(format, data, s.now())
	if err != nil {
		writeErr(w, err)
		return nil, false
	}
	return a, true
}

// allowIntake applies server.intake_per_second as it stands (a reload may
// change it): a token bucket with a burst of one second's worth.
func (s *Server) allowIntake() bool {
	ips := s.svc.Config().Server.IntakePerSecond
	s.limMu.Lock()
	defer s.limMu.Unlock()
	if ips != s.limRate {
		s.limRate, s.limiter = ips, nil
		if ips > 0 {
			s.limiter = rate.NewLimiter(rate.Limit(ips), max(1, int(ips)))
		}
	}
	return s.limiter == nil || s.limiter.Allow()
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	if !s.allowIntake() {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "rate_limited", "", "intake is over server.intake_per_second; retry shortly")
		return
	}
	if err := s.svc.Busy(r.Context()); err != nil {
		// Refused before the body is read: a full backlog costs the
		// daemon an answer, not a parse.
		writeErr(w, err)
		return
	}
	a, ok := s.readAnnouncement(w, r)
	if !ok {
		return
	}
	acc, err := s.svc.Submit(groupcast.WithPrincipal(r.Context(), principalOf(r).Name), a)
	if err != nil {
		writeErr(w, err)
		return
	}
	code := http.StatusAccepted
	if acc.Existing {
		code = http.StatusOK
	}
	writeJSON(w, code, s.local(acc.Status))
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.svc.Status(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.local(st))
}

var listStates = map[string]bool{"pending": true, "delivered": true, "partial": true, "failed": true}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state != "" && !listStates[state] && !groupcast.State(state).Valid() {
		writeError(w, http.StatusBadRequest, "invalid", "state", "unknown state "+strconv.Quote(state))
		return
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "invalid", "limit", "limit must be a number from 1 to 1000")
			return
		}
		limit = n
	}
	msgs, err := s.svc.List(r.Context(), state, limit)
	if err != nil {
		writeErr(w, err)
		return
	}
	for i := range msgs {
		msgs[i] = s.local(msgs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}

func (s *Server) recall(w http.ResponseWriter, r *http.Request) {
	st, err := s.svc.Recall(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.local(st))
}

func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	a, ok := s.readAnnouncement(w, r)
	if !ok {
		return
	}
	// A body the styles cannot render in bounded time is refused here
	// (docs/limits.md); Submit does the same for what is sent.
	if err := transform.Check(a.Body); err != nil {
		writeErr(w, err)
		return
	}
	s.writePreview(w, a)
}

// storedPreview answers the preview of a stored announcement, as the
// routes and policies in force would deliver it now: what a reviewer
// approves.
func (s *Server) storedPreview(w http.ResponseWriter, r *http.Request) {
	a, err := s.svc.Announcement(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	s.writePreview(w, a)
}

func (s *Server) writePreview(w http.ResponseWriter, a *groupcast.Announcement) {
	targets, err := router.Preview(s.svc.Config(), s.drivers, a, s.now())
	if err != nil {
		writeErr(w, err)
		return
	}
	for i := range targets {
		if t := targets[i].NotBefore; t != nil {
			lt := t.In(s.location())
			targets[i].NotBefore = &lt
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"targets": targets})
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	rep, err := s.svc.Report(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) reviews(w http.ResponseWriter, r *http.Request) {
	list, err := s.svc.Reviews(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	for i := range list {
		list[i].Status = s.local(list[i].Status)
	}
	writeJSON(w, http.StatusOK, map[string]any{"reviews": list})
}

// DecisionRequest is the body of approve (optional) and reject (a reason
// is required). By is used only when no tokens are configured: otherwise
// the decision is the token holder's.
type DecisionRequest struct {
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
}

func (s *Server) decide(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req DecisionRequest
		if r.ContentLength != 0 {
			dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
				writeError(w, http.StatusBadRequest, "malformed", "body", "decision body: "+err.Error())
				return
			}
		}
		p := principalOf(r)
		by := p.Name
		if p.Anonymous && strings.TrimSpace(req.By) != "" {
			by = strings.TrimSpace(req.By)
		}
		req.Reason = strings.TrimSpace(req.Reason)
		if !approve && req.Reason == "" {
			writeError(w, http.StatusBadRequest, "invalid", "reason", "a rejection needs a reason: it is recorded and shown with the rejected targets")
			return
		}
		st, err := s.svc.Decide(r.Context(), r.PathValue("id"), approve, by, req.Reason)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, s.local(st))
	}
}

func (s *Server) accounts(w http.ResponseWriter, r *http.Request) {
	list, err := s.svc.Accounts(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	if list == nil {
		list = []groupcast.AccountHealth{}
	}
	loc := s.location()
	for i := range list {
		if t := list[i].PausedUntil; t != nil {
			lt := t.In(loc)
			list[i].PausedUntil = &lt
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": list})
}

func (s *Server) ready(w http.ResponseWriter, _ *http.Request) {
	if nr := s.svc.NotReady(); len(nr) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"not_ready": nr})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true})
}

// location is the configured time zone (UTC when unset).
func (s *Server) location() *time.Location {
	if loc := s.svc.Config().Location; loc != nil {
		return loc
	}
	return time.UTC
}

// local is a status as the API answers it: times in the configured zone,
// each target's max_attempts.
func (s *Server) local(st groupcast.Status) groupcast.Status {
	return st.In(s.location(), s.svc.Config().Delivery.MaxAttempts)
}

// ErrorBody is the shape of every error answer.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func writeErr(w http.ResponseWriter, err error) {
	var in *groupcast.InputError
	switch {
	case errors.As(err, &in):
		code := http.StatusBadRequest
		switch in.Code {
		case "no_route", transform.CodeTooLong, transform.CodeTooComplex:
			code = http.StatusUnprocessableEntity
		}
		writeError(w, code, in.Code, in.Field(), in.Error())
	case errors.Is(err, groupcast.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "id", "no announcement with this id")
	case errors.Is(err, groupcast.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "id", "an announcement with this id and different content exists")
	case errors.Is(err, groupcast.ErrBusy):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "backlog", "", err.Error())
	case errors.Is(err, groupcast.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "body", err.Error())
	case errors.Is(err, router.ErrNotHeld):
		writeError(w, http.StatusConflict, "not_held", "id", err.Error())
	case errors.Is(err, groupcast.ErrNotReady):
		writeError(w, http.StatusServiceUnavailable, "not_ready", "", err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "internal", "", err.Error())
	}
}

func writeError(w http.ResponseWriter, status int, code, field, msg string) {
	var b ErrorBody
	b.Error.Code, b.Error.Field, b.Error.Message = code, field, msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
