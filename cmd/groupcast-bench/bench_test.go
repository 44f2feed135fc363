package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
)

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    memory
		wantErr bool
	}{
		{"typical", "Name:\tgroupcast\nVmPeak:\t 1234 kB\nVmHWM:\t   52000 kB\nVmRSS:\t   48000 kB\nThreads:\t12\n", memory{48000, 52000}, false},
		{"missing hwm", "VmRSS:\t 10 kB\n", memory{}, true},
		{"garbage value", "VmRSS:\t x kB\nVmHWM:\t 1 kB\n", memory{}, true},
		{"empty", "", memory{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatus([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		// utime 250 ticks + stime 50 ticks = 3 s.
		{"plain", "4242 (groupcast) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 0 0", 3 * time.Second, false},
		{"spaces and parens in comm", "7 (a b) c)) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 0 0", 30 * time.Millisecond, false},
		{"short", "7 (x) R 1 2 3", 0, true},
		{"no comm", "7 x R", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	// This process is real: its CPU time reads and is not negative.
	if d, err := readCPU(os.Getpid()); err != nil || d < 0 {
		t.Errorf("readCPU(self) = %s, %v", d, err)
	}
	if m, err := readMemory(os.Getpid()); err != nil || m.RSSKiB <= 0 || m.HWMKiB < m.RSSKiB {
		t.Errorf("readMemory(self) = %+v, %v", m, err)
	}
}

func TestDistribution(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := distribution(ds)
	want := latency{N: 100, P50: 50, P90: 90, P99: 99, Max: 100}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := distribution([]time.Duration{7 * time.Millisecond}); got.P50 != 7 || got.P99 != 7 || got.Max != 7 {
		t.Errorf("one sample: %+v", got)
	}
	if got := distribution(nil); got.N != 0 {
		t.Errorf("no samples: %+v", got)
	}
}

func TestLineSplitterKeepsPartialLines(t *testing.T) {
	var got []string
	var s lineSplitter
	for _, chunk := range []string{"ab", "c\nde", "f\n\ng", "", "h\n", "tail"} {
		s.feed([]byte(chunk), func(l []byte) { got = append(got, string(l)) })
	}
	want := []string{"abc", "def", "", "gh"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
	if string(s.partial) != "tail" {
		t.Errorf("partial %q, want tail", s.partial)
	}
}

// FuzzLineSplitter: however the appended bytes are cut into reads, the
// lines handed on are exactly the newline-terminated lines of the whole.
func FuzzLineSplitter(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), uint8(1))
	f.Add([]byte("{\"announcement\":\"x\"}\n"), uint8(7))
	f.Add([]byte("\n\n\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		n := int(step)%17 + 1
		var s lineSplitter
		var got [][]byte
		for i := 0; i < len(data); i += n {
			s.feed(data[i:min(i+n, len(data))], func(l []byte) { got = append(got, bytes.Clone(l)) })
		}
		parts := bytes.Split(data, []byte("\n"))
		want := parts[:len(parts)-1] // the last piece has no newline yet
		if len(got) != len(want) {
			t.Fatalf("%d lines, want %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("line %d = %q, want %q", i, got[i], want[i])
			}
		}
		if !bytes.Equal(s.partial, parts[len(parts)-1]) {
			t.Fatalf("partial %q, want %q", s.partial, parts[len(parts)-1])
		}
	})
}

func TestAnnouncementIsValidRealisticAndUnique(t *testing.T) {
	a1, err := groupcast.Parse(groupcast.FormatMarkdown, announcement("bench-x-l1", 1), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a2, err := groupcast.Parse(groupcast.FormatMarkdown, announcement("bench-x-l2", 2), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if a1.ID != "bench-x-l1" || a1.Digest() == a2.Digest() {
		t.Errorf("ids %q/%q, digests equal: %v", a1.ID, a2.ID, a1.Digest() == a2.Digest())
	}
	if n := len(announcement("bench-x-l1", 1)); n < 900 || n > 1400 {
		t.Errorf("body is %d bytes, want about 1 KB", n)
	}
}

func TestDefaultConfigLoads(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "groupcast.yaml")
	if err := os.WriteFile(p, []byte(defaultConfig(dir, "127.0.0.1:18780", "embedded", "127.0.0.1:18781", true)), 0o600); err != nil {
		t.Fatal(err)
	}
	tg, err := loadTarget(p)
	if err != nil {
		t.Fatal(err)
	}
	if tg.addr != "127.0.0.1:18780" || len(tg.filePaths) != 3 || tg.driver != "embedded" {
		t.Errorf("target %+v", tg)
	}
	cfg, err := configs.LoadBytes([]byte(defaultConfig(dir, "127.0.0.1:1", "memory", "127.0.0.1:2", true)), p, configs.Options{Catalog: registry.Catalog})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Routes) != 1 || len(cfg.Routes[0].Targets) != 3 || len(cfg.Policies) != 1 || cfg.Routes[0].Policy != "ops" {
		t.Errorf("routes %+v policies %d: want the policy on the route", cfg.Routes, len(cfg.Policies))
	}
	if tg.storeURL != "nats://127.0.0.1:18781" {
		t.Errorf("store URL %q, want the embedded store's listener", tg.storeURL)
	}
	bare, err := configs.LoadBytes([]byte(defaultConfig(dir, "127.0.0.1:1", "memory", "127.0.0.1:2", false)), p, configs.Options{Catalog: registry.Catalog})
	if err != nil || len(bare.Policies) != 0 || bare.Routes[0].Policy != "" {
		t.Errorf("--no-policy: %v %+v", err, bare)
	}
	// A config listening beyond loopback is refused.
	open := strings.Replace(defaultConfig(dir, "0.0.0.0:18780", "embedded", "127.0.0.1:18781", true), "server:\n", "server:\n  tokens: [\"t0ken-for-test\"]\n", 1)
	if err := os.WriteFile(p, []byte(open), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadTarget(p); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("non-loopback listen: err = %v", err)
	}
}

func TestTrackerMatchesLinesAndStatus(t *testing.T) {
	targets := []targetRef{{"dt", "dt"}, {"wx", "运维通知群"}, {"other", "g"}}
	tr := newTracker("bench-r-l", targets, map[string]string{"dt": "/x/dt", "wx": "/x/wx"})
	t0 := time.Now()
	// A line may be read before the client has processed its 202.
	tr.line("bench-r-l1", "dt", "dt", t0.Add(-time.Millisecond))
	tr.accepted("bench-r-l1", t0, t0)
	tr.line("bench-r-l1", "wx", "运维通知群", t0.Add(5*time.Millisecond))
	tr.line("bench-r-l1", "wx", "运维通知群", t0.Add(6*time.Millisecond)) // duplicate
	tr.line("other-run-1", "dt", "dt", t0)                           // another phase: ignored
	if c := tr.counts(); c.open != 1 || c.deliveries != 2 {
		t.Fatalf("counts %+v, want 1 open, 2 deliveries", c)
	}
	// The non-file target is settled by a status read.
	tr.status(groupcast.Status{ID: "bench-r-l1", Targets: []groupcast.Target{
		{Account: "other", Group: "g", State: groupcast.StateFailed, UpdatedAt: t0},
		{Account: "dt", Group: "dt", State: groupcast.StateDelivered, UpdatedAt: t0},
	}})
	if c := tr.counts(); c.open != 0 || c.deliveries != 2 {
		t.Fatalf("counts %+v, want 0 open", c)
	}
	tr.accepted("bench-r-l2", t0, t0) // never delivered
	lr := summarize(loadSpec{clients: 1}, &loadResult{start: t0.Add(-time.Second), end: t0, accepted: 2, posted: 2,
		errors: map[string]int{}}, tr, false)
	if lr.Lost != 4 || lr.Duplicates != 1 || lr.DeliveredBefore202 != 1 || lr.Latency.N != 2 || lr.Latency.Max != 5 {
		t.Errorf("summary %+v", lr)
	}
	if lr.Errors["target ended failed"] != 1 || lr.Errors["target not terminal after --drain-timeout"] != 3 {
		t.Errorf("errors %v", lr.Errors)
	}
}

func TestTailerFollowsAppends(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dt.jsonl")
	var cur atomic.Pointer[tracker]
	tr := newTracker("bench-t-", []targetRef{{"dt", "dt"}}, map[string]string{"dt": p})
	cur.Store(tr)
	tl := newTailer(p, &cur)
	tl.poll() // no file yet: nothing, no error
	for i := range 3 {
		tr.accepted(fmt.Sprintf("bench-t-%d", i), time.Now(), time.Now())
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := func(i int) string {
		return fmt.Sprintf(`{"announcement":"bench-t-%d","route":"all","account":"dt","platform":"dingtalk","group":"dt","style":"formal","part":1,"parts":1,"text":"正文\n\"引号\"","time":"%s"}`+"\n",
			i, time.Now().Format(time.RFC3339Nano))
	}
	l0, l1 := line(0), line(1)
	f.WriteString(l0 + l1[:20]) // a torn write: half a line
	tl.poll()
	if c := tr.counts(); c.deliveries != 1 {
		t.Fatalf("after a line and a half: %d deliveries", c.deliveries)
	}
	f.WriteString(l1[20:] + "not json\n" + line(2))
	tl.poll()
	if c := tr.counts(); c.deliveries != 3 || c.open != 0 {
		t.Fatalf("counts %+v", c)
	}
	if tl.bad.Load() != 1 {
		t.Errorf("bad lines %d, want 1", tl.bad.Load())
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		bad  string
	}{
		{[]string{"--clients", "0"}, "--clients"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--paced", "-1"}, "--paced"},
		{[]string{"--store", "sqlite"}, "--store"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		_, err := parseFlags(tc.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.bad) {
			t.Errorf("%v: err = %v, want it to name %s", tc.args, err, tc.bad)
		}
	}
	o, err := parseFlags([]string{"--count", "10", "--prefill", "5"}, &bytes.Buffer{})
	if err != nil || o.count != 10 || o.prefill != 5 || o.durationSet {
		t.Errorf("o = %+v, err %v", o, err)
	}
	if code := run([]string{"--clients", "-3"}, &bytes.Buffer{}, &bytes.Buffer{}); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
}

// TestRunAgainstTheRealDaemon builds groupcast and measures a small run:
// everything accepted is delivered, and the figures are filled in.
func TestRunAgainstTheRealDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	bin := filepath.Join(t.TempDir(), "groupcast")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/groupcast/groupcast/cmd/groupcast").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var out, errb bytes.Buffer
	code := run([]string{"--binary", bin, "--count", "60", "--clients", "3", "--json", "--drain-timeout", "60s"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	l := rep.Load
	if l == nil || l.Accepted != 60 || l.Deliveries != 180 || l.Lost != 0 || rep.TargetsPerAnnouncement != 3 {
		t.Fatalf("report %s", out.String())
	}
	if l.Latency.N != 180 || l.Latency.Max < l.Latency.P50 || l.DaemonPeakRSSMB <= 0 || rep.Startup.ReadySeconds <= 0 {
		t.Errorf("figures missing: %s", out.String())
	}
	if errb.Len() != 0 {
		t.Errorf("stderr not empty without a terminal: %s", errb.String())
	}
}

func TestScaleOutFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		bad  string // "" when the combination is valid
	}{
		{"default", nil, ""},
		{"cluster alone", []string{"--cluster", "3"}, ""},
		{"cluster and replicas", []string{"--cluster", "3", "--replicas", "2"}, ""},
		{"replicas with a config", []string{"--config", "x.yaml", "--replicas", "2"}, ""},
		{"cluster and prefill, one replica", []string{"--cluster", "3", "--prefill", "10"}, ""},
		{"replicas without a shared store", []string{"--replicas", "2"}, "needs a store the replicas share"},
		{"replicas with the memory store", []string{"--replicas", "2", "--store", "memory"}, "needs a store the replicas share"},
		{"cluster with a config", []string{"--cluster", "3", "--config", "x.yaml"}, "leave out --config"},
		{"cluster with --store", []string{"--cluster", "3", "--store", "embedded"}, "leave out --store"},
		{"cluster too big", []string{"--cluster", "8"}, "--cluster must be"},
		{"negative cluster", []string{"--cluster", "-1"}, "--cluster must be"},
		{"no replicas", []string{"--replicas", "0"}, "--replicas must be"},
		{"prefill with replicas", []string{"--cluster", "3", "--replicas", "2", "--prefill", "10"}, "use it with --replicas 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, &bytes.Buffer{})
			if tc.bad == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				if o.replicas < 1 {
					t.Errorf("replicas %d", o.replicas)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("err = %v, want it to say %q", err, tc.bad)
			}
		})
	}
	// Without the flags, one daemon and no cluster, as before they existed.
	o, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil || o.replicas != 1 || o.cluster != 0 || o.store != "embedded" {
		t.Errorf("default options %+v, %v", o, err)
	}
	// A --config's driver is checked once loaded, before anything starts.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "groupcast.yaml")
	if err := os.WriteFile(cfg, []byte(defaultConfig(dir, "127.0.0.1:18782", "embedded", "127.0.0.1:18783", true)), 0o600); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	if code := run([]string{"--config", cfg, "--replicas", "2"}, &bytes.Buffer{}, &errb); code != exitUsage ||
		!strings.Contains(errb.String(), "store driver is embedded, not nats") {
		t.Errorf("--config (embedded) --replicas 2: exit %d, stderr %q", code, errb.String())
	}
	for _, tc := range []struct {
		replicas int
		driver   string
		ok       bool
	}{{1, "embedded", true}, {2, "nats", true}, {2, "embedded", false}, {3, "memory", false}} {
		err := checkConfigDriver(&options{replicas: tc.replicas}, tc.driver)
		if (err == nil) != tc.ok || (err != nil && (!strings.Contains(err.Error(), tc.driver) || !errors.As(err, new(usageError)))) {
			t.Errorf("replicas %d, driver %s: err = %v, want ok %v", tc.replicas, tc.driver, err, tc.ok)
		}
	}
}

func TestClusterConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "groupcast.yaml")
	urls := []string{"nats://127.0.0.1:14222", "nats://127.0.0.1:14223", "nats://127.0.0.1:14224"}
	text := clusterConfig(dir, "127.0.0.1:18790", urls, clusterStoreReplicas(len(urls)), true)
	cfg, err := configs.LoadBytes([]byte(text), p, configs.Options{Catalog: registry.Catalog})
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	st := cfg.Store
	if st.Driver != "nats" || st.URL != strings.Join(urls, ",") || st.Replicas != 3 || st.Listen != "" {
		t.Errorf("store %+v", st)
	}
	if st.Dir != filepath.Join(dir, "data") {
		t.Errorf("store.dir %q: the daemons' local files belong in the work directory", st.Dir)
	}
	// The same accounts, routes and policy as the default config.
	def, err := configs.LoadBytes([]byte(defaultConfig(dir, "127.0.0.1:18790", "embedded", "127.0.0.1:18791", true)), p, configs.Options{Catalog: registry.Catalog})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Accounts) != len(def.Accounts) || len(cfg.Routes) != 1 || len(cfg.Routes[0].Targets) != 3 ||
		cfg.Routes[0].Policy != "ops" || len(cfg.Policies) != len(def.Policies) {
		t.Errorf("cluster config routes %+v, policies %d; want the default's", cfg.Routes, len(cfg.Policies))
	}
	for i, a := range cfg.Accounts {
		if a.Name != def.Accounts[i].Name || a.Platform != def.Accounts[i].Platform {
			t.Errorf("account %d: %s/%s, want %s/%s", i, a.Name, a.Platform, def.Accounts[i].Name, def.Accounts[i].Platform)
		}
	}
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	tg, err := loadTarget(p)
	if err != nil {
		t.Fatal(err)
	}
	if tg.driver != "nats" || tg.storeURL != strings.Join(urls, ",") || len(tg.filePaths) != 3 {
		t.Errorf("target %+v: the stored-messages count reads the cluster", tg)
	}
	for n, want := range map[int]int{1: 1, 2: 2, 3: 3, 5: 3} {
		if got := clusterStoreReplicas(n); got != want {
			t.Errorf("clusterStoreReplicas(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestClientSpreadsRoundRobin(t *testing.T) {
	c := newClient([]string{"http://a", "http://b", "http://c"}, "", 1)
	var got []string
	for range 7 {
		_, b := c.pick()
		got = append(got, b)
	}
	want := []string{"http://a", "http://b", "http://c", "http://a", "http://b", "http://c", "http://a"}
	if !slices.Equal(got, want) {
		t.Errorf("picks %v, want %v", got, want)
	}
}

func TestReportTextPerReplica(t *testing.T) {
	rep := &report{Cluster: &clusterReport{Nodes: 3, StoreReplicas: 3, InProcess: true},
		Replicas: []replicaReport{
			{Name: "r1", Addr: "127.0.0.1:1", Accepted: 60, CPUSeconds: 1.5, CPUPerAnnouncementMs: 15, Accounts: []string{"a", "b"}},
			{Name: "r2", Addr: "127.0.0.1:2", Accepted: 40, CPUSeconds: 0.5, CPUPerAnnouncementMs: 5},
		},
		Load: &loadReport{Accepted: 100, DaemonCPUSeconds: 2, DaemonCPUPerAnnouncementMs: 20, BenchCPUSeconds: 3, Errors: map[string]int{}}}
	var b bytes.Buffer
	writeText(&b, rep)
	out := b.String()
	for _, want := range []string{
		"3 NATS JetStream nodes on loopback in the bench process, store.replicas 3",
		"replica r1    accepted 60 (60 %)",
		"CPU 1.5 s, 15.000 ms per announcement (of all 100 accepted); sends for a, b",
		"(of all 100 accepted); sends for no account",
		"replica r2    accepted 40 (40 %)",
		"all replicas  CPU 2.0 s",
		"20.000 ms per announcement",
		"bench + NATS  CPU 3.0 s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// TestRunOnACluster runs two replicas on a three-node cluster: posts go to
// both, everything accepted is delivered once, and each replica has its
// figures.
func TestRunOnACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon and runs a NATS cluster")
	}
	bin := filepath.Join(t.TempDir(), "groupcast")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/groupcast/groupcast/cmd/groupcast").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var out, errb bytes.Buffer
	code := run([]string{"--binary", bin, "--cluster", "3", "--replicas", "2", "--count", "40", "--clients", "4",
		"--json", "--drain-timeout", "60s"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	l := rep.Load
	if l == nil || l.Accepted != 40 || l.Deliveries != 120 || l.Lost != 0 || l.Duplicates != 0 || rep.Store != "nats" {
		t.Fatalf("report %s", out.String())
	}
	if c := rep.Cluster; c == nil || c.Nodes != 3 || c.StoreReplicas != 3 || strings.Count(c.URL, ",") != 2 {
		t.Errorf("cluster %+v", rep.Cluster)
	}
	if len(rep.Replicas) != 2 {
		t.Fatalf("replicas %+v", rep.Replicas)
	}
	var cpu float64
	for _, r := range rep.Replicas {
		if r.Accepted != 20 || r.ReadySeconds <= 0 || r.PeakRSSMB <= 0 || r.Latency.N != 60 {
			t.Errorf("replica %+v: want 20 of the 40 posts (round robin) and its figures", r)
		}
		cpu += r.CPUSeconds
	}
	if rep.Replicas[0].Addr == rep.Replicas[1].Addr {
		t.Errorf("both replicas on %s", rep.Replicas[0].Addr)
	}
	// Every account delivered to was held by some replica (from the logs).
	held := map[string]bool{}
	for _, r := range rep.Replicas {
		for _, a := range r.Accounts {
			held[a] = true
		}
	}
	for _, a := range []string{"bench-dingtalk", "bench-wechat", "bench-qq"} {
		if !held[a] {
			t.Errorf("no replica reports holding %s: %+v", a, rep.Replicas)
		}
	}
	if math.Abs(cpu-l.DaemonCPUSeconds) > 1e-9 {
		t.Errorf("replicas' CPU %.3f s, total %.3f s", cpu, l.DaemonCPUSeconds)
	}
	if l.StoredMessages <= 0 {
		t.Errorf("stored messages not counted on the cluster: %s", out.String())
	}
}

func TestOwnedAccounts(t *testing.T) {
	log := strings.Join([]string{
		`{"time":"2026-11-29T00:00:00Z","level":"INFO","msg":"account owned by this replica","account":"bench-qq","fence":3}`,
		`{"time":"2026-11-29T00:00:00Z","level":"INFO","msg":"account owned by this replica","account":"bench-wechat","fence":4}`,
		`not json, mentions account owned by this replica`,
		`{"level":"INFO","msg":"something else","account":"bench-dingtalk"}`,
		`{"level":"WARN","msg":"lease lost: this replica stops sending for the account","account":"bench-qq","err":"x"}`,
		`{"level":"INFO","msg":"account owned by this replica","account":"bench-wechat","fence":9}`,
	}, "\n")
	got, err := ownedAccounts(strings.NewReader(log))
	if err != nil || !slices.Equal(got, []string{"bench-wechat"}) {
		t.Errorf("owned = %v, %v; want [bench-wechat]", got, err)
	}
	if got, err := ownedAccounts(strings.NewReader("")); err != nil || len(got) != 0 {
		t.Errorf("empty log: %v, %v", got, err)
	}
}

func TestLatencyByReplica(t *testing.T) {
	tr := newTracker("bench-r-", []targetRef{{"dt", "dt"}}, map[string]string{"dt": "/x/dt"})
	t0 := time.Now()
	tr.acceptedBy("bench-r-1", t0, t0, 0)
	tr.acceptedBy("bench-r-2", t0, t0, 1)
	tr.acceptedBy("bench-r-3", t0, t0, 1)
	tr.line("bench-r-1", "dt", "dt", t0.Add(5*time.Millisecond))
	tr.line("bench-r-2", "dt", "dt", t0.Add(50*time.Millisecond))
	tr.line("bench-r-3", "dt", "dt", t0.Add(70*time.Millisecond))
	res := &loadResult{start: t0, end: t0, accepted: 3, posted: 3, errors: map[string]int{}}
	lr := summarize(loadSpec{clients: 1, replicas: 2}, res, tr, true)
	if len(lr.latencyBy) != 2 || lr.latencyBy[0].N != 1 || lr.latencyBy[0].Max != 5 ||
		lr.latencyBy[1].N != 2 || lr.latencyBy[1].Max != 70 || lr.Latency.N != 3 {
		t.Errorf("by replica %+v, all %+v", lr.latencyBy, lr.Latency)
	}
	if one := summarize(loadSpec{clients: 1}, res, tr, true); one.latencyBy != nil {
		t.Errorf("one daemon: by replica %+v, want none", one.latencyBy)
	}
}
