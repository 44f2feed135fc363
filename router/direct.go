package router

import (
	"context"
	"fmt"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/transform"
)

// PassThrough is the template of a direct message: the body as it is.
const PassThrough = "{{.Body}}"

// SubmitDirect accepts an internal message (an auto-reply, a welcome) for
// exactly one group of one account, bypassing the routes: no policy (no
// caps, windows or review), the body sent as it is. It then goes like any
// announcement through the account's sender, pacer, pauses and retries,
// and is durable. The id is the idempotency key, as for Submit: the same
// id again answers the stored one (Existing), a different body under it
// ErrConflict. server.max_backlog does not refuse it.
func (s *Service) SubmitDirect(ctx context.Context, a *groupcast.Announcement, account, group string) (groupcast.Accepted, error) {
	if s.closing.Load() {
		return groupcast.Accepted{}, fmt.Errorf("%w: shutting down", groupcast.ErrNotReady)
	}
	if err := s.st.Ready(); err != nil {
		return groupcast.Accepted{}, fmt.Errorf("%w: %v", groupcast.ErrNotReady, err)
	}
	if !groupcast.ValidID(a.ID) {
		return groupcast.Accepted{}, &groupcast.InputError{Code: "invalid", Fields: []*groupcast.FieldError{{Field: "id", Message: "not a valid id"}}}
	}
	cfg := s.cfg.Load()
	acc, ok := cfg.Account(account)
	if !ok {
		return groupcast.Accepted{}, fmt.Errorf("%w: account %s", groupcast.ErrNotFound, account)
	}
	doc := transform.Parse(a)
	if err := doc.Err(); err != nil {
		return groupcast.Accepted{}, err
	}
	d := directDestination(cfg, acc, group)
	s.submitMu.Lock()
	rec := newRecord(cfg, a, []groupcast.Destination{d}, s.clock.Now())
	// Sent as it is: a URL a member wrote (a nickname, the text a reply
	// quotes) never becomes a tracked link on the organisation's domain.
	rec.Tracking = ""
	rec.SubmittedBy = groupcast.PrincipalFrom(ctx)
	answer, err := s.createRecord(ctx, rec, doc, nil)
	if err == nil && !answer.Existing {
		s.log.Info("accepted", "announcement", a.ID, "targets", 1, "title", a.Title, "direct", true)
	}
	return answer, err
}

// directDestination is the one destination of a direct message: route
// "direct", no policy, the long style with a template that passes the body.
func directDestination(cfg *configs.Config, acc *configs.Account, group string) groupcast.Destination {
	return groupcast.Destination{
		Route:    "direct",
		Platform: acc.Platform,
		Account:  acc.Name,
		Group:    group,
		Style:    transform.StyleLong,
		Options:  groupcast.StyleOptions{Template: PassThrough, Org: cfg.Org, Timezone: cfg.Timezone},
	}
}
