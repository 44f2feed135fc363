package dingtalk

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/transform"
)

// WebhookDriver is the custom group robot (自定义机器人): one robot posts
// to the one group it was added to, so targets list no groups.
var WebhookDriver = adapters.Define("webhook", configs.DriverSpec{
	Platform:    Platform,
	Groups:      configs.GroupsNone,
	DefaultRate: configs.Rate{PerMinute: WebhookPerMinute},
}, func(ac configs.Account, c WebhookConfig, env adapters.Env) (groupcast.Sender, error) {
	return NewWebhook(ac.Name, c, env)
})

// Webhook sends to one custom group robot.
type Webhook struct {
	account string
	token   configs.Secret
	secret  configs.Secret
	base    string
	env     adapters.Env
	client  *http.Client
}

var (
	_ groupcast.Sender   = (*Webhook)(nil)
	_ groupcast.Parter   = (*Webhook)(nil)
	_ groupcast.Recaller = (*Webhook)(nil)
)

// NewWebhook builds the sender of one webhook account. It does no I/O.
func NewWebhook(name string, c WebhookConfig, env adapters.Env) (*Webhook, error) {
	if c.AccessToken == "" {
		return nil, errors.New("access_token: required by driver webhook")
	}
	if p := c.Check(); len(p) > 0 {
		return nil, errors.New(strings.Join(p, "; "))
	}
	env = env.WithDefaults()
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = DefaultWebhookBase
	}
	return &Webhook{
		account: name,
		token:   c.AccessToken,
		secret:  c.Secret,
		base:    base,
		env:     env,
		client:  noRedirect(env.HTTPClient),
	}, nil
}

// The request body of the webhook robot (docs/platforms.md).
type webhookBody struct {
	MsgType    string       `json:"msgtype"`
	Text       *webhookText `json:"text,omitempty"`
	Markdown   *webhookMD   `json:"markdown,omitempty"`
	ActionCard *webhookCard `json:"actionCard,omitempty"`
	At         *webhookAt   `json:"at,omitempty"`
	MsgUUID    string       `json:"msgUuid,omitempty"`
}

type webhookText struct {
	Content string `json:"content"`
}

type webhookMD struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

type webhookCard struct {
	Title          string          `json:"title"`
	Text           string          `json:"text"`
	BtnOrientation string          `json:"btnOrientation"`
	Btns           []webhookButton `json:"btns"`
}

type webhookButton struct {
	Title     string `json:"title"`
	ActionURL string `json:"actionURL"`
}

type webhookAt struct {
	IsAtAll bool `json:"isAtAll"`
}

// webhookPlan is what one rendered announcement becomes: the message
// type, the parts in order, and where the @all goes.
type webhookPlan struct {
	msgtype string // text | markdown | actionCard
	title   string
	parts   []string
	buttons []webhookButton // actionCard: on the last part only
	atPart  int             // index of the part that carries at.isAtAll, -1 for none
}

// body is the request body of part i with the given msgUuid.
func (p *webhookPlan) body(i int, uuid string) *webhookBody {
	return p.bodyFor(p.parts[i], i == len(p.parts)-1, i == p.atPart, uuid)
}

func (p *webhookPlan) bodyFor(text string, last, atAll bool, uuid string) *webhookBody {
	b := &webhookBody{MsgUUID: uuid}
	if atAll {
		b.At = &webhookAt{IsAtAll: true}
	}
	switch {
	case p.msgtype == "text":
		b.MsgType, b.Text = "text", &webhookText{Content: text}
	case p.msgtype == "actionCard" && last:
		b.MsgType = "actionCard"
		b.ActionCard = &webhookCard{Title: p.title, Text: text, BtnOrientation: "0", Btns: p.buttons}
	default: // markdown, and the leading parts of a split actionCard
		b.MsgType, b.Markdown = "markdown", &webhookMD{Title: p.title, Text: text}
	}
	return b
}

// plan turns a rendered announcement into parts whose encoded request
// bodies are each at most WebhookMaxBody bytes.
func (w *Webhook) plan(r groupcast.Rendered) (*webhookPlan, error) {
	text := strings.TrimSpace(r.Text)
	if text == "" {
		return nil, errors.New("nothing to send: the rendered text is empty")
	}
	p := &webhookPlan{msgtype: "text", title: titleFor(r), atPart: -1}
	switch {
	case r.Format == groupcast.TextMarkdown && len(r.Links) > 0:
		p.msgtype = "actionCard"
		for _, l := range r.Links {
			title := l.Title
			if title == "" {
				title = l.URL
			}
			p.buttons = append(p.buttons, webhookButton{Title: title, ActionURL: l.URL})
		}
	case r.Format == groupcast.TextMarkdown:
		p.msgtype = "markdown"
	default:
		text = appendMissingLinks(text, r.Links, "%s：%s")
	}
	if r.MentionAll && !strings.Contains(text, WebhookMentionAll) {
		text += "\n\n" + WebhookMentionAll
	}
	// The measure is the encoded body of the largest shape a part can take
	// (the last one, with buttons and the at block), with a msgUuid of the
	// real length, so whatever part it becomes it fits.
	sample := partUUID("measure", 0)
	measure := func(s string) int {
		b, err := encodeJSON(p.bodyFor(s, true, r.MentionAll, sample))
		if err != nil {
			return WebhookMaxBody + 1
		}
		return len(b)
	}
	parts, err := transform.Split(text, WebhookMaxBody, measure)
	if err != nil {
		return nil, fmt.Errorf("cannot fit the announcement into %d-byte requests: %w", WebhookMaxBody, err)
	}
	if len(parts) == 0 {
		return nil, errors.New("nothing to send: the rendered text is empty")
	}
	p.parts = parts
	if r.MentionAll {
		p.atPart = 0
		for i, s := range parts {
			if strings.Contains(s, WebhookMentionAll) {
				p.atPart = i
				break
			}
		}
	}
	return p, nil
}

// Parts returns the texts Send would post, one per request.
func (w *Webhook) Parts(r groupcast.Rendered) ([]string, error) {
	p, err := w.plan(r)
	if err != nil {
		return nil, err
	}
	return p.parts, nil
}

// Send posts every part in order, each after the account's pace. Each part
// carries a msgUuid derived from the delivery id, so when the router
// retries after a failure the parts that already arrived are not posted
// again. The receipt's message ids are those msgUuids (the robot answers
// with no id of its own).
func (w *Webhook) Send(ctx context.Context, m groupcast.Outgoing) (groupcast.Receipt, error) {
	p, err := w.plan(m.Rendered)
	if err != nil {
		return groupcast.Receipt{}, groupcast.Permanent("content", err)
	}
	n := len(p.parts)
	start := m.Resume(n) // a retry resumes after the parts delivered before
	ids := append(make([]string, 0, n), m.Done[:start]...)
	for i := start; i < n; i++ {
		uuid := partUUID(m.DeliveryID, i)
		raw, err := encodeJSON(p.body(i, uuid))
		if err != nil {
			return groupcast.Receipt{}, groupcast.Permanent("content", fmt.Errorf("encode part %d/%d: %w", i+1, n, err))
		}
		if len(raw) > WebhookMaxBody { // the splitter's measure makes this unreachable; never send over the limit
			return groupcast.Receipt{}, groupcast.Permanent("body_too_large", fmt.Errorf("part %d/%d is %d bytes, over %d", i+1, n, len(raw), WebhookMaxBody))
		}
		if err := w.env.Pacer.Wait(ctx); err != nil {
			return groupcast.Receipt{}, err
		}
		if err := w.post(ctx, raw); err != nil {
			w.logFailure(m, i, n, err)
			return groupcast.Receipt{}, fmt.Errorf("dingtalk webhook %s part %d/%d: %w", w.account, i+1, n, err)
		}
		w.env.Logger.Debug("dingtalk webhook part sent", "announcement", announcementID(m), "group", m.Group,
			"part", i+1, "parts", n, "bytes", len(raw), "msg_uuid", uuid)
		ids = append(ids, uuid)
		if err := m.Delivered(ctx, i, n, uuid); err != nil {
			return groupcast.Receipt{}, err
		}
	}
	return groupcast.Receipt{Parts: n, MessageIDs: ids, SentAt: w.env.Now()}, nil
}

func (w *Webhook) logFailure(m groupcast.Outgoing, i, n int, err error) {
	class, code, pause := groupcast.Classify(err)
	w.env.Logger.Warn("dingtalk webhook send failed", "announcement", announcementID(m), "group", m.Group,
		"part", i+1, "parts", n, "class", class.String(), "code", code, "pause", pause, "err", err)
}

func announcementID(m groupcast.Outgoing) string {
	if m.Announcement == nil {
		return ""
	}
	return m.Announcement.ID
}

// Recall is not offered by the webhook robot.
func (w *Webhook) Recall(ctx context.Context, group string, r groupcast.Receipt) error {
	return fmt.Errorf("%w: DingTalk webhook robots cannot recall messages (use the openapi driver for recall)", groupcast.ErrRecallUnsupported)
}

// Sign computes the signature of a webhook request (docs/platforms.md):
// Base64(HMAC-SHA256(secret, timestamp + "\n" + secret)), timestamp in
// milliseconds. The result is not URL-encoded; url.Values does that once.
func Sign(secret string, timestampMillis int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMillis, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// requestURL is the robot's URL with the token and, in signed mode, the
// timestamp and signature, each URL-encoded exactly once.
func (w *Webhook) requestURL() string {
	q := url.Values{}
	q.Set("access_token", w.token.Reveal())
	if w.secret != "" {
		ts := w.env.Now().UnixMilli()
		q.Set("timestamp", strconv.FormatInt(ts, 10))
		q.Set("sign", Sign(w.secret.Reveal(), ts))
	}
	return w.base + "/robot/send?" + q.Encode()
}

func (w *Webhook) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.requestURL(), bytes.NewReader(body))
	if err != nil {
		// Only a malformed base_url gets here; the URL holds the token, so
		// the error is not quoted.
		return groupcast.Permanent("config", errors.New("cannot build the robot request: check base_url"))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := w.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return transportError("post to robot", err)
	}
	raw, err := readBody(resp)
	if err != nil && resp.StatusCode == http.StatusOK {
		return transportError("read robot answer", err)
	}
	return decodeWebhookAnswer(resp.StatusCode, raw)
}

// webhookAnswer is the robot's answer: {"errcode":0,"errmsg":"ok"}.
type webhookAnswer struct {
	ErrCode json.RawMessage `json:"errcode"`
	ErrMsg  string          `json:"errmsg"`
}

// decodeWebhookAnswer classifies the robot's answer. HTTP 200 is not
// success: the body's errcode decides (docs/platforms.md).
func decodeWebhookAnswer(status int, body []byte) error {
	switch {
	case status == http.StatusFound || status == http.StatusTooManyRequests:
		// During the 10-minute lock DingTalk has been seen answering 302 [C]
		return groupcast.Throttled("http_"+strconv.Itoa(status), WebhookThrottlePause,
			fmt.Errorf("robot answered HTTP %d: treated as the rate-limit lock", status))
	case status >= 500:
		return groupcast.Temporary("http_"+strconv.Itoa(status), fmt.Errorf("robot answered HTTP %d", status))
	case status == http.StatusRequestTimeout:
		return groupcast.Temporary("http_408", errors.New("robot answered HTTP 408"))
	case status >= 400:
		return groupcast.Permanent("http_"+strconv.Itoa(status), fmt.Errorf("robot answered HTTP %d: check base_url", status))
	case status != http.StatusOK:
		return groupcast.Temporary("http_"+strconv.Itoa(status), fmt.Errorf("robot answered HTTP %d", status))
	}
	var a webhookAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return groupcast.Temporary("bad_answer", fmt.Errorf("robot answer is not JSON (%d bytes)", len(body)))
	}
	code, ok := parseErrCode(a.ErrCode)
	if !ok {
		return groupcast.Temporary("bad_answer", errors.New("robot answer has no errcode"))
	}
	return classifyWebhookCode(code, platformMessage(a.ErrMsg))
}

// parseErrCode reads errcode as a JSON number or a numeric string.
func parseErrCode(raw json.RawMessage) (int, bool) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, false
	}
	if unq, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(unq)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int(f)) {
			return 0, false
		}
		n = int(f)
	}
	return n, true
}

// classifyWebhookCode maps an errcode to a delivery outcome.
func classifyWebhookCode(code int, msg string) error {
	if code == CodeOK {
		return nil
	}
	c := strconv.Itoa(code)
	err := fmt.Errorf("dingtalk errcode %d: %s", code, msg)
	switch {
	case code == CodeTooFast || code == CodeWebhookOverQuota:
		return groupcast.Throttled(c, WebhookThrottlePause, err)
	case code == CodeSecurity || code == CodeTokenNotExist || code == CodeTokenExternal:
		return groupcast.Permanent(c, err)
	case code >= 400000 && code < 500000:
		return groupcast.Permanent(c, err)
	case code == CodeSystemBusy:
		return groupcast.Temporary(c, err)
	case strings.Contains(msg, "20000bytes") || strings.Contains(msg, "body 大小"):
		return groupcast.Permanent(c, err)
	}
	// An unknown code: retried a bounded number of times by the router.
	return groupcast.Temporary(c, err)
}
