package configs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/groupcast/groupcast/adapters/dingtalk"
	"github.com/groupcast/groupcast/configs"
)

// canaryEnv holds the secrets of the canary files; each value must never
// show up in any output.
var canaryEnv = map[string]string{
	"C_TOKEN":         "CANARY-env-token-7f3a",
	"C_DT_TOKEN":      "CANARY-env-dt-token-91bc",
	"C_DT_SECRET":     "SECCANARY-env-dt-secret-22de",
	"C_APP_SECRET":    "CANARY-env-app-secret-5511",
	"C_WECOM_KEY":     "CANARY-env-wecom-key-88aa",
	"C_ONEBOT":        "CANARY-env-onebot-3c3c",
	"C_PASSWORD":      "CANARY-env-password-4d4d",
	"C_CLIENT_SECRET": "CANARY-env-client-secret-6e6e",
	"C_MISPLACED":     "CANARY-env-misplaced-9f9f",
	"C_NAME":          "CANARY-env-name-1a2b",
	"C_REVIEW_TOKEN":  "CANARY-env-review-token-5c5c",
}

// literal canaries written into the files themselves.
var canaryLiterals = []string{
	"CANARY-literal-token-a1a1",
	"CANARY-literal-secret-b2b2",
	"CANARY-literal-password-c3c3",
	"CANARY-literal-key-d4d4",
	"CANARY-literal-named-token-e5e5",
}

const canaryValid = `
server:
  listen: 0.0.0.0:8780
  tokens:
    - "${C_TOKEN}"
    - "CANARY-literal-token-a1a1"
    - {name: li, token: "${C_REVIEW_TOKEN}", role: reviewer}
    - {name: ci, token: "CANARY-literal-named-token-e5e5", role: sender}
accounts:
  - {name: hook, platform: dingtalk, driver: webhook, access_token: "${C_DT_TOKEN}", secret: "${C_DT_SECRET}", rate: {per_minute: 99}}
  - {name: app, platform: dingtalk, driver: openapi, app_key: k, app_secret: "${C_APP_SECRET}", robot_code: r}
  - {name: wecom, platform: wechat, driver: wecom, key: "CANARY-literal-key-d4d4"}
  - {name: bot, platform: qq, driver: onebot, base_url: "http://127.0.0.1:3000", access_token: "${C_ONEBOT}"}
  - {name: legacy, platform: qq, driver: miraigo, uin: 1, password: "${C_PASSWORD}", device_file: d.json, sign_server: "http://127.0.0.1:1"}
sources:
  - {name: s, driver: dingtalk-stream, client_id: c, client_secret: "${C_CLIENT_SECRET}", conversations: [c1]}
routes:
  - name: r
    targets:
      - {account: hook}
      - {account: app, groups: [g]}
      - {account: wecom}
      - {account: bot, groups: ["1"]}
`

// canaryBad has many problems, several of them in or next to secrets.
const canaryBad = `
server:
  listen: 0.0.0.0:8780
  tokens:
    - "${C_TOKEN}"
    - "CANARY-literal-token-a1a1"
    - ""
    - {name: li, token: "${C_REVIEW_TOKEN}", role: "${C_REVIEW_TOKEN}"}
    - {name: li, token: "CANARY-literal-named-token-e5e5", role: boss}
    - {name: dup, token: "CANARY-literal-named-token-e5e5", role: sender, tokn: "CANARY-literal-named-token-e5e5"}
    - {name: "${C_TOKEN}", token: "${C_TOKEN}", role: admin}
    - ["CANARY-literal-token-a1a1"]
accounts:
  - {name: hook, platform: dingtalk, driver: webhook, access_token: "${C_DT_TOKEN}", secret: "${C_DT_SECRET}", session_file: x, tokn: "CANARY-literal-secret-b2b2"}
  - {name: bot, platform: qq, driver: onebot, base_url: "http://127.0.0.1:3000", secret: "${C_ONEBOT}", password: "CANARY-literal-password-c3c3"}
  - {name: legacy, platform: qq, driver: miraigo, uin: "${C_PASSWORD}", password: ["${C_PASSWORD}"]}
  - {name: weird, platform: "${C_MISPLACED}", driver: console}
  - {name: wecom, platform: wechat, driver: wecom, key: {nested: "CANARY-literal-key-d4d4"}}
  - {name: "${C_NAME}", platform: qq, driver: console}
sources:
  - {name: s, driver: "${C_CLIENT_SECRET}", client_secret: "${C_CLIENT_SECRET}"}
policies:
  - {name: p, windows: ["${C_MISPLACED}"], rules: [{terms: ["${C_MISPLACED}"], action: "${C_MISPLACED}"}, {pattern: "${C_MISPLACED}(", action: block}]}
routes:
  - name: r
    policy: "${C_MISPLACED}"
    targets:
      - {account: "${C_DT_SECRET}"}
      - {account: bot, groups: ["${C_MISPLACED}"], style: "${C_APP_SECRET}"}
      - {account: hook, groups: [x], template: "{{ .Title"}
      - {account: bot, groups: [{id: "${C_MISPLACED}"}, {id: "${C_MISPLACED}", stage: "${C_MISPLACED}"}]}
      - {account: "${C_NAME}", groups: [a]}
      - {account: "${C_NAME}", groups: [a]}
`

func assertNoCanary(t *testing.T, what, out string) {
	t.Helper()
	for _, c := range canaryEnv {
		if strings.Contains(out, c) {
			t.Errorf("%s leaks %q:\n%s", what, c, out)
		}
	}
	for _, c := range canaryLiterals {
		if strings.Contains(out, c) {
			t.Errorf("%s leaks %q:\n%s", what, c, out)
		}
	}
	if strings.Contains(out, "CANARY") {
		t.Errorf("%s leaks part of a canary:\n%s", what, out)
	}
}

func TestNoSecretLeaks(t *testing.T) {
	var warnings configs.Problems
	opt := realOptions(canaryEnv)
	opt.Warn = func(p configs.Problem) { warnings = append(warnings, p) }

	cfg, err := configs.LoadBytes([]byte(canaryValid), "canary.yaml", opt)
	if err != nil {
		t.Fatalf("canary config does not load: %v", err)
	}
	if len(cfg.Server.Tokens) != 4 || cfg.Server.Tokens[2].Token.Reveal() != canaryEnv["C_REVIEW_TOKEN"] {
		t.Fatal("the canary tokens did not arrive: the test would prove nothing")
	}
	if hook := settings[dingtalk.WebhookConfig](t, &cfg.Accounts[0]); hook.AccessToken.Reveal() != canaryEnv["C_DT_TOKEN"] {
		t.Fatal("the canary secret did not arrive: the test would prove nothing")
	}
	if len(warnings) == 0 {
		t.Fatal("want a warning (rate above the limit) to check too")
	}
	assertNoCanary(t, "warnings", warnings.Error())
	assertNoCanary(t, "Summary", cfg.Summary())
	assertNoCanary(t, "%v", fmt.Sprintf("%v", cfg))
	assertNoCanary(t, "%+v", fmt.Sprintf("%+v", *cfg))
	assertNoCanary(t, "%#v", fmt.Sprintf("%#v", *cfg))
	assertNoCanary(t, "%v accounts", fmt.Sprintf("%v %+v", cfg.Accounts, cfg.Server.Tokens))
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	assertNoCanary(t, "json", string(js))
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("loaded", "config", cfg, "account", cfg.Accounts[0])
	slog.New(slog.NewTextHandler(&logs, nil)).Info("loaded", "config", cfg, "account", cfg.Accounts[0])
	assertNoCanary(t, "slog", logs.String())

	_, err = configs.LoadBytes([]byte(canaryBad), "canary.yaml", realOptions(canaryEnv))
	var ps *configs.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want problems, got %v", err)
	}
	for _, want := range []string{"server.tokens[4].role", "server.tokens[4].name", "server.tokens[5].token", "server.tokens[5].tokn", "server.tokens[6].token", "server.tokens[7]"} {
		if !strings.Contains(ps.Error(), want+" ") {
			t.Errorf("want a problem at %s:\n%v", want, ps)
		}
	}
	if n := len(ps.Errors()); n < 12 {
		t.Errorf("want every problem of the bad canary file, got %d:\n%v", n, ps)
	}
	assertNoCanary(t, "Problems.Error", ps.Error())
	assertNoCanary(t, "Problems %+v", fmt.Sprintf("%+v %#v", *ps, *ps))
	if !strings.Contains(ps.Error(), "(value from the environment)") {
		t.Errorf("a value from the environment should be replaced in messages:\n%v", ps)
	}
}
