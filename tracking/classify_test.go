package tracking

import (
	"net/http/httptest"
	"testing"
)

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

func TestNotCounted(t *testing.T) {
	for _, c := range []struct {
		name, method string
		header       map[string]string
		counted      bool
	}{
		{"a browser", "GET", map[string]string{"User-Agent": chromeUA}, true},
		{"WeChat's in-app browser", "GET", map[string]string{"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2f) NetType/WIFI Language/zh_CN"}, true},
		{"QQ's in-app browser", "GET", map[string]string{"User-Agent": "Mozilla/5.0 (Linux; Android 13; V2203A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/109.0 MQQBrowser/6.2 TBS/046 Mobile Safari/537.36 V1_AND_SQ_8.9.0 QQ/8.9.0.9040 NetType/WIFI"}, true},
		{"DingTalk's in-app browser", "GET", map[string]string{"User-Agent": "Mozilla/5.0 (Linux; Android 12) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/97.0 Mobile Safari/537.36 AliApp(DingTalk/7.0.40) com.alibaba.android.rimet/34109004 Channel/227200 language/zh-CN"}, true},
		{"HEAD", "HEAD", map[string]string{"User-Agent": chromeUA}, false},
		{"X-Purpose: preview", "GET", map[string]string{"User-Agent": chromeUA, "X-Purpose": "preview"}, false},
		{"Purpose: prefetch", "GET", map[string]string{"User-Agent": chromeUA, "Purpose": "prefetch"}, false},
		{"Sec-Purpose: prefetch;prerender", "GET", map[string]string{"User-Agent": chromeUA, "Sec-Purpose": "prefetch;prerender"}, false},
		{"X-Moz: prefetch", "GET", map[string]string{"User-Agent": chromeUA, "X-Moz": "prefetch"}, false},
		{"no User-Agent", "GET", nil, false},
		{"DingTalk link service", "GET", map[string]string{"User-Agent": "DingTalkBot-LinkService/1.0 (+https://open-doc.dingtalk.com/microapp/faquestions/ftpfeu)"}, false},
		{"Tencent URL checker", "GET", map[string]string{"User-Agent": "Mozilla/5.0 (Linux; U; Android 4.4.2; zh-cn; GT-I9500 Build/KOT49H) AppleWebKit/537.36 (KHTML, like Gecko)Version/4.0 MQQBrowser/5.0 QQ-URL-Manager Mobile Safari/537.36"}, false},
		{"Baiduspider", "GET", map[string]string{"User-Agent": "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"}, false},
		{"Sogou", "GET", map[string]string{"User-Agent": "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)"}, false},
		{"Bytespider", "GET", map[string]string{"User-Agent": "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)"}, false},
		{"Googlebot", "GET", map[string]string{"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}, false},
		{"Slack", "GET", map[string]string{"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}, false},
		{"Telegram", "GET", map[string]string{"User-Agent": "TelegramBot (like TwitterBot)"}, false},
		{"headless Chrome", "GET", map[string]string{"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"}, false},
	} {
		r := httptest.NewRequest(c.method, "/l/AbCdEf012345", nil)
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		if got := NotCounted(r); (got == "") != c.counted {
			t.Errorf("%s: NotCounted = %q, want counted %v", c.name, got, c.counted)
		}
	}
}
