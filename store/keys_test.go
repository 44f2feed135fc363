package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/groupcast/groupcast/store"
)

// KeysUnder lists the keys under a prefix; DeleteJSON removes one, and
// its marker goes after a second.
func TestKeysUnderAndDelete(t *testing.T) {
	st := open(t, store.Options{Driver: store.DriverMemory})
	ctx := context.Background()
	for _, k := range []string{"series.a", "series.b", "schedule.c"} {
		if err := st.PutJSON(ctx, k, map[string]int{"n": 1}); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := st.KeysUnder(ctx, "series.")
	slices.Sort(keys)
	if err != nil || !slices.Equal(keys, []string{"series.a", "series.b"}) {
		t.Fatalf("%v %v", keys, err)
	}
	if err := st.DeleteJSON(ctx, "series.a"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteJSON(ctx, "series.nope"); err != nil {
		t.Fatalf("absent: %v", err)
	}
	var v map[string]int
	if found, err := st.GetJSON(ctx, "series.a", &v); err != nil || found {
		t.Fatalf("deleted key read: %v %v", found, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		keys, err = st.KeysUnder(ctx, "series.")
		if err == nil && slices.Equal(keys, []string{"series.b"}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the delete: %v %v", keys, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
