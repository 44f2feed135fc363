package groupcast

import (
	"context"
	"errors"
	"time"
)

// Errors an Intake answers with besides *InputError.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict: the id exists with different content.
	ErrConflict = errors.New("id exists with different content")
	// ErrNotReady: the store is not ready or the daemon is shutting down.
	ErrNotReady = errors.New("not ready")
	// ErrBusy: more is queued than server.max_backlog; try again shortly.
	ErrBusy = errors.New("backlog full")
	// ErrTooLarge: the announcement is more than the store takes in one
	// message; it can never be stored as it is.
	ErrTooLarge = errors.New("too large to store")
)

// Status is one announcement and the state of each of its targets.
type Status struct {
	ID         string    `json:"id"`
	Title      string    `json:"title"`
	State      string    `json:"state"`
	AcceptedAt time.Time `json:"accepted_at"`
	Targets    []Target  `json:"targets"`
	// Parts is a series' progress, part by part (its Targets are all its
	// parts' targets, in part order); nil for any other announcement.
	Parts []PartStatus `json:"parts,omitempty"`
}

// PartStatus is one part of a series: an announcement of its own.
type PartStatus struct {
	ID    string    `json:"id"`
	Part  int       `json:"part"`
	At    time.Time `json:"at"`
	Title string    `json:"title"`
	State string    `json:"state"`
}

// In is the status as it is answered: every time in loc (the configured
// zone, whatever the store or the process kept: accepted_at, each target's
// updated_at, not_before and timeline, each part's at) and each target's
// max_attempts. The targets, timelines and parts are copies.
func (st Status) In(loc *time.Location, maxAttempts int) Status {
	if loc == nil {
		loc = time.UTC
	}
	in := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		l := t.In(loc)
		return &l
	}
	if !st.AcceptedAt.IsZero() {
		st.AcceptedAt = st.AcceptedAt.In(loc)
	}
	if st.Targets != nil {
		targets := make([]Target, len(st.Targets))
		for i, t := range st.Targets {
			if !t.UpdatedAt.IsZero() {
				t.UpdatedAt = t.UpdatedAt.In(loc)
			}
			t.NotBefore = in(t.NotBefore)
			if t.Timeline != nil {
				tl := make([]Transition, len(t.Timeline))
				for k, e := range t.Timeline {
					e.At, e.NotBefore = e.At.In(loc), in(e.NotBefore)
					tl[k] = e
				}
				t.Timeline = tl
			}
			t.MaxAttempts = maxAttempts
			targets[i] = t
		}
		st.Targets = targets
	}
	if st.Parts != nil {
		parts := make([]PartStatus, len(st.Parts))
		for i, p := range st.Parts {
			p.At = p.At.In(loc)
			parts[i] = p
		}
		st.Parts = parts
	}
	return st
}

// Accepted is the answer to a submission. Existing is true when the id was
// already stored with the same content (HTTP 200 rather than 202).
type Accepted struct {
	Status
	Existing bool `json:"-"`
}

// Intake is where every source hands announcements in: the HTTP API, the
// CLI through it, and the DingTalk stream bot. Submit returns once the
// announcement is durably stored and its targets planned; it answers
// *InputError (code "no_route" when no route matches), ErrConflict or
// ErrNotReady.
type Intake interface {
	Submit(ctx context.Context, a *Announcement) (Accepted, error)
	Status(ctx context.Context, id string) (Status, error)
}
