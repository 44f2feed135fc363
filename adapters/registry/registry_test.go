package registry_test

import (
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/registry"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/policy"
	"github.com/groupcast/groupcast/transform"
)

func options() configs.Options {
	opt := registry.Options()
	opt.CheckTemplate = transform.CheckTemplate
	opt.CheckPolicy = func(p configs.Policy, loc *time.Location) error {
		_, err := policy.Compile(p, loc)
		return err
	}
	// Every ${VAR} gets a canary value: none may be printed.
	opt.LookupEnv = func(name string) (string, bool) {
		switch name {
		case "DT_SECRET":
			return "SECCANARY-" + name, true
		case "ONEBOT_URL":
			return "http://127.0.0.1:3000", true
		case "QQ_UIN":
			return "10001", true
		}
		return "CANARY-" + name, true
	}
	return opt
}

// The example config shows every driver and key: it must load against the
// real driver table, so it cannot rot.
func TestExampleConfigLoads(t *testing.T) {
	var warnings []configs.Problem
	opt := options()
	opt.Warn = func(p configs.Problem) { warnings = append(warnings, p) }
	cfg, err := configs.Load("../../configs/example.yaml", opt)
	if err != nil {
		t.Fatalf("example.yaml: %v", err)
	}
	seen := map[string]bool{}
	for _, a := range cfg.Accounts {
		seen[a.Platform+"/"+a.Driver] = true
		d, ok := registry.Lookup(a.Platform, a.Driver)
		if !ok {
			t.Fatalf("%s: no driver", a.Name)
		}
		// Building a sender does no I/O and must accept the example.
		if _, err := d.New(a, adapters.Env{}.WithDefaults()); err != nil {
			t.Errorf("%s: %v", a.Name, err)
		}
	}
	for _, d := range registry.Drivers {
		found := false
		for k := range seen {
			found = found || strings.HasSuffix(k, "/"+d.Name)
		}
		if !found {
			t.Errorf("example.yaml has no account with driver %s", d.Name)
		}
	}
	if s := cfg.Summary(); strings.Contains(s, "CANARY") {
		t.Errorf("summary prints a secret:\n%s", s)
	}
	for _, w := range warnings {
		if strings.Contains(w.String(), "CANARY") {
			t.Errorf("warning prints a secret: %s", w)
		}
	}
}

func TestDefaultConfigLoads(t *testing.T) {
	cfg, err := configs.Load("", options())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Accounts) != 3 || cfg.Store.Driver != "embedded" {
		t.Errorf("demo config: %d accounts, store %s", len(cfg.Accounts), cfg.Store.Driver)
	}
}

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		platform, driver string
		ok               bool
	}{
		{"dingtalk", "webhook", true}, {"wechat", "webhook", false}, {"qq", "onebot", true},
		{"wechat", "wecom", true}, {"qq", "console", true}, {"any", "console", false}, {"qq", "nope", false},
		{"qq", "miraigo", true}, {"dingtalk", "miraigo", false},
	} {
		if _, ok := registry.Lookup(c.platform, c.driver); ok != c.ok {
			t.Errorf("Lookup(%s, %s) = %v", c.platform, c.driver, ok)
		}
	}
}
