package qq

import "time"

// SetOneBotAfter replaces the timer Start waits on, for tests.
func SetOneBotAfter(o *OneBot, after func(time.Duration) <-chan time.Time) { o.after = after }

// SetOneBotKeepAlive replaces the forward WebSocket's ping interval, for
// tests.
func SetOneBotKeepAlive(o *OneBot, d time.Duration) { o.keepAlive = d }
