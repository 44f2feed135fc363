package configs

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// Account returns the account named name.
func (c *Config) Account(name string) (*Account, bool) {
	for i := range c.Accounts {
		if c.Accounts[i].Name == name {
			return &c.Accounts[i], true
		}
	}
	return nil, false
}

// PolicyByName returns the policy named name.
func (c *Config) PolicyByName(name string) (*Policy, bool) {
	for i := range c.Policies {
		if c.Policies[i].Name == name {
			return &c.Policies[i], true
		}
	}
	return nil, false
}

// Summary is what `groupcast validate` prints for a valid file: accounts,
// routes, policies, sources, store and listener on one screen. It names
// which secrets are set, never their values.
func (c *Config) Summary() string {
	var b strings.Builder
	src := c.Path
	if src == "" {
		src = "built-in demo config"
	}
	fmt.Fprintf(&b, "config %s: OK\n", src)
	fmt.Fprintf(&b, "timezone %s", c.Timezone)
	if c.Org != "" {
		fmt.Fprintf(&b, ", org %s", c.Org)
	}
	b.WriteString("\n")
	auth := "no tokens (loopback only)"
	if n := len(c.Server.Tokens); n > 0 {
		holders := make([]string, n)
		for i, t := range c.Server.Tokens {
			holders[i] = t.Name + " (" + t.Role + ")"
		}
		auth = fmt.Sprintf("%d token(s): %s, values hidden", n, strings.Join(holders, ", "))
	}
	fmt.Fprintf(&b, "listen %s, %s, max_body %s\n", c.Server.Listen, auth, c.Server.MaxBody)
	switch c.Store.Driver {
	case "nats":
		fmt.Fprintf(&b, "store nats at %s, replicas %d\n", redactURLs(c.Store.URL), c.Store.Replicas)
	case "embedded":
		fmt.Fprintf(&b, "store embedded in %s, max %s\n", c.Store.Dir, c.Store.MaxBytes)
	default:
		fmt.Fprintf(&b, "store %s (not durable)\n", c.Store.Driver)
	}
	fmt.Fprintf(&b, "delivery up to %d attempts, backoff %s to %s\n", c.Delivery.MaxAttempts, shortDuration(c.Delivery.Backoff), shortDuration(c.Delivery.MaxBackoff))

	fmt.Fprintf(&b, "\naccounts (%d):\n", len(c.Accounts))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(c.Accounts) > 0 {
		fmt.Fprintln(tw, "  NAME\tPLATFORM\tDRIVER\tRATE\tSECRETS SET")
	}
	for _, a := range c.Accounts {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", a.Name, a.Platform, a.Driver, rateText(a.Rate), secretsSet(a))
	}
	tw.Flush()

	fmt.Fprintf(&b, "\nroutes (%d):\n", len(c.Routes))
	for _, r := range c.Routes {
		fmt.Fprintf(&b, "  %s: %s", r.Name, matchText(r.Match))
		if r.Policy != "" {
			fmt.Fprintf(&b, " [policy %s]", r.Policy)
		}
		b.WriteString("\n")
		for _, t := range r.Targets {
			ids := make([]string, len(t.Groups))
			for i, g := range t.Groups {
				ids[i] = g.ID
				if g.Stage != "" {
					ids[i] += " (" + g.Stage + ")"
				}
			}
			extra := ""
			if t.Template != "" {
				extra = ", custom template"
			}
			fmt.Fprintf(&b, "    → %s (%s%s): %s\n", t.Account, t.Style, extra, strings.Join(ids, ", "))
		}
	}

	fmt.Fprintf(&b, "\npolicies (%d):\n", len(c.Policies))
	if len(c.Policies) == 0 {
		b.WriteString("  none: routes send at any time, without caps or content rules\n")
	}
	for _, p := range c.Policies {
		var parts []string
		if len(p.Windows) > 0 {
			parts = append(parts, "windows "+strings.Join(p.Windows, " "))
		} else {
			parts = append(parts, "any time")
		}
		if p.DailyCap.New > 0 || p.DailyCap.Mature > 0 {
			parts = append(parts, fmt.Sprintf("daily cap new %s / mature %s", capText(p.DailyCap.New), capText(p.DailyCap.Mature)))
			if dc := p.DailyCap; dc.Auto {
				parts = append(parts, fmt.Sprintf("daily cap auto (leave rate > %v: -%d a day, not under %d)",
					orFloat(dc.AutoThreshold, DefaultAutoThreshold), orInt(dc.AutoStep, DefaultAutoStep), orInt(dc.AutoMin, DefaultAutoMin)))
			}
		}
		if p.MatureAfter > 0 {
			parts = append(parts, "mature after "+shortDuration(p.MatureAfter))
		}
		if len(p.Rules) > 0 {
			rs := make([]string, len(p.Rules))
			for i, r := range p.Rules {
				rs[i] = r.Name + "→" + r.Action
				if len(r.Categories) > 0 {
					rs[i] += " (" + strings.Join(r.Categories, ", ") + ")"
				}
			}
			parts = append(parts, "rules "+strings.Join(rs, ", "))
		}
		if p.Mix.Promotion > 0 || p.Mix.Interaction > 0 {
			parts = append(parts, fmt.Sprintf("mix promotion ≤%g interaction ≤%g per %s (%s)", p.Mix.Promotion, p.Mix.Interaction, shortDuration(p.Mix.Window), p.Mix.Action))
		}
		fmt.Fprintf(&b, "  %s: %s\n", p.Name, strings.Join(parts, "; "))
	}

	if len(c.Sources) > 0 {
		fmt.Fprintf(&b, "\nsources (%d):\n", len(c.Sources))
		for _, s := range c.Sources {
			fmt.Fprintf(&b, "  %s: %s, %d conversation(s), client_secret set\n", s.Name, s.Driver, len(s.Conversations))
		}
	}
	if len(c.Replies) > 0 {
		fmt.Fprintf(&b, "\nreplies (%d):\n", len(c.Replies))
		for _, r := range c.Replies {
			match := "keywords " + strings.Join(r.Keywords, ", ")
			if r.Pattern != "" {
				match = "pattern " + r.Pattern
			}
			fmt.Fprintf(&b, "  %s: %s; %s; cooldown %s\n", r.Name, match, scopeText(r.Accounts, r.Platforms, r.Groups), r.Cooldown)
		}
	}
	if len(c.Welcome) > 0 {
		fmt.Fprintf(&b, "\nwelcome (%d):\n", len(c.Welcome))
		for _, w := range c.Welcome {
			fmt.Fprintf(&b, "  %s: %s; batch %s\n", w.Name, scopeText(w.Accounts, w.Platforms, w.Groups), w.Batch)
		}
	}
	if len(c.Schedules) > 0 {
		fmt.Fprintf(&b, "\nschedules (%d):\n", len(c.Schedules))
		for _, sc := range c.Schedules {
			from := "inline"
			if !sc.HasInline {
				from = sc.Announcement
			}
			until := ""
			if sc.Until != "" {
				until = ", until " + sc.UntilDate.Format("2006-01-02")
			}
			fmt.Fprintf(&b, "  %s: %q (%s)%s, catch_up %s\n", sc.Name, sc.Cron, from, until, shortDuration(sc.CatchUp))
		}
	}
	return b.String()
}

// scopeText is where a reply or welcome rule applies.
func scopeText(accounts, platforms, groups []string) string {
	var parts []string
	if len(accounts) > 0 {
		parts = append(parts, "accounts "+strings.Join(accounts, ", "))
	}
	if len(platforms) > 0 {
		parts = append(parts, "platforms "+strings.Join(platforms, ", "))
	}
	if len(groups) > 0 {
		parts = append(parts, "groups "+strings.Join(groups, ", "))
	}
	if len(parts) == 0 {
		return "every account"
	}
	return strings.Join(parts, ", ")
}

func rateText(r Rate) string {
	s := "unlimited"
	if r.PerMinute > 0 {
		s = fmt.Sprintf("%d/min", r.PerMinute)
	}
	switch {
	case r.MinGap > 0 && r.MaxGap > r.MinGap:
		s += fmt.Sprintf(", gap %s–%s", shortDuration(r.MinGap), shortDuration(r.MaxGap))
	case r.MinGap > 0:
		s += fmt.Sprintf(", gap %s", shortDuration(r.MinGap))
	}
	return s
}

func capText(n int) string {
	if n == 0 {
		return "none"
	}
	return fmt.Sprint(n)
}

// secretsSet names the account's secret keys that hold a value (the
// driver's config type says which keys are secrets).
func secretsSet(a Account) string {
	set := a.Settings.SecretsSet()
	if len(set) == 0 {
		return "-"
	}
	return strings.Join(set, ", ")
}

func matchText(m Match) string {
	var parts []string
	if len(m.Tags) > 0 {
		parts = append(parts, "tags "+strings.Join(m.Tags, "|"))
	}
	if len(m.Categories) > 0 {
		parts = append(parts, "categories "+strings.Join(m.Categories, "|"))
	}
	if len(m.Priorities) > 0 {
		parts = append(parts, "priorities "+strings.Join(m.Priorities, "|"))
	}
	if len(parts) == 0 {
		return "every announcement"
	}
	return strings.Join(parts, " and ")
}

// redactURLs drops user information (a password) from comma-separated URLs.
func redactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			u.User = nil
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

// shortDuration prints 5m and 720h rather than 5m0s and 720h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func orFloat(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
