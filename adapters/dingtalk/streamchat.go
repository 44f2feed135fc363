package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/chatbot"

	"github.com/groupcast/groupcast"
)

// This file is the stream bot's two-way side: group messages as inbound
// events, and review decisions from the chat.

// reviewDesk is what /approve and /reject need.
type reviewDesk struct {
	decide    Decider
	reviewers func() []string
}

// MaxRejectReasonChars bounds the reason of a /reject (it goes to the
// ledger and into every rejected target's reason).
const MaxRejectReasonChars = 500

// inbound hands a group message to the sink, if there is one and the
// source names the account that answers it (sources[].account: the hub
// takes events of configured accounts only, and replies go out through
// the event's account). It reports whether the message was one for the
// sink (taken or not: a failing sink is logged, and a command in the
// message is still served).
func (s *Stream) inbound(ctx context.Context, log *slog.Logger, d *chatbot.BotCallbackDataModel) bool {
	if s.sink == nil || s.src.Account == "" || d.ConversationType != "2" {
		return false
	}
	ev := messageEvent(s.src.Account, d, s.env.Now())
	if err := s.sink.Inbound(ctx, ev); err != nil {
		log.Warn("dingtalk stream: inbound event not taken", "err", err)
	}
	return true
}

// messageEvent is a group @-message as an inbound event. The robot only
// receives messages that @-mention it, so MentionsMe is the platform's
// isInAtList; it never receives its own, so Self is false.
func messageEvent(account string, d *chatbot.BotCallbackDataModel, now time.Time) groupcast.InboundEvent {
	ev := groupcast.InboundEvent{
		Kind:       groupcast.EventMessage,
		Platform:   Platform.Name,
		Account:    account,
		Group:      d.ConversationId,
		ID:         d.MsgId,
		Sender:     d.SenderStaffId,
		SenderName: strings.TrimSpace(d.SenderNick),
		Text:       plainText(d),
		MentionsMe: d.IsInAtList,
		At:         now,
	}
	if ev.Sender == "" {
		ev.Sender = d.SenderId // an external user has no staff id
	}
	if d.CreateAt > 0 {
		ev.At = time.UnixMilli(d.CreateAt)
	}
	for _, u := range d.AtUsers {
		id := u.StaffId
		if id == "" {
			id = u.DingtalkId
		}
		if id != "" && id != d.ChatbotUserId && !slices.Contains(ev.Mentions, id) {
			ev.Mentions = append(ev.Mentions, id)
		}
	}
	return ev
}

// plainText is a message's text without the leading @-mentions; non-text
// messages have none.
func plainText(d *chatbot.BotCallbackDataModel) string {
	if d.Msgtype != "" && d.Msgtype != "text" {
		return ""
	}
	return strings.TrimRight(skipMentions(d.Text.Content), " \t\r\n\u3000")
}

// decide serves /approve ID and /reject ID 理由 from a listed reviewer.
func (s *Stream) decide(ctx context.Context, log *slog.Logger, rep replyTo, d *chatbot.BotCallbackDataModel, cmd command) {
	approve := cmd.name == "approve"
	if why := s.reviewRefusal(d); why != "" {
		log.Warn("dingtalk stream review decision refused", "reason", why, "announcement", cmd.arg)
		s.send(ctx, log, rep, "拒绝 / refused", "**拒绝执行（refused）**：\n\n"+why)
		return
	}
	if cmd.arg == "" || !groupcast.ValidID(cmd.arg) {
		s.send(ctx, log, rep, "groupcast", "用法（usage）：`/approve ID` 或 `/reject ID 理由`（an announcement id is required）")
		return
	}
	if !approve && cmd.reason == "" {
		s.send(ctx, log, rep, "未受理 / refused", fmt.Sprintf(
			"**未受理（refused）**：驳回必须写理由（a reason is required）：`/reject %s 理由`。未做任何决定（nothing decided）。", cmd.arg))
		return
	}
	reason := cmd.reason
	if r := []rune(reason); len(r) > MaxRejectReasonChars {
		s.send(ctx, log, rep, "未受理 / refused", fmt.Sprintf(
			"**未受理（refused）**：理由最多 %d 个字（the reason is at most %d characters）。未做任何决定（nothing decided）。",
			MaxRejectReasonChars, MaxRejectReasonChars))
		return
	}
	by := "dingtalk:" + d.SenderStaffId
	dctx, cancel := context.WithTimeout(groupcast.WithPrincipal(ctx, by), 30*time.Second)
	st, err := s.review.decide.Decide(dctx, cmd.arg, approve, by, reason)
	cancel()
	verb, title := "已通过（approved）", "已通过 "+cmd.arg
	if !approve {
		verb, title = "已驳回（rejected）", "已驳回 "+cmd.arg
	}
	if err != nil {
		log.Warn("dingtalk stream review decision failed", "announcement", cmd.arg, "err", err)
		if errors.Is(err, groupcast.ErrNotFound) {
			s.send(ctx, log, rep, "未找到", fmt.Sprintf("没有公告 `%s`（not found）。未做任何决定（nothing decided）。", cmd.arg))
			return
		}
		s.send(ctx, log, rep, "未受理 / refused", describeError(err)+"\n\n未做任何决定（nothing decided）。")
		return
	}
	log.Info("dingtalk stream review decision", "announcement", cmd.arg, "approved", approve, "by", by)
	text := fmt.Sprintf("**%s** `%s`：%s（by %s）", verb, st.ID, st.Title, by)
	if !approve {
		text += "\n\n理由（reason）：" + reason
	}
	s.send(ctx, log, rep, title, text+"\n\n"+targetTable(st.Targets, "目标（targets）"))
}

// reviewRefusal says why the sender may not decide, or "".
func (s *Stream) reviewRefusal(d *chatbot.BotCallbackDataModel) string {
	if d.SenderStaffId == "" {
		return "外部用户不能审核（an external user cannot review: review.reviewers lists staff ids）。未做任何决定（nothing decided）。"
	}
	if !slices.Contains(s.review.reviewers(), d.SenderStaffId) {
		return fmt.Sprintf("你不是审核人（sender %s is not listed in review.reviewers）。未做任何决定（nothing decided）。", d.SenderStaffId)
	}
	return ""
}
