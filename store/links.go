package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Tracked links (package tracking) keep three things here:
//
//	groupcast_links     c.<code>        TrackedLink: what a code stands for, written
//	                                    before the text carrying it is sent; kept for
//	                                    the retention after its last write
//	                    salt.<day>      the day's random salt of the client keys
//	                                    (removed after SaltTTL)
//	groupcast_clickers  <client key>    one key per client and link, removed after
//	                                    ClickWindow: a repeat within it is not counted
//	GROUPCAST_CLICKS    groupcast.click.<code>.<announcement>
//	                                    one message per counted click, kept for the
//	                                    retention and at most ClickMaxMsgs messages
//	                                    and ClickMaxBytes (the oldest discarded)
//
// and the secret the codes are made with, created once under
// tracking.secret in the counters bucket (kept for ever, so codes stay
// the same for a retry whatever replica sends it).
//
// Clicks are a stream of one message per click rather than a counter
// updated with compare-and-set: an append never conflicts, so replicas
// counting clicks on the same link at once lose none and retry nothing,
// and the counts per code come from the stream's subject totals in one
// request (no message is read back).
const (
	BucketLinks    = "groupcast_links"
	BucketClickers = "groupcast_clickers"
	ClicksStream   = "GROUPCAST_CLICKS"

	subjectClick = "groupcast.click."
	prefixCode   = "c."
	prefixSalt   = "salt."
	keySecret    = "tracking.secret"

	// ClickWindow is how long a client's click on a link makes its
	// repeats not count.
	ClickWindow = 10 * time.Minute
	// SaltTTL is how long a day's salt lives: the day and a little more,
	// for a clock a little off.
	SaltTTL = 26 * time.Hour

	// DefaultClickMaxMsgs and DefaultClickMaxBytes bound the clicks stream
	// (Options.ClickMaxMsgs, ClickMaxBytes). A click is one message of
	// about 100 bytes (its subject, no payload), so a million clicks fit
	// in the 128 MiB; past either limit the oldest clicks are discarded,
	// so a flood of clicks can neither fill the disk nor refuse new ones
	// (only old announcements' reports lose their oldest clicks).
	DefaultClickMaxMsgs  = 1_000_000
	DefaultClickMaxBytes = 128 << 20
)

// TrackedLink is what a tracked link's code stands for.
type TrackedLink struct {
	Announcement string `json:"announcement"`
	Target       string `json:"target"` // Destination.Key()
	Route        string `json:"route,omitempty"`
	Account      string `json:"account,omitempty"`
	Group        string `json:"group,omitempty"`
	Platform     string `json:"platform"`
	Variant      string `json:"variant,omitempty"`
	URL          string `json:"url"`
}

func (s *Store) linkStreams() []jetstream.StreamConfig {
	st, r := s.storage(), s.opts.Replicas
	return []jetstream.StreamConfig{
		{Name: ClicksStream, Subjects: []string{subjectClick + ">"}, Retention: jetstream.LimitsPolicy,
			MaxAge: s.opts.Retention, MaxMsgs: s.opts.ClickMaxMsgs, MaxBytes: s.opts.ClickMaxBytes,
			Discard: jetstream.DiscardOld, Storage: st, Replicas: r, Duplicates: 2 * time.Minute,
			Description: "counted clicks on tracked links, one message each"},
		kvStreamConfig(BucketLinks, "tracked link codes and the day's client-key salt", st, r, s.opts.Retention, time.Second),
		kvStreamConfig(BucketClickers, "hashed client keys of recent clicks (repeats within the window are not counted)", st, r, ClickWindow, 0),
	}
}

// TrackingSecret is the key tracked-link codes are made with: created
// once (32 random bytes) by whichever replica asks first, the same for
// every replica after.
func (s *Store) TrackingSecret(ctx context.Context) ([]byte, error) {
	for range 3 {
		e, err := s.counts.Get(ctx, keySecret)
		if err == nil {
			return e.Value(), nil
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, fmt.Errorf("store: tracking secret: %w", err)
		}
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		if _, err := s.counts.Create(ctx, keySecret, secret); err == nil {
			return secret, nil
		} else if !isExists(err) {
			return nil, fmt.Errorf("store: tracking secret: %w", err)
		}
	}
	return nil, fmt.Errorf("%w: tracking secret", ErrConflict)
}

// PutLinks stores what each code stands for.
func (s *Store) PutLinks(ctx context.Context, links map[string]TrackedLink) error {
	for code, l := range links {
		b, err := json.Marshal(l)
		if err != nil {
			return fmt.Errorf("store: encode link: %w", err)
		}
		if _, err := s.links.Put(ctx, prefixCode+code, b); err != nil {
			return fmt.Errorf("store: link %s: %w", code, err)
		}
	}
	return nil
}

// Link reads what a code stands for; groupcast.ErrNotFound-like false
// when no such code is stored.
func (s *Store) Link(ctx context.Context, code string) (TrackedLink, bool, error) {
	var l TrackedLink
	e, err := s.links.Get(ctx, prefixCode+code)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return l, false, nil
	}
	if err != nil {
		return l, false, fmt.Errorf("store: link %s: %w", code, err)
	}
	if err := json.Unmarshal(e.Value(), &l); err != nil {
		return l, false, fmt.Errorf("store: decode link %s: %w", code, err)
	}
	return l, true, nil
}

// DailySalt is the random salt of the client keys of one day (any string
// of key characters, such as 2026-12-01): made by the first replica to
// ask, shared by the others, removed after SaltTTL, so that a client key
// cannot be tied to the same client on another day.
func (s *Store) DailySalt(ctx context.Context, day string) ([]byte, error) {
	key := prefixSalt + day
	for range 3 {
		e, err := s.links.Get(ctx, key)
		if err == nil {
			return e.Value(), nil
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, fmt.Errorf("store: salt: %w", err)
		}
		salt := make([]byte, 32)
		_, _ = rand.Read(salt)
		if _, err := s.links.Create(ctx, key, salt, jetstream.KeyTTL(SaltTTL)); err == nil {
			return salt, nil
		} else if !isExists(err) {
			return nil, fmt.Errorf("store: salt: %w", err)
		}
	}
	return nil, fmt.Errorf("%w: salt", ErrConflict)
}

// FirstClick records a client key (a hash, never an address) and reports
// whether it is new: false when the same key clicked within ClickWindow.
func (s *Store) FirstClick(ctx context.Context, clientKey string) (bool, error) {
	_, err := s.clickers.Create(ctx, clientKey, nil)
	switch {
	case err == nil:
		return true, nil
	case isExists(err):
		return false, nil
	}
	return false, fmt.Errorf("store: click: %w", err)
}

// ForgetClick removes a client key, so that the client's next click on
// the link counts: for a click whose key was made by FirstClick but which
// was then not counted (CountClick failed).
func (s *Store) ForgetClick(ctx context.Context, clientKey string) error {
	if err := s.clickers.Delete(ctx, clientKey); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("store: forget click: %w", err)
	}
	return nil
}

// CountClick appends one click on a code.
func (s *Store) CountClick(ctx context.Context, announcement, code string) error {
	if _, err := s.js.Publish(ctx, subjectClick+code+"."+announcement, nil); err != nil {
		return fmt.Errorf("store: count click: %w", err)
	}
	return nil
}

// Clicks answers the counted clicks of an announcement, by code.
func (s *Store) Clicks(ctx context.Context, announcement string) (map[string]uint64, error) {
	st, err := s.js.Stream(ctx, ClicksStream)
	if err != nil {
		return nil, fmt.Errorf("store: clicks: %w", err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subjectClick+"*."+announcement))
	if err != nil {
		return nil, fmt.Errorf("store: clicks: %w", err)
	}
	out := make(map[string]uint64, len(info.State.Subjects))
	for subj, n := range info.State.Subjects {
		rest, _ := strings.CutPrefix(subj, subjectClick)
		code, id, ok := strings.Cut(rest, ".")
		if ok && id == announcement {
			out[code] += n
		}
	}
	return out, nil
}
