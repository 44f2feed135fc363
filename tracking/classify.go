package tracking

import (
	"net/http"
	"strings"
)

// Previewers are User-Agent fragments (matched case-insensitively) of the
// programs that fetch a link without a person clicking it: the chat apps'
// link previewers and URL checkers, search engines and other crawlers.
// docs/group-operations.md lists where each comes from. A match is
// redirected like anyone, and not counted.
var Previewers = []string{
	// DingTalk's link preview service: DingTalkBot-LinkService/1.0.
	"dingtalkbot",
	// Tencent's URL checker, which fetches links posted in QQ (and WeChat)
	// chats: "… MQQBrowser/5.0 QQ-URL-Manager Mobile Safari/537.36".
	"qq-url-manager",
	// Search engines and crawlers common in China.
	"baiduspider", "baidu-yunguance", "sogou", "360spider", "yisouspider", "bytespider",
	"toutiaospider", "petalbot", "yandex", "googlebot", "google-inspectiontool", "googleother",
	"adsbot-google", "mediapartners-google", "bingbot", "bingpreview", "applebot", "duckduckbot",
	// Link previewers of other chat and social apps.
	"facebookexternalhit", "facebot", "twitterbot", "linkedinbot", "slackbot", "slack-imgproxy",
	"discordbot", "telegrambot", "whatsapp", "skypeuripreview", "iframely", "embedly",
	// Anything that says what it is.
	"bot/", "bot;", "bot ", "spider", "crawler", "headlesschrome", "preview",
}

// NotCounted answers why a request for a tracked link is not a person's
// click ("" when it is one): a HEAD request, a declared prefetch or
// preview (X-Purpose: preview, Purpose: prefetch, Sec-Purpose: prefetch…,
// X-Moz: prefetch), no User-Agent at all, or a User-Agent in Previewers.
func NotCounted(r *http.Request) string {
	if r.Method == http.MethodHead {
		return "head"
	}
	h := r.Header
	if strings.Contains(strings.ToLower(h.Get("X-Purpose")), "preview") {
		return "preview"
	}
	for _, name := range []string{"Purpose", "X-Moz", "Sec-Purpose"} {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(h.Get(name))), "prefetch") {
			return "prefetch"
		}
	}
	ua := strings.ToLower(h.Get("User-Agent"))
	if strings.TrimSpace(ua) == "" {
		return "no user agent"
	}
	for _, p := range Previewers {
		if strings.Contains(ua, p) {
			return "previewer " + strings.TrimSpace(strings.TrimRight(p, "/; "))
		}
	}
	return ""
}
