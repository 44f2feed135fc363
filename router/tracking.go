package router

import (
	"context"
	"net/http"

	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/tracking"
)

// trackingSecret is the key of tracked-link codes, read (or created) in
// the store once.
func (s *Service) trackingSecret(ctx context.Context) ([]byte, error) {
	if p := s.secret.Load(); p != nil {
		return *p, nil
	}
	b, err := s.st.TrackingSecret(ctx)
	if err != nil {
		return nil, err
	}
	s.secret.Store(&b)
	return b, nil
}

// LinkHandler answers GET /l/{code}: the redirect of a tracked link, and
// its click counted in the store and in groupcast_link_clicks_total.
func (s *Service) LinkHandler() http.Handler {
	return &tracking.Handler{Store: s.st, Now: s.clock.Now, Log: s.log,
		Counted: func(l store.TrackedLink) { s.metrics.LinkClick(l.Platform, l.Variant) }}
}

// Report adds up an announcement's deliveries and counted clicks.
func (s *Service) Report(ctx context.Context, id string) (tracking.Report, error) {
	rec, err := s.st.Record(ctx, id)
	if err != nil {
		return tracking.Report{}, err
	}
	st, err := s.status(ctx, rec)
	if err != nil {
		return tracking.Report{}, err
	}
	clicks, err := s.st.Clicks(ctx, id)
	if err != nil {
		return tracking.Report{}, err
	}
	links := make(map[string]store.TrackedLink, len(clicks))
	for code := range clicks {
		l, ok, err := s.st.Link(ctx, code)
		if err != nil {
			return tracking.Report{}, err
		}
		if ok {
			links[code] = l
		}
	}
	return tracking.BuildReport(st, rec.Tracking != "", clicks, links), nil
}
