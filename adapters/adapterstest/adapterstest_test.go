package adapterstest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/adapterstest"
	"github.com/groupcast/groupcast/configs"
)

func TestClock(t *testing.T) {
	c := adapterstest.NewClock(adapterstest.Epoch)
	if !c.Now().Equal(adapterstest.Epoch) {
		t.Fatalf("Now %v, want %v", c.Now(), adapterstest.Epoch)
	}
	c.Advance(90 * time.Second)
	if got := c.Now().Sub(adapterstest.Epoch); got != 90*time.Second {
		t.Fatalf("advanced by %v, want 90s", got)
	}
	at := time.UnixMilli(1764032400000)
	c.Set(at)
	if !c.Now().Equal(at) {
		t.Fatalf("Now %v after Set(%v)", c.Now(), at)
	}
}

// offsets returns the pacer's request times as offsets from start.
func offsets(p *adapterstest.Pacer, start time.Time) []time.Duration {
	var d []time.Duration
	for _, s := range p.Sent() {
		d = append(d, s.Sub(start))
	}
	return d
}

func waitN(t *testing.T, p *adapterstest.Pacer, n int) {
	t.Helper()
	for i := range n {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatalf("wait %d: %v", i+1, err)
		}
	}
}

// Never more than PerMinute in any 60 s: the request after a full window
// goes exactly a minute after the oldest one in it.
func TestPacerWindow(t *testing.T) {
	c := adapterstest.NewClock(adapterstest.Epoch)
	p := adapterstest.NewPacer(c, configs.Rate{PerMinute: 3})
	waitN(t, p, 7)
	m := time.Minute
	want := []time.Duration{0, 0, 0, m, m, m, 2 * m}
	if got := offsets(p, adapterstest.Epoch); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("requests at %v, want %v", got, want)
	}
	if got := c.Now().Sub(adapterstest.Epoch); got != 2*m {
		t.Errorf("clock moved %v, want 2m", got)
	}
	if p.Waits() != 7 {
		t.Errorf("Waits %d, want 7", p.Waits())
	}
}

func TestPacerWindowAndGap(t *testing.T) {
	c := adapterstest.NewClock(adapterstest.Epoch)
	p := adapterstest.NewPacer(c, configs.Rate{PerMinute: 2, MinGap: time.Second, MaxGap: time.Second})
	waitN(t, p, 5)
	s := time.Second
	want := []time.Duration{0, s, 60 * s, 61 * s, 120 * s}
	if got := offsets(p, adapterstest.Epoch); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("requests at %v, want %v", got, want)
	}
}

// Gaps are random in [MinGap, MaxGap], jittered, and the same on every run.
func TestPacerGap(t *testing.T) {
	rate := configs.Rate{MinGap: 500 * time.Millisecond, MaxGap: 1500 * time.Millisecond}
	run := func() []time.Duration {
		c := adapterstest.NewClock(adapterstest.Epoch)
		p := adapterstest.NewPacer(c, rate)
		waitN(t, p, 50)
		if !c.Now().Equal(p.Sent()[49]) {
			t.Errorf("clock at %v, last request at %v", c.Now(), p.Sent()[49])
		}
		return offsets(p, adapterstest.Epoch)
	}
	first := run()
	if first[0] != 0 {
		t.Errorf("the first request waited %v", first[0])
	}
	gaps := map[time.Duration]bool{}
	for i := 1; i < len(first); i++ {
		g := first[i] - first[i-1]
		if g < rate.MinGap || g > rate.MaxGap {
			t.Errorf("gap %d is %v, outside [%v, %v]", i, g, rate.MinGap, rate.MaxGap)
		}
		gaps[g] = true
	}
	if len(gaps) < len(first)/2 {
		t.Errorf("only %d distinct gaps in %d requests: no jitter", len(gaps), len(first))
	}
	if again := run(); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("a second run paced differently:\n%v\n%v", first, again)
	}
}

// MinGap alone is a fixed gap, as in the router.
func TestPacerMinGapOnly(t *testing.T) {
	c := adapterstest.NewClock(adapterstest.Epoch)
	p := adapterstest.NewPacer(c, configs.Rate{MinGap: 2 * time.Second})
	waitN(t, p, 3)
	s := time.Second
	if got, want := offsets(p, adapterstest.Epoch), []time.Duration{0, 2 * s, 4 * s}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("requests at %v, want %v", got, want)
	}
}

// Once the gap has passed on the clock, Wait lets the request go now and
// does not move the clock.
func TestPacerDoesNotMoveAClockPastTheGap(t *testing.T) {
	c := adapterstest.NewClock(adapterstest.Epoch)
	p := adapterstest.NewPacer(c, configs.Rate{PerMinute: 10, MinGap: time.Second, MaxGap: 3 * time.Second})
	waitN(t, p, 1)
	c.Advance(10 * time.Second)
	before := c.Now()
	waitN(t, p, 1)
	if !c.Now().Equal(before) {
		t.Fatalf("clock moved from %v to %v", before, c.Now())
	}
	if sent := p.Sent(); !sent[1].Equal(before) {
		t.Fatalf("second request at %v, want %v", sent[1], before)
	}
}

func TestPacerHonoursContext(t *testing.T) {
	c := adapterstest.NewClock(adapterstest.Epoch)
	p := adapterstest.NewPacer(c, configs.Rate{PerMinute: 1, MinGap: time.Second, MaxGap: time.Second})
	waitN(t, p, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a cancelled context: %v", err)
	}
	if p.Waits() != 1 || len(p.Sent()) != 1 || !c.Now().Equal(adapterstest.Epoch) {
		t.Fatalf("a cancelled Wait counted or moved the clock: %d waits, %d sent, clock %v", p.Waits(), len(p.Sent()), c.Now())
	}
	waitN(t, p, 1)
	if got := c.Now().Sub(adapterstest.Epoch); got != time.Minute {
		t.Fatalf("clock moved %v, want 1m", got)
	}
}

// Concurrent senders share the pace: no 60 s holds more than PerMinute.
func TestPacerConcurrent(t *testing.T) {
	c := adapterstest.NewClock(adapterstest.Epoch)
	rate := configs.Rate{PerMinute: 5, MinGap: 100 * time.Millisecond, MaxGap: 300 * time.Millisecond}
	p := adapterstest.NewPacer(c, rate)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if err := p.Wait(context.Background()); err != nil {
					t.Error(err)
				}
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	sent := p.Sent()
	if p.Waits() != 40 || len(sent) != 40 {
		t.Fatalf("%d waits, %d sent; want 40", p.Waits(), len(sent))
	}
	for i := range sent {
		if i > 0 && sent[i].Sub(sent[i-1]) < rate.MinGap {
			t.Errorf("requests %d and %d only %v apart", i, i+1, sent[i].Sub(sent[i-1]))
		}
		if i >= rate.PerMinute && sent[i].Sub(sent[i-rate.PerMinute]) < time.Minute {
			t.Errorf("%d requests within %v", rate.PerMinute+1, sent[i].Sub(sent[i-rate.PerMinute]))
		}
	}
}

// Writers and a reader at once: run with -race.
func TestLogBufferConcurrent(t *testing.T) {
	log, buf := adapterstest.NewLogger()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				log.Debug("line", "writer", w, "i", i)
				_ = buf.String()
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			_, _ = buf.Write([]byte("raw\n"))
		}
	})
	wg.Wait()
	out := buf.String()
	if n := strings.Count(out, "level=DEBUG msg=line"); n != 200 {
		t.Errorf("%d debug lines, want 200", n)
	}
	if n := strings.Count(out, "raw\n"); n != 50 {
		t.Errorf("%d raw writes, want 50", n)
	}
	buf.Logger().Info("second logger")
	if !strings.Contains(buf.String(), "msg=\"second logger\"") {
		t.Errorf("a second logger on the buffer did not write to it:\n%s", buf.String())
	}
}

// recorder is a testing.TB that records failures; Fatalf ends only the
// goroutine it runs on.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.mu.Lock()
	r.fatal = true
	r.mu.Unlock()
	runtime.Goexit()
}

// check runs f with a recorder on its own goroutine.
func check(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestAssertNoSecret(t *testing.T) {
	r := check(t, func(tb testing.TB) {
		adapterstest.AssertNoSecret(tb, "logs", "token=tok-1 ok", "", "tok-2", "tok-1")
	})
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "logs contains the secret \"tok-1\"") || r.fatal {
		t.Fatalf("failures %q (fatal %v)", r.errors, r.fatal)
	}
	if r := check(t, func(tb testing.TB) { adapterstest.AssertNoSecret(tb, "logs", "clean", "", "tok-1") }); len(r.errors) != 0 {
		t.Fatalf("failures %q on clean text", r.errors)
	}
}

func TestWantClass(t *testing.T) {
	err := fmt.Errorf("send: %w", &groupcast.DeliveryError{Class: groupcast.ClassThrottled, Code: "130101", Pause: 10 * time.Minute})
	var pause time.Duration
	r := check(t, func(tb testing.TB) { pause = adapterstest.WantClass(tb, err, groupcast.ClassThrottled, "130101") })
	if len(r.errors) != 0 || pause != 10*time.Minute {
		t.Fatalf("failures %q, pause %v", r.errors, pause)
	}
	if r := check(t, func(tb testing.TB) { adapterstest.WantClass(tb, err, groupcast.ClassThrottled, "") }); len(r.errors) != 0 {
		t.Fatalf("an empty code did not accept any: %q", r.errors)
	}
	for _, tc := range []struct {
		err   error
		class groupcast.Class
		code  string
	}{
		{nil, groupcast.ClassThrottled, "130101"},
		{err, groupcast.ClassPermanent, "130101"},
		{err, groupcast.ClassThrottled, "90030"},
	} {
		if r := check(t, func(tb testing.TB) { adapterstest.WantClass(tb, tc.err, tc.class, tc.code) }); !r.fatal {
			t.Errorf("WantClass(%v, %s, %q) passed", tc.err, tc.class, tc.code)
		}
	}
}

func TestEventually(t *testing.T) {
	var mu sync.Mutex
	ready := false
	go func() {
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		ready = true
		mu.Unlock()
	}()
	r := check(t, func(tb testing.TB) {
		adapterstest.Eventually(tb, "ready", func() bool { mu.Lock(); defer mu.Unlock(); return ready })
	})
	if len(r.errors) != 0 {
		t.Fatalf("failures %q", r.errors)
	}
}
