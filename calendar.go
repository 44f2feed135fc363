package groupcast

import "time"

// Kinds of calendar item.
const (
	CalendarSchedule  = "schedule"  // a future occurrence of a configured schedule
	CalendarSeries    = "series"    // a later part of a series
	CalendarScheduled = "scheduled" // an announcement waiting for its send_at
	CalendarDeferred  = "deferred"  // a target waiting for its not_before (window, cap, mix, throttle)
	CalendarHeld      = "held"      // an announcement waiting for review
)

// CalendarItem is one entry of GET /v1/calendar: something that will (or
// may) go out at At.
type CalendarItem struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	// Name is the schedule's name (kind schedule); ID the announcement's
	// id (every other kind).
	Name  string `json:"name,omitempty"`
	ID    string `json:"id,omitempty"`
	Title string `json:"title"`
	// Targets lists the targets as "account/group".
	Targets []string `json:"targets"`
}
