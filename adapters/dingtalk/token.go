package dingtalk

import (
	"context"
	"sync"
	"time"
)

// tokenSource caches an access token and fetches a new one shortly before
// it expires. Concurrent callers share one fetch (single flight): the fetch
// runs detached from any one caller's context, bounded by fetchTimeout, and
// each caller waits for it or for its own context, whichever ends first.
type tokenSource struct {
	fetch        func(ctx context.Context) (token string, ttl time.Duration, err error)
	now          func() time.Time
	fetchTimeout time.Duration

	mu      sync.Mutex
	token   string
	expires time.Time // refresh from here on
	call    *tokenCall
}

type tokenCall struct {
	done  chan struct{}
	token string
	err   error
}

// refreshAfter is how long a token of the given lifetime is used: its
// lifetime less a margin (the documented 200 s of 7200, or a tenth of a
// shorter one).
func refreshAfter(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		ttl = TokenLifetime
	}
	margin := min(TokenRefreshMargin, ttl/10)
	return ttl - margin
}

// get returns a valid token, fetching one when there is none or it is
// about to expire.
func (ts *tokenSource) get(ctx context.Context) (string, error) {
	ts.mu.Lock()
	if ts.token != "" && ts.now().Before(ts.expires) {
		tok := ts.token
		ts.mu.Unlock()
		return tok, nil
	}
	c := ts.call
	if c == nil {
		c = &tokenCall{done: make(chan struct{})}
		ts.call = c
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ts.fetchTimeout)
		go func() {
			defer cancel()
			ts.run(fctx, c)
		}()
	}
	ts.mu.Unlock()
	select {
	case <-c.done:
		return c.token, c.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (ts *tokenSource) run(ctx context.Context, c *tokenCall) {
	tok, ttl, err := ts.fetch(ctx)
	ts.mu.Lock()
	ts.call = nil
	if err == nil {
		ts.token = tok
		ts.expires = ts.now().Add(refreshAfter(ttl))
	}
	ts.mu.Unlock()
	c.token, c.err = tok, err
	close(c.done)
}

// invalidate drops tok if it is still the cached token (the platform
// refused it), so the next get fetches a new one.
func (ts *tokenSource) invalidate(tok string) {
	ts.mu.Lock()
	if ts.token == tok {
		ts.token = ""
	}
	ts.mu.Unlock()
}
