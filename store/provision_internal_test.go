package store

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestDiffers: a stream is updated at start only when it lacks something
// the wanted config sets; what the server fills in (the fields left zero)
// is no difference.
func TestDiffers(t *testing.T) {
	want := jetstream.StreamConfig{Name: "S", Subjects: []string{"a.>"}, MaxAge: time.Hour, Replicas: 3,
		MaxMsgsPerSubject: 1, Storage: jetstream.FileStorage}
	served := want
	served.Subjects = []string{"a.>"}
	served.Duplicates = 2 * time.Minute // the server's default
	served.MaxMsgs, served.MaxBytes = -1, -1
	served.Metadata = map[string]string{"_nats.req.level": "0"}
	for _, c := range []struct {
		name string
		have jetstream.StreamConfig
		diff bool
	}{
		{"as wanted, with the server's defaults", served, false},
		{"another max age", func() jetstream.StreamConfig { h := served; h.MaxAge = time.Minute; return h }(), true},
		{"other subjects", func() jetstream.StreamConfig { h := served; h.Subjects = []string{"b.>"}; return h }(), true},
		{"fewer replicas", func() jetstream.StreamConfig { h := served; h.Replicas = 1; return h }(), true},
		{"per-subject limit gone", func() jetstream.StreamConfig { h := served; h.MaxMsgsPerSubject = 0; return h }(), true},
	} {
		if got := differs(c.have, want); got != c.diff {
			t.Errorf("%s: differs = %v, want %v", c.name, got, c.diff)
		}
	}
}
