package router_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/schedule"
	"github.com/groupcast/groupcast/store"
)

// scheduleConfig is a file account and the schedules given (YAML list
// items, indented by four).
func scheduleConfig(dir, zone, storeLine, schedules string) string {
	return fmt.Sprintf(`
timezone: %s
%s
accounts:
  - {name: f1, platform: qq, driver: file, path: "%s/f1.jsonl", rate: {per_minute: 6000}}
routes:
  - {name: all, targets: [{account: f1}]}
schedules:
%s`, zone, storeLine, dir, schedules)
}

// sent counts the file driver's lines per announcement.
func sent(t *testing.T, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, l := range readLines(t, filepath.Join(dir, "f1.jsonl")) {
		out[l.Announcement]++
	}
	return out
}

// waitSent waits until the file has exactly the ids given, each once, and
// stays so a moment (no late duplicate).
func waitSent(t *testing.T, dir string, want ...string) {
	t.Helper()
	sort.Strings(want)
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := sent(t, dir)
		var ids []string
		dup := false
		for id, n := range got {
			ids = append(ids, id)
			dup = dup || n > 1
		}
		sort.Strings(ids)
		if dup {
			t.Fatalf("posted twice: %v", got)
		}
		if slices.Equal(ids, want) {
			time.Sleep(300 * time.Millisecond)
			if again := sent(t, dir); len(again) != len(got) {
				t.Fatalf("more posted after: %v", again)
			}
			for id, n := range sent(t, dir) {
				if n != 1 {
					t.Fatalf("%s posted %d times", id, n)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("posted %v, want %v", ids, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// A daily 02:30 in Berlin across the spring-forward night (02:30 does not
// exist: it posts at 03:00), a restart in the middle, and the fall-back
// night (02:30 happens twice: it posts once): every occurrence posted
// exactly once, with its local date-time id.
func TestScheduleAcrossDSTAndRestart(t *testing.T) {
	dir := t.TempDir()
	loc := berlin(t)
	yaml := scheduleConfig(dir, "Europe/Berlin", "store: {driver: embedded}", `
  - {name: daily, cron: "30 2 * * *", inline: {title: "日报 {{.Date}}", body: "第 {{.Occurrence}} 期"}}
`)
	clock := &fakeClock{now: time.Date(2027, 3, 26, 12, 0, 0, 0, loc)}
	h := startWith(t, yaml, store.DriverEmbedded, filepath.Join(dir, "store"), clock, 50*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // the scheduler sees the schedule first at 12:00
	clock.Set(time.Date(2027, 3, 27, 2, 31, 0, 0, loc))
	waitSent(t, dir, "daily-20270327-0230")
	clock.Set(time.Date(2027, 3, 28, 0, 59, 0, 0, time.UTC)) // 01:59 CET: the gap is next
	time.Sleep(200 * time.Millisecond)
	waitSent(t, dir, "daily-20270327-0230")
	clock.Set(time.Date(2027, 3, 28, 1, 0, 30, 0, time.UTC)) // 03:00:30 CEST
	waitSent(t, dir, "daily-20270327-0230", "daily-20270328-0230")
	st, err := h.svc.Status(context.Background(), "daily-20270328-0230")
	if err != nil || st.Title != "日报 2027-03-28" {
		t.Fatalf("%+v %v", st, err)
	}

	// A restart in the middle, on the same store: nothing posts again,
	// the next occurrence posts once.
	h.stop()
	clock.Set(time.Date(2027, 3, 29, 2, 31, 0, 0, loc))
	h = startWith(t, yaml, store.DriverEmbedded, filepath.Join(dir, "store"), clock, 50*time.Millisecond)
	waitSent(t, dir, "daily-20270327-0230", "daily-20270328-0230", "daily-20270329-0230")

	// The fall-back night: 02:30 CEST posts; 02:30 CET, an hour later,
	// does not.
	h.stop()
	clock.Set(time.Date(2027, 10, 31, 0, 31, 0, 0, time.UTC)) // 02:31 CEST
	h = startWith(t, yaml, store.DriverEmbedded, filepath.Join(dir, "store"), clock, 50*time.Millisecond)
	autumn := []string{"daily-20270327-0230", "daily-20270328-0230", "daily-20270329-0230", "daily-20271031-0230"}
	waitSent(t, dir, autumn...)                               // the months missed meanwhile are skipped: later than catch_up
	clock.Set(time.Date(2027, 10, 31, 1, 31, 0, 0, time.UTC)) // 02:31 CET
	time.Sleep(300 * time.Millisecond)
	waitSent(t, dir, autumn...)
	clock.Set(time.Date(2027, 11, 1, 2, 31, 0, 0, loc))
	waitSent(t, dir, append(autumn, "daily-20271101-0230")...)
	h.stop()
}

// Missed while down: occurrences at most catch_up late are posted on
// start, older ones skipped.
func TestScheduleCatchUp(t *testing.T) {
	dir := t.TempDir()
	loc := berlin(t)
	yaml := scheduleConfig(dir, "Europe/Berlin", "store: {driver: embedded}", `
  - {name: tick, cron: "*/10 * * * *", catch_up: 30m, inline: {title: "t", body: "{{.Time.Format \"15:04\"}}"}}
`)
	clock := &fakeClock{now: time.Date(2027, 1, 4, 9, 0, 30, 0, loc)}
	h := startWith(t, yaml, store.DriverEmbedded, filepath.Join(dir, "store"), clock, 50*time.Millisecond)
	clock.Set(time.Date(2027, 1, 4, 9, 5, 0, 0, loc))
	time.Sleep(300 * time.Millisecond)
	h.stop() // down from 09:05 to 10:45
	clock.Set(time.Date(2027, 1, 4, 10, 45, 0, 0, loc))
	h = startWith(t, yaml, store.DriverEmbedded, filepath.Join(dir, "store"), clock, 50*time.Millisecond)
	waitSent(t, dir, "tick-20270104-1020", "tick-20270104-1030", "tick-20270104-1040")
	// 09:10 to 10:10 were more than 30 minutes late.
	if skipped, posted := metricValue(t, h, "groupcast_schedule_occurrences_total", "outcome", "skipped"),
		metricValue(t, h, "groupcast_schedule_occurrences_total", "outcome", "posted"); skipped != 7 || posted != 3 {
		t.Errorf("skipped %v, posted %v; want 7 and 3", skipped, posted)
	}
	h.stop()
}

// A reload adds a schedule (it starts then) and removes one (it posts no
// more).
func TestScheduleReload(t *testing.T) {
	dir := t.TempDir()
	one := scheduleConfig(dir, "Asia/Shanghai", "store: {driver: memory}", `
  - {name: a, cron: "0 * * * *", inline: {title: "a", body: "a"}}
`)
	two := scheduleConfig(dir, "Asia/Shanghai", "store: {driver: memory}", `
  - {name: b, cron: "30 * * * *", inline: {title: "b", body: "b"}}
`)
	clock := &fakeClock{now: at("2027-01-04 08:50")}
	h := startWith(t, one, store.DriverMemory, "", clock, 50*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	clock.Set(at("2027-01-04 09:01"))
	waitSent(t, dir, "a-20270104-0900")
	if err := h.svc.Apply(loadConfig(t, two)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	clock.Set(at("2027-01-04 09:31"))
	waitSent(t, dir, "a-20270104-0900", "b-20270104-0930")
	clock.Set(at("2027-01-04 10:01")) // a is gone: its 10:00 is not posted
	time.Sleep(300 * time.Millisecond)
	waitSent(t, dir, "a-20270104-0900", "b-20270104-0930")
	clock.Set(at("2027-01-04 10:31"))
	waitSent(t, dir, "a-20270104-0900", "b-20270104-0930", "b-20270104-1030")
}

// Two replicas on one shared store, both running the schedules, with the
// same clock: each occurrence is posted once, also while one of them
// restarts in the middle.
func TestScheduleTwoReplicas(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	cfg := loadConfig(t, scheduleConfig(dir, "America/New_York", fmt.Sprintf("store: {driver: nats, url: %q}", ns.ClientURL()), `
  - {name: pulse, cron: "*/15 * * * *", inline: {title: "pulse {{.Time.Format \"15:04\"}}", body: "b"}}
`))
	ny, _ := time.LoadLocation("America/New_York")
	clock := &fakeClock{now: time.Date(2027, 3, 14, 0, 50, 0, 0, ny)}
	a := startReplicaClock(t, ns, cfg, clock)
	b := startReplicaClock(t, ns, cfg, clock)
	time.Sleep(300 * time.Millisecond)
	var want []string
	// 01:00, 01:15, 01:30, 01:45, then the clocks jump to 03:00 (02:xx do
	// not exist: 02:00–02:45 all post at 03:00), then 03:00.
	steps := []struct {
		at  time.Time
		ids []string
	}{
		{time.Date(2027, 3, 14, 1, 16, 0, 0, ny), []string{"pulse-20270314-0100", "pulse-20270314-0115"}},
		{time.Date(2027, 3, 14, 1, 46, 0, 0, ny), []string{"pulse-20270314-0130", "pulse-20270314-0145"}},
		{time.Date(2027, 3, 14, 7, 1, 0, 0, time.UTC), []string{"pulse-20270314-0200", "pulse-20270314-0215",
			"pulse-20270314-0230", "pulse-20270314-0245", "pulse-20270314-0300"}},
	}
	for i, step := range steps {
		if i == 2 {
			a.stop() // one replica goes in the middle; the other carries on
		}
		clock.Set(step.at)
		want = append(want, step.ids...)
		waitSent(t, dir, want...)
	}
	_ = b
}

// startReplicaClock is startReplica with a clock.
func startReplicaClock(t *testing.T, ns *server.Server, cfg *configs.Config, clock router.Clock) replica {
	t.Helper()
	return startReplicaLog(t, ns, cfg, clock, nil)
}

// Two replicas whose files differ (one edited, the other not yet): the
// occurrence is posted once, with the content of whichever came first;
// the other replica says so once, and does not try again every tick.
func TestScheduleConflictSaidOnce(t *testing.T) {
	ns := startNATS(t)
	out := t.TempDir()
	var logs [2]*syncBuffer
	var reps [2]replica
	clock := &fakeClock{now: at("2027-01-04 08:59")}
	for i := range 2 {
		cdir := t.TempDir()
		if err := os.WriteFile(filepath.Join(cdir, "a.md"), fmt.Appendf(nil, "---\ntitle: 版本 %d\n---\nb", i), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := configs.LoadBytes([]byte(scheduleConfig(out, "Asia/Shanghai", fmt.Sprintf("store: {driver: nats, url: %q}", ns.ClientURL()), `
  - {name: edited, cron: "0 9 * * *", announcement: a.md}
`)), filepath.Join(cdir, "groupcast.yaml"), configs.Options{Catalog: catalog})
		if err != nil {
			t.Fatal(err)
		}
		logs[i] = &syncBuffer{}
		reps[i] = startReplicaLog(t, ns, cfg, clock, slog.New(slog.NewTextHandler(logs[i], nil)))
	}
	time.Sleep(300 * time.Millisecond)
	clock.Set(at("2027-01-04 09:00"))
	waitSent(t, out, "edited-20270104-0900")
	time.Sleep(500 * time.Millisecond) // many ticks
	said := strings.Count(logs[0].String(), "other content") + strings.Count(logs[1].String(), "other content")
	if said != 1 {
		t.Fatalf("the conflict was said %d times:\n%s\n%s", said, logs[0], logs[1])
	}
	_ = reps
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startReplicaLog is startReplicaClock with a logger.
func startReplicaLog(t *testing.T, ns *server.Server, cfg *configs.Config, clock router.Clock, log *slog.Logger) replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, store.Options{Driver: store.DriverNATS, URL: ns.ClientURL(), LeaseTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := router.New(router.Options{Store: st, Config: cfg, Drivers: drivers, Clock: clock, Logger: log, MaxDeferWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Running()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done; st.Close() }) }
	t.Cleanup(stop)
	return replica{svc, stop}
}

// A schedule removed and re-added later starts afresh: the occurrence
// that fell while it was gone (within catch_up of the re-add) is not
// posted, the next one is. Also across a restart with the schedule gone.
func TestScheduleRemovedThenReAdded(t *testing.T) {
	dir := t.TempDir()
	withA := scheduleConfig(dir, "Asia/Shanghai", "store: {driver: embedded}", `
  - {name: a, cron: "0 * * * *", catch_up: 2h, inline: {title: "a", body: "a"}}
  - {name: b, cron: "30 5 * * *", inline: {title: "b", body: "b"}}
`)
	withoutA := scheduleConfig(dir, "Asia/Shanghai", "store: {driver: embedded}", `
  - {name: b, cron: "30 5 * * *", inline: {title: "b", body: "b"}}
`)
	clock := &fakeClock{now: at("2027-01-04 08:50")}
	storeDir := filepath.Join(dir, "store")
	h := startWith(t, withA, store.DriverEmbedded, storeDir, clock, 50*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	clock.Set(at("2027-01-04 09:01"))
	waitSent(t, dir, "a-20270104-0900")

	// Removed by a reload at 09:05, re-added at 10:10: 10:00 fell while
	// it was gone.
	clock.Set(at("2027-01-04 09:05"))
	if err := h.svc.Apply(loadConfig(t, withoutA)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	clock.Set(at("2027-01-04 10:10"))
	if err := h.svc.Apply(loadConfig(t, withA)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	waitSent(t, dir, "a-20270104-0900")
	clock.Set(at("2027-01-04 11:01"))
	waitSent(t, dir, "a-20270104-0900", "a-20270104-1100")

	// Removed while down (started without it), re-added after: 12:00 and
	// 13:00 fell while it was gone.
	h.stop()
	clock.Set(at("2027-01-04 11:30"))
	h = startWith(t, withoutA, store.DriverEmbedded, storeDir, clock, 50*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	h.stop()
	clock.Set(at("2027-01-04 13:10"))
	h = startWith(t, withA, store.DriverEmbedded, storeDir, clock, 50*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	waitSent(t, dir, "a-20270104-0900", "a-20270104-1100")
	clock.Set(at("2027-01-04 14:01"))
	waitSent(t, dir, "a-20270104-0900", "a-20270104-1100", "a-20270104-1400")
	h.stop()
}

// The scheduler's walk lists every occurrence however many there are
// (past the thousand of one batch), in order and once each, also across a
// spring-forward gap whose minutes all fire at one instant.
func TestEachBetweenPastOneBatch(t *testing.T) {
	loc := berlin(t)
	tests := []struct {
		name      string
		cron      string
		from, to  time.Time
		wantCount int
	}{
		{"a minute cron for 18 hours", "* * * * *", time.Date(2027, 1, 4, 9, 0, 0, 0, loc), time.Date(2027, 1, 5, 3, 0, 0, 0, loc), 1080},
		// 28 March 2027 02:00-02:59 do not exist: those 60 fire at 03:00
		// with 03:00 itself; the batch boundary falls among them.
		{"across the spring gap", "* * * * *", time.Date(2027, 3, 27, 9, 30, 0, 0, loc), time.Date(2027, 3, 28, 3, 0, 0, 0, loc), 1050},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := schedule.ParseCron(tt.cron, loc)
			if err != nil {
				t.Fatal(err)
			}
			var got []schedule.Occurrence
			router.EachBetween(c, tt.from, tt.to, time.Time{}, func(o schedule.Occurrence) bool {
				got = append(got, o)
				return true
			})
			if len(got) != tt.wantCount {
				t.Fatalf("%d occurrences, want %d", len(got), tt.wantCount)
			}
			for i := 1; i < len(got); i++ {
				if !got[i].Local.After(got[i-1].Local) || got[i].At.Before(got[i-1].At) {
					t.Fatalf("occurrence %d (%v) not after %d (%v)", i, got[i].Local, i-1, got[i-1].Local)
				}
			}
		})
	}
}

// Down for longer than a thousand occurrences: those later than catch_up
// are skipped (counted), and the recent ones within it still post.
func TestScheduleCatchUpAfterLongOutage(t *testing.T) {
	dir := t.TempDir()
	loc := berlin(t)
	yaml := scheduleConfig(dir, "Europe/Berlin", "store: {driver: embedded}", `
  - {name: tick, cron: "* * * * *", catch_up: 30m, inline: {title: "t", body: "{{.Time.Format \"15:04\"}}"}}
`)
	clock := &fakeClock{now: time.Date(2027, 1, 4, 9, 0, 30, 0, loc)}
	h := startWith(t, yaml, store.DriverEmbedded, filepath.Join(dir, "store"), clock, 50*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // the schedule starts at 09:00:30
	clock.Set(time.Date(2027, 1, 4, 9, 2, 0, 0, loc))
	want := []string{"tick-20270104-0901", "tick-20270104-0902"}
	waitSent(t, dir, want...)
	h.stop() // down from 09:02 to 03:00:30 the next day: 1078 occurrences
	clock.Set(time.Date(2027, 1, 5, 3, 0, 30, 0, loc))
	h = startWith(t, yaml, store.DriverEmbedded, filepath.Join(dir, "store"), clock, 50*time.Millisecond)
	for at := time.Date(2027, 1, 5, 2, 31, 0, 0, loc); !at.After(time.Date(2027, 1, 5, 3, 0, 0, 0, loc)); at = at.Add(time.Minute) {
		want = append(want, "tick-"+at.Format("20060102-1504"))
	}
	waitSent(t, dir, want...)
	// 09:03 to 02:30 were more than 30 minutes late.
	if skipped, posted := metricValue(t, h, "groupcast_schedule_occurrences_total", "outcome", "skipped"),
		metricValue(t, h, "groupcast_schedule_occurrences_total", "outcome", "posted"); skipped != 1048 || posted != 30 {
		t.Errorf("skipped %v, posted %v; want 1048 and 30", skipped, posted)
	}
	h.stop()
}
