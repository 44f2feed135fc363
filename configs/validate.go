package configs

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/groupcast/groupcast"
)

// Defaults applied by Load.
const (
	DefaultTimezone        = "Asia/Shanghai"
	DefaultListen          = "127.0.0.1:8780"
	DefaultMaxBody         = ByteSize(1 << 20)
	DefaultShutdownTimeout = 10 * time.Second
	DefaultMaxBacklog      = 20000
	DefaultStoreDriver     = "embedded"
	DefaultStoreDir        = "./data"
	DefaultReplicas        = 1
	MaxReplicas            = 5
	DefaultStoreMaxBytes   = ByteSize(1 << 30)
	DefaultRetention       = 30 * 24 * time.Hour
	DefaultLeaseTTL        = 10 * time.Second
	MinLeaseTTL            = 3 * time.Second
	DefaultMaxAttempts     = 10
	DefaultBackoff         = time.Second
	DefaultMaxBackoff      = 5 * time.Minute
	DefaultAckWait         = 30 * time.Second
	DefaultMixWindow       = 168 * time.Hour
	DefaultMixAction       = "defer"
	// SourceDriver is the only driver of sources.
	SourceDriver = "dingtalk-stream"
)

var (
	// Styles are the target styles (docs/styles.md).
	Styles = []string{"short", "long", "formal"}
	// FallbackStyle is a target's style when neither the driver table nor
	// the platform names one (no table given: tests of other packages).
	FallbackStyle = "long"
	// Categories, Priorities and Stages are the enums of routes. (The
	// enums of policies, rule presets and actions, are the policy engine's:
	// Options.CheckPolicy.)
	Categories = []string{"notice", "interaction", "promotion"}
	Priorities = []string{"urgent", "normal", "low"}
	Stages     = []string{"new", "mature"}
	// StoreDrivers are the values of store.driver.
	StoreDrivers = []string{"embedded", "nats", "memory"}

	namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

type validator struct {
	c    *collector
	opt  Options
	cfg  *Config
	tree map[string]any
	dir  string
	// settings are the accounts' driver keys, by index (splitAccounts).
	settings []map[string]any

	specs    map[int]DriverSpec // account index → its driver, when known
	accounts map[string]int     // name → first index
	policies map[string]int
}

func (v *validator) run() {
	v.top()
	v.accountsCheck()
	v.sourcesCheck()
	v.policiesCheck()
	v.routesCheck()
	v.schedulesCheck()
	v.reviewCheck()

	v.inboundCheck()
	v.trackingCheck()
}

func (v *validator) top() {
	c, cfg := v.c, v.cfg
	if cfg.Timezone == "" {
		cfg.Timezone = DefaultTimezone
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		c.add("timezone", "unknown time zone %s (use an IANA name such as Asia/Shanghai)", c.quote("timezone", cfg.Timezone))
		loc = time.UTC
	}
	cfg.Location = loc

	s := &cfg.Server
	if s.Listen == "" {
		s.Listen = DefaultListen
	}
	if host, ok := v.hostPort("server.listen", s.Listen); ok && len(s.Tokens) == 0 && !isLoopback(host) {
		c.add("server.tokens", "required when server.listen is not a loopback address: without tokens anyone who reaches the port can send")
	}
	v.tokensCheck()
	if s.MaxBody == 0 {
		s.MaxBody = DefaultMaxBody
	}
	if s.MaxBacklog == 0 && !v.raw("server", "max_backlog") {
		s.MaxBacklog = DefaultMaxBacklog
	}
	if s.MaxBacklog < 0 {
		c.add("server.max_backlog", "must be 0 (no bound) or more")
	}
	if s.IntakePerSecond < 0 {
		c.add("server.intake_per_second", "must be 0 (no limit) or more")
	}
	if s.ShutdownTimeout == 0 {
		s.ShutdownTimeout = DefaultShutdownTimeout
	}
	if s.ShutdownTimeout < 0 {
		c.add("server.shutdown_timeout", "must be positive")
	}

	st := &cfg.Store
	if st.Driver == "" {
		st.Driver = DefaultStoreDriver
	}
	if !slices.Contains(StoreDrivers, st.Driver) {
		c.add("store.driver", "unknown store driver %s; valid: %s", c.quote("store.driver", st.Driver), strings.Join(StoreDrivers, ", "))
	}
	if st.Dir == "" {
		st.Dir = DefaultStoreDir
	}
	if st.Driver == "nats" {
		if strings.TrimSpace(st.URL) == "" {
			c.add("store.url", "required by store driver nats (nats://host:4222, comma separated for a cluster)")
		} else {
			for _, u := range strings.Split(st.URL, ",") {
				if pu, err := url.Parse(strings.TrimSpace(u)); err != nil || pu.Host == "" {
					c.add("store.url", "each server must be a URL such as nats://host:4222")
					break
				}
			}
		}
	}
	if st.Replicas == 0 {
		st.Replicas = DefaultReplicas
	}
	if st.Replicas < 1 || st.Replicas > MaxReplicas {
		c.add("store.replicas", "must be between 1 and %d", MaxReplicas)
	}
	if st.MaxBytes == 0 {
		st.MaxBytes = DefaultStoreMaxBytes
	}
	if st.Retention == 0 {
		st.Retention = DefaultRetention
	}
	if st.Retention < 24*time.Hour {
		c.add("store.retention", "must be at least 24h: a deferred target must outlive its wait")
	}
	if st.Listen != "" {
		v.hostPort("store.listen", st.Listen)
	}
	v.storeConnection(st)
	if st.Driver == "memory" {
		c.warn("store.driver", "memory is not durable: accepted announcements are lost on restart (demo and tests only)")
	}

	d := &cfg.Delivery
	if d.MaxAttempts == 0 {
		d.MaxAttempts = DefaultMaxAttempts
	}
	if d.Backoff == 0 {
		d.Backoff = DefaultBackoff
	}
	if d.MaxBackoff == 0 {
		d.MaxBackoff = max(DefaultMaxBackoff, d.Backoff)
	}
	if d.AckWait == 0 {
		d.AckWait = DefaultAckWait
	}
	if d.AckWait < 0 {
		c.add("delivery.ack_wait", "must be positive")
	}
	if d.MaxAttempts < 0 {
		c.add("delivery.max_attempts", "must be positive")
	}
	if d.Backoff < 0 {
		c.add("delivery.backoff", "must be positive")
	}
	if d.MaxBackoff < 0 {
		c.add("delivery.max_backoff", "must be positive")
	} else if d.Backoff > 0 && d.MaxBackoff < d.Backoff {
		c.add("delivery.max_backoff", "must not be less than delivery.backoff (%s)", d.Backoff)
	}
}

// hostPort checks a host:port value and returns the host.
func (v *validator) hostPort(path, s string) (string, bool) {
	host, port, err := net.SplitHostPort(s)
	if err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
			err = errors.New("bad port")
		}
	}
	if err != nil {
		v.c.add(path, "expected host:port such as 127.0.0.1:8780, got %s", v.c.quote(path, s))
		return "", false
	}
	return host, true
}

// isLoopback: localhost, 127.0.0.0/8 and ::1. An empty host listens on
// every interface, so it is not.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// raw reports whether section.key is present in the file (0 set on purpose
// differs from a default).
func (v *validator) raw(section, key string) bool {
	m, _ := v.tree[section].(map[string]any)
	_, ok := m[key]
	return ok
}

// rawItem returns the keys present in the file for list[i] (after
// expansion and shape checks).
func (v *validator) rawItem(list string, i int) map[string]any {
	l, _ := v.tree[list].([]any)
	if i < len(l) {
		m, _ := l[i].(map[string]any)
		return m
	}
	return nil
}

func (v *validator) checkName(path, name, kind string, seen map[string]int, strict bool) {
	c := v.c
	switch {
	case name == "":
		c.add(path, "required")
		return
	case strict && !namePattern.MatchString(name):
		c.add(path, "%s names use only letters, digits, _ and - (at most 64): they appear in queue subjects", kind)
	}
	if j, dup := seen[name]; dup {
		c.add(path, "duplicate %s name %s (first at %s[%d])", kind, c.quote(path, name), listName(path), j)
		return
	}
	seen[name] = indexOf(path)
}

// tokensCheck checks server.tokens: a plain string is an admin token named
// token-N; a mapping needs a name, a token and a role. Names and tokens are
// unique (a token names one holder). No message shows a token.
func (v *validator) tokensCheck() {
	c := v.c
	server, _ := v.tree["server"].(map[string]any)
	list, _ := server["tokens"].([]any)
	names := map[string]int{}
	values := map[string]int{}
	for i := range v.cfg.Server.Tokens {
		t := &v.cfg.Server.Tokens[i]
		path := joinIndex("server.tokens", i)
		var item any
		if i < len(list) {
			item = list[i]
		}
		if _, mapping := item.(map[string]any); !mapping {
			// A plain token: an admin named by its place in the list.
			t.Name, t.Role = fmt.Sprintf("token-%d", i+1), RoleAdmin
			if strings.TrimSpace(t.Token.Reveal()) == "" {
				c.add(path, "empty token")
			}
		} else {
			if strings.TrimSpace(t.Token.Reveal()) == "" {
				c.add(joinKey(path, "token"), "empty token")
			}
			switch {
			case t.Role == "":
				c.add(joinKey(path, "role"), "required (%s)", strings.Join(Roles, ", "))
			case !slices.Contains(Roles, t.Role):
				c.add(joinKey(path, "role"), "unknown role %s (%s)", c.quote(joinKey(path, "role"), t.Role), strings.Join(Roles, ", "))
			}
		}
		v.checkName(joinKey(path, "name"), t.Name, "token", names, true)
		if tok := t.Token.Reveal(); strings.TrimSpace(tok) != "" {
			if j, dup := values[tok]; dup {
				c.add(joinKey(path, "token"), "the same token as server.tokens[%d]: each token names one holder", j)
			} else {
				values[tok] = i
			}
		}
	}
}

// listName returns "accounts" for "accounts[3].name".
func listName(path string) string {
	if i := strings.IndexByte(path, '['); i >= 0 {
		return path[:i]
	}
	return path
}

func indexOf(path string) int {
	i := strings.IndexByte(path, '[')
	j := strings.IndexByte(path, ']')
	if i < 0 || j < i {
		return 0
	}
	n, _ := strconv.Atoi(path[i+1 : j])
	return n
}

func (v *validator) checkBaseURL(path, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") && !v.c.has(path) {
		v.c.add(path, "must be an absolute http(s) URL")
	}
}

func (v *validator) accountsCheck() {
	c, cfg := v.c, v.cfg
	v.specs = map[int]DriverSpec{}
	v.accounts = map[string]int{}
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		p := joinIndex("accounts", i)
		v.checkName(p+".name", a.Name, "account", v.accounts, true)
		platformOK := false
		names := v.platformNames()
		switch {
		case a.Platform == "":
			msg := "required"
			if len(names) > 0 {
				msg += ": one of " + strings.Join(names, ", ")
			}
			c.add(p+".platform", "%s", msg)
		case len(names) > 0 && !slices.Contains(names, a.Platform):
			c.add(p+".platform", "unknown platform %s; valid: %s", c.quote(p+".platform", a.Platform), strings.Join(names, ", "))
		default:
			platformOK = true
		}
		spec, known := v.driver(p, a, platformOK)
		if known {
			v.specs[i] = spec
			v.driverSettings(i, p, a, spec)
		}
		v.rate(p, a, spec, known)
	}
}

// platformNames are the valid platforms; nil when any is (no table).
func (v *validator) platformNames() []string {
	var out []string
	for _, pl := range v.opt.Platforms {
		out = append(out, pl.Name)
	}
	return out
}

// defaultStyle is the style of a target of acc that names none.
func (v *validator) defaultStyle(acc *Account, spec DriverSpec, known bool) string {
	if known && spec.Platform.Name == acc.Platform && spec.Platform.DefaultStyle != "" {
		return spec.Platform.DefaultStyle
	}
	for _, pl := range v.opt.Platforms {
		if pl.Name == acc.Platform && pl.DefaultStyle != "" {
			return pl.DefaultStyle
		}
	}
	return FallbackStyle
}

// driver checks the account's driver against the catalog.
func (v *validator) driver(p string, a *Account, platformOK bool) (DriverSpec, bool) {
	c := v.c
	if a.Driver == "" {
		msg := "required"
		if platformOK && v.opt.Catalog != nil {
			msg += "; drivers for " + a.Platform + ": " + strings.Join(v.driversFor(a.Platform), ", ")
		}
		c.add(p+".driver", "%s", msg)
		return DriverSpec{}, false
	}
	if v.opt.Catalog == nil || !platformOK {
		return DriverSpec{}, false
	}
	spec, ok := v.opt.Catalog(a.Platform, a.Driver)
	if ok && spec.Platform.Name != "" && spec.Platform.Name != a.Platform {
		ok = false
	}
	if !ok {
		c.add(p+".driver", "unknown driver %s for platform %s; valid: %s", c.quote(p+".driver", a.Driver), a.Platform, strings.Join(v.driversFor(a.Platform), ", "))
		return DriverSpec{}, false
	}
	return spec, true
}

func (v *validator) driversFor(platform string) []string {
	var out []string
	if v.opt.DriverNames != nil {
		out = v.opt.DriverNames(platform)
	}
	if len(out) == 0 {
		return []string{"(none)"}
	}
	return out
}

// driverSettings decodes the account's driver keys into the driver's
// config type: unknown keys, types, required keys and the type's Check.
func (v *validator) driverSettings(i int, p string, a *Account, spec DriverSpec) {
	var raw map[string]any
	if i < len(v.settings) && v.settings[i] != nil {
		raw = v.settings[i]
	} else {
		raw = map[string]any{}
	}
	if spec.Settings == nil {
		keys := make([]string, 0, len(raw))
		for k := range raw {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v.c.bad(p+"."+k, "not used by driver %s (it takes no other keys)", a.Driver)
		}
		return
	}
	out, _ := decodeSettings(raw, spec.Settings, a.Driver, p, v.c)
	a.Settings = a.Settings.withSecrets(spec.Settings, out.Elem())
}

func (v *validator) rate(p string, a *Account, spec DriverSpec, known bool) {
	c := v.c
	r := &a.Rate
	if r.PerMinute < 0 {
		c.add(p+".rate.per_minute", "must not be negative (0 means the platform's default)")
	}
	if r.MinGap < 0 {
		c.add(p+".rate.min_gap", "must not be negative")
	}
	if r.MaxGap < 0 {
		c.add(p+".rate.max_gap", "must not be negative")
	}
	if r.MaxGap > 0 && r.MinGap > r.MaxGap {
		c.add(p+".rate.min_gap", "must not exceed rate.max_gap (%s)", r.MaxGap)
	}
	if r.Margin < 0 || r.Margin > 30*time.Second {
		c.add(p+".rate.margin", "must be between 0s and 30s (0 means the default, 1s)")
	}
	if !known {
		return
	}
	def := spec.DefaultRate
	if def.PerMinute > 0 && r.PerMinute > def.PerMinute {
		c.warn(p+".rate.per_minute", "%d/min is above the platform's documented limit of %d/min: expect throttling or a ban", r.PerMinute, def.PerMinute)
	}
	if r.PerMinute == 0 {
		r.PerMinute = def.PerMinute
	}
	if r.MinGap == 0 && r.MaxGap == 0 {
		r.MinGap, r.MaxGap = def.MinGap, def.MaxGap
	}
	if r.MaxGap == 0 {
		r.MaxGap = r.MinGap
	}
	if r.Margin == 0 && r.PerMinute > 0 {
		r.Margin = DefaultRateMargin
	}
}

func (v *validator) sourcesCheck() {
	c := v.c
	seen := map[string]int{}
	for i := range v.cfg.Sources {
		s := &v.cfg.Sources[i]
		p := joinIndex("sources", i)
		v.checkName(p+".name", s.Name, "source", seen, true)
		switch s.Driver {
		case SourceDriver:
		case "":
			c.add(p+".driver", "required: %s", SourceDriver)
		default:
			c.add(p+".driver", "unknown source driver %s; valid: %s", c.quote(p+".driver", s.Driver), SourceDriver)
		}
		if s.ClientID == "" {
			c.add(p+".client_id", "required")
		}
		if s.ClientSecret == "" {
			c.add(p+".client_secret", "required")
		}
		if len(s.Conversations) == 0 {
			c.add(p+".conversations", "at least one admin conversation id is required")
		}
		for j, id := range s.Conversations {
			if strings.TrimSpace(id) == "" {
				c.add(joinIndex(p+".conversations", j), "empty conversation id")
			}
		}
		for j, id := range s.Senders {
			if strings.TrimSpace(id) == "" {
				c.add(joinIndex(p+".senders", j), "empty sender id")
			}
		}
		v.checkBaseURL(p+".base_url", s.BaseURL)
		if s.Account != "" {
			ap := p + ".account"
			if i, ok := v.accounts[s.Account]; !ok {
				c.add(ap, "unknown account %s; %s", c.quote(ap, s.Account), v.namesOf("accounts", v.accountNames()))
			} else if pl := v.cfg.Accounts[i].Platform; pl != "dingtalk" {
				c.add(ap, "account %s is a %s account; a DingTalk stream's events are answered by a dingtalk account", c.quote(ap, s.Account), pl)
			}
		}
	}
}

// policiesCheck names the policies and their rules and fills defaults;
// what a policy means (windows, caps, rules, mix) is checked by
// Options.CheckPolicy (policy.Compile), so there is one window grammar.
func (v *validator) policiesCheck() {
	c := v.c
	v.policies = map[string]int{}
	for i := range v.cfg.Policies {
		pol := &v.cfg.Policies[i]
		p := joinIndex("policies", i)
		v.checkName(p+".name", pol.Name, "policy", v.policies, false)
		for j := range pol.Rules {
			if r := &pol.Rules[j]; r.Name == "" {
				r.Name = ruleName(pol.Name, j, r)
			}
		}
		m := &pol.Mix
		if (m.Promotion > 0 || m.Interaction > 0) && m.Window == 0 {
			m.Window = DefaultMixWindow
		}
		if m.Action == "" {
			m.Action = DefaultMixAction
		}
		if v.opt.CheckPolicy == nil || c.skipped(p) {
			continue
		}
		err := v.opt.CheckPolicy(*pol, v.cfg.Location)
		for _, e := range leafErrors(err) {
			if e == nil {
				continue
			}
			fp, msg := p, e.Error()
			var fe *groupcast.FieldError
			if errors.As(e, &fe) {
				msg = fe.Message
				if fe.Field != "" {
					fp = p + "." + strings.TrimPrefix(fe.Field, ".")
				}
			}
			if c.fromEnv(fp) {
				// policy.Compile quotes values; one from the
				// environment might be a misplaced secret.
				msg = "invalid value (from the environment, not shown)"
			}
			if !c.has(fp) {
				c.add(fp, "%s", msg)
			}
		}
	}
}

// ruleName is a rule's default name, shown in reasons and metrics: the
// preset's name, else "<policy>/terms#N" or "<policy>/pattern#N" (N from 1).
func ruleName(policy string, j int, r *Rule) string {
	switch {
	case r.Preset != "":
		return r.Preset
	case len(r.Terms) > 0:
		return fmt.Sprintf("%s/terms#%d", policy, j+1)
	default:
		return fmt.Sprintf("%s/pattern#%d", policy, j+1)
	}
}

func (v *validator) routesCheck() {
	c, cfg := v.c, v.cfg
	if len(cfg.Routes) == 0 {
		c.warn("routes", "no routes: every announcement will be refused with no_route")
	}
	seen := map[string]int{}
	used := map[string]bool{}
	usedPolicies := map[string]bool{}
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		p := joinIndex("routes", i)
		v.checkName(p+".name", r.Name, "route", seen, false)
		v.enumList(p+".match.categories", r.Match.Categories, Categories)
		v.enumList(p+".match.priorities", r.Match.Priorities, Priorities)
		for j, t := range r.Match.Tags {
			if strings.TrimSpace(t) == "" {
				c.add(joinIndex(p+".match.tags", j), "empty tag")
			}
		}
		if r.Policy != "" {
			usedPolicies[r.Policy] = true
			if _, ok := v.policies[r.Policy]; !ok {
				c.add(p+".policy", "unknown policy %s; %s", c.quote(p+".policy", r.Policy), v.namesOf("policies", policyNames(cfg.Policies)))
			}
		}
		if len(r.Targets) == 0 {
			c.add(p+".targets", "at least one target is required")
		}
		dup := map[string]string{} // account + group → path
		for j := range r.Targets {
			t := &r.Targets[j]
			tp := joinIndex(p+".targets", j)
			used[t.Account] = true
			v.target(tp, t, dup)
		}
	}
	for i, a := range cfg.Accounts {
		if a.Name != "" && !used[a.Name] && len(cfg.Routes) > 0 {
			c.warn(joinIndex("accounts", i), "account %s is not a target of any route", c.quote(joinIndex("accounts", i)+".name", a.Name))
		}
	}
	for i, pol := range cfg.Policies {
		if pol.Name != "" && !usedPolicies[pol.Name] {
			c.warn(joinIndex("policies", i), "policy %s is not used by any route", c.quote(joinIndex("policies", i)+".name", pol.Name))
		}
	}
}

func (v *validator) target(tp string, t *RouteTarget, dup map[string]string) {
	c, cfg := v.c, v.cfg
	var acc *Account
	var spec DriverSpec
	var known bool
	var accName string
	switch i, ok := v.accounts[t.Account]; {
	case t.Account == "":
		c.add(tp+".account", "required")
	case !ok:
		c.add(tp+".account", "unknown account %s; %s", c.quote(tp+".account", t.Account), v.namesOf("accounts", v.accountNames()))
	default:
		acc = &cfg.Accounts[i]
		spec, known = v.specs[i]
		accName = c.quote(joinIndex("accounts", i)+".name", acc.Name)
	}
	switch {
	case t.Style == "" && acc != nil:
		t.Style = v.defaultStyle(acc, spec, known)
	case t.Style != "" && !slices.Contains(Styles, t.Style):
		c.add(tp+".style", "unknown style %s; valid: %s", c.quote(tp+".style", t.Style), strings.Join(Styles, ", "))
	}
	if t.MaxChars < 0 {
		c.add(tp+".max_chars", "must not be negative (0 means the style's default)")
	}

	mode := GroupsOptional
	if known {
		mode = spec.Groups
	}
	switch {
	case mode == GroupsNone && len(t.Groups) > 0:
		c.add(tp+".groups", "driver %s sends to exactly one group (the robot's own): remove groups", acc.Driver)
	case mode == GroupsRequired && len(t.Groups) == 0:
		c.add(tp+".groups", "driver %s needs at least one group", acc.Driver)
	}
	for k := range t.Groups {
		g := &t.Groups[k]
		gp := joinIndex(tp+".groups", k)
		if strings.TrimSpace(g.ID) == "" {
			c.add(gp, "empty group id")
			continue
		}
		if g.Stage != "" && !slices.Contains(Stages, g.Stage) {
			c.add(gp+".stage", "unknown stage %s; valid: %s", c.quote(gp+".stage", g.Stage), strings.Join(Stages, ", "))
		}
		if known && spec.CheckGroup != nil && mode != GroupsNone {
			if err := spec.CheckGroup(g.ID); err != nil {
				c.add(gp, "%s", c.redact(gp, err.Error(), g.ID))
			}
		}
	}
	if len(t.Groups) == 0 && acc != nil && mode != GroupsRequired {
		t.Groups = []Group{{ID: acc.Name}}
	}
	if acc != nil {
		for k, g := range t.Groups {
			if g.ID == "" {
				continue
			}
			key := acc.Name + "\x00" + g.ID
			gp := joinIndex(tp+".groups", k)
			if len(t.Groups) == 1 && g.ID == acc.Name {
				gp = tp
			}
			if first, ok := dup[key]; ok {
				c.add(gp, "account %s already sends to group %s in this route (%s)", accName, c.quote(gp, g.ID), first)
				continue
			}
			dup[key] = gp
		}
	}

	v.template(tp, t)
}

func (v *validator) template(tp string, t *RouteTarget) {
	c := v.c
	where := tp + ".template"
	switch {
	case t.Template != "" && t.TemplateFile != "":
		c.add(tp+".template_file", "set template or template_file, not both")
		return
	case t.TemplateFile != "":
		where = tp + ".template_file"
		name, err := confined(v.dir, t.TemplateFile)
		if err != nil {
			c.add(where, "%v", err)
			return
		}
		b, err := readSmall(name, MaxFileSize)
		if err != nil {
			c.add(where, "cannot read: %v", err)
			return
		}
		t.Template = string(b)
	}
	if t.Template != "" && v.opt.CheckTemplate != nil {
		if err := v.opt.CheckTemplate(t.Template); err != nil {
			c.add(where, "%v", err)
		}
	}
}

// confined resolves a template_file against the config file's directory
// and refuses one outside it: no "..", no absolute path elsewhere, no
// symlink that leads out. Whoever may edit the config may not make the
// daemon read /etc/shadow into messages.
func confined(dir, name string) (string, error) {
	base, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("cannot resolve the config's directory: %w", err)
	}
	if real, err := filepath.EvalSymlinks(base); err == nil {
		base = real
	}
	full := name
	if !filepath.IsAbs(full) {
		full = filepath.Join(base, full)
	}
	outside := fmt.Errorf("must be a file in the config file's directory (%s) or below it; %s is outside", base, name)
	if !within(base, filepath.Clean(full)) {
		return "", outside
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", name, unwrapPath(err))
	}
	if !within(base, real) {
		return "", fmt.Errorf("must be a file in the config file's directory (%s) or below it; %s leads outside through a symlink", base, name)
	}
	return real, nil
}

// within reports whether path is base or below it (both clean, absolute).
func within(base, path string) bool {
	rel, err := filepath.Rel(base, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// unwrapPath drops the *PathError's path (already named by the field).
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func readSmall(name string, limit int64) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return os.ReadFile(name)
}

func (v *validator) enumList(path string, values, valid []string) {
	for i, s := range values {
		if !slices.Contains(valid, s) {
			p := joinIndex(path, i)
			v.c.add(p, "unknown value %s; valid: %s", v.c.quote(p, s), strings.Join(valid, ", "))
		}
	}
}

func (v *validator) namesOf(kind string, names []string) string {
	if len(names) == 0 {
		return "no " + kind + " are defined"
	}
	if len(names) > 10 {
		names = append(names[:10:10], "…")
	}
	return kind + ": " + strings.Join(names, ", ")
}

// accountNames lists the defined accounts for a message; a name that came
// from the environment is not shown.
func (v *validator) accountNames() []string {
	var out []string
	for i, a := range v.cfg.Accounts {
		p := joinIndex("accounts", i) + ".name"
		switch {
		case a.Name == "":
		case v.c.fromEnv(p):
			out = append(out, "(a name from the environment)")
		default:
			out = append(out, a.Name)
		}
	}
	return out
}

func policyNames(ps []Policy) []string {
	var out []string
	for _, p := range ps {
		if p.Name != "" {
			out = append(out, p.Name)
		}
	}
	return out
}
