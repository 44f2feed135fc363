package router

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/schedule"
	"github.com/groupcast/groupcast/store"
)

// MaxCalendarRange is the longest range Calendar answers for.
const MaxCalendarRange = 62 * 24 * time.Hour

// maxCalendarOccurrences bounds the occurrences of one schedule in one
// answer (a schedule every minute has 89,280 in 62 days).
const maxCalendarOccurrences = 500

// Calendar lists what will (or may) go out in [from, to), by time:
//
//   - schedule: the future occurrences of the configured schedules, with
//     the title their announcement renders to now and the targets its
//     routes give;
//   - series: the parts of a series still waiting for their time;
//   - scheduled: announcements waiting for their send_at;
//   - deferred: targets waiting for their not_before (a window, a cap, the
//     mix, a platform pause), one item per announcement and time;
//   - held: announcements waiting for review, at the time they would go
//     out if approved now (their not_before, else now).
//
// Items at the same time and of the same announcement are one item with
// every target. The range is at most MaxCalendarRange.
func (s *Service) Calendar(ctx context.Context, from, to time.Time) ([]groupcast.CalendarItem, error) {
	switch {
	case !to.After(from):
		return nil, &groupcast.InputError{Code: "invalid", Fields: []*groupcast.FieldError{{Field: "to", Message: "must be after from"}}}
	case to.Sub(from) > MaxCalendarRange:
		return nil, &groupcast.InputError{Code: "invalid", Fields: []*groupcast.FieldError{{Field: "to",
			Message: fmt.Sprintf("the range is %s; at most %s (62 days)", to.Sub(from).Round(time.Hour), MaxCalendarRange)}}}
	}
	cfg := s.cfg.Load()
	now := s.clock.Now()
	items := s.scheduleItems(cfg, from, to, now)
	stored, err := s.storedItems(ctx, from, to, now)
	if err != nil {
		return nil, err
	}
	items = append(items, stored...)
	kindOrder := map[string]int{groupcast.CalendarSchedule: 0, groupcast.CalendarSeries: 1, groupcast.CalendarScheduled: 2,
		groupcast.CalendarDeferred: 3, groupcast.CalendarHeld: 4}
	slices.SortStableFunc(items, func(a, b groupcast.CalendarItem) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return items, nil
}

// scheduleItems are the schedules' occurrences in [from, to) after now.
func (s *Service) scheduleItems(cfg *configs.Config, from, to, now time.Time) []groupcast.CalendarItem {
	items := []groupcast.CalendarItem{}
	after := from.Add(-time.Nanosecond)
	if now.After(after) {
		after = now
	}
	for _, sch := range cfg.Schedules {
		c, err := s.scheduleCron(cfg, sch)
		if err != nil {
			continue
		}
		src := sch.Source().Read() // the file once per request, not once per occurrence
		occs, _ := c.Between(after, to.Add(-time.Nanosecond), maxCalendarOccurrences)
		for _, o := range occs {
			if !sch.UntilDate.IsZero() && o.Local.After(sch.UntilDate.Add(24*time.Hour-time.Minute)) {
				break
			}
			it := groupcast.CalendarItem{At: o.At, Kind: groupcast.CalendarSchedule, Name: sch.Name, Title: sch.Name, Targets: []string{}}
			if a, err := src.Build(schedule.DataFor(sch.Name, c, o, sch.StartDate)); err == nil {
				it.Title = a.Title
				for _, d := range Plan(cfg, a) {
					it.Targets = append(it.Targets, d.Account+"/"+d.Group)
				}
			} else {
				it.Title = sch.Name + ": " + err.Error()
			}
			items = append(items, it)
		}
	}
	return items
}

// scheduleCron is a schedule's parsed cron: the scheduler's when it has
// parsed the same expression in the same zone, else parsed here.
func (s *Service) scheduleCron(cfg *configs.Config, sch configs.Schedule) (*schedule.Cron, error) {
	if s.sched != nil {
		s.sched.mu.Lock()
		c := s.sched.crons[sch.Name]
		s.sched.mu.Unlock()
		if c != nil && c.String() == sch.Cron && c.Location() == cfg.Location {
			return c, nil
		}
	}
	return sch.CronIn(cfg.Location)
}

// storedItems are the stored announcements' targets waiting in [from, to).
func (s *Service) storedItems(ctx context.Context, from, to, now time.Time) ([]groupcast.CalendarItem, error) {
	ids, err := s.st.IDs(ctx)
	if err != nil {
		return nil, err
	}
	s.skips.retain(ids)
	var items []groupcast.CalendarItem
	for _, id := range ids {
		if s.skips.skipCalendar(id) {
			continue // settled, or a series (ledgerSkips)
		}
		s.skips.reads.Add(1)
		rec, err := s.calendarRecord(ctx, id)
		if errors.Is(err, groupcast.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.skips.learnRecord(rec)
		if len(rec.Parts) > 0 {
			continue // a series: its parts are announcements of their own
		}
		st, err := s.status(ctx, rec)
		if err != nil {
			return nil, err
		}
		s.skips.learnStatus(st)
		byKey := map[string]int{} // kind + time → index in items
		for _, t := range st.Targets {
			var kind string
			var at time.Time
			switch t.State {
			case groupcast.StateScheduled:
				kind = groupcast.CalendarScheduled
				if rec.Parent != "" {
					kind = groupcast.CalendarSeries
				}
			case groupcast.StateDeferred:
				kind = groupcast.CalendarDeferred
			case groupcast.StateHeld:
				kind, at = groupcast.CalendarHeld, now
			default:
				continue
			}
			if t.NotBefore != nil && t.NotBefore.After(at) {
				at = *t.NotBefore
			}
			if at.Before(from) || !at.Before(to) {
				continue
			}
			key := kind + at.UTC().Format(time.RFC3339Nano)
			i, ok := byKey[key]
			if !ok {
				i = len(items)
				byKey[key] = i
				items = append(items, groupcast.CalendarItem{At: at, Kind: kind, ID: id, Title: rec.Announcement.Title, Targets: []string{}})
			}
			items[i].Targets = append(items[i].Targets, t.Account+"/"+t.Group)
		}
	}
	return items, nil
}

// calendarRecord reads a record from this process's cache when it has it,
// else from the store (without caching it: a calendar reads every record
// once, and must not push out what the senders use; nor does a hit move
// an entry: see recordCache.peek).
func (s *Service) calendarRecord(ctx context.Context, id string) (*store.Record, error) {
	if c, ok := s.records.peek(id); ok {
		return c.rec, nil
	}
	return s.st.Record(ctx, id)
}
