package router

import (
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/tracking"
	"github.com/groupcast/groupcast/transform"
)

// The delivery steps, in order, for one target at one instant:
//
//	expiry → schedule → wait → pause → render → policy
//
// and then, when the answer is to send: claim → pace → send (worker.go).
// Each step answers one outcome; evaluate stops at the first that is not
// "go on". The sender writes the outcome with one settle; Preview calls
// the same steps with no store and shows the outcome.

// step says what a target does now.
type step int

const (
	stepSend   step = iota // render and policy said go: send outcome.rendered
	stepEnd                // a terminal state (expired, blocked, rejected, failed)
	stepPark               // wait for notBefore aside: later announcements may pass (send_at, window, cap, mix)
	stepHold               // wait for review aside
	stepBlockQ             // wait for notBefore holding the account's queue (a retry, a platform pause)
	stepStop               // the sender is stopping (or no longer owns the account): nothing settled
	stepYield              // (the sender only) an older record fell due meanwhile: this one goes back behind it, unsettled
)

// outcome is one step's answer: the state to write and why.
type outcome struct {
	step      step
	state     groupcast.State
	reason    string
	notBefore *time.Time
	rendered  groupcast.Rendered
	decision  policy.Decision // the policy's answer, when it was asked
	policy    *policy.Policy
	// links are the tracked links in rendered: stored before the send.
	links map[string]store.TrackedLink
}

// stepInput is everything the steps read.
type stepInput struct {
	rec *store.Record
	doc *transform.Doc // the destination's variant's, when it has one
	// variant is the destination's A/B variant as an announcement (nil:
	// no A/B test).
	variant *groupcast.Announcement
	dest    groupcast.Destination
	target  *store.TargetRecord // the stored state, or the one the record implies
	now     time.Time
	pol     *policy.Policy // nil: the route has no policy
	group   policy.GroupState
	// approved is the review decision (nil: ask review when the policy holds).
	review *store.Review
	// track writes the target's links as tracked links (nil: tracking off).
	track *tracking.Rewriter
	// pausedUntil is the account's rest after a platform throttle.
	pausedUntil time.Time
	pauseReason string
}

// evaluate runs the steps up to the send.
func evaluate(in stepInput) outcome {
	a, t, now := &in.rec.Announcement, in.target, in.now
	// Expiry.
	if exp := a.ExpiresAt; exp != nil && !now.Before(*exp) {
		return outcome{step: stepEnd, state: groupcast.StateExpired, reason: "expires_at " + exp.Format(time.RFC3339) + " passed"}
	}
	// Schedule: send_at.
	if sa := sendAt(a, in.dest); sa != nil && sa.After(now) && t.State != groupcast.StateDeferred {
		return outcome{step: stepPark, state: groupcast.StateScheduled, reason: "send_at", notBefore: sa}
	}
	// Wait: a deferral or a retry stored earlier.
	if nb := t.NotBefore; nb != nil && nb.After(now) {
		if t.State == groupcast.StateQueued {
			return outcome{step: stepBlockQ, state: t.State, reason: t.Reason, notBefore: nb}
		}
		return outcome{step: stepPark, state: t.State, reason: t.Reason, notBefore: nb}
	}
	// Pause: the platform said too fast.
	if in.pausedUntil.After(now) {
		until := in.pausedUntil
		return outcome{step: stepBlockQ, state: groupcast.StateDeferred, reason: in.pauseReason, notBefore: &until}
	}
	// Render (with tracked links when the announcement has them).
	doc := in.doc
	if in.track != nil {
		if in.pol != nil {
			// A URL a mask or block rule hits is not tracked: it is sent
			// (masked) or blocked as it is without tracking, never as a
			// code that redirects to it.
			pol, cat := in.pol, a.Category
			in.track.Keep = func(u string) bool { return pol.Hides(cat, u) }
		}
		doc = doc.WithLinks(in.track.URL)
	}
	r, err := doc.Render(in.dest, now)
	if err != nil {
		return outcome{step: stepEnd, state: groupcast.StateFailed, reason: "render: " + err.Error()}
	}
	if in.variant != nil {
		a = in.variant // the variant's title and body for the content rules
	}
	var links map[string]store.TrackedLink
	if in.track != nil {
		links = in.track.Links
	}
	if in.pol == nil {
		return outcome{step: stepSend, rendered: r, links: links}
	}
	// Policy.
	pin := policy.Input{Announcement: a, Destination: in.dest, Rendered: r, Now: now}
	in.pol.Fill(&pin, in.group)
	if in.review != nil {
		pin.Approved = in.review.Decision == "approved"
	}
	var sent groupcast.Rendered // the tracked text, when links are tracked
	if in.track != nil {
		// The content rules judge the text as written, with its original
		// URLs (a rule on a domain must still fire); what goes out is the
		// tracked text, masked the same way. A URL a mask rule hits was
		// not tracked (Keep above), so it is masked here as written.
		sent = pin.Rendered
		if pin.Rendered, err = in.doc.Render(in.dest, now); err != nil {
			return outcome{step: stepEnd, state: groupcast.StateFailed, reason: "render: " + err.Error()}
		}
	}
	dec := in.pol.Decide(pin)
	if in.track != nil && dec.Action == policy.Send {
		pin.Rendered = sent
		dec.Rendered = in.pol.Decide(pin).Rendered
	}
	o := outcome{decision: dec, policy: in.pol, rendered: dec.Rendered, reason: dec.Reason, links: links}
	switch dec.Action {
	case policy.Send:
		o.step = stepSend
	case policy.Block:
		o.step, o.state = stepEnd, groupcast.StateBlocked
	case policy.Hold:
		o.step, o.state = stepHold, groupcast.StateHeld
		if in.review != nil && in.review.Decision == "rejected" {
			o.step, o.state = stepEnd, groupcast.StateRejected
			o.reason = "rejected by " + in.review.By + ": " + in.review.Reason
		}
	case policy.Defer:
		nb := dec.NotBefore
		o.step, o.state, o.notBefore = stepPark, groupcast.StateDeferred, &nb
		if exp := a.ExpiresAt; exp != nil && !nb.Before(*exp) {
			o.step, o.state, o.notBefore = stepEnd, groupcast.StateExpired, nil
			o.reason = "expires_at " + exp.Format(time.RFC3339) + " comes before " + dec.Reason
		}
	}
	return o
}

// implied is the state a target has while nothing was written for it:
// what its record says.
func implied(rec *store.Record, d groupcast.Destination) *store.TargetRecord {
	return &store.TargetRecord{Target: impliedTarget(rec, d), Key: d.Key(), AcceptedAt: rec.AcceptedAt}
}

// impliedTarget is implied's groupcast.Target (what a status shows).
func impliedTarget(rec *store.Record, d groupcast.Destination) groupcast.Target {
	t := groupcast.Target{Route: d.Route, Platform: d.Platform, Account: d.Account, Group: d.Group,
		Style: d.Style, Variant: d.Variant, State: groupcast.StateQueued, UpdatedAt: rec.AcceptedAt, PlatformMessageIDs: []string{}}
	if sa := sendAt(&rec.Announcement, d); sa != nil && sa.After(rec.AcceptedAt) {
		t.State, t.NotBefore, t.Reason = groupcast.StateScheduled, sa, "send_at"
	}
	t.Record(rec.AcceptedAt)
	return t
}

// sendAt is when a destination may go first: its own time (an A/B test
// by slot), else the announcement's send_at.
func sendAt(a *groupcast.Announcement, d groupcast.Destination) *time.Time {
	if d.SendAt != nil {
		return d.SendAt
	}
	return a.SendAt
}
