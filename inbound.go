package groupcast

import (
	"context"
	"time"
)

// Kinds of inbound event.
const (
	EventMessage      = "message"       // someone wrote in a group
	EventMemberJoined = "member_joined" // a member joined a group
	EventMemberLeft   = "member_left"   // a member left (or was removed from) a group
)

// InboundEvent is one thing that happened in a group of one account, in
// the same shape whatever the platform told it (OneBot posts, the OneBot
// forward WebSocket, openwechat's sync, the DingTalk stream callback).
type InboundEvent struct {
	Kind     string `json:"kind"` // EventMessage, EventMemberJoined or EventMemberLeft
	Platform string `json:"platform"`
	Account  string `json:"account"`
	Group    string `json:"group"`
	// ID is the platform's id of the message or notice: events are
	// de-duplicated by account and ID. A platform that gives no id for a
	// notice gets one derived from its fields by the driver.
	ID string `json:"id"`
	// Sender is the user id of the author of a message, or of the member
	// who joined or left; SenderName their display name when known.
	Sender     string `json:"sender"`
	SenderName string `json:"sender_name,omitempty"`
	// Text is a message's plain text (mentions and images removed).
	Text string `json:"text,omitempty"`
	// Mentions lists the user ids a message mentions; MentionsMe is true
	// when it mentions this account.
	Mentions   []string `json:"mentions,omitempty"`
	MentionsMe bool     `json:"mentions_me,omitempty"`
	// Self is true for what this account itself sent: no rule answers it.
	Self bool      `json:"self,omitempty"`
	At   time.Time `json:"at"`
}

// InboundSink takes the events the drivers receive. Inbound must return
// quickly (it never waits on a send): nothing inbound blocks the send path.
type InboundSink interface {
	Inbound(ctx context.Context, ev InboundEvent) error
}

// Listener is implemented by senders whose platform pushes events to a
// connection the driver holds (the OneBot forward WebSocket, openwechat,
// the DingTalk stream). Listen hands each event to sink until ctx ends.
type Listener interface {
	Listen(ctx context.Context, sink InboundSink) error
}
