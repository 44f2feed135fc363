package backoff

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	s := time.Second
	for _, c := range []struct {
		name string
		b    Backoff
		want []time.Duration
	}{
		{"no spread: doubling from 1 s to 5 min", Backoff{Rand: func() float64 { return 0.5 }},
			[]time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 128 * s, 256 * s, 300 * s, 300 * s}},
		{"lowest spread never under 1 s", Backoff{Rand: func() float64 { return 0 }},
			[]time.Duration{s, 1600 * time.Millisecond, 3200 * time.Millisecond, 6400 * time.Millisecond}},
		{"a draw of 0.75: 10 % over", Backoff{Rand: func() float64 { return 0.75 }},
			[]time.Duration{1100 * time.Millisecond, 2200 * time.Millisecond, 4400 * time.Millisecond}},
		{"jitter off", Backoff{Min: 3 * s, Max: 10 * s, Jitter: -1}, []time.Duration{3 * s, 6 * s, 10 * s, 10 * s}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := c.b
			for i, want := range c.want {
				if got := b.Next(); got != want {
					t.Fatalf("wait %d = %v, want %v", i+1, got, want)
				}
			}
			if b.Failures() != len(c.want) {
				t.Errorf("Failures = %d", b.Failures())
			}
			b.Reset()
			if b.Failures() != 0 {
				t.Error("Reset did not start over")
			}
		})
	}
}

// TestBackoffBounds: whatever the random draw, every wait is within
// [1 s, 5 min] and spread around its step.
func TestBackoffBounds(t *testing.T) {
	b := Backoff{}
	for i := range 40 {
		d := b.Next()
		if d < DefaultMin || d > DefaultMax {
			t.Fatalf("wait %d = %v, outside [1s, 5m]", i+1, d)
		}
	}
	b.Reset()
	b.Rand = func() float64 { return 0.999999 }
	for range 20 {
		b.Next()
	}
	if d := b.Next(); d != DefaultMax {
		t.Errorf("at the cap with the highest draw: %v, want exactly %v", d, DefaultMax)
	}
}
