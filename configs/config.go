// Package configs reads groupcast's YAML configuration with viper into typed
// structs, expands ${VAR} references, and validates the whole file at once,
// reporting every problem with its path (and line, where known).
//
// It knows no platform: an account's own keys belong to its driver, whose
// config type the driver table (Options.Catalog, adapters/registry)
// supplies, and a policy's meaning is the policy engine's
// (Options.CheckPolicy, policy.Compile). docs/configuration.md is the
// reference.
package configs

import (
	"fmt"
	"time"
)

// Config is the whole configuration file. Every field is documented here;
// configs/example.yaml shows each one in use.
type Config struct {
	// Timezone is the IANA zone that send windows and daily caps use.
	Timezone string `mapstructure:"timezone"`
	// Org is the organisation named in the formal style's signature.
	Org string `mapstructure:"org"`
	// Server is the HTTP API.
	Server Server `mapstructure:"server"`
	// Store is where announcements, targets and queues live.
	Store Store `mapstructure:"store"`
	// Delivery sets retries for temporary failures.
	Delivery Delivery `mapstructure:"delivery"`
	// Accounts are the robots, bots and logins that send.
	Accounts []Account `mapstructure:"accounts"`
	// Sources are intake channels besides HTTP (the DingTalk stream bot).
	Sources []Source `mapstructure:"sources"`
	// Policies are the operating rules routes refer to by name.
	Policies []Policy `mapstructure:"policies"`
	// Routes match announcements and list their targets.
	Routes []Route `mapstructure:"routes"`
	// Schedules are recurring posts: each occurrence of a schedule's cron
	// becomes an ordinary announcement (docs/operations-calendar.md).
	Schedules []Schedule `mapstructure:"schedules"`
	// Review pushes held announcements to reviewers in DingTalk and lets
	// them decide from the chat.
	Review Review `mapstructure:"review"`

	// Replies are keyword auto-replies to group messages the accounts
	// receive (docs/two-way.md). They go through the account's pacer and
	// pauses and are not counted against the daily caps.
	Replies []Reply `mapstructure:"replies"`
	// Welcome greets members who join a group, several joins within a
	// batch in one message (docs/two-way.md).
	Welcome []Welcome `mapstructure:"welcome"`
	// Tracking turns on tracked links (docs/group-operations.md): each
	// link in a sent text becomes a short link to this daemon's /l/
	// handler, which counts the click and redirects.
	Tracking Tracking `mapstructure:"tracking"`

	// Location is Timezone, loaded. Set by Load.
	Location *time.Location `mapstructure:"-"`
	// Source is the file the config came from ("" for the built-in demo).
	Path string `mapstructure:"-"`
}

// Server configures the HTTP API.
type Server struct {
	// Listen is host:port. Default 127.0.0.1:8780. A non-loopback address
	// requires tokens.
	Listen string `mapstructure:"listen"`
	// Tokens are the accepted bearer tokens, each naming who holds it and
	// what it may do: {name, token, role}, role admin (everything), sender
	// (submit, preview, recall, read) or reviewer (read, approve, reject).
	// A plain string is an admin token named token-N (N from 1). Empty
	// means no authentication (loopback only).
	Tokens []Token `mapstructure:"tokens"`
	// MaxBody bounds a request body (default 1MiB); larger ones get 413.
	MaxBody ByteSize `mapstructure:"max_body"`
	// IntakePerSecond bounds accepted announcements per second over all
	// clients (429 above it); 0 means no limit.
	IntakePerSecond float64 `mapstructure:"intake_per_second"`
	// MaxBacklog bounds the announcements accepted and not yet taken by the
	// slowest account's sender (default 20000; 0 means no bound). Above it
	// new announcements get 429 with Retry-After, before their body is
	// read, so a burst cannot outrun delivery without limit. Targets
	// waiting for a window or a review do not count.
	MaxBacklog int `mapstructure:"max_backlog"`
	// ShutdownTimeout is how long SIGTERM waits for in-flight work (default 10s).
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
}

// Store configures the queue and ledger.
type Store struct {
	// Driver is embedded (in-process NATS JetStream, files in Dir), nats
	// (an external server or cluster at URL) or memory (demo and tests only:
	// not durable).
	Driver string `mapstructure:"driver"`
	// Dir holds the embedded store's files. Default ./data.
	Dir string `mapstructure:"dir"`
	// URL lists the external servers, comma separated (driver nats).
	URL string `mapstructure:"url"`
	// Replicas is the stream and bucket replication for driver nats (default 1).
	Replicas int `mapstructure:"replicas"`
	// MaxBytes caps the embedded store's disk use (default 1GiB).
	MaxBytes ByteSize `mapstructure:"max_bytes"`
	// Retention is how long an announcement and its targets' states are
	// kept after their last change (default 720h, 30 days); older ones are
	// removed from the ledger, so the store does not fill up.
	Retention time.Duration `mapstructure:"retention"`
	// SyncAlways fsyncs every write (driver embedded). Safer against power
	// loss, about ten times slower. Default false: writes reach the OS
	// before the API answers, so a killed process loses nothing.
	SyncAlways bool `mapstructure:"sync_always"`
	// Listen, if set, also serves the embedded NATS on this address, for the
	// nats CLI and debugging. Default: no listener.
	Listen string `mapstructure:"listen"`
	// TLS, Creds, NKey and User/Password connect to an external NATS
	// (driver nats). Files are PEM or NATS files; a relative path is
	// relative to the config file. At most one of creds, nkey and user.
	TLS StoreTLS `mapstructure:"tls"`
	// Creds is a NATS credentials file (user JWT and nkey seed).
	Creds string `mapstructure:"creds"`
	// NKey is a file holding an nkey user seed (SU…).
	NKey string `mapstructure:"nkey"`
	// User and Password authenticate with a NATS user.
	User     string `mapstructure:"user"`
	Password Secret `mapstructure:"password"`
	// LeaseTTL is how long a replica's hold on an account lives in the
	// store without renewal (driver nats; default 10s, at least 3s): a
	// crashed replica's accounts are taken over within twice this.
	LeaseTTL time.Duration `mapstructure:"lease_ttl"`
}

// StoreTLS are the PEM files of a TLS connection to NATS.
type StoreTLS struct {
	// CA is the bundle that signed the servers' certificates (default: the
	// system's roots).
	CA string `mapstructure:"ca"`
	// Cert and Key are the client certificate and its key, for servers
	// that verify clients.
	Cert string `mapstructure:"cert"`
	Key  string `mapstructure:"key"`
}

// Delivery sets the retry schedule for temporary failures.
type Delivery struct {
	// MaxAttempts before a target ends failed (default 10).
	MaxAttempts int `mapstructure:"max_attempts"`
	// Backoff is the first retry delay (default 1s), doubled each attempt up
	// to MaxBackoff (default 5m).
	Backoff    time.Duration `mapstructure:"backoff"`
	MaxBackoff time.Duration `mapstructure:"max_backoff"`
	// AckWait is how long a delivery taken by a process that then died
	// waits before another takes it (default 30s): after a kill -9, sends
	// that were in flight resume after this.
	AckWait time.Duration `mapstructure:"ack_wait"`
}

// Account is one robot, bot or login: the keys every driver shares, and
// the rest of the account's keys, which belong to its driver (docs/configuration.md).
// Each driver declares its own config type (adapters/<platform>/config.go)
// and the driver table's entry decodes Settings into it; Load checks them
// against it, so a key the driver does not take is an error.
//
// Account is comparable (==): equal accounts have equal settings.
type Account struct {
	// Name identifies the account in routes, queues and metrics.
	Name string `mapstructure:"name"`
	// Platform is one of the platforms of the driver table (dingtalk,
	// wechat, qq, …).
	Platform string `mapstructure:"platform"`
	// Driver is the driver's name in the table (webhook, onebot, …).
	Driver string `mapstructure:"driver"`
	// Rate paces sends; the default is the platform's documented limit.
	Rate Rate `mapstructure:"rate"`
	// Settings are the driver's own keys, as read.
	Settings Settings `mapstructure:"-"`
}

// AccountKeys are the keys every account takes; every other key of an
// account is its driver's.
var AccountKeys = []string{"name", "platform", "driver", "rate"}

// Rate paces one account's sends.
type Rate struct {
	// PerMinute is the most sends in any 60 seconds.
	PerMinute int `mapstructure:"per_minute"`
	// MinGap and MaxGap, when set, space consecutive sends by a random
	// duration between them (jitter against burst detection).
	MinGap time.Duration `mapstructure:"min_gap"`
	MaxGap time.Duration `mapstructure:"max_gap"`
	// Margin is added to the platform's 60-second window (default 1s when
	// per_minute is set): the platform counts by its own clock after network
	// delay, so a send exactly 60 s after the first of a full window can
	// still be counted inside it.
	Margin time.Duration `mapstructure:"margin"`
}

// DefaultRateMargin is Rate.Margin's default.
const DefaultRateMargin = time.Second

// Source is an intake channel besides HTTP.
type Source struct {
	// Name identifies the source in logs and metrics.
	Name string `mapstructure:"name"`
	// Driver is the source's kind; today only dingtalk-stream (a DingTalk
	// robot that takes announcements from @-messages in admin groups).
	Driver string `mapstructure:"driver"`
	// ClientID is the DingTalk app's Client ID (AppKey).
	ClientID string `mapstructure:"client_id"`
	// ClientSecret is the DingTalk app's Client Secret.
	ClientSecret Secret `mapstructure:"client_secret"`
	// Conversations are the admin groups (openConversationId) whose
	// @-messages may announce.
	Conversations []string `mapstructure:"conversations"`
	// Senders are the staff ids allowed to announce; empty means anyone in
	// those groups.
	Senders []string `mapstructure:"senders"`
	// BaseURL replaces the stream gateway (tests redirect it).
	BaseURL string `mapstructure:"base_url"`
	// Account is the DingTalk account (platform dingtalk) whose sends answer
	// the groups this bot hears: the group @-messages the bot receives
	// become inbound events of that account, so replies rules answer them
	// through it (docs/two-way.md). Empty: the bot makes no inbound events.
	Account string `mapstructure:"account"`
}

// Policy is a named set of operating rules.
type Policy struct {
	// Name is what routes refer to (policy: name).
	Name string `mapstructure:"name"`
	// Windows are local "HH:MM-HH:MM" ranges (H:MM is accepted too; 24:00
	// only as an end; a range may cross midnight); non-urgent sends happen
	// only inside them. Empty: any time. policy.Compile is the grammar.
	Windows []string `mapstructure:"windows"`
	// DailyCap bounds deliveries per group per local day by stage.
	DailyCap DailyCap `mapstructure:"daily_cap"`
	// MatureAfter: a group is new until this long after its first delivery.
	MatureAfter time.Duration `mapstructure:"mature_after"`
	// Rules are content rules applied to the title and each rendered text.
	Rules []Rule `mapstructure:"rules"`
	// Mix bounds the share of promotion and interaction deliveries per group.
	Mix Mix `mapstructure:"mix"`
}

// DailyCap is the per-group daily delivery cap by stage; 0 means no cap.
type DailyCap struct {
	// New is the cap of a group that is still new (see mature_after).
	New int `mapstructure:"new"`
	// Mature is the cap of a mature group.
	Mature int `mapstructure:"mature"`
	// Auto lowers a group's cap for the next day when its leave rate over
	// the last 7 days passes auto_threshold (and at least 3 members left in
	// those days): by auto_step per day, never under auto_min; it rises
	// again by auto_step a day once the rate is back under the threshold,
	// up to the configured cap. The leave rate is leaves ÷ (joins + leaves):
	// groupcast does not know a group's size (docs/two-way.md). Needs a
	// cap (new or mature) and member events from the group. Default false.
	Auto bool `mapstructure:"auto"`
	// AutoThreshold is the 7-day leave rate (0-1) above which the cap is
	// lowered (default 0.6: clearly more members left than joined).
	AutoThreshold float64 `mapstructure:"auto_threshold"`
	// AutoStep is how much the cap is lowered (or raised back) per day
	// (default 1).
	AutoStep int `mapstructure:"auto_step"`
	// AutoMin is the lowest the automatic cap goes (default 1).
	AutoMin int `mapstructure:"auto_min"`
}

// Defaults of daily_cap.auto.
const (
	DefaultAutoThreshold = 0.6
	DefaultAutoStep      = 1
	DefaultAutoMin       = 1
	// AutoMinLeaves: fewer leaves than this in 7 days never lower a cap.
	AutoMinLeaves = 3
)

// Rule is one content rule: exactly one of Preset, Terms, Pattern.
type Rule struct {
	// Name is shown in reasons and metrics; default: the preset's name, or
	// "<policy>/terms#N", "<policy>/pattern#N".
	Name string `mapstructure:"name"`
	// Preset is a built-in term list (ad-law: China's advertising law).
	Preset string `mapstructure:"preset"`
	// Terms are literal terms, matched case-insensitively.
	Terms []string `mapstructure:"terms"`
	// Pattern is an RE2 regular expression.
	Pattern string `mapstructure:"pattern"`
	// Action is block, mask or review.
	Action string `mapstructure:"action"`
	// Allow lists everyday phrases that contain a match but are not what
	// the rule is about ("最佳实践"): a match lying wholly inside one is no
	// hit. For a preset, they add to the preset's own list.
	Allow []string `mapstructure:"allow"`
	// Categories are the announcement categories the rule applies to
	// (notice | interaction | promotion); empty: all.
	Categories []string `mapstructure:"categories"`
}

// Mix is the content mix limit per group over a rolling window.
type Mix struct {
	// Promotion is the largest share (0 to 1) of promotion deliveries.
	Promotion float64 `mapstructure:"promotion"`
	// Interaction is the largest share (0 to 1) of interaction deliveries.
	Interaction float64 `mapstructure:"interaction"`
	// Window is the rolling window the shares are counted over (default
	// 168h when a share is set).
	Window time.Duration `mapstructure:"window"`
	// Action is defer (default: wait until the share fits) or block.
	Action string `mapstructure:"action"`
}

// Route matches announcements and lists where they go.
type Route struct {
	// Name identifies the route in statuses and metrics.
	Name string `mapstructure:"name"`
	// Match selects the announcements of this route.
	Match Match `mapstructure:"match"`
	// Policy names the policy applied to this route's targets; empty: none.
	Policy string `mapstructure:"policy"`
	// Targets are the accounts, and their groups, the route sends to.
	Targets []RouteTarget `mapstructure:"targets"`
}

// Match: every key given must match; within a key, any value matches.
// An empty match matches every announcement.
type Match struct {
	// Tags: the announcement has at least one of them.
	Tags []string `mapstructure:"tags"`
	// Categories: notice, interaction or promotion.
	Categories []string `mapstructure:"categories"`
	// Priorities: urgent, normal or low.
	Priorities []string `mapstructure:"priorities"`
}

// RouteTarget is one account of a route, and the groups it sends to.
type RouteTarget struct {
	// Account names one of accounts.
	Account string `mapstructure:"account"`
	// Style is short, long or formal; default: the platform's (dingtalk
	// formal, wechat short, qq long).
	Style string `mapstructure:"style"`
	// Groups are the target groups (plain ids, or {id, stage}); a robot
	// driver (webhook, wecom) takes none: its group is the account's name.
	Groups []Group `mapstructure:"groups"`
	// MaxChars bounds the short style's text (default 200 characters).
	MaxChars int `mapstructure:"max_chars"`
	// Template overrides the style with a Go text/template (docs/styles.md, "Templates").
	Template string `mapstructure:"template"`
	// TemplateFile is Template read from a file in the config file's
	// directory or below it (never outside it).
	TemplateFile string `mapstructure:"template_file"`
	// Salutation opens the formal style (default 各位同事：).
	Salutation string `mapstructure:"salutation"`
	// Closing ends the formal style's body (default 特此通知。).
	Closing string `mapstructure:"closing"`
	// Signature replaces the formal style's signature line (default: org
	// and the date).
	Signature string `mapstructure:"signature"`
}

// Group is a target group: a plain string in YAML, or {id, stage}.
type Group struct {
	// ID is the group's id on the platform (a QQ number, an
	// openConversationId, a WeChat group name).
	ID string `mapstructure:"id"`
	// Stage is new or mature; default by the policy's mature_after.
	Stage string `mapstructure:"stage"`
}

// The roles of a token (server.tokens[].role).
const (
	RoleAdmin    = "admin"
	RoleSender   = "sender"
	RoleReviewer = "reviewer"
)

// Roles lists the roles a token may have, in the order messages name them.
var Roles = []string{RoleAdmin, RoleSender, RoleReviewer}

// Token is one bearer token of the API: a plain string in YAML (an admin
// token), or {name, token, role}.
type Token struct {
	// Name identifies who holds the token: the API records it as who
	// submitted an announcement and who approved or rejected it.
	Name string `mapstructure:"name"`
	// Token is the bearer token itself.
	Token Secret `mapstructure:"token"`
	// Role is admin, sender or reviewer.
	Role string `mapstructure:"role"`
}

// Secret is a string that never prints: fmt, logs and JSON show "****".
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "****"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `configs.Secret("****")` }

// MarshalText keeps encoders from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the value, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// ByteSize is a size such as 1MiB, 512KB or 1048576.
type ByteSize int64

func (b ByteSize) String() string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", b>>20)
	case b >= 1<<10 && b%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", b>>10)
	}
	return fmt.Sprintf("%dB", int64(b))
}
