package inbound

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
)

// compiled are a configuration's rules, ready to match.
type compiled struct {
	cfg     *configs.Config
	replies []replyRule
	welcome []welcomeRule
}

type scope struct {
	accounts, platforms, groups []string
}

func (s scope) matches(ev groupcast.InboundEvent) bool {
	if len(s.accounts) > 0 && !slices.Contains(s.accounts, ev.Account) {
		return false
	}
	if len(s.platforms) > 0 && !slices.Contains(s.platforms, ev.Platform) {
		return false
	}
	if len(s.groups) > 0 && !slices.Contains(s.groups, ev.Group) {
		return false
	}
	return true
}

type replyRule struct {
	configs.Reply
	scope
	keywords []string // lower-cased
	pattern  *regexp.Regexp
	text     *template.Template
}

func (r *replyRule) matches(text string) bool {
	if r.pattern != nil {
		return r.pattern.MatchString(text)
	}
	lower := strings.ToLower(text)
	return slices.ContainsFunc(r.keywords, func(k string) bool { return strings.Contains(lower, k) })
}

type welcomeRule struct {
	configs.Welcome
	scope
	text  *template.Template
	names bool // the text names the members itself (.Names or .Members)
}

// compile compiles cfg's rules once per configuration. Load validated
// them and set the default cooldown and batch; a rule that still does not compile is left out and logged.
func (h *Hub) compile(cfg *configs.Config) *compiled {
	if c := h.rules.Load(); c != nil && c.cfg == cfg {
		return c
	}
	c := &compiled{cfg: cfg}
	for _, r := range cfg.Replies {
		rr := replyRule{Reply: r, scope: scope{r.Accounts, r.Platforms, r.Groups}}
		for _, k := range r.Keywords {
			rr.keywords = append(rr.keywords, strings.ToLower(k))
		}
		var err error
		if r.Pattern != "" {
			if rr.pattern, err = regexp.Compile(r.Pattern); err != nil {
				h.log.Error("reply rule left out", "rule", r.Name, "err", err)
				continue
			}
		}
		if rr.text, err = configs.ParseInboundText(r.Name, r.Text); err != nil {
			h.log.Error("reply rule left out", "rule", r.Name, "err", err)
			continue
		}
		c.replies = append(c.replies, rr)
	}
	for _, w := range cfg.Welcome {
		wr := welcomeRule{Welcome: w, scope: scope{w.Accounts, w.Platforms, w.Groups},
			names: strings.Contains(w.Text, ".Names") || strings.Contains(w.Text, ".Members")}
		var err error
		if wr.text, err = configs.ParseInboundText(w.Name, w.Text); err != nil {
			h.log.Error("welcome rule left out", "rule", w.Name, "err", err)
			continue
		}
		c.welcome = append(c.welcome, wr)
	}
	h.rules.Store(c)
	return c
}

// cooldown is a reply rule's last reply to a group.
type cooldown struct {
	At time.Time `json:"at"`
}

// reply answers a group message with the first reply rule that matches
// it, unless the event was handled before or that rule answered the group
// within its cooldown (on any replica: both claims are made in the
// store). The account's own messages, empty ones and those no rule
// matches are taken without touching the store.
func (h *Hub) reply(ctx context.Context, eng Engine, cfg *configs.Config, ev groupcast.InboundEvent) {
	c := h.compile(cfg)
	text := strings.TrimSpace(ev.Text)
	i := -1
	if !ev.Self && text != "" {
		i = slices.IndexFunc(c.replies, func(r replyRule) bool { return r.scope.matches(ev) && r.matches(text) })
	}
	if i < 0 {
		h.m.events.WithLabelValues(ev.Account, "taken").Inc()
		return
	}
	if !h.first(ctx, ev) {
		return
	}
	r := &c.replies[i]
	now := h.clock.Now()
	cdKey := "cooldown." + r.Name + "." + groupKey(ev.Account, ev.Group)
	claimed, err := h.claim(ctx, cdKey, now, r.Cooldown)
	if err != nil {
		h.m.replies.WithLabelValues(r.Name, "failed").Inc()
		h.log.Error("auto-reply not sent: the cooldown cannot be read", "rule", r.Name, "account", ev.Account,
			"group", ev.Group, "event", ev.ID, "err", err)
		h.release(ctx, ev)
		return
	}
	if !claimed {
		h.m.replies.WithLabelValues(r.Name, "cooldown").Inc()
		h.log.Debug("auto-reply in cooldown", "rule", r.Name, "account", ev.Account, "group", ev.Group, "event", ev.ID)
		return
	}
	sender := ev.SenderName
	if sender == "" {
		sender = ev.Sender
	}
	var b strings.Builder
	if err := r.text.Execute(&b, configs.ReplyData{Sender: sender, SenderID: ev.Sender, Group: ev.Group, Text: text}); err != nil {
		h.m.replies.WithLabelValues(r.Name, "failed").Inc()
		h.log.Error("auto-reply not sent: its text fails", "rule", r.Name, "event", ev.ID, "err", err)
		return
	}
	id := "reply-" + r.Name + "-" + digest(ev.Account, ev.Group, ev.ID)
	if h.submit(ctx, eng, "reply", r.Name, id, b.String(), ev.Account, ev.Group,
		"event", ev.ID, "sender", ev.Sender) != nil {
		// Not accepted: nothing was answered, so the group's turn and
		// the event go back (a redelivery or the next matching
		// message gets the reply). Better to act twice than never:
		// the reply's id derives from the event, a second submit of
		// the same one is the same message.
		h.unclaim(ctx, cdKey, now)
		h.release(ctx, ev)
	}
}

// release forgets that an event was handled (its reply failed), so a
// redelivery is handled again.
func (h *Hub) release(ctx context.Context, ev groupcast.InboundEvent) {
	if err := h.st.DeleteJSON(ctx, dedupKey(ev.Account, ev.ID)); err != nil {
		h.log.Warn("inbound event not released after a failed reply", "account", ev.Account, "event", ev.ID, "err", err)
	}
}

// claim takes a rule's turn in a group: true when nothing was claimed
// within window before now (and now is recorded), false otherwise.
func (h *Hub) claim(ctx context.Context, key string, now time.Time, window time.Duration) (bool, error) {
	var cd cooldown
	granted := false
	err := h.st.ModifyJSON(ctx, key, &cd, func() { cd = cooldown{}; granted = false }, func() (bool, error) {
		if !cd.At.IsZero() && now.Sub(cd.At) < window {
			return false, nil
		}
		cd.At, granted = now, true
		return true, nil
	})
	return granted, err
}

// unclaim gives back a turn claim took at now, unless another has been
// recorded since (the key is compare-and-set, like the claim).
func (h *Hub) unclaim(ctx context.Context, key string, now time.Time) {
	var cd cooldown
	err := h.st.ModifyJSON(ctx, key, &cd, func() { cd = cooldown{} }, func() (bool, error) {
		if !cd.At.Equal(now) {
			return false, nil
		}
		cd.At = time.Time{}
		return true, nil
	})
	if err != nil {
		h.log.Warn("auto-reply cooldown not released after a failed reply", "key", key, "err", err)
	}
}

// submit hands one reply or welcome to the engine, logged with what
// caused it. The error is the engine's when it did not accept the message
// (nil also when it already had it).
func (h *Hub) submit(ctx context.Context, eng Engine, kind, rule, id, text, account, group string, cause ...any) error {
	a := &groupcast.Announcement{
		ID:       id,
		Title:    kind + " " + rule,
		Category: groupcast.CategoryInteraction,
		Priority: groupcast.PriorityNormal,
		Tags:     []string{"inbound", kind},
		Author:   "groupcast " + kind,
		Body:     text,
	}
	args := append([]any{"rule", rule, "account", account, "group", group, "announcement", id}, cause...)
	acc, err := eng.SubmitDirect(ctx, a, account, group)
	switch {
	case err == nil && acc.Existing:
		h.m.replies.WithLabelValues(rule, "duplicate").Inc()
		h.log.Info(kind+" already accepted (the same event or batch)", args...)
	case errors.Is(err, groupcast.ErrConflict):
		h.m.replies.WithLabelValues(rule, "duplicate").Inc()
		h.log.Info(kind+" already accepted with other content (another replica's batch)", args...)
	case err != nil:
		h.m.replies.WithLabelValues(rule, "failed").Inc()
		h.log.Error(kind+" not accepted", append(args, "err", err)...)
		return err
	default:
		h.m.replies.WithLabelValues(rule, "accepted").Inc()
		h.log.Info(kind+" accepted", args...)
	}
	return nil
}

// batch is the joins of one group waiting for one welcome.
type batch struct {
	rule    string
	account string
	group   string
	first   time.Time
	due     time.Time
	event   string // the first join's id: the welcome's id derives from it
	names   []string
	count   int
}

// maxNames bounds the names one welcome lists (the count stays exact).
const maxNames = 50

// join adds a new member to every matching welcome rule's batch for the
// group; the batch is sent once its time has passed (Tick).
func (h *Hub) join(cfg *configs.Config, ev groupcast.InboundEvent) {
	c := h.compile(cfg)
	name := ev.SenderName
	if name == "" {
		name = ev.Sender
	}
	now := h.eventTime(ev)
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range c.welcome {
		w := &c.welcome[i]
		if !w.scope.matches(ev) {
			continue
		}
		key := w.Name + "\x00" + ev.Account + "\x00" + ev.Group
		b, ok := h.batches[key]
		if !ok {
			b = &batch{rule: w.Name, account: ev.Account, group: ev.Group, first: now, due: now.Add(w.Batch), event: ev.ID}
			h.batches[key] = b
		}
		b.count++
		if len(b.names) < maxNames && !slices.Contains(b.names, name) {
			b.names = append(b.names, name)
		}
	}
}

// flush sends the batches that are due (all of them with all).
func (h *Hub) flush(ctx context.Context, all bool) {
	eng := h.engine()
	if eng == nil {
		return
	}
	now := h.clock.Now()
	h.mu.Lock()
	var due []*batch
	for k, b := range h.batches {
		if all || !now.Before(b.due) {
			due = append(due, b)
			delete(h.batches, k)
		}
	}
	h.mu.Unlock()
	if len(due) == 0 {
		return
	}
	slices.SortFunc(due, func(a, b *batch) int { return a.first.Compare(b.first) })
	c := h.compile(eng.Config())
	for _, b := range due {
		i := slices.IndexFunc(c.welcome, func(w welcomeRule) bool { return w.Name == b.rule })
		if i < 0 {
			h.log.Info("welcome rule removed from the config; its batch is dropped", "rule", b.rule, "group", b.group, "members", b.count)
			continue
		}
		w := &c.welcome[i]
		names := strings.Join(b.names, "、")
		var sb strings.Builder
		if !w.names {
			sb.WriteString(names)
			sb.WriteString(" ")
		}
		if err := w.text.Execute(&sb, configs.WelcomeData{Names: names, Members: b.names, Count: b.count, Group: b.group}); err != nil {
			h.m.replies.WithLabelValues(w.Name, "failed").Inc()
			h.log.Error("welcome not sent: its text fails", "rule", w.Name, "group", b.group, "err", err)
			continue
		}
		id := "welcome-" + w.Name + "-" + digest(b.account, b.group, b.event)
		_ = h.submit(ctx, eng, "welcome", w.Name, id, sb.String(), b.account, b.group,
			"event", b.event, "members", b.count, "batch_from", b.first.Format(time.RFC3339))
	}
}
