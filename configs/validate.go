package configs

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
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
	// Platforms are the values of an account's platform.
	Platforms = []string{"dingtalk", "wechat", "qq"}
	// Presets are the rule presets a policy may name.
	Presets = []string{"ad-law"}
	// Styles are the target styles (SPEC §5).
	Styles = []string{"short", "long", "formal"}
	// DefaultStyle is a target's style when it sets none (SPEC §6.2).
	DefaultStyle = map[string]string{"wechat": "short", "qq": "long", "dingtalk": "formal"}
	// KnownDrivers are the driver names probed in the catalog to list the
	// valid ones in a message; a driver the catalog knows is accepted
	// whether or not it is listed here.
	KnownDrivers = []string{"webhook", "openapi", "openwechat", "wecom", "onebot", "miraigo", "console", "file"}
	// Categories, Priorities, Actions, Stages and MixActions are the enums of
	// routes and policies.
	Categories = []string{"notice", "interaction", "promotion"}
	Priorities = []string{"urgent", "normal", "low"}
	Actions    = []string{"block", "mask", "review"}
	Stages     = []string{"new", "mature"}
	MixActions = []string{"defer", "block"}
	// StoreDrivers are the values of store.driver.
	StoreDrivers = []string{"embedded", "nats", "memory"}

	// accountBaseKeys are the account keys every driver takes.
	accountBaseKeys = []string{"name", "platform", "driver", "rate"}

	namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

type validator struct {
	c    *collector
	opt  Options
	cfg  *Config
	tree map[string]any
	dir  string

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
	for i, t := range s.Tokens {
		if strings.TrimSpace(t.Reveal()) == "" {
			c.add(joinIndex("server.tokens", i), "empty token")
		}
	}
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
		switch {
		case a.Platform == "":
			c.add(p+".platform", "required: one of %s", strings.Join(Platforms, ", "))
		case !slices.Contains(Platforms, a.Platform):
			c.add(p+".platform", "unknown platform %s; valid: %s", c.quote(p+".platform", a.Platform), strings.Join(Platforms, ", "))
		default:
			platformOK = true
		}
		spec, known := v.driver(p, a, platformOK)
		if known {
			v.specs[i] = spec
			v.driverFields(p, a, spec)
		}
		v.checkBaseURL(p+".base_url", a.BaseURL)
		v.rate(p, a, spec, known)
		for _, f := range []struct {
			key string
			n   int64
		}{{"daily_limit", int64(a.DailyLimit)}, {"part_chars", int64(a.PartChars)}, {"uin", a.UIN}} {
			if f.n < 0 {
				c.add(p+"."+f.key, "must not be negative")
			}
		}
	}
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
	if ok && len(spec.Platforms) > 0 && !slices.Contains(spec.Platforms, a.Platform) {
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
		if len(out) == 0 {
			return []string{"(none)"}
		}
		return out
	}
	for _, d := range KnownDrivers {
		if spec, ok := v.opt.Catalog(platform, d); ok && (len(spec.Platforms) == 0 || slices.Contains(spec.Platforms, platform)) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return []string{"(none)"}
	}
	return out
}

// driverFields: keys the driver does not use, required keys, and the
// driver's own checks.
func (v *validator) driverFields(p string, a *Account, spec DriverSpec) {
	c := v.c
	raw := v.rawItem("accounts", indexOf(p))
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if slices.Contains(accountBaseKeys, k) || slices.Contains(spec.Fields, k) {
			continue
		}
		uses := "it takes no other keys"
		if len(spec.Fields) > 0 {
			uses = "its keys: " + strings.Join(spec.Fields, ", ")
		}
		c.add(p+"."+k, "not used by driver %s (%s)", a.Driver, uses)
	}
	for _, r := range spec.Required {
		f, ok := accountField(a, r)
		if ok && f.IsZero() {
			c.add(p+"."+r, "required by driver %s", a.Driver)
		}
	}
	if spec.CheckAccount != nil {
		fields := structFields(reflect.TypeFor[Account]())
		for _, msg := range spec.CheckAccount(*a) {
			if k, rest, ok := strings.Cut(msg, ": "); ok {
				if _, isField := fields[k]; isField {
					// The generic checks may have said it already
					// (base_url): one problem per field is enough.
					if !c.has(p + "." + k) {
						c.add(p+"."+k, "%s", rest)
					}
					continue
				}
			}
			c.add(p, "%s", msg)
		}
	}
}

// accountField returns the account field whose key is tag.
func accountField(a *Account, tag string) (reflect.Value, bool) {
	f, ok := structFields(reflect.TypeFor[Account]())[tag]
	if !ok {
		return reflect.Value{}, false
	}
	return reflect.ValueOf(a).Elem().FieldByIndex(f.Index), true
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
	}
}

func (v *validator) policiesCheck() {
	c := v.c
	v.policies = map[string]int{}
	for i := range v.cfg.Policies {
		pol := &v.cfg.Policies[i]
		p := joinIndex("policies", i)
		v.checkName(p+".name", pol.Name, "policy", v.policies, false)
		for j, w := range pol.Windows {
			if _, err := ParseWindow(w); err != nil {
				wp := joinIndex(p+".windows", j)
				c.add(wp, "%s: %v", c.quote(wp, w), err)
			}
		}
		if pol.DailyCap.New < 0 {
			c.add(p+".daily_cap.new", "must not be negative (0 means no cap)")
		}
		if pol.DailyCap.Mature < 0 {
			c.add(p+".daily_cap.mature", "must not be negative (0 means no cap)")
		}
		if pol.MatureAfter < 0 {
			c.add(p+".mature_after", "must not be negative")
		}
		v.rules(p, pol)
		v.mix(p, &pol.Mix)
	}
}

func (v *validator) rules(p string, pol *Policy) {
	c := v.c
	names := map[string]int{}
	for j := range pol.Rules {
		r := &pol.Rules[j]
		rp := joinIndex(p+".rules", j)
		var set []string
		if r.Preset != "" {
			set = append(set, "preset")
		}
		if len(r.Terms) > 0 {
			set = append(set, "terms")
		}
		if r.Pattern != "" {
			set = append(set, "pattern")
		}
		switch len(set) {
		case 0:
			c.add(rp, "one of preset, terms or pattern is required")
		case 1:
		default:
			c.add(rp, "exactly one of preset, terms or pattern per rule; this one sets %s", strings.Join(set, " and "))
		}
		if r.Preset != "" && !slices.Contains(Presets, r.Preset) {
			c.add(rp+".preset", "unknown preset %s; valid: %s", c.quote(rp+".preset", r.Preset), strings.Join(Presets, ", "))
		}
		for k, t := range r.Terms {
			if strings.TrimSpace(t) == "" {
				c.add(joinIndex(rp+".terms", k), "empty term")
			}
		}
		if r.Pattern != "" {
			if _, err := regexp.Compile(r.Pattern); err != nil {
				c.add(rp+".pattern", "does not compile (RE2 syntax): %v", err)
			}
		}
		switch {
		case r.Action == "":
			c.add(rp+".action", "required: one of %s", strings.Join(Actions, ", "))
		case !slices.Contains(Actions, r.Action):
			c.add(rp+".action", "unknown action %s; valid: %s", c.quote(rp+".action", r.Action), strings.Join(Actions, ", "))
		}
		if r.Name == "" {
			r.Name = ruleName(pol.Name, j, r)
		}
		if k, dup := names[r.Name]; dup {
			c.add(rp+".name", "duplicate rule name %s (first at %s)", c.quote(rp+".name", r.Name), joinIndex(p+".rules", k))
		} else {
			names[r.Name] = j
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

func (v *validator) mix(p string, m *Mix) {
	c := v.c
	for _, s := range []struct {
		key   string
		share float64
	}{{"promotion", m.Promotion}, {"interaction", m.Interaction}} {
		if s.share < 0 || s.share > 1 {
			c.add(p+".mix."+s.key, "a share between 0 and 1 (0.10 is 10%%)")
		}
	}
	if m.Window < 0 {
		c.add(p+".mix.window", "must be positive")
	}
	if (m.Promotion > 0 || m.Interaction > 0) && m.Window == 0 {
		m.Window = DefaultMixWindow
	}
	switch {
	case m.Action == "":
		m.Action = DefaultMixAction
	case !slices.Contains(MixActions, m.Action):
		c.add(p+".mix.action", "unknown action %s; valid: %s", c.quote(p+".mix.action", m.Action), strings.Join(MixActions, ", "))
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
		t.Style = DefaultStyle[acc.Platform]
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
				c.add(gp, "%v", err)
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
		name := t.TemplateFile
		if !filepath.IsAbs(name) {
			name = filepath.Join(v.dir, name)
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

// Window is a daily send window in minutes since local midnight. End may
// be less than Start: the window then crosses midnight.
type Window struct {
	Start, End int
}

// ParseWindow reads "HH:MM-HH:MM" (00:00 to 24:00; start and end differ;
// "22:00-06:00" crosses midnight).
func ParseWindow(s string) (Window, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Window{}, errors.New(`expected "HH:MM-HH:MM", such as "08:00-09:30"`)
	}
	start, err1 := parseClock(strings.TrimSpace(a))
	end, err2 := parseClock(strings.TrimSpace(b))
	switch {
	case err1 != nil || err2 != nil:
		return Window{}, errors.New(`expected "HH:MM-HH:MM" between 00:00 and 24:00, such as "08:00-09:30"`)
	case start == 24*60:
		return Window{}, errors.New("a window cannot start at 24:00 (write 00:00)")
	case start == end:
		return Window{}, errors.New("start and end are the same (leave windows empty to allow any time)")
	}
	return Window{Start: start, End: end}, nil
}

func parseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' || !isDigits(s[:2]) || !isDigits(s[3:]) {
		return 0, errors.New("bad clock")
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, errors.New("bad clock")
	}
	return h*60 + m, nil
}

// Contains reports whether the minute of the day (0..1439) is inside the
// window: Start inclusive, End exclusive.
func (w Window) Contains(minute int) bool {
	if w.Start < w.End {
		return minute >= w.Start && minute < w.End
	}
	return minute >= w.Start || minute < w.End
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
