package configs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 11 item 10: viper lowercases keys, so `Timezone:` or `ACCOUNTS:`
// used to validate. Keys that differ from a real key only in case are
// unknown keys now, with a hint, at every depth and in a driver's keys.
func TestKeysAreExact(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // "path (line N): message" substrings, each must appear
	}{
		{"top level", "Timezone: UTC\n", []string{"Timezone (line 1): unknown key (keys are lower case: did you mean timezone?)"}},
		{"a section", "ACCOUNTS: []\n", []string{"ACCOUNTS (line 1): unknown key (keys are lower case: did you mean accounts?)"}},
		{"nested", "server:\n  Listen: 127.0.0.1:1\n", []string{"server.Listen (line 2): unknown key (keys are lower case: did you mean listen?)"}},
		{"in a list", "accounts:\n  - name: a\n    Platform: qq\n    driver: console\n",
			[]string{"accounts[0].Platform (line 3): unknown key (keys are lower case: did you mean platform?)"}},
		{"a driver's key", "accounts:\n  - {name: a, platform: qq, driver: onebot, Base_URL: \"http://127.0.0.1:1\"}\nroutes: [{name: r, targets: [{account: a, groups: [\"1\"]}]}]\n",
			[]string{"accounts[0].Base_URL (line 2): unknown key (keys are lower case: did you mean base_url?)"}},
		{"in an anchor", "x-qq: &qq {Platform: qq}\naccounts:\n  - <<: *qq\n    name: a\n    driver: console\n",
			[]string{"x-qq.Platform (line 1): unknown key (keys are lower case: did you mean platform?)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes([]byte(tt.src), "t.yaml", testOptions(nil))
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Fatalf("accepted: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(ps.Error(), w) {
					t.Errorf("want %q in:\n%v", w, ps)
				}
			}
		})
	}
	// The same file in lower case loads.
	if _, err := LoadBytes([]byte("timezone: UTC\nserver:\n  listen: 127.0.0.1:1\n"), "t.yaml", testOptions(nil)); err != nil {
		t.Errorf("lower case: %v", err)
	}
}

// A second YAML document used to be ignored silently; it is an error now,
// on its line. An empty one (a trailing ---) is not.
func TestOneDocument(t *testing.T) {
	tests := []struct {
		src  string
		line int // 0: loads
	}{
		{"org: a\n---\norg: b\n", 3},
		{"org: a\n---\n\n# a note\n---\naccounts: []\n", 6},
		{"org: a\n---\n", 0},
		{"org: a\n...\n", 0},
		{"---\norg: a\n", 0},
		{"org: a\n---\n~\n", 0},
	}
	for _, tt := range tests {
		_, err := LoadBytes([]byte(tt.src), "t.yaml", testOptions(nil))
		var ps *Problems
		switch {
		case tt.line == 0 && err != nil && (!errors.As(err, &ps) || len(ps.Errors()) > 0):
			t.Errorf("%q: %v", tt.src, err)
		case tt.line > 0 && (!errors.As(err, &ps) || len(*ps) != 1 || (*ps)[0].Line != tt.line ||
			!strings.Contains((*ps)[0].Message, "a second YAML document")):
			t.Errorf("%q: want one problem on line %d, got %v", tt.src, tt.line, err)
		}
	}
}

// template_file is read only from the config file's directory or below:
// no "..", no absolute path elsewhere, no symlink that leads out (issue 11
// item 8: `template_file: ../../../etc/hostname` was read into messages).
func TestTemplateFileIsConfined(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "conf")
	outside := filepath.Join(root, "secret.txt")
	write := func(name, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "t.tmpl"), "in {{.Title}}")
	write(filepath.Join(dir, "sub", "t.tmpl"), "sub {{.Title}}")
	write(outside, "TOP-SECRET")
	if err := os.Symlink(outside, filepath.Join(dir, "leak.tmpl")); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	if err := os.Symlink(filepath.Join(dir, "sub", "t.tmpl"), filepath.Join(dir, "ok-link.tmpl")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(root, filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file string
		want string // "" loads; else a substring of the problem on template_file
	}{
		{"t.tmpl", ""},
		{"sub/t.tmpl", ""},
		{"./sub/../t.tmpl", ""},
		{filepath.Join(dir, "t.tmpl"), ""},
		{"ok-link.tmpl", ""},
		{"../secret.txt", "outside"},
		{"sub/../../secret.txt", "outside"},
		{outside, "outside"},
		{"/etc/hostname", "outside"},
		{"leak.tmpl", "leads outside through a symlink"},
		{"up/secret.txt", "leads outside through a symlink"},
		{"missing.tmpl", "cannot read missing.tmpl"},
	}
	for _, tt := range tests {
		src := "accounts: [{name: a, platform: qq, driver: console}]\n" +
			"routes: [{name: r, targets: [{account: a, template_file: \"" + tt.file + "\"}]}]\n"
		cfgPath := filepath.Join(dir, "groupcast.yaml")
		write(cfgPath, src)
		cfg, err := Load(cfgPath, testOptions(nil))
		var ps *Problems
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.file, err)
		case tt.want == "" && !strings.Contains(cfg.Routes[0].Targets[0].Template, "{{.Title}}"):
			t.Errorf("%s: template %q", tt.file, cfg.Routes[0].Targets[0].Template)
		case tt.want != "" && !errors.As(err, &ps):
			t.Errorf("%s: accepted", tt.file)
		case tt.want != "":
			p := (*ps)[0]
			if len(*ps) != 1 || p.Path != "routes[0].targets[0].template_file" || !strings.Contains(p.Message, tt.want) {
				t.Errorf("%s: %v, want %q on routes[0].targets[0].template_file", tt.file, ps, tt.want)
			}
			if strings.Contains(ps.Error(), "TOP-SECRET") {
				t.Errorf("%s: the file outside was read into a message", tt.file)
			}
		}
	}
}
