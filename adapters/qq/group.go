package qq

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// CheckGroup reports a target group that is not a QQ group number. Both
// drivers address groups by number (OneBot group_id, MiraiGo group code);
// the shared helpers here (ParseGroup, Progress, LimitText, StripURL) serve
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

// Progress remembers, per delivery, the message ids of the parts already
// posted when a send stopped half way (an outage between part 3 and 4, a
// throttle). The router's retry of the same delivery then goes on from the
// first missing part instead of posting the first ones again: QQ has no
// idempotency key (docs/platforms.md). It is in memory only, bounded, and
// keyed by the delivery and a digest of the planned requests, so a changed
// plan starts over.
type Progress struct {
	mu    sync.Mutex
	m     map[string]progressEntry
	order []string
}

type progressEntry struct {
	digest string
	ids    []string
}

const maxProgress = 512

// Load returns the ids of the parts of delivery already posted under the
// same plan (digest); nil when none.
func (p *Progress) Load(delivery, digest string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.m[delivery]
	if !ok || e.digest != digest {
		return nil
	}
	return append([]string(nil), e.ids...)
}

// Store records the ids of the parts of delivery posted so far.
func (p *Progress) Store(delivery, digest string, ids []string) {
	if delivery == "" || len(ids) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = make(map[string]progressEntry)
	}
	if _, ok := p.m[delivery]; !ok {
		p.order = append(p.order, delivery)
	}
	p.m[delivery] = progressEntry{digest: digest, ids: append([]string(nil), ids...)}
	for len(p.order) > maxProgress {
		delete(p.m, p.order[0])
		p.order = p.order[1:]
	}
}

// Drop forgets delivery (it is done).
func (p *Progress) Drop(delivery string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.m[delivery]; !ok {
		return
	}
	delete(p.m, delivery)
	for i, d := range p.order {
		if d == delivery {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
}
