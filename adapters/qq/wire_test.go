package qq

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
)

func TestDecodeAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		class  groupcast.Class
		code   string
		pause  time.Duration
		ok     bool
	}{
		{"ok", 200, `{"status":"ok","retcode":0,"data":{"message_id":12}}`, 0, "", 0, true},
		{"ok without status", 200, `{"retcode":0,"data":null}`, 0, "", 0, true},
		{"async", 200, `{"status":"async","retcode":1,"data":null}`, 0, "", 0, true},
		{"401", 401, ``, groupcast.ClassPermanent, "http_401", 0, false},
		{"403", 403, `forbidden`, groupcast.ClassPermanent, "http_403", 0, false},
		{"404", 404, ``, groupcast.ClassPermanent, "http_404", 0, false},
		{"406", 406, ``, groupcast.ClassPermanent, "http_406", 0, false},
		{"429", 429, ``, groupcast.ClassThrottled, "http_429", HTTP429Pause, false},
		{"500", 500, ``, groupcast.ClassTemporary, "http_500", 0, false},
		{"503", 503, `<html>`, groupcast.ClassTemporary, "http_503", 0, false},
		{"html 200", 200, `<html>bad gateway</html>`, groupcast.ClassTemporary, "bad_answer", 0, false},
		{"no retcode", 200, `{"status":"ok"}`, groupcast.ClassTemporary, "bad_answer", 0, false},
		{"failed ok status", 200, `{"status":"failed","retcode":0}`, groupcast.ClassPermanent, "retcode_0", 0, false},
		{"ws 1401", 200, `{"status":"failed","retcode":1401}`, groupcast.ClassPermanent, "retcode_1401", 0, false},
		{"ws 1404", 200, `{"status":"failed","retcode":1404}`, groupcast.ClassPermanent, "retcode_1404", 0, false},
		{"gocq risk", 200, `{"status":"failed","retcode":100,"msg":"SEND_MSG_API_ERROR","wording":"请参考 go-cqhttp 端输出"}`, groupcast.ClassThrottled, "retcode_100", RiskPause, false},
		{"napcat risk", 200, `{"status":"failed","retcode":1200,"message":"消息发送过于频繁","wording":"风控"}`, groupcast.ClassThrottled, "retcode_1200", RiskPause, false},
		{"group not found", 200, `{"status":"failed","retcode":100,"msg":"GROUP_NOT_FOUND"}`, groupcast.ClassPermanent, "retcode_100", 0, false},
		{"logged out", 200, `{"status":"failed","retcode":200,"message":"QQ 未登录"}`, groupcast.ClassTemporary, "retcode_200", 0, false},
		{"other", 200, `{"status":"failed","retcode":102,"msg":"muted"}`, groupcast.ClassPermanent, "retcode_102", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeAnswer("send_group_msg", tc.status, []byte(tc.body))
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			class, code, pause := groupcast.Classify(err)
			if class != tc.class || code != tc.code || pause != tc.pause {
				t.Fatalf("%v: got %v %s %v, want %v %s %v", err, class, code, pause, tc.class, tc.code, tc.pause)
			}
			if !strings.Contains(err.Error(), "send_group_msg") {
				t.Errorf("error does not name the action: %v", err)
			}
		})
	}
	_, err := decodeAnswer("send_group_forward_msg", 404, nil)
	if !errors.Is(err, errUnsupported) {
		t.Errorf("404 is not errUnsupported: %v", err)
	}
}

func TestMessageID(t *testing.T) {
	for _, tc := range []struct {
		in, text, out string
		bad           bool
	}{
		{`12345`, "12345", `12345`, false},
		{`-7`, "-7", `-7`, false},
		{`"12345"`, "12345", `12345`, false},
		{`"mAAAqqAAAD6g"`, "mAAAqqAAAD6g", `"mAAAqqAAAD6g"`, false},
		{`"007"`, "007", `"007"`, false},
		{`1.5`, "", "", true},
		{`null`, "", "", true},
		{`""`, "", "", true},
		{`{}`, "", "", true},
		{`99999999999999999999`, "", "", true},
	} {
		var id MessageID
		err := json.Unmarshal([]byte(tc.in), &id)
		if (err != nil) != tc.bad {
			t.Errorf("%s: err %v", tc.in, err)
			continue
		}
		if tc.bad {
			continue
		}
		if string(id) != tc.text {
			t.Errorf("%s: text %q, want %q", tc.in, id, tc.text)
		}
		out, _ := json.Marshal(id)
		if string(out) != tc.out {
			t.Errorf("%s: encodes as %s, want %s", tc.in, out, tc.out)
		}
	}
	if _, err := decodeMessageID("send_group_msg", json.RawMessage(`{"forward_id":"x"}`)); err == nil {
		t.Error("a missing message_id went unnoticed")
	}
	if id, err := decodeMessageID("send_group_msg", nil); err != nil || id != "" {
		t.Error("async data")
	}
}

func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		`{"status":"ok","retcode":0,"data":{"message_id":12}}`,
		`{"status":"ok","retcode":0,"data":{"message_id":"abc"}}`,
		`{"status":"failed","retcode":100,"msg":"SEND_MSG_API_ERROR"}`,
		`{"status":"async","retcode":1}`, `<html>`, ``, `{"retcode":"0"}`, `{"retcode":1e3}`,
		`{"status":"ok","retcode":0,"data":{"message_id":1.5}}`,
	} {
		f.Add(200, []byte(s))
	}
	f.Add(503, []byte(nil))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		data, err := decodeAnswer("send_group_msg", status, body)
		if err != nil {
			var de *groupcast.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if status < 200 || status > 299 {
			t.Fatalf("HTTP %d decoded as success", status)
		}
		id, err := decodeMessageID("send_group_msg", data)
		if err == nil && id != "" {
			out, err := json.Marshal(id)
			if err != nil {
				t.Fatal(err)
			}
			var back MessageID
			if err := json.Unmarshal(out, &back); err != nil || back != id {
				t.Fatalf("%q does not round-trip: %s → %q %v", id, out, back, err)
			}
		}
	})
}

func FuzzLoginInfo(f *testing.F) {
	f.Add([]byte(`{"user_id":2854196310,"nickname":"bot"}`))
	f.Add([]byte(`{"user_id":"2854196310","nickname":"bot"}`))
	f.Add([]byte(`{"user_id":1.5}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		li, err := decodeLoginInfo(b)
		if err == nil && li.UserID.String() == "" {
			t.Fatal("empty user id accepted")
		}
	})
}

func FuzzParseGroup(f *testing.F) {
	for _, s := range []string{"123456789", "0", "-1", "1e9", "９９", "99999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseGroup(s)
		if err == nil && (n <= 0 || strings.TrimLeft(s, "0123456789") != "") {
			t.Fatalf("%q accepted as %d", s, n)
		}
	})
}
