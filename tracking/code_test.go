package tracking

import (
	"strings"
	"testing"
)

func TestCodeDeterministicAndDistinct(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	a := Code(secret, "maint-1", "qq.MTIz", "https://status.example.com/maint")
	if a != Code(secret, "maint-1", "qq.MTIz", "https://status.example.com/maint") {
		t.Fatal("the same link gave two codes")
	}
	if _, ok := ParseCode(a); !ok || len(a) != CodeLen {
		t.Fatalf("code %q does not parse", a)
	}
	seen := map[string]string{a: "base"}
	for name, c := range map[string]string{
		"other announcement": Code(secret, "maint-2", "qq.MTIz", "https://status.example.com/maint"),
		"other target":       Code(secret, "maint-1", "qq.NDU2", "https://status.example.com/maint"),
		"other url":          Code(secret, "maint-1", "qq.MTIz", "https://status.example.com/maint2"),
		"other secret":       Code([]byte("another secret"), "maint-1", "qq.MTIz", "https://status.example.com/maint"),
		"shifted separator":  Code(secret, "maint-1qq", ".MTIz", "https://status.example.com/maint"),
	} {
		if prev, dup := seen[c]; dup {
			t.Errorf("%s: same code as %s", name, prev)
		}
		seen[c] = name
	}
}

func TestParseCode(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"AbCdEf012345", true}, {"000000000000", true}, {"zzzzzzzzzzzz", true},
		{"", false}, {"AbCdEf01234", false}, {"AbCdEf0123456", false}, {"AbCdEf01234-", false},
		{"AbCdEf01234/", false}, {"AbCdEf01234é", false}, {"../../etc/pa", false}, {"AbCdEf 12345", false},
	} {
		if _, ok := ParseCode(c.in); ok != c.ok {
			t.Errorf("ParseCode(%q) = %v, want %v", c.in, ok, c.ok)
		}
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"AbCdEf012345", "", "x", "AbCdEf01234/", "%41bCdEf01234", "ＡbCdEf012345", strings.Repeat("a", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, ok := ParseCode(s)
		if !ok {
			return
		}
		if code != s || len(code) != CodeLen {
			t.Fatalf("ParseCode(%q) = %q", s, code)
		}
		for _, r := range code {
			if !strings.ContainsRune(base62, r) {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}

// Every code Code makes parses back, whatever it was made of.
func FuzzCodeParses(f *testing.F) {
	f.Add([]byte("k"), "a", "t", "https://x")
	f.Add([]byte{}, "", "", "")
	f.Fuzz(func(t *testing.T, secret []byte, a, target, u string) {
		c := Code(secret, a, target, u)
		if got, ok := ParseCode(c); !ok || got != c {
			t.Fatalf("Code made %q, which does not parse", c)
		}
	})
}
