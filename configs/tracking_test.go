package configs

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

const trackingBase = `
store: {driver: memory}
accounts:
  - {name: c1, platform: qq, driver: console}
routes:
  - {name: all, targets: [{account: c1, groups: ["1"]}]}
`

func TestTrustedProxies(t *testing.T) {
	cfg, err := LoadBytes([]byte(trackingBase+`
tracking:
  base_url: https://gc.example.com
  trusted_proxies: ["10.0.0.0/8", "192.0.2.7", "fd00::/8", "::ffff:172.16.0.0/108", "10.1.2.3/16"]
`), filepath.Join(t.TempDir(), "groupcast.yaml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "fd00::/8", "172.16.0.0/12", "10.1.0.0/16"}
	got := make([]string, len(cfg.Tracking.Proxies))
	for i, p := range cfg.Tracking.Proxies {
		got[i] = p.String()
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("proxies %v, want %v", got, want)
	}
	none, err := LoadBytes([]byte(trackingBase), filepath.Join(t.TempDir(), "groupcast.yaml"), Options{})
	if err != nil || len(none.Tracking.Proxies) != 0 {
		t.Errorf("default: %v %v, want no proxy trusted", none.Tracking.Proxies, err)
	}
}

func TestTrustedProxiesProblems(t *testing.T) {
	tests := []struct{ yaml, path, msg string }{
		{`["10.0.0.0/33"]`, "tracking.trusted_proxies[0]", "CIDR"},
		{`["10.0.0.0/8", "proxy.local"]`, "tracking.trusted_proxies[1]", "proxy.local"},
		{`[""]`, "tracking.trusted_proxies[0]", "empty"},
		{`["fe80::1%eth0"]`, "tracking.trusted_proxies[0]", "fe80::1%eth0"},
		{`"10.0.0.0/8"`, "tracking.trusted_proxies", ""},
	}
	for _, tt := range tests {
		_, err := LoadBytes([]byte(trackingBase+"tracking: {trusted_proxies: "+tt.yaml+"}\n"), filepath.Join(t.TempDir(), "groupcast.yaml"), Options{})
		var ps *Problems
		if !errors.As(err, &ps) {
			t.Errorf("%s: %v, want problems", tt.yaml, err)
			continue
		}
		found := false
		for _, p := range *ps {
			if p.Path == tt.path && strings.Contains(p.Message, tt.msg) && p.Line > 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: want %s: …%s… with a line, got %v", tt.yaml, tt.path, tt.msg, err)
		}
	}
}

func FuzzParseProxy(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.7", "fd00::/8", "::ffff:10.0.0.1", "::ffff:172.16.0.0/108", "", "/", "1.2.3.4/", "fe80::1%eth0/64", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProxy(s)
		if err != nil {
			if !strings.Contains(err.Error(), "CIDR") && !strings.Contains(err.Error(), "zone") {
				t.Errorf("%q: error %q names no expected form", s, err)
			}
			return
		}
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			t.Errorf("%q: prefix %v not valid, masked, unmapped and zoneless", s, p)
		}
		if again, err := ParseProxy(p.String()); err != nil || again != p {
			t.Errorf("%q: %v does not read back: %v %v", s, p, again, err)
		}
	})
}
