package configs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadBytes: no input panics; a refused file explains itself with at
// least one error, each with a message; an accepted one is complete.
func FuzzLoadBytes(f *testing.F) {
	f.Add(Default())
	if b, err := os.ReadFile("example.yaml"); err == nil {
		f.Add(b)
	}
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "{}", "[]", "null", "~", ":", "- - -", "a: &x [*x]", "x: !!binary AAAA",
		"accounts: [{name: a, platform: qq, driver: console}]\nroutes: [{name: r, targets: [{account: a, groups: [1, {id: 2}]}]}]",
		"routes: [{targets: [{account: a}]}]\naccounts: {}",
		"server: {tokens: [${X}]}", "a: ${", "policies: [{windows: [\"23:59-24:00\"], rules: [{pattern: \"[\"}]}]",
		"store: {max_bytes: 99999999999999999999TiB}", "delivery: {backoff: 9999999999h}",
		"accounts:\n  - <<: {name: a}\n    platform: qq\n    driver: console",
	} {
		f.Add([]byte(s))
	}
	opt := testOptions(map[string]string{"X": "x"})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := LoadBytes(data, "fuzz.yaml", opt)
		if err != nil {
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is not *Problems: %T %v", err, err)
			}
			if len(ps.Errors()) == 0 {
				t.Fatalf("refused without an error: %v", ps)
			}
			for _, p := range *ps {
				if p.Message == "" || strings.Contains(p.Message, "\n") {
					t.Fatalf("bad message %q", p.Message)
				}
			}
			return
		}
		if cfg.Location == nil || cfg.Server.Listen == "" || cfg.Store.Driver == "" || cfg.Delivery.MaxAttempts == 0 {
			t.Fatalf("accepted config misses defaults: %+v", cfg)
		}
		_ = cfg.Summary()
	})
}

// FuzzExpand: no panic; text without "${" is untouched.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"", "${A}", "$${A}", "${A:-b}", "${", "$", "${}}", "${A:-${B}}", "a$b${C}d"} {
		f.Add(s)
	}
	env := testEnv(map[string]string{"A": "x"})
	f.Fuzz(func(t *testing.T, s string) {
		out, changed, _ := expand(s, env)
		if !strings.Contains(s, "${") && (out != s || changed) {
			t.Fatalf("expand(%q) = %q, %v", s, out, changed)
		}
	})
}

func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"1MiB", "512KiB", "1MB", "2048", "1.5KiB", "0.1B", "", "MiB", "1e9", "9999999999999TiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseByteSize(s)
		if err == nil && b < 0 {
			t.Fatalf("ParseByteSize(%q) = %d", s, b)
		}
	})
}
