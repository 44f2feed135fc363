package qq

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// CheckGroup reports a target group that is not a QQ group number. Both
// drivers address groups by number (OneBot group_id, MiraiGo group code);
// the shared helpers here (ParseGroup, LimitText, StripURL) serve
// both, the onebot driver in this package and adapters/qq/miraigo.
func CheckGroup(group string) error {
	_, err := ParseGroup(group)
	return err
}

// ParseGroup reads a QQ group number.
func ParseGroup(s string) (int64, error) {
	bad := fmt.Errorf("%q is not a QQ group number (digits only, no sign or leading zero)", LimitText(s, 40))
	if s == "" || len(s) > 12 || s[0] == '0' {
		return 0, bad
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, bad
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, bad
	}
	return n, nil
}

// checkHTTPURL reports the problem with an http(s) base URL, or "".
func checkHTTPURL(field, raw string) string {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return ""
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return field + ": must be an absolute http(s) URL such as http://127.0.0.1:3000"
	case u.User != nil:
		return field + ": must not carry credentials (put the token in access_token)"
	case u.RawQuery != "" || u.Fragment != "":
		return field + ": must not have a query or fragment"
	}
	return ""
}

func trimBase(raw string) string { return strings.TrimRight(raw, "/") }
