package groupcast_test

import (
	"testing"

	"github.com/groupcast/groupcast"
)

func TestParseClock(t *testing.T) {
	for _, c := range []struct {
		in   string
		h, m int
		ok   bool
	}{
		{"08:30", 8, 30, true}, {"8:30", 8, 30, true}, {"00:00", 0, 0, true}, {"23:59", 23, 59, true},
		{"24:00", 0, 0, false}, {"12:60", 0, 0, false}, {"123:00", 0, 0, false}, {"8:3", 0, 0, false},
		{" 8:30", 0, 0, false}, {"+8:30", 0, 0, false}, {"08-30", 0, 0, false}, {"", 0, 0, false}, {":30", 0, 0, false},
	} {
		h, m, ok := groupcast.ParseClock(c.in)
		if ok != c.ok || (ok && (h != c.h || m != c.m)) {
			t.Errorf("ParseClock(%q) = %d, %d, %v; want %d, %d, %v", c.in, h, m, ok, c.h, c.m, c.ok)
		}
	}
}

func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"08:30", "8:30", "23:59", "24:00", "", "1:2:3", "９:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, m, ok := groupcast.ParseClock(s)
		if ok && (h < 0 || h > 23 || m < 0 || m > 59 || (len(s) != 4 && len(s) != 5)) {
			t.Fatalf("ParseClock(%q) = %d, %d, ok", s, h, m)
		}
	})
}
