package dingtalk

import "time"

// Platform facts for DingTalk, each with its source in
// docs/platforms.md ("Facts and sources"). [V] verified in
// a primary source, [C] community evidence, [U] unverified: kept
// configurable or conservative.

// Custom group robot (webhook), docs/platforms.md.
const (
	// WebhookMaxBody is the most bytes a request body may have, measured as
	// sent (JSON without HTML escaping). Over it DingTalk answers 460101
	// "body 大小不合法 … 20000bytes". [C]
	WebhookMaxBody = 20000

	// WebhookPerMinute is the documented send rate of one robot: 20 per
	// minute; the 21st within a minute locks the robot. [V]
	WebhookPerMinute = 20

	// WebhookThrottlePause is how long a robot is locked after exceeding
	// the rate: 10 minutes. [V]
	WebhookThrottlePause = 10 * time.Minute

	// SignWindow is the largest accepted difference between the signing
	// timestamp and DingTalk's clock: one hour. [V]
	SignWindow = time.Hour

	// WebhookMentionAll is the text that makes an @all mention visible; the
	// at.isAtAll flag alone only notifies. [C]
	WebhookMentionAll = "@所有人"
)

// Webhook error codes (errcode in an HTTP 200 body).
const (
	CodeOK               = 0
	CodeTooFast          = 130101 // send too fast, exceed 20 times per minute [C]
	CodeSecurity         = 310000 // keywords / sign not match / invalid timestamp / ip not in whitelist [C]
	CodeTokenNotExist    = 300001 // token is not exist [C]
	CodeTokenExternal    = 300005 // token is not exist (external groups) [C]
	CodeMissingParam     = 400402 // a required field is missing, e.g. markdown.title [C]
	CodeBodyTooLarge     = 460101 // body 大小不合法 (> 20000 bytes) [C] feiyu563/PrometheusAlert #318
	CodeWebhookOverQuota = 90030  // webhook over limit [U]: treated as throttled
	CodeSystemBusy       = -1     // 系统繁忙: DingTalk's generic retry-later answer [U]
)

// Enterprise-internal robot (OpenAPI), docs/platforms.md.
const (
	// MsgParamMax is the most bytes msgParam (a JSON string) may hold. [V]
	MsgParamMax = 15000

	// TokenLifetime is the documented access token lifetime (expireIn
	// 7200 s); the driver trusts the expireIn it is given and refreshes
	// TokenRefreshMargin before it ends. [V]
	TokenLifetime      = 7200 * time.Second
	TokenRefreshMargin = 200 * time.Second // the doc suggests refreshing at ~7000 s [V]

	// OpenAPIPerMinute is the default pace of an enterprise robot. DingTalk
	// publishes per-app QPS limits (403 when exceeded [C]) rather than a
	// per-group rate; 20/min keeps group traffic as calm as a webhook robot.
	OpenAPIPerMinute = 20

	// OpenAPIThrottlePause is the rest after a QPS answer (403). QPS limits
	// are per second; a short pause is enough. [C]
	OpenAPIThrottlePause = 30 * time.Second
)

// Stream mode, docs/platforms.md.
const (
	// DefaultGatewayHost is where the stream SDK opens its connection. [V]
	DefaultGatewayHost = "https://api.dingtalk.com"
	// DefaultWebhookBase and DefaultOpenAPIBase are the production hosts. [V]
	DefaultWebhookBase = "https://oapi.dingtalk.com"
	DefaultOpenAPIBase = "https://api.dingtalk.com"
)
