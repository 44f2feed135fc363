// Package qq is the QQ platform: its Platform entry, the onebot driver (a
// client of a OneBot v11 implementation such as NapCat, Lagrange.OneBot or
// LLOneBot running beside groupcast, the recommended path) and what the QQ
// drivers share (group numbers, text limits). The legacy direct protocol
// client is its own package, adapters/qq/miraigo (this package and its
// tests no longer build MiraiGo). docs/platforms.md has the facts; limits.go
// has the numbers.
package qq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/internal/backoff"
	"github.com/groupcast/groupcast/transform"
)

// OneBotDriver is the onebot driver's table entry: a OneBot v11 HTTP API
// (NapCat, Lagrange.OneBot, LLOneBot) at base_url.
var OneBotDriver = adapters.Define("onebot", configs.DriverSpec{
	Platform: Platform,
	Groups:   configs.GroupsRequired,
	DefaultRate: configs.Rate{
		PerMinute: OneBotPerMinute,
		MinGap:    OneBotMinGap,
		MaxGap:    OneBotMaxGap,
	},
	CheckGroup: CheckGroup,
}, func(ac configs.Account, c OneBotConfig, env adapters.Env) (groupcast.Sender, error) {
	o, err := NewOneBot(c, env)
	if err != nil {
		return nil, err
	}
	o.account = ac.Name
	return o, nil
})

// OneBot sends to QQ groups through a OneBot v11 HTTP API. It is safe for
// concurrent use.
type OneBot struct {
	base      string
	token     configs.Secret
	forward   bool
	partChars int
	client    *http.Client
	log       *slog.Logger
	pacer     adapters.Pacer
	now       func() time.Time
	org       string
	after     func(time.Duration) <-chan time.Time
	wsURL     string
	account   string
	keepAlive time.Duration // forward WebSocket: the ping interval (0: ListenKeepAlive)

	noForward atomic.Bool // the implementation answered 404 to send_group_forward_msg

	mu      sync.Mutex
	ready   error
	selfID  string
	selfNic string
}

var (
	_ groupcast.Sender   = (*OneBot)(nil)
	_ groupcast.Recaller = (*OneBot)(nil)
	_ groupcast.Parter   = (*OneBot)(nil)
	_ groupcast.Starter  = (*OneBot)(nil)
	_ groupcast.Readier  = (*OneBot)(nil)
	_ groupcast.Listener = (*OneBot)(nil)
)

// NewOneBot builds the sender for one account. It does no I/O.
func NewOneBot(c OneBotConfig, env adapters.Env) (*OneBot, error) {
	if problems := c.Check(); len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	if c.BaseURL == "" {
		return nil, errors.New("base_url: required by driver onebot")
	}
	env = env.WithDefaults()
	parts := c.PartChars
	if parts == 0 {
		parts = DefaultPartChars
	}
	return &OneBot{
		base:      trimBase(c.BaseURL),
		token:     c.AccessToken,
		forward:   c.Forward,
		partChars: parts,
		client:    env.HTTPClient,
		log:       env.Logger,
		pacer:     env.Pacer,
		now:       env.Now,
		org:       env.Org,
		after:     time.After,
		wsURL:     c.WSURL,
		ready:     errors.New("qq onebot: not connected yet (get_login_info pending)"),
	}, nil
}

// request is one planned platform request and the text a member sees.
type request struct {
	action string
	body   []byte
	text   string
}

// Parts returns the texts Send posts, one per request: each part of a long
// text, or the whole forward message (its nodes joined by blank lines) and
// the at-all pointer after it.
func (o *OneBot) Parts(r groupcast.Rendered) ([]string, error) {
	reqs, err := o.plan(1, r, o.useForward())
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(reqs))
	for i, q := range reqs {
		texts[i] = q.text
	}
	return texts, nil
}

func (o *OneBot) useForward() bool { return o.forward && !o.noForward.Load() }

// plan turns a rendered announcement into requests. Text over part_chars is
// split into numbered parts; with forward, more than one part becomes one
// forward message whose nodes are the parts. Images ride with the last part
// (or node); an at-all mention leads the first part, or, for a forward
// message (which cannot mention anyone), follows it as a short pointer.
func (o *OneBot) plan(group int64, r groupcast.Rendered, forward bool) ([]request, error) {
	var parts []string
	if strings.TrimSpace(r.Text) != "" {
		var err error
		parts, err = transform.Split(r.Text, o.partChars, transform.Chars)
		if err != nil {
			return nil, groupcast.Permanent("split", fmt.Errorf("qq onebot: %w", err))
		}
	}
	var images []segment
	for _, im := range r.Images {
		images = append(images, imageSeg(im.URL))
	}
	if len(parts) == 0 && len(images) == 0 {
		return nil, groupcast.Permanent("empty", errors.New("qq onebot: nothing to send: no text and no images"))
	}
	if forward && len(parts) > 1 {
		return o.planForward(group, r, parts, images)
	}
	if len(parts) == 0 {
		parts = []string{""}
	}
	reqs := make([]request, 0, len(parts))
	for i, p := range parts {
		var segs []segment
		text := p
		if i == 0 && r.MentionAll {
			segs = append(segs, atAllSeg())
			if p != "" {
				p = " " + p
			}
			text = AtAllDisplay + p
		}
		if p != "" {
			segs = append(segs, textSeg(p))
		}
		if i == len(parts)-1 {
			segs = append(segs, images...)
		}
		body, err := encodeJSON(sendGroupMsg{GroupID: group, Message: segs})
		if err != nil {
			return nil, groupcast.Permanent("encode", err)
		}
		reqs = append(reqs, request{action: actionSendGroupMsg, body: body, text: text})
	}
	return reqs, nil
}

func (o *OneBot) planForward(group int64, r groupcast.Rendered, parts []string, images []segment) ([]request, error) {
	uin, name := o.nodeSender()
	nodes := make([]segment, len(parts))
	for i, p := range parts {
		content := []segment{textSeg(p)}
		if i == len(parts)-1 {
			content = append(content, images...)
		}
		nodes[i] = nodeSeg(uin, name, content)
	}
	body, err := encodeJSON(sendGroupForwardMsg{GroupID: group, Messages: nodes})
	if err != nil {
		return nil, groupcast.Permanent("encode", err)
	}
	reqs := []request{{action: actionSendGroupForwardMsg, body: body, text: strings.Join(parts, "\n\n")}}
	if r.MentionAll {
		title := strings.TrimSpace(r.Title)
		if title == "" {
			title = "公告"
		}
		pointer := " 【" + title + "】详见上方聊天记录"
		body, err := encodeJSON(sendGroupMsg{GroupID: group, Message: []segment{atAllSeg(), textSeg(pointer)}})
		if err != nil {
			return nil, groupcast.Permanent("encode", err)
		}
		reqs = append(reqs, request{action: actionSendGroupMsg, body: body, text: AtAllDisplay + pointer})
	}
	return reqs, nil
}

// nodeSender is who the forward nodes show as the speaker: the bot's own
// number (so its avatar shows) and the org, else the bot's nickname.
func (o *OneBot) nodeSender() (uin, name string) {
	o.mu.Lock()
	uin, name = o.selfID, o.selfNic
	o.mu.Unlock()
	if uin == "" {
		uin = "10000"
	}
	if o.org != "" {
		name = o.org
	}
	if name == "" {
		name = "公告"
	}
	return uin, name
}

// Send posts one rendered announcement to one group, part by part, waiting
// for the account's pacer before every request.
func (o *OneBot) Send(ctx context.Context, m groupcast.Outgoing) (groupcast.Receipt, error) {
	group, err := ParseGroup(m.Group)
	if err != nil {
		return groupcast.Receipt{}, groupcast.Permanent("bad_group", fmt.Errorf("qq onebot: %w", err))
	}
	forward := o.useForward()
	if forward {
		o.learnSelf(ctx)
	}
	for {
		reqs, err := o.plan(group, m.Rendered, forward)
		if err != nil {
			return groupcast.Receipt{}, err
		}
		ids, err := o.sendAll(ctx, m, reqs)
		if err != nil && forward && errors.Is(err, errUnsupported) && len(ids) == 0 {
			// docs/platforms.md: no send_group_forward_msg here; fall
			// back to parts for this and every later announcement.
			o.noForward.Store(true)
			forward = false
			o.log.Warn("send_group_forward_msg is not supported by this OneBot implementation; sending long content as parts",
				"announcement", announcementID(m), "group", m.Group)
			continue
		}
		if err != nil {
			return groupcast.Receipt{}, err
		}
		return groupcast.Receipt{Parts: len(ids), MessageIDs: ids, SentAt: o.now()}, nil
	}
}

func announcementID(m groupcast.Outgoing) string {
	if m.Announcement != nil {
		return m.Announcement.ID
	}
	return ""
}

// sendAll posts the requests not yet posted for this delivery, in order:
// a retry resumes after the parts an earlier attempt delivered (recorded
// with the target through m.Delivered).
func (o *OneBot) sendAll(ctx context.Context, m groupcast.Outgoing, reqs []request) ([]string, error) {
	start := m.Resume(len(reqs))
	ids := append([]string(nil), m.Done[:start]...)
	if len(ids) > 0 {
		o.log.Info("resuming a partly sent announcement", "announcement", announcementID(m), "group", m.Group,
			"parts_sent", len(ids), "parts", len(reqs))
	}
	for i := len(ids); i < len(reqs); i++ {
		q := reqs[i]
		if err := o.pacer.Wait(ctx); err != nil {
			return nil, groupcast.Temporary("timeout", fmt.Errorf("waiting for the pacer: %w", err))
		}
		data, err := o.call(ctx, q.action, q.body)
		if err != nil {
			if len(ids) > 0 {
				err = fmt.Errorf("part %d of %d: %w", i+1, len(reqs), err)
			}
			return nil, err
		}
		id, err := decodeMessageID(q.action, data)
		if err != nil {
			// It was delivered (retcode 0): record it without an id rather
			// than post it again.
			o.log.Warn("message sent but its id is unreadable; it cannot be recalled", "announcement", announcementID(m),
				"group", m.Group, "part", i+1, "error", err)
		}
		if id == "" && err == nil {
			o.log.Warn("the OneBot implementation queued the message (async) without an id; it cannot be recalled",
				"announcement", announcementID(m), "group", m.Group, "part", i+1)
		}
		ids = append(ids, string(id))
		o.log.Debug("sent", "announcement", announcementID(m), "group", m.Group, "action", q.action, "part", i+1, "parts", len(reqs), "message_id", string(id))
		if err := m.Delivered(ctx, i, len(reqs), string(id)); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// Recall deletes every part of a delivered announcement with delete_msg.
// It tries every part even when one fails, and reports the first failure.
func (o *OneBot) Recall(ctx context.Context, group string, r groupcast.Receipt) error {
	var first error
	failed := 0
	for i, id := range r.MessageIDs {
		if id == "" {
			failed++
			if first == nil {
				first = fmt.Errorf("%w: part %d was queued without a message id", groupcast.ErrRecallUnsupported, i+1)
			}
			continue
		}
		if err := o.pacer.Wait(ctx); err != nil {
			return groupcast.Temporary("timeout", fmt.Errorf("qq onebot: recall: %w", err))
		}
		body, err := encodeJSON(deleteMsg{MessageID: MessageID(id)})
		if err == nil {
			_, err = o.call(ctx, actionDeleteMsg, body)
		}
		if err != nil {
			failed++
			o.log.Warn("recall failed", "group", group, "part", i+1, "message_id", id, "error", err)
			if first == nil {
				first = err
			}
		}
	}
	if first == nil {
		return nil
	}
	if failed > 1 {
		return fmt.Errorf("qq onebot: recall: %d of %d parts failed, first: %w", failed, len(r.MessageIDs), first)
	}
	return fmt.Errorf("qq onebot: recall: %w", first)
}

// maxAnswer bounds what is read of an answer.
const maxAnswer = 1 << 20

// call posts one action and decodes its answer. Errors never carry the
// token or the request URL.
func (o *OneBot) call(ctx context.Context, action string, body []byte) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.base+"/"+action, bytes.NewReader(body))
	if err != nil {
		return nil, groupcast.Permanent("bad_request", fmt.Errorf("qq onebot: %s: cannot build the request", action))
	}
	req.Header.Set("Content-Type", "application/json")
	if tok := o.token.Reveal(); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		err = StripURL(err)
		if ctx.Err() != nil {
			return nil, groupcast.Temporary("timeout", fmt.Errorf("qq onebot: %s: %w", action, err))
		}
		return nil, groupcast.Temporary("network", fmt.Errorf("qq onebot: %s: %w", action, err))
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, groupcast.Temporary("network", fmt.Errorf("qq onebot: %s: reading the answer: %w", action, StripURL(err)))
	}
	data, err := decodeAnswer(action, resp.StatusCode, answer)
	if err != nil {
		return nil, fmt.Errorf("qq onebot: %w", err)
	}
	return data, nil
}

// StripURL drops the request URL that *url.Error carries.
func StripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Start checks the OneBot implementation with get_login_info, then again
// every minute (with backoff while it fails), so that Ready reflects a
// sidecar that went away or logged out. It returns when ctx ends.
func (o *OneBot) Start(ctx context.Context) error {
	bo := backoff.Backoff{Min: BackoffMin, Max: BackoffMax} // jittered, so sidecars that fell together are not probed together
	for {
		wait := ProbeEvery
		if err := o.probe(ctx); err != nil {
			wait = bo.Next()
		} else {
			bo.Reset()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-o.after(wait):
		}
	}
}

func (o *OneBot) probe(ctx context.Context) error {
	data, err := o.call(ctx, actionGetLoginInfo, []byte("{}")) // its errors say "qq onebot:" already
	var li loginInfo
	if err == nil {
		if li, err = decodeLoginInfo(data); err != nil {
			err = fmt.Errorf("qq onebot: %w", err)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	o.mu.Lock()
	was := o.ready
	if err != nil {
		o.ready = err
	} else {
		o.ready = nil
		o.selfID, o.selfNic = li.UserID.String(), li.Nickname
	}
	o.mu.Unlock()
	switch {
	case err != nil && (was == nil || was.Error() != o.Ready().Error()):
		o.log.Warn("OneBot implementation not ready", "error", err)
	case err == nil && was != nil:
		o.log.Info("OneBot implementation ready", "self_id", li.UserID.String(), "nickname", li.Nickname)
	}
	return err
}

// learnSelf asks get_login_info once, for the forward nodes' speaker, when
// Start has not yet.
func (o *OneBot) learnSelf(ctx context.Context) {
	o.mu.Lock()
	known := o.selfID != ""
	o.mu.Unlock()
	if !known {
		_ = o.probe(ctx)
	}
}

// Ready is nil once get_login_info has answered, else why not.
func (o *OneBot) Ready() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ready
}
