package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
)

// The ledger is two streams and a bucket:
//
//	GROUPCAST_RECORDS  groupcast.rec.<id>     Record: the announcement and its planned
//	                                          destinations, written once. Writing it is
//	                                          accepting the announcement: each account's
//	                                          sender follows this stream in its order.
//	GROUPCAST_EVENTS   groupcast.recall.<id>  RecallRequest: the announcement is to be taken back
//	                   groupcast.review.<id>  Review: who approved or rejected it, and when
//	groupcast_ledger   t.<id>.<key>           TargetRecord: one destination's state (key =
//	                                          Destination.Key()), written only when it leaves
//	                                          the state its record implies
//
// Every stream keeps one message per subject, so a record or an event is
// read by its subject; the senders' consumers take a whole stream, with no
// subject filter to evaluate.
const (
	RecordsStream = "GROUPCAST_RECORDS"
	EventsStream  = "GROUPCAST_EVENTS"

	subjectRecord = "groupcast.rec."
	subjectRecall = "groupcast.recall."
	subjectReview = "groupcast.review."

	prefixTarget = "t."
)

// Event kinds, as KeyOf answers them.
const (
	KindRecord = "rec"
	KindRecall = "recall"
	KindReview = "review"
)

// KeyOf answers what a ledger subject is about (KindRecord, KindRecall,
// KindReview) and the announcement id.
func KeyOf(subject string) (kind, id string, ok bool) {
	rest, ok := strings.CutPrefix(subject, "groupcast.")
	if !ok {
		return "", "", false
	}
	kind, id, ok = strings.Cut(rest, ".")
	return kind, id, ok && id != ""
}

// ledgerStreams are the record and event streams: one message per
// subject, kept for the retention, read through the leader.
func (s *Store) ledgerStreams() []jetstream.StreamConfig {
	st, r := s.storage(), s.opts.Replicas
	return []jetstream.StreamConfig{
		{Name: RecordsStream, Subjects: []string{subjectRecord + ">"}, Retention: jetstream.LimitsPolicy,
			MaxMsgsPerSubject: 1, MaxAge: s.opts.Retention, Storage: st, Replicas: r, Duplicates: s.opts.DuplicateWindow,
			Discard: jetstream.DiscardNew, Description: "accepted announcements, in acceptance order: every account's sender follows it"},
		{Name: EventsStream, Subjects: []string{subjectRecall + ">", subjectReview + ">"}, Retention: jetstream.LimitsPolicy,
			MaxMsgsPerSubject: 1, MaxAge: s.opts.Retention, Storage: st, Replicas: r, Duplicates: s.opts.DuplicateWindow,
			Description: "recall requests and review decisions, which the senders follow"},
	}
}

// Record is an accepted announcement with the destinations it was planned
// to when it was accepted.
type Record struct {
	Announcement groupcast.Announcement `json:"announcement"`
	Digest       string                 `json:"digest"`
	AcceptedAt   time.Time              `json:"accepted_at"`
	// StoredAt is when the store took the record (its message's time, set
	// when the record is read back, not stored in it): the acceptance
	// instant as the store's order has it, which AcceptedAt (taken just
	// before the write) may not be when a write is slow (a leader
	// election) and the caller retries.
	StoredAt     time.Time               `json:"-"`
	Destinations []groupcast.Destination `json:"destinations"`
	// Policies are the policies the destinations name, as configured when
	// the announcement was accepted: a reload applies to later ones.
	Policies map[string]configs.Policy `json:"policies,omitempty"`
	// Location is the timezone in force at acceptance.
	Timezone string `json:"timezone,omitempty"`
	// SubmittedBy names who submitted it: the API token's name (or the
	// request's by, with no tokens configured); "" when unknown.
	SubmittedBy string `json:"submitted_by,omitempty"`
	// Tracking is tracking.base_url when the announcement was accepted:
	// its links go out as tracked links under it ("": sent as written).
	Tracking string `json:"tracking,omitempty"`
	// Parts plan a series (the announcement has series:): each part is an
	// announcement of its own, created after this record; this record has
	// no destinations.
	Parts []SeriesPart `json:"parts,omitempty"`
	// Parent is the series a part belongs to, and Part its number (from 1).
	Parent string `json:"parent,omitempty"`
	Part   int    `json:"part,omitempty"`
}

// SeriesPart is one planned part of a series: its announcement's id and
// when it goes out.
type SeriesPart struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

// TargetRecord is the stored state of one destination.
type TargetRecord struct {
	groupcast.Target
	Key string `json:"key"`
	// Fence is the lease revision of the replica that wrote a sending
	// state (driver nats): the claim of a replica whose lease has moved on
	// is refused.
	Fence       uint64             `json:"fence,omitempty"`
	Receipt     *groupcast.Receipt `json:"receipt,omitempty"`
	AcceptedAt  time.Time          `json:"accepted_at"`
	DeliveredAt *time.Time         `json:"delivered_at,omitempty"`
	Masked      bool               `json:"masked,omitempty"`
	// Reserved is the group state day this target holds a daily-cap slot
	// in (so a retry does not take a second one, and a final failure gives
	// it back).
	Reserved string `json:"reserved,omitempty"`
	// HitsCounted: the content rule hits of this target are in the metrics.
	HitsCounted bool `json:"hits_counted,omitempty"`
}

// Review records a decision on held targets.
type Review struct {
	Decision string    `json:"decision"` // approved | rejected
	By       string    `json:"by"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// RecallRequest records that an announcement is to be taken back.
type RecallRequest struct {
	At time.Time `json:"at"`
}

// ErrExists is returned by CreateRecord when the id is taken; the existing
// record comes back with it.
var ErrExists = errors.New("store: exists")

// ErrConflict is returned by UpdateTarget when the record changed between
// read and write more times than it retries.
var ErrConflict = errors.New("store: concurrent update")

// ErrTooLarge is returned by CreateRecord when the encoded record is more
// than the store takes in one message.
var ErrTooLarge = errors.New("store: too large")

// EncodeRecord is the record's stored form (HTML is not escaped: a body
// full of < and > stays the size it is).
func EncodeRecord(r *Record) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("store: encode record: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// DecodeRecord reads a stored record.
func DecodeRecord(b []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("store: decode record: %w", err)
	}
	if r.Announcement.ID == "" {
		return nil, errors.New("store: decode record: no id")
	}
	return &r, nil
}

// CreateRecord stores an announcement under its id, once, and answers its
// sequence in the ledger (the acceptance order). If the id exists it
// returns the stored record and ErrExists.
func (s *Store) CreateRecord(ctx context.Context, r *Record) (*Record, uint64, error) {
	b, err := EncodeRecord(r)
	if err != nil {
		return nil, 0, err
	}
	if max := s.MaxRecordBytes(); len(b) > max {
		return nil, 0, fmt.Errorf("%w: the announcement takes %d bytes stored; the store takes at most %d in one message (its max_payload)",
			ErrTooLarge, len(b), max)
	}
	ack, err := s.js.Publish(ctx, subjectRecord+r.Announcement.ID, b, jetstream.WithExpectLastSequencePerSubject(0))
	if err != nil {
		if isExists(err) {
			old, rev, err2 := s.RecordAt(ctx, r.Announcement.ID)
			if err2 != nil {
				return nil, 0, err2
			}
			return old, rev, ErrExists
		}
		return nil, 0, fmt.Errorf("store: create record %s: %w", r.Announcement.ID, err)
	}
	return r, ack.Sequence, nil
}

// MaxRecordBytes is the largest record the store takes in one message,
// less room for the headers.
func (s *Store) MaxRecordBytes() int {
	return int(s.nc.MaxPayload()) - 4096
}

// Record reads an announcement; groupcast.ErrNotFound if unknown.
func (s *Store) Record(ctx context.Context, id string) (*Record, error) {
	r, _, err := s.RecordAt(ctx, id)
	return r, err
}

// RecordAt reads an announcement and its sequence in the ledger.
func (s *Store) RecordAt(ctx context.Context, id string) (*Record, uint64, error) {
	if !groupcast.ValidID(id) {
		return nil, 0, groupcast.ErrNotFound
	}
	m, err := s.lastMsg(ctx, s.records, subjectRecord+id)
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, 0, groupcast.ErrNotFound
		}
		return nil, 0, fmt.Errorf("store: read record %s: %w", id, err)
	}
	r, err := DecodeRecord(m.Data)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", id, err)
	}
	r.StoredAt = m.Time.UTC()
	return r, m.Sequence, nil
}

// RecordBySeq reads the record stored at a sequence of the records stream.
func (s *Store) RecordBySeq(ctx context.Context, seq uint64) (*Record, error) {
	m, err := s.records.GetMsg(ctx, seq)
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, groupcast.ErrNotFound
		}
		return nil, fmt.Errorf("store: read record #%d: %w", seq, err)
	}
	return DecodeRecord(m.Data)
}

// lastMsg reads the message of a subject, through the stream's leader.
func (s *Store) lastMsg(ctx context.Context, st jetstream.Stream, subject string) (*jetstream.RawStreamMsg, error) {
	return st.GetLastMsgForSubject(ctx, subject)
}

// CreateTarget writes a destination's first state. If it exists already
// the stored one is kept and returned.
func (s *Store) CreateTarget(ctx context.Context, id string, t *TargetRecord) (*TargetRecord, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("store: encode target: %w", err)
	}
	rev, err := s.ledger.Create(ctx, targetKey(id, t.Key), b)
	if err != nil {
		if isExists(err) {
			old, _, err := s.Target(ctx, id, t.Key)
			return old, err
		}
		return nil, fmt.Errorf("store: create target %s/%s: %w", id, t.Key, err)
	}
	s.remember(targetKey(id, t.Key), t, rev)
	return t, nil
}

// Target reads one target and its revision; groupcast.ErrNotFound when
// nothing was written for it yet (it is where its record puts it).
func (s *Store) Target(ctx context.Context, id, key string) (*TargetRecord, uint64, error) {
	e, err := s.ledger.Get(ctx, targetKey(id, key))
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, 0, groupcast.ErrNotFound
		}
		return nil, 0, fmt.Errorf("store: read target %s/%s: %w", id, key, err)
	}
	var t TargetRecord
	if err := json.Unmarshal(e.Value(), &t); err != nil {
		return nil, 0, fmt.Errorf("store: decode target %s/%s: %w", id, key, err)
	}
	s.remember(targetKey(id, key), &t, e.Revision())
	return &t, e.Revision(), nil
}

// targetHint is the last version of a target this process read or wrote.
type targetHint struct {
	t   TargetRecord
	rev uint64
}

func (h targetHint) record() *TargetRecord {
	t := h.t
	t.PlatformMessageIDs = append([]string(nil), h.t.PlatformMessageIDs...)
	t.Timeline = slices.Clone(h.t.Timeline) // appended to by the caller
	if h.t.Recall != nil {
		r := *h.t.Recall
		t.Recall = &r
	}
	return &t
}

// remember keeps the version of a target that is still moving; a finished
// one is forgotten, so the hints stay as few as the targets in flight.
func (s *Store) remember(k string, t *TargetRecord, rev uint64) {
	if t.State.Terminal() && (t.Recall == nil || t.Recall.State != groupcast.RecallPending) {
		s.hints.Delete(k)
		return
	}
	h := targetHint{t: *t, rev: rev}
	h.t.PlatformMessageIDs = append([]string(nil), t.PlatformMessageIDs...)
	h.t.Timeline = slices.Clone(t.Timeline)
	s.hints.Store(k, h)
}

// ErrUnchanged may be returned by an UpdateTarget function to write nothing.
var ErrUnchanged = errors.New("store: unchanged")

// UpdateTarget applies change to the stored target with compare-and-set,
// re-reading and re-applying on a concurrent write. When nothing was
// written for the target yet, change gets initial (a copy) and the write
// is a create. change may return ErrUnchanged to leave the record as it is
// (UpdateTarget then returns the current record and ErrUnchanged).
func (s *Store) UpdateTarget(ctx context.Context, id, key string, initial *TargetRecord, change func(*TargetRecord) error) (*TargetRecord, error) {
	return s.updateTarget(ctx, id, key, initial, false, change)
}

// UpdateNewTarget is UpdateTarget for a target the caller believes was
// never written (its sender has not stored a state for it yet): unless
// this process holds a version of it, the first attempt creates it from
// initial without reading it first. When it exists after all, the create
// is refused and the update goes on as UpdateTarget's does, from what is
// stored: the belief saves a read, it never overwrites.
func (s *Store) UpdateNewTarget(ctx context.Context, id, key string, initial *TargetRecord, change func(*TargetRecord) error) (*TargetRecord, error) {
	return s.updateTarget(ctx, id, key, initial, initial != nil, change)
}

func (s *Store) updateTarget(ctx context.Context, id, key string, initial *TargetRecord, fresh bool, change func(*TargetRecord) error) (*TargetRecord, error) {
	k := targetKey(id, key)
	for attempt := range 50 {
		var t *TargetRecord
		var rev uint64
		var err error
		if h, ok := s.hints.Load(k); ok && attempt == 0 {
			// The version this process wrote or read last: usually still
			// current, which saves a read; compare-and-set catches it if not.
			hint := h.(targetHint)
			t, rev = hint.record(), hint.rev
		} else if fresh && attempt == 0 {
			// Believed never written: a create, refused if it was.
			c := *initial
			c.PlatformMessageIDs = append([]string{}, initial.PlatformMessageIDs...)
			t, rev = &c, 0
		} else if t, rev, err = s.Target(ctx, id, key); errors.Is(err, groupcast.ErrNotFound) && initial != nil {
			c := *initial
			c.PlatformMessageIDs = append([]string{}, initial.PlatformMessageIDs...)
			t, rev = &c, 0
		} else if err != nil {
			return nil, err
		}
		if err := change(t); err != nil {
			return t, err
		}
		b, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("store: encode target: %w", err)
		}
		var next uint64
		if rev == 0 {
			next, err = s.ledger.Create(ctx, k, b)
		} else {
			next, err = s.ledger.Update(ctx, k, b, rev)
		}
		if err != nil {
			s.hints.Delete(k)
			if isConflict(err) {
				continue
			}
			return nil, fmt.Errorf("store: update target %s/%s: %w", id, key, err)
		}
		s.remember(k, t, next)
		return t, nil
	}
	return nil, fmt.Errorf("%w: %s/%s", ErrConflict, id, key)
}

// Targets reads the stored state of the given destinations of an
// announcement; a destination with nothing stored is left out.
func (s *Store) Targets(ctx context.Context, id string, keys []string) ([]*TargetRecord, error) {
	out := make([]*TargetRecord, 0, len(keys))
	for _, key := range keys {
		t, _, err := s.Target(ctx, id, key)
		if errors.Is(err, groupcast.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// IDs lists announcement ids, oldest accepted first (the records
// stream's order), reading the subjects alone.
func (s *Store) IDs(ctx context.Context) ([]string, error) {
	info, err := s.records.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list: %w", err)
	}
	if info.State.Msgs == 0 {
		return nil, nil
	}
	c, err := s.js.OrderedConsumer(ctx, RecordsStream, jetstream.OrderedConsumerConfig{HeadersOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store: list: %w", err)
	}
	var ids []string
	last := info.State.LastSeq
	for {
		// Ask for no more than remain: a fetch returns when it has them all,
		// instead of waiting out its time for messages that do not exist.
		want := min(1000, max(int(info.State.Msgs)-len(ids), 1))
		batch, err := c.Fetch(want, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, fmt.Errorf("store: list: %w", err)
		}
		n := 0
		done := false
		for m := range batch.Messages() {
			n++
			_ = m.Ack()
			if _, id, ok := KeyOf(m.Subject()); ok {
				ids = append(ids, id)
			}
			if md, err := m.Metadata(); err == nil && md.Sequence.Stream >= last {
				done = true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("store: list: %w", err)
		}
		if done || n == 0 {
			return ids, nil
		}
	}
}

// PutReview records a review decision (the latest one counts).
func (s *Store) PutReview(ctx context.Context, id string, r Review) error {
	b, _ := json.Marshal(r)
	if _, err := s.js.Publish(ctx, subjectReview+id, b); err != nil {
		return fmt.Errorf("store: review %s: %w", id, err)
	}
	return nil
}

// Review reads a review decision; groupcast.ErrNotFound if none.
func (s *Store) Review(ctx context.Context, id string) (*Review, error) {
	var r Review
	found, err := s.eventJSON(ctx, subjectReview+id, &r)
	if err != nil {
		return nil, fmt.Errorf("store: review %s: %w", id, err)
	}
	if !found {
		return nil, groupcast.ErrNotFound
	}
	return &r, nil
}

// RequestRecall records that an announcement is to be taken back. It
// reports false when a recall was requested before (nothing is written).
func (s *Store) RequestRecall(ctx context.Context, id string, at time.Time) (bool, error) {
	b, _ := json.Marshal(RecallRequest{At: at})
	if _, err := s.js.Publish(ctx, subjectRecall+id, b, jetstream.WithExpectLastSequencePerSubject(0)); err != nil {
		if isExists(err) {
			return false, nil
		}
		return false, fmt.Errorf("store: recall %s: %w", id, err)
	}
	return true, nil
}

// Recall reads a recall request; groupcast.ErrNotFound if none.
func (s *Store) Recall(ctx context.Context, id string) (*RecallRequest, error) {
	var r RecallRequest
	found, err := s.eventJSON(ctx, subjectRecall+id, &r)
	if err != nil {
		return nil, fmt.Errorf("store: recall %s: %w", id, err)
	}
	if !found {
		return nil, groupcast.ErrNotFound
	}
	return &r, nil
}

func (s *Store) eventJSON(ctx context.Context, subject string, v any) (bool, error) {
	m, err := s.lastMsg(ctx, s.events, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(m.Data, v)
}

func targetKey(id, key string) string { return prefixTarget + id + "." + key }

// isExists reports a Create on a key that is there. On replicated streams
// nats.go can return the raw API error 10164 instead of ErrKeyExists.
func isExists(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || isConflict(err)
}

func isConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return false
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return host, port, nil
}
