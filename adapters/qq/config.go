package qq

import (
	"fmt"
	"net/url"

	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/transform"
)

// Platform is QQ: targets default to the long style. Its drivers are onebot
// (this package) and miraigo (adapters/qq/miraigo).
var Platform = configs.Platform{Name: "qq", DefaultStyle: transform.StyleLong}

// OneBotConfig is an account of driver onebot: a OneBot v11 HTTP API
// (NapCat, Lagrange.OneBot, LLOneBot) running beside groupcast.
type OneBotConfig struct {
	// BaseURL is the implementation's HTTP API, such as
	// http://127.0.0.1:3000 (no credentials, no query).
	BaseURL string `mapstructure:"base_url" required:"true"`
	// AccessToken is the implementation's access token, sent as
	// "Authorization: Bearer …"; empty when it has none.
	AccessToken configs.Secret `mapstructure:"access_token"`
	// Forward sends a long announcement as one merged-forward message
	// (send_group_forward_msg) instead of numbered parts, where the
	// implementation supports it. Default false.
	Forward bool `mapstructure:"forward"`
	// PartChars is the size of a part in characters when a long
	// announcement is split (default 1500, between 100 and 10000).
	PartChars int `mapstructure:"part_chars"`
	// PostSecret is the secret the implementation signs its HTTP POST
	// events with (OneBot's "secret" of the HTTP POST reporter): with it,
	// POST /v1/inbound/onebot/{account} requires X-Signature: sha1=<hex
	// HMAC-SHA1 of the body>. Empty: unsigned events are accepted
	// (docs/two-way.md).
	PostSecret configs.Secret `mapstructure:"post_secret"`
	// WSURL is the implementation's forward WebSocket (ws://host:port, or
	// wss://): groupcast connects to it and receives the account's events,
	// for implementations that cannot POST. The access token goes along
	// as a bearer token. Empty: no connection.
	WSURL string `mapstructure:"ws_url"`
}

// Check reports values the driver cannot use.
func (c OneBotConfig) Check() []string {
	var problems []string
	if p := checkHTTPURL("base_url", c.BaseURL); p != "" {
		problems = append(problems, p)
	}
	if c.WSURL != "" {
		if u, err := url.Parse(c.WSURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" || u.User != nil {
			problems = append(problems, "ws_url: must be a ws:// or wss:// URL with a host and no credentials")
		}
	}
	if c.PartChars != 0 && (c.PartChars < MinPartChars || c.PartChars > MaxPartChars) {
		problems = append(problems, fmt.Sprintf("part_chars: %d is outside %d-%d (default %d)", c.PartChars, MinPartChars, MaxPartChars, DefaultPartChars))
	}
	return problems
}
