package qq

import "time"

// SetOneBotAfter replaces the timer Start waits on, for tests.
func SetOneBotAfter(o *OneBot, after func(time.Duration) <-chan time.Time) { o.after = after }
