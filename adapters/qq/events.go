package qq

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/groupcast/groupcast"
)

// The inbound side of OneBot v11: the events an implementation reports by
// HTTP POST (its "http-post" / 反向 HTTP reporter) or over its forward
// WebSocket, in one JSON shape (onebot-11 event/message.md, event/notice.md;
// go-cqhttp, NapCat and LLOneBot post the same fields):
//
//	{"time":1700000000,"self_id":10001,"post_type":"message","message_type":"group",
//	 "sub_type":"normal","message_id":42,"group_id":123456,"user_id":20002,
//	 "message":[{"type":"at","data":{"qq":"10001"}},{"type":"text","data":{"text":" 报名"}}],
//	 "raw_message":"[CQ:at,qq=10001] 报名","sender":{"user_id":20002,"nickname":"张三","card":""}}
//	{"time":…,"self_id":…,"post_type":"notice","notice_type":"group_increase",
//	 "sub_type":"approve","group_id":123456,"user_id":20003,"operator_id":0}
//
// "message" may be an array of segments or a string with CQ codes (the
// reporter's message format setting); NapCat reports the bot's own
// messages as post_type "message_sent". A signed POST carries
// "X-Signature: sha1=<hex HMAC-SHA1 of the body under the secret>".

// MaxEventBytes bounds an event body; a group message is far smaller.
const MaxEventBytes = 1 << 20

// ErrNotEvent is a well-formed report groupcast has no use for (a
// heartbeat, a private message, a notice of another kind): answered 204,
// nothing done.
var ErrNotEvent = errors.New("qq onebot: not a group message or member notice")

// CheckSignature reports whether header (X-Signature) is "sha1=" and the
// hex HMAC-SHA1 of body under secret, compared in constant time.
func CheckSignature(secret string, body []byte, header string) bool {
	hexSum, ok := strings.CutPrefix(strings.TrimSpace(header), "sha1=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// Sign is the X-Signature value of body under secret (the fake's side).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// report is the part of an OneBot event groupcast reads.
type report struct {
	Time        json.Number     `json:"time"`
	SelfID      eventID         `json:"self_id"`
	PostType    string          `json:"post_type"`
	MessageType string          `json:"message_type"`
	NoticeType  string          `json:"notice_type"`
	SubType     string          `json:"sub_type"`
	MessageID   eventID         `json:"message_id"`
	GroupID     eventID         `json:"group_id"`
	UserID      eventID         `json:"user_id"`
	OperatorID  eventID         `json:"operator_id"`
	Message     json.RawMessage `json:"message"`
	RawMessage  string          `json:"raw_message"`
	Sender      struct {
		Nickname string `json:"nickname"`
		Card     string `json:"card"`
	} `json:"sender"`
}

// eventID is an id field: a JSON integer or string; null or absent is "".
type eventID string

func (e *eventID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*e = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if !utf8.ValidString(s) || len(s) > 128 {
			return errors.New("an id must be valid UTF-8 of at most 128 bytes")
		}
		*e = eventID(s)
	default:
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return fmt.Errorf("%.40q is neither an integer nor a string", b)
		}
		*e = eventID(strconv.FormatInt(n, 10))
	}
	return nil
}

type inSegment struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

// DecodeEvent reads one OneBot v11 report into an inbound event of
// account. It answers ErrNotEvent for reports that are not a group message
// or a member join or leave, and an error naming the field for malformed
// ones.
func DecodeEvent(account string, body []byte) (groupcast.InboundEvent, error) {
	var r report
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return groupcast.InboundEvent{}, fmt.Errorf("qq onebot: event: %w", err)
	}
	if dec.More() {
		return groupcast.InboundEvent{}, errors.New("qq onebot: event: data after the JSON object")
	}
	ev := groupcast.InboundEvent{Platform: Platform.Name, Account: account, At: eventTime(r.Time)}
	switch {
	case (r.PostType == "message" || r.PostType == "message_sent") && r.MessageType == "group":
		ev.Kind = groupcast.EventMessage
		if r.MessageID == "" {
			return groupcast.InboundEvent{}, errors.New("qq onebot: event: message_id: required")
		}
		// Some implementations number messages afresh after a restart
		// (NapCat's short ids): the group and the report's time keep two
		// messages apart, and the same report delivered twice the same.
		ev.ID = fmt.Sprintf("msg:%s:%s:%s", r.GroupID, r.MessageID, r.Time)
		text, mentions, err := plainText(r.Message, r.RawMessage)
		if err != nil {
			return groupcast.InboundEvent{}, err
		}
		ev.Text, ev.Mentions = text, mentions
		ev.SenderName = r.Sender.Card
		if ev.SenderName == "" {
			ev.SenderName = r.Sender.Nickname
		}
		ev.Self = r.PostType == "message_sent" || (r.SelfID != "" && r.SelfID == r.UserID)
		for _, m := range mentions {
			if m == string(r.SelfID) && m != "" {
				ev.MentionsMe = true
			}
		}
	case r.PostType == "notice" && r.NoticeType == "group_increase":
		ev.Kind = groupcast.EventMemberJoined
		ev.Self = r.SelfID != "" && r.SelfID == r.UserID
	case r.PostType == "notice" && r.NoticeType == "group_decrease":
		ev.Kind = groupcast.EventMemberLeft
		ev.Self = r.SubType == "kick_me" || (r.SelfID != "" && r.SelfID == r.UserID)
	default:
		return groupcast.InboundEvent{}, ErrNotEvent
	}
	if r.GroupID == "" {
		return groupcast.InboundEvent{}, errors.New("qq onebot: event: group_id: required")
	}
	if r.UserID == "" {
		return groupcast.InboundEvent{}, errors.New("qq onebot: event: user_id: required")
	}
	ev.Group, ev.Sender = string(r.GroupID), string(r.UserID)
	if ev.Kind != groupcast.EventMessage {
		// Notices have no id: the same notice reported twice has the same
		// fields (its time is in seconds).
		ev.ID = fmt.Sprintf("%s:%s:%s:%s:%s", r.NoticeType, r.GroupID, r.UserID, r.Time, r.SubType)
	}
	return ev, nil
}

func eventTime(n json.Number) time.Time {
	if s, err := n.Int64(); err == nil && s > 0 && s < 1<<40 {
		return time.Unix(s, 0).UTC()
	}
	return time.Time{}
}

// plainText is a message's text without mentions, images and other
// non-text segments, and the user ids it mentions ("all" for @全体成员).
func plainText(msg json.RawMessage, raw string) (string, []string, error) {
	msg = bytes.TrimSpace(msg)
	switch {
	case len(msg) == 0 || bytes.Equal(msg, []byte("null")):
		return cqText(raw)
	case msg[0] == '"':
		var s string
		if err := json.Unmarshal(msg, &s); err != nil {
			return "", nil, fmt.Errorf("qq onebot: event: message: %w", err)
		}
		return cqText(s)
	case msg[0] == '[':
		var segs []inSegment
		if err := json.Unmarshal(msg, &segs); err != nil {
			return "", nil, fmt.Errorf("qq onebot: event: message: %w", err)
		}
		var b strings.Builder
		var mentions []string
		for _, s := range segs {
			switch s.Type {
			case "text":
				if t, ok := s.Data["text"].(string); ok {
					b.WriteString(t)
				}
			case "at":
				if q := dataString(s.Data["qq"]); q != "" {
					mentions = append(mentions, q)
				}
			}
		}
		return strings.TrimSpace(b.String()), mentions, nil
	default:
		return "", nil, errors.New("qq onebot: event: message: neither segments nor a string")
	}
}

func dataString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return fmt.Sprintf("%.0f", x)
	}
	return ""
}

// cqText reads a message in CQ-code form: "[CQ:type,key=value,…]" codes
// between text, with &amp; &#91; &#93; (and &#44; inside codes) escaped.
func cqText(s string) (string, []string, error) {
	var b strings.Builder
	var mentions []string
	for s != "" {
		i := strings.Index(s, "[CQ:")
		if i < 0 {
			b.WriteString(cqUnescape(s))
			break
		}
		b.WriteString(cqUnescape(s[:i]))
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return "", nil, errors.New("qq onebot: event: message: an unclosed CQ code")
		}
		code := s[i+4 : i+j]
		s = s[i+j+1:]
		typ, params, _ := strings.Cut(code, ",")
		if typ != "at" {
			continue
		}
		for _, kv := range strings.Split(params, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok && k == "qq" && v != "" {
				mentions = append(mentions, cqUnescape(v))
			}
		}
	}
	return strings.TrimSpace(b.String()), mentions, nil
}

var cqUnescaper = strings.NewReplacer("&#91;", "[", "&#93;", "]", "&#44;", ",", "&amp;", "&")

func cqUnescape(s string) string { return cqUnescaper.Replace(s) }
