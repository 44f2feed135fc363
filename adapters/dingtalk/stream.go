package dingtalk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/chatbot"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/client"
	"gopkg.in/yaml.v3"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/internal/backoff"
	"github.com/groupcast/groupcast/transform"
)

// StreamDriver is the driver name of the Stream bot under sources:.
const StreamDriver = "dingtalk-stream"

// Stream is the DingTalk Stream-mode bot as an intake source. An
// @-message to the bot in one of the source's admin conversations, from an
// allowed sender, is a command:
//
//	/announce            then front matter + Markdown, or a title line + text
//	/status ID           the state of every target of announcement ID
//	/approve ID          release the targets of ID held for review
//	/reject ID 理由       reject them, with the reason (required)
//	/help                the usage
//
// An announcement goes through the same intake as HTTP (same validation,
// same idempotency); the bot replies in the conversation with the id and
// the planned targets, and again with the outcome once every target has
// settled. Messages from other conversations or senders are refused with a
// reply saying why.
//
// /approve and /reject are review decisions (WithReview): they are taken
// in any conversation with the bot, only from the staff ids listed as
// reviewers, and go to the same Decide as the HTTP API. With WithInbound,
// every group message the bot receives is also an inbound event.
type Stream struct {
	src    configs.Source
	intake groupcast.Intake
	env    adapters.Env
	log    *slog.Logger
	reply  *http.Client
	sink   groupcast.InboundSink // nil: no events
	review *reviewDesk           // nil: no review commands

	// Tunables; tests shorten them.
	checkEvery time.Duration // how often the connection is checked (and restored)
	backoffMin time.Duration // first wait after a failed connection
	backoffMax time.Duration
	stable     time.Duration                        // up this long, a connection starts the backoff over
	after      func(time.Duration) <-chan time.Time // the loop's timer; tests inject theirs
	pollMin    time.Duration                        // first wait before polling an announcement's outcome
	pollMax    time.Duration
	keepAlive  time.Duration // idle time before the SDK pings; no pong in 5 s closes a silent connection

	mu      sync.Mutex
	running bool
	closed  bool
	runCtx  context.Context
	state   error // nil when connected
	wg      sync.WaitGroup
}

// StreamOption adds an optional capability to the bot.
type StreamOption func(*Stream)

// WithInbound hands every group message the bot receives to sink as an
// EventMessage (ID the DingTalk msgId, Account the source's account: the
// DingTalk account whose sends answer those groups). A nil sink, or a
// source without an account, means no events.
func WithInbound(sink groupcast.InboundSink) StreamOption {
	return func(s *Stream) { s.sink = sink }
}

// Decider takes review decisions (router.Service.Decide).
type Decider interface {
	Decide(ctx context.Context, id string, approve bool, by, reason string) (groupcast.Status, error)
}

// WithReview enables /approve and /reject: reviewers returns the staff ids
// allowed to decide (review.reviewers of the config in force); the
// decision is made by d as "dingtalk:<staffId>". A nil d means none.
func WithReview(d Decider, reviewers func() []string) StreamOption {
	return func(s *Stream) {
		if d != nil && reviewers != nil {
			s.review = &reviewDesk{decide: d, reviewers: reviewers}
		}
	}
}

// NewStream builds the bot of one source. It does no I/O; Run connects.
func NewStream(src configs.Source, intake groupcast.Intake, env adapters.Env, opts ...StreamOption) (*Stream, error) {
	var problems []string
	if src.Driver != "" && src.Driver != StreamDriver {
		problems = append(problems, fmt.Sprintf("driver: %q is not %s", src.Driver, StreamDriver))
	}
	if src.ClientID == "" {
		problems = append(problems, "client_id: required")
	}
	if src.ClientSecret == "" {
		problems = append(problems, "client_secret: required")
	}
	if len(src.Conversations) == 0 {
		problems = append(problems, "conversations: list at least one admin conversation id (cid…)")
	}
	if p := validBaseURL(src.BaseURL); p != "" {
		problems = append(problems, p)
	}
	if intake == nil {
		problems = append(problems, "no intake to submit to")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("dingtalk stream %s: %s", src.Name, strings.Join(problems, "; "))
	}
	env = env.WithDefaults()
	s := &Stream{
		src:        src,
		intake:     intake,
		env:        env,
		log:        env.Logger.With("source", src.Name),
		reply:      env.HTTPClient,
		checkEvery: 3 * time.Second, // the SDK's own reconnect delay
		backoffMin: backoff.DefaultMin,
		backoffMax: backoff.DefaultMax,
		stable:     backoff.DefaultStable,
		after:      time.After,
		pollMin:    2 * time.Second,
		pollMax:    30 * time.Second,
		keepAlive:  30 * time.Second,
		state:      errors.New("not started"),
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Ready returns nil while the bot is connected to the gateway.
func (s *Stream) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != nil {
		return fmt.Errorf("dingtalk stream %s: %w", s.src.Name, s.state)
	}
	return nil
}

func (s *Stream) setState(err error) {
	s.mu.Lock()
	s.state = err
	s.mu.Unlock()
}

// Run connects to the gateway, keeps the connection (reconnecting with
// exponential backoff and jitter when it drops or cannot be made), and
// returns when ctx ends, after the replies it started have finished.
func (s *Stream) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return fmt.Errorf("dingtalk stream %s: already running", s.src.Name)
	}
	s.running, s.closed, s.runCtx = true, false, ctx
	s.state = errors.New("connecting to the DingTalk stream gateway")
	s.mu.Unlock()

	opts := []client.ClientOption{
		client.WithAppCredential(client.NewAppCredentialConfig(s.src.ClientID, s.src.ClientSecret.Reveal())),
		// Reconnection is ours: the loop below sees every failure, so Ready
		// can report it; the SDK's own loop would hide them.
		client.WithAutoReconnect(false),
		client.WithKeepAlive(s.keepAlive),
	}
	if s.src.BaseURL != "" {
		opts = append(opts, client.WithOpenApiHost(strings.TrimRight(s.src.BaseURL, "/")))
	}
	cli := client.NewStreamClient(opts...)
	cli.RegisterChatBotCallbackRouter(s.onMessage)

	defer func() {
		cli.Close()
		s.mu.Lock()
		s.closed = true
		s.state = errors.New("stopped")
		s.mu.Unlock()
		s.wg.Wait()
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}()

	// One attempt, and one log line, per backoff step: the backoff starts
	// over only once a connection has lived s.stable, so a gateway that
	// accepts and drops at once is retried ever more slowly, not in a burst.
	bo := backoff.Backoff{Min: s.backoffMin, Max: s.backoffMax}
	var upSince time.Time // when the connection was made; zero while down
	for {
		// Start is a no-op while the connection lives, and connects when it
		// has dropped.
		err := cli.Start(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := s.checkEvery
		now := s.env.Now()
		switch {
		case err != nil:
			err = s.scrub(err)
			upSince = time.Time{}
			wait = bo.Next()
			s.setState(fmt.Errorf("disconnected: %v; retrying in %s", err, wait.Round(time.Millisecond)))
			s.log.Warn("dingtalk stream connection failed", "err", err, "attempt", bo.Failures(), "retry_in", wait)
		case upSince.IsZero():
			upSince = now
			s.log.Info("dingtalk stream connected", "failed_attempts", bo.Failures())
			s.setState(nil)
		case now.Sub(upSince) >= s.stable:
			bo.Reset()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.after(wait):
		}
	}
}

// scrub keeps the client secret out of an SDK error (its errors may quote
// a gateway answer).
func (s *Stream) scrub(err error) error {
	msg := err.Error()
	if sec := s.src.ClientSecret.Reveal(); sec != "" && strings.Contains(msg, sec) {
		return errors.New(strings.ReplaceAll(msg, sec, "****"))
	}
	return err
}

// begin registers work that Run waits for; false once Run is ending.
func (s *Stream) begin() (context.Context, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.runCtx == nil || s.runCtx.Err() != nil {
		return nil, false
	}
	s.wg.Add(1)
	return s.runCtx, true
}

// onMessage handles one robot callback. The SDK acks the frame when it
// returns; the outcome is watched in the background.
func (s *Stream) onMessage(_ context.Context, d *chatbot.BotCallbackDataModel) ([]byte, error) {
	ctx, ok := s.begin()
	if !ok {
		return nil, errors.New("shutting down")
	}
	defer s.wg.Done()
	log := s.log.With("conversation", d.ConversationId, "sender", d.SenderStaffId, "msg_id", d.MsgId)
	rep := replyTo{webhook: d.SessionWebhook, expires: time.UnixMilli(d.SessionWebhookExpiredTime)}
	if d.SessionWebhookExpiredTime == 0 {
		rep.expires = s.env.Now().Add(90 * time.Minute)
	}

	heard := s.inbound(ctx, log, d)
	cmd := parseCommand(d.Text.Content)
	if heard && cmd.name == "help" && !slices.Contains(s.src.Conversations, d.ConversationId) {
		// A customer group talking to the hub (keywords, questions): no
		// usage text and no refusal naming the configuration there; only
		// a real command gets an answer.
		return nil, nil
	}
	if (cmd.name == "approve" || cmd.name == "reject") && s.review != nil && (d.Msgtype == "" || d.Msgtype == "text") {
		// Reviewers decide from any conversation with the bot (a one-to-one
		// chat, the group notices go to); who they are is what counts.
		s.decide(ctx, log, rep, d, cmd)
		return nil, nil
	}
	if why := s.refusal(d); why != "" {
		log.Warn("dingtalk stream message refused", "reason", why)
		s.send(ctx, log, rep, "拒绝 / refused", "**拒绝执行（refused）**：\n\n"+why)
		return nil, nil
	}
	if d.Msgtype != "" && d.Msgtype != "text" {
		s.send(ctx, log, rep, "groupcast", "只接受文本消息（only text messages are read）。\n\n"+usage)
		return nil, nil
	}
	switch cmd.name {
	case "announce":
		s.announce(ctx, log, rep, d, cmd.arg)
	case "status":
		s.status(ctx, log, rep, cmd.arg)
	default:
		s.send(ctx, log, rep, "groupcast", usage)
	}
	return nil, nil
}

const usage = "用法（usage）：\n\n" +
	"- `/announce` 换行后写 front matter（--- title: … ---）和 Markdown 正文，或第一行写标题、其后写正文\n" +
	"- `/status ID` 查看公告每个目标的状态\n" +
	"- `/approve ID` 审核通过（reviewers only）\n" +
	"- `/reject ID 理由` 审核驳回，须写理由（reviewers only）\n" +
	"- `/help` 显示本说明"

// refusal says why a message may not command the bot, or "".
func (s *Stream) refusal(d *chatbot.BotCallbackDataModel) string {
	if !slices.Contains(s.src.Conversations, d.ConversationId) {
		return fmt.Sprintf("本会话不是 groupcast 的管理群（conversation %s is not listed in sources.%s.conversations）。", d.ConversationId, s.src.Name)
	}
	if len(s.src.Senders) > 0 && (d.SenderStaffId == "" || !slices.Contains(s.src.Senders, d.SenderStaffId)) {
		who := d.SenderStaffId
		if who == "" {
			who = "an external user"
		}
		return fmt.Sprintf("你不在允许发布公告的人员名单中（sender %s is not listed in sources.%s.senders）。", who, s.src.Name)
	}
	return ""
}

// command is a parsed @-message.
type command struct {
	name   string // announce | status | approve | reject | help
	arg    string // announce: the document; status, approve, reject: the id
	reason string // reject: the reason (the rest of the message)
}

// skipMentions is a message's text from its first word that is not an
// @mention ("" when there is none), leading space trimmed.
func skipMentions(content string) string {
	s := strings.TrimLeft(content, " \t\r\n\u3000")
	for strings.HasPrefix(s, "@") {
		i := strings.IndexAny(s, " \t\r\n\u3000")
		if i < 0 {
			return ""
		}
		s = strings.TrimLeft(s[i:], " \t\r\n\u3000")
	}
	return s
}

// parseCommand reads the bot command from a message's text: leading
// @mentions are skipped, the first word names the command.
func parseCommand(content string) command {
	s := skipMentions(content)
	word, rest := s, ""
	if i := strings.IndexAny(s, " \t\r\n\u3000"); i >= 0 {
		word, rest = s[:i], s[i:]
	}
	switch strings.ToLower(word) {
	case "/announce", "／announce":
		return command{name: "announce", arg: strings.TrimLeft(rest, " \t\u3000")}
	case "/status", "／status":
		id, _, _ := strings.Cut(strings.TrimSpace(rest), "\n")
		return command{name: "status", arg: strings.TrimSpace(id)}
	case "/approve", "／approve", "/reject", "／reject":
		name := strings.TrimLeft(strings.ToLower(word), "/／")
		rest = strings.TrimLeft(rest, " \t\r\n\u3000")
		id, reason := rest, ""
		if i := strings.IndexAny(rest, " \t\r\n\u3000"); i >= 0 {
			id, reason = rest[:i], rest[i:]
		}
		return command{name: name, arg: id, reason: strings.Trim(reason, " \t\r\n\u3000")}
	}
	return command{name: "help"}
}

// announcementDocument turns the text after /announce into a Markdown
// document: front matter + Markdown as it is, or a first line that is the
// title followed by the body.
func announcementDocument(text string) ([]byte, error) {
	text = strings.TrimLeft(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if strings.TrimSpace(text) == "" {
		return nil, &groupcast.InputError{Code: "malformed", Fields: []*groupcast.FieldError{{Field: "body",
			Message: "nothing after /announce: write front matter and Markdown, or a title line and the text"}}}
	}
	if strings.HasPrefix(text, "---") {
		return []byte(text), nil
	}
	first, body, _ := strings.Cut(text, "\n")
	title := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(first), "#"))
	front, err := yaml.Marshal(map[string]string{"title": title})
	if err != nil {
		return nil, err
	}
	return []byte("---\n" + string(front) + "---\n" + body), nil
}

func (s *Stream) announce(ctx context.Context, log *slog.Logger, rep replyTo, d *chatbot.BotCallbackDataModel, text string) {
	data, err := announcementDocument(text)
	var a *groupcast.Announcement
	if err == nil {
		a, err = groupcast.Parse(groupcast.FormatMarkdown, data, s.env.Now())
	}
	if err == nil {
		err = transform.Check(a.Body) // as the HTTP API: past the Markdown limits, refused here
	}
	if err != nil {
		s.send(ctx, log, rep, "未受理 / refused", describeError(err))
		return
	}
	if a.ID == "" {
		// A callback the gateway delivers again (a lost ack) is the same
		// message: the id derived from msgId makes it the same announcement.
		a.ID = messageAnnouncementID(d.MsgId, data)
	}
	if a.Author == "" {
		a.Author = author(d)
	}
	sctx, cancel := context.WithTimeout(groupcast.WithPrincipal(ctx, "dingtalk:"+d.SenderStaffId), 30*time.Second)
	acc, err := s.intake.Submit(sctx, a)
	cancel()
	if err != nil {
		log.Warn("dingtalk stream announcement refused", "announcement", a.ID, "err", err)
		s.send(ctx, log, rep, "未受理 / refused", describeError(err))
		return
	}
	verb := "已受理（accepted）"
	if acc.Existing {
		verb = "已存在，未重复发送（already accepted, nothing sent twice）"
	}
	log.Info("dingtalk stream announcement accepted", "announcement", acc.ID, "targets", len(acc.Targets), "existing", acc.Existing)
	s.send(ctx, log, rep, "已受理 "+acc.ID, fmt.Sprintf("**%s** `%s`：%s\n\n%s", verb, acc.ID, a.Title, targetTable(acc.Targets, "计划目标（planned targets）")))
	if allSettled(acc.Targets) {
		s.send(ctx, log, rep, "结果 "+acc.ID, outcomeText(acc.Status))
		return
	}
	if _, ok := s.begin(); !ok {
		return
	}
	go func() {
		defer s.wg.Done()
		s.watch(ctx, log, rep, acc.ID)
	}()
}

// watch polls the announcement until every target has settled, then
// replies once with the outcome. Polling backs off from pollMin to pollMax
// and stops when the session webhook expires or Run ends.
func (s *Stream) watch(ctx context.Context, log *slog.Logger, rep replyTo, id string) {
	wait := s.pollMin
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		st, err := s.intake.Status(ctx, id)
		switch {
		case errors.Is(err, groupcast.ErrNotFound):
			log.Warn("dingtalk stream: announcement vanished while watching", "announcement", id)
			return
		case err != nil:
			log.Warn("dingtalk stream: status failed", "announcement", id, "err", err)
		case allSettled(st.Targets):
			s.send(ctx, log, rep, "结果 "+id, outcomeText(st))
			return
		}
		if !s.env.Now().Before(rep.expires) {
			log.Info("dingtalk stream: the reply webhook expired before the outcome", "announcement", id)
			return
		}
		wait = min(2*wait, s.pollMax)
	}
}

func (s *Stream) status(ctx context.Context, log *slog.Logger, rep replyTo, id string) {
	if id == "" {
		s.send(ctx, log, rep, "groupcast", "用法（usage）：`/status ID`")
		return
	}
	st, err := s.intake.Status(ctx, id)
	if err != nil {
		if errors.Is(err, groupcast.ErrNotFound) {
			s.send(ctx, log, rep, "未找到", fmt.Sprintf("没有公告 `%s`（not found）。", id))
			return
		}
		s.send(ctx, log, rep, "出错", describeError(err))
		return
	}
	s.send(ctx, log, rep, "状态 "+id, fmt.Sprintf("**%s** `%s`：%s（%s）\n\n%s", "状态（status）", st.ID, st.Title, st.State,
		targetTable(st.Targets, "目标（targets）")))
}

func allSettled(ts []groupcast.Target) bool {
	for _, t := range ts {
		if !t.State.Settled() {
			return false
		}
	}
	return true
}

func outcomeText(st groupcast.Status) string {
	state := st.State
	if state == "" {
		state = groupcast.MessageState(st.Targets)
	}
	return fmt.Sprintf("**结果（outcome）** `%s`：%s\n\n%s", st.ID, state, targetTable(st.Targets, "目标（targets）"))
}

// maxTableRows bounds a reply's table: a reply is a webhook message too,
// limited to 20,000 bytes.
const maxTableRows = 50

// targetTable lists targets, one per line (DingTalk Markdown has no tables).
func targetTable(ts []groupcast.Target, heading string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s：%d\n\n", heading, len(ts))
	for i, t := range ts {
		if i == maxTableRows {
			fmt.Fprintf(&b, "- …（还有 %d 个 / %d more）\n", len(ts)-i, len(ts)-i)
			break
		}
		fmt.Fprintf(&b, "- %s / %s → %s：**%s**", t.Account, t.Group, t.Style, t.State)
		if t.Reason != "" {
			fmt.Fprintf(&b, "（%s）", platformMessage(t.Reason))
		}
		if t.NotBefore != nil {
			fmt.Fprintf(&b, " not_before %s", t.NotBefore.Format(time.RFC3339))
		}
		if t.Parts > 1 {
			fmt.Fprintf(&b, " parts %d", t.Parts)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// describeError writes an intake or parse error for a reply, naming the
// field at fault.
func describeError(err error) string {
	var ie *groupcast.InputError
	switch {
	case errors.As(err, &ie):
		var b strings.Builder
		fmt.Fprintf(&b, "**未受理（%s）**\n\n", ie.Code)
		for _, f := range ie.Fields {
			if f.Field != "" {
				fmt.Fprintf(&b, "- `%s`：%s\n", f.Field, f.Message)
			} else {
				fmt.Fprintf(&b, "- %s\n", f.Message)
			}
		}
		if len(ie.Fields) == 0 {
			b.WriteString("- " + ie.Code + "\n")
		}
		return b.String()
	case errors.Is(err, groupcast.ErrConflict):
		return "**未受理（conflict）**：这个 id 已被另一份内容使用（the id exists with different content）。换一个 id，或不写 id。"
	case errors.Is(err, groupcast.ErrNotReady):
		return "**暂不可用（not ready）**：groupcast 正在启动或关闭，请稍后再试。"
	}
	return "**出错（error）**：" + platformMessage(err.Error())
}

// messageAnnouncementID derives an id from the DingTalk message id (or the
// document when there is none).
func messageAnnouncementID(msgID string, data []byte) string {
	h := sha256.New()
	if msgID != "" {
		h.Write([]byte(msgID))
	} else {
		h.Write(data)
	}
	return "dingtalk-" + hex.EncodeToString(h.Sum(nil))[:20]
}

func author(d *chatbot.BotCallbackDataModel) string {
	a := strings.TrimSpace(d.SenderNick)
	if a == "" {
		a = d.SenderStaffId
	}
	if utf8.RuneCountInString(a) > groupcast.MaxAuthorChars {
		a = string([]rune(a)[:groupcast.MaxAuthorChars])
	}
	return a
}

// replyTo is where a message's replies go.
type replyTo struct {
	webhook string
	expires time.Time
}

// send posts a Markdown reply to the session webhook. Failures are logged:
// a reply is a courtesy, the announcement's state is in the store.
func (s *Stream) send(ctx context.Context, log *slog.Logger, rep replyTo, title, text string) {
	if err := s.post(ctx, rep, title, text); err != nil {
		log.Warn("dingtalk stream reply failed", "err", err)
	}
}

func (s *Stream) post(ctx context.Context, rep replyTo, title, text string) error {
	u, err := url.Parse(rep.webhook)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("the message has no usable sessionWebhook")
	}
	if !s.env.Now().Before(rep.expires) {
		return errors.New("the sessionWebhook has expired")
	}
	body, err := encodeJSON(webhookBody{MsgType: "markdown", Markdown: &webhookMD{Title: title, Text: text}})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rep.webhook, bytes.NewReader(body))
	if err != nil {
		return errors.New("cannot build the reply request")
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := s.reply.Do(req)
	if err != nil {
		return transportError("post reply", err) // without the URL: it carries the session's token
	}
	raw, _ := readBody(resp)
	var a webhookAnswer
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reply answered HTTP %d", resp.StatusCode)
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil // some session webhooks answer with an empty body
	}
	if code, ok := parseErrCode(a.ErrCode); ok && code != 0 {
		return fmt.Errorf("reply refused: errcode %d: %s", code, platformMessage(a.ErrMsg))
	}
	return nil
}
