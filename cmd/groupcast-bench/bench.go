package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

	bin := o.binary
	if bin == "" {
		if bin, err = buildBinary(ctx, work); err != nil {
			return nil, err
		}
	}
	cfgPath := o.config
	if cfgPath == "" {
		addr, err := freeLoopback()
		if err != nil {
			return nil, err
		}
		storeAddr, err := freeLoopback()
		if err != nil {
			return nil, err
		}
		cfgPath = filepath.Join(work, "groupcast.yaml")
		if err := os.WriteFile(cfgPath, []byte(defaultConfig(work, addr, o.store, storeAddr, !o.noPolicy)), 0o600); err != nil {
			return nil, err
		}
		rep.Config = "default: " + o.store + " store, file drivers on dingtalk, wechat, qq, one route to all three"
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
	rep.Store = tgt.driver
	if l, err := net.Listen("tcp", tgt.addr); err != nil {
		return nil, fmt.Errorf("%s is taken (another daemon?): %w", tgt.addr, err)
	} else {
		l.Close()
	}

	d := &daemon{bin: bin, cfg: cfgPath, logPath: filepath.Join(work, "daemon.log"), base: "http://" + tgt.addr}
	defer d.kill()
	readyIn, err := d.start(ctx, o.readyTimeout, o.logLevel)
	if err != nil {
		return nil, err
	}
	rep.Startup.ReadySeconds = readyIn.Seconds()
	if rep.Startup.IdleRSSMB, err = b.idleRSS(ctx, d); err != nil {
		return nil, err
	}

	c := newClient(d.base, tgt.token, o.clients)
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
		if err := b.restarts(ctx, d, c, p); err != nil {
			rep.Prefill = p
			return rep, err
		}
		rep.Prefill = p
	}

	if o.prefill == 0 || o.durationSet || o.count > 0 {
		tr := newTracker("bench-"+runID+"-l", targets, tgt.filePaths)
		cur.Store(tr)
		before, serr := storedMessages(ctx, tgt.storeURL)
		lr, err := b.load(ctx, d, c, tr, prog)
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
	if !d.running() {
		return rep, fmt.Errorf("the daemon exited during the run; log:\n%s", d.logTail(4096))
	}
	// A graceful stop, as an operator would; not measured.
	_, _ = d.stop(syscall.SIGTERM, 30*time.Second)
	return rep, nil
}

// idleRSS lets the daemon settle for a second after ready, then reads its
// resident set.
func (b *bench) idleRSS(ctx context.Context, d *daemon) (float64, error) {
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	m, err := readMemory(d.pid())
	if err != nil {
		return 0, fmt.Errorf("daemon memory: %w", err)
	}
	return mib(m.RSSKiB), nil
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
	if p.IdleRSSMB, err = b.idleRSS(ctx, d); err != nil {
		return err
	}
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

// load runs the measured phase.
func (b *bench) load(ctx context.Context, d *daemon, c *client, tr *tracker, prog *progress) (*loadReport, error) {
	o := b.opts
	spec := loadSpec{prefix: tr.prefix, clients: o.clients, count: o.count, paced: o.paced}
	if o.count == 0 || o.durationSet {
		spec.duration = o.duration // --count alone posts exactly that many
	}
	pid := d.pid()
	cpu0, err := readCPU(pid)
	if err != nil {
		return nil, fmt.Errorf("daemon CPU: %w", err)
	}
	self0 := selfCPU()
	smp := startSampler(pid, 100*time.Millisecond)
	prog.start("load", tr, func() int64 { return smp.current().RSSKiB })
	res := drive(ctx, c, spec, tr, prog)
	drained := drain(ctx, c, tr, o.drainTimeout)
	prog.finish()
	peak := smp.Stop()
	cpu1, _ := readCPU(pid)
	self1 := selfCPU()
	mem, _ := readMemory(pid)
	lr := summarize(spec, res, tr, drained)
	lr.DaemonPeakRSSMB = mib(peak)
	lr.DaemonHWMMB = mib(mem.HWMKiB)
	lr.DaemonRSSAfterMB = mib(mem.RSSKiB)
	lr.DaemonCPUSeconds = (cpu1 - cpu0).Seconds()
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
