package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast/store"
)

// reviewConfig holds every announcement mentioning 内部资料 for review.
func reviewConfig(t testing.TB, tokens string) string {
	return fmt.Sprintf(`
store: {driver: memory}
server: {max_body: 4KiB%s}
accounts:
  - {name: dt, platform: dingtalk, driver: file, path: %s/dt.jsonl}
policies:
  - name: careful
    rules: [{name: internal, action: review, terms: ["内部资料"]}]
routes:
  - {name: ops, policy: careful, targets: [{account: dt}]}
`, tokens, t.TempDir())
}

const roleTokens = `, tokens: ["root-token", {name: ci, token: ci-token, role: sender}, {name: li, token: li-token, role: reviewer}]`

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// heldMD is an announcement the careful policy holds.
func heldMD(id string) string {
	return "---\nid: " + id + "\ntitle: 季度复盘\ncategory: notice\n---\n" +
		"这是**内部资料**，请勿外传。" + strings.Repeat("第二段的内容很长。", 30)
}

// waitHeld polls until the announcement's targets are held (the senders
// decide asynchronously).
func waitHeld(t *testing.T, srv *httptest.Server, id string, hdr ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g := call(t, srv, "GET", "/v1/messages/"+id, "", "", hdr...)
		if ts, _ := g.body["targets"].([]any); len(ts) > 0 && ts[0].(map[string]any)["state"] == "held" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held: %v", id, g.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRoles: each role calls what it may; anything else is 403 forbidden.
func TestRoles(t *testing.T) {
	srv, _ := startServer(t, reviewConfig(t, roleTokens))
	if a := call(t, srv, "POST", "/v1/messages", "text/markdown", heldMD("r1"), bearer("ci-token")...); a.status != 202 {
		t.Fatalf("sender submits: %d %v", a.status, a.body)
	}
	waitHeld(t, srv, "r1", bearer("root-token")...)
	tests := []struct {
		name, token, method, path, ctype, body string
		want                                   int
	}{
		{"reviewer submits", "li-token", "POST", "/v1/messages", "text/markdown", heldMD("r2"), 403},
		{"reviewer previews", "li-token", "POST", "/v1/preview", "text/markdown", heldMD("r2"), 403},
		{"reviewer recalls", "li-token", "POST", "/v1/messages/r1/recall", "", "", 403},
		{"sender approves", "ci-token", "POST", "/v1/review/r1/approve", "", "", 403},
		{"sender rejects", "ci-token", "POST", "/v1/review/r1/reject", "application/json", `{"reason":"no"}`, 403},
		{"sender previews", "ci-token", "POST", "/v1/preview", "text/markdown", heldMD("r2"), 200},
		{"sender lists", "ci-token", "GET", "/v1/messages", "", "", 200},
		{"sender reads the queue", "ci-token", "GET", "/v1/review", "", "", 200},
		{"reviewer reads one", "li-token", "GET", "/v1/messages/r1", "", "", 200},
		{"reviewer reads the queue", "li-token", "GET", "/v1/review", "", "", 200},
		{"reviewer previews a stored one", "li-token", "GET", "/v1/messages/r1/preview", "", "", 200},
		{"reviewer reads accounts", "li-token", "GET", "/v1/accounts", "", "", 200},
		{"reviewer rejects without a reason", "li-token", "POST", "/v1/review/r1/reject", "application/json", `{"reason":"  "}`, 400},
		{"admin previews", "root-token", "POST", "/v1/preview", "text/markdown", heldMD("r2"), 200},
		{"no token", "", "GET", "/v1/review", "", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.token != "" {
				hdr = bearer(tt.token)
			}
			a := call(t, srv, tt.method, tt.path, tt.ctype, tt.body, hdr...)
			if a.status != tt.want {
				t.Fatalf("%s %s = %d %v, want %d", tt.method, tt.path, a.status, a.body, tt.want)
			}
			code, field := a.errField()
			switch tt.want {
			case 403:
				if code != "forbidden" {
					t.Errorf("code %q, want forbidden", code)
				}
			case 400:
				if code != "invalid" || field != "reason" {
					t.Errorf("code %q field %q, want invalid on reason", code, field)
				}
			}
		})
	}
}

// TestReviewerIsTheToken: the decision is recorded as the token's holder,
// whatever by the body claims; a second decision on the same id is 409.
func TestReviewerIsTheToken(t *testing.T) {
	srv, st := startServer(t, reviewConfig(t, roleTokens))
	if a := call(t, srv, "POST", "/v1/messages", "text/markdown", heldMD("r1"), bearer("ci-token")...); a.status != 202 {
		t.Fatalf("submit: %d %v", a.status, a.body)
	}
	waitHeld(t, srv, "r1", bearer("li-token")...)
	a := call(t, srv, "POST", "/v1/review/r1/approve", "application/json", `{"by":"mallory"}`, bearer("li-token")...)
	if a.status != 200 {
		t.Fatalf("approve: %d %v", a.status, a.body)
	}
	rv, err := st.Review(context.Background(), "r1")
	if err != nil || rv.By != "li" || rv.Decision != "approved" {
		t.Errorf("ledger review = %+v, %v; want approved by li", rv, err)
	}
	if a := call(t, srv, "POST", "/v1/review/r1/approve", "", "", bearer("li-token")...); a.status != 409 {
		t.Errorf("approve again: %d %v, want 409 not_held", a.status, a.body)
	} else if code, _ := a.errField(); code != "not_held" {
		t.Errorf("approve again: code %q, want not_held", code)
	}
	rec, err := st.Record(context.Background(), "r1")
	if err != nil || rec.SubmittedBy != "ci" {
		t.Errorf("record submitted_by = %q, %v; want ci", recSubmitter(rec), err)
	}
}

func recSubmitter(r *store.Record) string {
	if r == nil {
		return ""
	}
	return r.SubmittedBy
}

// TestReviewQueueContent: the queue says what is held, why, and who sent
// it, so a reviewer can decide from it.
func TestReviewQueueContent(t *testing.T) {
	srv, _ := startServer(t, reviewConfig(t, roleTokens))
	if a := call(t, srv, "POST", "/v1/messages", "text/markdown", heldMD("r1"), bearer("ci-token")...); a.status != 202 {
		t.Fatalf("submit: %d %v", a.status, a.body)
	}
	waitHeld(t, srv, "r1", bearer("li-token")...)
	r := call(t, srv, "GET", "/v1/review", "", "", bearer("li-token")...)
	list, _ := r.body["reviews"].([]any)
	if r.status != 200 || len(list) != 1 {
		t.Fatalf("queue = %d %v", r.status, r.body)
	}
	item := list[0].(map[string]any)
	excerpt, _ := item["excerpt"].(string)
	hits, _ := item["rule_hits"].([]any)
	for _, c := range []struct {
		what string
		ok   bool
	}{
		{"title", item["title"] == "季度复盘"},
		{"category", item["category"] == "notice"},
		{"submitted_by", item["submitted_by"] == "ci"},
		{"held", item["held"] == float64(1)},
		{"excerpt is plain text from the body's start", strings.HasPrefix(excerpt, "这是内部资料，请勿外传。")},
		{"excerpt is cut at 120 characters", len([]rune(excerpt)) == 120 && strings.HasSuffix(excerpt, "…")},
		{"rule hits", len(hits) == 1 && hits[0] == "rule internal: 内部资料"},
	} {
		if !c.ok {
			t.Errorf("%s: %v", c.what, item)
		}
	}
	p := call(t, srv, "GET", "/v1/messages/r1/preview", "", "", bearer("li-token")...)
	targets, _ := p.body["targets"].([]any)
	if p.status != 200 || len(targets) != 1 {
		t.Fatalf("stored preview = %d %v", p.status, p.body)
	}
	tg := targets[0].(map[string]any)
	parts, _ := tg["parts"].([]any)
	if tg["state"] != "held" || len(parts) == 0 || !strings.Contains(fmt.Sprint(parts[0]), "内部资料") {
		t.Errorf("stored preview target = %v, want held with the rendered text", tg)
	}
}

// TestNoTokensAnonymous: with no tokens everyone may do everything, the
// submitter is anonymous and a decision is the body's by when given.
func TestNoTokensAnonymous(t *testing.T) {
	srv, st := startServer(t, reviewConfig(t, ""))
	for _, id := range []string{"n1", "n2"} {
		if a := call(t, srv, "POST", "/v1/messages", "text/markdown", heldMD(id)); a.status != 202 {
			t.Fatalf("submit: %d %v", a.status, a.body)
		}
		waitHeld(t, srv, id)
	}
	if a := call(t, srv, "POST", "/v1/review/n1/reject", "application/json", `{"by":"zhang","reason":"wrong audience"}`); a.status != 200 {
		t.Fatalf("reject: %d %v", a.status, a.body)
	}
	if a := call(t, srv, "POST", "/v1/review/n2/approve", "", ""); a.status != 200 {
		t.Fatalf("approve: %d %v", a.status, a.body)
	}
	ctx := context.Background()
	for id, want := range map[string]store.Review{"n1": {Decision: "rejected", By: "zhang", Reason: "wrong audience"}, "n2": {Decision: "approved", By: "anonymous"}} {
		rv, err := st.Review(ctx, id)
		if err != nil || rv.By != want.By || rv.Decision != want.Decision || rv.Reason != want.Reason {
			t.Errorf("%s: review %+v %v, want %+v", id, rv, err, want)
		}
		if rec, err := st.Record(ctx, id); err != nil || rec.SubmittedBy != "anonymous" {
			t.Errorf("%s: submitted_by %q %v, want anonymous", id, recSubmitter(rec), err)
		}
	}
	if got := call(t, srv, "GET", "/v1/messages/n1", "", ""); !slices.ContainsFunc(got.body["targets"].([]any), func(x any) bool {
		return strings.Contains(fmt.Sprint(x.(map[string]any)["reason"]), "rejected by zhang: wrong audience")
	}) {
		t.Errorf("rejected target's reason: %v", got.body)
	}
}
