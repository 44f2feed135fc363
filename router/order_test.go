package router

import (
	"testing"
	"time"
)

func TestReleaseOrder(t *testing.T) {
	var o releaseOrder
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	noon := base.Add(2 * time.Hour)
	for i, k := range []string{"a/x", "b/x", "c/x"} {
		o.set("s1", k, base.Add(time.Duration(i)*time.Second), noon)
	}
	o.set("s2", "z/x", base.Add(-time.Hour), noon) // another account does not count
	if o.earlierDue("s1", "a/x", base, noon) != 0 {
		t.Error("the earliest waits for nobody")
	}
	if o.earlierDue("s1", "c/x", base.Add(2*time.Second), noon) != 2 {
		t.Error("c must wait for a and b")
	}
	if o.earlierDue("s1", "c/x", base.Add(2*time.Second), noon.Add(-time.Minute)) != 0 {
		t.Error("nothing is due before noon")
	}
	o.remove("s1", "a/x")
	o.remove("s1", "b/x")
	if o.earlierDue("s1", "c/x", base.Add(2*time.Second), noon) != 0 {
		t.Error("a and b went: c goes")
	}
	o.set("s1", "a/x", base, noon.Add(24*time.Hour)) // deferred again, to tomorrow
	if o.earlierDue("s1", "c/x", base.Add(2*time.Second), noon) != 0 {
		t.Error("a is not due today: it must not hold c back")
	}
}

func TestFirstDueWaitsOneRound(t *testing.T) {
	var o releaseOrder
	noon := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	acc := noon.Add(-time.Hour)
	if !o.firstDue("s1", "a/x", acc, noon) {
		t.Error("first time due: wait one round")
	}
	if o.firstDue("s1", "a/x", acc, noon) {
		t.Error("second time: go")
	}
	if !o.firstDue("s1", "a/x", acc, noon.Add(24*time.Hour)) {
		t.Error("due again at another time: wait one round again")
	}
}
