package qq

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/groupcast/groupcast"
)

// The OneBot v11 wire: segments, nodes, the answer envelope and what each
// answer means for delivery. Everything here is pure so that the decoders
// can be fuzzed.

// segment is one element of an array-form message. Every data value is a
// string, except a node's content. [V] onebot-11 message/array.md.
type segment struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

type textData struct {
	Text string `json:"text"`
}

type imageData struct {
	File string `json:"file"`
}

type atData struct {
	QQ string `json:"qq"`
}

// nodeData is a custom forward node. Both name pairs are sent: user_id and
// nickname are OneBot v11's, uin and name go-cqhttp's, and implementations
// read one or the other (docs/platforms.md).
type nodeData struct {
	UserID   string    `json:"user_id"`
	Nickname string    `json:"nickname"`
	UIN      string    `json:"uin"`
	Name     string    `json:"name"`
	Content  []segment `json:"content"`
}

func textSeg(s string) segment    { return segment{Type: "text", Data: textData{Text: s}} }
func imageSeg(url string) segment { return segment{Type: "image", Data: imageData{File: url}} }
func atAllSeg() segment           { return segment{Type: "at", Data: atData{QQ: "all"}} }

func nodeSeg(uin, name string, content []segment) segment {
	return segment{Type: "node", Data: nodeData{UserID: uin, Nickname: name, UIN: uin, Name: name, Content: content}}
}

type sendGroupMsg struct {
	GroupID int64     `json:"group_id"`
	Message []segment `json:"message"`
}

type sendGroupForwardMsg struct {
	GroupID  int64     `json:"group_id"`
	Messages []segment `json:"messages"`
}

type deleteMsg struct {
	MessageID MessageID `json:"message_id"`
}

// encodeJSON writes v without HTML escaping: '<', '>' and '&' stay one byte
// each as the user wrote them (docs/platforms.md).
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// MessageID is a OneBot message id. The spec says int32 and Lagrange
// returns a number, but some implementations return strings
// (docs/platforms.md), so it decodes from either and keeps the text. It encodes back as a
// JSON number when it is an integer, as the spec's delete_msg expects, and
// as a string otherwise.
type MessageID string

// UnmarshalJSON accepts a JSON number (integer) or a non-empty string.
func (m *MessageID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return errors.New("message_id is missing")
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("message_id: %w", err)
		}
		if s == "" || !utf8.ValidString(s) {
			return errors.New("message_id is an empty or invalid string")
		}
		*m = MessageID(s)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("message_id %.40q is neither an integer nor a string", b)
	}
	*m = MessageID(strconv.FormatInt(n, 10))
	return nil
}

// MarshalJSON writes an integer id as a number and anything else as a string.
func (m MessageID) MarshalJSON() ([]byte, error) {
	if n, ok := m.integer(); ok {
		return []byte(strconv.FormatInt(n, 10)), nil
	}
	return json.Marshal(string(m))
}

func (m MessageID) integer() (int64, bool) {
	s := strings.TrimPrefix(string(m), "-")
	if s == "" || (s[0] == '0' && (len(s) > 1 || len(m) > 1)) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(m), 10, 64)
	return n, err == nil
}

// envelope is every OneBot answer. go-cqhttp puts the reason in msg and
// wording, NapCat in message and wording.
type envelope struct {
	Status  string          `json:"status"`
	Retcode *int64          `json:"retcode"`
	Data    json.RawMessage `json:"data"`
	Msg     string          `json:"msg"`
	Message string          `json:"message"`
	Wording string          `json:"wording"`
}

func (e *envelope) reason() string {
	var parts []string
	for _, s := range []string{e.Msg, e.Message, e.Wording} {
		s = strings.TrimSpace(s)
		if s != "" && !containsString(parts, s) {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "no reason given (see the OneBot implementation's log)"
	}
	return LimitText(strings.Join(parts, ": "), 300)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// LimitText shortens s to at most n runes for an error message.
func LimitText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// errUnsupported marks an action the implementation does not have (HTTP 404
// or retcode 1404): the forward message falls back to parts.
var errUnsupported = errors.New("action not supported by this OneBot implementation")

// decodeAnswer reads one OneBot answer to action and classifies a failure.
// It returns the data of a successful answer (nil for an async one).
func decodeAnswer(action string, httpStatus int, body []byte) (json.RawMessage, error) {
	switch {
	case httpStatus == http.StatusUnauthorized:
		return nil, groupcast.Permanent("http_401", fmt.Errorf("%s: the OneBot implementation wants an access token: set access_token to its token", action))
	case httpStatus == http.StatusForbidden:
		return nil, groupcast.Permanent("http_403", fmt.Errorf("%s: the OneBot implementation rejected the access token", action))
	case httpStatus == http.StatusNotFound:
		return nil, groupcast.Permanent("http_404", fmt.Errorf("%s: %w", action, errUnsupported))
	case httpStatus == http.StatusTooManyRequests:
		return nil, groupcast.Throttled("http_429", HTTP429Pause, fmt.Errorf("%s: HTTP 429 too many requests", action))
	case httpStatus == http.StatusRequestTimeout || httpStatus >= 500:
		return nil, groupcast.Temporary(fmt.Sprintf("http_%d", httpStatus), fmt.Errorf("%s: HTTP %d from the OneBot implementation", action, httpStatus))
	case httpStatus >= 400:
		return nil, groupcast.Permanent(fmt.Sprintf("http_%d", httpStatus), fmt.Errorf("%s: HTTP %d: the request was refused as malformed", action, httpStatus))
	case httpStatus < 200 || httpStatus > 299:
		return nil, groupcast.Temporary(fmt.Sprintf("http_%d", httpStatus), fmt.Errorf("%s: unexpected HTTP %d", action, httpStatus))
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil || env.Retcode == nil {
		// A proxy's error page or a truncated answer: nothing says the
		// action failed, and nothing says it succeeded.
		return nil, groupcast.Temporary("bad_answer", fmt.Errorf("%s: the answer is not a OneBot envelope: %.80q", action, body))
	}
	code := *env.Retcode
	status := strings.ToLower(strings.TrimSpace(env.Status))
	switch {
	case code == retcodeOK && (status == "ok" || status == ""):
		return env.Data, nil
	case code == retcodeAsync || status == "async":
		return nil, nil
	}
	rc := fmt.Sprintf("retcode_%d", code)
	err := fmt.Errorf("%s failed (retcode %d): %s", action, code, env.reason())
	switch code {
	case retcodeNoToken, retcodeBadToken:
		return nil, groupcast.Permanent(rc, fmt.Errorf("%s: the access token was refused", action))
	case retcodeNoSuchThing:
		return nil, groupcast.Permanent(rc, fmt.Errorf("%s: %w", action, errUnsupported))
	case retcodeBadRequest:
		return nil, groupcast.Permanent(rc, err)
	}
	text := strings.ToLower(env.Msg + " " + env.Message + " " + env.Wording)
	switch {
	case strings.Contains(text, strings.ToLower(msgGroupNotFound)):
		return nil, groupcast.Permanent(rc, err)
	case strings.Contains(text, strings.ToLower(msgSendAPIError)) || containsAny(text, riskWords):
		return nil, groupcast.Throttled(rc, RiskPause, err)
	case containsAny(text, []string{"未登录", "not logged", "offline", "离线", "not online"}):
		// The QQ client behind the API is not logged in: nothing was sent.
		return nil, groupcast.Temporary(rc, err)
	}
	// Any other failure: the reason is in the implementation's log. A retry
	// could post the message twice (docs/platforms.md), so it is final.
	return nil, groupcast.Permanent(rc, err)
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// decodeMessageID reads {"message_id": …} from a send answer's data. An
// async answer has no data and no id.
func decodeMessageID(action string, data json.RawMessage) (MessageID, error) {
	if len(data) == 0 || string(data) == "null" {
		return "", nil
	}
	var d struct {
		MessageID *MessageID `json:"message_id"`
	}
	if err := json.Unmarshal(data, &d); err != nil || d.MessageID == nil {
		msg := "no message_id"
		if err != nil {
			msg = err.Error()
		}
		// The message went out (retcode 0) but its id is unreadable:
		// retrying would post it again, recall is impossible.
		return "", fmt.Errorf("%s: succeeded but %s", action, msg)
	}
	return *d.MessageID, nil
}

// loginInfo is get_login_info's data.
type loginInfo struct {
	UserID   json.Number `json:"user_id"`
	Nickname string      `json:"nickname"`
}

func decodeLoginInfo(data json.RawMessage) (loginInfo, error) {
	var li loginInfo
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&li); err != nil {
		return loginInfo{}, fmt.Errorf("get_login_info: unreadable data: %w", err)
	}
	if _, err := strconv.ParseInt(li.UserID.String(), 10, 64); err != nil {
		return loginInfo{}, fmt.Errorf("get_login_info: user_id %q is not a number", li.UserID)
	}
	return li, nil
}
