package dingtalk

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// windowPacer is a sliding-window pacer (at most perMinute requests in any
// 60 s) whose waiting advances the fake clock instead of sleeping, plus a
// fixed gap between requests (a request takes time).
type windowPacer struct {
	mu        sync.Mutex
	clock     *fakeClock
	perMinute int
	gap       time.Duration
	sent      []time.Time
	waits     int
}

func (p *windowPacer) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clock.Advance(p.gap)
	now := p.clock.Now()
	kept := p.sent[:0]
	for _, t := range p.sent {
		if now.Sub(t) < time.Minute {
			kept = append(kept, t)
		}
	}
	p.sent = kept
	if len(p.sent) >= p.perMinute {
		p.clock.Advance(p.sent[0].Add(time.Minute).Sub(now))
		p.sent = p.sent[1:]
		p.waits++
	}
	p.sent = append(p.sent, p.clock.Now())
	return nil
}

// logBuffer captures every log line at debug level.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// assertNoSecret fails when any canary appears in s.
func assertNoSecret(t *testing.T, where, s string, canaries ...string) {
	t.Helper()
	for _, c := range canaries {
		if c != "" && strings.Contains(s, c) {
			t.Errorf("%s contains the secret %q: %s", where, c, s)
		}
	}
}

// class asserts the classification of err.
func wantClass(t *testing.T, err error, class groupcast.Class, code string) time.Duration {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %s error %s, got nil", class, code)
	}
	c, gotCode, pause := groupcast.Classify(err)
	if c != class || (code != "" && gotCode != code) {
		t.Fatalf("want %s %q, got %s %q: %v", class, code, c, gotCode, err)
	}
	return pause
}

func testEnv(clock *fakeClock, logs *logBuffer, pacer adapters.Pacer) adapters.Env {
	env := adapters.Env{Now: clock.Now, Pacer: pacer}
	if logs != nil {
		env.Logger = logs.logger()
	}
	return env.WithDefaults()
}
