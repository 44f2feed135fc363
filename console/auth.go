package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/groupcast/groupcast/configs"
)

// Cookies.
const (
	sessionCookie = "gc_session"
	// csrfCookie is the double-submit token of a browser with no session
	// (the login form, and every form when no tokens are configured).
	csrfCookie = "gc_csrf"
	langCookie = "gc_lang"
	// csrfField is the form field, and csrfHeader the header of the
	// script's requests, that carry the CSRF token.
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
)

// user is who uses the console: a token's holder, or the anonymous admin
// when no tokens are configured.
type user struct {
	Name string
	Role string
	// Open: no tokens are configured; nobody logs in.
	Open bool
	// csrf is the CSRF token forms must carry.
	csrf string
}

// may reports whether the user's role allows what needs role: admins may
// do everything, others what their role names (as the API decides).
func (u user) may(role string) bool {
	return u.Role == configs.RoleAdmin || u.Role == role
}

// CanSend, CanReview are for the templates.
func (u user) CanSend() bool   { return u.may(configs.RoleSender) }
func (u user) CanReview() bool { return u.may(configs.RoleReviewer) }

// session is what the session cookie carries, signed: the token's holder
// and role, a fingerprint of the token (so a rotated token ends its
// sessions), a nonce the CSRF token is derived from, and the expiry.
type session struct {
	Name    string `json:"n"`
	Role    string `json:"r"`
	Print   string `json:"p"`
	Nonce   string `json:"c"`
	Expires int64  `json:"e"`
}

// tokenKey is the session key of one token: an HMAC of a fixed label
// under the token. Every replica with the same config derives the same
// key; removing or rotating the token invalidates its sessions, and the
// key tells nothing about the token.
func tokenKey(tok configs.Token) []byte {
	m := hmac.New(sha256.New, []byte(tok.Token.Reveal()))
	m.Write([]byte("groupcast console session v1\x00" + tok.Name))
	return m.Sum(nil)
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

var b64 = base64.RawURLEncoding

// fingerprint names a token in a session without revealing it.
func fingerprint(key []byte) string { return b64.EncodeToString(mac(key, "fingerprint")[:12]) }

// encodeSession signs s under the token's key: payload "." signature.
func encodeSession(key []byte, s session) string {
	b, _ := json.Marshal(s)
	p := b64.EncodeToString(b)
	return p + "." + b64.EncodeToString(mac(key, "session", p))
}

// findToken answers the configured token whose value is tok, comparing
// with every token in constant time (as the API does).
func findToken(tokens []configs.Token, tok string) (configs.Token, bool) {
	found := -1
	for i, t := range tokens {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(t.Token.Reveal())) == 1 {
			found = i
		}
	}
	if found < 0 {
		return configs.Token{}, false
	}
	return tokens[found], true
}

// sessionUser reads and checks the session cookie against the tokens in
// force: a good signature under the named token's key, the token's
// fingerprint, not expired. The role is the token's current one.
func (c *Console) sessionUser(r *http.Request) (user, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return user{}, false
	}
	payload, sig, ok := strings.Cut(ck.Value, ".")
	if !ok {
		return user{}, false
	}
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return user{}, false
	}
	var s session
	if json.Unmarshal(raw, &s) != nil {
		return user{}, false
	}
	got, err := b64.DecodeString(sig)
	if err != nil {
		return user{}, false
	}
	for _, t := range c.eng.Config().Server.Tokens {
		if t.Name != s.Name {
			continue
		}
		key := tokenKey(t)
		if !hmac.Equal(got, mac(key, "session", payload)) || subtle.ConstantTimeCompare([]byte(s.Print), []byte(fingerprint(key))) != 1 {
			continue
		}
		if c.now().Unix() >= s.Expires {
			return user{}, false
		}
		return user{Name: t.Name, Role: t.Role, csrf: b64.EncodeToString(mac(key, "csrf", s.Nonce))}, true
	}
	return user{}, false
}

// secure reports whether the browser reached us over TLS (directly or
// through a proxy that says so): cookies are Secure then.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: secure(r),
		SameSite: http.SameSiteStrictMode}
	switch {
	case maxAge < 0:
		ck.MaxAge = -1
	case maxAge > 0:
		ck.MaxAge = int(maxAge.Seconds())
		ck.Expires = c.now().Add(maxAge)
	}
	http.SetCookie(w, ck)
}

// browserCSRF is the double-submit token of a browser without a session:
// the cookie's value, set now when missing.
func (c *Console) browserCSRF(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) >= 32 {
		return ck.Value
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	v := b64.EncodeToString(b[:])
	c.setCookie(w, r, csrfCookie, v, 0)
	return v
}

type userKey struct{}

func userOf(r *http.Request) user {
	u, _ := r.Context().Value(userKey{}).(user)
	return u
}

// kind of answer a refused request gets.
const (
	asPage = iota // a page: redirect to the login
	asData        // a fragment, JSON or the event stream: 401
)

// authed wraps h: the user is found (open mode, or a good session), or a
// page redirects to the login and anything else answers 401.
func (c *Console) authed(kind int, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var u user
		if len(c.eng.Config().Server.Tokens) == 0 {
			u = user{Name: "anonymous", Role: configs.RoleAdmin, Open: true}
			u.csrf = c.browserCSRF(w, r)
		} else {
			var ok bool
			if u, ok = c.sessionUser(r); !ok {
				if _, had := r.Cookie(sessionCookie); had == nil {
					c.setCookie(w, r, sessionCookie, "", -1)
				}
				if kind == asPage && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
					http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				c.fail(w, r, http.StatusUnauthorized, "err_login_needed", "")
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	}
}

// checkCSRF refuses a state-changing request whose CSRF token (form field
// or header) is not the user's, compared in constant time, or that a
// browser says came from another site.
func checkCSRF(r *http.Request, want string) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// acting wraps a state-changing handler: logged in, the CSRF token good,
// and the role allowed (role "" for any).
func (c *Console) acting(kind int, role string, h http.HandlerFunc) http.HandlerFunc {
	return c.authed(kind, func(w http.ResponseWriter, r *http.Request) {
		u := userOf(r)
		r.Body = http.MaxBytesReader(w, r.Body, c.maxBody())
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				c.fail(w, r, http.StatusRequestEntityTooLarge, "err_too_large", "")
				return
			}
			if r.Header.Get(csrfHeader) == "" {
				c.fail(w, r, http.StatusBadRequest, "err_input", err.Error())
				return
			}
			// With the token in the header, the handler reports the
			// malformed form naming its field.
		}
		if !checkCSRF(r, u.csrf) {
			c.fail(w, r, http.StatusForbidden, "err_csrf", "")
			return
		}
		if role != "" && !u.may(role) {
			c.fail(w, r, http.StatusForbidden, "err_role", role)
			return
		}
		h(w, r)
	})
}

func (c *Console) maxBody() int64 {
	if n := int64(c.eng.Config().Server.MaxBody); n > 0 {
		return n + 64<<10 // room for the form's other fields
	}
	return 1<<20 + 64<<10
}

// login shows the form (GET) or checks a token and starts a session
// (POST).
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		// Bounded before anything reads the form: this page needs no
		// login, so its body must not be the server's 10 MB default.
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				c.fail(w, r, http.StatusRequestEntityTooLarge, "err_too_large", "")
			} else {
				c.fail(w, r, http.StatusBadRequest, "err_input", err.Error())
			}
			return
		}
	}
	tokens := c.eng.Config().Server.Tokens
	next := safeNext(r.FormValue("next"))
	if len(tokens) == 0 {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	csrf := c.browserCSRF(w, r)
	data := map[string]any{"Next": next, "CSRF": csrf}
	if r.Method != http.MethodPost {
		c.render(w, r, http.StatusOK, "login", data)
		return
	}
	if !checkCSRF(r, csrf) {
		c.fail(w, r, http.StatusForbidden, "err_csrf", "")
		return
	}
	tok, ok := findToken(tokens, strings.TrimSpace(r.PostFormValue("token")))
	if !ok {
		data["Error"] = "err_bad_token"
		c.render(w, r, http.StatusUnauthorized, "login", data)
		return
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := tokenKey(tok)
	s := session{Name: tok.Name, Role: tok.Role, Print: fingerprint(key), Nonce: b64.EncodeToString(nonce[:]),
		Expires: c.now().Add(c.o.SessionTTL).Unix()}
	c.setCookie(w, r, sessionCookie, encodeSession(key, s), c.o.SessionTTL)
	c.log.Info("console login", "name", tok.Name, "role", tok.Role)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session (POST, with the CSRF token).
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	c.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect after login on this site: a local path only.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}
