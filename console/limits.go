package console

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/groupcast/groupcast/adapters/dingtalk"
	"github.com/groupcast/groupcast/adapters/qq"
	"github.com/groupcast/groupcast/adapters/wechat"
	"github.com/groupcast/groupcast/configs"
)

// limit is the most one part may hold on a driver, in bytes or in
// characters (the platform's unit), from the driver's limits.go; 0 when
// the driver has none (console, file).
type limit struct {
	N     int
	Bytes bool
}

// Over reports whether a part of b bytes and n characters is over it.
func (l limit) Over(b, n int) bool {
	if l.N == 0 {
		return false
	}
	if l.Bytes {
		return b > l.N
	}
	return n > l.N
}

func limitOf(cfg *configs.Config, account string) limit {
	acc, ok := cfg.Account(account)
	if !ok {
		return limit{}
	}
	switch acc.Platform + "/" + acc.Driver {
	case "dingtalk/webhook":
		return limit{N: dingtalk.WebhookMaxBody, Bytes: true}
	case "dingtalk/openapi":
		return limit{N: dingtalk.MsgParamMax, Bytes: true}
	case "wechat/wecom":
		return limit{N: wechat.WeComMarkdownMaxBytes, Bytes: true}
	case "wechat/openwechat":
		return limit{N: wechat.OpenWeChatPartChars}
	case "qq/onebot":
		var c qq.OneBotConfig
		if configs.DecodeSettings(acc.Settings, acc.Driver, &c) == nil && c.PartChars > 0 {
			return limit{N: c.PartChars}
		}
		return limit{N: qq.DefaultPartChars}
	case "qq/miraigo":
		return limit{N: qq.DefaultPartChars}
	}
	return limit{}
}

// segment is a run of a part's text, marked when a rule hit it.
type segment struct {
	Text string
	Hit  bool
}

// hitTerms reads the matched terms out of a preview's rule hits
// (`rule: action "term"`).
func hitTerms(rules []string) []string {
	var out []string
	for _, h := range rules {
		i := strings.LastIndex(h, ` "`)
		if i < 0 {
			continue
		}
		t, err := strconv.Unquote(h[i+1:])
		if err != nil || t == "" {
			continue
		}
		out = append(out, t)
		if strings.Contains(h[:i], ": mask") {
			// A masked term is sent as one * per character: mark those.
			out = append(out, strings.Repeat("*", utf8.RuneCountInString(t)))
		}
	}
	return out
}

// mark cuts text into runs, the occurrences of terms marked.
func mark(text string, terms []string) []segment {
	var out []segment
	for text != "" {
		at, n := -1, 0
		for _, t := range terms {
			if i := strings.Index(text, t); i >= 0 && (at < 0 || i < at || (i == at && len(t) > n)) {
				at, n = i, len(t)
			}
		}
		if at < 0 {
			out = append(out, segment{Text: text})
			break
		}
		if at > 0 {
			out = append(out, segment{Text: text[:at]})
		}
		out = append(out, segment{Text: text[at : at+n], Hit: true})
		text = text[at+n:]
	}
	return out
}
