package router

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/transform"
)

// ErrNotHeld: a review decision on an announcement none of whose targets
// is held.
var ErrNotHeld = errors.New("no target of it is held for review")

// Review is one announcement with held targets: what a reviewer needs to
// decide without opening it.
type Review struct {
	groupcast.Status
	// Held counts its targets held for review.
	Held int `json:"held"`
	// Category is the announcement's category.
	Category groupcast.Category `json:"category"`
	// Excerpt is the start of the body as plain text, on one line, at most
	// ExcerptChars characters (an ellipsis marks a cut).
	Excerpt string `json:"excerpt"`
	// RuleHits are the review rules that held it, each once: "rule
	// internal-only: 内部资料".
	RuleHits []string `json:"rule_hits"`
	// SubmittedBy names who submitted it (the API token's name); "" when
	// unknown.
	SubmittedBy string `json:"submitted_by,omitempty"`
}

// approvedBy starts the reason of a target Decide approved.
const approvedBy = "approved by "

// ExcerptChars bounds Review.Excerpt, in characters.
const ExcerptChars = 120

// Reviews lists announcements with targets held for review, oldest first.
func (s *Service) Reviews(ctx context.Context) ([]Review, error) {
	return s.reviews(ctx, nil)
}

// reviews lists the held announcements, leaving out without reading them
// the ids that cannot be held (ledgerSkips) and those skip names.
func (s *Service) reviews(ctx context.Context, skip func(id string) bool) ([]Review, error) {
	ids, err := s.st.IDs(ctx)
	if err != nil {
		return nil, err
	}
	s.skips.retain(ids)
	out := []Review{}
	for _, id := range ids {
		if s.skips.skipReview(id) || (skip != nil && skip(id)) {
			continue
		}
		s.skips.reads.Add(1)
		rec, err := s.st.Record(ctx, id)
		if err != nil {
			continue
		}
		if s.skips.learnRecord(rec); s.skips.skipReview(id) {
			continue
		}
		st, err := s.status(ctx, rec)
		if err != nil {
			continue
		}
		s.skips.learnStatus(st)
		rv := Review{Status: st, Category: rec.Announcement.Category, SubmittedBy: rec.SubmittedBy, RuleHits: []string{}}
		for _, t := range st.Targets {
			if t.State != groupcast.StateHeld {
				continue
			}
			rv.Held++
			hit := strings.TrimPrefix(t.Reason, "review: ")
			if hit != "" && !slices.Contains(rv.RuleHits, hit) {
				rv.RuleHits = append(rv.RuleHits, hit)
			}
		}
		if rv.Held > 0 {
			rv.Excerpt = Excerpt(&rec.Announcement, ExcerptChars)
			out = append(out, rv)
		}
	}
	return out, nil
}

// Excerpt is the start of a's body as plain text on one line (Markdown
// rendered as the long style writes it, without the title), at most max
// characters with "…" marking a cut.
func Excerpt(a *groupcast.Announcement, max int) string {
	text := a.Body
	if r, err := transform.Render(a, groupcast.Destination{Style: transform.StyleLong}, time.Time{}); err == nil {
		text = r.Text
		// The long style starts with the title as 【title】 on its own.
		if first, rest, ok := strings.Cut(text, "\n\n"); ok && strings.Contains(first, strings.TrimSpace(a.Title)) {
			text = rest
		} else if !ok && strings.Contains(text, strings.TrimSpace(a.Title)) {
			text = ""
		}
	}
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > max {
		text = strings.TrimSpace(string(r[:max-1])) + "…"
	}
	return text
}

// Announcement reads a stored announcement as it was accepted.
func (s *Service) Announcement(ctx context.Context, id string) (*groupcast.Announcement, error) {
	rec, err := s.st.Record(ctx, id)
	if err != nil {
		return nil, err
	}
	a := rec.Announcement
	return &a, nil
}

// Decide approves or rejects every held target of an announcement, and
// records who decided and when. Approved targets are queued again (the
// other rules, windows and caps still apply) and their account's sender
// takes them in order at once, on whichever replica owns it; rejected ones
// end rejected. ErrNotHeld when nothing is held.
func (s *Service) Decide(ctx context.Context, id string, approve bool, by, reason string) (groupcast.Status, error) {
	rec, err := s.st.Record(ctx, id)
	if err != nil {
		return groupcast.Status{}, err
	}
	if len(rec.Parts) > 0 {
		return s.decideSeries(ctx, rec, approve, by, reason) // series.go: every held part
	}
	decision := "rejected"
	if approve {
		decision = "approved"
	}
	held := 0
	for _, d := range rec.Destinations {
		_, err := s.settle(ctx, rec, d, func(t *store.TargetRecord) error {
			if t.State != groupcast.StateHeld {
				return store.ErrUnchanged
			}
			if approve {
				t.State, t.Reason = groupcast.StateQueued, approvedBy+by
			} else {
				t.State, t.Reason = groupcast.StateRejected, "rejected by "+by+": "+reason
			}
			t.NotBefore = nil
			return nil
		})
		switch {
		case errors.Is(err, store.ErrUnchanged), errors.Is(err, groupcast.ErrNotFound):
		case err != nil:
			return groupcast.Status{}, err
		default:
			held++
		}
	}
	if held == 0 {
		return groupcast.Status{}, ErrNotHeld
	}
	// The decision is the event the senders follow: written last, so they
	// find the targets released.
	if err := s.st.PutReview(ctx, id, store.Review{Decision: decision, By: by, Reason: reason, At: s.clock.Now()}); err != nil {
		return groupcast.Status{}, err
	}
	return s.status(ctx, rec)
}
