package policy

import (
	"errors"
	"testing"
	"time"

	"github.com/groupcast/groupcast/configs"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func TestNextWindow(t *testing.T) {
	tests := []struct {
		name    string
		zone    string
		windows []string
		at      string // local "2006-01-02 15:04[:05]" or RFC 3339 (for ambiguous local times)
		want    string // same; "=" for at itself
	}{
		{"no windows is always open", "Asia/Shanghai", nil, "2026-11-26 03:00", "="},
		{"whole day", "Asia/Shanghai", []string{"00:00-24:00"}, "2026-11-26 23:59:59", "="},
		{"several windows, first", "Asia/Shanghai", []string{"19:00-22:00", "08:00-09:00", "12:00-14:00"}, "2026-11-26 06:00", "2026-11-26 08:00"},
		{"several windows, last second", "Asia/Shanghai", []string{"19:00-22:00", "08:00-09:00"}, "2026-11-26 21:59:59", "="},
		{"several windows, overnight", "Asia/Shanghai", []string{"19:00-22:00", "08:00-09:00"}, "2026-11-26 22:00", "2026-11-27 08:00"},
		{"nanosecond before a start", "Asia/Shanghai", []string{"08:00-09:00"}, "2026-11-26T07:59:59.999999999+08:00", "2026-11-26 08:00"},

		// Crossing midnight.
		{"cross: before start", "Asia/Shanghai", []string{"22:00-02:00"}, "2026-11-26 21:59", "2026-11-26 22:00"},
		{"cross: evening part", "Asia/Shanghai", []string{"22:00-02:00"}, "2026-11-26 23:59", "="},
		{"cross: midnight", "Asia/Shanghai", []string{"22:00-02:00"}, "2026-11-27 00:00", "="},
		{"cross: morning part", "Asia/Shanghai", []string{"22:00-02:00"}, "2026-11-27 01:59:59", "="},
		{"cross: end exclusive", "Asia/Shanghai", []string{"22:00-02:00"}, "2026-11-27 02:00", "2026-11-27 22:00"},
		{"to 24:00: last second", "Asia/Shanghai", []string{"20:00-24:00"}, "2026-11-26 23:59:59", "="},
		{"to 24:00: midnight is out", "Asia/Shanghai", []string{"20:00-24:00"}, "2026-11-27 00:00", "2026-11-27 20:00"},
		{"to 00:00 is to 24:00", "Asia/Shanghai", []string{"20:00-00:00"}, "2026-11-27 00:00", "2026-11-27 20:00"},
		{"from 00:00", "Asia/Shanghai", []string{"00:00-06:00"}, "2026-11-26 23:00", "2026-11-27 00:00"},

		// America/New_York: 2026-03-08 02:00 EST jumps to 03:00 EDT;
		// 2026-11-01 02:00 EDT falls back to 01:00 EST.
		{"DST: morning window after spring forward", "America/New_York", []string{"08:00-09:00"}, "2026-03-07 22:00", "2026-03-08T08:00:00-04:00"},
		{"DST: start in the gap opens at the jump", "America/New_York", []string{"02:30-04:00"}, "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"},
		{"DST: at the jump it is open", "America/New_York", []string{"02:30-04:00"}, "2026-03-08T03:00:00-04:00", "="},
		{"DST: window wholly in the gap skips the day", "America/New_York", []string{"02:10-02:50"}, "2026-03-08T01:00:00-05:00", "2026-03-09T02:10:00-04:00"},
		{"DST: cross-midnight window over the jump", "America/New_York", []string{"22:00-02:30"}, "2026-03-08T01:59:59-05:00", "="},
		{"DST: cross-midnight window closed after the jump", "America/New_York", []string{"22:00-02:30"}, "2026-03-08T03:00:00-04:00", "2026-03-08T22:00:00-04:00"},
		{"DST: first 01:30 after fall back", "America/New_York", []string{"01:30-02:00"}, "2026-11-01T01:10:00-04:00", "2026-11-01T01:30:00-04:00"},
		{"DST: inside the first pass", "America/New_York", []string{"01:30-02:00"}, "2026-11-01T01:59:59-04:00", "="},
		{"DST: the repeated hour opens again", "America/New_York", []string{"01:30-02:00"}, "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00"},
		{"DST: evening window on the short day", "America/New_York", []string{"19:00-22:00"}, "2026-03-08T12:00:00-04:00", "2026-03-08T19:00:00-04:00"},

		// Half-hour DST (Lord Howe: 02:00 +1030 jumps to 02:30 +11).
		{"half-hour DST gap", "Australia/Lord_Howe", []string{"02:15-03:00"}, "2026-10-04T01:00:00+10:30", "2026-10-04T02:30:00+11:00"},
		// Santiago jumps from 24:00 to 01:00: midnight does not exist.
		{"gap at midnight", "America/Santiago", []string{"00:00-06:00"}, "2026-09-05T23:00:00-04:00", "2026-09-06T01:00:00-03:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustLoc(t, tt.zone)
			pol := mustCompile(t, configs.Policy{Windows: tt.windows}, loc)
			at := clock(t, loc, tt.at)
			want := at
			if tt.want != "=" {
				want = clock(t, loc, tt.want)
			}
			got := pol.NextWindow(at)
			if !got.Equal(want) {
				t.Fatalf("NextWindow(%v) = %v, want %v", at, got, want)
			}
			if got.Location() != loc {
				t.Errorf("location %v, want %v", got.Location(), loc)
			}
			if open := pol.Open(at); open != (tt.want == "=") {
				t.Errorf("Open(%v) = %v", at, open)
			}
			if !pol.Open(got) {
				t.Errorf("Open(%v) = false at the answer", got)
			}
		})
	}
}

func TestNextDayAndDayKey(t *testing.T) {
	spec := []string{"08:00-09:00", "12:00-14:00", "19:00-22:00"}
	tests := []struct {
		name    string
		zone    string
		windows []string
		at      string
		day     string
		next    string
	}{
		{"shanghai", "Asia/Shanghai", spec, "2026-11-26 12:30", "20261126", "2026-11-27 08:00"},
		{"last second of the day", "Asia/Shanghai", spec, "2026-11-26 23:59:59", "20261126", "2026-11-27 08:00"},
		{"utc instant, local day", "Asia/Shanghai", spec, "2026-11-26T16:00:00Z", "20261127", "2026-11-28 08:00"},
		{"month and year end", "Asia/Shanghai", spec, "2026-12-31 20:00", "20261231", "2027-01-01 08:00"},
		{"no windows: midnight", "Asia/Shanghai", nil, "2026-11-26 12:30", "20261126", "2026-11-27 00:00"},
		{"cross-midnight window: midnight", "Asia/Shanghai", []string{"22:00-02:00"}, "2026-11-26 23:00", "20261126", "2026-11-27 00:00"},
		{"over spring forward", "America/New_York", spec, "2026-03-07 21:00", "20260307", "2026-03-08T08:00:00-04:00"},
		{"over fall back", "America/New_York", spec, "2026-10-31 21:00", "20261031", "2026-11-01T08:00:00-05:00"},
		{"during the repeated hour", "America/New_York", nil, "2026-11-01T01:30:00-05:00", "20261101", "2026-11-02T00:00:00-05:00"},
		{"missing midnight", "America/Santiago", nil, "2026-09-05 21:00", "20260905", "2026-09-06T01:00:00-03:00"},
		{"missing midnight, windows", "America/Santiago", spec, "2026-09-05 21:00", "20260905", "2026-09-06T08:00:00-03:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustLoc(t, tt.zone)
			pol := mustCompile(t, configs.Policy{Windows: tt.windows}, loc)
			at := clock(t, loc, tt.at)
			if got := pol.DayKey(at); got != tt.day {
				t.Errorf("DayKey = %s, want %s", got, tt.day)
			}
			want := clock(t, loc, tt.next)
			got := pol.NextDay(at)
			if !got.Equal(want) {
				t.Fatalf("NextDay = %v, want %v", got, want)
			}
			if pol.DayKey(got) == pol.DayKey(at) {
				t.Errorf("NextDay %v is on the same day", got)
			}
		})
	}
}

func TestCapDeferralAcrossDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	pol := mustCompile(t, specPolicy(), ny)
	d := pol.Decide(Input{Now: clock(t, ny, "2026-03-07 20:00"), SentToday: 3, Rendered: rendered("x")})
	checkDecision(t, ny, d, Defer, "2026-03-08T08:00:00-04:00", "daily_cap: 3/3 for new group, next day 08:00")
}

var fuzzZones = []string{"UTC", "Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kathmandu", "Europe/London"}

// FuzzNextWindow checks the window math against its definition: the answer
// is not before t, is open, and nothing between t and it is open. Open only
// changes at whole minutes (window edges and, for these zones and years,
// zone transitions), so checking t and each whole minute in between is
// exhaustive.
func FuzzNextWindow(f *testing.F) {
	base := time.Date(2026, 3, 8, 6, 59, 30, 0, time.UTC).Unix()
	f.Add(base, uint8(2), "02:30-04:00", "22:00-02:00", int64(0))
	f.Add(base, uint8(1), "08:00-09:00", "19:00-22:00", int64(999))
	f.Add(time.Date(2026, 11, 1, 5, 50, 0, 0, time.UTC).Unix(), uint8(2), "01:30-02:00", "", int64(0))
	f.Add(time.Date(2026, 10, 3, 15, 0, 0, 0, time.UTC).Unix(), uint8(3), "02:15-03:00", "23:59-00:01", int64(7))
	f.Add(time.Date(2026, 9, 6, 2, 30, 0, 0, time.UTC).Unix(), uint8(4), "00:00-00:30", "23:00-24:00", int64(0))
	f.Add(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), uint8(5), "12:00-12:01", "x", int64(0))
	lo := time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	f.Fuzz(func(t *testing.T, sec int64, zone uint8, w1, w2 string, nsec int64) {
		if sec < lo || sec > hi {
			sec = lo + (sec%(hi-lo)+(hi-lo))%(hi-lo)
		}
		loc := mustLoc(t, fuzzZones[int(zone)%len(fuzzZones)])
		var ws []string
		for _, w := range []string{w1, w2} {
			if _, err := parseWindow(w); err == nil {
				ws = append(ws, w)
			}
		}
		pol, err := Compile(configs.Policy{Windows: ws}, loc)
		if err != nil {
			t.Fatalf("valid windows %q refused: %v", ws, err)
		}
		at := time.Unix(sec, ((nsec%1e9)+1e9)%1e9).In(loc)
		got := pol.NextWindow(at)
		if got.Before(at) {
			t.Fatalf("NextWindow(%v) = %v is before", at, got)
		}
		if !pol.Open(got) {
			t.Fatalf("NextWindow(%v) = %v is not open (windows %q)", at, got, ws)
		}
		if pol.Open(at) != got.Equal(at) {
			t.Fatalf("Open(%v) = %v but NextWindow = %v", at, pol.Open(at), got)
		}
		if got.Sub(at) > 49*time.Hour {
			t.Fatalf("NextWindow(%v) = %v: more than two days away", at, got)
		}
		for m := at.Truncate(time.Minute).Add(time.Minute); m.Before(got); m = m.Add(time.Minute) {
			if pol.Open(m) {
				t.Fatalf("NextWindow(%v) = %v, but %v is already open (windows %q)", at, got, m.In(loc), ws)
			}
		}
		next := pol.NextDay(at)
		if !next.After(at) || pol.DayKey(next) == pol.DayKey(at) || !pol.Open(next) {
			t.Fatalf("NextDay(%v) = %v", at, next)
		}
	})
}
