package configs

import (
	"errors"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	env := testEnv(map[string]string{"A": "alpha", "B": "b:#{}[]\n- x"})
	tests := []struct {
		in, want string
		errs     []string
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "alpha"},
		{in: "x-${A}-y-${A}", want: "x-alpha-y-alpha"},
		{in: "${B}", want: "b:#{}[]\n- x"},
		{in: "${UNSET}", errs: []string{"UNSET is not set"}},
		{in: "${UNSET:-fallback}", want: "fallback"},
		{in: "${EMPTY:-fallback}", want: "fallback"},
		{in: "${EMPTY}", want: ""},
		{in: "${A:-fallback}", want: "alpha"},
		{in: "${UNSET:-}", want: ""},
		{in: "${UNSET:-a:-b}", want: "a:-b"},
		{in: "$${A}", want: "${A}"},
		{in: "$$${A}", want: "$${A}"}, // only $${ is an escape, read left to right
		{in: "cost $5 and $A", want: "cost $5 and $A"},
		{in: "(?i)foo$", want: "(?i)foo$"},
		{in: "${A", want: "${A", errs: []string{"unterminated"}},
		{in: "${}", errs: []string{"not a variable name"}},
		{in: "${1A}", errs: []string{"not a variable name"}},
		{in: "${A B}", errs: []string{"not a variable name"}},
		{in: "${UNSET} ${ALSO_UNSET}", want: " ", errs: []string{"UNSET is not set", "ALSO_UNSET is not set"}},
	}
	for _, tt := range tests {
		got, _, errs := expand(tt.in, env)
		if len(tt.errs) == 0 && got != tt.want {
			t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(errs) != len(tt.errs) {
			t.Errorf("expand(%q) errors %q, want %q", tt.in, errs, tt.errs)
			continue
		}
		for i := range errs {
			if !strings.Contains(errs[i].msg, tt.errs[i]) {
				t.Errorf("expand(%q) error %q, want it to contain %q", tt.in, errs[i], tt.errs[i])
			}
		}
	}
}

// TestExpandAfterParsing: a value with YAML syntax in it stays one value,
// numbers and booleans come from text, and keys are never expanded.
func TestExpandAfterParsing(t *testing.T) {
	tricky := "p@ss: #word\n- [x]\n\"quoted\" {y}"
	src := `
server:
  tokens: ["${TRICKY}", "literal $${NOT_A_VAR}"]
accounts:
  - {name: bot, platform: qq, driver: onebot, base_url: "${URL:-http://127.0.0.1:3000}", forward: "${FWD}", part_chars: "${CHARS}"}
routes:
  - {name: r, targets: [{account: bot, groups: ["${GROUP}"]}]}
`
	opt := testOptions(map[string]string{"TRICKY": tricky, "FWD": "true", "CHARS": "900", "GROUP": "42"})
	cfg, err := LoadBytes([]byte(src), "t.yaml", opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Server.Tokens[0].Token.Reveal(); got != tricky {
		t.Errorf("token = %q, want %q", got, tricky)
	}
	if got := cfg.Server.Tokens[1].Token.Reveal(); got != "literal ${NOT_A_VAR}" {
		t.Errorf("literal = %q", got)
	}
	var a testOneBot
	if err := DecodeSettings(cfg.Accounts[0].Settings, "onebot", &a); err != nil {
		t.Fatal(err)
	}
	if a.BaseURL != "http://127.0.0.1:3000" || !a.Forward || a.PartChars != 900 || cfg.Routes[0].Targets[0].Groups[0].ID != "42" {
		t.Errorf("account %+v, groups %+v", a.BaseURL, cfg.Routes[0].Targets[0].Groups)
	}

	_, err = LoadBytes([]byte("\"${SET}\": 1\n"), "t.yaml", opt)
	var ps *Problems
	if !errors.As(err, &ps) || !strings.Contains(ps.Error(), "${set} (line 1): unknown key") {
		t.Errorf("a key is expanded or accepted: %v", err)
	}
}
