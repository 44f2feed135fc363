package miraigo

import (
	"time"

	"github.com/groupcast/groupcast/adapters/qq"
)

// Facts of MiraiGo and the legacy protocol the driver relies on. The facts and
// their sources are in docs/platforms.md; tags: [V] verified in a primary
// source, [C] community evidence, [U] unverified.
const (
	// MaxMessageSize is MiraiGo's own ceiling: SendGroupMessage
	// returns nil, sending nothing, when message.EstimateLength exceeds it.
	// [V] MiraiGo message/message.go L279 (MaxMessageSize = 5000),
	// client/group_msg.go L36-47.
	MaxMessageSize = 5000
	// MaxImages: more than 50 images and SendGroupMessage returns nil.
	// [V] client/group_msg.go L45.
	MaxImages = 50
	// ImageCost is what EstimateLength counts for one image element.
	// [V] message/message.go EstimateLength.
	ImageCost = 100
	// AtAllDisplay is what EstimateLength counts for an at-all
	// element (its Display).
	AtAllDisplay = qq.AtAllDisplay
	// TextBudget is the bytes of text in one MiraiGo message: the
	// 5,000-byte estimate less 500 bytes of headroom for the at-all element
	// and up to four images riding with the last part. The estimate is
	// MiraiGo's, not the server's, so a margin costs little and guards
	// against the server being stricter [U].
	TextBudget = 4500
	// ReceiptWait: SendGroupMessage waits 5 s for the server's
	// receipt; without one the message id stays -1 unless it turns up in
	// the group's history. go-cqhttp reports that as SEND_MSG_API_ERROR,
	// i.e. likely risk control. [V] client/group_msg.go L124-135.
	ReceiptWait = 5 * time.Second
	// LoginCodeNeedsSign is the login answer code when the server
	// wants a sec_sign the client cannot make without a sign server
	// ("登录失败，请前往QQ官网im.qq.com下载最新版QQ后重试"). [C] go-cqhttp
	// #2275, #2398, #2488; mirai #2842.
	LoginCodeNeedsSign = 45
	// LoginCodeFrozen: "账号被冻结". [V] client/decoders.go.
	LoginCodeFrozen = 40
)

// Pace: QQ publishes no send limit; the legacy Android protocol is
// risk-controlled more readily than an NTQQ client [C] go-cqhttp #2471, so
// it goes at half the onebot driver's pace.
const (
	PerMinute = 30
	MinGap    = 1500 * time.Millisecond
	MaxGap    = 2500 * time.Millisecond
)

// Reconnect backoff of the session: after a drop or a retryable login
// failure the next attempt waits a random duration in [d/2, d], d doubling
// from BackoffMin to BackoffMax and reset by a session that stayed up for
// StableAfter. The jitter keeps many accounts (or replicas) from
// reconnecting in step.
const (
	BackoffMin  = time.Second
	BackoffMax  = 5 * time.Minute
	StableAfter = time.Minute
	// LogEvery bounds the reconnect log: at most one line per account per
	// LogEvery, with the count of attempts it stands for.
	LogEvery = time.Minute
	// OfflinePause is how long an account not logged in defers its
	// targets (Throttled, never failed: the login may take longer than the
	// retry schedule, e.g. while waiting for a QR scan).
	OfflinePause = 30 * time.Second
)
