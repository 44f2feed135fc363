package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/api"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
)

func newServer(t testing.TB, extra string) *httptest.Server {
	t.Helper()
	yaml := fmt.Sprintf(`
store: {driver: memory}
server: {max_body: 4KiB%s}
accounts:
  - {name: dt, platform: dingtalk, driver: file, path: %[2]s/dt.jsonl}
  - {name: wx, platform: wechat, driver: file, path: %[2]s/wx.jsonl}
routes:
  - name: ops
    match: {tags: [ops]}
    targets: [{account: dt}, {account: wx, groups: ["运维群"]}]
`, extra, t.TempDir())
	srv, _ := startServer(t, yaml)
	return srv
}

// startServer runs an engine on the memory store under the config yaml
// and serves its API; the store is there to read the ledger.
func startServer(t testing.TB, yaml string) (*httptest.Server, *store.Store) {
	t.Helper()
	cfg, err := configs.LoadBytes([]byte(yaml), "t.yaml", configs.Options{Catalog: registry.Catalog,
		CheckPolicy: func(p configs.Policy, loc *time.Location) error {
			_, err := policy.Compile(p, loc)
			return err
		},
		LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, store.Options{Driver: store.DriverMemory})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := router.New(router.Options{Store: st, Config: cfg, Drivers: registry.Lookup})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Running()
	srv := httptest.NewServer(api.NewServer(svc, registry.Lookup, nil))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		st.Close()
	})
	return srv, st
}

type answer struct {
	status int
	body   map[string]any
}

func call(t testing.TB, srv *httptest.Server, method, path, ctype, body string, hdr ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(data, &a.body); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %q", method, path, data)
		}
	}
	return a
}

func (a answer) errField() (code, field string) {
	e, _ := a.body["error"].(map[string]any)
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	return
}

const md = "---\nid: a1\ntitle: 维护通知\ntags: [ops]\n---\n今晚维护。"

func TestSubmitAndStatus(t *testing.T) {
	srv := newServer(t, "")
	a := call(t, srv, "POST", "/v1/messages", "text/markdown", md)
	if a.status != 202 || a.body["id"] != "a1" {
		t.Fatalf("POST = %d %v", a.status, a.body)
	}
	if n := len(a.body["targets"].([]any)); n != 2 {
		t.Fatalf("%d targets, want 2", n)
	}
	if again := call(t, srv, "POST", "/v1/messages", "text/markdown", md); again.status != 200 {
		t.Errorf("same id and content: %d, want 200", again.status)
	}
	if c := call(t, srv, "POST", "/v1/messages", "text/markdown", md+"!"); c.status != 409 {
		t.Errorf("same id, other content: %d, want 409", c.status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		g := call(t, srv, "GET", "/v1/messages/a1", "", "")
		if g.status != 200 {
			t.Fatalf("GET = %d", g.status)
		}
		if g.body["state"] == "delivered" {
			for _, k := range []string{"id", "title", "state", "accepted_at", "targets"} {
				if _, ok := g.body[k]; !ok {
					t.Errorf("GET answer lacks %q", k)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never delivered: %v", g.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	l := call(t, srv, "GET", "/v1/messages?state=delivered&limit=5", "", "")
	if l.status != 200 || len(l.body["messages"].([]any)) != 1 {
		t.Errorf("list = %d %v", l.status, l.body)
	}
	if r := call(t, srv, "POST", "/v1/messages/a1/recall", "", ""); r.status != 202 {
		t.Errorf("recall = %d", r.status)
	}
}

func TestBadInput(t *testing.T) {
	srv := newServer(t, "")
	big := "---\ntitle: big\ntags: [ops]\n---\n" + strings.Repeat("长", 2000)
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		code, field                     string
	}{
		{"wrong content type", "POST", "/v1/messages", "text/plain", md, 415, "unsupported_media_type", "Content-Type"},
		{"over max_body", "POST", "/v1/messages", "text/markdown", big, 413, "too_large", "body"},
		{"malformed JSON", "POST", "/v1/messages", "application/json", `{"title": "x", "body": `, 400, "malformed", ""},
		{"wrong JSON type", "POST", "/v1/messages", "application/json", `{"title": 5, "body": "b"}`, 400, "malformed", "title"},
		{"unknown JSON field", "POST", "/v1/messages", "application/json", `{"title": "t", "body": "b", "colour": 1}`, 400, "malformed", "colour"},
		{"unknown front matter key", "POST", "/v1/messages", "text/markdown", "---\ntitle: t\ncolour: red\n---\nb", 400, "malformed", "colour"},
		{"missing title", "POST", "/v1/messages", "application/yaml", "body: hello\n", 400, "invalid", "title"},
		{"bad link", "POST", "/v1/messages", "application/json", `{"title":"t","body":"b","tags":["ops"],"links":[{"title":"x","url":"ftp://x"}]}`, 400, "invalid", "links[0].url"},
		{"bad enum", "POST", "/v1/messages", "application/json", `{"title":"t","body":"b","category":"spam"}`, 400, "invalid", "category"},
		{"bad time", "POST", "/v1/messages", "application/json", `{"title":"t","body":"b","send_at":"tomorrow"}`, 400, "invalid", "send_at"},
		{"expires before send", "POST", "/v1/messages", "application/json", `{"title":"t","body":"b","send_at":"2030-01-02T00:00:00Z","expires_at":"2030-01-01T00:00:00Z"}`, 400, "invalid", "expires_at"},
		{"invalid UTF-8", "POST", "/v1/messages", "text/markdown", "---\ntitle: t\n---\n\xff\xfe", 400, "malformed", "body"},
		{"unclosed front matter", "POST", "/v1/messages", "text/markdown", "---\ntitle: t\nbody", 400, "malformed", "front_matter"},
		{"no route", "POST", "/v1/messages", "application/json", `{"title":"t","body":"b","tags":["hr"]}`, 422, "no_route", "tags"},
		{"unknown id", "GET", "/v1/messages/nope", "", "", 404, "not_found", "id"},
		{"bad list state", "GET", "/v1/messages?state=weird", "", "", 400, "invalid", "state"},
		{"bad list limit", "GET", "/v1/messages?limit=0", "", "", 400, "invalid", "limit"},
		{"wrong method", "DELETE", "/v1/messages", "", "", 405, "method_not_allowed", ""},
		{"unknown path", "GET", "/v2/x", "", "", 404, "not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := call(t, srv, c.method, c.path, c.ctype, c.body)
			code, field := a.errField()
			if a.status != c.status || code != c.code || field != c.field {
				t.Errorf("got %d %s field %q (%v), want %d %s field %q", a.status, code, field, a.body, c.status, c.code, c.field)
			}
		})
	}
	if h := call(t, srv, "GET", "/healthz", "", ""); h.status != 200 {
		t.Errorf("healthz after bad input: %d", h.status)
	}
}

func TestTokens(t *testing.T) {
	srv := newServer(t, `, tokens: ["s3cret-token", "other"]`)
	if a := call(t, srv, "GET", "/v1/messages", "", ""); a.status != 401 {
		t.Errorf("no token: %d", a.status)
	}
	if a := call(t, srv, "GET", "/v1/messages", "", "", "Authorization", "Bearer wrong"); a.status != 401 {
		t.Errorf("wrong token: %d", a.status)
	}
	if a := call(t, srv, "GET", "/v1/messages", "", "", "Authorization", "Bearer other"); a.status != 200 {
		t.Errorf("second token: %d", a.status)
	}
	if a := call(t, srv, "GET", "/healthz", "", ""); a.status != 200 {
		t.Errorf("healthz needs no token: %d", a.status)
	}
}

func TestReadyAndMetrics(t *testing.T) {
	srv := newServer(t, "")
	// Ready once the accounts are taken, right after the engine runs.
	for deadline := time.Now().Add(5 * time.Second); ; {
		a := call(t, srv, "GET", "/readyz", "", "")
		if a.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz = %d %v", a.status, a.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	call(t, srv, "POST", "/v1/messages", "text/markdown", md)
	want := []string{"groupcast_messages_accepted_total 1",
		`groupcast_deliveries_total{account="wx",platform="wechat",state="delivered"} 1`,
		`groupcast_delivery_seconds_count{platform="dingtalk"} 1`,
		`groupcast_targets{state="delivered"} 2`}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := srv.Client().Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var missing []string
		for _, w := range want {
			if !bytes.Contains(text, []byte(w)) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %q", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPreview(t *testing.T) {
	srv := newServer(t, "")
	a := call(t, srv, "POST", "/v1/preview", "text/markdown", md)
	if a.status != 200 {
		t.Fatalf("preview = %d %v", a.status, a.body)
	}
	targets := a.body["targets"].([]any)
	if len(targets) != 2 {
		t.Fatalf("%d targets", len(targets))
	}
	parts := targets[0].(map[string]any)["parts"].([]any)
	p := parts[0].(map[string]any)
	if p["text"] == "" || p["bytes"].(float64) <= 0 || p["chars"].(float64) <= 0 {
		t.Errorf("part %v", p)
	}
	if g := call(t, srv, "GET", "/v1/messages/a1", "", ""); g.status != 404 {
		t.Errorf("preview stored something: %d", g.status)
	}
}

// FuzzPostMessages throws arbitrary bodies at POST /v1/messages: every
// answer is a JSON answer with a known status, and the daemon stays up.
func FuzzPostMessages(f *testing.F) {
	srv := newServer(f, "")
	for _, s := range []string{md, "", "---\n", "---\ntitle: [\n---\n", `{"title":"t","body":"b","tags":["ops"]}`,
		"\xff", "title: t\nbody: b\ntags: [ops]\n", `{"links":[{"url":null}]}`, "---\n---\n---",
		"---\ntitle: t\ntags: [ops]\n---\n" + strings.Repeat("*", 500) + "a" + strings.Repeat("*", 500),
		"---\ntitle: t\ntags: [ops]\n---\n" + strings.Repeat("> ", 40) + "a",
		"---\ntitle: t\ntags: [ops]\n---\n" + strings.Repeat("|a", 300) + "|\n" + strings.Repeat("|-", 300) + "|\n" + strings.Repeat("|\n", 100)} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
		f.Add(s, uint8(2))
	}
	types := []string{"text/markdown", "application/json", "application/yaml", "text/plain"}
	allowed := map[int]bool{200: true, 202: true, 400: true, 409: true, 413: true, 415: true, 422: true}
	f.Fuzz(func(t *testing.T, body string, ct uint8) {
		a := call(t, srv, "POST", "/v1/messages", types[int(ct)%len(types)], body)
		if !allowed[a.status] {
			t.Fatalf("status %d for %q: %v", a.status, body, a.body)
		}
		if a.status >= 400 {
			if code, _ := a.errField(); code == "" {
				t.Fatalf("error answer without a code: %v", a.body)
			}
		}
		if h := call(t, srv, "GET", "/healthz", "", ""); h.status != 200 {
			t.Fatalf("healthz = %d", h.status)
		}
	})
}

func TestIntakeRateLimit(t *testing.T) {
	srv := newServer(t, ", intake_per_second: 1")
	saw429 := false
	for i := range 5 {
		a := call(t, srv, "POST", "/v1/messages", "application/json",
			fmt.Sprintf(`{"id":"r%d","title":"t","body":"b","tags":["ops"]}`, i))
		if a.status == 429 {
			if code, _ := a.errField(); code != "rate_limited" {
				t.Errorf("429 with code %q", code)
			}
			saw429 = true
		}
	}
	if !saw429 {
		t.Error("5 posts at once under intake_per_second 1: no 429")
	}
}

func TestListNewestFirstAndReviewEndpoints(t *testing.T) {
	srv := newServer(t, "")
	for _, id := range []string{"old", "new"} {
		if a := call(t, srv, "POST", "/v1/messages", "application/json",
			`{"id":"`+id+`","title":"t","body":"b","tags":["ops"]}`); a.status != 202 {
			t.Fatalf("POST %s = %d", id, a.status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	l := call(t, srv, "GET", "/v1/messages?limit=2", "", "")
	msgs, _ := l.body["messages"].([]any)
	if l.status != 200 || len(msgs) != 2 || msgs[0].(map[string]any)["id"] != "new" {
		t.Fatalf("list = %d %v, want newest first", l.status, l.body)
	}
	r := call(t, srv, "GET", "/v1/review", "", "")
	if list, ok := r.body["reviews"].([]any); r.status != 200 || !ok || len(list) != 0 {
		t.Errorf("review queue = %d %v, want an empty list", r.status, r.body)
	}
	if a := call(t, srv, "POST", "/v1/review/nope/approve", "", ""); a.status != 404 {
		t.Errorf("approve unknown = %d", a.status)
	}
	if a := call(t, srv, "POST", "/v1/review/old/reject", "application/json", `{"by":"ops","colour":1}`); a.status != 400 {
		t.Errorf("reject with an unknown field = %d, want 400", a.status)
	}
}

// TestPathsAnsweredWithoutRedirects: a path ServeMux would clean and
// redirect (307 with an HTML body) is answered with a JSON error, and so
// is every path no endpoint serves.
func TestPathsAnsweredWithoutRedirects(t *testing.T) {
	srv := newServer(t, ", tokens: [secret]")
	h := srv.Config.Handler
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/messages/..", 400, "malformed"},
		{"GET", "//v1/messages", 400, "malformed"},
		{"POST", "//v1/messages", 400, "malformed"},
		{"GET", "/v1/./messages", 400, "malformed"},
		{"GET", "/v1/messages/a/../b", 400, "malformed"},
		{"GET", "/v1/messages/%2e%2e", 400, "malformed"},
		{"GET", "/healthz/..", 400, "malformed"},
		{"GET", "/./healthz", 400, "malformed"},
		{"GET", "/nope", 404, "not_found"},
		{"GET", "/v1", 404, "not_found"},
		{"GET", "/healthz/", 404, "not_found"},
		{"GET", "/v1/messages/", 401, "unauthorized"},
	} {
		req := httptest.NewRequest(c.method, c.path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var body api.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: %d %q is not a JSON answer", c.method, c.path, rec.Code, rec.Body.String())
			continue
		}
		if rec.Code != c.status || body.Error.Code != c.code || rec.Header().Get("Location") != "" {
			t.Errorf("%s %s = %d %q (Location %q), want %d %q", c.method, c.path, rec.Code, body.Error.Code,
				rec.Header().Get("Location"), c.status, c.code)
		}
	}
}

// TestMarkdownOverLimitsIs422: a body the styles would take long over is
// refused at intake and in a preview, naming the body.
func TestMarkdownOverLimitsIs422(t *testing.T) {
	srv := newServer(t, "")
	nested := strings.Repeat("*", 100) + "a" + strings.Repeat("*", 100)
	quotes := strings.Repeat(">", 40) + " a"
	for _, body := range []string{nested, quotes} {
		doc := "---\ntitle: t\ntags: [ops]\n---\n" + body
		for _, path := range []string{"/v1/messages", "/v1/preview"} {
			a := call(t, srv, "POST", path, "text/markdown", doc)
			if code, field := a.errField(); a.status != 422 || code != "too_complex" || field != "body" {
				t.Errorf("POST %s with %.20q… = %d %v, want 422 too_complex on body", path, body, a.status, a.body)
			}
		}
	}
	if a := call(t, srv, "GET", "/v1/messages?state=failed", "", ""); len(a.body["messages"].([]any)) != 0 {
		t.Errorf("a refused body was stored: %v", a.body)
	}
}
