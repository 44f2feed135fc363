package configs

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// Tracking configures tracked links and click counting.
type Tracking struct {
	// BaseURL is the public address that reaches this daemon's /l/
	// handler, directly or through a proxy (https://gc.example.com, or
	// with a path prefix the proxy strips). Set, every link in a sent text
	// becomes <base_url>/l/<code>. Empty (the default): links are sent as
	// written and nothing is counted.
	BaseURL string `mapstructure:"base_url"`
	// TrustedProxies are the proxies (CIDR blocks such as 10.0.0.0/8, or
	// single addresses) whose X-Forwarded-For and X-Real-IP headers name
	// the client of a click. A request from any other peer is known by
	// its connection's address, whatever headers it sends. Empty (the
	// default): no proxy is trusted.
	TrustedProxies []string `mapstructure:"trusted_proxies"`
	// Proxies are TrustedProxies parsed (set by validation).
	Proxies []netip.Prefix `mapstructure:"-"`
}

// Enabled reports whether links are tracked.
func (t Tracking) Enabled() bool { return t.BaseURL != "" }

func (v *validator) trackingCheck() {
	t := &v.cfg.Tracking
	t.Proxies = nil
	for i, s := range t.TrustedProxies {
		p, err := ParseProxy(s)
		if err != nil {
			v.c.add(fmt.Sprintf("tracking.trusted_proxies[%d]", i), "%v", err)
			continue
		}
		t.Proxies = append(t.Proxies, p)
	}
	t.BaseURL = strings.TrimSpace(t.BaseURL)
	if t.BaseURL == "" {
		return
	}
	u, err := url.Parse(t.BaseURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil:
		v.c.add("tracking.base_url", "must be an absolute http(s) URL such as https://gc.example.com")
		return
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(t.BaseURL, "#"):
		v.c.add("tracking.base_url", "must have no query or fragment: tracked links are <base_url>/l/<code>")
		return
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		v.c.warn("tracking.base_url", "http: the links go out in clear text; use https unless a proxy in front of it terminates TLS")
	}
	t.BaseURL = strings.TrimRight(t.BaseURL, "/")
}

// ParseProxy reads one trusted proxy: a CIDR block (10.0.0.0/8,
// fd00::/8) or a single address (192.0.2.7, the same as /32). The block
// is masked to its prefix; an IPv4 address written in IPv6 form
// (::ffff:10.0.0.1) is taken as IPv4.
func ParseProxy(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("empty: want a CIDR block such as 10.0.0.0/8 or an address")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR block such as 10.0.0.0/8 or fd00::/8", s)
		}
		if p.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: a zone is not allowed", s)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or a CIDR block such as 10.0.0.0/8", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
