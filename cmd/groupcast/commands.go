package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/api"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/internal/inputfile"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/transform"
)

func validateCmd(g *globals) *cobra.Command {
	var cfgFlag string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a config without starting anything",
		Long: `Check a config file without starting anything. Every problem is printed on
its own line as "field.path (line N): message", and the exit code is 2 if there
is any. On success a one-screen summary of accounts, routes and policies is
printed. Secrets are never printed.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, path, err := loadConfig(g, cfgFlag)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s: ok\n\n%s", displayPath(path), cfg.Summary())
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgFlag, "config", "", "config file (default $GROUPCAST_CONFIG, ./groupcast.yaml, or the built-in demo)")
	return cmd
}

// readAnnouncementFile reads FILE or - (standard input) and its format.
// Like the API, it reads at most limit bytes (server.max_body): a file
// over it, or standard input past it, is refused, and so is a FIFO, a
// device or a directory (inputfile).
func readAnnouncementFile(g *globals, name, formatFlag string, limit int64) ([]byte, groupcast.Format, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = inputfile.ReadLimited(g.stdin, "standard input", limit)
	} else {
		data, err = inputfile.Read(name, limit)
	}
	if errors.Is(err, inputfile.ErrTooLarge) {
		return nil, "", invalid("%v: over server.max_body (%d bytes), which the daemon would refuse too", err, limit)
	}
	if err != nil {
		return nil, "", invalid("%v", err)
	}
	format := groupcast.FormatForFile(name)
	if formatFlag != "" {
		format = groupcast.Format(formatFlag)
		switch format {
		case groupcast.FormatMarkdown, groupcast.FormatJSON, groupcast.FormatYAML:
		default:
			return nil, "", invalid("--format: %q is not markdown, json or yaml", formatFlag)
		}
	}
	return data, format, nil
}

// maxBody is server.max_body of cfg (nil: no config), or its default.
func maxBody(cfg *configs.Config) int64 {
	if cfg != nil && cfg.Server.MaxBody > 0 {
		return int64(cfg.Server.MaxBody)
	}
	return int64(configs.DefaultMaxBody)
}

func previewCmd(g *globals) *cobra.Command {
	var cfgFlag, formatFlag string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "preview FILE|-",
		Short: "Show what every target would receive (offline: no daemon, no network)",
		Long: `Dry run of an announcement against a config, offline: for every target it
would reach, each part's text as the driver would post it (with its bytes and
characters), the rules that fire and the earliest send time. --json prints the
same as POST /v1/preview.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			cfg, _, err := loadConfig(g, cfgFlag)
			if err != nil {
				return err
			}
			data, format, err := readAnnouncementFile(g, args[0], formatFlag, maxBody(cfg))
			if err != nil {
				return err
			}
			now := time.Now()
			a, err := groupcast.Parse(format, data, now)
			if err == nil {
				err = transform.Check(a.Body) // as POST /v1/preview does: 422 there
			}
			if err != nil {
				return invalid("%s: %v", args[0], err)
			}
			targets, err := router.Preview(cfg, registry.Lookup, a, now)
			if err != nil {
				return invalid("%v", err)
			}
			if asJSON {
				return printJSON(g.stdout, map[string]any{"targets": targets})
			}
			for _, t := range targets {
				fmt.Fprintf(g.stdout, "=== %s → %s/%s (%s, %s, route %s)", t.Account, t.Platform, t.Group, t.Style, t.Format, t.Route)
				if t.NotBefore != nil {
					fmt.Fprintf(g.stdout, " not before %s", t.NotBefore.Format(time.RFC3339))
				}
				fmt.Fprintln(g.stdout)
				if t.Reason != "" {
					fmt.Fprintf(g.stdout, "!!! %s: %s\n", t.State, t.Reason)
				}
				for _, r := range t.Rules {
					fmt.Fprintf(g.stdout, "rule: %s\n", r)
				}
				for i, p := range t.Parts {
					fmt.Fprintf(g.stdout, "--- part %d/%d: %d bytes, %d characters\n%s\n", i+1, len(t.Parts), p.Bytes, p.Chars, p.Text)
				}
				fmt.Fprintln(g.stdout)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgFlag, "config", "", "config file (default $GROUPCAST_CONFIG, ./groupcast.yaml, or the built-in demo)")
	cmd.Flags().StringVar(&formatFlag, "format", "", "input format: markdown, json or yaml (default from the file name; markdown for -)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the shape of POST /v1/preview)")
	return cmd
}

// clientFlags are the flags of every command that talks to a daemon.
type clientFlags struct {
	server string
	token  string
	asJSON bool
}

func (f *clientFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "server", "http://127.0.0.1:8780", "daemon URL")
	cmd.Flags().StringVar(&f.token, "token", "", "bearer token (default $GROUPCAST_TOKEN)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print JSON")
}

func (f *clientFlags) client() *api.Client {
	tok := f.token
	if tok == "" {
		tok = os.Getenv("GROUPCAST_TOKEN")
	}
	return &api.Client{Base: f.server, Token: tok}
}

// clientErr maps a daemon answer to an exit code: bad input is 2, the rest 1.
func clientErr(err error) error {
	var ae *api.APIError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != 401 && ae.Status != 404 && ae.Status != 429 {
		return &exitError{code: exitInvalid, err: err}
	}
	return &exitError{code: exitRuntime, err: err}
}

func sendCmd(g *globals) *cobra.Command {
	var f clientFlags
	var wait bool
	var formatFlag string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "send FILE|-",
		Short: "Submit an announcement to a running daemon",
		Long: `Submit an announcement (Markdown with front matter, JSON or YAML) to a running
daemon and print its id and planned targets. With --wait, show each target's
progress until every target is delivered, failed, blocked, rejected, expired,
recalled, or waiting (deferred, scheduled, held). Exit code 3 if any target
failed, was blocked or was rejected.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The daemon's max_body, if its config is at hand (read as
			// serve would find it); else the default.
			cfg, _ := configs.Load(configs.Resolve(""), loadOptions(func(configs.Problem) {}))
			data, format, err := readAnnouncementFile(g, args[0], formatFlag, maxBody(cfg))
			if err != nil {
				return err
			}
			c := f.client()
			ctx := cmd.Context()
			st, code, err := c.Submit(ctx, format, data)
			if err != nil {
				return clientErr(err)
			}
			if !wait {
				if f.asJSON {
					return printJSON(g.stdout, st)
				}
				verb := "accepted"
				if code == 200 {
					verb = "already accepted (same id, same content)"
				}
				fmt.Fprintf(g.stdout, "%s %s\n", st.ID, verb)
				printTargets(g.stdout, st.Targets)
				return nil
			}
			if !f.asJSON {
				fmt.Fprintf(g.stdout, "%s accepted; waiting for %d target(s)\n", st.ID, len(st.Targets))
			}
			st, err = waitSettled(ctx, g, c, st, timeout, !f.asJSON)
			if err != nil {
				return &exitError{code: exitRuntime, err: err}
			}
			if f.asJSON {
				if err := printJSON(g.stdout, st); err != nil {
					return err
				}
			} else {
				printTargets(g.stdout, st.Targets)
			}
			for _, t := range st.Targets {
				switch t.State {
				case groupcast.StateFailed, groupcast.StateBlocked, groupcast.StateRejected:
					return &exitError{code: exitFailed, err: fmt.Errorf("%s: some targets did not get it", st.ID)}
				}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&wait, "wait", false, "show live progress until every target is settled")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "with --wait, give up waiting after this long")
	cmd.Flags().StringVar(&formatFlag, "format", "", "input format: markdown, json or yaml (default from the file name; markdown for -)")
	return cmd
}

// waitSettled polls until every target is settled, printing each change.
func waitSettled(ctx context.Context, g *globals, c *api.Client, st groupcast.Status, timeout time.Duration, show bool) (groupcast.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	seen := map[string]groupcast.State{}
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		settled := true
		for _, t := range st.Targets {
			key := t.Account + "/" + t.Group
			if show && seen[key] != t.State {
				line := fmt.Sprintf("  %-10s %s/%s → %s", t.State, t.Platform, t.Account, t.Group)
				if t.Reason != "" {
					line += "  (" + t.Reason + ")"
				}
				fmt.Fprintln(g.stdout, line)
				seen[key] = t.State
			}
			if !t.State.Settled() {
				settled = false
			}
		}
		if settled {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("still waiting after %s: %w", timeout, ctx.Err())
		case <-tick.C:
		}
		next, err := c.Status(ctx, st.ID)
		if err != nil {
			return st, err
		}
		st = next
	}
}

func printTargets(w io.Writer, targets []groupcast.Target) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLATFORM\tACCOUNT\tGROUP\tSTYLE\tSTATE\tATTEMPTS\tREASON")
	for _, t := range targets {
		reason := t.Reason
		if t.NotBefore != nil {
			reason = strings.TrimSpace(reason + " not before " + t.NotBefore.Format(time.RFC3339))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", t.Platform, t.Account, t.Group, t.Style, t.State, t.Attempts, reason)
	}
	tw.Flush()
}

func printStatus(w io.Writer, st groupcast.Status) {
	fmt.Fprintf(w, "%s  %s\nstate: %s   accepted: %s\n", st.ID, st.Title, st.State, st.AcceptedAt.Format(time.RFC3339))
	printTargets(w, st.Targets)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// idCmd is a command that takes an announcement id, asks the daemon
// something about it, and prints the status that comes back.
func idCmd(g *globals, use, short, long string, call func(ctx context.Context, c *api.Client, id string) (groupcast.Status, error)) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := call(cmd.Context(), f.client(), args[0])
			if err != nil {
				return clientErr(err)
			}
			if f.asJSON {
				return printJSON(g.stdout, st)
			}
			printStatus(g.stdout, st)
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func statusCmd(g *globals) *cobra.Command {
	return idCmd(g, "status ID", "Show the status of one announcement, target by target", "",
		func(ctx context.Context, c *api.Client, id string) (groupcast.Status, error) {
			return c.Status(ctx, id)
		})
}

func recallCmd(g *globals) *cobra.Command {
	return idCmd(g, "recall ID", "Recall an announcement everywhere it was delivered, and cancel the rest",
		`Recall an announcement: targets not yet sent are cancelled; delivered ones
are recalled where the platform allows it, and otherwise stay delivered with
reason "recall_unsupported: …".`,
		func(ctx context.Context, c *api.Client, id string) (groupcast.Status, error) {
			return c.Recall(ctx, id)
		})
}

func reviewCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Work the review queue: list, approve ID, reject ID --reason R",
	}
	var lf clientFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List announcements with targets held for review",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			items, err := lf.client().Reviews(cmd.Context())
			if err != nil {
				return clientErr(err)
			}
			if lf.asJSON {
				return printJSON(g.stdout, items)
			}
			if len(items) == 0 {
				fmt.Fprintln(g.stdout, "nothing is waiting for review")
			}
			for _, it := range items {
				fmt.Fprintf(g.stdout, "%s  %s  (%d held)\n", it.ID, it.Title, it.Held)
			}
			return nil
		},
	}
	lf.add(list)
	decide := func(approve bool) *cobra.Command {
		var f clientFlags
		var by, reason string
		use, short := "reject ID", "Reject every held target of an announcement"
		if approve {
			use, short = "approve ID", "Approve every held target of an announcement (windows and caps still apply)"
		}
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if by == "" {
					by = os.Getenv("USER")
				}
				st, err := f.client().Decide(cmd.Context(), args[0], approve, by, reason)
				if err != nil {
					return clientErr(err)
				}
				if f.asJSON {
					return printJSON(g.stdout, st)
				}
				printStatus(g.stdout, st)
				return nil
			},
		}
		f.add(c)
		c.Flags().StringVar(&by, "by", "", "who decides (default $USER)")
		c.Flags().StringVar(&reason, "reason", "", "why (recorded in the ledger)")
		return c
	}
	cmd.AddCommand(list, decide(true), decide(false))
	return cmd
}

// Set by the linker: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			commit, goVersion := "unknown", "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				goVersion = bi.GoVersion
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						commit = s.Value
					}
				}
			}
			fmt.Fprintf(g.stdout, "groupcast %s\ncommit %s\n%s\n", version, commit, goVersion)
		},
	}
}

func loginCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log an account in (wechat)",
	}
	var cfgFlag string
	wechat := &cobra.Command{
		Use:   "wechat ACCOUNT",
		Short: "Log a WeChat account in: scan the QR code drawn in the terminal",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := loadConfig(g, cfgFlag)
			if err != nil {
				return err
			}
			return loginWeChat(cmd.Context(), g, cfg, args[0])
		},
	}
	wechat.Flags().StringVar(&cfgFlag, "config", "", "config file (default $GROUPCAST_CONFIG, ./groupcast.yaml, or the built-in demo)")
	cmd.AddCommand(wechat)
	return cmd
}
