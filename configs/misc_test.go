package configs

import (
	"errors"
	"os"
	"path/filepath"
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

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in   string
		want Window
		ok   bool
	}{
		{"08:00-09:30", Window{480, 570}, true},
		{"22:00-06:00", Window{1320, 360}, true},
		{"00:00-24:00", Window{0, 1440}, true},
		{" 12:00 - 14:00 ", Window{720, 840}, true},
		{"09:00-09:00", Window{}, false},
		{"24:00-06:00", Window{}, false},
		{"8:00-9:00", Window{}, false},
		{"08:00-25:00", Window{}, false},
		{"08:60-09:00", Window{}, false},
		{"08:00", Window{}, false},
		{"+8:00-09:00", Window{}, false},
	}
	for _, tt := range tests {
		got, err := ParseWindow(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseWindow(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	night := Window{1320, 360}
	for m, want := range map[int]bool{1319: false, 1320: true, 0: true, 359: true, 360: false, 720: false} {
		if night.Contains(m) != want {
			t.Errorf("22:00-06:00 contains %d = %v", m, !want)
		}
	}
	day := Window{480, 570}
	for m, want := range map[int]bool{479: false, 480: true, 569: true, 570: false} {
		if day.Contains(m) != want {
			t.Errorf("08:00-09:30 contains %d = %v", m, !want)
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

// TestCatalogOptions: without a catalog nothing is checked per driver; with
// DriverNames the message lists its names; CheckAccount messages land on
// the field they name.
func TestCatalogOptions(t *testing.T) {
	src := []byte(`
accounts:
  - {name: a, platform: qq, driver: anything, whatever_key: 1}
routes:
  - {name: r, targets: [{account: a}]}
`)
	_, err := LoadBytes(src, "t.yaml", Options{LookupEnv: testEnv(nil)})
	var ps *Problems
	if !errors.As(err, &ps) || len(*ps) != 1 || (*ps)[0].Path != "accounts[0].whatever_key" {
		t.Errorf("nil catalog should only report the unknown key: %v", err)
	}

	opt := testOptions(nil)
	opt.DriverNames = func(string) []string { return []string{"alpha", "beta"} }
	_, err = LoadBytes([]byte("accounts: [{name: a, platform: qq, driver: gamma}]"), "t.yaml", opt)
	if !errors.As(err, &ps) || !strings.Contains(ps.Error(), "valid: alpha, beta") {
		t.Errorf("DriverNames not used: %v", err)
	}

	opt = testOptions(nil)
	opt.Catalog = func(platform, driver string) (DriverSpec, bool) {
		return DriverSpec{Fields: []string{"uin"}, CheckAccount: func(a Account) []string {
			return []string{"uin: must be a real QQ number", "the account is cursed"}
		}}, true
	}
	_, err = LoadBytes([]byte("accounts: [{name: a, platform: qq, driver: x, uin: 1}]\nroutes: [{name: r, targets: [{account: a}]}]"), "t.yaml", opt)
	want := "accounts[0] (line 1): the account is cursed\naccounts[0].uin (line 1): must be a real QQ number"
	if !errors.As(err, &ps) || ps.Error() != want {
		t.Errorf("CheckAccount messages:\n%v\nwant:\n%s", err, want)
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
