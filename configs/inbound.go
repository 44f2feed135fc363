package configs

import (
	"io"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"
)

// Reply is a keyword auto-reply: a group message that matches gets the
// text, at most once per group per cooldown (docs/two-way.md).
type Reply struct {
	// Name identifies the rule in logs and reply ids (letters, digits, _ and -).
	Name string `mapstructure:"name"`
	// Accounts limits the rule to these accounts; Platforms to accounts of
	// these platforms. Neither: every account that receives events.
	Accounts  []string `mapstructure:"accounts"`
	Platforms []string `mapstructure:"platforms"`
	// Groups limits the rule to these group ids; empty: every group.
	Groups []string `mapstructure:"groups"`
	// Keywords: a message containing any of them matches (exactly one of
	// keywords and pattern). The match is on the message's plain text.
	Keywords []string `mapstructure:"keywords"`
	// Pattern is a regular expression (Go syntax) the plain text must match.
	Pattern string `mapstructure:"pattern"`
	// Text is the reply, a text/template with .Sender (the author's name,
	// else id), .SenderID, .Group and .Text (the message).
	Text string `mapstructure:"text"`
	// Cooldown: at most one reply of this rule per group within it
	// (default 60s), across replicas.
	Cooldown time.Duration `mapstructure:"cooldown"`
}

// Welcome greets members who join a group: joins within Batch of the first
// get one message naming them.
type Welcome struct {
	// Name identifies the rule in logs and message ids.
	Name string `mapstructure:"name"`
	// Accounts, Platforms and Groups limit the rule as in replies.
	Accounts  []string `mapstructure:"accounts"`
	Platforms []string `mapstructure:"platforms"`
	Groups    []string `mapstructure:"groups"`
	// Text is the welcome, a text/template with .Names (the new members'
	// names joined by "、"), .Members (the list), .Count and .Group. A text
	// that uses neither .Names nor .Members is preceded by the names.
	Text string `mapstructure:"text"`
	// Batch: joins within this time of the first get one welcome (default 30s).
	Batch time.Duration `mapstructure:"batch"`
}

// Defaults of replies and welcome.
const (
	DefaultReplyCooldown = 60 * time.Second
	DefaultWelcomeBatch  = 30 * time.Second
)

// ReplyData is what a reply's text is executed with.
type ReplyData struct {
	Sender   string
	SenderID string
	Group    string
	Text     string
}

// WelcomeData is what a welcome's text is executed with.
type WelcomeData struct {
	Names   string
	Members []string
	Count   int
	Group   string
}

// ParseInboundText parses a reply or welcome text as a template (no
// missing keys; the funcs are text/template's own).
func ParseInboundText(name, text string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Parse(text)
}

func (v *validator) inboundCheck() {
	c, cfg := v.c, v.cfg
	seen := map[string]int{}
	for i := range cfg.Replies {
		r := &cfg.Replies[i]
		p := joinIndex("replies", i)
		v.checkName(p+".name", r.Name, "reply", seen, true)
		v.inboundScope(p, r.Accounts, r.Platforms)
		switch {
		case len(r.Keywords) > 0 && r.Pattern != "":
			c.add(p+".keywords", "set keywords or pattern, not both")
		case len(r.Keywords) == 0 && r.Pattern == "":
			c.add(p+".keywords", "required: the words that trigger the reply (or a pattern)")
		case r.Pattern != "":
			if _, err := regexp.Compile(r.Pattern); err != nil {
				c.add(p+".pattern", "not a regular expression: %v", err)
			}
		}
		for j, k := range r.Keywords {
			if strings.TrimSpace(k) == "" {
				c.add(joinIndex(p+".keywords", j), "empty keyword")
			}
		}
		v.dingtalkReplyWarn(p, r.Accounts, r.Platforms)
		v.inboundText(p+".text", r.Name, r.Text, ReplyData{Sender: "张三", SenderID: "10001", Group: "123456", Text: "报名"})
		if r.Cooldown == 0 {
			r.Cooldown = DefaultReplyCooldown
		}
		if r.Cooldown < time.Second {
			c.add(p+".cooldown", "%v: at least 1s (default %v)", r.Cooldown, DefaultReplyCooldown)
		}
	}
	if len(cfg.Replies) > 0 {
		for i, s := range cfg.Sources {
			if s.Account == "" {
				p := joinIndex("sources", i) + ".account"
				c.warn(p, "not set: the group @-messages this DingTalk bot receives make no inbound events, so replies do not answer them (name the dingtalk account that answers)")
			}
		}
	}
	seen = map[string]int{}
	for i := range cfg.Welcome {
		w := &cfg.Welcome[i]
		p := joinIndex("welcome", i)
		v.checkName(p+".name", w.Name, "welcome", seen, true)
		v.inboundScope(p, w.Accounts, w.Platforms)
		v.inboundText(p+".text", w.Name, w.Text, WelcomeData{Names: "张三、李四", Members: []string{"张三", "李四"}, Count: 2, Group: "123456"})
		if w.Batch == 0 {
			w.Batch = DefaultWelcomeBatch
		}
		if w.Batch < time.Second || w.Batch > time.Hour {
			c.add(p+".batch", "%v: between 1s and 1h (default %v)", w.Batch, DefaultWelcomeBatch)
		}
	}
}

func (v *validator) inboundScope(p string, accounts, platforms []string) {
	c := v.c
	for j, a := range accounts {
		if _, ok := v.accounts[a]; !ok {
			jp := joinIndex(p+".accounts", j)
			c.add(jp, "unknown account %s; %s", c.quote(jp, a), v.namesOf("accounts", v.accountNames()))
		}
	}
	if len(platforms) > 0 {
		valid := v.platformNames()
		if len(valid) > 0 {
			for j, pl := range platforms {
				if !slices.Contains(valid, pl) {
					jp := joinIndex(p+".platforms", j)
					c.add(jp, "unknown platform %s; valid: %s", c.quote(jp, pl), strings.Join(valid, ", "))
				}
			}
		}
	}
}

// dingtalkReplyWarn warns when a reply names DingTalk (a dingtalk account
// or the platform) but no stream source maps to that account: DingTalk
// @-messages become events only of a source's account, so the rule could
// never fire there.
func (v *validator) dingtalkReplyWarn(p string, accounts, platforms []string) {
	c := v.c
	mapped := map[string]bool{}
	for _, s := range v.cfg.Sources {
		if s.Account != "" {
			mapped[s.Account] = true
		}
	}
	for j, a := range accounts {
		i, ok := v.accounts[a]
		if !ok || v.cfg.Accounts[i].Platform != "dingtalk" || mapped[a] {
			continue
		}
		jp := joinIndex(p+".accounts", j)
		c.warn(jp, "no DingTalk stream source has account %s (sources[].account): its group @-messages make no events, so this reply never answers there", c.quote(jp, a))
	}
	for j, pl := range platforms {
		if pl != "dingtalk" || len(mapped) > 0 {
			continue
		}
		jp := joinIndex(p+".platforms", j)
		c.warn(jp, "no DingTalk stream source maps to an account (sources[].account): DingTalk group @-messages make no events, so this reply never answers there")
	}
}

func (v *validator) inboundText(p, name, text string, sample any) {
	c := v.c
	if strings.TrimSpace(text) == "" {
		c.add(p, "required")
		return
	}
	t, err := ParseInboundText(name, text)
	if err != nil {
		c.add(p, "not a valid template: %v", err)
		return
	}
	if err := t.Execute(io.Discard, sample); err != nil {
		c.add(p, "the template fails: %v", err)
	}
}
