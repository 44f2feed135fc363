package dingtalkfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func post(t *testing.T, u string, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("HTTP %d: %v", resp.StatusCode, err)
	}
	return out
}

func signedURL(base, token, secret string, ts int64, encodeTwice bool) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10) + "\n" + secret))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if encodeTwice {
		sig = url.QueryEscape(sig)
	}
	q := url.Values{"access_token": {token}, "timestamp": {strconv.FormatInt(ts, 10)}, "sign": {sig}}
	return base + "/robot/send?" + q.Encode()
}

// TestWebhookFakeIsStrict checks each refusal the driver tests rely on.
func TestWebhookFakeIsStrict(t *testing.T) {
	now := time.UnixMilli(1764032400000) // its signature holds '+' and '='
	f := NewWebhook(t)
	f.SetNow(func() time.Time { return now })
	f.AddRobot(Robot{Token: "t1", Secret: "SECcanary-0123456789abcdef"})
	f.AddRobot(Robot{Token: "kw", Keywords: []string{"告警"}})
	ok := `{"msgtype":"text","text":{"content":"hi"}}`
	big := `{"msgtype":"text","text":{"content":"` + strings.Repeat("字", 7000) + `"}}`
	tests := []struct {
		name string
		url  string
		body string
		code float64
		msg  string
	}{
		{"ok", signedURL(f.URL, "t1", "SECcanary-0123456789abcdef", now.UnixMilli(), false), ok, 0, "ok"},
		{"unknown token", f.URL + "/robot/send?access_token=nope", ok, 300001, "token is not exist"},
		{"no signature", f.URL + "/robot/send?access_token=t1", ok, 310000, "invalid timestamp"},
		{"double encoded", signedURL(f.URL, "t1", "SECcanary-0123456789abcdef", now.UnixMilli(), true), ok, 310000, "sign not match"},
		{"wrong secret", signedURL(f.URL, "t1", "SECother", now.UnixMilli(), false), ok, 310000, "sign not match"},
		{"old timestamp", signedURL(f.URL, "t1", "SECcanary-0123456789abcdef", now.Add(-61*time.Minute).UnixMilli(), false), ok, 310000, "invalid timestamp"},
		{"over 20000 bytes", signedURL(f.URL, "t1", "SECcanary-0123456789abcdef", now.UnixMilli(), false), big, 460101, "20000bytes"},
		{"markdown without title", signedURL(f.URL, "t1", "SECcanary-0123456789abcdef", now.UnixMilli(), false),
			`{"msgtype":"markdown","markdown":{"text":"x"}}`, 400402, "title"},
		{"actionCard without buttons", signedURL(f.URL, "t1", "SECcanary-0123456789abcdef", now.UnixMilli(), false),
			`{"msgtype":"actionCard","actionCard":{"title":"t","text":"x"}}`, 400402, "btns"},
		{"keyword missing", f.URL + "/robot/send?access_token=kw", ok, 310000, "keywords not in content"},
		{"keyword present", f.URL + "/robot/send?access_token=kw", `{"msgtype":"markdown","markdown":{"title":"告警","text":"x"}}`, 0, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := post(t, tt.url, tt.body)
			if got["errcode"] != tt.code || !strings.Contains(got["errmsg"].(string), tt.msg) {
				t.Errorf("got %v, want %v %q", got, tt.code, tt.msg)
			}
		})
	}
	if len(big) <= MaxBody || len(big) > 3*MaxBody {
		t.Fatalf("the oversize body is %d bytes", len(big))
	}
}

func TestWebhookFakeRateAndDedup(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	f := NewWebhook(t)
	f.SetNow(func() time.Time { return now })
	f.AddRobot(Robot{Token: "t"})
	u := f.URL + "/robot/send?access_token=t"
	for i := range 20 {
		body := `{"msgtype":"text","text":{"content":"x"},"msgUuid":"u` + strconv.Itoa(i%10) + `"}`
		if got := post(t, u, body); got["errcode"] != 0.0 {
			t.Fatalf("request %d: %v", i, got)
		}
		now = now.Add(time.Second)
	}
	if n, d := len(f.Posts("t")), f.Duplicates(); n != 10 || d != 10 {
		t.Fatalf("%d posts, %d duplicates", n, d)
	}
	if got := post(t, u, `{"msgtype":"text","text":{"content":"x"}}`); got["errcode"] != 130101.0 {
		t.Fatalf("21st request in a minute: %v", got)
	}
	now = now.Add(9 * time.Minute)
	if got := post(t, u, `{"msgtype":"text","text":{"content":"x"}}`); got["errcode"] != 130101.0 {
		t.Fatalf("during the lock: %v", got)
	}
	now = now.Add(time.Minute)
	if got := post(t, u, `{"msgtype":"text","text":{"content":"x"}}`); got["errcode"] != 0.0 {
		t.Fatalf("after the lock: %v", got)
	}
}

func TestOpenAPIFake(t *testing.T) {
	f := NewOpenAPI(t)
	f.AddApp(App{AppKey: "k", AppSecret: "s", RobotCode: "r"})
	call := func(path, token, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, f.URL+path, bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("x-acs-dingtalk-access-token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if st, out := call("/v1.0/oauth2/accessToken", "", `{"appKey":"k","appSecret":"bad"}`); st != 400 || out["code"] != "invalidClientIdOrSecret" {
		t.Fatalf("bad secret: %d %v", st, out)
	}
	_, out := call("/v1.0/oauth2/accessToken", "", `{"appKey":"k","appSecret":"s"}`)
	tok, _ := out["accessToken"].(string)
	if tok == "" || out["expireIn"] != 7200.0 || f.TokenFetches() != 1 {
		t.Fatalf("token answer %v", out)
	}
	send := func(token, param string) (int, map[string]any) {
		b, _ := json.Marshal(map[string]string{"msgKey": "sampleText", "msgParam": param, "openConversationId": "cid1", "robotCode": "r"})
		return call("/v1.0/robot/groupMessages/send", token, string(b))
	}
	if st, out := send("wrong", `{"content":"x"}`); st != 400 || out["code"] != "InvalidAuthentication" {
		t.Fatalf("bad token: %d %v", st, out)
	}
	if st, out := send(tok, `{"content":"`+strings.Repeat("x", MaxMsgParam)+`"}`); st != 400 || out["code"] != "invalidParameter.msgParam.invalid" {
		t.Fatalf("oversize msgParam: %d %v", st, out)
	}
	if st, out := send(tok, `{"text":"x"}`); st != 400 {
		t.Fatalf("sampleText without content: %d %v", st, out)
	}
	st, out := send(tok, `{"content":"x"}`)
	if st != 200 || out["processQueryKey"] == "" {
		t.Fatalf("send: %d %v", st, out)
	}
	f.SetQPS(1)
	second := time.Now().Add(time.Minute) // one fixed second, inside the token's life
	f.SetNow(func() time.Time { return second })
	if st, _ := send(tok, `{"content":"x"}`); st != 200 {
		t.Fatalf("first in the second: %d", st)
	}
	if st, out := send(tok, `{"content":"x"}`); st != 403 || out["code"] != "Forbidden.AccessDenied.QpsLimitForApi" {
		t.Fatalf("QPS: %d %v", st, out)
	}
}

// TestGatewayDropDuringUpgrade drops while a connection is between its 101
// answer (the client holds it) and being listed: the Drop must still reach
// it, or the client keeps a connection the test believes dropped.
func TestGatewayDropDuringUpgrade(t *testing.T) {
	g := NewGateway(t)
	g.AddClient("id", "secret")
	upgraded, release := make(chan struct{}), make(chan struct{})
	g.upgraded = func() {
		close(upgraded)
		<-release
	}
	open := post(t, g.URL+"/v1.0/gateway/connections/open",
		`{"clientId":"id","clientSecret":"secret","subscriptions":[{"type":"CALLBACK","topic":"`+BotTopic+`"}]}`)
	ws, _, err := websocket.DefaultDialer.Dial(open["endpoint"].(string)+"?ticket="+open["ticket"].(string), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	<-upgraded // the client is connected; the fake has not listed it yet
	g.Drop()
	close(release)
	// The bound only turns a regression into a failure instead of a hang.
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err = ws.ReadMessage()
	var ne net.Error
	switch {
	case err == nil:
		t.Fatal("read a message from a dropped connection")
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("the connection upgraded during Drop is still open: %v", err)
	}
	if n := g.Connections(); n != 0 {
		t.Fatalf("%d live connections after Drop", n)
	}
}
