package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"reflect"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/dingtalk"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/api"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/console"
	"github.com/groupcast/groupcast/inbound"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/store"
	"github.com/groupcast/groupcast/transform"
)

func loadOptions(warn func(configs.Problem)) configs.Options {
	opt := registry.Options()
	opt.CheckTemplate = transform.CheckTemplate
	opt.CheckPolicy = checkPolicy
	opt.Warn = warn
	return opt
}

// checkPolicy is policy.Compile as configs.Load checks a policy with it:
// one window grammar, one set of rule checks.
func checkPolicy(p configs.Policy, loc *time.Location) error {
	_, err := policy.Compile(p, loc)
	return err
}

// loadConfig resolves and loads the config, turning problems into exit 2.
// Warnings go to stderr.
func loadConfig(g *globals, flag string) (*configs.Config, string, error) {
	path := configs.Resolve(flag)
	cfg, err := configs.Load(path, loadOptions(func(p configs.Problem) {
		fmt.Fprintln(g.stderr, p.String())
	}))
	if err != nil {
		var probs *configs.Problems
		if errors.As(err, &probs) {
			fmt.Fprintln(g.stderr, probs.Error())
			return nil, path, &exitError{code: exitInvalid, err: fmt.Errorf("%s: %d problem(s)", displayPath(path), len(probs.Errors()))}
		}
		return nil, path, invalid("%s: %v", displayPath(path), err)
	}
	return cfg, path, nil
}

func displayPath(p string) string {
	if p == "" {
		return "built-in demo config"
	}
	return p
}

func serveCmd(g *globals) *cobra.Command {
	var cfgFlag, listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon until SIGTERM or SIGINT",
		Long: `Run the daemon: the HTTP API, the queue and every account's sender.

The config is --config, else $GROUPCAST_CONFIG, else ./groupcast.yaml, else the
built-in demo (console drivers for all three platforms, store under ./data).
--listen overrides server.listen (a non-loopback address needs server.tokens).
SIGHUP or a change of the file reloads it; an invalid file is reported and the
running config stays. SIGTERM or SIGINT stops intake, finishes or hands back the
sends in flight, and exits 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			cfg, path, err := loadConfig(g, cfgFlag)
			if err != nil {
				return err
			}
			if err := overrideListen(cfg, listen); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return serve(ctx, g, log, cfg, path, listen)
		},
	}
	cmd.Flags().StringVar(&cfgFlag, "config", "", "config file (default $GROUPCAST_CONFIG, ./groupcast.yaml, or the built-in demo)")
	cmd.Flags().StringVar(&listen, "listen", "", "HTTP address, overriding server.listen (e.g. 127.0.0.1:8781, :8780)")
	return cmd
}

// overrideListen applies serve --listen to a loaded config, with the check
// the file's own server.listen gets: no tokens, no address beyond loopback.
func overrideListen(cfg *configs.Config, listen string) error {
	if listen == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return invalid("--listen: %q is not host:port (%v)", listen, err)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if !loopback && len(cfg.Server.Tokens) == 0 {
		return invalid("--listen %s: server.tokens is required when listening beyond loopback: without tokens anyone who reaches the port can send", listen)
	}
	cfg.Server.Listen = listen
	return nil
}

// DefaultMemoryLimit is the Go heap's soft limit when GOMEMLIMIT is not
// set. Most of a busy daemon's live heap is the embedded NATS server's
// block buffers (tens of MB); at 96 MiB the collector ran without pause
// under a saturated load (a fifth of the CPU); at 108 MiB it costs about
// as little as at 112 or 120 while peak RSS stays near 140 MB, the
// binary's own pages (about 30 MB) included (docs/development.md).
const DefaultMemoryLimit = 108 << 20

func serve(ctx context.Context, g *globals, log *slog.Logger, cfg *configs.Config, path, listen string) error {
	started := time.Now()
	loaded := configs.Digest(path) // what the watcher compares with: a change before it starts counts
	log.Info("starting", "config", displayPath(path), "store", cfg.Store.Driver, "listen", cfg.Server.Listen)
	if addr := os.Getenv("GROUPCAST_PPROF"); addr != "" {
		// Profiling for development (docs/development.md): loopback only.
		if host, _, err := net.SplitHostPort(addr); err == nil && (host == "127.0.0.1" || host == "localhost" || host == "::1") {
			go func() { _ = http.ListenAndServe(addr, pprofMux()) }()
			log.Info("profiling", "listen", addr)
		} else {
			log.Warn("GROUPCAST_PPROF must be a loopback host:port; profiling off", "value", addr)
		}
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		// A sidecar should stay small: collect harder as the heap nears
		// this (a soft limit; GOMEMLIMIT overrides it).
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
	if cfg.Store.Driver == store.DriverMemory {
		log.Warn("store.driver memory is not durable: announcements are lost when the process stops")
	}
	// Listen first: while the store is not open (driver nats waits for its
	// servers), /readyz answers 503 with the reason.
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return &exitError{code: exitRuntime, err: fmt.Errorf("server.listen: %w", err)}
	}
	starting := &startup{}
	handler := &swapHandler{}
	handler.set(starting)
	httpSrv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	srvDone := make(chan error, 1)
	go func() { srvDone <- httpSrv.Serve(ln) }()
	st, err := openStore(ctx, cfg.Store, log, starting)
	if err != nil {
		_ = httpSrv.Close()
		if ctx.Err() != nil {
			log.Info("stopped before the store was ready", "err", err)
			return nil
		}
		return &exitError{code: exitRuntime, err: err}
	}
	defer st.Close()
	metrics := router.NewMetrics()
	// The inbound hub takes the accounts' events (OneBot posts and
	// listeners) and answers them through the engine (docs/two-way.md).
	hub, err := inbound.New(inbound.Options{Store: st, Logger: log.With("component", "inbound"), Registry: metrics.Registry})
	if err != nil {
		_ = httpSrv.Close()
		return &exitError{code: exitRuntime, err: err}
	}
	svc, err := router.New(router.Options{Store: st, Config: cfg, Drivers: registry.Lookup, Logger: log,
		AckWait: cfg.Delivery.AckWait, Metrics: metrics, Inbound: hub})
	if err != nil {
		_ = httpSrv.Close()
		return &exitError{code: exitRuntime, err: err}
	}
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRun()
	runDone := make(chan error, 1)
	go func() { runDone <- svc.Run(runCtx) }()
	select {
	case <-svc.Running():
	case err := <-runDone:
		_ = httpSrv.Close()
		return &exitError{code: exitRuntime, err: fmt.Errorf("router: %w", err)}
	}
	for _, src := range cfg.Sources {
		if src.Driver != dingtalk.StreamDriver {
			continue
		}
		stream, err := dingtalk.NewStream(src, svc, adapters.Env{
			Logger: log.With("source", src.Name), Org: cfg.Org, Location: cfg.Location,
		}.WithDefaults(), dingtalk.WithReview(svc, func() []string { return svc.Config().Review.Reviewers }),
			dingtalk.WithInbound(hub))
		if err != nil {
			cancelRun()
			<-runDone
			_ = httpSrv.Close()
			return &exitError{code: exitRuntime, err: fmt.Errorf("sources %s: %w", src.Name, err)}
		}
		svc.AddCheck("source "+src.Name, stream.Ready)
		go func() {
			if err := stream.Run(runCtx); err != nil {
				log.Error("source stopped", "source", src.Name, "err", err)
			}
		}()
	}
	// Held announcements pushed to review.notify (no-op without it).
	notifyCtx, stopNotify := context.WithCancel(runCtx)
	defer stopNotify()
	notifyDone := make(chan struct{})
	go func() {
		defer close(notifyDone)
		_ = svc.RunReviewNotify(notifyCtx, router.DefaultReviewNotifyEvery)
	}()
	hubCtx, stopHub := context.WithCancel(runCtx)
	defer stopHub()
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		if err := hub.Run(hubCtx, svc); err != nil {
			log.Error("inbound stopped", "err", err)
		}
	}()
	apiSrv := api.NewServer(svc, registry.Lookup, log)
	apiSrv.SetInbound(hub)
	// The web console shares the API's listener (docs/console.md).
	cons, err := console.New(console.Options{Engine: svc, Drivers: registry.Lookup, Logger: log, Groups: hub})
	if err != nil {
		cancelRun()
		<-runDone
		_ = httpSrv.Close()
		return &exitError{code: exitRuntime, err: err}
	}
	httpSrv.RegisterOnShutdown(cons.Close) // open event streams end, so Shutdown does not wait on them
	handler.set(cons.Wrap(apiSrv))
	log.Info("ready", "listen", ln.Addr().String(), "accounts", len(cfg.Accounts), "routes", len(cfg.Routes),
		"startup", time.Since(started).Round(time.Millisecond).String())

	reload := func(why string) {
		next, err := configs.Load(path, loadOptions(func(p configs.Problem) {
			log.Warn("config", "problem", p.String())
		}))
		if err != nil {
			log.Error("config reload refused; the running config stays", "reason", why, "err", err)
			return
		}
		if err := overrideListen(next, listen); err != nil {
			log.Error("config reload refused; the running config stays", "reason", why, "err", err)
			return
		}
		cur := svc.Config()
		if next.Server.Listen != cur.Server.Listen || next.Store != cur.Store || !reflect.DeepEqual(next.Sources, cur.Sources) {
			log.Warn("server.listen, store and sources changes take effect at the next restart")
		}
		if err := svc.Apply(next); err != nil {
			log.Error("config reload failed; the running config stays", "reason", why, "err", err)
			return
		}
		log.Info("config reloaded", "reason", why, "accounts", len(next.Accounts), "routes", len(next.Routes))
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	changed := make(chan struct{}, 1)
	if path != "" {
		go func() {
			err := configs.WatchFrom(ctx, path, loaded, func() {
				select {
				case changed <- struct{}{}:
				default:
				}
			})
			if err != nil && ctx.Err() == nil {
				log.Warn("not watching the config file; SIGHUP still reloads", "err", err)
			}
		}()
	}
	for {
		select {
		case <-hup:
			reload("SIGHUP")
			continue
		case <-changed:
			reload("file changed")
			continue
		case err := <-srvDone:
			cancelRun()
			<-runDone
			return &exitError{code: exitRuntime, err: fmt.Errorf("http server: %w", err)}
		case err := <-runDone:
			shutdownHTTP(httpSrv, cfg.Server.ShutdownTimeout)
			return &exitError{code: exitRuntime, err: fmt.Errorf("router stopped: %w", err)}
		case <-ctx.Done():
		}
		break
	}
	log.Info("shutting down: intake closed, finishing sends in flight")
	stopHub() // welcomes still batching are accepted now, before intake closes
	select {
	case <-hubDone:
	case <-time.After(5 * time.Second):
	}
	stopNotify() // no review notice is pushed through senders that are stopping
	<-notifyDone
	svc.Shutdown()
	shutdownHTTP(httpSrv, svc.Config().Server.ShutdownTimeout)
	cancelRun()
	select {
	case <-runDone:
	case <-time.After(svc.Config().Server.ShutdownTimeout + 15*time.Second):
		log.Warn("sends still in flight at shutdown are handed back to the queue")
	}
	log.Info("stopped")
	return nil
}

func shutdownHTTP(srv *http.Server, timeout time.Duration) {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// pprofMux serves net/http/pprof's handlers.
func pprofMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return m
}
