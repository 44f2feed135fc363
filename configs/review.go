package configs

import "strings"

// Review configures review from chat: where announcements held for review
// are pushed, and who may decide from DingTalk (/approve ID, /reject ID
// 理由 to the stream bot). The HTTP API's reviewer tokens are not affected.
type Review struct {
	// Notify lists where a held announcement is pushed, once: each entry
	// names a DingTalk account and either users (to) or a group.
	Notify []ReviewNotify `mapstructure:"notify"`
	// Reviewers are the DingTalk user ids (senderStaffId) allowed to
	// answer /approve and /reject; required when notify is set.
	Reviewers []string `mapstructure:"reviewers"`
}

// ReviewNotify is one place held announcements are pushed to.
type ReviewNotify struct {
	// Account is a DingTalk account that sends the notice (through its own
	// pacer).
	Account string `mapstructure:"account"`
	// To are DingTalk user ids (staff ids) the notice goes to one to one
	// (driver openapi: the robot's oToMessages/batchSend). Either to or group.
	To []string `mapstructure:"to"`
	// Group is the group the notice goes to, named as routes name it for the
	// account (an openConversationId for openapi). Either to or group.
	Group string `mapstructure:"group"`
}

// reviewCheck checks review: each notify entry names a DingTalk account
// whose driver can send where it asks, to xor group; reviewers are listed
// when notify is.
func (v *validator) reviewCheck() {
	c, r := v.c, &v.cfg.Review
	for i := range r.Notify {
		n := &r.Notify[i]
		p := joinIndex("review.notify", i)
		var spec DriverSpec
		known := false
		switch idx, ok := v.accounts[n.Account]; {
		case n.Account == "":
			c.add(p+".account", "required: a DingTalk account")
		case !ok:
			c.add(p+".account", "unknown account %s; %s", c.quote(p+".account", n.Account), v.namesOf("accounts", v.accountNames()))
		case v.cfg.Accounts[idx].Platform != "dingtalk":
			c.add(p+".account", "account %s is on platform %s: review notices go through a DingTalk account",
				c.quote(p+".account", n.Account), v.cfg.Accounts[idx].Platform)
		default:
			spec, known = v.specs[idx]
		}
		switch {
		case len(n.To) > 0 && n.Group != "":
			c.add(p, "set either to (user ids) or group, not both")
		case len(n.To) == 0 && n.Group == "":
			c.add(p, "set to (DingTalk user ids) or group")
		}
		for j, id := range n.To {
			if strings.TrimSpace(id) == "" || strings.TrimSpace(id) != id {
				c.add(joinIndex(p+".to", j), "a DingTalk user id without spaces is required")
			}
		}
		if !known {
			continue
		}
		driver := v.cfg.Accounts[v.accounts[n.Account]].Driver
		if len(n.To) > 0 && !spec.Users {
			c.add(p+".to", "driver %s cannot send to users one to one; use an openapi account, or group", driver)
		}
		if n.Group != "" {
			switch {
			case spec.Groups == GroupsNone && n.Group != n.Account:
				c.add(p+".group", "driver %s sends only to its robot's own group: write group: %s (the account's name, as routes do)", driver, n.Account)
			case spec.Groups != GroupsNone && spec.CheckGroup != nil:
				if err := spec.CheckGroup(n.Group); err != nil {
					c.add(p+".group", "%s", c.redact(p+".group", err.Error(), n.Group))
				}
			}
		}
	}
	seen := map[string]int{}
	for j, id := range r.Reviewers {
		rp := joinIndex("review.reviewers", j)
		if strings.TrimSpace(id) == "" || strings.TrimSpace(id) != id {
			c.add(rp, "a DingTalk user id (senderStaffId) without spaces is required")
			continue
		}
		if k, dup := seen[id]; dup {
			c.add(rp, "duplicate reviewer (first at review.reviewers[%d])", k)
			continue
		}
		seen[id] = j
	}
	if len(r.Notify) > 0 && len(r.Reviewers) == 0 {
		c.add("review.reviewers", "required when review.notify is set: the DingTalk user ids that may /approve and /reject")
	}
	if len(r.Reviewers) > 0 && !v.hasStreamSource() {
		c.warn("review.reviewers", "no source of driver %s: reviewers cannot answer from DingTalk (the API still can)", SourceDriver)
	}
}

func (v *validator) hasStreamSource() bool {
	for _, s := range v.cfg.Sources {
		if s.Driver == SourceDriver {
			return true
		}
	}
	return false
}
