package adapterstest

import (
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
)

// EventuallyTimeout is how long Eventually polls before it fails the test.
const EventuallyTimeout = 10 * time.Second

// AssertNoSecret reports an error when any non-empty canary appears in s;
// where names what s is ("logs", "error", …).
func AssertNoSecret(t testing.TB, where, s string, canaries ...string) {
	t.Helper()
	for _, c := range canaries {
		if c != "" && strings.Contains(s, c) {
			t.Errorf("%s contains the secret %q: %s", where, c, s)
		}
	}
}

// WantClass fails the test now unless err classifies (groupcast.Classify)
// as class with code; an empty code accepts any code. It returns the pause
// err asks for.
func WantClass(t testing.TB, err error, class groupcast.Class, code string) time.Duration {
	t.Helper()
	if err == nil {
		t.Fatalf("want a %s error %s, got nil", class, code)
	}
	c, gotCode, pause := groupcast.Classify(err)
	if c != class || (code != "" && gotCode != code) {
		t.Fatalf("want %s %q, got %s %q: %v", class, code, c, gotCode, err)
	}
	return pause
}

// Eventually polls cond every few milliseconds until it holds, and fails
// the test now if it does not within EventuallyTimeout; what names the
// awaited state. It is for state a driver changes on its own goroutine
// with no event to wait on.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(EventuallyTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
