package dingtalk

import (
	"strings"

	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/transform"
)

// Platform is DingTalk (钉钉): targets default to the formal style.
var Platform = configs.Platform{Name: "dingtalk", DefaultStyle: transform.StyleFormal}

// WebhookConfig is an account of driver webhook: one custom group robot
// (自定义机器人).
type WebhookConfig struct {
	// AccessToken is the robot's token: the part after access_token= in
	// its webhook URL, not the whole URL.
	AccessToken configs.Secret `mapstructure:"access_token" required:"true"`
	// Secret is the robot's signing secret (加签), starting with SEC. Empty
	// when the robot is secured by keywords or an IP allow-list instead.
	Secret configs.Secret `mapstructure:"secret"`
	// BaseURL replaces the API host (default https://oapi.dingtalk.com):
	// a proxy, or a fake in tests.
	BaseURL string `mapstructure:"base_url"`
}

// Check reports what DingTalk would refuse.
func (c WebhookConfig) Check() []string {
	var problems []string
	tok := c.AccessToken.Reveal()
	if strings.Contains(tok, "://") || strings.Contains(tok, "access_token=") {
		problems = append(problems, "access_token: paste only the token after access_token=, not the whole webhook URL")
	} else if strings.ContainsAny(tok, " \t\r\n&?") {
		problems = append(problems, "access_token: must not contain spaces, '&' or '?'")
	}
	if s := c.Secret.Reveal(); s != "" && !strings.HasPrefix(s, "SEC") {
		problems = append(problems, "secret: a DingTalk signing secret starts with SEC (copy it from the robot's 加签 setting)")
	}
	if p := validBaseURL(c.BaseURL); p != "" {
		problems = append(problems, p)
	}
	return problems
}

// OpenAPIConfig is an account of driver openapi: an enterprise-internal
// app's robot, which sends to every group it was added to.
type OpenAPIConfig struct {
	// AppKey is the app's AppKey (Client ID) from the developer console.
	AppKey string `mapstructure:"app_key" required:"true"`
	// AppSecret is the app's AppSecret (Client Secret).
	AppSecret configs.Secret `mapstructure:"app_secret" required:"true"`
	// RobotCode is the robot's code (usually the same as AppKey).
	RobotCode string `mapstructure:"robot_code" required:"true"`
	// BaseURL replaces the API host (default https://api.dingtalk.com):
	// a proxy, or a fake in tests.
	BaseURL string `mapstructure:"base_url"`
}

// Check reports what DingTalk would refuse.
func (c OpenAPIConfig) Check() []string {
	var problems []string
	if p := validBaseURL(c.BaseURL); p != "" {
		problems = append(problems, p)
	}
	if strings.ContainsAny(c.AppKey, " \t\r\n") {
		problems = append(problems, "app_key: must not contain spaces")
	}
	if strings.ContainsAny(c.RobotCode, " \t\r\n") {
		problems = append(problems, "robot_code: must not contain spaces")
	}
	return problems
}
