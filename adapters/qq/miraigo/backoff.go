package miraigo

import (
	"math/rand/v2"
	"sync"
	"time"
)

// backoff is a jittered exponential backoff: next returns a wait in
// [max(min, d/2), d], d doubling from min to max on each call.
type backoff struct {
	min, max time.Duration
	jitter   func(time.Duration) time.Duration
	d        time.Duration
}

func (b *backoff) next() time.Duration {
	if b.d == 0 {
		b.d = b.min
	} else {
		b.d = min(b.d*2, b.max)
	}
	w := b.jitter(b.d)
	return min(max(w, b.min), b.d)
}

func (b *backoff) reset() { b.d = 0 }

// jitter is "equal jitter": half of d, plus a random part of the other half.
func jitter(d time.Duration) time.Duration {
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// limiter lets one log line through per period; allow reports how many it
// held back since the last one it let through.
type limiter struct {
	every time.Duration
	now   func() time.Time
	last  time.Time
	held  int
	used  bool
}

func (l *limiter) allow() (held int, ok bool) {
	now := l.now()
	if l.used && now.Sub(l.last) < l.every {
		l.held++
		return 0, false
	}
	held, l.held, l.last, l.used = l.held, 0, now, true
	return held, true
}

// formatLimiter is a limiter per kind of line, safe for concurrent use
// (MiraiGo logs from its own goroutines). It keeps at most maxKinds kinds.
type formatLimiter struct {
	every time.Duration
	now   func() time.Time
	mu    sync.Mutex
	kinds map[string]*limiter
}

const maxKinds = 256

func (f *formatLimiter) allow(kind string) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kinds == nil {
		f.kinds = map[string]*limiter{}
	}
	l, ok := f.kinds[kind]
	if !ok {
		if len(f.kinds) >= maxKinds {
			clear(f.kinds)
		}
		l = &limiter{every: f.every, now: f.now}
		f.kinds[kind] = l
	}
	return l.allow()
}
