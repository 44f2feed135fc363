package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/groupcast/groupcast"
)

// Client talks to a running daemon (the CLI's send, status, recall, review).
type Client struct {
	Base  string // http://127.0.0.1:8780
	Token string
	HTTP  *http.Client
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
		return 0, fmt.Errorf("daemon at %s: %w", c.Base, err)
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

// Recall recalls one announcement.
func (c *Client) Recall(ctx context.Context, id string) (groupcast.Status, error) {
	var st groupcast.Status
	_, err := c.do(ctx, http.MethodPost, "/v1/messages/"+url.PathEscape(id)+"/recall", "", nil, &st)
	return st, err
}

// ReviewItem is one entry of the review queue.
type ReviewItem struct {
	groupcast.Status
	Held int `json:"held"`
}

// Reviews lists the review queue.
func (c *Client) Reviews(ctx context.Context) ([]ReviewItem, error) {
	var out struct {
		Reviews []ReviewItem `json:"reviews"`
	}
	_, err := c.do(ctx, http.MethodGet, "/v1/review", "", nil, &out)
	return out.Reviews, err
}

// Decide approves or rejects the held targets of one announcement.
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
