package groupcast

import (
	"testing"
	"time"
)

func TestTimelineRecord(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	nb := t0.Add(time.Hour)
	var tg Target
	tg.State = StateQueued
	tg.Record(t0)
	tg.Record(t0.Add(time.Second)) // unchanged: not recorded twice
	if len(tg.Timeline) != 1 {
		t.Fatalf("timeline %+v, want one entry", tg.Timeline)
	}
	tg.State, tg.Reason, tg.NotBefore = StateDeferred, "window", &nb
	tg.Record(t0.Add(2 * time.Second))
	same := nb
	tg.NotBefore = &same // an equal time is no change
	tg.Record(t0.Add(3 * time.Second))
	if len(tg.Timeline) != 2 || tg.Timeline[1].Reason != "window" {
		t.Fatalf("timeline %+v, want queued then deferred", tg.Timeline)
	}
	for i := range 3 * TimelineMax {
		later := nb.Add(time.Duration(i+1) * time.Hour)
		tg.NotBefore = &later
		tg.Record(later)
	}
	if len(tg.Timeline) != TimelineMax {
		t.Fatalf("timeline has %d entries, want the bound %d", len(tg.Timeline), TimelineMax)
	}
	if tg.Timeline[0].State != StateQueued || !tg.Timeline[0].At.Equal(t0) {
		t.Errorf("first entry %+v, want the state at acceptance", tg.Timeline[0])
	}
	if last := tg.Timeline[TimelineMax-1]; !last.NotBefore.Equal(*tg.NotBefore) {
		t.Errorf("last entry %+v, want the latest change", last)
	}
}
