package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/store/natstest"
)

// The fault suite of scale-out (issue 12): a real 3-node NATS cluster, each
// node a process of its own (so it can be killed with SIGKILL), and
// groupcast replicas (processes of the built binary) on it with replicas:
// 3. Each scenario counts, per account, the acknowledged announcements
// missing from the account's file once the system settles (lost), the
// lines beyond one per announcement (duplicated), and the sends out of
// acceptance order (inversions).
//
// GROUPCAST_FAULTS=long runs the long variant: more announcements, more
// faults, repeated. Without it a short variant runs.
// GROUPCAST_FAULTS_LOGS=dir keeps each scenario's replica logs and files.

// Environment of a NATS node process: the test binary re-executed.
const (
	faultNodeEnv    = "GROUPCAST_FAULTS_NODE"    // the node's index in the plan
	faultPlanEnv    = "GROUPCAST_FAULTS_PLAN"    // natstest.Plan.Marshal
	faultMonitorEnv = "GROUPCAST_FAULTS_MONITOR" // the node's HTTP monitoring port
)

// faultLeaseTTL is store.lease_ttl in the suite: the shortest the config
// takes.
const faultLeaseTTL = 3 * time.Second

func faultsLong() bool { return os.Getenv("GROUPCAST_FAULTS") == "long" }

// runFaultNode is the body of a NATS node process: TestMain calls it first
// and it exits when the environment names a node, and returns otherwise.
func runFaultNode() {
	idx := os.Getenv(faultNodeEnv)
	if idx == "" {
		return
	}
	code := 0
	if err := faultNode(idx); err != nil {
		fmt.Fprintln(os.Stderr, "nats node:", err)
		code = 1
	}
	os.Exit(code)
}

func faultNode(idx string) error {
	i, err := strconv.Atoi(idx)
	if err != nil {
		return fmt.Errorf("%s: %w", faultNodeEnv, err)
	}
	mon, err := strconv.Atoi(os.Getenv(faultMonitorEnv))
	if err != nil {
		return fmt.Errorf("%s: %w", faultMonitorEnv, err)
	}
	plan, err := natstest.UnmarshalPlan(os.Getenv(faultPlanEnv))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return natstest.RunNode(ctx, plan, i, func(_ int, o *server.Options) {
		o.HTTPHost, o.HTTPPort = "127.0.0.1", mon
	})
}

// natsProcs is a 3-node cluster of node processes.
type natsProcs struct {
	t    *testing.T
	plan natstest.Plan
	mon  []int

	mu    sync.Mutex
	procs []*exec.Cmd // nil while a node is down
	logs  []*nodeOutput
}

// nodeOutput is what a node process printed.
type nodeOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *nodeOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *nodeOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func startNATSProcs(t *testing.T) *natsProcs {
	t.Helper()
	plan, err := natstest.NewPlan(filepath.Join(t.TempDir(), "nats"), 3)
	if err != nil {
		t.Fatal(err)
	}
	c := &natsProcs{t: t, plan: plan, procs: make([]*exec.Cmd, 3), logs: make([]*nodeOutput, 3)}
	for range plan.Nodes {
		p, err := strconv.Atoi(strings.TrimPrefix(freePort(t), "127.0.0.1:"))
		if err != nil {
			t.Fatal(err)
		}
		c.mon = append(c.mon, p)
	}
	t.Cleanup(func() {
		for i := range c.procs {
			c.stop(i, syscall.SIGKILL)
		}
	})
	for i := range plan.Nodes {
		c.start(i)
	}
	c.waitHealthy(-1)
	return c
}

// start runs node i (again: same name, ports and store dir).
func (c *natsProcs) start(i int) {
	c.t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), faultNodeEnv+"="+strconv.Itoa(i), faultPlanEnv+"="+c.plan.Marshal(),
		faultMonitorEnv+"="+strconv.Itoa(c.mon[i]))
	buf := &nodeOutput{}
	cmd.Stdout, cmd.Stderr = buf, buf
	// A node outlives no test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.procs[i], c.logs[i] = cmd, buf
	c.mu.Unlock()
}

// stop sends sig to node i and waits for it to exit.
func (c *natsProcs) stop(i int, sig syscall.Signal) {
	c.mu.Lock()
	cmd := c.procs[i]
	c.procs[i] = nil
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	_ = cmd.Wait()
}

// waitHealthy waits until node i (every running node for -1) answers
// /healthz 200: JetStream is up and its assets current.
func (c *natsProcs) waitHealthy(i int) {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for n := range c.plan.Nodes {
		if i >= 0 && n != i {
			continue
		}
		for {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", c.mon[n]))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				c.mu.Lock()
				out := c.logs[n]
				c.mu.Unlock()
				c.t.Fatalf("nats node %d not healthy within a minute (%v); output:\n%s", n, err, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// metaLeader is the index of the node that leads the JetStream meta group,
// as a running node's /jsz says.
func (c *natsProcs) metaLeader() int {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for n := range c.plan.Nodes {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/jsz", c.mon[n]))
			if err != nil {
				continue
			}
			var jsz struct {
				Meta *struct {
					Leader string `json:"leader"`
				} `json:"meta_cluster"`
			}
			err = json.NewDecoder(resp.Body).Decode(&jsz)
			resp.Body.Close()
			if err == nil && jsz.Meta != nil {
				if i := c.index(jsz.Meta.Leader); i >= 0 {
					return i
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatal("no meta leader within 30s")
	return -1
}

// streamLeader is the index of the node that leads stream, as the
// cluster tells a client.
func (c *natsProcs) streamLeader(stream string) int {
	c.t.Helper()
	nc, err := nats.Connect(strings.Join(c.plan.URLs(), ","))
	if err != nil {
		c.t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s, err := js.Stream(ctx, stream)
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = s.Info(ctx); err == nil && info.Cluster != nil {
				if i := c.index(info.Cluster.Leader); i >= 0 {
					cancel()
					return i
				}
			}
		}
		cancel()
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no leader of %s within 30s", stream)
	return -1
}

// stepDown asks the leader of stream to hand over to another node, and
// waits until one has.
func (c *natsProcs) stepDown(stream string) {
	c.t.Helper()
	old := c.streamLeader(stream)
	nc, err := nats.Connect(c.url())
	if err != nil {
		c.t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+stream, nil, 5*time.Second); err != nil {
		c.t.Logf("step down %s: %v", stream, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.streamLeader(stream) == old && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *natsProcs) index(name string) int {
	for i, n := range c.plan.Nodes {
		if n.Name == name {
			return i
		}
	}
	return -1
}

func (c *natsProcs) url() string { return strings.Join(c.plan.URLs(), ",") }

// faultAccounts are the suite's accounts: file drivers with a pace, all
// replicas appending to the same files.
var faultAccounts = []string{"f1", "f2", "f3"}

// replicaSet is the groupcast replicas of a scenario.
type replicaSet struct {
	t    *testing.T
	dir  string
	url  string
	ttl  time.Duration // store.lease_ttl
	mu   sync.Mutex
	ds   []*daemon
	down map[int]bool // killed, stopped or paused: no posts to it
}

func newReplicaSet(t *testing.T, dir, url string) *replicaSet {
	r := &replicaSet{t: t, dir: dir, url: url, ttl: faultLeaseTTL, down: map[int]bool{}}
	if keep := os.Getenv("GROUPCAST_FAULTS_LOGS"); keep != "" {
		// Keep the replicas' logs and the files for a look afterwards.
		t.Cleanup(func() { r.keep(filepath.Join(keep, t.Name())) })
	}
	return r
}

func (r *replicaSet) keep(dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.t.Log(err)
		return
	}
	r.mu.Lock()
	ds := slices.Clone(r.ds)
	r.mu.Unlock()
	for i, d := range ds {
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("replica-%d.log", i)), []byte(d.logs()), 0o644)
	}
	for _, a := range faultAccounts {
		if b, err := os.ReadFile(r.file(a)); err == nil {
			_ = os.WriteFile(filepath.Join(dir, a+".jsonl"), b, 0o644)
		}
	}
	r.t.Logf("logs and files kept in %s", dir)
}

func (r *replicaSet) file(account string) string { return filepath.Join(r.dir, account+".jsonl") }

// start launches n replicas at once and waits until every one is ready.
func (r *replicaSet) start(n int) []int {
	r.t.Helper()
	var idx []int
	for range n {
		idx = append(idx, r.launch())
	}
	for _, i := range idx {
		waitAnswer(r.t, r.d(i), "/readyz", func(code int, body string) bool {
			return code == http.StatusOK && !strings.Contains(body, `"starting"`)
		})
		r.setDown(i, false)
	}
	return idx
}

func (r *replicaSet) launch() int {
	r.t.Helper()
	addr := freePort(r.t)
	var accounts, targets strings.Builder
	for _, a := range faultAccounts {
		fmt.Fprintf(&accounts, "  - {name: %s, platform: dingtalk, driver: file, path: %q, rate: {per_minute: 6000}}\n", a, r.file(a))
		fmt.Fprintf(&targets, "{account: %s}, ", a)
	}
	cfg := fmt.Sprintf(`
server: {listen: "%s"}
store: {driver: nats, url: "%s", replicas: 3, lease_ttl: %s}
delivery: {ack_wait: 5s, backoff: 50ms}
accounts:
%sroutes:
  - {name: all, targets: [%s]}
`, addr, r.url, r.ttl, accounts.String(), strings.TrimSuffix(targets.String(), ", "))
	r.mu.Lock()
	i := len(r.ds)
	r.mu.Unlock()
	path := filepath.Join(r.dir, fmt.Sprintf("groupcast-%d.yaml", i))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		r.t.Fatal(err)
	}
	d := launchArgs(r.t, addr, "serve", "--config", path, "--log-format", "json", "--log-level", "debug")
	r.mu.Lock()
	r.ds = append(r.ds, d)
	r.down[i] = true // until it is ready
	r.mu.Unlock()
	return i
}

func (r *replicaSet) d(i int) *daemon {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ds[i]
}

func (r *replicaSet) setDown(i int, down bool) {
	r.mu.Lock()
	r.down[i] = down
	r.mu.Unlock()
}

// up are the addresses of the replicas that take posts.
func (r *replicaSet) up() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for i, d := range r.ds {
		if !r.down[i] {
			out = append(out, d.addr)
		}
	}
	return out
}

// waitShared waits (at most within) until every replica that is up holds
// an account, so that a fault takes some accounts from one replica while
// the other keeps its own; it logs who holds what.
func (r *replicaSet) waitShared(within time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		r.mu.Lock()
		n := len(r.ds)
		r.mu.Unlock()
		var holds []string
		shared := true
		for i := range n {
			r.mu.Lock()
			down := r.down[i]
			r.mu.Unlock()
			if down {
				continue
			}
			h := ownedNow(r.d(i))
			holds = append(holds, fmt.Sprintf("replica %d %v", i, h))
			shared = shared && len(h) > 0
		}
		if shared || time.Now().After(deadline) {
			r.t.Logf("accounts held: %s (shared: %v)", strings.Join(holds, ", "), shared)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// holder is the replica that owns the most accounts now (by the logs),
// and those accounts.
func (r *replicaSet) holder() (int, []string) {
	r.t.Helper()
	best, held := -1, []string(nil)
	r.mu.Lock()
	n := len(r.ds)
	r.mu.Unlock()
	for i := range n {
		r.mu.Lock()
		down := r.down[i]
		r.mu.Unlock()
		if down {
			continue
		}
		if h := ownedNow(r.d(i)); best < 0 || len(h) > len(held) {
			best, held = i, h
		}
	}
	if best < 0 || len(held) == 0 {
		r.t.Fatal("no replica holds an account")
	}
	return best, held
}

// launchArgs starts the binary with args without waiting for it.
func launchArgs(t *testing.T, addr string, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, addr: addr, log: &bytes.Buffer{}, mu: &sync.Mutex{}}
	d.cmd = exec.Command(binary, args...)
	d.cmd.Stdout = lockedBuffer{d.mu, d.log}
	d.cmd.Stderr = lockedBuffer{d.mu, d.log}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(syscall.SIGCONT)
		d.kill()
	})
	return d
}

// logEvent is one line of a replica's JSON log.
type logEvent struct {
	at      time.Time
	msg     string
	account string
	state   string
	id      string
}

func events(d *daemon) []logEvent {
	var out []logEvent
	sc := bufio.NewScanner(strings.NewReader(d.logs()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Time         time.Time `json:"time"`
			Msg          string    `json:"msg"`
			Account      string    `json:"account"`
			State        string    `json:"state"`
			Announcement string    `json:"announcement"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		out = append(out, logEvent{at: l.Time, msg: l.Msg, account: l.Account, state: l.State, id: l.Announcement})
	}
	return out
}

const (
	msgOwned  = "account owned by this replica"
	msgLost   = "lease lost: this replica stops sending for the account"
	msgHanded = "account handed to another replica"
)

// ownedNow are the accounts a replica's log says it holds.
func ownedNow(d *daemon) []string {
	held := map[string]bool{}
	for _, e := range events(d) {
		switch e.msg {
		case msgOwned:
			held[e.account] = true
		case msgLost, msgHanded:
			delete(held, e.account)
		}
	}
	var out []string
	for a := range held {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// takenAt is when a replica's log says it took account after since (zero
// if it has not).
func takenAt(d *daemon, account string, since time.Time) time.Time {
	for _, e := range events(d) {
		if e.msg == msgOwned && e.account == account && e.at.After(since) {
			return e.at
		}
	}
	return time.Time{}
}

// waitTaken waits until replica i logs that it took account after since.
func (r *replicaSet) waitTaken(i int, account string, since time.Time, within time.Duration) time.Time {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if at := takenAt(r.d(i), account, since); !at.IsZero() {
			return at
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("replica %d did not take %s within %v; log tail:\n%s", i, account, within, tail(r.d(i).logs(), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// load posts announcements one at a time, round robin over the replicas
// that are up, so that acceptance order is the order of the posts, until
// it is stopped.
type load struct {
	mu     sync.Mutex
	acked  []string
	ackAt  []time.Time
	failed int
	stop   chan struct{}
	done   chan struct{}
}

var faultClient = &http.Client{Timeout: 5 * time.Second}

func startLoad(r *replicaSet, prefix string, gap time.Duration) *load {
	l := &load{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			case <-time.After(gap):
			}
			up := r.up()
			if len(up) == 0 {
				continue
			}
			id := fmt.Sprintf("%s-%d", prefix, i)
			body := fmt.Sprintf("---\nid: %s\ntitle: 第%d条\n---\n正文 %d", id, i, i)
			resp, err := faultClient.Post("http://"+up[i%len(up)]+"/v1/messages", "text/markdown", strings.NewReader(body))
			l.mu.Lock()
			if err == nil && (resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK) {
				l.acked = append(l.acked, id)
				l.ackAt = append(l.ackAt, time.Now())
			} else {
				l.failed++
			}
			l.mu.Unlock()
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	return l
}

func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// more waits until n more posts than now were acknowledged.
func (l *load) more(t *testing.T, n int) {
	t.Helper()
	want := l.count() + n
	deadline := time.Now().Add(settleWithin())
	for l.count() < want {
		if time.Now().After(deadline) {
			l.mu.Lock()
			failed := l.failed
			l.mu.Unlock()
			t.Fatalf("load stalled: %d acknowledged, waiting for %d (%d posts refused)", l.count(), want, failed)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stall is the longest time between two acknowledgements that ends after
// from and starts before to.
func (l *load) stall(from, to time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return longestGap(l.ackAt, from, to)
}

func longestGap(ts []time.Time, from, to time.Time) time.Duration {
	var most time.Duration
	for i := 1; i < len(ts); i++ {
		if ts[i].After(from) && ts[i-1].Before(to) {
			most = max(most, ts[i].Sub(ts[i-1]))
		}
	}
	return most
}

// deliveryStall is the longest time between two lines of an account's
// file that ends after from and starts before to.
func (r *replicaSet) deliveryStall(account string, from, to time.Time) time.Duration {
	var ts []time.Time
	for _, l := range linesAt(r.t, r.file(account)) {
		ts = append(ts, l.at)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	return longestGap(ts, from, to)
}

// leaseMoves counts the leases the replicas lost between since and until.
func (r *replicaSet) leaseMoves(since, until time.Time) int {
	r.mu.Lock()
	ds := slices.Clone(r.ds)
	r.mu.Unlock()
	n := 0
	for _, d := range ds {
		for _, e := range events(d) {
			if e.msg == msgLost && e.at.After(since) && e.at.Before(until) {
				n++
			}
		}
	}
	return n
}

// end stops the load and answers what it posted.
func (l *load) end() (acked []string, failed int) {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.acked), l.failed
}

// firstLineAfter is the first line of path written after at.
func firstLineAfter(t *testing.T, path string, at time.Time) time.Time {
	for _, l := range linesAt(t, path) {
		if l.at.After(at) {
			return l.at
		}
	}
	return time.Time{}
}

// tally is what a scenario counted.
type tally struct {
	acked, failedPosts int
	lost               map[string]int // per account
	dups               map[string]int // lines beyond one per announcement
	inversions         map[string]int
}

func (ty tally) sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// settle waits (at most within) until every acknowledged announcement is in
// every account's file, then counts.
func (r *replicaSet) settle(acked []string, failed int, within time.Duration) tally {
	r.t.Helper()
	ty := tally{acked: len(acked), failedPosts: failed, lost: map[string]int{}, dups: map[string]int{}, inversions: map[string]int{}}
	start := time.Now()
	deadline := start.Add(within)
	for {
		missing := 0
		for _, a := range faultAccounts {
			c := countLines(r.t, r.file(a))
			ty.lost[a] = 0
			for _, id := range acked {
				if c[id] == 0 {
					ty.lost[a]++
				}
			}
			missing += ty.lost[a]
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Logf("settled %v after the load ended", time.Since(start).Round(time.Millisecond))
	for _, a := range faultAccounts {
		if ty.lost[a] > 0 {
			r.stuck(a)
		}
	}
	// A send in flight at a fault may land a moment after the rest.
	time.Sleep(faultLeaseTTL / 3)
	isAcked := map[string]bool{}
	for _, id := range acked {
		isAcked[id] = true
	}
	addr := r.up()[0]
	acceptedAt := map[string]time.Time{}
	for _, a := range faultAccounts {
		for _, n := range countLines(r.t, r.file(a)) {
			ty.dups[a] += n - 1
		}
		ty.inversions[a] = ackedInversions(r.t, addr, linesOf(r.t, r.file(a)), isAcked, acceptedAt)
	}
	return ty
}

// waitDelivering waits until every account delivered something after
// since, and fails the test for each one that did not within the time.
func (r *replicaSet) waitDelivering(since time.Time, within time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for _, a := range faultAccounts {
		for firstLineAfter(r.t, r.file(a), since).IsZero() {
			if time.Now().After(deadline) {
				r.t.Errorf("%s: nothing delivered within %v after the cluster was whole again", a, within)
				r.stuck(a)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// stuck logs what the replicas say of an account that did not deliver
// everything: its owner, and its last delivery.
func (r *replicaSet) stuck(account string) {
	r.t.Helper()
	var last time.Time
	for _, l := range linesAt(r.t, r.file(account)) {
		if l.at.After(last) {
			last = l.at
		}
	}
	for _, addr := range r.up() {
		resp, err := faultClient.Get("http://" + addr + "/v1/accounts")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r.t.Logf("%s: last delivery %v ago; GET /v1/accounts on %s: %s", account, time.Since(last).Round(time.Millisecond), addr, b)
	}
}

// ackedInversions is inversions over the acknowledged announcements, with
// each one's accepted_at asked once. An announcement whose post was not
// answered (a replica paused or killed mid-post) may have been accepted
// with a clock reading taken before a later one's, so it is left out.
func ackedInversions(t *testing.T, addr string, ids []string, acked map[string]bool, acceptedAt map[string]time.Time) int {
	t.Helper()
	seen := map[string]bool{}
	var last time.Time
	n := 0
	for _, id := range ids {
		if seen[id] || !acked[id] {
			continue
		}
		seen[id] = true
		at, ok := acceptedAt[id]
		if !ok {
			var err error
			at, err = time.Parse(time.RFC3339Nano, fmt.Sprint(status(t, addr, id)["accepted_at"]))
			if err != nil {
				t.Fatalf("%s: accepted_at: %v", id, err)
			}
			acceptedAt[id] = at
		}
		if at.Before(last) {
			n++
		}
		if at.After(last) {
			last = at
		}
	}
	return n
}

// check logs the figures and fails on loss, on duplicates beyond one per
// account per fault, and on inversions.
func (ty tally) check(t *testing.T, faults int) {
	t.Helper()
	t.Logf("acknowledged %d (posts not acknowledged: %d); lost %d %v; duplicated %d %v; inversions %d %v",
		ty.acked, ty.failedPosts, ty.sum(ty.lost), ty.lost, ty.sum(ty.dups), ty.dups, ty.sum(ty.inversions), ty.inversions)
	for _, a := range faultAccounts {
		if ty.lost[a] != 0 {
			t.Errorf("%s: %d acknowledged announcements never delivered", a, ty.lost[a])
		}
		if ty.dups[a] > faults {
			t.Errorf("%s: %d duplicate deliveries, more than one send in flight per fault (%d faults)", a, ty.dups[a], faults)
		}
		if ty.inversions[a] != 0 {
			t.Errorf("%s: %d sends out of acceptance order", a, ty.inversions[a])
		}
	}
}

// faultScale is a scenario's size: the announcements acknowledged before
// and after each fault, the gap between posts, and how many times the
// fault repeats.
func faultScale() (step int, gap time.Duration, rounds int) {
	if faultsLong() {
		return 500, 5 * time.Millisecond, 3
	}
	return 60, 15 * time.Millisecond, 1
}

func faultSetup(t *testing.T) (*natsProcs, *replicaSet) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a NATS cluster and the binary")
	}
	c := startNATSProcs(t)
	return c, newReplicaSet(t, t.TempDir(), c.url())
}

// nodeDown is how long a killed NATS node stays down.
func nodeDown() time.Duration {
	if faultsLong() {
		return 2 * faultLeaseTTL
	}
	return time.Second
}

// settleWithin is how long a scenario waits for every acknowledged
// announcement to arrive.
func settleWithin() time.Duration {
	if faultsLong() {
		return 3 * time.Minute
	}
	return time.Minute
}

// 1. No fault: load through two replicas (three in the long variant).
func TestFaultNoneScaleOut(t *testing.T) {
	_, rs := faultSetup(t)
	n := 2
	if faultsLong() {
		n = 3
	}
	rs.start(n)
	step, gap, rounds := faultScale()
	l := startLoad(rs, "none", gap)
	l.more(t, 2*step*rounds)
	acked, failed := l.end()
	ty := rs.settle(acked, failed, settleWithin())
	ty.check(t, 0)
	if ty.failedPosts != 0 {
		t.Errorf("%d posts refused with nothing failing", ty.failedPosts)
	}
}

// takeover logs how long after the fault at `at` replica to took each of
// the accounts, and delivered its first line for it.
func (r *replicaSet) takeover(kind string, to int, accounts []string, at time.Time) map[string]time.Time {
	r.t.Helper()
	taken := map[string]time.Time{}
	for _, a := range accounts {
		taken[a] = r.waitTaken(to, a, at, settleWithin())
	}
	// The first delivery needs something to deliver: the load goes on.
	time.Sleep(faultLeaseTTL / 3)
	for _, a := range accounts {
		first := firstLineAfter(r.t, r.file(a), taken[a])
		deliv := "no delivery after it yet"
		if !first.IsZero() {
			deliv = fmt.Sprintf("first delivery by it %v after the fault", first.Sub(at).Round(time.Millisecond))
		}
		bound := "within"
		if taken[a].Sub(at) > 2*faultLeaseTTL {
			bound = "BEYOND"
		}
		r.t.Logf("%s: %s taken over by replica %d %v after the fault (%s 2×lease_ttl = %v), %s", kind, a, to,
			taken[a].Sub(at).Round(time.Millisecond), bound, 2*faultLeaseTTL, deliv)
	}
	return taken
}

// otherUp is a replica other than i that is up.
func (r *replicaSet) otherUp(i int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for j := range r.ds {
		if j != i && !r.down[j] {
			return j
		}
	}
	r.t.Fatal("no other replica up")
	return -1
}

// 2. kill -9 of the replica holding the most accounts, under load; the
// other takes them over. The long variant starts a new replica after each
// kill and kills again.
func TestFaultKillReplica(t *testing.T) {
	replicaFault(t, "kill", "kill -9", func(d *daemon) func() {
		d.kill()
		return func() {}
	})
}

// 3. SIGTERM of the replica holding the most accounts, under load: it
// hands its leases back, and the other takes them at its next try.
func TestFaultTermReplica(t *testing.T) {
	replicaFault(t, "term", "SIGTERM", func(d *daemon) func() {
		at := time.Now()
		if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		return func() { // after the takeover: it exits cleanly
			if err := d.cmd.Wait(); err != nil {
				t.Errorf("replica after SIGTERM: %v; log tail:\n%s", err, tail(d.logs(), 30))
			}
			t.Logf("replica exited %v after SIGTERM", time.Since(at).Round(time.Millisecond))
		}
	})
}

// replicaFault runs load through two replicas and, each round, stops the
// replica holding the most accounts with stop (what: how, for the logs);
// the other must take its accounts over, and every acknowledged
// announcement must arrive. stop answers what to check once the takeover
// happened.
func replicaFault(t *testing.T, tag, what string, stop func(d *daemon) func()) {
	_, rs := faultSetup(t)
	rs.start(2)
	step, gap, rounds := faultScale()
	l := startLoad(rs, tag, gap)
	rs.waitShared(20 * time.Second)
	for round := range rounds {
		l.more(t, step)
		victim, held := rs.holder()
		heir := rs.otherUp(victim)
		rs.setDown(victim, true)
		at := time.Now()
		after := stop(rs.d(victim))
		t.Logf("round %d: %s of replica %d holding %v at %d acknowledged", round, what, victim, held, l.count())
		rs.takeover(what, heir, held, at)
		after()
		if round < rounds-1 {
			rs.start(1)
		}
	}
	l.more(t, step)
	acked, failed := l.end()
	rs.settle(acked, failed, settleWithin()).check(t, rounds)
}

// leasesStream is the stream under the leases bucket.
var leasesStream = store.KVStreamName(store.BucketLeases)

// 4. kill -9 of a NATS node under load, then a restart of it: the meta
// leader (moving the records stream's leader elsewhere first), then,
// separately, the leader of the records stream (not the meta leader), and
// in the long variant the leader of the leases bucket.
//
// After each fault every account must send again: a sender that stopped
// while its replica kept the lease (a lease check that timed out in an
// election stopped the sender for good before 62a64d6) shows as an account
// that delivers nothing.
func TestFaultKillNATSNode(t *testing.T) {
	c, rs := faultSetup(t)
	// The default lease, as in production: it outlives most elections.
	rs.ttl = 10 * time.Second
	rs.start(2)
	step, gap, rounds := faultScale()
	l := startLoad(rs, "node", gap)
	rs.waitShared(20 * time.Second)
	type window struct {
		what     string
		at, back time.Time
	}
	var faults []window
	for round := range rounds {
		kinds := []string{"meta", "records"}
		if faultsLong() {
			kinds = append(kinds, "leases")
		}
		for _, kind := range kinds {
			l.more(t, step)
			// One leader per fault: step the records stream down until its
			// leader is not the meta leader.
			ml, rl := c.metaLeader(), c.streamLeader(store.RecordsStream)
			for tries := 0; ml == rl && tries < 10; tries++ {
				c.stepDown(store.RecordsStream)
				ml, rl = c.metaLeader(), c.streamLeader(store.RecordsStream)
			}
			var node int
			var which string
			switch kind {
			case "meta":
				node, which = ml, "meta leader"
			case "records":
				node, which = rl, "leader of "+store.RecordsStream
			case "leases":
				node, which = c.streamLeader(leasesStream), "leader of "+leasesStream
			}
			if node == ml && kind != "meta" {
				which += ", meta leader too"
			}
			before := l.count()
			at := time.Now()
			c.stop(node, syscall.SIGKILL)
			// The load goes on with the node down for a while (longer than a
			// lease in the long variant).
			time.Sleep(nodeDown())
			during := l.count() - before
			c.start(node)
			c.waitHealthy(node)
			back := time.Now()
			faults = append(faults, window{fmt.Sprintf("round %d: %s", round, which), at, back})
			// Every account sends again once the cluster is whole, before
			// the next fault can move its lease and hide a sender that
			// stopped.
			rs.waitDelivering(back, settleWithin())
			t.Logf("round %d: kill -9 of NATS node %d (%s) at %d acknowledged; %d acknowledged while it was down; back and healthy %v after the kill",
				round, node, which, before, during, back.Sub(at).Round(time.Millisecond))
		}
	}
	l.more(t, step)
	acked, failed := l.end()
	ty := rs.settle(acked, failed, settleWithin())
	for _, f := range faults {
		stalls := []string{fmt.Sprintf("intake %v", l.stall(f.at, f.back).Round(time.Millisecond))}
		for _, a := range faultAccounts {
			stalls = append(stalls, fmt.Sprintf("%s %v", a, rs.deliveryStall(a, f.at, f.back).Round(time.Millisecond)))
		}
		t.Logf("%s: longest stall around the fault: %s; leases moved: %d", f.what, strings.Join(stalls, ", "),
			rs.leaseMoves(f.at, f.back.Add(faultLeaseTTL)))
	}
	ty.check(t, len(faults))
}

// 5. SIGSTOP of the replica holding the most accounts for longer than the
// lease, then SIGCONT: the other takes its accounts; the paused one, once
// it runs again, completes at most the one send it had in flight for
// each, and gives them up.
func TestFaultPauseReplica(t *testing.T) {
	_, rs := faultSetup(t)
	rs.start(2)
	step, gap, rounds := faultScale()
	l := startLoad(rs, "pause", gap)
	rs.waitShared(20 * time.Second)
	for round := range rounds {
		l.more(t, step)
		victim, held := rs.holder()
		heir := rs.otherUp(victim)
		d := rs.d(victim)
		rs.setDown(victim, true)
		at := time.Now()
		if err := d.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: SIGSTOP of replica %d holding %v at %d acknowledged", round, victim, held, l.count())
		taken := rs.takeover("SIGSTOP", heir, held, at)
		resumed := time.Now()
		if err := d.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: SIGCONT after %v", round, resumed.Sub(at).Round(time.Millisecond))
		// The paused replica notices it lost each lease (or hands it over).
		for _, a := range held {
			waitLost(t, d, a, resumed, settleWithin())
		}
		t.Logf("round %d: the paused replica gave its leases up %v after SIGCONT", round, time.Since(resumed).Round(time.Millisecond))
		// Evidence of one owner at a time: what the paused replica sent for
		// an account after the other took it. Its log shows a claim or a
		// delivery it recorded after the takeover (a delivery the other
		// recorded first leaves no state change, so no line); its file
		// shows a send it made after SIGCONT of an announcement already
		// sent (the other sends each announcement once). A send it had in
		// flight when it stopped may complete (one per account); nothing
		// else may go.
		for _, a := range held {
			// Until it takes the account again (the replicas share the
			// accounts): a new lease, sends of its own.
			until := takenAt(d, a, resumed)
			if until.IsZero() {
				until = time.Now().Add(time.Hour)
			}
			late := map[string]bool{}
			for _, e := range events(d) {
				if e.account == a && e.at.After(taken[a]) && e.at.Before(until) && (e.state == "sending" || e.state == "delivered") {
					late[e.id] = true
				}
			}
			seen := map[string]bool{}
			for _, ln := range linesAt(t, rs.file(a)) {
				if seen[ln.id] && ln.at.After(resumed) && ln.at.Before(until) {
					late[ln.id] = true
				}
				seen[ln.id] = true
			}
			t.Logf("round %d: %s: after replica %d took it, paused replica %d claimed or sent %d announcements %v",
				round, a, heir, victim, len(late), slices.Sorted(maps.Keys(late)))
			if len(late) > 1 {
				t.Errorf("%s: two owners: replica %d claimed or sent %d announcements after replica %d took the account",
					a, victim, len(late), heir)
			}
		}
		rs.setDown(victim, false)
	}
	l.more(t, step)
	acked, failed := l.end()
	rs.settle(acked, failed, settleWithin()).check(t, rounds)
}

// waitLost waits until d logs that it let the account go after since:
// its lease lost, or handed over (the replicas share the accounts).
func waitLost(t *testing.T, d *daemon, account string, since time.Time, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		for _, e := range events(d) {
			if (e.msg == msgLost || e.msg == msgHanded) && e.account == account && e.at.After(since) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the paused replica did not give up %s within %v; log tail:\n%s", account, within, tail(d.logs(), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
