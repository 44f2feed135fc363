package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/router"
)

func (c *Console) routes() {
	page := func(h http.HandlerFunc) http.HandlerFunc { return c.authed(asPage, h) }
	m := c.mux
	m.HandleFunc("GET /{$}", page(c.board))
	m.HandleFunc("GET /messages/{id}", page(c.message))
	m.HandleFunc("POST /messages/{id}/recall", c.acting(asPage, configs.RoleSender, c.recall))
	m.HandleFunc("GET /compose", page(c.compose))
	m.HandleFunc("POST /compose", c.acting(asPage, configs.RoleSender, c.send))
	m.HandleFunc("POST /compose/preview", c.acting(asData, configs.RoleSender, c.preview))
	m.HandleFunc("GET /review", page(c.review))
	m.HandleFunc("POST /review/{id}/approve", c.acting(asPage, configs.RoleReviewer, c.decide(true)))
	m.HandleFunc("POST /review/{id}/reject", c.acting(asPage, configs.RoleReviewer, c.decide(false)))
	m.HandleFunc("GET /calendar", page(c.calendar))
	m.HandleFunc("GET /accounts", page(c.accounts))
	m.HandleFunc("GET /groups/{account}/{group}", page(c.group))
	m.HandleFunc("GET /login", c.login)
	m.HandleFunc("POST /login", c.login)
	m.HandleFunc("POST /logout", c.acting(asPage, "", c.logout))
	m.HandleFunc("GET /events", c.authed(asData, c.stream))
	m.HandleFunc("GET /static/", c.static.serve)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			c.fail(w, r, http.StatusMethodNotAllowed, "err_method", "")
			return
		}
		c.fail(w, r, http.StatusNotFound, "err_no_page", "")
	})
}

// loc is the configured time zone.
func (c *Console) loc() *time.Location {
	if l := c.eng.Config().Location; l != nil {
		return l
	}
	return time.UTC
}

// local is a status as the pages show it: the API's view (times in the
// configured zone, each target's max_attempts).
func (c *Console) local(st groupcast.Status) groupcast.Status {
	return st.In(c.loc(), c.eng.Config().Delivery.MaxAttempts)
}

// engineError answers an engine error as a page.
func (c *Console) engineError(w http.ResponseWriter, r *http.Request, err error) {
	var in *groupcast.InputError
	switch {
	case errors.As(err, &in):
		c.fail(w, r, http.StatusUnprocessableEntity, "err_input", in.Error())
	case errors.Is(err, groupcast.ErrNotFound):
		c.fail(w, r, http.StatusNotFound, "err_not_found", "")
	case errors.Is(err, router.ErrNotHeld):
		c.fail(w, r, http.StatusConflict, "err_not_held", "")
	case errors.Is(err, groupcast.ErrConflict), errors.Is(err, groupcast.ErrBusy), errors.Is(err, groupcast.ErrNotReady):
		c.fail(w, r, http.StatusServiceUnavailable, "err_internal", err.Error())
	default:
		c.log.Error("console", "path", r.URL.Path, "err", err)
		c.fail(w, r, http.StatusInternalServerError, "err_internal", "")
	}
}

// ---- the board

// boardFilter is the board's query: every field given must match.
type boardFilter struct {
	State, Tag, Platform, Text string
}

func filterOf(r *http.Request) boardFilter {
	q := r.URL.Query()
	return boardFilter{State: q.Get("state"), Tag: strings.TrimSpace(q.Get("tag")),
		Platform: q.Get("platform"), Text: strings.TrimSpace(q.Get("q"))}
}

// row is one announcement on the board.
type row struct {
	groupcast.Status
	Category groupcast.Category
	Tags     []string
	Priority groupcast.Priority
}

func (f boardFilter) match(rw row) bool {
	if f.State != "" && rw.State != f.State && !slices.ContainsFunc(rw.Targets, func(t groupcast.Target) bool {
		return string(t.State) == f.State
	}) {
		return false
	}
	if f.Tag != "" && !slices.Contains(rw.Tags, f.Tag) {
		return false
	}
	if f.Platform != "" && !slices.ContainsFunc(rw.Targets, func(t groupcast.Target) bool { return t.Platform == f.Platform }) {
		return false
	}
	if f.Text != "" && !strings.Contains(strings.ToLower(rw.Title), strings.ToLower(f.Text)) &&
		!strings.Contains(strings.ToLower(rw.ID), strings.ToLower(f.Text)) {
		return false
	}
	return true
}

func (c *Console) rowOf(r router.Row) row {
	a := r.Announcement
	return row{Status: c.local(r.Status), Category: a.Category, Tags: a.Tags, Priority: a.Priority}
}

// boardStates are the board's state filter's choices.
var boardStates = append([]string{"pending", "partial"}, func() []string {
	out := make([]string, len(groupcast.States))
	for i, s := range groupcast.States {
		out[i] = string(s)
	}
	return out
}()...)

const boardRows = 100

func (c *Console) board(w http.ResponseWriter, r *http.Request) {
	f := filterOf(r)
	if f.State != "" && !slices.Contains(boardStates, f.State) {
		c.fail(w, r, http.StatusBadRequest, "err_input", "state")
		return
	}
	if id := r.URL.Query().Get("row"); id != "" {
		// One row, for the live board: empty when it does not match.
		one, err := c.eng.Row(r.Context(), id)
		if err != nil {
			if errors.Is(err, groupcast.ErrNotFound) {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			c.engineError(w, r, err)
			return
		}
		rw := c.rowOf(one)
		if !f.match(rw) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		c.fragment(w, r, "board", "rowfrag", rw)
		return
	}
	// The engine filters by state; the other filters are applied here, on
	// up to 1000 of the newest.
	limit := boardRows
	if f.Tag != "" || f.Platform != "" || f.Text != "" {
		limit = 1000
	}
	list, err := c.eng.Rows(r.Context(), f.State, limit)
	if err != nil {
		c.engineError(w, r, err)
		return
	}
	rows := []row{}
	for _, one := range list {
		rw := c.rowOf(one)
		if f.match(rw) {
			rows = append(rows, rw)
		}
		if len(rows) == boardRows {
			break
		}
	}
	platforms := []string{}
	for _, a := range c.eng.Config().Accounts {
		if !slices.Contains(platforms, a.Platform) {
			platforms = append(platforms, a.Platform)
		}
	}
	c.render(w, r, http.StatusOK, "board", map[string]any{"Rows": rows, "Filter": f, "States": boardStates, "Platforms": platforms})
}

// ---- one announcement

type targetView struct {
	groupcast.Target
	Parts  []router.PreviewPart
	Marked [][]segment // per part, the rule hits marked
	Rules  []string
}

func (c *Console) message(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !groupcast.ValidID(id) {
		c.fail(w, r, http.StatusNotFound, "err_not_found", "")
		return
	}
	one, err := c.eng.Row(r.Context(), id)
	if err != nil {
		c.engineError(w, r, err)
		return
	}
	st, a := one.Status, one.Announcement
	if r.URL.Query().Get("fragment") == "report" {
		c.fragment(w, r, "message", "reportfrag", c.reportOf(r, id))
		return
	}
	st = c.local(st)
	// The text of each part: the announcement rendered for its targets
	// (what /v1/messages/{id}/preview answers).
	prev, _ := router.Preview(c.eng.Config(), c.o.Drivers, a, c.now())
	targets := make([]targetView, len(st.Targets))
	for i, t := range st.Targets {
		targets[i] = targetView{Target: t}
		for _, p := range prev {
			// The target's own rendering: its A/B variant's when it has one.
			if p.Account == t.Account && p.Group == t.Group && p.Variant == t.Variant && targets[i].Parts == nil {
				targets[i].Parts, targets[i].Rules = p.Parts, p.Rules
				terms := hitTerms(p.Rules)
				for _, part := range p.Parts {
					targets[i].Marked = append(targets[i].Marked, mark(part.Text, terms))
				}
			}
		}
	}
	data := map[string]any{"Status": st, "A": a, "Targets": targets, "Recalling": recalling(st)}
	if r.URL.Query().Get("fragment") == "targets" {
		c.fragment(w, r, "message", "targets", data)
		return
	}
	data["Report"] = c.reportOf(r, id)
	c.render(w, r, http.StatusOK, "message", data)
}

func recalling(st groupcast.Status) bool {
	return slices.ContainsFunc(st.Targets, func(t groupcast.Target) bool { return t.Recall != nil })
}

func (c *Console) recall(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !groupcast.ValidID(id) {
		c.fail(w, r, http.StatusNotFound, "err_not_found", "")
		return
	}
	if _, err := c.eng.Recall(r.Context(), id); err != nil {
		c.engineError(w, r, err)
		return
	}
	http.Redirect(w, r, "/messages/"+id, http.StatusSeeOther)
}

// ---- compose

// formAnnouncement reads the editor's fields into an announcement, through
// the same parser and checks as the API's JSON.
func (c *Console) formAnnouncement(r *http.Request) (*groupcast.Announcement, error) {
	if err := r.ParseForm(); err != nil {
		return nil, &groupcast.InputError{Code: "malformed", Fields: []*groupcast.FieldError{{Field: "body", Message: err.Error()}}}
	}
	f := r.PostForm
	doc := map[string]any{
		"title":       strings.TrimSpace(f.Get("title")),
		"body":        f.Get("body"),
		"mention_all": f.Get("mention_all") != "",
	}
	for _, k := range []string{"category", "priority", "summary", "id"} {
		if v := strings.TrimSpace(f.Get(k)); v != "" {
			doc[k] = v
		}
	}
	if tags := splitTags(f.Get("tags")); len(tags) > 0 {
		doc["tags"] = tags
	}
	var links []map[string]string
	for _, line := range strings.Split(f.Get("links"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		title, u, ok := strings.Cut(line, "|")
		if !ok {
			title, u = "", line
		}
		links = append(links, map[string]string{"title": strings.TrimSpace(title), "url": strings.TrimSpace(u)})
	}
	if len(links) > 0 {
		doc["links"] = links
	}
	for _, k := range []string{"send_at", "expires_at"} {
		v := strings.TrimSpace(f.Get(k))
		if v == "" {
			continue
		}
		// <input type=datetime-local> has no zone: the configured one.
		t, err := time.ParseInLocation("2006-01-02T15:04", v, c.loc())
		if err != nil {
			t, err = time.ParseInLocation("2006-01-02T15:04:05", v, c.loc())
		}
		if err != nil {
			return nil, &groupcast.InputError{Code: "invalid", Fields: []*groupcast.FieldError{{Field: k, Message: "not a date and time: " + strconv.Quote(v)}}}
		}
		doc[k] = t.Format(time.RFC3339)
	}
	b, _ := json.Marshal(doc)
	return groupcast.Parse(groupcast.FormatJSON, b, c.now())
}

var tagSep = regexp.MustCompile(`[\s,，、]+`)

func splitTags(s string) []string {
	var out []string
	for _, t := range tagSep.Split(strings.TrimSpace(s), -1) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func (c *Console) compose(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "compose", map[string]any{"Zone": c.eng.Config().Timezone})
}

// send submits the editor's announcement as the logged-in user.
func (c *Console) send(w http.ResponseWriter, r *http.Request) {
	a, err := c.formAnnouncement(r)
	if err != nil {
		c.engineError(w, r, err)
		return
	}
	acc, err := c.eng.Submit(groupcast.WithPrincipal(r.Context(), userOf(r).Name), a)
	if err != nil {
		c.engineError(w, r, err)
		return
	}
	http.Redirect(w, r, "/messages/"+acc.ID, http.StatusSeeOther)
}

// previewTarget is one target of a preview with its text's rule hits
// marked and the platform's limit.
type previewTarget struct {
	router.PreviewTarget
	Marked [][]segment // per part
	Limit  limit
}

// preview answers what /v1/preview answers for the editor's fields: as
// JSON with Accept: application/json, else as the HTML the editor shows.
func (c *Console) preview(w http.ResponseWriter, r *http.Request) {
	a, err := c.formAnnouncement(r)
	if err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(err.Error()))
		return
	}
	targets, err := c.previewOf(a)
	if err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(err.Error()))
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		plain := make([]router.PreviewTarget, len(targets))
		for i, t := range targets {
			plain[i] = t.PreviewTarget
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(map[string]any{"targets": plain})
		return
	}
	c.fragment(w, r, "compose", "preview", targets)
}

// previewOf is router.Preview (the code behind /v1/preview) with the
// times in the configured zone, the rule hits marked and the limits.
func (c *Console) previewOf(a *groupcast.Announcement) ([]previewTarget, error) {
	cfg := c.eng.Config()
	list, err := router.Preview(cfg, c.o.Drivers, a, c.now())
	if err != nil {
		return nil, err
	}
	out := make([]previewTarget, len(list))
	for i, t := range list {
		if t.NotBefore != nil {
			nb := t.NotBefore.In(c.loc())
			t.NotBefore = &nb
		}
		pt := previewTarget{PreviewTarget: t, Limit: limitOf(cfg, t.Account)}
		terms := hitTerms(t.Rules)
		for _, p := range t.Parts {
			pt.Marked = append(pt.Marked, mark(p.Text, terms))
		}
		out[i] = pt
	}
	return out, nil
}

// ---- review

type reviewView struct {
	router.Review
	A       *groupcast.Announcement
	Preview []previewTarget
}

func (c *Console) review(w http.ResponseWriter, r *http.Request) {
	list, err := c.eng.Reviews(r.Context())
	if err != nil {
		c.engineError(w, r, err)
		return
	}
	out := make([]reviewView, 0, len(list))
	for _, rv := range list {
		rv.Status = c.local(rv.Status)
		v := reviewView{Review: rv}
		if a, err := c.eng.Announcement(r.Context(), rv.ID); err == nil {
			v.A = a
			v.Preview, _ = c.previewOf(a)
		}
		out = append(out, v)
	}
	c.render(w, r, http.StatusOK, "review", map[string]any{"Reviews": out})
}

func (c *Console) decide(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !groupcast.ValidID(id) {
			c.fail(w, r, http.StatusNotFound, "err_not_found", "")
			return
		}
		reason := strings.TrimSpace(r.PostFormValue("reason"))
		if !approve && reason == "" {
			c.fail(w, r, http.StatusBadRequest, "err_reason", "")
			return
		}
		if _, err := c.eng.Decide(r.Context(), id, approve, userOf(r).Name, reason); err != nil {
			c.engineError(w, r, err)
			return
		}
		http.Redirect(w, r, "/review", http.StatusSeeOther)
	}
}

// ---- accounts

func (c *Console) accounts(w http.ResponseWriter, r *http.Request) {
	list, err := c.eng.Accounts(r.Context())
	if err != nil {
		c.engineError(w, r, err)
		return
	}
	for i := range list {
		if t := list[i].PausedUntil; t != nil {
			lt := t.In(c.loc())
			list[i].PausedUntil = &lt
		}
	}
	c.render(w, r, http.StatusOK, "accounts", map[string]any{"Accounts": list, "Caps": capsByAccount(c.eng.Config()),
		"Groups": routedGroups(c.eng.Config())})
}

// capsByAccount lists, per account, the daily caps per group of the
// policies its routes apply ("default: 3 new / 8 mature").
func capsByAccount(cfg *configs.Config) map[string][]string {
	out := map[string][]string{}
	for _, rt := range cfg.Routes {
		p, ok := cfg.PolicyByName(rt.Policy)
		if !ok || (p.DailyCap.New == 0 && p.DailyCap.Mature == 0) {
			continue
		}
		s := fmt.Sprintf("%s: %d new / %d mature", p.Name, p.DailyCap.New, p.DailyCap.Mature)
		for _, t := range rt.Targets {
			if !slices.Contains(out[t.Account], s) {
				out[t.Account] = append(out[t.Account], s)
			}
		}
	}
	return out
}
