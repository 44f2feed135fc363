package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/schedule"
	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/transform"
)

// A series (an announcement with series:) is accepted as a record of its
// plan — the announcement as given, with each part's id and time, and no
// destinations of its own — followed by one ordinary announcement per
// part, "<id>-p1" … "<id>-pN", each with its send_at: everything
// downstream (styles, windows, caps, review, recall) is the normal path.
//
// Expanding is three steps, each safe to repeat: a mark "series.<id>" in
// the store, the plan's record (created once), the parts (each created
// once, from the plan alone, so a repeat makes the same parts). The mark
// goes when every part exists. A crash in between leaves the mark: the
// next start of any replica (and a sweep every minute) finishes the
// expansion, and a client retrying the same id does too. So a series is
// never left half planned, and no part is created twice.

// seriesMark is a series being expanded.
type seriesMark struct {
	Since time.Time `json:"since"`
}

func seriesKey(id string) string { return "series." + id }

// partID is the id of a series' part i (from 1).
func partID(id string, i int) string { return fmt.Sprintf("%s-p%d", id, i) }

// partTitle is the title of part i of n: "<title> (i/n)", the title cut to
// fit MaxTitleChars.
func partTitle(title string, i, n int) string {
	suffix := fmt.Sprintf(" (%d/%d)", i, n)
	if r := []rune(title); len(r)+utf8.RuneCountInString(suffix) > groupcast.MaxTitleChars {
		title = string(r[:groupcast.MaxTitleChars-utf8.RuneCountInString(suffix)-1]) + "…"
	}
	return title + suffix
}

// seriesPart is the announcement of part i (from 0) of the series planned
// in rec.
func seriesPart(rec *store.Record, bodies []string, i int) *groupcast.Announcement {
	c := rec.Announcement
	c.Series = nil
	c.ID = rec.Parts[i].ID
	c.Body = bodies[i]
	c.Title = partTitle(rec.Announcement.Title, i+1, len(rec.Parts))
	if i > 0 {
		c.Summary = "" // the summary is the first part's
	}
	c.SendAt = nil
	if at := rec.Parts[i].At; at.After(rec.AcceptedAt) {
		c.SendAt = &at
	}
	return &c
}

func seriesInvalid(field, format string, args ...any) error {
	return &groupcast.InputError{Code: "invalid", Fields: []*groupcast.FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}}}
}

// submitSeries accepts a series: checks every part, writes the mark and
// the plan, and creates the parts.
func (s *Service) submitSeries(ctx context.Context, a *groupcast.Announcement) (groupcast.Accepted, error) {
	cfg := s.cfg.Load()
	bodies := schedule.SplitParts(a.Body)
	n := len(bodies)
	switch {
	case len(a.Variants) > 0:
		return groupcast.Accepted{}, seriesInvalid("variants", "a series cannot be an A/B test: each part would need its own variants; test the wording in a separate announcement")
	case n == 0:
		return groupcast.Accepted{}, seriesInvalid("body", "a series needs at least one part (## headings or --- lines split it)")
	case n > schedule.MaxParts:
		return groupcast.Accepted{}, seriesInvalid("body", "%d parts; a series has at most %d", n, schedule.MaxParts)
	case !groupcast.ValidID(partID(a.ID, n)):
		return groupcast.Accepted{}, seriesInvalid("id", "too long for a series of %d parts: its parts are %s", n, partID(a.ID, n))
	}
	if len(Plan(cfg, a)) == 0 {
		return groupcast.Accepted{}, &groupcast.InputError{Code: "no_route", Fields: []*groupcast.FieldError{{
			Field: "tags", Message: fmt.Sprintf("no route matches category %s, priority %s, tags [%s]",
				a.Category, a.Priority, strings.Join(a.Tags, ", ")),
		}}}
	}
	now := s.clock.Now()
	start := now
	if a.SendAt != nil && a.SendAt.After(now) {
		start = *a.SendAt
	}
	times := schedule.PartTimes(start, a.Series.Every, a.Series.At, n, cfg.Location)
	last := times[n-1]
	if keep := storeRetention(cfg); last.Sub(now) > keep {
		return groupcast.Accepted{}, seriesInvalid("series.every", "the last of %d parts would go out at %s, more than store.retention (%s) ahead",
			n, last.In(cfg.Location).Format(time.RFC3339), keep)
	}
	if a.ExpiresAt != nil && !a.ExpiresAt.After(last) {
		return groupcast.Accepted{}, seriesInvalid("expires_at", "must be after the last part (%s)", last.In(cfg.Location).Format(time.RFC3339))
	}
	rec := newRecord(cfg, a, nil, now)
	rec.SubmittedBy = groupcast.PrincipalFrom(ctx)
	for i, at := range times {
		rec.Parts = append(rec.Parts, store.SeriesPart{ID: partID(a.ID, i+1), At: at.UTC()})
	}
	// Every part must render before anything is written.
	for i := range bodies {
		if err := transform.Parse(seriesPart(rec, bodies, i)).Err(); err != nil {
			var in *groupcast.InputError
			if errors.As(err, &in) {
				for _, f := range in.Fields {
					f.Message = fmt.Sprintf("part %d: %s", i+1, f.Message)
				}
			}
			return groupcast.Accepted{}, err
		}
	}
	if err := s.st.PutJSON(ctx, seriesKey(a.ID), seriesMark{Since: now.UTC()}); err != nil {
		return groupcast.Accepted{}, fmt.Errorf("%w: %v", groupcast.ErrNotReady, err)
	}
	stored, _, err := s.st.CreateRecord(ctx, rec)
	existing := errors.Is(err, store.ErrExists)
	switch {
	case existing && (stored.Digest != rec.Digest || len(stored.Parts) == 0):
		return groupcast.Accepted{}, groupcast.ErrConflict
	case existing:
		rec = stored
	case errors.Is(err, store.ErrTooLarge):
		return groupcast.Accepted{}, fmt.Errorf("%w: %v", groupcast.ErrTooLarge, err)
	case err != nil:
		return groupcast.Accepted{}, fmt.Errorf("%w: %v", groupcast.ErrNotReady, err)
	}
	if err := s.expandSeries(ctx, rec); err != nil {
		// The mark stays: a retry, or the sweep, finishes it.
		return groupcast.Accepted{}, fmt.Errorf("%w: series %s planned, parts not all created yet: %v", groupcast.ErrNotReady, a.ID, err)
	}
	if !existing {
		s.log.Info("series accepted", "announcement", a.ID, "parts", n,
			"first", times[0].In(cfg.Location).Format(time.RFC3339), "last", last.In(cfg.Location).Format(time.RFC3339))
	}
	st, err := s.seriesStatus(ctx, rec)
	if err != nil {
		return groupcast.Accepted{}, err
	}
	return groupcast.Accepted{Status: st, Existing: existing}, nil
}

// expandSeries creates the parts of the series planned in rec that do not
// exist yet (none, once it was recalled), then drops its mark.
func (s *Service) expandSeries(ctx context.Context, rec *store.Record) error {
	id := rec.Announcement.ID
	_, err := s.st.Recall(ctx, id)
	recalled := err == nil
	if err != nil && !errors.Is(err, groupcast.ErrNotFound) {
		return err
	}
	bodies := schedule.SplitParts(rec.Announcement.Body)
	if len(bodies) != len(rec.Parts) {
		return fmt.Errorf("series %s: its body splits into %d parts, its plan has %d", id, len(bodies), len(rec.Parts))
	}
	for i := range rec.Parts {
		if recalled {
			break
		}
		if f := s.seriesFault; f != nil {
			if err := f(i + 1); err != nil {
				return err
			}
		}
		part := i + 1
		_, err := s.submit(groupcast.WithPrincipal(ctx, rec.SubmittedBy), seriesPart(rec, bodies, i), func(r *store.Record) {
			r.Parent, r.Part = id, part
		})
		if errors.Is(err, groupcast.ErrConflict) {
			return fmt.Errorf("part %s exists with other content", rec.Parts[i].ID)
		}
		if err != nil {
			return fmt.Errorf("part %d: %w", part, err)
		}
	}
	return s.st.DeleteJSON(ctx, seriesKey(id))
}

// seriesSweep is how often unfinished series are looked for.
const seriesSweep = time.Minute

// finishSeries completes the series whose expansion a crash (or a store
// outage) interrupted: at start, then every seriesSweep.
func (s *Service) finishSeries(ctx context.Context) {
	for ctx.Err() == nil {
		keys, err := s.st.KeysUnder(ctx, "series.")
		if err != nil && ctx.Err() == nil {
			s.log.Warn("unfinished series not looked for", "err", err)
		}
		for _, k := range keys {
			var m seriesMark
			if found, err := s.st.GetJSON(ctx, k, &m); err != nil || !found {
				continue // finished meanwhile
			}
			id := strings.TrimPrefix(k, "series.")
			rec, err := s.st.Record(ctx, id)
			switch {
			case errors.Is(err, groupcast.ErrNotFound):
				// Marked, never planned (a crash before the plan's write:
				// nobody was told it was accepted). Dropped once old
				// enough that no Submit can still be writing it.
				if s.clock.Now().Sub(m.Since) > seriesSweep {
					_ = s.st.DeleteJSON(ctx, k)
				}
				continue
			case err != nil:
				s.log.Warn("unfinished series not read", "announcement", id, "err", err)
				continue
			}
			if err := s.expandSeries(ctx, rec); err != nil {
				s.log.Warn("unfinished series not finished yet", "announcement", id, "err", err)
				continue
			}
			s.log.Info("unfinished series finished: every part is planned", "announcement", id, "parts", len(rec.Parts))
		}
		sleepCtx(ctx, seriesSweep)
	}
}

// seriesStatus is a series' status: each part's, and every part's targets.
func (s *Service) seriesStatus(ctx context.Context, rec *store.Record) (groupcast.Status, error) {
	accepted := rec.AcceptedAt
	if !rec.StoredAt.IsZero() {
		accepted = rec.StoredAt
	}
	st := groupcast.Status{ID: rec.Announcement.ID, Title: rec.Announcement.Title, AcceptedAt: accepted,
		Targets: []groupcast.Target{}, Parts: make([]groupcast.PartStatus, 0, len(rec.Parts))}
	_, err := s.st.Recall(ctx, rec.Announcement.ID)
	recalled := err == nil
	if err != nil && !errors.Is(err, groupcast.ErrNotFound) {
		return groupcast.Status{}, err
	}
	missing := false
	for i, p := range rec.Parts {
		ps := groupcast.PartStatus{ID: p.ID, Part: i + 1, At: p.At, Title: partTitle(rec.Announcement.Title, i+1, len(rec.Parts))}
		crec, err := s.st.Record(ctx, p.ID)
		switch {
		case errors.Is(err, groupcast.ErrNotFound):
			ps.State = "pending" // not created yet
			if recalled {
				ps.State = string(groupcast.StateRecalled) // and never will be
			} else {
				missing = true
			}
		case err != nil:
			return groupcast.Status{}, err
		default:
			cst, err := s.status(ctx, crec)
			if err != nil {
				return groupcast.Status{}, err
			}
			ps.State = cst.State
			st.Targets = append(st.Targets, cst.Targets...)
		}
		st.Parts = append(st.Parts, ps)
	}
	st.State = groupcast.MessageState(st.Targets)
	if missing {
		st.State = "pending"
	}
	return st, nil
}

// recallSeries asks for every part to be taken back: delivered ones
// recalled, the others never sent; parts not created yet never will be.
func (s *Service) recallSeries(ctx context.Context, rec *store.Record) (groupcast.Status, error) {
	now := s.clock.Now()
	if _, err := s.st.RequestRecall(ctx, rec.Announcement.ID, now); err != nil {
		return groupcast.Status{}, err
	}
	for _, p := range rec.Parts {
		if _, err := s.st.RequestRecall(ctx, p.ID, now); err != nil {
			return groupcast.Status{}, err
		}
	}
	return s.seriesStatus(ctx, rec)
}

// decideSeries approves or rejects the held targets of every part of a
// series; ErrNotHeld when no part has any.
func (s *Service) decideSeries(ctx context.Context, rec *store.Record, approve bool, by, reason string) (groupcast.Status, error) {
	decided := 0
	for _, p := range rec.Parts {
		_, err := s.Decide(ctx, p.ID, approve, by, reason)
		switch {
		case err == nil:
			decided++
		case errors.Is(err, ErrNotHeld), errors.Is(err, groupcast.ErrNotFound):
		default:
			return groupcast.Status{}, err
		}
	}
	if decided == 0 {
		return groupcast.Status{}, ErrNotHeld
	}
	return s.seriesStatus(ctx, rec)
}
