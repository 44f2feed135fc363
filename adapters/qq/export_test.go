package qq

import "time"

// SetOneBotAfter replaces the timer Start waits on, for tests.
func SetOneBotAfter(o *OneBot, after func(time.Duration) <-chan time.Time) { o.after = after }

// SetMiraiGoAfter replaces the timer Start waits on, for tests.
func SetMiraiGoAfter(g *MiraiGo, after func(time.Duration) <-chan time.Time) { g.after = after }
