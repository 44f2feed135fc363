// Package miraigo is the QQ driver miraigo: a QQ account logged in directly
// over the legacy Android protocol with github.com/Mrs4s/MiraiGo. The
// server refuses unsigned logins today (code 45), so it needs a sign
// server; prefer the onebot driver (adapters/qq). docs/platforms.md has the
// facts; limits.go has the numbers; backoff.go the reconnect backoff and the
// log rate limit.
package miraigo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/imagefetch"
	"github.com/groupcast/groupcast/adapters/qq"
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/transform"
)

// Driver is the miraigo driver's table entry: a QQ account logged in
// directly with github.com/Mrs4s/MiraiGo. Legacy: the protocol needs a sign
// server today (docs/platforms.md); prefer onebot.
var Driver = adapters.Define("miraigo", configs.DriverSpec{
	Platform: qq.Platform,
	Groups:   configs.GroupsRequired,
	DefaultRate: configs.Rate{
		PerMinute: PerMinute,
		MinGap:    MinGap,
		MaxGap:    MaxGap,
	},
	CheckGroup: qq.CheckGroup,
}, func(ac configs.Account, c Config, env adapters.Env) (groupcast.Sender, error) {
	return New(c, env)
})

// Protocol is what the miraigo driver needs from a QQ protocol client. The
// real one wraps MiraiGo's *client.QQClient (client.go); tests use
// qqfake.Mirai. Implementations must be safe for concurrent use; the driver
// recovers from their panics all the same.
type Protocol interface {
	// Login logs in, reusing a saved session where it can, else with the
	// password, else by QR code: qr is then called with a PNG to scan. It
	// returns a *LoginError when the server refused.
	Login(ctx context.Context, qr func(png []byte)) error
	// Online reports whether the session is up.
	Online() bool
	// Disconnected delivers a reason each time the session drops.
	Disconnected() <-chan string
	// SendGroupMessage sends one message. It returns ErrTooLong when the
	// message is over MiraiGo's ceiling (nothing sent), ErrNoReceipt when
	// the server gave no receipt (likely risk control), ErrOffline when not
	// logged in.
	SendGroupMessage(ctx context.Context, group int64, elems []Element) (MessageRef, error)
	// RecallGroupMessage takes one message back.
	RecallGroupMessage(ctx context.Context, group int64, ref MessageRef) error
	// Close logs out and releases the client.
	Close() error
}

// Element is one piece of a MiraiGo message: text, an at-all mention, or an
// image (its bytes, fetched by the driver, are uploaded by the protocol).
type Element struct {
	Text     string
	AtAll    bool
	ImageURL string
	Image    []byte
}

// Estimate is MiraiGo's message.EstimateLength for these elements: text
// bytes, the at element's display, 100 per image. [V] message/message.go.
func Estimate(elems []Element) (bytes, images int) {
	for _, e := range elems {
		switch {
		case e.AtAll:
			bytes += len(AtAllDisplay)
		case e.ImageURL != "" || e.Image != nil:
			bytes += ImageCost
			images++
		default:
			bytes += len(e.Text)
		}
	}
	return bytes, images
}

// MessageRef identifies a sent group message: MiraiGo's GroupMessage.Id
// (the sequence) and InternalId (the random), both needed to recall it.
type MessageRef struct {
	Seq  int32
	Rand int32
}

// String is the receipt form, "seq:rand".
func (r MessageRef) String() string {
	return strconv.FormatInt(int64(r.Seq), 10) + ":" + strconv.FormatInt(int64(r.Rand), 10)
}

// ParseMessageRef reads a receipt id written by MessageRef.String.
func ParseMessageRef(s string) (MessageRef, error) {
	a, b, ok := strings.Cut(s, ":")
	seq, err1 := strconv.ParseInt(a, 10, 32)
	rnd, err2 := strconv.ParseInt(b, 10, 32)
	if !ok || err1 != nil || err2 != nil || seq < 0 {
		return MessageRef{}, fmt.Errorf("%q is not a MiraiGo message id (seq:rand)", qq.LimitText(s, 40))
	}
	return MessageRef{Seq: int32(seq), Rand: int32(rnd)}, nil
}

// Errors a Protocol returns.
var (
	ErrTooLong   = errors.New("message over MiraiGo's 5000-byte / 50-image ceiling: nothing was sent")
	ErrNoReceipt = errors.New("no receipt from the server within 5 s: the account is probably risk-controlled")
	ErrOffline   = errors.New("not logged in")
	ErrPanic     = errors.New("the protocol client panicked")
)

// LoginError is a login the server refused.
type LoginError struct {
	// Code is the server's answer code (45: needs a sign server).
	Code int
	// Kind is MiraiGo's LoginError name (NeedCaptcha, SMSNeededError, …).
	Kind string
	// Message is the server's text, if any.
	Message string
	// VerifyURL is where a person must verify the device or slide a captcha.
	VerifyURL string
	// Retry says whether trying again later may help without a person.
	Retry bool
}

func (e *LoginError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "login refused (code %d", e.Code)
	if e.Kind != "" {
		b.WriteString(", " + e.Kind)
	}
	b.WriteString(")")
	if e.Message != "" {
		b.WriteString(": " + qq.LimitText(e.Message, 200))
	}
	switch {
	case e.Code == LoginCodeNeedsSign:
		b.WriteString(" — code 45 means the server wants a signed login: run a sign server matching the protocol version and set sign_server, or switch this account to the onebot driver")
	case e.Code == LoginCodeFrozen:
		b.WriteString(" — the account is frozen; unfreeze it in the QQ app")
	case e.VerifyURL != "":
		b.WriteString(" — a person must verify this login at " + qq.LimitText(e.VerifyURL, 200))
	}
	return b.String()
}

// NeedsSignServer reports whether err is the "code 45" login refusal.
func NeedsSignServer(err error) bool {
	var le *LoginError
	return errors.As(err, &le) && le.Code == LoginCodeNeedsSign
}

// Sender sends to QQ groups as a directly logged-in account. It is safe
// for concurrent use.
type Sender struct {
	uin        int64
	signServer bool
	proto      Protocol
	images     *imagefetch.Fetcher
	log        *slog.Logger
	pacer      adapters.Pacer
	now        func() time.Time
	after      func(time.Duration) <-chan time.Time
	jitter     func(time.Duration) time.Duration
	qrPath     string
	writeFile  func(name string, data []byte) error

	mu    sync.Mutex
	state error // nil when logged in
}

var (
	_ groupcast.Sender   = (*Sender)(nil)
	_ groupcast.Recaller = (*Sender)(nil)
	_ groupcast.Parter   = (*Sender)(nil)
	_ groupcast.Starter  = (*Sender)(nil)
	_ groupcast.Readier  = (*Sender)(nil)
)

// New builds the sender for one account over MiraiGo. It does no
// I/O: the device file is read and the login made in Start.
func New(c Config, env adapters.Env) (*Sender, error) {
	env = env.WithDefaults()
	return NewWith(c, env, newMiraiClient(c, env))
}

// NewWith builds the sender over any Protocol (tests use a fake).
func NewWith(c Config, env adapters.Env, p Protocol) (*Sender, error) {
	if problems := c.Check(); len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	env = env.WithDefaults()
	qr := c.DeviceFile + ".qr.png"
	return &Sender{
		uin:        c.UIN,
		signServer: c.SignServer != "",
		proto:      p,
		images:     env.Images,
		log:        env.Logger,
		pacer:      env.Pacer,
		now:        env.Now,
		after:      time.After,
		jitter:     jitter,
		qrPath:     qr,
		writeFile:  writeFile0600,
		state:      errors.New("qq miraigo: not logged in yet"),
	}, nil
}

func announcementID(m groupcast.Outgoing) string {
	if m.Announcement != nil {
		return m.Announcement.ID
	}
	return ""
}

// safely runs fn, turning a panic into an error wrapping ErrPanic.
func safely(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrPanic, r)
		}
	}()
	return fn()
}

func (g *Sender) setState(err error) {
	g.mu.Lock()
	g.state = err
	g.mu.Unlock()
}

// Ready is nil while logged in, else why not: logging in, waiting for a QR
// scan, the login refusal (code 45 and what to do), or reconnecting.
func (g *Sender) Ready() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state
}

// Start logs in and keeps the session up. After a retryable failure, or a
// drop, it logs in again after a jittered exponential backoff (backoff):
// 1 s doubling to 5 min, reset only by a session that stayed up for
// StableAfter, so a server that accepts a login and drops it at once (or
// answers garbage) is retried a few times an hour, not many times a second.
// The failure and drop lines are rate-limited to one per LogEvery, with the
// count of those left out. A refusal that needs a person (code 45, a frozen
// account, captcha, SMS or device verification) is not retried: it stays in
// Ready and the log until the account is fixed and groupcast restarted,
// since repeated refused logins get an account flagged. It returns when ctx
// ends.
func (g *Sender) Start(ctx context.Context) error {
	defer func() { _ = safely(g.proto.Close) }()
	b := &backoff{min: BackoffMin, max: BackoffMax, jitter: g.jitter}
	failed := &limiter{every: LogEvery, now: g.now}
	dropped := &limiter{every: LogEvery, now: g.now}
	up := &limiter{every: LogEvery, now: g.now}
	for {
		g.drain()
		g.setState(errors.New("qq miraigo: logging in"))
		err := safely(func() error { return g.proto.Login(ctx, g.showQR) })
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var le *LoginError
			final := errors.As(err, &le) && !le.Retry
			g.setState(fmt.Errorf("qq miraigo: %w", err))
			if NeedsSignServer(err) && !g.signServer {
				g.log.Error("QQ login refused with code 45: this account needs a sign server (sign_server is not set); the onebot driver avoids this", "uin", g.uin, "error", err)
			} else if final {
				g.log.Error("QQ login failed", "uin", g.uin, "error", err, "retry", false)
			}
			if final {
				<-ctx.Done()
				return nil
			}
			wait := b.next()
			if n, ok := failed.allow(); ok {
				g.log.Error("QQ login failed", "uin", g.uin, "error", err, "retry", true, "after", wait, "failures_not_logged", n)
			}
			if !g.sleep(ctx, wait) {
				return nil
			}
			continue
		}
		since := g.now()
		g.setState(nil)
		if n, ok := up.allow(); ok {
			g.log.Info("QQ logged in", "uin", g.uin, "logins_not_logged", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case reason := <-g.proto.Disconnected():
			if g.now().Sub(since) >= StableAfter {
				b.reset()
			}
			wait := b.next()
			g.setState(fmt.Errorf("qq miraigo: reconnecting after the session dropped: %s", qq.LimitText(reason, 200)))
			if n, ok := dropped.allow(); ok {
				g.log.Warn("QQ session dropped; logging in again", "uin", g.uin, "reason", qq.LimitText(reason, 200), "after", wait, "drops_not_logged", n)
			}
			if !g.sleep(ctx, wait) {
				return nil
			}
		}
	}
}

// drain drops disconnect events left over from an earlier session, so a
// new one is not taken down by a stale one.
func (g *Sender) drain() {
	for {
		select {
		case <-g.proto.Disconnected():
		default:
			return
		}
	}
}

func (g *Sender) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-g.after(d):
		return true
	}
}

// showQR writes the QR code to scan next to the device file and says so in
// Ready and the log.
func (g *Sender) showQR(png []byte) {
	if err := g.writeFile(g.qrPath, png); err != nil {
		g.setState(fmt.Errorf("qq miraigo: waiting for QR login, but the QR code could not be written to %s: %v", g.qrPath, err))
		g.log.Error("cannot write the QR code", "path", g.qrPath, "error", err)
		return
	}
	g.setState(fmt.Errorf("qq miraigo: waiting for QR login: scan %s with the QQ app of %d", g.qrPath, g.uin))
	g.log.Warn("waiting for QR login", "path", g.qrPath, "uin", g.uin)
}

// message is one planned MiraiGo message and the text a member sees.
type message struct {
	elems []Element
	text  string
}

// imageCaption is the text of a message that carries only the images that
// did not fit with the last part.
const imageCaption = "（图片）"

// plan splits the text under TextBudget bytes, puts at-all first
// and the images with the last part when they fit under the ceiling, else
// in messages of their own.
func (g *Sender) plan(r groupcast.Rendered) ([]message, error) {
	var parts []string
	if strings.TrimSpace(r.Text) != "" {
		var err error
		parts, err = transform.Split(r.Text, TextBudget, transform.Bytes)
		if err != nil {
			return nil, groupcast.Permanent("split", fmt.Errorf("qq miraigo: %w", err))
		}
	}
	if len(parts) == 0 && len(r.Images) == 0 {
		return nil, groupcast.Permanent("empty", errors.New("qq miraigo: nothing to send: no text and no images"))
	}
	var msgs []message
	for i, p := range parts {
		var m message
		if i == 0 && r.MentionAll {
			m.elems = append(m.elems, Element{AtAll: true})
			p = " " + p
			m.text = AtAllDisplay
		}
		m.elems = append(m.elems, Element{Text: p})
		m.text += p
		msgs = append(msgs, m)
	}
	images := make([]Element, len(r.Images))
	for i, im := range r.Images {
		images[i] = Element{ImageURL: im.URL}
	}
	if len(images) > 0 && len(msgs) > 0 {
		last := &msgs[len(msgs)-1]
		est, _ := Estimate(last.elems)
		if len(images) <= MaxImages && est+ImageCost*len(images) <= MaxMessageSize {
			last.elems = append(last.elems, images...)
			images = nil
		}
	}
	perMsg := min(MaxImages, (MaxMessageSize-len(imageCaption)-len(AtAllDisplay)-1)/ImageCost)
	for len(images) > 0 {
		n := min(perMsg, len(images))
		m := message{text: imageCaption}
		if len(msgs) == 0 && r.MentionAll {
			m.elems = append(m.elems, Element{AtAll: true})
			m.text = AtAllDisplay + " " + imageCaption
			m.elems = append(m.elems, Element{Text: " " + imageCaption})
		} else {
			m.elems = append(m.elems, Element{Text: imageCaption})
		}
		m.elems = append(m.elems, images[:n]...)
		images = images[n:]
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// Parts returns the texts Send posts, one per message.
func (g *Sender) Parts(r groupcast.Rendered) ([]string, error) {
	msgs, err := g.plan(r)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.text
	}
	return out, nil
}

// Send posts one rendered announcement to one group, message by message,
// waiting for the account's pacer before each.
func (g *Sender) Send(ctx context.Context, m groupcast.Outgoing) (groupcast.Receipt, error) {
	group, err := qq.ParseGroup(m.Group)
	if err != nil {
		return groupcast.Receipt{}, groupcast.Permanent("bad_group", fmt.Errorf("qq miraigo: %w", err))
	}
	msgs, err := g.plan(m.Rendered)
	if err != nil {
		return groupcast.Receipt{}, err
	}
	if err := g.Ready(); err != nil {
		return groupcast.Receipt{}, groupcast.Throttled("offline", OfflinePause, err)
	}
	// A retry resumes after the parts an earlier attempt delivered (stored
	// with the target through m.Delivered), across restarts and lease moves.
	start := m.Resume(len(msgs))
	ids := append([]string(nil), m.Done[:start]...)
	for i := start; i < len(msgs); i++ {
		elems, err := g.fetchImages(ctx, msgs[i].elems)
		if err != nil {
			return groupcast.Receipt{}, err
		}
		if err := g.pacer.Wait(ctx); err != nil {
			return groupcast.Receipt{}, groupcast.Temporary("timeout", fmt.Errorf("qq miraigo: waiting for the pacer: %w", err))
		}
		var ref MessageRef
		err = safely(func() error {
			var err error
			ref, err = g.proto.SendGroupMessage(ctx, group, elems)
			return err
		})
		if err != nil {
			err = g.classify(ctx, err)
			if len(msgs) > 1 {
				err = fmt.Errorf("part %d of %d: %w", i+1, len(msgs), err)
			}
			g.log.Warn("send failed", "announcement", announcementID(m), "group", m.Group, "part", i+1, "error", err)
			return groupcast.Receipt{}, err
		}
		ids = append(ids, ref.String())
		if err := m.Delivered(ctx, i, len(msgs), ref.String()); err != nil {
			return groupcast.Receipt{}, err
		}
	}
	return groupcast.Receipt{Parts: len(ids), MessageIDs: ids, SentAt: g.now()}, nil
}

// classify turns a Protocol error into the router's classes.
func (g *Sender) classify(ctx context.Context, err error) error {
	err = fmt.Errorf("qq miraigo: %w", err)
	switch {
	case ctx.Err() != nil:
		return groupcast.Temporary("timeout", err)
	case errors.Is(err, ErrTooLong):
		return groupcast.Permanent("too_long", err)
	case errors.Is(err, ErrNoReceipt):
		return groupcast.Throttled("risk_control", qq.RiskPause, err)
	case errors.Is(err, ErrOffline):
		return groupcast.Throttled("offline", OfflinePause, err)
	case errors.Is(err, ErrPanic):
		g.log.Error("the QQ protocol client panicked; recovered", "error", err)
		return groupcast.Temporary("panic", err)
	}
	var de *groupcast.DeliveryError
	if errors.As(err, &de) {
		return err
	}
	return groupcast.Temporary("protocol", err)
}

// fetchImages downloads the images of one message for upload.
func (g *Sender) fetchImages(ctx context.Context, elems []Element) ([]Element, error) {
	out := make([]Element, len(elems))
	copy(out, elems)
	for i := range out {
		if out[i].ImageURL == "" || out[i].Image != nil {
			continue
		}
		data, err := g.fetch(ctx, out[i].ImageURL)
		if err != nil {
			return nil, err
		}
		out[i].Image = data
	}
	return out, nil
}

// fetch downloads one image through env.Images: public addresses only,
// redirects, size (10 MiB) and time capped, errors classified.
func (g *Sender) fetch(ctx context.Context, u string) ([]byte, error) {
	data, err := g.images.Fetch(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("qq miraigo: %w", err)
	}
	return data, nil
}

// Recall takes back every part of a delivered announcement. It tries every
// part even when one fails, and reports the first failure.
func (g *Sender) Recall(ctx context.Context, group string, r groupcast.Receipt) error {
	gid, err := qq.ParseGroup(group)
	if err != nil {
		return groupcast.Permanent("bad_group", fmt.Errorf("qq miraigo: %w", err))
	}
	if err := g.Ready(); err != nil {
		return groupcast.Throttled("offline", OfflinePause, err)
	}
	var first error
	failed := 0
	for i, id := range r.MessageIDs {
		ref, err := ParseMessageRef(id)
		if err == nil {
			if werr := g.pacer.Wait(ctx); werr != nil {
				return groupcast.Temporary("timeout", fmt.Errorf("qq miraigo: recall: %w", werr))
			}
			err = safely(func() error { return g.proto.RecallGroupMessage(ctx, gid, ref) })
			if err != nil {
				err = g.classify(ctx, err)
			}
		} else {
			err = fmt.Errorf("%w: %v", groupcast.ErrRecallUnsupported, err)
		}
		if err != nil {
			failed++
			g.log.Warn("recall failed", "group", group, "part", i+1, "error", err)
			if first == nil {
				first = err
			}
		}
	}
	if first == nil {
		return nil
	}
	return fmt.Errorf("qq miraigo: recall: %d of %d parts failed, first: %w", failed, len(r.MessageIDs), first)
}
