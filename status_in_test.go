package groupcast

import (
	"testing"
	"time"
)

// TestStatusIn: every time of a status is answered in the configured zone
// — accepted_at, each target's updated_at, not_before and timeline, each
// part's at — each target carries max_attempts, and the original is left
// as it was.
func TestStatusIn(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	nb := at.Add(time.Hour)
	st := Status{AcceptedAt: at, Parts: []PartStatus{{ID: "p1", At: at}},
		Targets: []Target{{UpdatedAt: at, NotBefore: &nb, Timeline: []Transition{{At: at, NotBefore: &nb}}}}}
	got := st.In(sh, 7)
	zoned := func(what string, v time.Time) {
		t.Helper()
		if v.Location() != sh || !v.Equal(at) && !v.Equal(nb) {
			t.Errorf("%s: %v, want the same instant in Asia/Shanghai", what, v)
		}
	}
	zoned("accepted_at", got.AcceptedAt)
	zoned("part at", got.Parts[0].At)
	tg := got.Targets[0]
	zoned("updated_at", tg.UpdatedAt)
	zoned("not_before", *tg.NotBefore)
	zoned("timeline at", tg.Timeline[0].At)
	zoned("timeline not_before", *tg.Timeline[0].NotBefore)
	if tg.MaxAttempts != 7 {
		t.Errorf("max_attempts %d, want 7", tg.MaxAttempts)
	}
	if st.Targets[0].UpdatedAt.Location() != time.UTC || st.Targets[0].Timeline[0].At.Location() != time.UTC || st.Parts[0].At.Location() != time.UTC {
		t.Error("the original status was changed")
	}
}
