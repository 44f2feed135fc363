// Package imagefetch downloads the images of an announcement for the
// drivers that upload them (openwechat, MiraiGo). Whoever may post an
// announcement chooses the URLs, so the fetcher only reaches the public
// internet: every address it connects to, after DNS and on every redirect,
// must be a public unicast address (no loopback, private, link-local,
// CGNAT, unspecified or multicast one). Redirects, size and time are
// capped, and every error is classified for the router.
package imagefetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/groupcast/groupcast"
)

// Defaults of Options.
const (
	DefaultMaxBytes     = 10 << 20
	DefaultTimeout      = 15 * time.Second
	DefaultMaxRedirects = 3
)

var (
	// ErrRefusedAddress: the URL's host is, or resolves to, or redirects
	// to an address that is not public.
	ErrRefusedAddress = errors.New("address not allowed for image fetches")
	// ErrTooLarge: the image is over MaxBytes.
	ErrTooLarge = errors.New("image too large")
	// ErrTooManyRedirects: more than MaxRedirects redirects.
	ErrTooManyRedirects = errors.New("too many redirects")
)

// Options configure a Fetcher. The zero value is the production one.
type Options struct {
	// MaxBytes bounds an image (default 10 MiB).
	MaxBytes int64
	// Timeout bounds one fetch, redirects and body included (default 15 s).
	Timeout time.Duration
	// MaxRedirects bounds the redirects followed (default 3; -1: none).
	MaxRedirects int
	// Permit lets the fetcher dial an address Public refuses. Tests
	// permit loopback to reach their fakes; production leaves it nil.
	Permit func(netip.Addr) bool
	// UserAgent is sent with each request (default "groupcast").
	UserAgent string
}

// Fetcher downloads images within its Options. It is safe for concurrent
// use.
type Fetcher struct {
	opt    Options
	client *http.Client
}

// New builds a Fetcher. Its transport never uses a proxy (the proxy's
// address would be checked, not the image's).
func New(opt Options) *Fetcher {
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.MaxRedirects == 0 {
		opt.MaxRedirects = DefaultMaxRedirects
	}
	if opt.UserAgent == "" {
		opt.UserAgent = "groupcast"
	}
	f := &Fetcher{opt: opt}
	dialer := &net.Dialer{Timeout: opt.Timeout, Control: f.control}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          10,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   opt.Timeout,
		ResponseHeaderTimeout: opt.Timeout,
	}
	f.client = &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > max(0, opt.MaxRedirects) {
				return ErrTooManyRedirects
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("%w: redirect to a %s URL", ErrRefusedAddress, req.URL.Scheme)
			}
			return nil
		},
	}
	return f
}

// control runs after DNS resolution, before each connection: the one
// place that sees the address actually dialled, redirects included.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrRefusedAddress, address)
	}
	addr := ap.Addr().Unmap()
	if Public(addr) || (f.opt.Permit != nil && f.opt.Permit(addr)) {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrRefusedAddress, addr)
}

// cgnat is the shared address space of carrier-grade NAT (RFC 6598).
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// nonPublic are further ranges no announcement image lives in: "this
// network", IETF protocol assignments, documentation, benchmarking,
// reserved, NAT64 local use, discard-only, ORCHID and documentation v6.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:10::/28"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// Public reports whether an image may be fetched from addr: a global
// unicast address outside the private (10/8, 172.16/12, 192.168/16,
// fc00::/7), CGNAT (100.64/10) and reserved ranges. Loopback, link-local
// (169.254/16, fe80::/10), unspecified and multicast addresses are not.
func Public(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || !addr.IsGlobalUnicast() || addr.IsPrivate() || cgnat.Contains(addr) {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// Loopback permits loopback addresses: for Options.Permit in tests whose
// fakes listen on 127.0.0.1 or [::1].
func Loopback(addr netip.Addr) bool { return addr.IsLoopback() }

// Fetch downloads the image at rawURL. Errors are classified: a refused
// address, a bad URL, too many redirects, an image over MaxBytes, an
// empty body or an HTTP 4xx are groupcast.Permanent; a timeout, a network
// error, HTTP 5xx or 429 are groupcast.Temporary. No error carries the
// URL's query (image URLs may be signed).
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, groupcast.Permanent("image_url", fmt.Errorf("image: not an absolute http(s) URL: %s", redact(rawURL)))
	}
	ctx, cancel := context.WithTimeout(ctx, f.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, groupcast.Permanent("image_url", fmt.Errorf("image %s: %w", redact(rawURL), stripURL(err)))
	}
	req.Header.Set("User-Agent", f.opt.UserAgent)
	req.Header.Set("Accept", "image/*")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, f.classify(ctx, rawURL, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, groupcast.Temporary("image_http_"+strconv.Itoa(resp.StatusCode),
			fmt.Errorf("image %s: HTTP %d", redact(rawURL), resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return nil, groupcast.Permanent("image_http_"+strconv.Itoa(resp.StatusCode),
			fmt.Errorf("image %s: HTTP %d", redact(rawURL), resp.StatusCode))
	}
	tooLarge := groupcast.Permanent("image_too_large",
		fmt.Errorf("image %s: %w: over %d bytes", redact(rawURL), ErrTooLarge, f.opt.MaxBytes))
	if resp.ContentLength > f.opt.MaxBytes {
		return nil, tooLarge
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, f.opt.MaxBytes+1))
	if err != nil {
		return nil, f.classify(ctx, rawURL, err)
	}
	if int64(len(data)) > f.opt.MaxBytes {
		return nil, tooLarge
	}
	if len(data) == 0 {
		return nil, groupcast.Permanent("image_empty", fmt.Errorf("image %s: empty", redact(rawURL)))
	}
	return data, nil
}

func (f *Fetcher) classify(ctx context.Context, rawURL string, err error) error {
	err = stripURL(err)
	switch {
	case errors.Is(err, ErrRefusedAddress):
		return groupcast.Permanent("image_address", fmt.Errorf("image %s: %w", redact(rawURL), err))
	case errors.Is(err, ErrTooManyRedirects):
		return groupcast.Permanent("image_redirects", fmt.Errorf("image %s: more than %d redirects: %w",
			redact(rawURL), f.opt.MaxRedirects, err))
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return groupcast.Temporary("image_timeout", fmt.Errorf("image %s: not fetched within %s: %w",
			redact(rawURL), f.opt.Timeout, err))
	}
	return groupcast.Temporary("image_fetch", fmt.Errorf("image %s: %w", redact(rawURL), err))
}

// stripURL drops the *url.Error around err: its message repeats the URL,
// query and all.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact is a URL for errors and logs: scheme, host and path, without
// user info, query or fragment.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i] + "?…"
		}
		if len(raw) > 60 {
			raw = raw[:60] + "…"
		}
		return strconv.Quote(raw)
	}
	s := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.RawQuery != "" || u.Fragment != "" {
		s += "?…"
	}
	return s
}
