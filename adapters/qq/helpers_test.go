package qq_test

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast/configs"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// clock is a fake clock shared by a pacer and a fake server.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// pacer is a test pacer on the fake clock, with the semantics the router's
// pacer has: a random gap in [MinGap, MaxGap] between consecutive requests
// and at most PerMinute in any 60 s. Wait "sleeps" by advancing the clock.
type pacer struct {
	mu    sync.Mutex
	clock *clock
	rate  configs.Rate
	rng   *rand.Rand
	last  time.Time
	sent  []time.Time
	waits int
}

func newPacer(c *clock, rate configs.Rate) *pacer {
	return &pacer{clock: c, rate: rate, rng: rand.New(rand.NewPCG(1, 2))}
}

func (p *pacer) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waits++
	now := p.clock.Now()
	next := now
	if !p.last.IsZero() {
		gap := p.rate.MinGap
		if p.rate.MaxGap > p.rate.MinGap {
			gap += time.Duration(p.rng.Int64N(int64(p.rate.MaxGap - p.rate.MinGap)))
		}
		if t := p.last.Add(gap); t.After(next) {
			next = t
		}
	}
	if p.rate.PerMinute > 0 && len(p.sent) >= p.rate.PerMinute {
		if t := p.sent[len(p.sent)-p.rate.PerMinute].Add(time.Minute); t.After(next) {
			next = t
		}
	}
	p.clock.Advance(next.Sub(now))
	p.last = next
	p.sent = append(p.sent, next)
	return nil
}

func (p *pacer) Waits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waits
}

// logBuffer collects log output safely.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// longText makes an announcement body of about n characters: paragraphs of
// Chinese sentences with some Latin words, links and <&> characters, every
// sentence numbered so that a lost or reordered piece shows.
func longText(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n*3 && countRunes(b.String()) < n; i++ {
		if i%6 == 0 && i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString("第")
		b.WriteString(itoa(i))
		b.WriteString("句：系统将于今晚进行例行维护，期间 API <v2> & 控制台暂停服务，详情见 https://status.example.com/notice/")
		b.WriteString(itoa(i))
		b.WriteString("。")
	}
	r := []rune(b.String())
	if len(r) > n {
		r = r[:n]
	}
	return strings.TrimSpace(string(r))
}

func countRunes(s string) int { return len([]rune(s)) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}

// squash drops all whitespace: Split drops the whitespace at its cuts.
func squash(s string) string {
	return strings.Join(strings.Fields(s), "")
}

// stripMarkers removes the "（i/n）\n" marker of each part, checking that the
// parts are numbered 1..n in order.
func stripMarkers(t *testing.T, parts []string) string {
	t.Helper()
	var b strings.Builder
	n := len(parts)
	for i, p := range parts {
		if n > 1 {
			want := "（" + itoa(i+1) + "/" + itoa(n) + "）\n"
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
