// Command groupcast-bench measures a groupcast daemon end to end: it starts
// `groupcast serve` as a child process on a loopback port, drives
// POST /v1/messages from concurrent keep-alive clients, waits until every
// target of every accepted announcement is terminal, and reports accepted
// announcements per second, deliveries per second, accept→delivered latency,
// errors by kind, and the daemon's time to ready, memory and CPU time.
//
// The default config is the one the project's targets are stated for: the
// embedded durable store in a temporary directory and file drivers on
// dingtalk, wechat and qq, one route to all three with a policy on it, as
// every real config has (windows, daily caps and the Advertising Law rule;
// --no-policy leaves it out). Delivery times come from the file driver's
// "time" field. With the store reachable (the default config exposes the
// embedded one on a loopback port), the report counts the messages stored
// per announcement: the sum of every stream's last sequence, before and
// after the load.
//
//	go run ./cmd/groupcast-bench --clients 16 --duration 30s
//	go run ./cmd/groupcast-bench --paced 500 --duration 30s
//	go run ./cmd/groupcast-bench --prefill 100000
//	go run ./cmd/groupcast-bench --cluster 3 --replicas 2 --clients 16 --duration 15s
//
// --cluster N runs an N-node NATS JetStream cluster on loopback inside the
// bench process (store/natstest) and points the default config at it
// (store driver nats, replicas min(3, N)). --replicas M starts M daemons on
// the one config, the second and later with serve --listen on a port of
// their own; the clients send each request to the next daemon in turn, and
// the report gives each one's RSS, CPU and CPU per announcement.
//
// The tool only talks to 127.0.0.1, stops by itself (every wait has a
// deadline), and always kills the daemons it started, on Ctrl-C too.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
	exitLost    = 3 // some accepted announcement did not reach every target
)

// options are the command line.
type options struct {
	binary       string
	config       string
	clients      int
	duration     time.Duration
	count        int
	paced        float64
	json         bool
	out          string
	prefill      int
	store        string
	noPolicy     bool
	logLevel     string
	readyTimeout time.Duration
	drainTimeout time.Duration
	keep         bool
	// cluster is the number of NATS nodes the bench runs in process for
	// the daemons' store (0: none, the default config's own store).
	cluster int
	// replicas is the number of groupcast serve daemons (1 by default).
	replicas int
	// durationSet is true when --duration was given. With --prefill the
	// load phase runs only when --duration or a --count is given.
	durationSet bool
}

// Bounds on the flags: the tool always stops by itself.
const (
	maxClients  = 1024
	maxDuration = 2 * time.Hour
	maxCount    = 10_000_000
	maxCluster  = 7
	maxReplicas = 16
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("groupcast-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: groupcast-bench [flags]

Starts groupcast serve on a loopback port, drives POST /v1/messages, waits
until every target is terminal and prints throughput, latency, errors, and the
daemon's time to ready, peak RSS and CPU seconds.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.binary, "binary", "", "groupcast binary to run (default: build ./cmd/groupcast into the work directory)")
	fs.StringVar(&o.config, "config", "", "config file for the daemon (default: embedded store in a temp dir, file drivers on dingtalk, wechat, qq)")
	fs.IntVar(&o.clients, "clients", 8, "concurrent keep-alive HTTP clients")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long to post (the load phase)")
	fs.IntVar(&o.count, "count", 0, "post this many announcements, then stop (0: until --duration)")
	fs.Float64Var(&o.paced, "paced", 0, "hold this many announcements per second instead of posting as fast as the daemon answers")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON")
	fs.StringVar(&o.out, "out", "", "also write the results as JSON to this file")
	fs.IntVar(&o.prefill, "prefill", 0, "store this many announcements first, then restart the daemon (SIGTERM, then kill -9) and time it to ready")
	fs.StringVar(&o.store, "store", "embedded", "store driver of the default config: embedded or memory")
	fs.BoolVar(&o.noPolicy, "no-policy", false, "leave the policy (windows, caps, ad-law rule) off the default config's route")
	fs.StringVar(&o.logLevel, "log-level", "info", "the daemon's --log-level (its log goes to daemon.log in the work directory)")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 2*time.Minute, "longest wait for /readyz after a start")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 3*time.Minute, "longest wait, after the last post, for every target to be terminal")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (config, store, delivery files, daemon.log)")
	fs.IntVar(&o.cluster, "cluster", 0, "run an N-node NATS JetStream cluster on loopback inside the bench and point the default config at it (store driver nats, replicas min(3, N))")
	fs.IntVar(&o.replicas, "replicas", 1, "start this many groupcast serve daemons on one store, each on its own loopback port; the clients spread posts over them (needs --cluster, or a --config with store driver nats)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	storeSet := false
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "duration":
			o.durationSet = true
		case "store":
			storeSet = true
		}
	})
	var problems []string
	if o.clients < 1 || o.clients > maxClients {
		problems = append(problems, fmt.Sprintf("--clients must be 1..%d", maxClients))
	}
	if o.duration <= 0 || o.duration > maxDuration {
		problems = append(problems, fmt.Sprintf("--duration must be more than 0 and at most %s", maxDuration))
	}
	if o.count < 0 || o.count > maxCount {
		problems = append(problems, fmt.Sprintf("--count must be 0..%d", maxCount))
	}
	if o.prefill < 0 || o.prefill > maxCount {
		problems = append(problems, fmt.Sprintf("--prefill must be 0..%d", maxCount))
	}
	if o.paced < 0 || o.paced > 100_000 {
		problems = append(problems, "--paced must be 0 (saturated) up to 100000 per second")
	}
	if o.store != "embedded" && o.store != "memory" {
		problems = append(problems, "--store must be embedded or memory")
	}
	if o.readyTimeout <= 0 || o.drainTimeout <= 0 {
		problems = append(problems, "--ready-timeout and --drain-timeout must be positive")
	}
	problems = append(problems, checkScaleOut(o, storeSet)...)
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return o, nil
}

// checkScaleOut validates --cluster and --replicas against the other
// flags. Whether a --config's store is nats is checked once it is loaded
// (checkConfigDriver).
func checkScaleOut(o *options, storeSet bool) []string {
	var problems []string
	if o.cluster < 0 || o.cluster > maxCluster {
		problems = append(problems, fmt.Sprintf("--cluster must be 0 (no cluster) up to %d nodes", maxCluster))
	}
	if o.replicas < 1 || o.replicas > maxReplicas {
		problems = append(problems, fmt.Sprintf("--replicas must be 1..%d", maxReplicas))
	}
	if o.cluster > 0 && o.config != "" {
		problems = append(problems, "--cluster writes its own config (store driver nats on the cluster); leave out --config, or point your config's store.url at a cluster you run and drop --cluster")
	}
	if o.cluster > 0 && storeSet {
		problems = append(problems, "--store picks the default config's own store; with --cluster the store is the cluster: leave out --store")
	}
	if o.replicas > 1 && o.cluster == 0 && o.config == "" {
		problems = append(problems, fmt.Sprintf("--replicas %d needs a store the replicas share: add --cluster 3, or give a --config with store driver nats", o.replicas))
	}
	if o.replicas > 1 && o.prefill > 0 {
		problems = append(problems, "--prefill times the restart of one daemon: use it with --replicas 1")
	}
	return problems
}

// checkConfigDriver is the part of checkScaleOut that needs the loaded
// config: several replicas need the nats driver (the embedded and memory
// stores live inside one process).
func checkConfigDriver(o *options, driver string) error {
	if o.replicas > 1 && driver != "nats" {
		return usageError{fmt.Errorf("--replicas %d needs a store the replicas share: the config's store driver is %s, not nats", o.replicas, driver)}
	}
	return nil
}

// usageError is a flag combination found wrong only once the config is
// loaded: the exit code is exitUsage.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "groupcast-bench:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{opts: o, stdout: stdout, stderr: stderr, tty: isTerminal(stdout) && isTerminal(stderr)}
	rep, err := b.run(ctx)
	if rep != nil {
		if o.json {
			err2 := writeJSON(stdout, rep)
			if err == nil {
				err = err2
			}
		} else {
			writeText(stdout, rep)
		}
		if o.out != "" {
			if err2 := writeJSONFile(o.out, rep); err == nil {
				err = err2
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "groupcast-bench:", err)
		if errors.As(err, new(usageError)) {
			return exitUsage
		}
		return exitRuntime
	}
	if rep.lost() > 0 {
		return exitLost
	}
	return exitOK
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
