package router

import (
	"context"
	"errors"
	"net/http"
	"net/netip"

	"github.com/groupcast/groupcast"
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
// its click counted in the store and in groupcast_link_clicks_total. It
// believes X-Forwarded-For only from tracking.trusted_proxies (as
// configured now), and counts at most the per-client limit
// (groupcast_link_clicks_limited_total counts the rest).
func (s *Service) LinkHandler() http.Handler {
	return &tracking.Handler{Store: s.st, Now: s.clock.Now, Log: s.log,
		Counted:        func(l store.TrackedLink) { s.metrics.LinkClick(l.Platform, l.Variant) },
		Limited:        s.metrics.LinkClickLimited,
		TrustedProxies: func() []netip.Prefix { return s.cfg.Load().Tracking.Proxies }}
}

// Report adds up an announcement's deliveries and counted clicks. The
// report of a series is its parts' reports added up (each part is an
// announcement of its own, with its own targets and links); a part not
// created yet adds nothing.
func (s *Service) Report(ctx context.Context, id string) (tracking.Report, error) {
	rec, err := s.st.Record(ctx, id)
	if err != nil {
		return tracking.Report{}, err
	}
	if len(rec.Parts) == 0 {
		return s.report(ctx, rec)
	}
	parts := make([]tracking.Report, 0, len(rec.Parts))
	for _, p := range rec.Parts {
		prec, err := s.st.Record(ctx, p.ID)
		if errors.Is(err, groupcast.ErrNotFound) {
			continue
		}
		if err != nil {
			return tracking.Report{}, err
		}
		r, err := s.report(ctx, prec)
		if err != nil {
			return tracking.Report{}, err
		}
		parts = append(parts, r)
	}
	return tracking.SeriesReport(rec.Announcement.ID, rec.Announcement.Title, parts), nil
}

// report is the report of one announcement (not a series).
func (s *Service) report(ctx context.Context, rec *store.Record) (tracking.Report, error) {
	id := rec.Announcement.ID
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
