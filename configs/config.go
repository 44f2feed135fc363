// Package configs reads groupcast's YAML configuration with viper into typed
// structs, expands ${VAR} references, and validates the whole file at once,
// reporting every problem with its path (and line, where known).
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
	// Tokens are the accepted bearer tokens; empty means no authentication
	// (loopback only).
	Tokens []Secret `mapstructure:"tokens"`
	// MaxBody bounds a request body (default 1MiB); larger ones get 413.
	MaxBody ByteSize `mapstructure:"max_body"`
	// IntakePerSecond bounds accepted announcements per second over all
	// clients (429 above it); 0 means no limit.
	IntakePerSecond float64 `mapstructure:"intake_per_second"`
	// MaxBacklog bounds the targets queued and not yet taken by a sender
	// (default 20000; 0 means no bound). Above it new announcements get
	// 429 with Retry-After, so a burst cannot outrun delivery without
	// limit. Deferred targets waiting for a window do not count.
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

// Account is one robot, bot or login. Which fields apply depends on Driver
// (SPEC §7); a field the driver does not use is an error.
type Account struct {
	Name     string `mapstructure:"name"`
	Platform string `mapstructure:"platform"` // dingtalk | wechat | qq
	Driver   string `mapstructure:"driver"`
	// Rate paces sends; the default is the platform's documented limit.
	Rate Rate `mapstructure:"rate"`

	BaseURL     string `mapstructure:"base_url"`     // every HTTP driver
	AccessToken Secret `mapstructure:"access_token"` // dingtalk webhook, qq onebot
	Secret      Secret `mapstructure:"secret"`       // dingtalk webhook signing (SEC…)
	AppKey      string `mapstructure:"app_key"`      // dingtalk openapi
	AppSecret   Secret `mapstructure:"app_secret"`   // dingtalk openapi
	RobotCode   string `mapstructure:"robot_code"`   // dingtalk openapi
	SessionFile string `mapstructure:"session_file"` // wechat openwechat
	DailyLimit  int    `mapstructure:"daily_limit"`  // wechat openwechat: sends per day for the account
	Key         Secret `mapstructure:"key"`          // wechat wecom
	Forward     bool   `mapstructure:"forward"`      // qq onebot: long content as one forward message
	PartChars   int    `mapstructure:"part_chars"`   // qq onebot: characters per part
	UIN         int64  `mapstructure:"uin"`          // qq miraigo
	Password    Secret `mapstructure:"password"`     // qq miraigo
	DeviceFile  string `mapstructure:"device_file"`  // qq miraigo
	SignServer  string `mapstructure:"sign_server"`  // qq miraigo
	Path        string `mapstructure:"path"`         // file
}

// Rate paces one account's sends.
type Rate struct {
	// PerMinute is the most sends in any 60 seconds.
	PerMinute int `mapstructure:"per_minute"`
	// MinGap and MaxGap, when set, space consecutive sends by a random
	// duration between them (jitter against burst detection).
	MinGap time.Duration `mapstructure:"min_gap"`
	MaxGap time.Duration `mapstructure:"max_gap"`
}

// Source is an intake channel besides HTTP.
type Source struct {
	Name          string   `mapstructure:"name"`
	Driver        string   `mapstructure:"driver"` // dingtalk-stream
	ClientID      string   `mapstructure:"client_id"`
	ClientSecret  Secret   `mapstructure:"client_secret"`
	Conversations []string `mapstructure:"conversations"` // admin groups whose @-messages may announce
	Senders       []string `mapstructure:"senders"`       // allowed staff ids; empty = anyone in those groups
	BaseURL       string   `mapstructure:"base_url"`      // the stream gateway (tests redirect it)
}

// Policy is a named set of operating rules.
type Policy struct {
	Name string `mapstructure:"name"`
	// Windows are local "HH:MM-HH:MM" ranges (may cross midnight); non-urgent
	// sends happen only inside them. Empty: any time.
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
	New    int `mapstructure:"new"`
	Mature int `mapstructure:"mature"`
}

// Rule is one content rule: exactly one of Preset, Terms, Pattern.
type Rule struct {
	Name    string   `mapstructure:"name"` // shown in reasons and metrics; default derived
	Preset  string   `mapstructure:"preset"`
	Terms   []string `mapstructure:"terms"`
	Pattern string   `mapstructure:"pattern"` // RE2
	Action  string   `mapstructure:"action"`  // block | mask | review
}

// Mix is the content mix limit per group over a rolling window.
type Mix struct {
	Promotion   float64       `mapstructure:"promotion"`
	Interaction float64       `mapstructure:"interaction"`
	Window      time.Duration `mapstructure:"window"`
	Action      string        `mapstructure:"action"` // defer (default) | block
}

// Route matches announcements and lists where they go.
type Route struct {
	Name    string        `mapstructure:"name"`
	Match   Match         `mapstructure:"match"`
	Policy  string        `mapstructure:"policy"`
	Targets []RouteTarget `mapstructure:"targets"`
}

// Match: every key given must match; within a key, any value matches.
// An empty match matches every announcement.
type Match struct {
	Tags       []string `mapstructure:"tags"`
	Categories []string `mapstructure:"categories"`
	Priorities []string `mapstructure:"priorities"`
}

// RouteTarget is one account of a route, and the groups it sends to.
type RouteTarget struct {
	Account string  `mapstructure:"account"`
	Style   string  `mapstructure:"style"` // short | long | formal; default by platform
	Groups  []Group `mapstructure:"groups"`
	// Style options (SPEC §5).
	MaxChars     int    `mapstructure:"max_chars"`
	Template     string `mapstructure:"template"`
	TemplateFile string `mapstructure:"template_file"`
	Salutation   string `mapstructure:"salutation"`
	Closing      string `mapstructure:"closing"`
	Signature    string `mapstructure:"signature"`
}

// Group is a target group: a plain string in YAML, or {id, stage}.
type Group struct {
	ID    string `mapstructure:"id"`
	Stage string `mapstructure:"stage"` // new | mature; default by mature_after
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
