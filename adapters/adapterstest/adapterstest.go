// Package adapterstest holds test helpers for driver packages: a fake
// clock, a pacer on that clock with the router's pacing rules, a log
// capture, and assertions about error classes and leaked secrets.
//
// It is imported only by the drivers' _test.go files. It depends on the
// standard library and the groupcast, configs and adapters packages only,
// so that any driver package can use it without an import cycle.
package adapterstest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/groupcast/groupcast"
)

// Epoch is the fake time a driver test starts at unless it needs another:
// 09:00 on Wednesday 25 November 2026, China Standard Time.
var Epoch = time.Date(2026, 11, 25, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

// Clock is a fake clock that a test moves by hand. Its Now method fits
// adapters.Env.Now and the platform fakes' clocks. It is safe for
// concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that stands at t until it is moved.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d (backwards when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// advanceTo moves the clock forward to t; a clock already at or past t
// stays where it is.
func (c *Clock) advanceTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// Progress records a multi-part send's progress the way the router does
// (groupcast.Outgoing.Progress), so a driver test can retry a send with
// what the failed attempt delivered, and count how often each part went.
type Progress struct {
	mu   sync.Mutex
	done []string
}

// Outgoing returns m set up to resume after the recorded parts and to
// record the ones it delivers.
func (p *Progress) Outgoing(m groupcast.Outgoing) groupcast.Outgoing {
	p.mu.Lock()
	m.Done = append([]string(nil), p.done...)
	p.mu.Unlock()
	m.Progress = func(_ context.Context, part, _ int, id string) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.done = append(p.done[:min(len(p.done), part-1)], id)
		return nil
	}
	return m
}

// Done is what was recorded.
func (p *Progress) Done() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.done...)
}

// LongText makes an announcement body of about n characters: paragraphs of
// Chinese sentences with some Latin words, links and <&> characters, every
// sentence numbered so that a lost or reordered piece shows.
func LongText(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n*3 && utf8.RuneCountInString(b.String()) < n; i++ {
		if i%6 == 0 && i > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "第%d句：系统将于今晚进行例行维护，期间 API <v2> & 控制台暂停服务，详情见 https://status.example.com/notice/%d。", i, i)
	}
	r := []rune(b.String())
	if len(r) > n {
		r = r[:n]
	}
	return strings.TrimSpace(string(r))
}

// Squash drops all whitespace: a split drops the whitespace at its cuts.
func Squash(s string) string { return strings.Join(strings.Fields(s), "") }

// StripMarkers removes the "（i/n）\n" marker of each part, checking that
// the parts are numbered 1..n in order, and joins the parts.
func StripMarkers(t testing.TB, parts []string) string {
	t.Helper()
	var b strings.Builder
	n := len(parts)
	for i, p := range parts {
		if n > 1 {
			want := fmt.Sprintf("（%d/%d）\n", i+1, n)
			if !strings.HasPrefix(p, want) {
				t.Fatalf("part %d does not start with %q: %.40q", i+1, want, p)
			}
			p = strings.TrimPrefix(p, want)
		}
		b.WriteString(p)
		b.WriteString("\n")
	}
	return b.String()
}
