package router

import (
	"testing"

	"github.com/groupcast/groupcast/configs"
)

// TestLedgerSkipsRetain: once an id is no longer among the ledger's ids
// (its record aged out), a scan's retain drops every skip entry about it,
// notices included; the entries of listed ids stay.
func TestLedgerSkipsRetain(t *testing.T) {
	var k ledgerSkips
	n := configs.ReviewNotify{Account: "dt-admin", To: []string{"manager01"}}
	for _, id := range []string{"a", "b"} {
		k.mark(&k.settled, id, id)
		k.mark(&k.unholdable, id, id)
		k.mark(&k.parent, id, id)
		k.mark(&k.noticed, reviewNoticeKey(n, id), id)
	}
	k.retain([]string{"a", "c"})
	for name, set := range map[string]*map[string]string{"settled": &k.settled, "unholdable": &k.unholdable, "parent": &k.parent} {
		if !k.has(set, "a") {
			t.Errorf("%s: the listed id a was dropped", name)
		}
		if k.has(set, "b") {
			t.Errorf("%s: the id b, no longer listed, is still there", name)
		}
		if len(*set) != 1 {
			t.Errorf("%s: %v, want a only", name, *set)
		}
	}
	if !k.has(&k.noticed, reviewNoticeKey(n, "a")) || k.has(&k.noticed, reviewNoticeKey(n, "b")) || len(k.noticed) != 1 {
		t.Errorf("noticed %v, want a's notice only", k.noticed)
	}
	if !k.skipReview("a") || k.skipReview("b") {
		t.Errorf("skipReview a=%v b=%v, want true, false", k.skipReview("a"), k.skipReview("b"))
	}
}
