package console

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/groupcast/groupcast/configs"
)

// cfgEngine answers Config alone: enough for the session code.
type cfgEngine struct {
	Engine
	cfg *configs.Config
}

func (e cfgEngine) Config() *configs.Config { return e.cfg }

func sessionConsole(now time.Time) (*Console, configs.Token) {
	tok := configs.Token{Name: "alice", Token: "alice-token", Role: configs.RoleAdmin}
	cfg := &configs.Config{}
	cfg.Server.Tokens = []configs.Token{tok, {Name: "bob", Token: "bob-token", Role: configs.RoleSender}}
	return &Console{eng: cfgEngine{cfg: cfg}, now: func() time.Time { return now }}, tok
}

func withCookie(v string) *http.Request {
	r, _ := http.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: v})
	return r
}

// FuzzSessionCookie: no cookie value but a signed one logs anybody in,
// and none makes the check panic. The seeds include a good session and
// edits of it.
func FuzzSessionCookie(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	c, tok := sessionConsole(now)
	key := tokenKey(tok)
	good := encodeSession(key, session{Name: "alice", Role: "admin", Print: fingerprint(key), Nonce: "n", Expires: now.Add(time.Hour).Unix()})
	if u, ok := c.sessionUser(withCookie(good)); !ok || u.Name != "alice" {
		f.Fatalf("a good session is refused: %+v", u)
	}
	payload, sig, _ := strings.Cut(good, ".")
	for _, s := range []string{"", ".", good + "x", payload + "." + sig[:len(sig)-2], "e30." + sig, payload, "x.y.z",
		strings.Replace(good, payload[:8], "eyJuIjoiYm9i", 1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		u, ok := c.sessionUser(withCookie(v))
		if ok && v != good {
			t.Fatalf("a forged session %q logs in as %+v", v, u)
		}
	})
}

// TestSessionBoundToToken: a session signed under another token's key, or
// naming another holder, is refused; a rotated token ends the session.
func TestSessionBoundToToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c, tok := sessionConsole(now)
	bobKey := tokenKey(configs.Token{Name: "bob", Token: "bob-token"})
	forged := encodeSession(bobKey, session{Name: "alice", Role: "admin", Print: fingerprint(bobKey), Expires: now.Add(time.Hour).Unix()})
	if _, ok := c.sessionUser(withCookie(forged)); ok {
		t.Fatal("bob's key signs alice in")
	}
	key := tokenKey(tok)
	good := encodeSession(key, session{Name: "alice", Role: "sender", Print: fingerprint(key), Expires: now.Add(time.Hour).Unix()})
	if u, ok := c.sessionUser(withCookie(good)); !ok || u.Role != configs.RoleAdmin {
		t.Fatalf("the role is the token's as configured now: %+v %v", u, ok)
	}
	c.eng.Config().Server.Tokens[0].Token = "rotated"
	if _, ok := c.sessionUser(withCookie(good)); ok {
		t.Fatal("a session outlives its token's rotation")
	}
}
