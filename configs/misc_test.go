package configs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"1MiB", 1 << 20, true},
		{"512KiB", 512 << 10, true},
		{"1MB", 1_000_000, true},
		{"1mb", 1_000_000, true},
		{"2048", 2048, true},
		{"2048B", 2048, true},
		{" 1 GiB ", 1 << 30, true},
		{"1.5KiB", 1536, true},
		{"0", 0, true},
		{"1.5B", 0, false},
		{"-1MiB", 0, false},
		{"lots", 0, false},
		{"1XB", 0, false},
		{"MiB", 0, false},
		{"99999999999TiB", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for _, tt := range []struct {
		in   any
		want ByteSize
		ok   bool
	}{{1024, 1024, true}, {int64(5), 5, true}, {-1, 0, false}, {1.5, 0, false}, {true, 0, false}} {
		got, err := toByteSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("toByteSize(%v) = %d, %v", tt.in, got, err)
		}
	}
}

func TestResolve(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv(EnvConfig, "")
	if got := Resolve(""); got != "" {
		t.Errorf("nothing set: %q, want the demo", got)
	}
	if err := os.WriteFile("groupcast.yaml", []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Resolve(""); got != "groupcast.yaml" {
		t.Errorf("./groupcast.yaml exists: %q", got)
	}
	t.Setenv(EnvConfig, "/etc/groupcast/env.yaml")
	if got := Resolve(""); got != "/etc/groupcast/env.yaml" {
		t.Errorf("env: %q", got)
	}
	if got := Resolve("flag.yaml"); got != "flag.yaml" {
		t.Errorf("flag: %q", got)
	}
}

func TestLoadFileErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), testOptions(nil))
	var ps *Problems
	if err == nil || errors.As(err, &ps) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte("org: "+strings.Repeat("x", MaxFileSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big, testOptions(nil)); !errors.As(err, &ps) || !strings.Contains(ps.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
}

// cursed is a driver config whose Check complains about a key and about
// the account as a whole.
type cursed struct {
	UIN int64 `mapstructure:"uin"`
}

func (cursed) Check() []string {
	return []string{"uin: must be a real QQ number", "the account is cursed"}
}

// TestCatalogOptions: without a catalog nothing is checked per driver (the
// driver's keys are kept in Settings); with DriverNames the message lists
// its names; Check messages land on the key they name.
func TestCatalogOptions(t *testing.T) {
	src := []byte(`
accounts:
  - {name: a, platform: qq, driver: anything, whatever_key: 1}
routes:
  - {name: r, targets: [{account: a}]}
`)
	cfg, err := LoadBytes(src, "t.yaml", Options{LookupEnv: testEnv(nil)})
	if err != nil {
		t.Fatalf("nil catalog: %v", err)
	}
	if m := cfg.Accounts[0].Settings.Map(); m["whatever_key"] != 1 || len(m) != 1 {
		t.Errorf("settings kept: %v", m)
	}
	if cfg.Routes[0].Targets[0].Style != FallbackStyle {
		t.Errorf("style without a table: %q", cfg.Routes[0].Targets[0].Style)
	}

	opt := testOptions(nil)
	opt.DriverNames = func(string) []string { return []string{"alpha", "beta"} }
	var ps *Problems
	_, err = LoadBytes([]byte("accounts: [{name: a, platform: qq, driver: gamma}]"), "t.yaml", opt)
	if !errors.As(err, &ps) || !strings.Contains(ps.Error(), "valid: alpha, beta") {
		t.Errorf("DriverNames not used: %v", err)
	}

	opt = testOptions(nil)
	opt.Catalog = func(platform, driver string) (DriverSpec, bool) {
		return DriverSpec{Settings: reflect.TypeFor[cursed]()}, true
	}
	_, err = LoadBytes([]byte("accounts: [{name: a, platform: qq, driver: x, uin: 1}]\nroutes: [{name: r, targets: [{account: a}]}]"), "t.yaml", opt)
	want := "accounts[0] (line 1): the account is cursed\naccounts[0].uin (line 1): must be a real QQ number"
	if !errors.As(err, &ps) || ps.Error() != want {
		t.Errorf("Check messages:\n%v\nwant:\n%s", err, want)
	}

	// Unknown platforms are refused with the table's list.
	_, err = LoadBytes([]byte("accounts: [{name: a, platform: feishu, driver: console}]"), "t.yaml", testOptions(nil))
	if !errors.As(err, &ps) || !strings.Contains(ps.Error(), `unknown platform "feishu"; valid: dingtalk, wechat, qq`) {
		t.Errorf("unknown platform: %v", err)
	}
}

// TestAnchors: top-level x- keys hold anchors and are otherwise ignored;
// merge keys work; other unknown top-level keys are still errors.
func TestAnchors(t *testing.T) {
	src := `
x-qq: &qq {platform: qq, driver: console}
accounts:
  - <<: *qq
    name: a
  - <<: *qq
    name: b
routes: [{name: r, targets: [{account: a}, {account: b}]}]
`
	cfg, err := LoadBytes([]byte(src), "t.yaml", testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Accounts[1].Platform != "qq" || cfg.Accounts[1].Name != "b" {
		t.Errorf("merge key not applied: %+v", cfg.Accounts)
	}
	_, err = LoadBytes([]byte("y-qq: 1\n"), "t.yaml", testOptions(nil))
	var ps *Problems
	if !errors.As(err, &ps) || !strings.Contains(ps.Error(), "y-qq (line 1): unknown key") {
		t.Errorf("y-qq accepted: %v", err)
	}
}
