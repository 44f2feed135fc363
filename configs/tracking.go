package configs

import (
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
}

// Enabled reports whether links are tracked.
func (t Tracking) Enabled() bool { return t.BaseURL != "" }

func (v *validator) trackingCheck() {
	t := &v.cfg.Tracking
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
