package wechat

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast/configs"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

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

// testPacer implements the pacing contract of configs.Rate on a fake
// clock: a random gap in [MinGap, MaxGap] between requests and at most
// PerMinute requests in any 60 s. Instead of sleeping it moves the clock,
// so a test can pace hundreds of sends instantly.
type testPacer struct {
	clock *fakeClock
	rate  configs.Rate
	rng   *rand.Rand

	mu    sync.Mutex
	last  time.Time
	sent  []time.Time
	waits int
}

func newTestPacer(clock *fakeClock, rate configs.Rate) *testPacer {
	return &testPacer{clock: clock, rate: rate, rng: rand.New(rand.NewPCG(1, 2))}
}

func (p *testPacer) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waits++
	now := p.clock.Now()
	next := now
	if !p.last.IsZero() && p.rate.MaxGap > 0 {
		gap := p.rate.MinGap
		if span := p.rate.MaxGap - p.rate.MinGap; span > 0 {
			gap += time.Duration(p.rng.Int64N(int64(span) + 1))
		}
		if t := p.last.Add(gap); t.After(next) {
			next = t
		}
	}
	if n := p.rate.PerMinute; n > 0 && len(p.sent) >= n {
		// The n-th latest send must be a full minute old.
		if t := p.sent[len(p.sent)-n].Add(time.Minute); t.After(next) {
			next = t
		}
	}
	if next.After(now) {
		p.clock.Advance(next.Sub(now))
	}
	p.last = next
	p.sent = append(p.sent, next)
	return nil
}

func (p *testPacer) Waits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waits
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testLogger returns a logger writing text lines into the returned buffer.
func testLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
