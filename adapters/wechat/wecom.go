package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/transform"
)

// WeComDriver is the driver table entry for WeCom group robots
// (platform wechat, driver wecom).
var WeComDriver = adapters.Define("wecom", configs.DriverSpec{
	Platform:    Platform,
	Groups:      configs.GroupsNone,
	DefaultRate: configs.Rate{PerMinute: WeComPerMinute},
}, func(ac configs.Account, c WeComConfig, env adapters.Env) (groupcast.Sender, error) {
	return NewWeCom(ac.Name, c, env)
})

// WeCom sends to one WeCom group robot. The robot is its group: the
// target's group is the account name.
type WeCom struct {
	name    string
	baseURL string
	key     configs.Secret
	env     adapters.Env
	// sem serializes sends so that the parts of one announcement are never
	// interleaved with another's.
	sem chan struct{}
}

var (
	_ groupcast.Sender   = (*WeCom)(nil)
	_ groupcast.Parter   = (*WeCom)(nil)
	_ groupcast.Recaller = (*WeCom)(nil)
)

// NewWeCom builds the sender; it does no I/O.
func NewWeCom(name string, c WeComConfig, env adapters.Env) (*WeCom, error) {
	if c.Key == "" {
		return nil, errors.New("key: required by driver wecom")
	}
	if probs := c.Check(); len(probs) > 0 {
		return nil, errors.New(strings.Join(probs, "; "))
	}
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = DefaultWeComBaseURL
	}
	return &WeCom{name: name, baseURL: base, key: c.Key, env: env.WithDefaults(), sem: make(chan struct{}, 1)}, nil
}

// weComPart is one request: its msgtype, content and mentions.
type weComPart struct {
	msgType   string // "text" or "markdown"
	content   string
	mentioned []string
}

// plan decides the message type and splits the content by UTF-8 bytes.
// Short plain text goes as text (≤2048 B, where mentioned_list works);
// Markdown, the long and formal styles and any plain text over 2048 B go as
// markdown (≤4096 B). A markdown message cannot mention everyone
// (docs/platforms.md), so with mention_all a short text part with
// mentioned_list ["@all"] follows the markdown parts.
func (w *WeCom) plan(r groupcast.Rendered) ([]weComPart, error) {
	text := strings.TrimSpace(r.Text)
	if text == "" {
		return nil, groupcast.Permanent("44004", errors.New("empty text"))
	}
	markdown := r.Format == groupcast.TextMarkdown || r.Style == "long" || r.Style == "formal" ||
		len(text) > WeComTextMaxBytes
	var mention []string
	if r.MentionAll {
		mention = []string{"@all"}
	}
	if !markdown {
		return []weComPart{{msgType: "text", content: text, mentioned: mention}}, nil
	}
	chunks, err := transform.Split(text, WeComMarkdownMaxBytes, transform.Bytes)
	if err != nil {
		return nil, groupcast.Permanent("split", fmt.Errorf("splitting %d bytes into %d-byte parts: %w", len(text), WeComMarkdownMaxBytes, err))
	}
	parts := make([]weComPart, 0, len(chunks)+1)
	for _, c := range chunks {
		parts = append(parts, weComPart{msgType: "markdown", content: c})
	}
	if r.MentionAll {
		parts = append(parts, weComPart{msgType: "text", content: mentionNote(r.Title), mentioned: mention})
	}
	return parts, nil
}

// mentionNote is the text of the @all part that follows a markdown message.
func mentionNote(title string) string {
	title = strings.TrimSpace(title)
	if title == "" {
		return "请查看上方公告。"
	}
	note := "请查看上方公告：" + title
	if len(note) > WeComTextMaxBytes {
		return "请查看上方公告。"
	}
	return note
}

// Parts returns the contents Send would post, one per request.
func (w *WeCom) Parts(r groupcast.Rendered) ([]string, error) {
	plan, err := w.plan(r)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(plan))
	for i, p := range plan {
		out[i] = p.content
	}
	return out, nil
}

// Send posts the rendered text to the robot, part by part, in order.
func (w *WeCom) Send(ctx context.Context, m groupcast.Outgoing) (groupcast.Receipt, error) {
	plan, err := w.plan(m.Rendered)
	if err != nil {
		return groupcast.Receipt{}, err
	}
	select {
	case w.sem <- struct{}{}:
		defer func() { <-w.sem }()
	case <-ctx.Done():
		return groupcast.Receipt{}, groupcast.Temporary("timeout", ctx.Err())
	}
	// A retry resumes after the parts an earlier attempt delivered.
	for i := m.Resume(len(plan)); i < len(plan); i++ {
		p := plan[i]
		if err := w.env.Pacer.Wait(ctx); err != nil {
			return groupcast.Receipt{}, groupcast.Temporary("timeout", fmt.Errorf("part %d/%d: waiting for the pacer: %w", i+1, len(plan), err))
		}
		if err := w.post(ctx, p); err != nil {
			w.env.Logger.Warn("wecom send failed", "announcement", announcementID(m), "group", m.Group,
				"part", i+1, "parts", len(plan), "reason", err.Error())
			if i > 0 {
				err = fmt.Errorf("part %d/%d (parts before it were delivered): %w", i+1, len(plan), err)
			}
			return groupcast.Receipt{}, err
		}
		if err := m.Delivered(ctx, i, len(plan), ""); err != nil {
			return groupcast.Receipt{}, err
		}
	}
	return groupcast.Receipt{Parts: len(plan), SentAt: w.env.Now()}, nil
}

// Recall is not possible: webhook robots cannot take a message back.
func (w *WeCom) Recall(context.Context, string, groupcast.Receipt) error {
	return fmt.Errorf("%w: wecom robots cannot recall", groupcast.ErrRecallUnsupported)
}

type weComText struct {
	Content       string   `json:"content"`
	MentionedList []string `json:"mentioned_list,omitempty"`
}

type weComMarkdown struct {
	Content string `json:"content"`
}

type weComRequest struct {
	MsgType  string         `json:"msgtype"`
	Text     *weComText     `json:"text,omitempty"`
	Markdown *weComMarkdown `json:"markdown,omitempty"`
}

func encodeWeCom(p weComPart) ([]byte, error) {
	req := weComRequest{MsgType: p.msgType}
	switch p.msgType {
	case "text":
		req.Text = &weComText{Content: p.content, MentionedList: p.mentioned}
	default:
		req.Markdown = &weComMarkdown{Content: p.content}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // docs/platforms.md: do not inflate <, >, & to \u003c
	if err := enc.Encode(req); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// post sends one part and classifies the answer.
func (w *WeCom) post(ctx context.Context, p weComPart) error {
	body, err := encodeWeCom(p)
	if err != nil {
		return groupcast.Permanent("encode", err)
	}
	endpoint := w.baseURL + WeComSendPath + "?key=" + url.QueryEscape(w.key.Reveal())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		// The URL holds the key: report without it.
		return groupcast.Permanent("config", fmt.Errorf("building the request to %s%s failed", w.baseURL, WeComSendPath))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := w.env.HTTPClient.Do(req)
	if err != nil {
		return groupcast.Temporary(transportCode(ctx, err), fmt.Errorf("POST %s%s: %w", w.baseURL, WeComSendPath, redactURLError(err)))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return groupcast.Temporary("network", fmt.Errorf("reading the answer: %w", redactURLError(err)))
	}
	code := "http_" + strconv.Itoa(resp.StatusCode)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return groupcast.Throttled(code, WeComThrottlePause, fmt.Errorf("HTTP %d from the robot API", resp.StatusCode))
	case resp.StatusCode >= 500:
		return groupcast.Temporary(code, fmt.Errorf("HTTP %d from the robot API", resp.StatusCode))
	case resp.StatusCode >= 300:
		return groupcast.Permanent(code, fmt.Errorf("HTTP %d from the robot API: %s", resp.StatusCode, clip(string(raw), 200)))
	}
	ans, err := decodeWeComResponse(raw)
	if err != nil {
		return groupcast.Temporary("bad_response", err)
	}
	return ans.err()
}

// weComResponse is the robot API's answer: HTTP 200 with an errcode.
type weComResponse struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// decodeWeComResponse reads an answer body; a body without errcode is an
// error, since HTTP 200 alone does not mean delivered (docs/platforms.md).
func decodeWeComResponse(raw []byte) (weComResponse, error) {
	var probe struct {
		ErrCode *json.Number `json:"errcode"`
		ErrMsg  string       `json:"errmsg"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&probe); err != nil {
		return weComResponse{}, fmt.Errorf("undecodable answer: %w (%q)", err, clip(string(raw), 120))
	}
	if probe.ErrCode == nil {
		return weComResponse{}, fmt.Errorf("answer without errcode: %q", clip(string(raw), 120))
	}
	n, err := strconv.Atoi(probe.ErrCode.String())
	if err != nil {
		return weComResponse{}, fmt.Errorf("answer with a non-integer errcode %q", clip(probe.ErrCode.String(), 40))
	}
	return weComResponse{ErrCode: n, ErrMsg: probe.ErrMsg}, nil
}

func (r weComResponse) err() error {
	if r.ErrCode == WeComOK {
		return nil
	}
	code := strconv.Itoa(r.ErrCode)
	msg := fmt.Errorf("errcode %d: %s", r.ErrCode, clip(r.ErrMsg, 200))
	switch r.ErrCode {
	case WeComErrFrequency:
		return groupcast.Throttled(code, WeComThrottlePause, msg)
	case -1: // WeCom's global "system busy": retry
		return groupcast.Temporary(code, msg)
	default:
		// 93000 (bad key), 40058 (too long) and anything else: retrying the
		// same request cannot help.
		return groupcast.Permanent(code, msg)
	}
}

// redactURLError strips the request URL (it carries the key or a ticket)
// from an error returned by net/http.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}

func transportCode(ctx context.Context, err error) string {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return "timeout"
	}
	return "network"
}

// clip shortens s to at most n bytes without cutting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func announcementID(m groupcast.Outgoing) string {
	if m.Announcement == nil {
		return ""
	}
	return m.Announcement.ID
}

// untilNextMidnight is the time from now to the next local midnight in loc.
func untilNextMidnight(now time.Time, loc *time.Location) time.Duration {
	t := now.In(loc)
	next := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
	return next.Sub(t)
}
