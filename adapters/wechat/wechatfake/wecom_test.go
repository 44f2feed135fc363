package wechatfake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func post(t *testing.T, f *WeCom, key, body string) int {
	t.Helper()
	resp, err := f.Client().Post(f.URL()+"/cgi-bin/webhook/send?key="+key, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return -resp.StatusCode
	}
	var ans struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || ans.ErrCode == nil {
		t.Fatalf("answer without errcode: %v", err)
	}
	return *ans.ErrCode
}

func text(content string) string {
	b, _ := json.Marshal(map[string]any{"msgtype": "text", "text": map[string]any{"content": content}})
	return string(b)
}

func markdown(content string) string {
	b, _ := json.Marshal(map[string]any{"msgtype": "markdown", "markdown": map[string]any{"content": content}})
	return string(b)
}

func TestWeComFakeEnforcesLimits(t *testing.T) {
	f := NewWeCom("k1")
	defer f.Close()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tests := []struct {
		name, key, body string
		want            int
	}{
		{"bad key", "nope", text("hi"), 93000},
		{"text at the limit", "k1", text(strings.Repeat("中", 682) + "ab"), 0}, // 2048 B
		{"text one byte over", "k1", text(strings.Repeat("中", 682) + "abc"), 40058},
		{"markdown at the limit", "k1", markdown(strings.Repeat("a", 4096)), 0},
		{"markdown one byte over", "k1", markdown(strings.Repeat("中", 1365) + "a" + "b"), 40058}, // 4097 B
		{"empty", "k1", text(""), 44004},
		{"unknown type", "k1", `{"msgtype":"video"}`, 40008},
		{"not json", "k1", `{`, 40000},
	}
	for _, tt := range tests {
		if got := post(t, f, tt.key, tt.body); got != tt.want {
			t.Errorf("%s: errcode %d; want %d", tt.name, got, tt.want)
		}
	}
	// Two were accepted; 18 more fill the minute, the 21st is refused.
	for i := range 18 {
		if got := post(t, f, "k1", text("x")); got != 0 {
			t.Fatalf("send %d: %d", i+3, got)
		}
	}
	if got := post(t, f, "k1", text("x")); got != 45009 {
		t.Fatalf("21st in a minute: %d", got)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if got := post(t, f, "k1", text("x")); got != 0 {
		t.Fatalf("a minute later: %d", got)
	}
	if n := len(f.Messages()); n != 21 {
		t.Fatalf("%d messages recorded", n)
	}
	f.Outage(1)
	if got := post(t, f, "k1", text("x")); got != -503 {
		t.Fatalf("outage: %d", got)
	}
}
