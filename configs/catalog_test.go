package configs

import (
	"errors"
	"slices"
	"text/template"
	"time"
)

// testCatalog mirrors SPEC §7's per-driver field table. The real table is
// adapters/registry; a test there loads example.yaml against it too.
var testDrivers = map[string]DriverSpec{
	"webhook": {
		Platforms:   []string{"dingtalk"},
		Fields:      []string{"access_token", "secret", "base_url"},
		Required:    []string{"access_token"},
		Groups:      GroupsNone,
		DefaultRate: Rate{PerMinute: 20},
	},
	"openapi": {
		Platforms:   []string{"dingtalk"},
		Fields:      []string{"app_key", "app_secret", "robot_code", "base_url"},
		Required:    []string{"app_key", "app_secret", "robot_code"},
		Groups:      GroupsRequired,
		DefaultRate: Rate{PerMinute: 20},
	},
	"openwechat": {
		Platforms:   []string{"wechat"},
		Fields:      []string{"session_file", "daily_limit"},
		Groups:      GroupsRequired,
		DefaultRate: Rate{PerMinute: 12, MinGap: 3 * time.Second, MaxGap: 5 * time.Second},
	},
	"wecom": {
		Platforms:   []string{"wechat"},
		Fields:      []string{"key", "base_url"},
		Required:    []string{"key"},
		Groups:      GroupsNone,
		DefaultRate: Rate{PerMinute: 20},
	},
	"onebot": {
		Platforms:   []string{"qq"},
		Fields:      []string{"base_url", "access_token", "forward", "part_chars"},
		Required:    []string{"base_url"},
		Groups:      GroupsRequired,
		DefaultRate: Rate{PerMinute: 20},
		CheckGroup:  numericGroup,
	},
	"miraigo": {
		Platforms: []string{"qq"},
		Fields:    []string{"uin", "password", "device_file", "sign_server"},
		Required:  []string{"uin"},
		Groups:    GroupsRequired,
		CheckAccount: func(a Account) []string {
			if a.SignServer == "" {
				return []string{"sign_server: required today (the protocol needs a sign server)"}
			}
			return nil
		},
		CheckGroup: numericGroup,
	},
	"console": {Groups: GroupsOptional},
	"file": {
		Fields:   []string{"path"},
		Required: []string{"path"},
		Groups:   GroupsOptional,
	},
}

func numericGroup(id string) error {
	if id == "" || len(id) > 20 {
		return errors.New("QQ group ids are numbers")
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return errors.New("QQ group ids are numbers")
		}
	}
	return nil
}

func testCatalog(platform, driver string) (DriverSpec, bool) {
	d, ok := testDrivers[driver]
	if !ok || (len(d.Platforms) > 0 && !slices.Contains(d.Platforms, platform)) {
		return DriverSpec{}, false
	}
	return d, true
}

// parseTemplate stands in for transform.CheckTemplate.
func parseTemplate(src string) error {
	_, err := template.New("t").Parse(src)
	return err
}

// testEnv is the environment the tests' files see.
func testEnv(extra map[string]string) func(string) (string, bool) {
	env := map[string]string{
		"GROUPCAST_TOKEN":  "tok-example",
		"DT_TOKEN":         "dt-token",
		"DT_SECRET":        "SECdt",
		"DT_APP_KEY":       "dingappkey",
		"DT_APP_SECRET":    "app-secret",
		"DT_ROBOT_CODE":    "dingrobot",
		"WECOM_KEY":        "wecom-key",
		"ONEBOT_TOKEN":     "onebot-token",
		"QQ_UIN":           "123456",
		"QQ_PASSWORD":      "qq-password",
		"DT_CLIENT_ID":     "dingclient",
		"DT_CLIENT_SECRET": "client-secret",
		"SET":              "value",
		"EMPTY":            "",
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

func testOptions(extra map[string]string) Options {
	return Options{Catalog: testCatalog, CheckTemplate: parseTemplate, LookupEnv: testEnv(extra)}
}
