// Package policy decides, before every send, whether one target of an
// announcement goes out now: the operating rules of group work (send
// windows, daily caps by group stage, content rules and review, content mix)
// turned into a pure function of the target, the clock and the group's
// state.
//
// Decide does no I/O. The caller reads the group's GroupState (one
// document per group), fills the input from it, decides, and on Send takes
// the daily-cap slot with one compare-and-set of that document (Take):
//
//	pol.Fill(&in, g)
//	d := pol.Decide(in)
//	switch d.Action {
//	case policy.Send:
//		// in a compare-and-set of g: ok := pol.Take(&g, category, now, d.Limit)
//		// (a single sender keeping g: ok, write := pol.Reserve(...), and
//		// the compare-and-set only when write)
//		// !ok: another sender took the last slot; read g again and decide
//		// again (the cap deferral). Send d.Rendered; on a permanent failure
//		// GiveBack the slot.
//	case policy.Defer: // redeliver at d.NotBefore (expired first if expires_at comes sooner)
//	case policy.Hold:  // held for review
//	case policy.Block: // blocked, with d.Reason
//	}
//
// The order of checks, first answer wins:
//
//  1. Content rules that apply to the announcement's category, on its
//     title and on this target's rendered title, text, link titles and
//     image descriptions (a term can be in one style's output and not
//     another's). Every rule is evaluated and every hit reported; a block
//     hit blocks, else a review hit holds (unless already approved), else
//     mask hits are masked and checks go on. Rules apply to urgent
//     announcements too.
//  2. send_at: before it, defer to it (to the next window from it, unless
//     urgent). The router normally keeps such targets scheduled; this is a
//     guard so a decision is never early.
//  3. Urgent announcements go now (they still count toward the daily cap).
//  4. Windows: outside every window, defer to the next window start.
//  5. Daily cap for the group's stage: at the cap, defer to the next day's
//     first window start.
//  6. Mix: a promotion or interaction that would push its share of the
//     group's deliveries over the rolling window past the limit is deferred
//     until it fits (or blocked, with mix.action block).
//  7. Send.
//
// Expiry is the caller's: a deferral whose NotBefore is at or after
// expires_at should end the target expired at expires_at instead.
package policy

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
)

// DefaultMixWindow is the rolling window of the content mix when limits are
// set without one: a week, the rhythm of a content calendar.
const DefaultMixWindow = 168 * time.Hour

// Policy is a compiled configs.Policy. It is immutable and safe for
// concurrent use.
type Policy struct {
	name        string
	loc         *time.Location
	windows     []window
	capNew      int
	capMature   int
	auto        bool // daily_cap.auto: GroupState.AutoCap lowers the cap
	matureAfter time.Duration
	rules       []rule
	mixPromo    float64
	mixInter    float64
	mixWindow   time.Duration
	mixBlock    bool
}

// Compile checks and compiles a policy: windows parsed, presets expanded,
// patterns compiled. Times are local to loc (UTC when nil). Every problem is
// reported at once, joined, each a *groupcast.FieldError whose field is
// relative to the policy ("windows[1]", "rules[0].pattern", "mix.window").
func Compile(c configs.Policy, loc *time.Location) (*Policy, error) {
	if loc == nil {
		loc = time.UTC
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &groupcast.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	p := &Policy{
		name:        c.Name,
		loc:         loc,
		capNew:      c.DailyCap.New,
		capMature:   c.DailyCap.Mature,
		auto:        c.DailyCap.Auto,
		matureAfter: c.MatureAfter,
		mixPromo:    c.Mix.Promotion,
		mixInter:    c.Mix.Interaction,
		mixWindow:   c.Mix.Window,
	}
	for i, s := range c.Windows {
		w, err := parseWindow(s)
		if err != nil {
			bad(fmt.Sprintf("windows[%d]", i), "%v", err)
			continue
		}
		p.windows = append(p.windows, w)
	}
	if c.DailyCap.New < 0 {
		bad("daily_cap.new", "%d: must be 0 (no cap) or more", c.DailyCap.New)
	}
	if c.DailyCap.Mature < 0 {
		bad("daily_cap.mature", "%d: must be 0 (no cap) or more", c.DailyCap.Mature)
	}
	if dc := c.DailyCap; dc.Auto {
		if dc.New <= 0 && dc.Mature <= 0 {
			bad("daily_cap.auto", "needs a cap to lower: set daily_cap.new or daily_cap.mature")
		}
	}
	if t := c.DailyCap.AutoThreshold; t < 0 || t > 1 {
		bad("daily_cap.auto_threshold", "%v: must be a leave rate between 0 and 1 (default %v)", t, configs.DefaultAutoThreshold)
	}
	if c.DailyCap.AutoStep < 0 {
		bad("daily_cap.auto_step", "%d: must be 1 or more (default %d)", c.DailyCap.AutoStep, configs.DefaultAutoStep)
	}
	if c.DailyCap.AutoMin < 0 {
		bad("daily_cap.auto_min", "%d: must be 1 or more (default %d)", c.DailyCap.AutoMin, configs.DefaultAutoMin)
	}
	if c.MatureAfter < 0 {
		bad("mature_after", "%v: must not be negative", c.MatureAfter)
	}
	names := make(map[string]int)
	for i, r := range c.Rules {
		cr, ok := compileRule(i, r, &errs)
		if !ok {
			continue
		}
		if j, dup := names[cr.name]; dup {
			bad(fmt.Sprintf("rules[%d].name", i), "%q is already the name of rules[%d]", cr.name, j)
			continue
		}
		names[cr.name] = i
		p.rules = append(p.rules, cr)
	}
	for _, m := range []struct {
		field string
		v     float64
	}{{"mix.promotion", c.Mix.Promotion}, {"mix.interaction", c.Mix.Interaction}} {
		if math.IsNaN(m.v) || m.v < 0 || m.v > 1 {
			bad(m.field, "%v: a share between 0 (no limit) and 1", m.v)
		}
	}
	switch {
	case c.Mix.Window < 0:
		bad("mix.window", "%v: must not be negative", c.Mix.Window)
	case c.Mix.Window == 0:
		p.mixWindow = DefaultMixWindow
	}
	switch c.Mix.Action {
	case "", "defer":
	case "block":
		p.mixBlock = true
	default:
		bad("mix.action", "%q is not one of defer, block", c.Mix.Action)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// Name is the policy's name.
func (p *Policy) Name() string { return p.name }

// Location is the zone windows and days are read in.
func (p *Policy) Location() *time.Location { return p.loc }

// MixWindow is how far back Input.Recent must reach: deliveries older than
// this are not counted.
func (p *Policy) MixWindow() time.Duration { return p.mixWindow }

// Action is what to do with a target now.
type Action int

const (
	// Send now: Decision.Rendered, possibly masked.
	Send Action = iota
	// Defer until Decision.NotBefore.
	Defer
	// Hold for review.
	Hold
	// Block: the target ends blocked.
	Block
)

func (a Action) String() string {
	switch a {
	case Send:
		return "send"
	case Defer:
		return "defer"
	case Hold:
		return "hold"
	case Block:
		return "block"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Delivery is one earlier delivery to the group, for the content mix.
type Delivery struct {
	At       time.Time
	Category groupcast.Category
}

// Input is everything a decision depends on. The caller reads the counters
// from the store; Decide only reads Input.
type Input struct {
	Announcement *groupcast.Announcement
	Destination  groupcast.Destination
	// Rendered is this target's text, as its style wrote it.
	Rendered groupcast.Rendered
	// Now is the clock.
	Now time.Time
	// Approved: review already approved for this announcement.
	Approved bool
	// SentToday is the group's daily-cap counter for DayKey(Now).
	SentToday int
	// FirstDelivery is the group's first delivery (zero: never), which
	// decides its stage when the destination sets none.
	FirstDelivery time.Time
	// Recent are the group's deliveries within MixWindow before Now, in any
	// order (older ones are ignored). Only needed when the policy has a mix.
	Recent []Delivery
	// AutoCap is the group's cap as daily_cap.auto lowered it (0: not
	// lowered); it applies only when the policy has daily_cap.auto.
	AutoCap int
}

// Hit is one content rule matching one term. Rule and Action are the labels
// of groupcast_rule_hits_total.
type Hit struct {
	Rule   string
	Action string // block | mask | review
	Term   string // the configured term, or the text a pattern matched
}

// Decision is the answer for one target at one instant.
type Decision struct {
	Action Action
	// NotBefore is when to try again (Defer only).
	NotBefore time.Time
	// Reason says why, starting with the check that answered: "window: next
	// opens 19:00", "daily_cap: 3/3 for new group, next day 08:00",
	// "rule ad-law: 最佳", "review: rule internal: 内部资料", "mix: promotion
	// 2/10 over 168h exceeds 0.10, fits 12-03 08:00", "send_at: 12-01 08:00".
	// Empty for a plain Send.
	Reason string
	// Rendered is what to send: the input with mask rules applied.
	Rendered groupcast.Rendered
	// Hits lists every rule hit, once per rule and term, in rule order.
	// Terms matching where they overlap are one hit, by the longest term
	// ("全网最低价", not also 全网最 and 最低价).
	Hits []Hit
	// CountsToCap: this send must take a daily-cap slot (the policy has a
	// daily cap; urgent sends count too).
	CountsToCap bool
	// Limit is the cap to reserve against: the stage's daily cap, or 0 (no
	// limit, just count) for urgent sends and uncapped stages.
	Limit int64
}

// Stage is the group's stage: the destination's if set, else mature once
// MatureAfter has passed since its first delivery, else new.
func (p *Policy) Stage(in Input) groupcast.Stage {
	if in.Destination.Stage != "" {
		return in.Destination.Stage
	}
	if p.matureAfter > 0 && !in.FirstDelivery.IsZero() && in.Now.Sub(in.FirstDelivery) >= p.matureAfter {
		return groupcast.StageMature
	}
	return groupcast.StageNew
}

// Cap is the daily cap for a stage; 0 means none.
func (p *Policy) Cap(s groupcast.Stage) int {
	if s == groupcast.StageMature {
		return p.capMature
	}
	return p.capNew
}

var noAnnouncement groupcast.Announcement

// Decide answers what to do with one target now. It is pure: the same Input
// gives the same Decision.
func (p *Policy) Decide(in Input) Decision {
	a := in.Announcement
	if a == nil {
		a = &noAnnouncement
	}
	now := in.Now.In(p.loc)
	d := Decision{Rendered: in.Rendered}

	// 1. Content rules.
	if len(p.rules) > 0 {
		cat := categoryBit(a.Category)
		res := p.scan(cat, a.Title, &in.Rendered)
		d.Hits = res.hits
		switch {
		case res.block >= 0:
			name := p.rules[res.block].name
			d.Action = Block
			d.Reason = "rule " + name + ": " + res.termsOf(name)
			return d
		case res.review >= 0 && !in.Approved:
			name := p.rules[res.review].name
			d.Action = Hold
			d.Reason = "review: rule " + name + ": " + res.termsOf(name)
			return d
		case res.mask >= 0:
			d.Rendered = p.mask(cat, in.Rendered)
		}
	}
	urgent := a.Urgent()

	// 2. send_at (normally the router's scheduled state).
	if a.SendAt != nil && now.Before(*a.SendAt) {
		at := a.SendAt.In(p.loc)
		if !urgent {
			at = p.NextWindow(at)
		}
		return p.deferTo(d, at, "send_at: "+when(now, a.SendAt.In(p.loc)))
	}

	stageCap := p.Cap(p.Stage(in))
	lowered := ""
	if p.auto && in.AutoCap > 0 && (stageCap == 0 || in.AutoCap < stageCap) {
		stageCap, lowered = in.AutoCap, ", lowered by daily_cap.auto"
	}
	d.CountsToCap = p.capNew > 0 || p.capMature > 0

	// 3. Urgent: windows, caps and mix do not hold it back.
	if urgent {
		return d
	}

	// 4. Windows.
	if next := p.NextWindow(now); !next.Equal(now) {
		return p.deferTo(d, next, "window: next opens "+when(now, next))
	}

	// 5. Daily cap.
	if stageCap > 0 && in.SentToday >= stageCap {
		next := p.NextDay(now)
		return p.deferTo(d, next, fmt.Sprintf("daily_cap: %d/%d for %s group%s, next day %s",
			in.SentToday, stageCap, p.Stage(in), lowered, when(now.AddDate(0, 0, 1), next)))
	}

	// 6. Mix.
	if limit := p.mixLimit(a.Category); limit > 0 {
		if fits, reason, at := p.mixFits(a.Category, limit, now, in.Recent); !fits {
			if p.mixBlock {
				d.Action = Block
				d.Reason = reason
				return d
			}
			// Deliveries of other categories may make room sooner than the
			// oldest ones leaving the window: look again the next day.
			if next := p.NextDay(now); next.Before(at) {
				at = next
			}
			at = p.NextWindow(at)
			return p.deferTo(d, at, reason+", fits "+when(now, at))
		}
	}

	// 7. Send.
	d.Limit = int64(stageCap)
	return d
}

func (p *Policy) deferTo(d Decision, at time.Time, reason string) Decision {
	d.Action = Defer
	d.NotBefore = at
	d.Reason = reason
	d.CountsToCap = false
	d.Limit = 0
	return d
}

// when formats t for a reason: "19:00" on now's local day, "11-27 08:00"
// within the year, else "2027-01-02 08:00".
func when(now, t time.Time) string {
	ny, nm, nd := now.Date()
	ty, tm, td := t.Date()
	switch {
	case ny == ty && nm == tm && nd == td:
		return t.Format("15:04")
	case ny == ty:
		return t.Format("01-02 15:04")
	}
	return t.Format("2006-01-02 15:04")
}

func (p *Policy) mixLimit(c groupcast.Category) float64 {
	var l float64
	switch c {
	case groupcast.CategoryPromotion:
		l = p.mixPromo
	case groupcast.CategoryInteraction:
		l = p.mixInter
	}
	if l >= 1 {
		return 0
	}
	return l
}

// shareFits: one more delivery of the category, on top of n of total,
// stays within limit. The first one in the window always fits: a quiet
// group still gets its weekly promotion, and from the second on the share
// holds.
func shareFits(n, total int, limit float64) bool {
	return n == 0 || float64(n+1) <= limit*float64(total+1)+1e-9
}

// mixFits reports whether one more delivery of category c fits the limit
// over the window ending now; if not, the reason and the earliest time it
// fits as the counted deliveries leave the window (with no new ones).
func (p *Policy) mixFits(c groupcast.Category, limit float64, now time.Time, recent []Delivery) (bool, string, time.Time) {
	from := now.Add(-p.mixWindow)
	n, total := 0, 0
	for _, r := range recent {
		if r.At.After(from) {
			total++
			if r.Category == c {
				n++
			}
		}
	}
	if shareFits(n, total, limit) {
		return true, "", time.Time{}
	}
	reason := fmt.Sprintf("mix: %s %d/%d over %s exceeds %.2f", c, n+1, total+1, durationString(p.mixWindow), limit)
	inWindow := make([]Delivery, 0, total)
	for _, r := range recent {
		if r.At.After(from) {
			inWindow = append(inWindow, r)
		}
	}
	slices.SortFunc(inWindow, func(x, y Delivery) int { return x.At.Compare(y.At) })
	at := now
	for _, r := range inWindow {
		total--
		if r.Category == c {
			n--
		}
		at = r.At.Add(p.mixWindow)
		if shareFits(n, total, limit) {
			break
		}
	}
	if at.Before(now) {
		at = now
	}
	return false, reason, at.In(p.loc)
}

// durationString writes 168h rather than 168h0m0s.
func durationString(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Earliest is when the target would go out if nothing else were delivered
// to its group meanwhile: Now when Decide says Send, the end of the chain of
// deferrals otherwise (a new local day resets SentToday). ok is false when
// the target is blocked or held for review. For preview.
func (p *Policy) Earliest(in Input) (at time.Time, ok bool) {
	day := p.DayKey(in.Now)
	for range 32 {
		d := p.Decide(in)
		switch d.Action {
		case Send:
			return in.Now.In(p.loc), true
		case Defer:
			if !d.NotBefore.After(in.Now) {
				return d.NotBefore, true
			}
			in.Now = d.NotBefore
			if k := p.DayKey(in.Now); k != day {
				day, in.SentToday = k, 0
			}
		default:
			return time.Time{}, false
		}
	}
	return in.Now.In(p.loc), true
}
