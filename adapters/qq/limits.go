package qq

import "time"

// Platform facts the QQ drivers rely on, each with its source. The facts and
// their sources are in docs/platforms.md; tags: [V] verified in a primary
// source, [C] community evidence, [U] unverified, so configurable.

// OneBot v11 over HTTP (docs/platforms.md).
const (
	// Every action is POST {base_url}/<action> with a JSON body; the token
	// goes in "Authorization: Bearer …". A missing token is HTTP 401, a wrong
	// one 403, a bad Content-Type 406, a malformed body 400, an unknown action
	// 404; everything else is HTTP 200, whatever the outcome, with
	// {"status","retcode","data"} in the body. [V] onebot-11
	// communication/authorization.md, communication/http.md.
	actionSendGroupMsg        = "send_group_msg"
	actionSendGroupForwardMsg = "send_group_forward_msg" // go-cqhttp extension (docs/platforms.md): NapCat, LLOneBot, Lagrange.OneBot [V]
	actionDeleteMsg           = "delete_msg"
	actionGetLoginInfo        = "get_login_info"

	// retcode 0 ⇔ status "ok"; 1 ⇔ "async" (queued, no data); anything else
	// is "failed". [V] communication/http.md. Over WebSocket the HTTP errors
	// come back as retcode 1400/1401/1403/1404. [V] communication/ws.md.
	retcodeOK          = 0
	retcodeAsync       = 1
	retcodeBadRequest  = 1400
	retcodeNoToken     = 1401
	retcodeBadToken    = 1403
	retcodeNoSuchThing = 1404

	// go-cqhttp (and the MiraiGo-era implementations that copied it) answer a
	// message the server swallowed with retcode 100, msg "SEND_MSG_API_ERROR",
	// wording "请参考 go-cqhttp 端输出"; bot authors read it as "账号可能被风控"
	// (risk control). A missing group is retcode 100 "GROUP_NOT_FOUND". [C]
	// go-cqhttp coolq/api.go; HarukaBot and other bots' handlers.
	msgSendAPIError  = "SEND_MSG_API_ERROR"
	msgGroupNotFound = "GROUP_NOT_FOUND"
)

// riskWords are substrings of a failed answer's msg or wording that mean
// "the account is being rate limited or risk-controlled", in the wording of
// the implementations in use ([C]: go-cqhttp, NapCat and Lagrange logs as
// quoted in bot projects' issue threads). Matched case-insensitively.
var riskWords = []string{"风控", "频繁", "frequen", "rate limit", "too fast", "risk"}

// Pauses for a throttled account. No QQ implementation publishes a limit or a
// cool-down [U]; bot operators report that a risk-controlled account recovers
// after minutes to hours of rest [C]. Ten minutes is the pause before the
// router tries again; a still-controlled account answers the same and is
// paused again, so nothing is lost, only deferred.
const (
	RiskPause    = 10 * time.Minute
	HTTP429Pause = time.Minute // not in the OneBot spec; a proxy in front may answer it
)

// Text sizes.
const (
	// DefaultPartChars is the OneBot part size in characters. MiraiGo-based
	// implementations refuse a message whose estimate exceeds 5000 bytes
	// (text bytes, +100 per image) [V] MiraiGo message/message.go L279,
	// client/group_msg.go L45; NTQQ-based ones publish no limit [U]. 1,500
	// Chinese characters are 4,500 UTF-8 bytes, which leaves room for the
	// "（i/n）" marker, an at-all segment and a few images under that
	// ceiling whatever the implementation behind the HTTP API is.
	DefaultPartChars = 1500
	// MinPartChars and MaxPartChars bound part_chars in validate: below 100 a
	// long announcement becomes a flood of messages; above 10,000 characters
	// even NTQQ clients show "message too long" in practice [C].
	MinPartChars = 100
	MaxPartChars = 10000

	// AtAllDisplay is how an at-all segment shows in a group ("@全体成员");
	// MiraiGo's size estimate counts it as this text. [V] MiraiGo
	// message/elements.go NewAt(0).
	AtAllDisplay = "@全体成员"
)

// Default paces. QQ publishes no send limit for ordinary accounts; accounts
// are banned or risk-controlled for "abnormal" behaviour, bursts above all
// [C] (docs/platforms.md). The pacer spaces consecutive sends of one account by
// a random gap between MinGap and MaxGap and never lets more than PerMinute
// through in any minute.
//
// OneBot: one message per second on average, jittered 0.5–1.5 s so that a
// fan-out to many groups never looks like a machine burst. The uniform gap
// averages exactly 1 s; PerMinute 60 bounds the worst case (a run of short
// gaps) to the same one per second over a minute.
// (MiraiGo's pace is in adapters/qq/miraigo.)
const (
	OneBotPerMinute = 60
	OneBotMinGap    = 500 * time.Millisecond
	OneBotMaxGap    = 1500 * time.Millisecond
)

// Backoff of the OneBot readiness probe while it fails.
const (
	BackoffMin = time.Second
	BackoffMax = 5 * time.Minute
	// ProbeEvery is how often the OneBot driver re-reads get_login_info so
	// that /readyz notices a sidecar that logged out or went away.
	ProbeEvery = time.Minute
)
