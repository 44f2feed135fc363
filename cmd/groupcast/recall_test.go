package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/groupcast/groupcast"
)

// recallDaemon answers a recall the way the durable recall does: 202 at
// once with every recall pending, then each status read moves the recalls
// on, until they end as outcomes says.
func recallDaemon(t *testing.T, outcomes []groupcast.TargetRecall) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	reads := 0
	status := func() groupcast.Status {
		st := groupcast.Status{ID: "r1", Title: "撤回", State: "delivered"}
		for i, o := range outcomes {
			tg := groupcast.Target{Platform: "dingtalk", Account: "dt", Group: []string{"运维群", "研发群", "全员群"}[i],
				State: groupcast.StateDelivered, Attempts: 1, Recall: &groupcast.TargetRecall{State: groupcast.RecallPending}}
			if reads >= 2 {
				r := o
				tg.Recall = &r
				if o.State == groupcast.RecallDone {
					tg.State = groupcast.StateRecalled
				}
			}
			st.Targets = append(st.Targets, tg)
		}
		return st
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		code := http.StatusOK
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/messages/r1/recall":
			code = http.StatusAccepted
		case r.Method == http.MethodGet && r.URL.Path == "/v1/messages/r1":
			reads++
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(status())
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRecallWait(t *testing.T) {
	tests := []struct {
		name     string
		outcomes []groupcast.TargetRecall
		code     int
		want     []string
	}{
		{name: "all recalled",
			outcomes: []groupcast.TargetRecall{{State: groupcast.RecallDone, Attempts: 1}, {State: groupcast.RecallDone, Attempts: 2}},
			code:     0, want: []string{"recalled  dingtalk/dt → 运维群", "recall: 2 recalled"}},
		{name: "one unsupported",
			outcomes: []groupcast.TargetRecall{{State: groupcast.RecallDone, Attempts: 1},
				{State: groupcast.RecallUnsupported, Reason: "webhook robots cannot recall"}},
			code: 0, want: []string{"recall unsupported  dingtalk/dt → 研发群", "webhook robots cannot recall", "recall: 1 recalled, 1 recall unsupported"}},
		{name: "one failed",
			outcomes: []groupcast.TargetRecall{{State: groupcast.RecallFailed, Attempts: 5, Reason: "too late: over 24h"},
				{State: groupcast.RecallDone, Attempts: 1}},
			code: exitFailed, want: []string{"recall failed  dingtalk/dt → 运维群  attempt 5  too late: over 24h"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := recallDaemon(t, tt.outcomes)
			code, out, errOut := runCLI(t, "recall", "r1", "--server", srv.URL, "--wait")
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			if !strings.Contains(out, "recalling  dingtalk/dt → 运维群") {
				t.Errorf("no pending line first:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestSendWaitTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := http.StatusOK
		if r.Method == http.MethodPost {
			code = http.StatusAccepted
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(groupcast.Status{ID: "s1", State: "pending", Targets: []groupcast.Target{
			{Platform: "qq", Account: "q", Group: "1", State: groupcast.StateQueued, Attempts: 3, Reason: "retry 3/10: connection refused"}}})
	}))
	defer srv.Close()
	ann := writeFile(t, t.TempDir(), "a.md", "---\ntitle: t\n---\nb")
	code, out, errOut := runCLI(t, "send", ann, "--server", srv.URL, "--wait", "--timeout", "1ms")
	if code != exitRuntime || !strings.Contains(errOut, "still waiting after 1ms") || !strings.Contains(out, "retry 3/10: connection refused") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}
