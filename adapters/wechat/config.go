package wechat

import (
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/transform"
)

// Platform is WeChat (微信, and WeCom's group robots): targets default to
// the short style.
var Platform = configs.Platform{Name: "wechat", DefaultStyle: transform.StyleShort}

// OpenWeChatConfig is an account of driver openwechat: a personal WeChat
// account logged in through the desktop (UOS) web protocol.
type OpenWeChatConfig struct {
	// SessionFile is where `groupcast login wechat ACCOUNT` stores the
	// login session (mode 0600) and where serve reads it.
	SessionFile string `mapstructure:"session_file" required:"true"`
	// DailyLimit is the most sends per local day for the account, over all
	// its groups (default 200; 0 means the default).
	DailyLimit int `mapstructure:"daily_limit"`
}

// Check reports values the driver cannot use.
func (c OpenWeChatConfig) Check() []string {
	var probs []string
	if c.DailyLimit < 0 {
		probs = append(probs, "daily_limit: must be 0 (default "+strconv.Itoa(DefaultDailyLimit)+") or more")
	}
	if c.SessionFile != "" && strings.HasSuffix(c.SessionFile, string(filepath.Separator)) {
		probs = append(probs, "session_file: must name a file, not a directory")
	}
	return probs
}

// WeComConfig is an account of driver wecom: one WeCom (企业微信) group
// robot, which posts to the one group it was added to.
type WeComConfig struct {
	// Key is the robot's key: the part after key= in its webhook URL.
	Key configs.Secret `mapstructure:"key" required:"true"`
	// BaseURL replaces the API host (default https://qyapi.weixin.qq.com):
	// a proxy, or a fake in tests.
	BaseURL string `mapstructure:"base_url"`
}

// Check reports what WeCom would refuse.
func (c WeComConfig) Check() []string {
	var probs []string
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			probs = append(probs, "base_url: must be an absolute http(s) URL")
		} else if u.RawQuery != "" {
			probs = append(probs, "base_url: must not carry a query (the key goes in key:)")
		}
	}
	if k := c.Key.Reveal(); k != "" && strings.ContainsAny(k, " \t\r\n/?&#") {
		probs = append(probs, "key: must be the robot key alone, not the webhook URL")
	}
	return probs
}
