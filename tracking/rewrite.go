package tracking

import (
	"net/url"
	"strings"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/store"
)

// Rewriter writes one target's links as tracked links and remembers what
// each code stands for. It is used by one render at a time.
type Rewriter struct {
	base   string // tracking.base_url, without a trailing slash
	secret []byte
	link   store.TrackedLink // the target's fields; URL set per link
	// Links are the codes written so far and what they stand for: store
	// them before the text goes out.
	Links map[string]store.TrackedLink
	// Keep, if set, names URLs to leave as written, never tracked: those a
	// mask or block rule hits, so that the rule treats them as it does
	// without tracking (a code would lead a click to what it hides).
	Keep func(url string) bool
}

// NewRewriter starts the tracked links of one target of an announcement.
func NewRewriter(baseURL string, secret []byte, announcement string, d groupcast.Destination) *Rewriter {
	return &Rewriter{
		base:   strings.TrimRight(baseURL, "/"),
		secret: secret,
		link: store.TrackedLink{Announcement: announcement, Target: d.Key(), Route: d.Route, Account: d.Account,
			Group: d.Group, Platform: d.Platform, Variant: d.Variant},
		Links: map[string]store.TrackedLink{},
	}
}

// URL is the link to write for u: <base_url>/l/<code> for an absolute
// http(s) URL, u itself for anything else (mailto:, a relative path), for
// a URL already under base_url and for a URL Keep names.
func (r *Rewriter) URL(u string) string {
	if !Trackable(u) || strings.HasPrefix(u, r.base+"/") || u == r.base || (r.Keep != nil && r.Keep(u)) {
		return u
	}
	code := Code(r.secret, r.link.Announcement, r.link.Target, u)
	l := r.link
	l.URL = u
	r.Links[code] = l
	return r.base + "/l/" + code
}

// Trackable reports whether u is an absolute http(s) URL with a host.
func Trackable(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}
