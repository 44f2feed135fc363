package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/api"
	"github.com/groupcast/groupcast/configs"
)

// Environment variables of the client commands.
const (
	envServer = "GROUPCAST_SERVER"
	envToken  = "GROUPCAST_TOKEN"
)

const defaultServer = "http://" + configs.DefaultListen

// clientFlags are the flags of every command that talks to a daemon.
type clientFlags struct {
	server string
	token  string
	config string
	asJSON bool
}

func (f *clientFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "server", "", "daemon URL (default $"+envServer+", else server.listen of the config, else "+defaultServer+")")
	cmd.Flags().StringVar(&f.token, "token", "", "bearer token (default $"+envToken+")")
	cmd.Flags().StringVar(&f.config, "config", "", "config file whose server.listen and timezone to use (default $GROUPCAST_CONFIG, ./groupcast.yaml)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print JSON")
}

// daemon is a client and what the CLI knows of the daemon it talks to.
type daemonRef struct {
	*api.Client
	// loc is the daemon's time zone when the client read its config; nil
	// prints times as the daemon gave them.
	loc *time.Location
	// maxAttempts is delivery.max_attempts of that config, or 0.
	maxAttempts int
}

// client finds the daemon: --server, else $GROUPCAST_SERVER, else
// server.listen of the config (--config, $GROUPCAST_CONFIG, ./groupcast.yaml),
// else the default address. The config is read offline (its secrets need
// not be set) and also gives the time zone for human output.
func (f *clientFlags) client(g *globals) (*daemonRef, error) {
	tok := f.token
	if tok == "" {
		tok = os.Getenv(envToken)
	}
	d := &daemonRef{Client: &api.Client{Token: tok}}
	switch {
	case f.server != "":
		d.Base, d.Source = f.server, "--server"
	case os.Getenv(envServer) != "":
		d.Base, d.Source = os.Getenv(envServer), "$"+envServer
	}
	path := configs.Resolve(f.config)
	// The config is read when it says where the daemon is, or when it was
	// named (for the time zone); a stray ./groupcast.yaml is not read for a
	// daemon given by --server.
	if path != "" && (d.Base == "" || f.config != "" || os.Getenv(configs.EnvConfig) != "") {
		opts := loadOptions(nil)
		opts.Offline = true
		cfg, err := configs.Load(path, opts)
		if err != nil && d.Base != "" {
			// Read only for its time zone: times print as the daemon gives them.
			fmt.Fprintf(g.stderr, "groupcast: not using %s for times: %v\n", path, firstLine(err))
			cfg, err = nil, nil
		}
		if err != nil {
			var probs *configs.Problems
			if errors.As(err, &probs) {
				return nil, invalid("%s: %d problem(s); run groupcast validate --config %s", path, len(probs.Errors()), path)
			}
			return nil, invalid("%v", err)
		}
		if cfg != nil {
			d.loc, d.maxAttempts = cfg.Location, cfg.Delivery.MaxAttempts
			if d.Base == "" {
				d.Base, d.Source = listenURL(cfg.Server.Listen), "server.listen in "+relPath(path)
			}
		}
	}
	if d.Base == "" {
		d.Base, d.Source = defaultServer, "the default"
	}
	if !strings.Contains(d.Base, "://") {
		d.Base = "http://" + d.Base
	}
	return d, nil
}

func firstLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}

// relPath shows a relative path as ./path, so it reads as a file.
func relPath(p string) string {
	if filepath.IsAbs(p) || strings.HasPrefix(p, ".") {
		return p
	}
	return "./" + p
}

// listenURL turns a listen address into the URL a client on the same
// machine uses: a wildcard host (":8780", "0.0.0.0", "[::]") is loopback.
func listenURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// clientErr maps a daemon answer to an exit code: bad input is 2, the rest 1.
func clientErr(err error) error {
	var ae *api.APIError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != 401 && ae.Status != 404 && ae.Status != 429 {
		return &exitError{code: exitInvalid, err: err}
	}
	return &exitError{code: exitRuntime, err: err}
}

// fmtTime prints t in the daemon's zone when known, else as given (the API
// answers RFC 3339 with the daemon's offset).
func (d *daemonRef) fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if d.loc != nil {
		t = t.In(d.loc)
	}
	return t.Format("2006-01-02 15:04:05 -07:00")
}

// attempts is "n/max" when the daemon said max (or the client read it
// from the config), else "n".
func (d *daemonRef) attempts(t groupcast.Target) string {
	max := t.MaxAttempts
	if max == 0 {
		max = d.maxAttempts
	}
	if max > 0 {
		return fmt.Sprintf("%d/%d", t.Attempts, max)
	}
	return fmt.Sprint(t.Attempts)
}
