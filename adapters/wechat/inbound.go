package wechat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/groupcast/groupcast"
)

// Incoming is one group message or system note the logged-in account
// received (webclient.go reads it from openwechat's sync loop).
type Incoming struct {
	ID    string // the web protocol's MsgId
	Group string // the group's name (NickName), as routes name groups
	// SenderUser is the sender's session id ("@…", changes at every
	// login); SenderNick their WeChat nickname; SenderName the name they
	// show in the group (their group alias, else the nickname).
	SenderUser string
	SenderNick string
	SenderName string
	// Text is the message's text (HTML entities and <br/> decoded), or the
	// system note.
	Text       string
	System     bool // a system note (MsgType 10000): joins, removals …
	Self       bool // sent by this account (from the phone or by groupcast)
	MentionsMe bool
	At         time.Time
}

// inboundTarget is where the driver hands events, set by Listen.
type inboundTarget struct {
	ctx  context.Context
	sink groupcast.InboundSink
}

var _ groupcast.Listener = (*OpenWeChat)(nil)

// Listen hands the account's group messages and member join/leave notes,
// as inbound events, to sink until ctx ends. The events come from the
// session's own sync loop (the one that keeps the login alive), so Listen
// starts no connection: while the account is logged out there are none.
func (w *OpenWeChat) Listen(ctx context.Context, sink groupcast.InboundSink) error {
	if sink == nil {
		return errors.New("wechat listen: no sink")
	}
	w.mu.Lock()
	if w.inbound != nil {
		w.mu.Unlock()
		return errors.New("wechat listen: already listening")
	}
	w.inbound = &inboundTarget{ctx: ctx, sink: sink}
	w.mu.Unlock()
	<-ctx.Done()
	w.mu.Lock()
	w.inbound = nil
	w.mu.Unlock()
	return nil
}

// incoming is called by the session's sync loop for each group message.
func (w *OpenWeChat) incoming(in Incoming) {
	w.mu.Lock()
	t := w.inbound
	w.mu.Unlock()
	evs := inboundEvents(w.name, in)
	if t == nil {
		if len(evs) > 0 {
			w.env.Logger.Debug("wechat inbound event dropped: nobody listens", "group", in.Group, "kind", evs[0].Kind)
		}
		return
	}
	for _, ev := range evs {
		if err := t.sink.Inbound(t.ctx, ev); err != nil {
			w.env.Logger.Warn("wechat inbound event not taken", "group", ev.Group, "kind", ev.Kind, "reason", err.Error())
		}
	}
}

// MemberID is the stable id groupcast gives a WeChat member: the web
// protocol's user ids change at every login, so it is derived from the
// name (a member who renames gets a new id).
func MemberID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "wxn-" + hex.EncodeToString(sum[:8])
}

// inboundEvents turns what the sync loop received into events: a text
// message is one EventMessage; a join or removal note one
// EventMemberJoined or EventMemberLeft per member it names; other notes
// (renames, pats, red packets) none.
func inboundEvents(account string, in Incoming) []groupcast.InboundEvent {
	if in.Group == "" {
		return nil
	}
	base := groupcast.InboundEvent{Platform: Platform.Name, Account: account, Group: in.Group, At: in.At}
	if !in.System {
		ev := base
		ev.Kind, ev.ID = groupcast.EventMessage, in.ID
		if ev.ID == "" {
			ev.ID = derivedID(in, "message", in.Text)
		}
		nick := in.SenderNick
		if nick == "" {
			nick = in.SenderName
		}
		if nick != "" {
			ev.Sender = MemberID(nick)
		} else {
			ev.Sender = in.SenderUser
		}
		ev.SenderName = in.SenderName
		if ev.SenderName == "" {
			ev.SenderName = nick
		}
		var names []string
		ev.Text, names = splitMentions(in.Text)
		for _, n := range names {
			ev.Mentions = append(ev.Mentions, MemberID(n))
		}
		ev.MentionsMe, ev.Self = in.MentionsMe && !in.Self, in.Self
		return []groupcast.InboundEvent{ev}
	}
	kind, names := ParseMemberNote(in.Text)
	if kind == "" {
		return nil
	}
	id := in.ID
	if id == "" {
		id = derivedID(in, kind, in.Text)
	}
	out := make([]groupcast.InboundEvent, 0, len(names))
	for i, n := range names {
		ev := base
		ev.Kind, ev.Sender, ev.SenderName = kind, MemberID(n), n
		ev.ID = id
		if len(names) > 1 {
			ev.ID = id + "/" + strconv.Itoa(i+1)
		}
		out = append(out, ev)
	}
	return out
}

// derivedID stands in for a missing MsgId: the same note synced twice
// gets the same id.
func derivedID(in Incoming, kind, text string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + in.Group + "\x00" + text + "\x00" + strconv.FormatInt(in.At.Unix(), 10)))
	return "wx-" + hex.EncodeToString(sum[:10])
}

// The system notes web WeChat shows in a group when members come and go,
// as openwechat hands them over (HTML decoded). Names are quoted; several
// invited at once are separated by 、. A note may end in a link ("撤销").
var (
	noteInvitedSelf = regexp.MustCompile(`^"(.+?)"邀请你`) // this account joined: no member event
	// memberNotes are tried in order; name is the submatch with the names.
	memberNotes = []struct {
		re   *regexp.Regexp
		kind string
		name int
	}{
		{regexp.MustCompile(`^"(.+?)"邀请"(.+)"加入了群聊`), groupcast.EventMemberJoined, 2},
		{regexp.MustCompile(`^你邀请"(.+)"加入了群聊`), groupcast.EventMemberJoined, 1},
		{regexp.MustCompile(`^"(.+)"通过扫描"(.+?)"分享的二维码加入群聊`), groupcast.EventMemberJoined, 1},
		{regexp.MustCompile(`^"(.+)"通过扫描二维码加入群聊`), groupcast.EventMemberJoined, 1},
		{regexp.MustCompile(`^"(.+?)"将"(.+)"移出了群聊`), groupcast.EventMemberLeft, 2},
		{regexp.MustCompile(`^你将"(.+)"移出了群聊`), groupcast.EventMemberLeft, 1},
		{regexp.MustCompile(`^"(.+)"(?:退出|离开)了群聊`), groupcast.EventMemberLeft, 1},
		{regexp.MustCompile(`^"(.+)"加入了群聊`), groupcast.EventMemberJoined, 1},
	}
)

// ParseMemberNote reads a group system note: EventMemberJoined or
// EventMemberLeft and the names of the members it is about, or "" when
// the note is about something else (or about this account itself).
func ParseMemberNote(note string) (kind string, names []string) {
	note = strings.TrimSpace(strings.NewReplacer("“", `"`, "”", `"`, "＂", `"`).Replace(note))
	// Only the first line is the note; a link or a second sentence may follow.
	note, _, _ = strings.Cut(note, "\n")
	if noteInvitedSelf.MatchString(note) {
		return "", nil
	}
	var list string
	for _, n := range memberNotes {
		if m := n.re.FindStringSubmatch(note); m != nil {
			kind, list = n.kind, m[n.name]
			break
		}
	}
	if kind == "" {
		return "", nil
	}
	for _, n := range strings.Split(list, "、") {
		n = strings.TrimSpace(strings.Trim(strings.TrimSpace(n), `"`))
		if n != "" && n != "你" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	return kind, names
}

// splitMentions removes the @-mentions from a message's text: web WeChat
// writes each as "@name" followed by U+2005 (a four-per-em space). It
// returns the plain text and the names mentioned.
func splitMentions(text string) (string, []string) {
	var b strings.Builder
	var names []string
	rest := text
	for {
		i := strings.IndexByte(rest, '@')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.Index(rest[i+1:], "\u2005")
		name := ""
		if j >= 0 {
			name = rest[i+1 : i+1+j]
		}
		if name == "" || strings.ContainsAny(name, "@\n") {
			b.WriteString(rest[:i+1])
			rest = rest[i+1:]
			continue
		}
		b.WriteString(rest[:i])
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		rest = rest[i+1+j+len("\u2005"):]
	}
	return strings.TrimSpace(b.String()), names
}
