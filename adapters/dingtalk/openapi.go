package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/transform"
)

// OpenAPIDriver is the enterprise-internal app robot: it sends to every
// group it was added to, named by openConversationId, and can recall.
var OpenAPIDriver = adapters.Define("openapi", configs.DriverSpec{
	Platform:    Platform,
	Groups:      configs.GroupsRequired,
	DefaultRate: configs.Rate{PerMinute: OpenAPIPerMinute},
	CheckGroup:  checkConversationID,
	Users:       true,
}, func(ac configs.Account, c OpenAPIConfig, env adapters.Env) (groupcast.Sender, error) {
	return NewOpenAPI(ac.Name, c, env)
})

// checkConversationID refuses what is clearly not an openConversationId
// (a group's display name, most often).
func checkConversationID(group string) error {
	if group == "" {
		return errors.New("an openConversationId is required")
	}
	for _, r := range group {
		if r > 0x7e || r <= ' ' {
			return fmt.Errorf("%q is not an openConversationId (cid…): groups of the openapi driver are ids, not names", group)
		}
	}
	return nil
}

// OpenAPI sends through an enterprise-internal app robot.
type OpenAPI struct {
	account   string
	appKey    string
	appSecret configs.Secret
	robotCode string
	base      string
	env       adapters.Env
	client    *http.Client
	tokens    *tokenSource
}

var (
	_ groupcast.Sender   = (*OpenAPI)(nil)
	_ groupcast.Parter   = (*OpenAPI)(nil)
	_ groupcast.Recaller = (*OpenAPI)(nil)
)

// NewOpenAPI builds the sender of one openapi account. It does no I/O: the
// first send fetches the token.
func NewOpenAPI(name string, c OpenAPIConfig, env adapters.Env) (*OpenAPI, error) {
	var missing []string
	for _, f := range []struct{ k, v string }{{"app_key", c.AppKey}, {"app_secret", c.AppSecret.Reveal()}, {"robot_code", c.RobotCode}} {
		if f.v == "" {
			missing = append(missing, f.k+": required by driver openapi")
		}
	}
	if len(missing) > 0 {
		return nil, errors.New(strings.Join(missing, "; "))
	}
	if p := c.Check(); len(p) > 0 {
		return nil, errors.New(strings.Join(p, "; "))
	}
	env = env.WithDefaults()
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = DefaultOpenAPIBase
	}
	o := &OpenAPI{
		account:   name,
		appKey:    c.AppKey,
		appSecret: c.AppSecret,
		robotCode: c.RobotCode,
		base:      base,
		env:       env,
		client:    noRedirect(env.HTTPClient),
	}
	o.tokens = &tokenSource{fetch: o.fetchToken, now: env.Now, fetchTimeout: 30 * time.Second}
	return o, nil
}

// v1Error is the error body of the v1.0 API (docs/platforms.md).
type v1Error struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestid"`
}

// classifyV1 classifies a non-2xx answer of the v1.0 API.
func classifyV1(what string, status int, body []byte) error {
	var e v1Error
	_ = json.Unmarshal(body, &e) // an undecodable body leaves the code empty
	code := strings.TrimSpace(e.Code)
	if code == "" {
		code = "http_" + strconv.Itoa(status)
	}
	msg := fmt.Sprintf("%s: HTTP %d %s", what, status, code)
	if m := platformMessage(e.Message); m != "" {
		msg += ": " + m
	}
	if e.RequestID != "" {
		msg += " (requestid " + platformMessage(e.RequestID) + ")"
	}
	err := errors.New(msg)
	switch {
	case status == http.StatusTooManyRequests || (status == http.StatusForbidden && isQPSCode(e.Code)):
		return groupcast.Throttled(code, OpenAPIThrottlePause, err)
	case status >= 500 || status == http.StatusRequestTimeout:
		return groupcast.Temporary(code, err)
	case status >= 400:
		return groupcast.Permanent(code, err)
	}
	return groupcast.Temporary(code, err)
}

// isQPSCode reports a rate-limit answer. DingTalk answers HTTP 403 when an
// app exceeds its QPS [C], sometimes with no body; a 403 with another
// code (a missing permission) is permanent.
func isQPSCode(code string) bool {
	if code == "" {
		return true
	}
	c := strings.ToLower(code)
	return strings.Contains(c, "qps") || strings.Contains(c, "throttl") || strings.Contains(c, "ratelimit") ||
		strings.Contains(c, "flowcontrol") || strings.Contains(c, "toomany")
}

// isAuthError reports an answer that means the token is no longer valid.
func isAuthError(status int, body []byte) bool {
	if status == http.StatusUnauthorized {
		return true
	}
	var e v1Error
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	c := strings.ToLower(e.Code)
	return strings.Contains(c, "invalidauthentication") || strings.Contains(c, "accesstoken") && strings.Contains(c, "invalid")
}

// call POSTs a JSON body and returns the status and answer. token is sent
// in the x-acs-dingtalk-access-token header when not empty.
func (o *OpenAPI) call(ctx context.Context, path, token string, payload any) (int, []byte, error) {
	body, err := encodeJSON(payload)
	if err != nil {
		return 0, nil, groupcast.Permanent("content", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, groupcast.Permanent("config", errors.New("cannot build the request: check base_url"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("x-acs-dingtalk-access-token", token)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return 0, nil, transportError("POST "+path, err)
	}
	raw, err := readBody(resp)
	if err != nil && resp.StatusCode/100 == 2 {
		return 0, nil, transportError("read answer of "+path, err)
	}
	return resp.StatusCode, raw, nil
}

type tokenRequest struct {
	AppKey    string `json:"appKey"`
	AppSecret string `json:"appSecret"`
}

type tokenAnswer struct {
	AccessToken string `json:"accessToken"`
	ExpireIn    int64  `json:"expireIn"`
}

func (o *OpenAPI) fetchToken(ctx context.Context) (string, time.Duration, error) {
	status, body, err := o.call(ctx, "/v1.0/oauth2/accessToken", "", tokenRequest{AppKey: o.appKey, AppSecret: o.appSecret.Reveal()})
	if err != nil {
		return "", 0, err
	}
	tok, ttl, err := decodeTokenAnswer(status, body)
	if err != nil {
		o.env.Logger.Warn("dingtalk access token refused", "err", err)
		return "", 0, err
	}
	o.env.Logger.Debug("dingtalk access token fetched", "expires_in", ttl)
	return tok, ttl, nil
}

// decodeTokenAnswer reads {"accessToken","expireIn"}.
func decodeTokenAnswer(status int, body []byte) (string, time.Duration, error) {
	if status/100 != 2 {
		return "", 0, classifyV1("access token", status, body)
	}
	var a tokenAnswer
	if err := json.Unmarshal(body, &a); err != nil || a.AccessToken == "" {
		return "", 0, groupcast.Temporary("bad_answer", errors.New("access token answer has no accessToken"))
	}
	ttl := time.Duration(a.ExpireIn) * time.Second
	if a.ExpireIn <= 0 || a.ExpireIn > 1<<31 {
		ttl = TokenLifetime
	}
	return a.AccessToken, ttl, nil
}

// authed runs one v1.0 call with the cached token, paced. When the platform
// says the token is invalid (revoked or expired early), it drops the token
// and tries once more with a new one.
func (o *OpenAPI) authed(ctx context.Context, path string, payload any) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		tok, err := o.tokens.get(ctx)
		if err != nil {
			return 0, nil, err
		}
		if err := o.env.Pacer.Wait(ctx); err != nil {
			return 0, nil, err
		}
		status, body, err := o.call(ctx, path, tok, payload)
		if err != nil {
			return 0, nil, err
		}
		if isAuthError(status, body) {
			o.tokens.invalidate(tok)
			if attempt == 0 {
				o.env.Logger.Info("dingtalk access token refused; fetching a new one")
				continue
			}
		}
		return status, body, nil
	}
}

// sendRequest is the body of /v1.0/robot/groupMessages/send.
type sendRequest struct {
	MsgKey             string `json:"msgKey"`
	MsgParam           string `json:"msgParam"`
	OpenConversationID string `json:"openConversationId"`
	RobotCode          string `json:"robotCode"`
}

type sampleMarkdown struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

type sampleText struct {
	Content string `json:"content"`
}

type openAPIPlan struct {
	msgKey string
	title  string
	parts  []string
}

func (p *openAPIPlan) param(text string) (string, error) {
	var v any = sampleText{Content: text}
	if p.msgKey == "sampleMarkdown" {
		v = sampleMarkdown{Title: p.title, Text: text}
	}
	b, err := encodeJSON(v)
	return string(b), err
}

func (o *OpenAPI) plan(r groupcast.Rendered) (*openAPIPlan, error) {
	text := strings.TrimSpace(r.Text)
	if text == "" {
		return nil, errors.New("nothing to send: the rendered text is empty")
	}
	p := &openAPIPlan{msgKey: "sampleText", title: titleFor(r)}
	if r.Format == groupcast.TextMarkdown {
		p.msgKey = "sampleMarkdown"
		text = appendMissingLinks(text, r.Links, "[%s](%s)")
	} else {
		text = appendMissingLinks(text, r.Links, "%s：%s")
	}
	measure := func(s string) int {
		param, err := p.param(s)
		if err != nil {
			return MsgParamMax + 1
		}
		return len(param)
	}
	parts, err := transform.Split(text, MsgParamMax, measure)
	if err != nil {
		return nil, fmt.Errorf("cannot fit the announcement into %d-byte msgParam: %w", MsgParamMax, err)
	}
	p.parts = parts
	return p, nil
}

// Parts returns the texts Send would post, one per request.
func (o *OpenAPI) Parts(r groupcast.Rendered) ([]string, error) {
	p, err := o.plan(r)
	if err != nil {
		return nil, err
	}
	return p.parts, nil
}

// Send posts each part to the group (an openConversationId) and keeps each
// part's processQueryKey as its message id: it is what recall needs.
func (o *OpenAPI) Send(ctx context.Context, m groupcast.Outgoing) (groupcast.Receipt, error) {
	if err := checkConversationID(m.Group); err != nil {
		return groupcast.Receipt{}, groupcast.Permanent("bad_group", err)
	}
	p, err := o.plan(m.Rendered)
	if err != nil {
		return groupcast.Receipt{}, groupcast.Permanent("content", err)
	}
	n := len(p.parts)
	start := m.Resume(n) // a retry resumes after the parts delivered before
	keys := append(make([]string, 0, n), m.Done[:start]...)
	for i := start; i < n; i++ {
		param, err := p.param(p.parts[i])
		if err != nil {
			return groupcast.Receipt{}, groupcast.Permanent("content", err)
		}
		req := sendRequest{MsgKey: p.msgKey, MsgParam: param, OpenConversationID: m.Group, RobotCode: o.robotCode}
		status, body, err := o.authed(ctx, "/v1.0/robot/groupMessages/send", req)
		if err == nil {
			var key string
			key, err = decodeSendAnswer(status, body)
			if err == nil {
				keys = append(keys, key)
				o.env.Logger.Debug("dingtalk openapi part sent", "announcement", announcementID(m), "group", m.Group,
					"part", i+1, "parts", n, "process_query_key", key)
				if err := m.Delivered(ctx, i, n, key); err != nil {
					return groupcast.Receipt{}, err
				}
				continue
			}
		}
		class, code, pause := groupcast.Classify(err)
		o.env.Logger.Warn("dingtalk openapi send failed", "announcement", announcementID(m), "group", m.Group,
			"part", i+1, "parts", n, "class", class.String(), "code", code, "pause", pause, "err", err)
		return groupcast.Receipt{}, fmt.Errorf("dingtalk openapi %s part %d/%d: %w", o.account, i+1, n, err)
	}
	return groupcast.Receipt{Parts: n, MessageIDs: keys, SentAt: o.env.Now()}, nil
}

// decodeSendAnswer reads {"processQueryKey":"…"} or classifies the error.
func decodeSendAnswer(status int, body []byte) (string, error) {
	if status/100 != 2 {
		return "", classifyV1("send", status, body)
	}
	var a struct {
		ProcessQueryKey string `json:"processQueryKey"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.ProcessQueryKey == "" {
		// The message may or may not be posted; a retry risks a duplicate,
		// dropping it risks a loss. Delivery is at least once.
		return "", groupcast.Temporary("bad_answer", errors.New("send answer has no processQueryKey"))
	}
	return a.ProcessQueryKey, nil
}

type recallRequest struct {
	OpenConversationID string   `json:"openConversationId"`
	RobotCode          string   `json:"robotCode"`
	ProcessQueryKeys   []string `json:"processQueryKeys"`
}

type recallAnswer struct {
	SuccessResult []string          `json:"successResult"`
	FailedResult  map[string]string `json:"failedResult"`
}

// Recall takes back every part of a delivered receipt. Parts DingTalk
// refuses to recall make an error wrapping groupcast.ErrRecallUnsupported
// with DingTalk's reasons.
func (o *OpenAPI) Recall(ctx context.Context, group string, r groupcast.Receipt) error {
	if len(r.MessageIDs) == 0 {
		return fmt.Errorf("%w: the receipt has no processQueryKey", groupcast.ErrRecallUnsupported)
	}
	req := recallRequest{OpenConversationID: group, RobotCode: o.robotCode, ProcessQueryKeys: r.MessageIDs}
	status, body, err := o.authed(ctx, "/v1.0/robot/groupMessages/recall", req)
	if err != nil {
		return fmt.Errorf("dingtalk openapi %s recall: %w", o.account, err)
	}
	if err := decodeRecallAnswer(status, body, r.MessageIDs); err != nil {
		return fmt.Errorf("dingtalk openapi %s recall: %w", o.account, err)
	}
	return nil
}

// decodeRecallAnswer checks that every key was recalled.
func decodeRecallAnswer(status int, body []byte, keys []string) error {
	if status/100 != 2 {
		return classifyV1("recall", status, body)
	}
	var a recallAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return groupcast.Temporary("bad_answer", errors.New("recall answer is not JSON"))
	}
	ok := make(map[string]bool, len(a.SuccessResult))
	for _, k := range a.SuccessResult {
		ok[k] = true
	}
	var failed []string
	for _, k := range keys {
		if ok[k] {
			continue
		}
		reason := platformMessage(a.FailedResult[k])
		if reason == "" {
			reason = "not in successResult"
		}
		failed = append(failed, k+": "+reason)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: DingTalk did not recall %d of %d parts (%s)", groupcast.ErrRecallUnsupported,
			len(failed), len(keys), strings.Join(failed, "; "))
	}
	return nil
}
