package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/inbound"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/tracking"
)

// fakeEngine answers the API from fixed values, or fails with err.
type fakeEngine struct {
	cfg      *configs.Config
	metrics  *router.Metrics
	status   groupcast.Status
	accounts []groupcast.AccountHealth
	err      error // every call but Config, Metrics and NotReady fails with it
	notReady []string
}

func (f *fakeEngine) Config() *configs.Config  { return f.cfg }
func (f *fakeEngine) Metrics() *router.Metrics { return f.metrics }
func (f *fakeEngine) NotReady() []string       { return f.notReady }
func (f *fakeEngine) Status(context.Context, string) (groupcast.Status, error) {
	return f.status, f.err
}
func (f *fakeEngine) Submit(context.Context, *groupcast.Announcement) (groupcast.Accepted, error) {
	return groupcast.Accepted{Status: f.status}, f.err
}
func (f *fakeEngine) Busy(context.Context) error { return nil }
func (f *fakeEngine) List(context.Context, string, int) ([]groupcast.Status, error) {
	return []groupcast.Status{f.status}, f.err
}
func (f *fakeEngine) Recall(context.Context, string) (groupcast.Status, error) {
	return f.status, f.err
}
func (f *fakeEngine) Reviews(context.Context) ([]router.Review, error) {
	return []router.Review{{Status: f.status, Held: 1, Category: "notice", Excerpt: "今晚维护。",
		RuleHits: []string{"rule internal: 内部资料"}, SubmittedBy: "ci"}}, f.err
}
func (f *fakeEngine) Announcement(context.Context, string) (*groupcast.Announcement, error) {
	return &groupcast.Announcement{ID: "a1", Title: "维护通知", Category: "notice", Priority: "normal", Body: "今晚维护。"}, f.err
}
func (f *fakeEngine) Decide(context.Context, string, bool, string, string) (groupcast.Status, error) {
	return f.status, f.err
}
func (f *fakeEngine) Accounts(context.Context) ([]groupcast.AccountHealth, error) {
	return f.accounts, f.err
}
func (f *fakeEngine) Report(context.Context, string) (tracking.Report, error) {
	return tracking.BuildReport(f.status, true, map[string]uint64{"AAAAAAAAAAAA": 2},
		map[string]store.TrackedLink{"AAAAAAAAAAAA": {Announcement: "a1", Target: groupcast.Destination{Account: "dt", Group: "dt"}.Key(),
			Platform: "dingtalk", URL: "https://status.example.com/maint"}}), f.err
}
func (f *fakeEngine) LinkHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("code") != "AAAAAAAAAAAA" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		http.Redirect(w, r, "https://status.example.com/maint", http.StatusFound)
	})
}

// fakeInbound refuses every event (a full queue) and answers a fixed
// report for account dt.
type fakeInbound struct{}

func (fakeInbound) Inbound(context.Context, groupcast.InboundEvent) error {
	return inbound.ErrQueueFull
}

func (fakeInbound) Report(_ context.Context, _ *configs.Config, account, group string, days int) (inbound.Report, error) {
	if account != "dt" {
		return inbound.Report{}, inbound.ErrUnknownAccount
	}
	return inbound.Report{Account: account, Group: group, From: "2026-11-25", To: "2026-11-26", Timezone: "Asia/Shanghai",
		Joins: 2, Leaves: 1, Sends: 3, LeaveRate: 1.0 / 3, SendsCounted: true, AutoCap: 2,
		Days: []inbound.ReportDay{{Date: "2026-11-25", Joins: 2, Sends: 1}, {Date: "2026-11-26", Leaves: 1, Sends: 2, LeaveRate: 1}}}, nil
}

func newFake(t *testing.T, extra string) *fakeEngine {
	t.Helper()
	yaml := `
store: {driver: memory}
timezone: Asia/Shanghai
server: {max_body: 4KiB` + extra + `}
accounts:
  - {name: dt, platform: dingtalk, driver: console}
  - {name: qq, platform: qq, driver: onebot, base_url: "http://127.0.0.1:1"}
policies:
  - name: strict
    rules: [{name: no-secrets, action: block, terms: ["机密"]}]
routes:
  - {name: ops, policy: strict, targets: [{account: dt}]}
`
	cfg, err := configs.LoadBytes([]byte(yaml), "t.yaml", configs.Options{Catalog: registry.Catalog,
		LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	loc := cfg.Location
	nb := time.Date(2026, 11, 25, 19, 0, 0, 0, loc)
	paused := nb.Add(time.Hour)
	return &fakeEngine{
		cfg: cfg, metrics: router.NewMetrics(),
		status: groupcast.Status{ID: "a1", Title: "维护通知", State: "pending", AcceptedAt: nb.Add(-time.Hour),
			Targets: []groupcast.Target{{Route: "ops", Platform: "dingtalk", Account: "dt", Group: "dt", Style: "formal",
				State: groupcast.StateDeferred, Reason: "window: next opens 19:00", NotBefore: &nb, UpdatedAt: nb.Add(-time.Hour),
				Recall: &groupcast.TargetRecall{State: groupcast.RecallPending, Attempts: 1}}}},
		accounts: []groupcast.AccountHealth{{Name: "dt", Platform: "dingtalk", Driver: "console", State: groupcast.AccountPaused,
			PausedUntil: &paused, LastError: "throttled", SentToday: 3}},
	}
}

// openAPI is the embedded document, decoded.
type openAPI struct {
	OpenAPI    string                               `json:"openapi"`
	Paths      map[string]map[string]map[string]any `json:"paths"`
	Components struct {
		Schemas   map[string]any            `json:"schemas"`
		Responses map[string]map[string]any `json:"responses"`
	} `json:"components"`
}

func loadDoc(t *testing.T) *openAPI {
	t.Helper()
	var doc openAPI
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	return &doc
}

// TestOpenAPIHasEveryRoute: every route registered in NewServer is in the
// document with each of its methods, and the document has nothing else.
func TestOpenAPIHasEveryRoute(t *testing.T) {
	doc := loadDoc(t)
	s := NewServer(newFake(t, ""), registry.Lookup, nil)
	for pattern, methods := range s.routes {
		ops, ok := doc.Paths[pattern]
		if !ok {
			t.Errorf("route %s is not in openapi.json", pattern)
			continue
		}
		for _, m := range methods {
			if _, ok := ops[strings.ToLower(m)]; !ok {
				t.Errorf("%s %s is not in openapi.json", m, pattern)
			}
		}
		for m := range ops {
			if !slices.Contains(methods, strings.ToUpper(m)) {
				t.Errorf("openapi.json has %s %s, which the server does not answer", strings.ToUpper(m), pattern)
			}
		}
	}
	for p := range doc.Paths {
		if _, ok := s.routes[p]; !ok {
			t.Errorf("openapi.json has %s, which the server does not register", p)
		}
	}
}

// TestOpenAPIHasEveryErrorCode: every error code the server writes (read
// from the source: writeError calls here, InputError codes in the packages
// that make them) is in the Error schema's enum, and the enum has no other.
func TestOpenAPIHasEveryErrorCode(t *testing.T) {
	doc := loadDoc(t)
	var enum []string
	errSchema := doc.Components.Schemas["Error"].(map[string]any)
	codeSchema := errSchema["properties"].(map[string]any)["error"].(map[string]any)["properties"].(map[string]any)["code"].(map[string]any)
	for _, v := range codeSchema["enum"].([]any) {
		enum = append(enum, v.(string))
	}
	used := map[string]bool{}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "server.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "writeError" && len(call.Args) >= 3 {
			if lit, ok := call.Args[2].(*ast.BasicLit); ok {
				code, _ := strconv.Unquote(lit.Value)
				used[code] = true
			}
		}
		return true
	})
	inputCode := regexp.MustCompile(`InputError\{Code: "([a-z_]+)"`)
	for _, dir := range []string{"..", "../router"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range inputCode.FindAllStringSubmatch(string(src), -1) {
				used[m[1]] = true
			}
		}
	}
	if len(used) < 10 {
		t.Fatalf("found only %d error codes in the source: the scan is broken", len(used))
	}
	for code := range used {
		if !slices.Contains(enum, code) {
			t.Errorf("error code %q is written but not in openapi.json", code)
		}
	}
	for _, code := range enum {
		if !used[code] {
			t.Errorf("openapi.json lists error code %q, which nothing writes", code)
		}
	}
}

// TestOpenAPIAnswersMatch calls every operation, and the ways each fails,
// and checks the status is documented for it and the body fits the
// documented schema.
func TestOpenAPIAnswersMatch(t *testing.T) {
	doc := loadDoc(t)
	md := "---\nid: a1\ntitle: 维护通知\n---\n今晚维护。"
	tests := []struct {
		name, method, path, ctype, body string
		err                             error
		notReady                        []string
		token                           bool   // the server has a token; the call sends none
		as                              string // the server has a token of this role; the call sends it
		want                            int
	}{
		{name: "submit", method: "POST", path: "/v1/messages", ctype: "text/markdown", body: md, want: 202},
		{name: "submit invalid", method: "POST", path: "/v1/messages", ctype: "text/markdown", body: "---\ntitle: \n---\n", want: 400},
		{name: "submit media type", method: "POST", path: "/v1/messages", ctype: "text/html", body: md, want: 415},
		{name: "submit too large", method: "POST", path: "/v1/messages", ctype: "text/markdown", body: md + strings.Repeat("x", 5000), want: 413},
		{name: "submit conflict", method: "POST", path: "/v1/messages", ctype: "text/markdown", body: md, err: groupcast.ErrConflict, want: 409},
		{name: "submit no route", method: "POST", path: "/v1/messages", ctype: "text/markdown", body: md,
			err: &groupcast.InputError{Code: "no_route", Fields: []*groupcast.FieldError{{Field: "tags", Message: "no route"}}}, want: 422},
		{name: "submit record too large to store", method: "POST", path: "/v1/messages", ctype: "text/markdown", body: md,
			err: fmt.Errorf("%w: 9000000 bytes stored", groupcast.ErrTooLarge), want: 413},
		{name: "submit backlog", method: "POST", path: "/v1/messages", ctype: "text/markdown", body: md, err: groupcast.ErrBusy, want: 429},
		{name: "submit not ready", method: "POST", path: "/v1/messages", ctype: "text/markdown", body: md, err: groupcast.ErrNotReady, want: 503},
		{name: "submit internal", method: "POST", path: "/v1/messages", ctype: "text/markdown", body: md, err: errors.New("disk"), want: 500},
		{name: "unauthorized", method: "GET", path: "/v1/messages/a1", token: true, want: 401},
		{name: "list", method: "GET", path: "/v1/messages?state=deferred&limit=5", want: 200},
		{name: "list bad limit", method: "GET", path: "/v1/messages?limit=0", want: 400},
		{name: "status", method: "GET", path: "/v1/messages/a1", want: 200},
		{name: "status unknown", method: "GET", path: "/v1/messages/nope", err: groupcast.ErrNotFound, want: 404},
		{name: "status wrong method", method: "DELETE", path: "/v1/messages/a1", want: 405},
		{name: "recall", method: "POST", path: "/v1/messages/a1/recall", want: 202},
		{name: "preview", method: "POST", path: "/v1/preview", ctype: "text/markdown", body: md, want: 200},
		{name: "reviews", method: "GET", path: "/v1/review", want: 200},
		{name: "approve", method: "POST", path: "/v1/review/a1/approve", ctype: "application/json", body: `{"by":"li"}`, want: 200},
		{name: "reject bad body", method: "POST", path: "/v1/review/a1/reject", ctype: "application/json", body: `{"who":1}`, want: 400},
		{name: "reject", method: "POST", path: "/v1/review/a1/reject", ctype: "application/json", body: `{"reason":"wrong group"}`, want: 200},
		{name: "reject without reason", method: "POST", path: "/v1/review/a1/reject", ctype: "application/json", body: `{}`, want: 400},
		{name: "reject not held", method: "POST", path: "/v1/review/a1/reject", ctype: "application/json", body: `{"reason":"r"}`, err: router.ErrNotHeld, want: 409},
		{name: "approve as reviewer", method: "POST", path: "/v1/review/a1/approve", as: "reviewer", want: 200},
		{name: "approve as sender", method: "POST", path: "/v1/review/a1/approve", as: "sender", want: 403},
		{name: "submit as reviewer", method: "POST", path: "/v1/messages", ctype: "text/markdown", body: md, as: "reviewer", want: 403},
		{name: "preview as reviewer", method: "POST", path: "/v1/preview", ctype: "text/markdown", body: md, as: "reviewer", want: 403},
		{name: "recall as reviewer", method: "POST", path: "/v1/messages/a1/recall", as: "reviewer", want: 403},
		{name: "reject as sender", method: "POST", path: "/v1/review/a1/reject", ctype: "application/json", body: `{"reason":"r"}`, as: "sender", want: 403},
		{name: "stored preview", method: "GET", path: "/v1/messages/a1/preview", as: "reviewer", want: 200},
		{name: "stored preview unknown", method: "GET", path: "/v1/messages/nope/preview", err: groupcast.ErrNotFound, want: 404},
		{name: "accounts", method: "GET", path: "/v1/accounts", want: 200},
		{name: "calendar", method: "GET", path: "/v1/calendar?from=2027-01-04T00:00:00%2B08:00&to=2027-01-11T00:00:00%2B08:00", want: 200},
		{name: "calendar without from", method: "GET", path: "/v1/calendar?to=2027-01-11T00:00:00Z", want: 400},
		{name: "calendar too long", method: "GET", path: "/v1/calendar?from=2027-01-01T00:00:00Z&to=2027-04-01T00:00:00Z", want: 400},
		{name: "group report", method: "GET", path: "/v1/groups/dt/123/report?days=2", want: 200},
		{name: "group report bad days", method: "GET", path: "/v1/groups/dt/123/report?days=x", want: 400},
		{name: "group report unknown account", method: "GET", path: "/v1/groups/nope/123/report", want: 404},
		{name: "onebot event without a token", method: "POST", path: "/v1/inbound/onebot/dt", ctype: "application/json", body: "{}", token: true, want: 404},
		{name: "onebot event queue full", method: "POST", path: "/v1/inbound/onebot/qq", ctype: "application/json",
			body: `{"post_type":"notice","notice_type":"group_increase","group_id":1,"user_id":2}`, want: 429},
		{name: "onebot event bad json", method: "POST", path: "/v1/inbound/onebot/qq", ctype: "application/json", body: "{", want: 400},
		{name: "onebot heartbeat", method: "POST", path: "/v1/inbound/onebot/qq", ctype: "application/json", body: `{"post_type":"meta_event"}`, want: 204},
		{name: "report", method: "GET", path: "/v1/messages/a1/report", want: 200},
		{name: "report unknown", method: "GET", path: "/v1/messages/nope/report", err: groupcast.ErrNotFound, want: 404},
		{name: "tracked link", method: "GET", path: "/l/AAAAAAAAAAAA", want: 302},
		{name: "tracked link unknown", method: "GET", path: "/l/BBBBBBBBBBBB", want: 404},
		{name: "healthz", method: "GET", path: "/healthz", want: 200},
		{name: "readyz", method: "GET", path: "/readyz", want: 200},
		{name: "not ready", method: "GET", path: "/readyz", notReady: []string{"store: down"}, want: 503},
		{name: "metrics", method: "GET", path: "/metrics", want: 200},
		{name: "openapi", method: "GET", path: "/openapi.json", want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := ""
			if tt.token {
				extra = ", tokens: [s3cret]"
			}
			if tt.as != "" {
				extra = ", tokens: [{name: li, token: s3cret, role: " + tt.as + "}]"
			}
			f := newFake(t, extra)
			f.err, f.notReady = tt.err, tt.notReady
			s := NewServer(f, registry.Lookup, nil)
			s.SetInbound(fakeInbound{})
			srv := httptest.NewServer(s)
			defer srv.Close()
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if tt.as != "" {
				req.Header.Set("Authorization", "Bearer s3cret")
			}
			client := srv.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			pattern := tt.path
			if i := strings.IndexByte(pattern, '?'); i >= 0 {
				pattern = pattern[:i]
			}
			pattern = regexp.MustCompile(`^/v1/(messages|review)/[^/]+`).ReplaceAllString(pattern, "/v1/$1/{id}")
			pattern = regexp.MustCompile(`^/v1/groups/[^/]+/[^/]+/report$`).ReplaceAllString(pattern, "/v1/groups/{account}/{group}/report")
			pattern = regexp.MustCompile(`^/v1/inbound/onebot/[^/]+$`).ReplaceAllString(pattern, "/v1/inbound/onebot/{account}")
			pattern = regexp.MustCompile(`^/l/[^/]+$`).ReplaceAllString(pattern, "/l/{code}")
			ops, ok := doc.Paths[pattern]
			if !ok {
				t.Fatalf("%s is not in openapi.json", pattern)
			}
			op := ops[strings.ToLower(tt.method)]
			if op == nil {
				op = ops["get"] // a 405 is documented on every operation of the path
			}
			responses := op["responses"].(map[string]any)
			r, ok := responses[strconv.Itoa(resp.StatusCode)].(map[string]any)
			if !ok {
				t.Fatalf("%s %s answered %d, which openapi.json does not list", tt.method, pattern, resp.StatusCode)
			}
			if ref, ok := r["$ref"].(string); ok {
				r = doc.Components.Responses[strings.TrimPrefix(ref, "#/components/responses/")]
			}
			content, _ := r["content"].(map[string]any)
			js, ok := content["application/json"].(map[string]any)
			if !ok {
				return // not JSON (metrics)
			}
			var body any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("answer is not JSON: %v", err)
			}
			if err := doc.check(js["schema"], body, "$"); err != nil {
				t.Errorf("answer does not fit openapi.json: %v", err)
			}
		})
	}
}

// check validates v against the subset of JSON Schema openapi.json uses:
// $ref, type, required, properties, items, enum, const, allOf.
func (d *openAPI) check(schema, v any, at string) error {
	s, _ := schema.(map[string]any)
	if s == nil {
		return nil
	}
	if ref, ok := s["$ref"].(string); ok {
		return d.check(d.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")], v, at)
	}
	for _, sub := range asSlice(s["allOf"]) {
		if err := d.check(sub, v, at); err != nil {
			return err
		}
	}
	if types := typesOf(s["type"]); len(types) > 0 && !slices.Contains(types, jsonType(v)) {
		if !(jsonType(v) == "integer" && slices.Contains(types, "number")) {
			return errors.New(at + ": is " + jsonType(v) + ", want " + strings.Join(types, " or "))
		}
	}
	if enum := asSlice(s["enum"]); enum != nil && !slices.Contains(enum, v) {
		return errors.New(at + ": " + toString(v) + " is not in the enum")
	}
	if c, ok := s["const"]; ok && c != v {
		return errors.New(at + ": not the const")
	}
	switch v := v.(type) {
	case map[string]any:
		for _, r := range asSlice(s["required"]) {
			if _, ok := v[r.(string)]; !ok {
				return errors.New(at + ": lacks required " + r.(string))
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, pv := range v {
			if ps, ok := props[k]; ok {
				if err := d.check(ps, pv, at+"."+k); err != nil {
					return err
				}
			} else if ap, ok := s["additionalProperties"].(bool); ok && !ap {
				return errors.New(at + ": unexpected " + k)
			}
		}
	case []any:
		for i, x := range v {
			if err := d.check(s["items"], x, at+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func typesOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func toString(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestAccountsAnswer(t *testing.T) {
	srv := httptest.NewServer(NewServer(newFake(t, ""), registry.Lookup, nil))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/v1/accounts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Accounts []map[string]any `json:"accounts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Accounts) != 1 {
		t.Fatalf("%d: %v %v", resp.StatusCode, out, err)
	}
	a := out.Accounts[0]
	want := map[string]any{"name": "dt", "platform": "dingtalk", "driver": "console", "state": "paused",
		"last_error": "throttled", "paused_until": "2026-11-25T20:00:00+08:00", "sent_today": float64(3)}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("%s = %v, want %v", k, a[k], v)
		}
	}
}

// TestTimesInConfiguredZone: whatever zone the engine's times are in, the
// answers carry the configured zone's offset (Asia/Shanghai here).
func TestTimesInConfiguredZone(t *testing.T) {
	f := newFake(t, "")
	utc := f.status.AcceptedAt.UTC()
	nb := f.status.Targets[0].NotBefore.UTC()
	f.status.AcceptedAt, f.status.Targets[0].NotBefore, f.status.Targets[0].UpdatedAt = utc, &nb, utc
	srv := httptest.NewServer(NewServer(f, registry.Lookup, nil))
	defer srv.Close()
	for _, path := range []string{"/v1/messages/a1", "/v1/messages", "/v1/review"} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var body strings.Builder
		_, _ = io.Copy(&body, resp.Body)
		resp.Body.Close()
		for _, want := range []string{`"accepted_at":"2026-11-25T18:00:00+08:00"`, `"not_before":"2026-11-25T19:00:00+08:00"`, `"updated_at":"2026-11-25T18:00:00+08:00"`} {
			if !strings.Contains(body.String(), want) {
				t.Errorf("%s lacks %s:\n%s", path, want, body.String())
			}
		}
	}
}
