package configs_test

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/dingtalk"
	"github.com/groupcast/groupcast/adapters/qq"
	"github.com/groupcast/groupcast/adapters/qq/miraigo"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
)

// TestExampleLoads keeps example.yaml honest: it loads without a problem or
// a warning against the real driver table, and its values arrive decoded,
// expanded and defaulted, the driver's keys in the driver's config type.
func TestExampleLoads(t *testing.T) {
	var warns configs.Problems
	opt := realOptions(nil)
	opt.Warn = func(p configs.Problem) { warns = append(warns, p) }
	cfg, err := configs.Load("example.yaml", opt)
	if err != nil {
		t.Fatalf("example.yaml does not load:\n%v", err)
	}
	if len(warns) > 0 {
		t.Errorf("example.yaml has warnings:\n%v", warns)
	}

	used := map[string]bool{}
	for _, a := range cfg.Accounts {
		used[a.Driver] = true
	}
	for _, d := range registry.Drivers {
		if !used[d.Name] {
			t.Errorf("example.yaml has no account with driver %s", d.Name)
		}
	}
	if len(cfg.Sources) == 0 {
		t.Error("example.yaml has no source")
	}

	acc := func(name string) *configs.Account {
		t.Helper()
		a, ok := cfg.Account(name)
		if !ok {
			t.Fatalf("no account %s", name)
		}
		return a
	}
	legacy := settings[miraigo.Config](t, acc("qq-legacy"))
	onebot := settings[qq.OneBotConfig](t, acc("qq-main"))
	hook := settings[dingtalk.WebhookConfig](t, acc("ops-robot"))
	checks := []struct {
		what      string
		got, want any
	}{
		{"token expanded", cfg.Server.Tokens[0].Token.Reveal(), "tok-example"},
		{"max_body", cfg.Server.MaxBody, configs.ByteSize(1 << 20)},
		{"store max_bytes", cfg.Store.MaxBytes, configs.ByteSize(1 << 30)},
		{"shutdown", cfg.Server.ShutdownTimeout, 10 * time.Second},
		{"location", cfg.Location.String(), "Asia/Shanghai"},
		{"uin from env", legacy.UIN, int64(123456)},
		{"onebot default url", onebot.BaseURL, "http://127.0.0.1:3000"},
		{"onebot forward", onebot.Forward, true},
		{"explicit rate", acc("ops-robot").Rate.PerMinute, 18},
		{"default rate", acc("wecom-robot").Rate.PerMinute, 20},
		{"gaps", acc("wx-ops").Rate, configs.Rate{PerMinute: 10, MinGap: 3 * time.Second, MaxGap: 5 * time.Second, Margin: configs.DefaultRateMargin}},
		{"margin", acc("ops-robot").Rate.Margin, 2 * time.Second},
		{"secret expanded", hook.Secret.Reveal(), "SECdt"},
		{"secrets set", acc("ops-robot").Settings.SecretsSet(), []string{"access_token", "secret"}},
		{"webhook group is the account", cfg.Routes[0].Targets[0].Groups, []configs.Group{{ID: "ops-robot"}}},
		{"openapi style default", cfg.Routes[0].Targets[1].Style, "formal"},
		{"group with stage", cfg.Routes[0].Targets[2].Groups[1], configs.Group{ID: "987654321", Stage: "mature"}},
		{"numeric group as text", cfg.Routes[0].Targets[5].Groups[0].ID, "555666777"},
		{"wechat style default", cfg.Routes[0].Targets[4].Style, "short"},
		{"qq style default", cfg.Routes[0].Targets[5].Style, "long"},
		{"rule names", []string{cfg.Policies[0].Rules[0].Name, cfg.Policies[0].Rules[1].Name, cfg.Policies[0].Rules[2].Name}, []string{"ad-law", "internal-only", "default/pattern#3"}},
		{"mix", cfg.Policies[0].Mix, configs.Mix{Promotion: 0.10, Interaction: 0.20, Window: 168 * time.Hour, Action: "defer"}},
		{"mature_after", cfg.Policies[0].MatureAfter, 720 * time.Hour},
		{"path", cfg.Path, "example.yaml"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.what, c.got, c.want)
		}
	}
	tmpl, err := os.ReadFile("templates/wechat-short.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Routes[0].Targets[4].Template; got != string(tmpl) {
		t.Errorf("template_file not read into Template: %q", got)
	}
	if p, ok := cfg.PolicyByName("night-ops"); !ok || p.Windows[0] != "22:00-06:00" {
		t.Errorf("PolicyByName(night-ops) = %v, %v", p, ok)
	}
	if _, ok := cfg.PolicyByName("nope"); ok {
		t.Error("PolicyByName found a policy that does not exist")
	}
}

// settings decodes an account's driver keys as its driver does.
func settings[C any](t *testing.T, a *configs.Account) C {
	t.Helper()
	c, err := adapters.Settings[C](*a, a.Driver)
	if err != nil {
		t.Fatalf("%s: %v", a.Name, err)
	}
	return c
}

// TestExampleShowsEveryKey fails when a key is added to the structs (the
// config's, or a driver's config type) but not to example.yaml (in use or
// in a comment).
func TestExampleShowsEveryKey(t *testing.T) {
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, path string)
	var missing []string
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] || typ == reflect.TypeFor[time.Location]() {
			return
		}
		seen[typ] = true
		for key, f := range configs.StructFields(typ) {
			re := regexp.MustCompile(`(?m)(^|[\s{,#])` + regexp.QuoteMeta(key) + `:`)
			if !re.Match(data) {
				missing = append(missing, configs.JoinKey(path, key))
			}
			walk(f.Type, configs.JoinKey(path, key))
		}
	}
	walk(reflect.TypeFor[configs.Config](), "")
	for _, d := range registry.Drivers {
		if d.Settings != nil {
			walk(d.Settings, "accounts[driver "+d.Name+"]")
		}
	}
	if len(missing) > 0 {
		t.Errorf("example.yaml never shows: %s", strings.Join(missing, ", "))
	}
}

func TestDefaultConfig(t *testing.T) {
	var warns configs.Problems
	opt := realOptions(nil)
	opt.Warn = func(p configs.Problem) { warns = append(warns, p) }
	cfg, err := configs.Load("", opt)
	if err != nil {
		t.Fatalf("the built-in demo does not load:\n%v", err)
	}
	if len(warns) > 0 {
		t.Errorf("the demo has warnings:\n%v", warns)
	}
	if cfg.Path != "" || cfg.Store.Driver != "embedded" || cfg.Store.Dir != "./data" ||
		cfg.Server.Listen != "127.0.0.1:8780" || len(cfg.Server.Tokens) != 0 || len(cfg.Policies) != 0 {
		t.Errorf("demo basics wrong: %+v", cfg)
	}
	platforms := map[string]bool{}
	for _, a := range cfg.Accounts {
		if a.Driver != "console" {
			t.Errorf("demo account %s uses driver %s", a.Name, a.Driver)
		}
		platforms[a.Platform] = true
	}
	if len(platforms) != 3 {
		t.Errorf("demo covers platforms %v, want all three", platforms)
	}
	if len(cfg.Routes) != 1 || len(cfg.Routes[0].Targets) != 3 || cfg.Routes[0].Policy != "" {
		t.Fatalf("demo routes: %+v", cfg.Routes)
	}
	for _, tg := range cfg.Routes[0].Targets {
		a, _ := cfg.Account(tg.Account)
		d, _ := registry.Lookup(a.Platform, a.Driver)
		if tg.Style != d.Platform.DefaultStyle || tg.Style == "" || len(tg.Groups) == 0 {
			t.Errorf("demo target %+v", tg)
		}
	}
	// The demo loads without a catalog too (tests of other packages).
	if _, err := configs.Load("", configs.Options{}); err != nil {
		t.Errorf("demo without catalog: %v", err)
	}
	d := configs.Default()
	d[0] = 'X'
	if configs.Default()[0] == 'X' {
		t.Error("Default() returns the embedded bytes themselves")
	}
}
