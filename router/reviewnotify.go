package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/transform"
)

// Review notices (review.notify): announcements held for review are pushed
// to the reviewers in DingTalk, once each. The notifier does not touch the
// delivery path: it polls Reviews, on the replica that owns each notify
// account, and keeps a create-once record per announcement and notify
// entry in the counters bucket, so that a restart or another replica does
// not push it again.

// DefaultReviewNotifyEvery is how often RunReviewNotify looks for newly
// held announcements.
const DefaultReviewNotifyEvery = 15 * time.Second

// reviewClaimTTL is how long a claimed notice is left to its claimant (a
// push in flight) before another poll may take it over.
const reviewClaimTTL = 2 * time.Minute

// noticeRenderChars bounds each rendering in a notice, in characters: the
// notice must fit one DingTalk message (msgParam ≤ 15000 bytes).
const noticeRenderChars = 1200

// UserSender is implemented by senders that can also write to users one to
// one (dingtalk.OpenAPI, for review.notify to:).
type UserSender interface {
	SendToUsers(ctx context.Context, users []string, title, text string) error
}

// reviewNotice is the record of one notice (one announcement, one notify
// entry) in the counters bucket.
type reviewNotice struct {
	ID        string    `json:"id"`
	Sent      bool      `json:"sent,omitempty"`
	Failed    string    `json:"failed,omitempty"` // a permanent failure: not tried again
	ClaimedBy string    `json:"claimed_by,omitempty"`
	ClaimedAt time.Time `json:"claimed_at,omitzero"`
	Tries     int       `json:"tries,omitempty"`
	At        time.Time `json:"at,omitzero"`
}

// reviewNoticeKey names the record: announcement ids and notify targets
// hold characters a counters key may not, so both are hashed.
func reviewNoticeKey(n configs.ReviewNotify, id string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s", n.Account, strings.Join(n.To, ","), n.Group, id)
	return "reviewnotice." + hex.EncodeToString(h.Sum(nil))[:32]
}

// RunReviewNotify pushes held announcements to review.notify every
// interval (DefaultReviewNotifyEvery when ≤ 0) until ctx ends. It reads the
// config in force at each poll, so a reload takes effect at the next one.
func (s *Service) RunReviewNotify(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = DefaultReviewNotifyEvery
	}
	for {
		s.NotifyReviews(ctx)
		if err := s.clock.Sleep(ctx, every); err != nil {
			return nil
		}
	}
}

// NotifyReviews pushes, once, every announcement held for review to each
// review.notify entry whose account this replica owns. Failures are
// logged; a temporary one is tried again at the next poll.
func (s *Service) NotifyReviews(ctx context.Context) {
	notify := s.cfg.Load().Review.Notify
	if len(notify) == 0 {
		return
	}
	var mine []configs.ReviewNotify
	for _, n := range notify {
		if s.Owns(n.Account) {
			mine = append(mine, n)
		}
	}
	if len(mine) == 0 {
		return
	}
	// An id whose notices are all recorded (sent, or failed for good) is
	// not read at all.
	reviews, err := s.reviews(ctx, func(id string) bool {
		for _, n := range mine {
			if !s.skips.has(&s.skips.noticed, reviewNoticeKey(n, id)) {
				return false
			}
		}
		return true
	})
	if err != nil {
		s.log.Warn("review notices: listing held announcements failed", "reason", err.Error())
		return
	}
	for _, rv := range reviews {
		for _, n := range mine {
			if ctx.Err() != nil {
				return
			}
			s.notifyOne(ctx, n, rv)
		}
	}
}

func (s *Service) notifyOne(ctx context.Context, n configs.ReviewNotify, rv Review) {
	log := s.log.With("announcement", rv.ID, "account", n.Account)
	key := reviewNoticeKey(n, rv.ID)
	now := s.clock.Now()
	var rec reviewNotice
	claimed := false
	done := false
	err := s.st.ModifyJSON(ctx, key, &rec, func() { rec = reviewNotice{}; claimed, done = false, false }, func() (bool, error) {
		if rec.Sent || rec.Failed != "" {
			done = true
			return false, nil
		}
		if rec.ClaimedBy != "" && rec.ClaimedBy != s.instance && now.Sub(rec.ClaimedAt) < reviewClaimTTL {
			return false, nil
		}
		rec.ID, rec.ClaimedBy, rec.ClaimedAt = rv.ID, s.instance, now
		claimed = true
		return true, nil
	})
	if err != nil {
		log.Warn("review notice: claiming failed", "reason", err.Error())
		return
	}
	if done {
		s.skips.mark(&s.skips.noticed, key, rv.ID)
	}
	if !claimed {
		return
	}
	pushErr := s.pushNotice(ctx, n, rv)
	class, code, _ := groupcast.Classify(pushErr)
	recorded := false
	err = s.st.ModifyJSON(ctx, key, &rec, func() { rec = reviewNotice{}; recorded = false }, func() (bool, error) {
		if rec.ClaimedBy != s.instance {
			return false, nil // taken over meanwhile: its holder records the outcome
		}
		recorded = true
		rec.ClaimedBy, rec.ClaimedAt, rec.At = "", time.Time{}, s.clock.Now()
		rec.Tries++
		switch {
		case pushErr == nil:
			rec.Sent = true
		case class == groupcast.ClassPermanent:
			rec.Failed = code + ": " + pushErr.Error()
		}
		return true, nil
	})
	if err == nil && recorded && (pushErr == nil || class == groupcast.ClassPermanent) {
		s.skips.mark(&s.skips.noticed, key, rv.ID)
	}
	switch {
	case pushErr == nil:
		log.Info("review notice pushed", "to", noticeWhere(n))
	case class == groupcast.ClassPermanent:
		log.Error("review notice failed; not tried again", "to", noticeWhere(n), "reason", pushErr.Error())
	default:
		log.Warn("review notice failed; tried again at the next poll", "to", noticeWhere(n), "reason", pushErr.Error())
	}
	if err != nil {
		log.Warn("review notice: recording the outcome failed", "reason", err.Error())
	}
}

func noticeWhere(n configs.ReviewNotify) string {
	if n.Group != "" {
		return "group " + n.Group
	}
	return "users " + strings.Join(n.To, ",")
}

// pushNotice sends the notice through the account's sender, whose pacer
// keeps it within the account's rate.
func (s *Service) pushNotice(ctx context.Context, n configs.ReviewNotify, rv Review) error {
	a := s.account(n.Account)
	if a == nil {
		return groupcast.Permanent("no_account", fmt.Errorf("account %s is not configured", n.Account))
	}
	ann, err := s.Announcement(ctx, rv.ID)
	if err != nil {
		return groupcast.Temporary("store", err)
	}
	title, text := reviewNoticeText(ann, rv, s.clock.Now())
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if len(n.To) > 0 {
		us, ok := a.sender.(UserSender)
		if !ok {
			return groupcast.Permanent("no_users", fmt.Errorf("the driver of account %s cannot send to users", n.Account))
		}
		return us.SendToUsers(sctx, n.To, title, text)
	}
	_, err = a.sender.Send(sctx, groupcast.Outgoing{
		DeliveryID: "review-notice/" + rv.ID + "/" + n.Account + "/" + n.Group,
		Group:      n.Group,
		Destination: groupcast.Destination{
			Account: n.Account, Group: n.Group, Platform: a.cfg.Platform, Style: transform.StyleLong,
		},
		Rendered: groupcast.Rendered{Style: transform.StyleLong, Title: title, Format: groupcast.TextMarkdown, Text: text},
	})
	return err
}

// reviewNoticeText is the notice: what was held and why, the announcement
// as each style renders it, and the commands to answer with.
func reviewNoticeText(a *groupcast.Announcement, rv Review, now time.Time) (string, string) {
	title := clipRunes("待审核："+a.Title, 60)
	var b strings.Builder
	fmt.Fprintf(&b, "### 待审核公告（held for review）\n\n**%s**\n\n", mdEscape(a.Title))
	fmt.Fprintf(&b, "- ID：`%s`\n", rv.ID)
	if a.Category != "" {
		fmt.Fprintf(&b, "- 类别（category）：%s\n", a.Category)
	}
	if rv.SubmittedBy != "" {
		fmt.Fprintf(&b, "- 提交人（submitted by）：%s\n", mdEscape(rv.SubmittedBy))
	}
	fmt.Fprintf(&b, "- 待审目标（held targets）：%d / %d\n", rv.Held, len(rv.Targets))
	if len(rv.RuleHits) > 0 {
		b.WriteString("- 命中规则（rule hits）：\n")
		for _, h := range rv.RuleHits {
			fmt.Fprintf(&b, "  - %s\n", mdEscape(h))
		}
	}
	styles := []string{transform.StyleShort, transform.StyleLong, transform.StyleFormal}
	if len(a.Variants) < 2 {
		for _, style := range styles {
			noticeRendering(&b, a, "", style, noticeRenderChars, now)
		}
	} else {
		// An A/B test: each target gets one variant, so the reviewer sees
		// every one, named, in every style (as the console's review page
		// shows them); the notice keeps the budget of three renderings.
		clip := max(noticeRenderChars*len(styles)/(len(styles)*len(a.Variants)), 80)
		fmt.Fprintf(&b, "- A/B 测试（A/B test）：%d 个变体（variants）\n", len(a.Variants))
		for _, v := range a.Variants {
			for _, style := range styles {
				noticeRendering(&b, a, v.Name, style, clip, now)
			}
		}
	}
	fmt.Fprintf(&b, "\n回复机器人（answer the bot）：\n\n- `/approve %s`\n- `/reject %s 理由`\n", rv.ID, rv.ID)
	return title, b.String()
}

// noticeRendering writes one rendering of the announcement (of variant,
// when it names one) in style, cut at clip characters.
func noticeRendering(b *strings.Builder, a *groupcast.Announcement, variant, style string, clip int, now time.Time) {
	r, err := transform.Render(a.Variant(variant), groupcast.Destination{Style: style, Variant: variant}, now)
	text := r.Text
	if err != nil {
		text = "(cannot render: " + err.Error() + ")"
	}
	if variant == "" {
		fmt.Fprintf(b, "\n#### %s\n\n", style)
	} else {
		fmt.Fprintf(b, "\n#### 变体（variant）%s · %s\n\n", mdEscape(variant), style)
	}
	for _, line := range strings.Split(clipRunes(strings.TrimSpace(text), clip), "\n") {
		fmt.Fprintf(b, "> %s\n", line)
	}
}

// mdEscape keeps a value from opening Markdown structure in a notice.
func mdEscape(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.NewReplacer("*", "\\*", "_", "\\_", "`", "'", "[", "\\[", "]", "\\]", "#", "\\#", ">", "\\>").Replace(s)
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
