// Command groupcast is the announcement relay gateway: one daemon (serve)
// and the commands that work with it. See the README, docs/ or `groupcast --help`.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitInvalid = 2 // usage, invalid config or input
	exitFailed  = 3 // send --wait: some target failed, was blocked or rejected; preview: one would be
)

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func invalid(format string, args ...any) error {
	return &exitError{code: exitInvalid, err: fmt.Errorf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, "groupcast:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "groupcast:", err)
	// cobra's own errors (unknown flag, wrong arguments) are usage errors.
	if strings.Contains(err.Error(), "unknown") || strings.Contains(err.Error(), "arg(s)") ||
		strings.Contains(err.Error(), "flag") {
		return exitInvalid
	}
	return exitRuntime
}

type globals struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	logFormat      string
	logLevel       string
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "groupcast",
		Short: "Cross-platform announcement relay gateway (WeChat, QQ, DingTalk)",
		Long: `groupcast takes one announcement, routes it by YAML rules to WeChat, QQ and
DingTalk groups, rewrites it per platform (short for WeChat, long-form for QQ,
formal for DingTalk) and delivers it within each platform's limits and the
team's send windows, daily caps and content rules. Nothing accepted is lost.

Start the daemon on the built-in demo config, then send from a second terminal:

  groupcast serve
  groupcast send examples/maintenance.md --wait`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", envOr("GROUPCAST_LOG_FORMAT", "text"),
		"log format: text or json (default $GROUPCAST_LOG_FORMAT, else text)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", envOr("GROUPCAST_LOG_LEVEL", "info"),
		"log level: debug, info, warn or error (default $GROUPCAST_LOG_LEVEL, else info)")
	root.AddCommand(serveCmd(g), validateCmd(g), previewCmd(g), sendCmd(g), statusCmd(g),
		recallCmd(g), listCmd(g), accountsCmd(g), calendarCmd(g), reviewCmd(g), loginCmd(g), healthcheckCmd(g), versionCmd(g))
	root.AddCommand(reportCmd(g))
	return root
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func (g *globals) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, invalid("--log-level: %q is not debug, info, warn or error", g.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(g.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.stderr, opts)), nil
	}
	return nil, invalid("--log-format: %q is not text or json", g.logFormat)
}
