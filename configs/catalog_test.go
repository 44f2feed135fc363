package configs

import (
	"errors"
	"reflect"
	"text/template"
)

// The tests of this package use a small fixture table; the real one is
// adapters/registry, which the tests in package configs_test load against
// (example.yaml, the bad files' goldens, the secret canaries).
type testOneBot struct {
	BaseURL     string `mapstructure:"base_url" required:"true"`
	AccessToken Secret `mapstructure:"access_token"`
	Forward     bool   `mapstructure:"forward"`
	PartChars   int    `mapstructure:"part_chars"`
}

func (c testOneBot) Check() []string {
	if c.PartChars < 0 {
		return []string{"part_chars: must not be negative"}
	}
	return nil
}

var testPlatforms = []Platform{{"dingtalk", "formal"}, {"wechat", "short"}, {"qq", "long"}}

var testDrivers = map[string]DriverSpec{
	"onebot": {
		Platform:    testPlatforms[2],
		Settings:    reflect.TypeFor[testOneBot](),
		Groups:      GroupsRequired,
		DefaultRate: Rate{PerMinute: 20},
		CheckGroup:  numericGroup,
	},
	"console": {Groups: GroupsOptional},
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
	if !ok || (d.Platform.Name != "" && d.Platform.Name != platform) {
		return DriverSpec{}, false
	}
	if d.Platform.Name == "" {
		for _, p := range testPlatforms {
			if p.Name == platform {
				d.Platform = p
			}
		}
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
		"GROUPCAST_TOKEN":    "tok-example",
		"CI_TOKEN":           "tok-ci",
		"REVIEWER_TOKEN":     "tok-reviewer",
		"DT_TOKEN":           "dt-token",
		"DT_SECRET":          "SECdt",
		"DT_APP_KEY":         "dingappkey",
		"DT_APP_SECRET":      "app-secret",
		"DT_ROBOT_CODE":      "dingrobot",
		"WECOM_KEY":          "wecom-key",
		"ONEBOT_TOKEN":       "onebot-token",
		"ONEBOT_POST_SECRET": "post-secret",
		"QQ_UIN":             "123456",
		"QQ_PASSWORD":        "qq-password",
		"DT_CLIENT_ID":       "dingclient",
		"DT_CLIENT_SECRET":   "client-secret",
		"SET":                "value",
		"EMPTY":              "",
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
	return Options{Catalog: testCatalog, Platforms: testPlatforms, CheckTemplate: parseTemplate, LookupEnv: testEnv(extra)}
}
