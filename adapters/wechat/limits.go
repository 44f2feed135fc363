package wechat

import "time"

// Platform facts for the two WeChat drivers. Each number's source is in
// docs/platforms.md ("Facts and sources"; [V] verified in a primary
// source, [C] community evidence, [U] unverified: made configurable or
// chosen conservatively).

// WeCom group robot (企业微信 消息推送), docs/platforms.md.
const (
	// DefaultWeComBaseURL is the robot API host ([V] doc 91770).
	DefaultWeComBaseURL = "https://qyapi.weixin.qq.com"
	// WeComSendPath is the webhook path; the key travels as ?key=.
	WeComSendPath = "/cgi-bin/webhook/send"

	// WeComTextMaxBytes bounds text.content in UTF-8 bytes ([V]).
	WeComTextMaxBytes = 2048
	// WeComMarkdownMaxBytes bounds markdown.content in UTF-8 bytes ([V];
	// enforced with errcode 40058, [C] dromara/domain-admin #82).
	WeComMarkdownMaxBytes = 4096

	// WeComPerMinute is the robot's rate: 20 messages per minute per robot
	// ([C] consistent across sources).
	WeComPerMinute = 20
	// WeComThrottlePause is how long a robot rests after errcode 45009. The
	// limit is counted over a minute, so a full minute empties the window
	// whatever the platform's window alignment is; resting less risks a
	// second 45009, resting more only delays.
	WeComThrottlePause = 60 * time.Second
)

// WeCom errcodes.
const (
	WeComOK              = 0
	WeComErrInvalidKey   = 93000 // invalid webhook url: wrong key or robot deleted ([C])
	WeComErrFrequency    = 45009 // api freq out of limit ([C])
	WeComErrContentLimit = 40058 // content exceeds the byte limit ([C])
	WeComErrMsgType      = 40008 // invalid msgtype ([U] standard global code)
	WeComErrEmpty        = 44004 // empty content ([U] standard global code)
)

// Personal WeChat through openwechat's web/UOS protocol, docs/platforms.md.
const (
	// OpenWeChatPartChars is the chunk size for long texts, in characters.
	// There is no documented cap ([U]); community reports put it near 2,000
	// characters, so chunks stay at ≤1500.
	OpenWeChatPartChars = 1500

	// RevokeWindow is how long a sent message can be revoked ([V]
	// message.go CanRevoke: time.Since(ClientMsgId/1e7 s) < 2 min).
	RevokeWindow = 2 * time.Minute

	// OpenWeChatMinGap..OpenWeChatMaxGap is the random gap between two
	// sends of one account (≥3–5 s random jitter; bans reported at
	// 0.5 s intervals, [C] Urinx/WeixinBot #149, wechaty #412).
	OpenWeChatMinGap = 3 * time.Second
	OpenWeChatMaxGap = 5 * time.Second
	// OpenWeChatPerMinute caps the sustained rate below what the gap alone
	// allows (60/4 s = 15 on average): a person does not post to a dozen
	// groups every minute for an hour. 12/min keeps a long run visibly
	// slower than a script and still clears 100 groups in under 10 minutes.
	OpenWeChatPerMinute = 12
	// DefaultDailyLimit is the per-account ceiling of sends per local day
	// when daily_limit is not set. Community advice is to cap a day's
	// sends; no number is published ([U]). 200 requests a day is a busy
	// human's volume.
	DefaultDailyLimit = 200

	// MaxImageBytes is openwechat's upload ceiling (global.go
	// maxImageUploadSize = 20 MB, [V]); images are fetched through
	// adapters/imagefetch, which stops at 10 MiB.
	MaxImageBytes = 20 << 20

	// OperateTooOftenPause is the rest after BaseResponse.Ret 1205 "operate
	// too often" ([V] base_response.go). It is a risk-control signal,
	// not a rate window: resting long is the point.
	OperateTooOftenPause = 30 * time.Minute
	// NotReadyPause is how long targets of an account that is not logged in
	// are deferred before the router tries again.
	NotReadyPause = time.Minute
)

// Web WeChat BaseResponse.Ret codes ([V] base_response.go).
const (
	retTicketError   = -14
	retLogicError    = -2
	retSysError      = -1
	retParamError    = 1
	retLoginWarn     = 1100 // logged out
	retLoginCheck    = 1101 // logged out (kicked, or logged in elsewhere)
	retCookieInvalid = 1102
	retEnvAbnormal   = 1203 // login environment abnormal: web login forbidden
	retTooOften      = 1205 // operate too often
)
