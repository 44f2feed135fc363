package miraigo

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// MiraiGo's own warnings and errors, one per connection attempt against a
// bad server, reach the log at most once a minute per kind of line, with
// the count of those left out.
func TestSDKLoggerIsRateLimited(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	l := newSDKLogger(slog.New(slog.NewTextHandler(&buf, nil)), func() time.Time { return now })
	for i := 0; i < 1000; i++ {
		l.Warning("connect server %v error: %v", "1.2.3.4:8080", "EOF")
		l.Error("packet decode error: %v", i)
		l.Info("chatter %d", i) // debug: not shown at info
	}
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines for 2000 warnings and errors in one instant:\n%s", n, buf.String())
	}
	now = now.Add(LogEvery)
	l.Warning("connect server %v error: %v", "1.2.3.4:8080", "EOF")
	if !strings.Contains(buf.String(), "lines_not_logged=999") {
		t.Errorf("the next line does not count the ones left out:\n%s", buf.String())
	}
}
