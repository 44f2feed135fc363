package groupcast

import (
	"encoding/base64"
	"time"
)

// State is where one target of an announcement stands.
type State string

const (
	StateQueued    State = "queued"
	StateScheduled State = "scheduled" // waiting for send_at
	StateSending   State = "sending"
	StateDeferred  State = "deferred" // window, cap, rate, throttle or mix; see NotBefore and Reason
	StateHeld      State = "held"     // waiting for review
	StateDelivered State = "delivered"
	StateFailed    State = "failed"
	StateBlocked   State = "blocked"
	StateRejected  State = "rejected"
	StateExpired   State = "expired"
	StateRecalled  State = "recalled"
)

// States lists every state, in the order the API documents them.
var States = []State{StateQueued, StateScheduled, StateSending, StateDeferred, StateHeld,
	StateDelivered, StateFailed, StateBlocked, StateRejected, StateExpired, StateRecalled}

// Terminal reports whether nothing more will happen to a target in state s
// (except a recall of a delivered one).
func (s State) Terminal() bool {
	switch s {
	case StateDelivered, StateFailed, StateBlocked, StateRejected, StateExpired, StateRecalled:
		return true
	}
	return false
}

// Settled reports whether `send --wait` can stop watching a target: it is
// terminal, or waiting on time (deferred, scheduled) or on a person (held).
func (s State) Settled() bool {
	return s.Terminal() || s == StateDeferred || s == StateHeld || s == StateScheduled
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, k := range States {
		if k == s {
			return true
		}
	}
	return false
}

// Stage is a group's maturity, which picks its daily cap.
type Stage string

const (
	StageNew    Stage = "new"
	StageMature Stage = "mature"
)

// StyleOptions are a target's settings for its style, copied into the plan
// at acceptance so a later reload does not change an accepted announcement.
type StyleOptions struct {
	MaxChars   int    `json:"max_chars,omitempty"`
	Template   string `json:"template,omitempty"` // text/template source (template_file is read at load)
	Salutation string `json:"salutation,omitempty"`
	Closing    string `json:"closing,omitempty"`
	Signature  string `json:"signature,omitempty"`
	Org        string `json:"org,omitempty"`
	Timezone   string `json:"timezone,omitempty"`
}

// Destination is one planned target: which route put it there, which account
// sends it, to which group, in which style and under which policy.
type Destination struct {
	Route    string       `json:"route"`
	Platform string       `json:"platform"`
	Account  string       `json:"account"`
	Group    string       `json:"group"`
	Style    string       `json:"style"`
	Policy   string       `json:"policy,omitempty"`
	Stage    Stage        `json:"stage,omitempty"`
	Options  StyleOptions `json:"options,omitzero"`
	// Variant is the A/B variant this destination receives (empty: no A/B
	// test), assigned once at acceptance.
	Variant string `json:"variant,omitempty"`
	// SendAt is this destination's own send time (an A/B test by slot),
	// in place of the announcement's send_at.
	SendAt *time.Time `json:"send_at,omitempty"`
}

// Key identifies the destination within its announcement. It is safe in
// NATS subjects and KV keys whatever the group name is (group names are
// often Chinese).
func (d Destination) Key() string {
	return d.Account + "." + base64.RawURLEncoding.EncodeToString([]byte(d.Group))
}

// Target is the API's view of one destination and its state (docs/api.md, "A target and its states").
type Target struct {
	Route    string `json:"route"`
	Platform string `json:"platform"`
	Account  string `json:"account"`
	Group    string `json:"group"`
	Style    string `json:"style"`
	// Variant is the A/B variant the target receives (empty: no A/B test).
	Variant   string     `json:"variant,omitempty"`
	State     State      `json:"state"`
	Reason    string     `json:"reason,omitempty"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	Attempts  int        `json:"attempts"`
	// MaxAttempts is delivery.max_attempts as the daemon applies it now:
	// the target ends failed after that many temporary failures.
	MaxAttempts int `json:"max_attempts,omitempty"`
	Parts       int `json:"parts"`
	// PartsSent counts the parts already delivered of a multi-part send
	// under way (a retry resumes after them); PlatformMessageIDs holds
	// their ids.
	PartsSent          int       `json:"parts_sent,omitempty"`
	PlatformMessageIDs []string  `json:"platform_message_ids"`
	UpdatedAt          time.Time `json:"updated_at"`
	// Recall is the progress of a recall of this target, once one was
	// asked for (POST /v1/messages/{id}/recall); nil before.
	Recall *TargetRecall `json:"recall,omitempty"`
	// Timeline is the target's state changes, oldest first: its state at
	// acceptance, then each change with its reason and next try (at most
	// TimelineMax entries: the first and the latest).
	Timeline []Transition `json:"timeline,omitempty"`
}

// Transition is one entry of a target's timeline.
type Transition struct {
	At        time.Time  `json:"at"`
	State     State      `json:"state"`
	Reason    string     `json:"reason,omitempty"`
	NotBefore *time.Time `json:"not_before,omitempty"`
}

// TimelineMax bounds a target's timeline: a target deferred day after day
// keeps its first entry and its latest ones.
const TimelineMax = 16

// Record appends the target's current state to its timeline, unless it is
// what the timeline already ends with; at is when it changed.
func (t *Target) Record(at time.Time) {
	if n := len(t.Timeline); n > 0 {
		last := t.Timeline[n-1]
		if last.State == t.State && last.Reason == t.Reason && timeEqual(last.NotBefore, t.NotBefore) {
			return
		}
	}
	t.Timeline = append(t.Timeline, Transition{At: at, State: t.State, Reason: t.Reason, NotBefore: t.NotBefore})
	if n := len(t.Timeline); n > TimelineMax {
		t.Timeline = append(t.Timeline[:1], t.Timeline[n-TimelineMax+1:]...)
	}
}

func timeEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// RecallState is where the recall of one target stands.
type RecallState string

const (
	RecallPending     RecallState = "pending"     // stored, not yet done (retried through outages)
	RecallDone        RecallState = "done"        // the platform took the message back (or nothing had been sent)
	RecallFailed      RecallState = "failed"      // gave up; Reason says why
	RecallUnsupported RecallState = "unsupported" // the platform or driver cannot recall
)

// Settled reports whether nothing more will happen to the recall.
func (s RecallState) Settled() bool { return s != RecallPending && s != "" }

// TargetRecall is one target's recall progress.
type TargetRecall struct {
	State    RecallState `json:"state"`
	Reason   string      `json:"reason,omitempty"`
	Attempts int         `json:"attempts"`
}

// MessageState derives an announcement's state from its targets: delivered
// when every target is, failed when every target ended without delivery,
// partial when all are terminal and some were delivered, pending otherwise.
func MessageState(targets []Target) string {
	if len(targets) == 0 {
		return "pending"
	}
	delivered, terminal := 0, 0
	for _, t := range targets {
		if t.State.Terminal() {
			terminal++
		}
		if t.State == StateDelivered || t.State == StateRecalled {
			delivered++
		}
	}
	switch {
	case terminal < len(targets):
		return "pending"
	case delivered == len(targets):
		return "delivered"
	case delivered == 0:
		return "failed"
	default:
		return "partial"
	}
}
