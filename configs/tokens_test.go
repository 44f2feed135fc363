package configs_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/groupcast/groupcast/configs"
)

func TestTokens(t *testing.T) {
	base := "store: {driver: memory}\naccounts: [{name: c, platform: qq, driver: console}]\nroutes: [{name: r, targets: [{account: c, groups: [\"1\"]}]}]\nserver:\n  tokens:\n"
	tests := []struct {
		name   string
		tokens string
		want   []configs.Token // when it loads
		errs   []string        // "path: message part", when it does not
	}{
		{name: "plain strings are admins", tokens: "    - one\n    - two\n",
			want: []configs.Token{{Name: "token-1", Token: "one", Role: "admin"}, {Name: "token-2", Token: "two", Role: "admin"}}},
		{name: "named with roles", tokens: "    - {name: ci, token: t1, role: sender}\n    - {name: li, token: t2, role: reviewer}\n    - {name: ops, token: t3, role: admin}\n",
			want: []configs.Token{{Name: "ci", Token: "t1", Role: "sender"}, {Name: "li", Token: "t2", Role: "reviewer"}, {Name: "ops", Token: "t3", Role: "admin"}}},
		{name: "both shapes mixed", tokens: "    - plain\n    - {name: li, token: t2, role: reviewer}\n",
			want: []configs.Token{{Name: "token-1", Token: "plain", Role: "admin"}, {Name: "li", Token: "t2", Role: "reviewer"}}},
		{name: "unknown role", tokens: "    - {name: a, token: t1, role: admin}\n    - {name: b, token: t2, role: boss}\n",
			errs: []string{`server.tokens[1].role (line 7): unknown role "boss" (admin, sender, reviewer)`}},
		{name: "missing role and name", tokens: "    - {token: t1}\n",
			errs: []string{"server.tokens[0].role (line 6): required (admin, sender, reviewer)", "server.tokens[0].name (line 6): required"}},
		{name: "duplicate names", tokens: "    - {name: li, token: t1, role: sender}\n    - {name: li, token: t2, role: reviewer}\n",
			errs: []string{`server.tokens[1].name (line 7): duplicate token name "li" (first at server.tokens[0])`}},
		{name: "a named token clashing with a default name", tokens: "    - plain\n    - {name: token-1, token: t2, role: reviewer}\n",
			errs: []string{`server.tokens[1].name (line 7): duplicate token name "token-1"`}},
		{name: "empty tokens", tokens: "    - \"\"\n    - {name: li, token: \" \", role: sender}\n",
			errs: []string{"server.tokens[0] (line 6): empty token", "server.tokens[1].token (line 7): empty token"}},
		{name: "one token for two holders", tokens: "    - {name: a, token: same-value, role: sender}\n    - {name: b, token: same-value, role: admin}\n",
			errs: []string{"server.tokens[1].token (line 7): the same token as server.tokens[0]"}},
		{name: "unknown key", tokens: "    - {name: a, token: t, role: sender, rol: x}\n",
			errs: []string{"server.tokens[0].rol (line 6): unknown key (did you mean role?)"}},
		{name: "a list is not a token", tokens: "    - [a, b]\n",
			errs: []string{"server.tokens[0] (line 6): expected a token, or a mapping {name, token, role}"}},
		{name: "a bad name", tokens: "    - {name: \"li si\", token: t, role: sender}\n",
			errs: []string{"server.tokens[0].name (line 6): token names use only letters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := configs.LoadBytes([]byte(base+tt.tokens), "t.yaml", realOptions(nil))
			if tt.errs == nil {
				if err != nil {
					t.Fatalf("does not load: %v", err)
				}
				if len(cfg.Server.Tokens) != len(tt.want) {
					t.Fatalf("tokens = %d, want %d", len(cfg.Server.Tokens), len(tt.want))
				}
				for i, w := range tt.want {
					if got := cfg.Server.Tokens[i]; got != w {
						t.Errorf("tokens[%d] = {%s %s %s}, want {%s %s %s}", i, got.Name, got.Token.Reveal(), got.Role, w.Name, w.Token.Reveal(), w.Role)
					}
				}
				return
			}
			var ps *configs.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want problems, got %v", err)
			}
			for _, want := range tt.errs {
				if !strings.Contains(ps.Error(), want) {
					t.Errorf("want %q in:\n%v", want, ps)
				}
			}
			if strings.Contains(ps.Error(), "same-value") || strings.Contains(ps.Error(), "t1") {
				t.Errorf("a message shows a token:\n%v", ps)
			}
		})
	}
}

// TestTokensSummary: validate's summary names each token's holder and
// role, never its value.
func TestTokensSummary(t *testing.T) {
	y := "store: {driver: memory}\nserver:\n  tokens: [tok-value-1, {name: li, token: tok-value-2, role: reviewer}]\n"
	cfg, err := configs.LoadBytes([]byte(y), "t.yaml", realOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	sum := cfg.Summary()
	if !strings.Contains(sum, "2 token(s): token-1 (admin), li (reviewer), values hidden") {
		t.Errorf("summary:\n%s", sum)
	}
	if strings.Contains(sum, "tok-value") {
		t.Errorf("summary shows a token:\n%s", sum)
	}
}
