package groupcast

import (
	"context"
	"time"
)

// TextFormat says how a rendered text is to be read by the platform.
type TextFormat string

const (
	TextPlain    TextFormat = "text"
	TextMarkdown TextFormat = "markdown"
)

// Rendered is one announcement written for one target by its style, before
// the platform's limits apply: the adapter splits Text by its own measure.
type Rendered struct {
	Style      string     `json:"style"`
	Title      string     `json:"title"`
	Format     TextFormat `json:"format"`
	Text       string     `json:"text"`
	Links      []Link     `json:"links,omitempty"`
	Images     []Image    `json:"images,omitempty"`
	MentionAll bool       `json:"mention_all,omitempty"`
}

// Outgoing is what a driver is asked to send: one rendered announcement to
// one group of its account. DeliveryID is stable across retries of the same
// target, so drivers whose platform offers an idempotency key derive it
// from DeliveryID and the part number.
//
// A multi-part send resumes: Done holds the platform message ids of the
// parts an earlier attempt delivered (part i+1 at index i), and the driver
// sends from part len(Done)+1 on. Progress, when set, is called after each
// part is delivered and before the next is sent, so the part is stored
// with the target: a retry, a pause, a restart or a lease move then never
// sends it again. An error from Progress ends the send with that error.
// The receipt lists the ids of every part, Done's included.
type Outgoing struct {
	DeliveryID   string
	Announcement *Announcement
	Group        string
	Destination  Destination // the whole plan entry (route, style, options)
	Rendered     Rendered
	Done         []string
	Progress     func(ctx context.Context, part, parts int, messageID string) error
}

// Resume is where a multi-part send starts: the first part not delivered
// yet (counted from 0), or parts when all are.
func (m Outgoing) Resume(parts int) int { return min(len(m.Done), parts) }

// Delivered records part i (from 0) of parts as delivered with id: it
// calls Progress for every part but the last (the receipt records that).
func (m Outgoing) Delivered(ctx context.Context, i, parts int, id string) error {
	if m.Progress == nil || i+1 >= parts {
		return nil
	}
	return m.Progress(ctx, i+1, parts, id)
}

// Receipt is what the platform gave back for a delivered target.
type Receipt struct {
	Parts      int       `json:"parts"`
	MessageIDs []string  `json:"message_ids"`
	SentAt     time.Time `json:"sent_at"`
}

// Sender delivers to the groups of one account. It is safe for concurrent
// use, honours ctx, and classifies every failure with Temporary, Throttled
// or Permanent.
type Sender interface {
	Send(ctx context.Context, m Outgoing) (Receipt, error)
}

// Recaller is implemented by senders that can take a delivered message back.
// A driver that cannot recall a particular receipt (too late, say) returns
// an error wrapping ErrRecallUnsupported.
type Recaller interface {
	Recall(ctx context.Context, group string, r Receipt) error
}

// Starter is implemented by senders that must log in or connect before
// sending. Start runs once in the background; it should return when ctx ends.
type Starter interface {
	Start(ctx context.Context) error
}

// Readier is implemented by senders that can be not ready (waiting for a QR
// login, reconnecting). Ready returns nil when the account can send.
type Readier interface {
	Ready() error
}

// Parter is implemented by senders that split a rendered text into several
// platform requests. Parts returns exactly the texts Send would post, one
// per request, so that preview shows what will really be sent.
type Parter interface {
	Parts(r Rendered) ([]string, error)
}
