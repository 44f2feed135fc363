package router

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// retryStore runs f until it succeeds, ctx ends, or it fails with
// something other than a timeout (a cluster electing a leader answers
// late) for about 30 s.
func retryStore(ctx context.Context, f func(context.Context) error) error {
	var err error
	for attempt := range 10 {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = f(fctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) &&
			!errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, nats.ErrNoResponders) {
			return err
		}
		sleepCtx(ctx, time.Duration(attempt+1)*200*time.Millisecond)
	}
	return err
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
