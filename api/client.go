package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/router"
	"github.com/groupcast/groupcast/tracking"
)

// Client talks to a running daemon (the CLI's send, status, recall, review).
type Client struct {
	Base  string // http://127.0.0.1:8780
	Token string
	HTTP  *http.Client
	// Source says where Base came from ("--server", "$GROUPCAST_SERVER",
	// "server.listen in ./groupcast.yaml", "the default"); an unreachable
	// daemon's error names it.
	Source string
}

// UnreachableError is a daemon that did not answer at all.
type UnreachableError struct {
	Base, Source string
	Err          error
}

func (e *UnreachableError) Error() string {
	src := ""
	if e.Source != "" {
		src = " (from " + e.Source + ")"
	}
	return fmt.Sprintf("cannot reach %s%s: %s", e.Base, src, rootCause(e.Err))
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// rootCause is the shortest useful text of a transport error: "connection
// refused" rather than "Get \"http://…\": dial tcp …: connect: connection refused".
func rootCause(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer in time"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// APIError is an error answer from the daemon.
type APIError struct {
	Status  int
	Code    string
	Field   string
	Message string
}

func (e *APIError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%d %s): %s", e.Field, e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

func (c *Client) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) (int, error) {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Base, "/")+path, body)
	if err != nil {
		return 0, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, &UnreachableError{Base: c.Base, Source: c.Source, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
			return resp.StatusCode, &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Field: eb.Error.Field, Message: eb.Error.Message}
		}
		return resp.StatusCode, &APIError{Status: resp.StatusCode, Code: "http", Message: strings.TrimSpace(string(data))}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decoding the answer: %w", err)
		}
	}
	return resp.StatusCode, nil
}

// Submit posts an announcement in the given format; the status code is 202
// for a new one and 200 for one already stored.
func (c *Client) Submit(ctx context.Context, format groupcast.Format, data []byte) (groupcast.Status, int, error) {
	ct := map[groupcast.Format]string{
		groupcast.FormatMarkdown: "text/markdown; charset=utf-8",
		groupcast.FormatJSON:     "application/json",
		groupcast.FormatYAML:     "application/yaml",
	}[format]
	var st groupcast.Status
	code, err := c.do(ctx, http.MethodPost, "/v1/messages", ct, bytes.NewReader(data), &st)
	return st, code, err
}

// Status reads one announcement.
func (c *Client) Status(ctx context.Context, id string) (groupcast.Status, error) {
	var st groupcast.Status
	_, err := c.do(ctx, http.MethodGet, "/v1/messages/"+url.PathEscape(id), "", nil, &st)
	return st, err
}

// List reads the newest announcements, optionally in one state (an
// announcement state or a target state); limit 0 is the server's default.
func (c *Client) List(ctx context.Context, state string, limit int) ([]groupcast.Status, error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/messages"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Messages []groupcast.Status `json:"messages"`
	}
	_, err := c.do(ctx, http.MethodGet, path, "", nil, &out)
	return out.Messages, err
}

// Accounts reads every account's health.
func (c *Client) Accounts(ctx context.Context) ([]groupcast.AccountHealth, error) {
	var out struct {
		Accounts []groupcast.AccountHealth `json:"accounts"`
	}
	_, err := c.do(ctx, http.MethodGet, "/v1/accounts", "", nil, &out)
	return out.Accounts, err
}

// Healthz asks GET /healthz (the container's HEALTHCHECK).
func (c *Client) Healthz(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, "/healthz", "", nil, nil)
	return err
}

// Readyz asks GET /readyz: nil when the daemon can take work.
func (c *Client) Readyz(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, "/readyz", "", nil, nil)
	return err
}

// Recall asks for a recall (202: it runs durably; the status shows each
// target's recall progress).
func (c *Client) Recall(ctx context.Context, id string) (groupcast.Status, error) {
	var st groupcast.Status
	_, err := c.do(ctx, http.MethodPost, "/v1/messages/"+url.PathEscape(id)+"/recall", "", nil, &st)
	return st, err
}

// ReviewItem is one entry of the review queue (router.Review).
type ReviewItem struct {
	groupcast.Status
	Held        int                `json:"held"`
	Category    groupcast.Category `json:"category"`
	Excerpt     string             `json:"excerpt"`
	RuleHits    []string           `json:"rule_hits"`
	SubmittedBy string             `json:"submitted_by,omitempty"`
}

// MessagePreview reads what every target of a stored announcement would
// receive now (GET /v1/messages/{id}/preview).
func (c *Client) MessagePreview(ctx context.Context, id string) ([]router.PreviewTarget, error) {
	var out struct {
		Targets []router.PreviewTarget `json:"targets"`
	}
	_, err := c.do(ctx, http.MethodGet, "/v1/messages/"+url.PathEscape(id)+"/preview", "", nil, &out)
	return out.Targets, err
}

// Reviews lists the review queue.
func (c *Client) Reviews(ctx context.Context) ([]ReviewItem, error) {
	var out struct {
		Reviews []ReviewItem `json:"reviews"`
	}
	_, err := c.do(ctx, http.MethodGet, "/v1/review", "", nil, &out)
	return out.Reviews, err
}

// Decide approves or rejects the held targets of one announcement. by
// counts only with a daemon that has no tokens; with tokens the decision
// is the token holder's.
func (c *Client) Decide(ctx context.Context, id string, approve bool, by, reason string) (groupcast.Status, error) {
	verb := "reject"
	if approve {
		verb = "approve"
	}
	body, _ := json.Marshal(DecisionRequest{By: by, Reason: reason})
	var st groupcast.Status
	_, err := c.do(ctx, http.MethodPost, "/v1/review/"+url.PathEscape(id)+"/"+verb, "application/json", bytes.NewReader(body), &st)
	return st, err
}

// Report reads an announcement's deliveries and counted clicks.
func (c *Client) Report(ctx context.Context, id string) (tracking.Report, error) {
	var r tracking.Report
	_, err := c.do(ctx, http.MethodGet, "/v1/messages/"+url.PathEscape(id)+"/report", "", nil, &r)
	return r, err
}
