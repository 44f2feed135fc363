package qqfake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, f *OneBot, action, auth, ctype, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.URL()+"/"+action, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env map[string]any
	_ = json.Unmarshal(b, &env)
	return resp.StatusCode, env
}

// The fake answers as docs/platforms.md says, and refuses what a strict
// implementation refuses.
func TestOneBotFakeIsStrict(t *testing.T) {
	f := NewOneBot("secret")
	defer f.Close()
	f.Groups = []int64{123456}
	const ok, js = "Bearer secret", "application/json"
	seg := `{"group_id":123456,"message":[{"type":"text","data":{"text":"hi"}}]}`
	for _, tc := range []struct {
		name, action, auth, ctype, body string
		status                          int
		retcode                         float64
	}{
		{"no token", "send_group_msg", "", js, seg, 401, -1},
		{"wrong token", "send_group_msg", "Bearer nope", js, seg, 403, -1},
		{"not bearer", "send_group_msg", "Basic secret", js, seg, 403, -1},
		{"unknown action", "send_private_spam", ok, js, seg, 404, -1},
		{"form body", "send_group_msg", ok, "text/plain", seg, 406, -1},
		{"malformed", "send_group_msg", ok, js, `{"group_id":`, 400, -1},
		{"ok", "send_group_msg", ok, js, seg, 200, 0},
		{"group as string", "send_group_msg", ok, js, `{"group_id":"123456","message":"hi"}`, 200, 1400},
		{"unknown group", "send_group_msg", ok, js, `{"group_id":654321,"message":"hi"}`, 200, 100},
		{"typo in param", "send_group_msg", ok, js, `{"groupid":123456,"message":"hi"}`, 200, 1400},
		{"number in data", "send_group_msg", ok, js, `{"group_id":123456,"message":[{"type":"face","data":{"id":178}}]}`, 200, 1400},
		{"CQ string", "send_group_msg", ok, js, `{"group_id":123456,"message":"[CQ:at,qq=all] 通知 &#91;1&#93;"}`, 200, 0},
		{"bare bracket", "send_group_msg", ok, js, `{"group_id":123456,"message":"数组[1]"}`, 200, 1400},
		{"auto_escape", "send_group_msg", ok, js, `{"group_id":123456,"message":"数组[1]","auto_escape":true}`, 200, 0},
		{"bad image", "send_group_msg", ok, js, `{"group_id":123456,"message":[{"type":"image","data":{"file":"C:\\a.png"}}]}`, 200, 1400},
		{"empty", "send_group_msg", ok, js, `{"group_id":123456,"message":[]}`, 200, 100},
		{"node one name pair", "send_group_forward_msg", ok, js, `{"group_id":123456,"messages":[{"type":"node","data":{"uin":"1","name":"a","content":"x"}}]}`, 200, 1400},
		{"node both pairs", "send_group_forward_msg", ok, js, `{"group_id":123456,"messages":[{"type":"node","data":{"uin":"1","name":"a","user_id":"1","nickname":"a","content":[{"type":"text","data":{"text":"x"}}]}}]}`, 200, 0},
		{"too long", "send_group_msg", ok, js, `{"group_id":123456,"message":"` + strings.Repeat("长", 1700) + `"}`, 200, 100},
		{"login info", "get_login_info", ok, js, ``, 200, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, env := post(t, f, tc.action, tc.auth, tc.ctype, tc.body)
			if status != tc.status {
				t.Fatalf("HTTP %d, want %d", status, tc.status)
			}
			if tc.retcode >= 0 && env["retcode"] != tc.retcode {
				t.Fatalf("answer %v, want retcode %v", env, tc.retcode)
			}
		})
	}
	if f.Oversize() != 1 {
		t.Errorf("oversize %d", f.Oversize())
	}
	// access_token in the query works too.
	req, _ := http.NewRequest(http.MethodPost, f.URL()+"/get_login_info?access_token=secret", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("query token: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestOneBotFakeIDsAndDelete(t *testing.T) {
	for _, stringIDs := range []bool{false, true} {
		f := NewOneBot("")
		f.StringIDs = stringIDs
		_, env := post(t, f, "send_group_msg", "", "application/json", `{"group_id":1,"message":"hi"}`)
		id := env["data"].(map[string]any)["message_id"]
		raw, _ := json.Marshal(id)
		if _, isString := id.(string); isString != stringIDs {
			t.Fatalf("message_id %v (%T)", id, id)
		}
		if !stringIDs {
			_, env = post(t, f, "delete_msg", "", "application/json", `{"message_id":"`+string(raw)+`"}`)
			if env["retcode"] != float64(1400) {
				t.Fatalf("a numeric id sent as a string: %v", env)
			}
		}
		_, env = post(t, f, "delete_msg", "", "application/json", `{"message_id":`+string(raw)+`}`)
		if env["retcode"] != float64(0) {
			t.Fatalf("delete: %v", env)
		}
		_, env = post(t, f, "delete_msg", "", "application/json", `{"message_id":`+string(raw)+`}`)
		if env["retcode"] != float64(100) {
			t.Fatalf("second delete: %v", env)
		}
		f.Close()
	}
}

func TestOneBotFakeOutageAndGaps(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	f := NewOneBot("")
	defer f.Close()
	f.Now = func() time.Time { return now }
	f.MinGap = time.Second
	f.Outage(now, now.Add(time.Minute))
	if status, _ := post(t, f, "send_group_msg", "", "application/json", `{"group_id":1,"message":"a"}`); status != 503 {
		t.Fatalf("HTTP %d during the outage", status)
	}
	now = now.Add(time.Minute)
	post(t, f, "send_group_msg", "", "application/json", `{"group_id":1,"message":"a"}`)
	now = now.Add(300 * time.Millisecond)
	post(t, f, "send_group_msg", "", "application/json", `{"group_id":1,"message":"b"}`)
	if f.GapViolations() != 1 || f.SmallestGap() != 300*time.Millisecond {
		t.Fatalf("violations %d, smallest %v", f.GapViolations(), f.SmallestGap())
	}
	if len(f.Messages()) != 2 || len(f.Requests()) != 3 {
		t.Fatalf("%d messages, %d requests", len(f.Messages()), len(f.Requests()))
	}
}

func FuzzParseCQ(f *testing.F) {
	for _, s := range []string{"[CQ:face,id=178]看看[CQ:image,file=https://a/b.jpg]", "a &amp; b &#91;x&#93;",
		"[CQ:at,qq=all]", "[CQ:image,file=base64://AAA&#44;B]", "[", "]", "[CQ:", "&", "[CQ:text,text=x]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		segs, err := ParseCQ(s)
		if err != nil {
			return
		}
		for _, seg := range segs {
			if _, ok := segmentKeys[seg.Type]; !ok {
				t.Fatalf("unknown segment %q accepted", seg.Type)
			}
			if seg.Type == "text" && seg.Data["text"] == "" {
				t.Fatal("empty text segment")
			}
		}
	})
}
