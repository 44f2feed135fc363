package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
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
	var offline, asJSON bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a config without starting anything",
		Long: `Check a config file without starting anything. Every problem is printed on
its own line as "field.path (line N): message", and the exit code is 2 if there
is any. On success a one-screen summary of accounts, routes and policies is
printed. Secrets are never printed.

--offline lints a file without its secrets (in CI, say): an unset ${VAR} is a
warning and its value is not checked, where it is otherwise an error.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path := configs.Resolve(cfgFlag)
			var warns configs.Problems
			opts := loadOptions(func(p configs.Problem) { warns = append(warns, p) })
			opts.Offline = offline
			cfg, err := configs.Load(path, opts)
			var probs *configs.Problems
			if err != nil && !errors.As(err, &probs) {
				return invalid("%s: %v", displayPath(path), err)
			}
			all := warns
			if probs != nil {
				all = *probs
			}
			if asJSON {
				out := validateResult{File: displayPath(path), OK: err == nil, Problems: []problemJSON{}}
				for _, p := range all {
					out.Problems = append(out.Problems, problemJSON{Path: p.Path, Line: p.Line, Message: p.Message, Warning: p.Warning})
				}
				if cfg != nil {
					out.Summary = cfg.Summary()
				}
				if perr := printJSON(g.stdout, out); perr != nil {
					return perr
				}
				if err != nil {
					return &exitError{code: exitInvalid, err: errors.New("")}
				}
				return nil
			}
			if err != nil {
				fmt.Fprintln(g.stderr, probs.Error())
				return &exitError{code: exitInvalid, err: fmt.Errorf("%s: %d problem(s)", displayPath(path), len(probs.Errors()))}
			}
			for _, p := range warns {
				fmt.Fprintln(g.stderr, p.String())
			}
			fmt.Fprintf(g.stdout, "%s: ok\n\n%s", displayPath(path), cfg.Summary())
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgFlag, "config", "", "config file (default $GROUPCAST_CONFIG, ./groupcast.yaml, or the built-in demo)")
	cmd.Flags().BoolVar(&offline, "offline", false, "an unset ${VAR} is a warning, not an error (lint without secrets)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"file","ok","problems":[{path,line,message,warning}],"summary"}`)
	return cmd
}

// validateResult is validate --json.
type validateResult struct {
	File     string        `json:"file"`
	OK       bool          `json:"ok"`
	Problems []problemJSON `json:"problems"`
	Summary  string        `json:"summary,omitempty"`
}

type problemJSON struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
	Warning bool   `json:"warning,omitempty"`
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
same as POST /v1/preview.

Exit code 3 when some target would be blocked or rejected by a rule, or could
not be rendered (each is named on stderr with its rule), 0 otherwise: a CI
gate for announcements.`,
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
				if err := printJSON(g.stdout, map[string]any{"targets": targets}); err != nil {
					return err
				}
				return previewOutcome(targets)
			}
			for _, t := range targets {
				fmt.Fprintf(g.stdout, "=== %s → %s/%s (%s, %s, route %s)", t.Account, t.Platform, t.Group, t.Style, t.Format, t.Route)
				if t.Variant != "" {
					assigned := ""
					if t.Assigned {
						assigned = ", assigned"
					}
					fmt.Fprintf(g.stdout, " variant %s%s", t.Variant, assigned)
				}
				if t.NotBefore != nil {
					fmt.Fprintf(g.stdout, " not before %s", t.NotBefore.In(cfg.Location).Format("2006-01-02 15:04:05 -07:00"))
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
			return previewOutcome(targets)
		},
	}
	cmd.Flags().StringVar(&cfgFlag, "config", "", "config file (default $GROUPCAST_CONFIG, ./groupcast.yaml, or the built-in demo)")
	cmd.Flags().StringVar(&formatFlag, "format", "", "input format: markdown, json or yaml (default from the file name; markdown for -)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the shape of POST /v1/preview)")
	return cmd
}

// previewOutcome is exit 3 when a target would not be sent: blocked or
// rejected by a rule, or failed to render.
func previewOutcome(targets []router.PreviewTarget) error {
	var bad []string
	for _, t := range targets {
		switch groupcast.State(t.State) {
		case groupcast.StateBlocked, groupcast.StateRejected, groupcast.StateFailed:
			who := t.Account + "/" + t.Group
			if t.Variant != "" {
				who += " (variant " + t.Variant + ")"
			}
			bad = append(bad, fmt.Sprintf("%s would be %s: %s", who, t.State, t.Reason))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("%d target(s) would not be sent:\n  %s", len(bad), strings.Join(bad, "\n  "))}
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
daemon and print its id and planned targets.

With --wait, show each target's progress (state, attempt, next try, reason)
until every target is delivered, failed, blocked, rejected, expired, recalled,
or waiting on time or a person (deferred, scheduled, held). On a terminal the
lines are redrawn in place; otherwise each change is printed on its own line.
Exit code 3 if any target failed, was blocked or was rejected; 1 on --timeout.

The daemon is --server, else $GROUPCAST_SERVER, else server.listen of the
config (--config, $GROUPCAST_CONFIG, ./groupcast.yaml), else ` + defaultServer + `.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The daemon's max_body, if its config is at hand (read as
			// serve would find it); else the default.
			cfg, _ := configs.Load(configs.Resolve(""), loadOptions(func(configs.Problem) {}))
			data, format, err := readAnnouncementFile(g, args[0], formatFlag, maxBody(cfg))
			if err != nil {
				return err
			}
			d, err := f.client(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, code, err := d.Submit(ctx, format, data)
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
				return printTargets(g.stdout, d, st.Targets)
			}
			var p *progress
			if !f.asJSON {
				fmt.Fprintf(g.stdout, "%s accepted; waiting for %d target(s)\n", st.ID, len(st.Targets))
				p = newProgress(g.stdout, d, false)
			}
			st, err = waitFor(ctx, d, st, timeout, p, deliverySettled)
			if err != nil {
				return &exitError{code: exitRuntime, err: err}
			}
			if f.asJSON {
				if err := printJSON(g.stdout, st); err != nil {
					return err
				}
			}
			return sendOutcome(st)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&wait, "wait", false, "show live progress until every target is settled")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "with --wait, give up waiting after this long (exit 1)")
	cmd.Flags().StringVar(&formatFlag, "format", "", "input format: markdown, json or yaml (default from the file name; markdown for -)")
	return cmd
}

// sendOutcome is exit 3 when some target failed, was blocked or rejected.
func sendOutcome(st groupcast.Status) error {
	var bad []string
	for _, t := range st.Targets {
		switch t.State {
		case groupcast.StateFailed, groupcast.StateBlocked, groupcast.StateRejected:
			bad = append(bad, fmt.Sprintf("%s/%s %s", t.Account, t.Group, t.State))
		}
	}
	if len(bad) > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s: %d target(s) did not get it: %s", st.ID, len(bad), strings.Join(bad, ", "))}
	}
	return nil
}

func printTargets(w io.Writer, d *daemonRef, targets []groupcast.Target) error {
	recall, ab := false, false
	for _, t := range targets {
		recall = recall || t.Recall != nil
		ab = ab || t.Variant != ""
	}
	var tb table
	head := []string{"PLATFORM", "ACCOUNT", "GROUP", "STYLE", "STATE", "ATTEMPTS", "NEXT TRY", "REASON"}
	if ab { // an A/B test: which variant each target gets
		head = slices.Insert(head, 4, "VARIANT")
	}
	if recall {
		head = append(head[:len(head)-1], "RECALL", "REASON")
	}
	tb.row(head...)
	for _, t := range targets {
		next := ""
		if t.NotBefore != nil && !t.State.Terminal() {
			next = d.fmtTime(*t.NotBefore)
		}
		row := []string{t.Platform, t.Account, t.Group, t.Style, string(t.State), d.attempts(t), next}
		if ab {
			row = slices.Insert(row, 4, t.Variant)
		}
		reason := t.Reason
		if recall {
			label := ""
			if t.Recall != nil {
				label = string(t.Recall.State)
				if t.Recall.Reason != "" {
					reason = strings.TrimSpace(reason + " recall: " + t.Recall.Reason)
				}
			}
			row = append(row, label)
		}
		tb.row(append(row, reason)...)
	}
	return tb.write(w)
}

func printStatus(w io.Writer, d *daemonRef, st groupcast.Status) error {
	fmt.Fprintf(w, "%s  %s\nstate: %s   accepted: %s\n", st.ID, st.Title, st.State, d.fmtTime(st.AcceptedAt))
	for _, t := range st.Targets {
		if t.Recall != nil || t.State == groupcast.StateRecalled || strings.HasPrefix(t.Reason, "recall_unsupported") {
			// The derived state counts a recalled target as delivered: say so.
			fmt.Fprintf(w, "recall: %s\n", recallSummary(st))
			break
		}
	}
	if len(st.Parts) > 0 {
		if err := printParts(w, d, st.Parts); err != nil {
			return err
		}
	}
	return printTargets(w, d, st.Targets)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func statusCmd(g *globals) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "status ID",
		Short: "Show the status of one announcement, target by target",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := f.client(g)
			if err != nil {
				return err
			}
			st, err := d.Status(cmd.Context(), args[0])
			if err != nil {
				return clientErr(err)
			}
			if f.asJSON {
				return printJSON(g.stdout, st)
			}
			return printStatus(g.stdout, d, st)
		},
	}
	f.add(cmd)
	return cmd
}

func recallCmd(g *globals) *cobra.Command {
	var f clientFlags
	var waitFlag bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "recall ID",
		Short: "Recall an announcement everywhere it was delivered, and cancel the rest",
		Long: `Recall an announcement: targets not yet sent are cancelled; delivered ones
are recalled where the platform allows it. The daemon stores the recall and
carries it out durably (through outages and restarts).

With --wait, show each target's recall progress until every one is recalled,
failed or unsupported by its platform. Exit code 3 if the recall failed for
some target; 1 on --timeout.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := f.client(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := d.Recall(ctx, args[0])
			if err != nil {
				return clientErr(err)
			}
			if waitFlag {
				var p *progress
				if !f.asJSON {
					fmt.Fprintf(g.stdout, "%s: recalling from %d target(s)\n", st.ID, len(st.Targets))
					p = newProgress(g.stdout, d, true)
				}
				st, err = waitFor(ctx, d, st, timeout, p, recallSettled)
				if err != nil {
					return &exitError{code: exitRuntime, err: err}
				}
			}
			if f.asJSON {
				if err := printJSON(g.stdout, st); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(g.stdout, "%s  %s\nrecall: %s\n", st.ID, st.Title, recallSummary(st))
				if !waitFlag {
					if err := printTargets(g.stdout, d, st.Targets); err != nil {
						return err
					}
				}
			}
			if waitFlag {
				for _, t := range st.Targets {
					if t.Recall != nil && t.Recall.State == groupcast.RecallFailed {
						return &exitError{code: exitFailed, err: fmt.Errorf("%s: the recall failed for some target (%s/%s: %s)", st.ID, t.Account, t.Group, t.Recall.Reason)}
					}
				}
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&waitFlag, "wait", false, "show each target's recall progress until it is settled")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "with --wait, give up waiting after this long (exit 1)")
	return cmd
}

// recallSummary counts the targets by recall outcome: "2 recalled, 1
// unsupported, 1 cancelled" rather than the announcement's derived state.
func recallSummary(st groupcast.Status) string {
	counts := map[string]int{}
	var order []string
	for _, t := range st.Targets {
		label := recallLabel(t)
		if t.Recall == nil && t.State != groupcast.StateDelivered && t.State != groupcast.StateRecalled {
			label = "not sent (" + string(t.State) + ")" // cancelled by the recall, or ended before it
		}
		if counts[label] == 0 {
			order = append(order, label)
		}
		counts[label]++
	}
	parts := make([]string, 0, len(order))
	for _, l := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[l], l))
	}
	return strings.Join(parts, ", ")
}

func listCmd(g *globals) *cobra.Command {
	var f clientFlags
	var state string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the newest announcements (GET /v1/messages)",
		Long: `List the newest announcements first, with their state and how many of their
targets were delivered. --state takes an announcement state (pending,
delivered, partial, failed) or a target state (deferred, held, …).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := f.client(g)
			if err != nil {
				return err
			}
			msgs, err := d.List(cmd.Context(), state, limit)
			if err != nil {
				return clientErr(err)
			}
			if f.asJSON {
				if msgs == nil {
					msgs = []groupcast.Status{}
				}
				return printJSON(g.stdout, map[string]any{"messages": msgs})
			}
			if len(msgs) == 0 {
				fmt.Fprintln(g.stdout, "no announcements")
				return nil
			}
			var tb table
			tb.row("ID", "STATE", "ACCEPTED", "DELIVERED", "TITLE")
			for _, m := range msgs {
				n := 0
				for _, t := range m.Targets {
					if t.State == groupcast.StateDelivered {
						n++
					}
				}
				tb.row(m.ID, m.State, d.fmtTime(m.AcceptedAt), fmt.Sprintf("%d/%d", n, len(m.Targets)), m.Title)
			}
			return tb.write(g.stdout)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&state, "state", "", "only announcements in this state (or with a target in it)")
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many (1 to 1000)")
	return cmd
}

func accountsCmd(g *globals) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "accounts",
		Short: "Show every account's health (GET /v1/accounts)",
		Long: `Show every account: platform, driver, state (ok, degraded, down, paused), the
replica that owns it, what it sent today, until when it is paused and its last
error (a WeChat account waiting for its QR login is down, with the command to run).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := f.client(g)
			if err != nil {
				return err
			}
			list, err := d.Accounts(cmd.Context())
			if err != nil {
				return clientErr(err)
			}
			if f.asJSON {
				if list == nil {
					list = []groupcast.AccountHealth{}
				}
				return printJSON(g.stdout, map[string]any{"accounts": list})
			}
			var tb table
			tb.row("NAME", "PLATFORM", "DRIVER", "STATE", "OWNER", "SENT TODAY", "PAUSED UNTIL", "LAST ERROR")
			for _, a := range list {
				paused := ""
				if a.PausedUntil != nil {
					paused = d.fmtTime(*a.PausedUntil)
				}
				tb.row(a.Name, a.Platform, a.Driver, string(a.State), a.Owner, fmt.Sprint(a.SentToday), paused, a.LastError)
			}
			return tb.write(g.stdout)
		},
	}
	f.add(cmd)
	return cmd
}

func healthcheckCmd(g *globals) *cobra.Command {
	var f clientFlags
	var path string
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 if the daemon answers GET /healthz (for container HEALTHCHECKs without curl)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := f.client(g)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			var probe error
			switch path {
			case "/healthz":
				probe = d.Healthz(ctx)
			case "/readyz":
				probe = d.Readyz(ctx)
			default:
				return invalid("--path: %q is not /healthz or /readyz", path)
			}
			if probe != nil {
				return &exitError{code: exitRuntime, err: probe}
			}
			if !f.asJSON {
				fmt.Fprintln(g.stdout, "ok")
			} else {
				return printJSON(g.stdout, map[string]string{"status": "ok", "server": d.Base})
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&path, "path", "/healthz", "what to probe: /healthz (alive) or /readyz (ready for work)")
	return cmd
}

func reviewCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Work the review queue: list, show ID, approve ID, reject ID --reason R",
		Long: `Work the review queue: announcements a review rule held.

With server.tokens set, the token (--token, $GROUPCAST_TOKEN) says who you are:
approving and rejecting need a reviewer or admin token, and the decision is
recorded under the token's name.`,
	}
	var lf clientFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List what is held for review: title, category, excerpt, rule hits and who submitted it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := lf.client(g)
			if err != nil {
				return err
			}
			items, err := d.Reviews(cmd.Context())
			if err != nil {
				return clientErr(err)
			}
			if lf.asJSON {
				return printJSON(g.stdout, items)
			}
			if len(items) == 0 {
				fmt.Fprintln(g.stdout, "nothing is waiting for review")
				return nil
			}
			return reviewTable(d, items).write(g.stdout)
		},
	}
	lf.add(list)
	var sf clientFlags
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a held announcement as each target would receive it (its renderings) and why it is held",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := sf.client(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := d.Status(ctx, args[0])
			if err != nil {
				return clientErr(err)
			}
			targets, err := d.MessagePreview(ctx, args[0])
			if err != nil {
				return clientErr(err)
			}
			items, err := d.Reviews(ctx)
			if err != nil {
				return clientErr(err)
			}
			var item *api.ReviewItem
			for i := range items {
				if items[i].ID == st.ID {
					item = &items[i]
				}
			}
			if sf.asJSON {
				return printJSON(g.stdout, map[string]any{"status": st, "review": item, "targets": targets})
			}
			return printReview(g.stdout, d, st, item, targets)
		},
	}
	sf.add(show)
	decide := func(approve bool) *cobra.Command {
		var f clientFlags
		var by, reason string
		use, short := "reject ID --reason R", "Reject every held target of an announcement (a reason is required)"
		if approve {
			use, short = "approve ID", "Approve every held target of an announcement (windows and caps still apply)"
		}
		c := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if !approve && strings.TrimSpace(reason) == "" {
					return invalid("review reject %s: --reason is required: say why, it is recorded with the rejected targets", args[0])
				}
				if by == "" {
					by = os.Getenv("USER")
				}
				d, err := f.client(g)
				if err != nil {
					return err
				}
				st, err := d.Decide(cmd.Context(), args[0], approve, by, reason)
				if err != nil {
					return clientErr(err)
				}
				if f.asJSON {
					return printJSON(g.stdout, st)
				}
				return printStatus(g.stdout, d, st)
			},
		}
		f.add(c)
		c.Flags().StringVar(&by, "by", "", "who decides, for a daemon without tokens (default $USER); with tokens the token's name is recorded")
		what := "why (recorded in the ledger)"
		if !approve {
			what = "why (required; recorded in the ledger and shown with the rejected targets)"
		}
		c.Flags().StringVar(&reason, "reason", "", what)
		return c
	}
	cmd.AddCommand(list, show, decide(true), decide(false))
	return cmd
}

// reviewTable is the review queue as a table: one row per announcement.
func reviewTable(d *daemonRef, items []api.ReviewItem) *table {
	var tb table
	tb.row("ID", "TITLE", "CATEGORY", "HELD", "SUBMITTED BY", "ACCEPTED", "RULE HITS", "EXCERPT")
	for _, it := range items {
		by := it.SubmittedBy
		if by == "" {
			by = "-"
		}
		hits := strings.Join(it.RuleHits, "; ")
		if hits == "" {
			hits = "-"
		}
		tb.row(it.ID, it.Title, string(it.Category), fmt.Sprint(it.Held), by, d.fmtTime(it.AcceptedAt), hits, it.Excerpt)
	}
	return &tb
}

// printReview writes one announcement for a reviewer: who sent it and why
// it is held, then each distinct rendering once (short, long, formal …)
// with the targets that would receive it.
func printReview(w io.Writer, d *daemonRef, st groupcast.Status, item *api.ReviewItem, targets []router.PreviewTarget) error {
	fmt.Fprintf(w, "%s  %s\n", st.ID, st.Title)
	fmt.Fprintf(w, "state %s, accepted %s\n", st.State, d.fmtTime(st.AcceptedAt))
	if item == nil {
		fmt.Fprintln(w, "nothing of it is held for review")
	} else {
		by := item.SubmittedBy
		if by == "" {
			by = "unknown"
		}
		fmt.Fprintf(w, "category %s, submitted by %s, %d target(s) held\n", item.Category, by, item.Held)
		for _, h := range item.RuleHits {
			fmt.Fprintf(w, "held by %s\n", h)
		}
	}
	type rendering struct {
		style, format string
		parts         []router.PreviewPart
		to            []string
	}
	var rs []*rendering
	seen := map[string]*rendering{}
	for _, t := range targets {
		var key strings.Builder
		key.WriteString(t.Style + "\x00" + t.Format)
		for _, p := range t.Parts {
			key.WriteString("\x00" + p.Text)
		}
		r, ok := seen[key.String()]
		if !ok {
			r = &rendering{style: t.Style, format: t.Format, parts: t.Parts}
			seen[key.String()] = r
			rs = append(rs, r)
		}
		to := t.Account + "/" + t.Group
		if t.State != "" && t.State != string(groupcast.StateQueued) {
			to += " (" + t.State + ")"
		}
		r.to = append(r.to, to)
	}
	for _, r := range rs {
		fmt.Fprintf(w, "\n=== %s (%s) → %s\n", r.style, r.format, strings.Join(r.to, ", "))
		if len(r.parts) == 0 {
			fmt.Fprintln(w, "(not rendered)")
		}
		for i, p := range r.parts {
			if len(r.parts) > 1 {
				fmt.Fprintf(w, "--- part %d/%d\n", i+1, len(r.parts))
			}
			fmt.Fprintln(w, p.Text)
		}
	}
	return nil
}

// Set by the linker to override what the build info says:
// -ldflags "-X main.version=v1.2.3".
var version = ""

// buildVersion is what `groupcast version` prints, read from the build
// info Go stamps into every binary: the module version for a binary built
// by `go install …@vX` (or a pseudo-version from the commit), the commit,
// its time and whether the tree had local changes.
type buildVersion struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Time     string `json:"commit_time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

func readBuildVersion(bi *debug.BuildInfo, ok bool) buildVersion {
	v := buildVersion{Version: version, Go: runtime.Version()}
	if !ok {
		if v.Version == "" {
			v.Version = "unknown"
		}
		return v
	}
	v.Go = bi.GoVersion
	if v.Version == "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	if v.Version == "" || v.Version == "(devel)" {
		v.Version = "devel"
	}
	return v
}

func versionCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := readBuildVersion(debug.ReadBuildInfo())
			if asJSON {
				return printJSON(g.stdout, v)
			}
			commit := v.Commit
			if commit == "" {
				commit = "unknown"
			}
			if v.Modified {
				commit += " (with local changes)"
			}
			if v.Time != "" {
				commit += " " + v.Time
			}
			fmt.Fprintf(g.stdout, "groupcast %s\ncommit %s\n%s\n", v.Version, commit, v.Go)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
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
