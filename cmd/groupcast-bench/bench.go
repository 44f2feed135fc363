package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/groupcast/groupcast/store/natstest"
)

// bench is one invocation of the tool.
type bench struct {
	opts           *options
	stdout, stderr io.Writer
	tty            bool
}

// run performs the whole measurement. The daemon is killed on every way out.
func (b *bench) run(ctx context.Context) (*report, error) {
	o := b.opts
	rep := &report{
		Date:    time.Now().Format(time.RFC3339),
		Machine: describeMachine(),
		Command: commandLine(),
	}
	work, err := os.MkdirTemp("", "groupcast-bench-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintln(b.stderr, "groupcast-bench: work directory kept:", work)
	} else {
		defer os.RemoveAll(work)
	}

	var clu *natstest.Cluster
	if o.cluster > 0 {
		t0 := time.Now()
		cctx, cancel := context.WithTimeout(ctx, o.readyTimeout)
		clu, err = natstest.StartCluster(cctx, natstest.Options{Nodes: o.cluster, Dir: filepath.Join(work, "nats")})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("NATS cluster: %w", err)
		}
		defer clu.Shutdown() // after the daemons (deferred later, killed first)
		rep.Cluster = &clusterReport{Nodes: o.cluster, StoreReplicas: clusterStoreReplicas(o.cluster), URL: clu.URL(),
			StartSeconds: time.Since(t0).Seconds(), InProcess: true}
	}

	cfgPath := o.config
	if cfgPath == "" {
		addr, err := freeLoopback()
		if err != nil {
			return nil, err
		}
		cfgPath = filepath.Join(work, "groupcast.yaml")
		var text string
		if clu != nil {
			text = clusterConfig(work, addr, clu.URLs(), rep.Cluster.StoreReplicas, !o.noPolicy)
			rep.Config = fmt.Sprintf("default with the store on the cluster: nats, replicas %d", rep.Cluster.StoreReplicas)
		} else {
			storeAddr, err := freeLoopback()
			if err != nil {
				return nil, err
			}
			text = defaultConfig(work, addr, o.store, storeAddr, !o.noPolicy)
			rep.Config = "default: " + o.store + " store"
		}
		if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
			return nil, err
		}
		rep.Config += ", file drivers on dingtalk, wechat, qq, one route to all three"
		if o.noPolicy {
			rep.Config += ", no policy"
		} else {
			rep.Config += ", a policy on the route (windows, daily caps, ad-law rule)"
		}
	} else {
		rep.Config = cfgPath
	}
	tgt, err := loadTarget(cfgPath)
	if err != nil {
		return nil, err
	}
	if err := checkConfigDriver(o, tgt.driver); err != nil {
		return nil, err
	}
	rep.Store = tgt.driver
	if l, err := net.Listen("tcp", tgt.addr); err != nil {
		return nil, fmt.Errorf("%s is taken (another daemon?): %w", tgt.addr, err)
	} else {
		l.Close()
	}

	bin := o.binary
	if bin == "" {
		if bin, err = buildBinary(ctx, work); err != nil {
			return nil, err
		}
	}

	// The first daemon listens where the config says; the others share the
	// config and get a free port each (serve --listen).
	ds := make([]*daemon, o.replicas)
	for i := range ds {
		d := &daemon{bin: bin, cfg: cfgPath, logPath: filepath.Join(work, "daemon.log"), base: "http://" + tgt.addr}
		if o.replicas > 1 {
			d.logPath = filepath.Join(work, fmt.Sprintf("daemon-%d.log", i+1))
		}
		if i > 0 {
			if d.listen, err = freeLoopback(); err != nil {
				return nil, err
			}
			d.base = "http://" + d.listen
		}
		ds[i] = d
		defer d.kill()
	}
	readyIn, err := startAll(ctx, ds, o.readyTimeout, o.logLevel)
	if err != nil {
		return nil, err
	}
	idle, err := b.idleRSS(ctx, ds)
	if err != nil {
		return nil, err
	}
	for i, r := range readyIn {
		rep.Startup.ReadySeconds = max(rep.Startup.ReadySeconds, r.Seconds())
		rep.Startup.IdleRSSMB = max(rep.Startup.IdleRSSMB, idle[i])
	}
	if o.replicas > 1 {
		rep.Replicas = make([]replicaReport, len(ds))
		for i, d := range ds {
			rep.Replicas[i] = replicaReport{Name: fmt.Sprintf("r%d", i+1), Addr: strings.TrimPrefix(d.base, "http://"),
				ReadySeconds: readyIn[i].Seconds(), IdleRSSMB: idle[i]}
		}
	}
	d := ds[0]

	bases := make([]string, len(ds))
	for i, d := range ds {
		bases[i] = d.base
	}
	c := newClient(bases, tgt.token, o.clients)
	targets, err := c.plannedTargets(ctx)
	if err != nil {
		return nil, err
	}
	rep.TargetsPerAnnouncement = len(targets)

	// Follow the delivery files of the accounts the announcement goes to.
	var cur atomic.Pointer[tracker]
	tctx, stopTails := context.WithCancel(context.WithoutCancel(ctx))
	var tails []*tailer
	var twg sync.WaitGroup
	seen := map[string]bool{}
	for _, t := range targets {
		p, ok := tgt.filePaths[t.Account]
		if !ok || seen[p] {
			continue
		}
		seen[p] = true
		tl := newTailer(p, &cur)
		tails = append(tails, tl)
		twg.Add(1)
		go func() { defer twg.Done(); tl.follow(tctx, 50*time.Millisecond) }()
	}
	defer func() { stopTails(); twg.Wait() }()

	runID := randomID()
	prog := &progress{enabled: b.tty, out: b.stderr}

	if o.prefill > 0 {
		tr := newTracker("bench-"+runID+"-p", targets, tgt.filePaths)
		cur.Store(tr)
		prog.start("prefill", tr, func() int64 { m, _ := readMemory(d.pid()); return m.RSSKiB })
		res := drive(ctx, c, loadSpec{prefix: tr.prefix, clients: o.clients, count: o.prefill}, tr, prog)
		drained := drain(ctx, c, tr, o.drainTimeout)
		prog.finish()
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		p := &prefillReport{Announcements: res.accepted, Errors: res.errors, AllDelivered: drained}
		el := res.end.Sub(res.start).Seconds()
		p.Seconds, p.AcceptedPerSec = el, float64(res.accepted)/el
		if err := b.restarts(ctx, d, c, p); err != nil { // one daemon: --prefill refuses --replicas
			rep.Prefill = p
			return rep, err
		}
		rep.Prefill = p
	}

	if o.prefill == 0 || o.durationSet || o.count > 0 {
		tr := newTracker("bench-"+runID+"-l", targets, tgt.filePaths)
		cur.Store(tr)
		before, serr := storedMessages(ctx, tgt.storeURL)
		lr, err := b.load(ctx, ds, c, tr, prog, rep.Replicas)
		if after, serr2 := storedMessages(ctx, tgt.storeURL); lr != nil && serr == nil && serr2 == nil && lr.Accepted > 0 {
			lr.StoredMessages = int(after - before)
			lr.StoredPerAnnouncement = float64(after-before) / float64(lr.Accepted)
		}
		rep.Load = lr
		if err != nil {
			return rep, err
		}
	}
	for _, tl := range tails {
		if n := tl.bad.Load(); n > 0 && rep.Load != nil {
			rep.Load.Errors["undecodable file lines"] += int(n)
		}
		if e, ok := tl.readErr.Load().(string); ok && rep.Load != nil {
			rep.Load.Errors["reading "+filepath.Base(tl.path)+": "+e]++
		}
	}
	for _, d := range ds {
		if !d.running() {
			return rep, fmt.Errorf("the daemon %s exited during the run; log:\n%s", d.base, d.logTail(4096))
		}
	}
	// A graceful stop, as an operator would, all replicas at once; not
	// measured.
	var swg sync.WaitGroup
	for _, d := range ds {
		swg.Add(1)
		go func() { defer swg.Done(); _, _ = d.stop(syscall.SIGTERM, 30*time.Second) }()
	}
	swg.Wait()
	return rep, nil
}

// startAll starts every daemon at the same moment, as a Deployment does,
// and returns each one's time to ready. On an error the others are killed
// by the caller's deferred kills.
func startAll(ctx context.Context, ds []*daemon, readyTimeout time.Duration, level string) ([]time.Duration, error) {
	out := make([]time.Duration, len(ds))
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = d.start(ctx, readyTimeout, level)
			if errs[i] != nil && len(ds) > 1 {
				errs[i] = fmt.Errorf("replica r%d (%s): %w", i+1, d.base, errs[i])
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// idleRSS lets the daemons settle for a second after ready, then reads
// each one's resident set.
func (b *bench) idleRSS(ctx context.Context, ds []*daemon) ([]float64, error) {
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out := make([]float64, len(ds))
	for i, d := range ds {
		m, err := readMemory(d.pid())
		if err != nil {
			return nil, fmt.Errorf("daemon memory: %w", err)
		}
		out[i] = mib(m.RSSKiB)
	}
	return out, nil
}

// restarts times the daemon back to ready with the prefilled store: after a
// graceful stop, then after kill -9.
func (b *bench) restarts(ctx context.Context, d *daemon, c *client, p *prefillReport) error {
	took, err := d.stop(syscall.SIGTERM, time.Minute)
	p.StopSeconds = took.Seconds()
	if err != nil {
		return err
	}
	readyIn, err := d.start(ctx, b.opts.readyTimeout, b.opts.logLevel)
	if err != nil {
		return fmt.Errorf("restart after SIGTERM: %w", err)
	}
	p.ReadyAfterStopSeconds = readyIn.Seconds()
	idle, err := b.idleRSS(ctx, []*daemon{d})
	if err != nil {
		return err
	}
	p.IdleRSSMB = idle[0]
	if _, err := d.stop(syscall.SIGKILL, 10*time.Second); err != nil {
		return err
	}
	readyIn, err = d.start(ctx, b.opts.readyTimeout, b.opts.logLevel)
	if err != nil {
		return fmt.Errorf("restart after kill -9: %w", err)
	}
	p.ReadyAfterKillSeconds = readyIn.Seconds()
	c.hc.CloseIdleConnections() // they went to the old process
	return nil
}

// load runs the measured phase. With several daemons, reps (one per
// daemon) get each one's figures and the report the sums.
func (b *bench) load(ctx context.Context, ds []*daemon, c *client, tr *tracker, prog *progress, reps []replicaReport) (*loadReport, error) {
	o := b.opts
	spec := loadSpec{prefix: tr.prefix, clients: o.clients, count: o.count, paced: o.paced, replicas: len(ds)}
	if o.count == 0 || o.durationSet {
		spec.duration = o.duration // --count alone posts exactly that many
	}
	cpu0 := make([]time.Duration, len(ds))
	acc0 := make([]int64, len(ds))
	smps := make([]*sampler, len(ds))
	for i, d := range ds {
		var err error
		if cpu0[i], err = readCPU(d.pid()); err != nil {
			return nil, fmt.Errorf("daemon CPU: %w", err)
		}
		acc0[i] = c.accepted[i].Load()
	}
	self0 := selfCPU()
	for i, d := range ds {
		smps[i] = startSampler(d.pid(), 100*time.Millisecond)
	}
	prog.start("load", tr, func() int64 {
		var sum int64
		for _, s := range smps {
			sum += s.current().RSSKiB
		}
		return sum
	})
	res := drive(ctx, c, spec, tr, prog)
	drained := drain(ctx, c, tr, o.drainTimeout)
	prog.finish()
	lr := summarize(spec, res, tr, drained)
	var cpuSum time.Duration
	for i, d := range ds {
		peak := smps[i].Stop()
		cpu1, _ := readCPU(d.pid())
		mem, _ := readMemory(d.pid())
		cpu := cpu1 - cpu0[i]
		cpuSum += cpu
		if mib(peak) >= lr.DaemonPeakRSSMB { // the largest replica's figures
			lr.DaemonPeakRSSMB = mib(peak)
			lr.DaemonHWMMB = mib(mem.HWMKiB)
			lr.DaemonRSSAfterMB = mib(mem.RSSKiB)
		}
		if i < len(reps) {
			r := &reps[i]
			r.Accepted = int(c.accepted[i].Load() - acc0[i])
			r.PeakRSSMB, r.HWMMB, r.RSSAfterMB = mib(peak), mib(mem.HWMKiB), mib(mem.RSSKiB)
			r.CPUSeconds = cpu.Seconds()
			r.Accounts, _ = d.owned() // a figure for the reader; an unreadable log leaves it empty
			if i < len(lr.latencyBy) {
				r.Latency = lr.latencyBy[i]
			}
			if lr.Accepted > 0 {
				r.CPUPerAnnouncementMs = r.CPUSeconds * 1000 / float64(lr.Accepted)
			}
		}
	}
	self1 := selfCPU()
	lr.DaemonCPUSeconds = cpuSum.Seconds()
	if lr.Accepted > 0 {
		lr.DaemonCPUPerAnnouncementMs = lr.DaemonCPUSeconds * 1000 / float64(lr.Accepted)
	}
	if lr.EndToEndSeconds > 0 {
		lr.DaemonCores = lr.DaemonCPUSeconds / lr.EndToEndSeconds
	}
	lr.BenchCPUSeconds = (self1 - self0).Seconds()
	if ctx.Err() != nil {
		return lr, ctx.Err()
	}
	return lr, nil
}

func randomID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("150405") + hex.EncodeToString(b[:])
}

func commandLine() string {
	args := slices.Clone(os.Args)
	if len(args) > 0 {
		args[0] = filepath.Base(args[0])
	}
	return strings.Join(args, " ")
}

func mib(kib int64) float64 { return float64(kib) / 1024 }
