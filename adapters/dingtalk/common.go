package dingtalk

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/groupcast/groupcast"
)

// maxResponse bounds how much of an answer is read; DingTalk's answers are
// a few hundred bytes.
const maxResponse = 64 << 10

// encodeJSON encodes v exactly as it goes on the wire: no HTML escaping
// (Go's default turns <, > and & into six-byte \u003c sequences, which the
// byte limits count), no trailing newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// partUUID is the msgUuid of part i of a delivery: a UUID (version 5
// layout) derived from the delivery id, so that every retry of the same
// target sends the same keys and DingTalk posts each part once. Without a
// delivery id (a preview, a one-off test send) the key is random.
func partUUID(deliveryID string, i int) string {
	var b [16]byte
	if deliveryID == "" {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	} else {
		h := sha256.Sum256([]byte("groupcast/dingtalk/msgUuid\x00" + deliveryID + "\x00" + strconv.Itoa(i)))
		copy(b[:], h[:16])
	}
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// readBody reads at most maxResponse bytes of an answer and closes it.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse)) // let the connection be reused
	return b, err
}

// transportError turns a failed round trip into a Temporary error without
// the request URL: net/http's *url.Error quotes the URL, and DingTalk URLs
// carry the access token.
func transportError(what string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return groupcast.Temporary("network", fmt.Errorf("%s: %w", what, err))
}

// noRedirect makes a copy of c that returns 3xx answers instead of
// following them: a locked webhook robot may answer 302, which must read
// as a throttle, not be followed with a GET elsewhere.
func noRedirect(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// platformMessage shortens a platform's message for an error or a reason.
func platformMessage(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 300
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// appendMissingLinks adds the links that the text does not already carry,
// one per line, in the given format ("%s：%s" for plain text,
// "[%s](%s)" for Markdown).
func appendMissingLinks(text string, links []groupcast.Link, format string) string {
	var add []string
	for _, l := range links {
		if l.URL == "" || strings.Contains(text, l.URL) {
			continue
		}
		title := l.Title
		if title == "" {
			title = l.URL
		}
		add = append(add, fmt.Sprintf(format, title, l.URL))
	}
	if len(add) == 0 {
		return text
	}
	return text + "\n\n" + strings.Join(add, "\n\n")
}

// titleFor is the notification title of a rendered text: its title, or
// the first line of the text without Markdown heading marks.
func titleFor(r groupcast.Rendered) string {
	t := strings.TrimSpace(r.Title)
	if t == "" {
		line, _, _ := strings.Cut(strings.TrimSpace(r.Text), "\n")
		t = strings.TrimSpace(strings.TrimLeft(line, "#> "))
	}
	if t == "" {
		t = "通知"
	}
	if utf8.RuneCountInString(t) > groupcast.MaxTitleChars {
		t = string([]rune(t)[:groupcast.MaxTitleChars])
	}
	return t
}

// validBaseURL reports a base_url problem, or "".
func validBaseURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "base_url: must be an absolute http(s) URL"
	}
	if u.RawQuery != "" {
		return "base_url: must not carry a query (put the token in access_token)"
	}
	return ""
}
