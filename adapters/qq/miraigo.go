package qq

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/transform"
)

// MiraiGoDriver is the miraigo driver's table entry: a QQ account logged in
// directly with github.com/Mrs4s/MiraiGo. Legacy: the protocol needs a sign
// server today (platforms.md §4c); prefer onebot.
var MiraiGoDriver = adapters.Driver{
	Name: "miraigo",
	DriverSpec: configs.DriverSpec{
		Platforms: []string{"qq"},
		Fields:    []string{"uin", "password", "device_file", "sign_server"},
		Required:  []string{"uin", "device_file"},
		Groups:    configs.GroupsRequired,
		DefaultRate: configs.Rate{
			PerMinute: MiraiGoPerMinute,
			MinGap:    MiraiGoMinGap,
			MaxGap:    MiraiGoMaxGap,
		},
		CheckAccount: checkMiraiGoAccount,
		CheckGroup:   CheckGroup,
	},
	New: func(acc configs.Account, env adapters.Env) (groupcast.Sender, error) {
		return NewMiraiGo(acc, env)
	},
}

func checkMiraiGoAccount(a configs.Account) []string {
	var problems []string
	if a.UIN <= 0 || a.UIN > 1<<40 {
		problems = append(problems, "uin: must be the account's QQ number")
	}
	if strings.TrimSpace(a.DeviceFile) == "" {
		problems = append(problems, "device_file: must name the device file (created on first run)")
	}
	if a.SignServer != "" {
		if p := checkSignServer(a.SignServer); p != "" {
			problems = append(problems, p)
		}
	}
	return problems
}

// Protocol is what the miraigo driver needs from a QQ protocol client. The
// real one wraps MiraiGo's *client.QQClient (miraigo_client.go); tests use
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
			bytes += len(MiraiGoAtAllDisplay)
		case e.ImageURL != "" || e.Image != nil:
			bytes += MiraiGoImageCost
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
		return MessageRef{}, fmt.Errorf("%q is not a MiraiGo message id (seq:rand)", limitText(s, 40))
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
		b.WriteString(": " + limitText(e.Message, 200))
	}
	switch {
	case e.Code == MiraiGoLoginCodeNeedsSign:
		b.WriteString(" — code 45 means the server wants a signed login: run a sign server matching the protocol version and set sign_server, or switch this account to the onebot driver")
	case e.Code == MiraiGoLoginCodeFrozen:
		b.WriteString(" — the account is frozen; unfreeze it in the QQ app")
	case e.VerifyURL != "":
		b.WriteString(" — a person must verify this login at " + limitText(e.VerifyURL, 200))
	}
	return b.String()
}

// NeedsSignServer reports whether err is the "code 45" login refusal.
func NeedsSignServer(err error) bool {
	var le *LoginError
	return errors.As(err, &le) && le.Code == MiraiGoLoginCodeNeedsSign
}

// MiraiGo sends to QQ groups as a directly logged-in account. It is safe
// for concurrent use.
type MiraiGo struct {
	uin        int64
	signServer bool
	proto      Protocol
	images     *imagefetch.Fetcher
	log        *slog.Logger
	pacer      adapters.Pacer
	now        func() time.Time
	after      func(time.Duration) <-chan time.Time
	qrPath     string
	writeFile  func(name string, data []byte) error
	progress   progress

	mu    sync.Mutex
	state error // nil when logged in
}

var (
	_ groupcast.Sender   = (*MiraiGo)(nil)
	_ groupcast.Recaller = (*MiraiGo)(nil)
	_ groupcast.Parter   = (*MiraiGo)(nil)
	_ groupcast.Starter  = (*MiraiGo)(nil)
	_ groupcast.Readier  = (*MiraiGo)(nil)
)

// NewMiraiGo builds the sender for one account over MiraiGo. It does no
// I/O: the device file is read and the login made in Start.
func NewMiraiGo(acc configs.Account, env adapters.Env) (*MiraiGo, error) {
	env = env.WithDefaults()
	return NewMiraiGoWith(acc, env, newMiraiClient(acc, env))
}

// NewMiraiGoWith builds the sender over any Protocol (tests use a fake).
func NewMiraiGoWith(acc configs.Account, env adapters.Env, p Protocol) (*MiraiGo, error) {
	if problems := checkMiraiGoAccount(acc); len(problems) > 0 {
		return nil, fmt.Errorf("qq miraigo account %q: %s", acc.Name, strings.Join(problems, "; "))
	}
	env = env.WithDefaults()
	qr := acc.DeviceFile + ".qr.png"
	return &MiraiGo{
		uin:        acc.UIN,
		signServer: acc.SignServer != "",
		proto:      p,
		images:     env.Images,
		log:        env.Logger,
		pacer:      env.Pacer,
		now:        env.Now,
		after:      time.After,
		qrPath:     qr,
		writeFile:  writeFile0600,
		state:      errors.New("qq miraigo: not logged in yet"),
	}, nil
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

func (g *MiraiGo) setState(err error) {
	g.mu.Lock()
	g.state = err
	g.mu.Unlock()
}

// Ready is nil while logged in, else why not: logging in, waiting for a QR
// scan, the login refusal (code 45 and what to do), or reconnecting.
func (g *MiraiGo) Ready() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state
}

// Start logs in and keeps the session up: after a drop or a retryable
// failure it logs in again with exponential backoff (1 s to 5 min). A
// refusal that needs a person (code 45, a frozen account, captcha, SMS or
// device verification) is not retried: it stays in Ready and the log until
// the account is fixed and groupcast restarted, since repeated refused
// logins get an account flagged. It returns when ctx ends.
func (g *MiraiGo) Start(ctx context.Context) error {
	defer func() { _ = safely(g.proto.Close) }()
	delay := BackoffMin
	for {
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
			} else {
				g.log.Error("QQ login failed", "uin", g.uin, "error", err, "retry", !final)
			}
			if final {
				<-ctx.Done()
				return nil
			}
			if !g.sleep(ctx, delay) {
				return nil
			}
			delay = min(delay*2, BackoffMax)
			continue
		}
		delay = BackoffMin
		g.setState(nil)
		g.log.Info("QQ logged in", "uin", g.uin)
		select {
		case <-ctx.Done():
			return nil
		case reason := <-g.proto.Disconnected():
			g.setState(fmt.Errorf("qq miraigo: reconnecting after the session dropped: %s", limitText(reason, 200)))
			g.log.Warn("QQ session dropped; logging in again", "uin", g.uin, "reason", reason, "after", delay)
		}
		if !g.sleep(ctx, delay) {
			return nil
		}
	}
}

func (g *MiraiGo) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-g.after(d):
		return true
	}
}

// showQR writes the QR code to scan next to the device file and says so in
// Ready and the log.
func (g *MiraiGo) showQR(png []byte) {
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

// plan splits the text under MiraiGoTextBudget bytes, puts at-all first
// and the images with the last part when they fit under the ceiling, else
// in messages of their own.
func (g *MiraiGo) plan(r groupcast.Rendered) ([]message, error) {
	var parts []string
	if strings.TrimSpace(r.Text) != "" {
		var err error
		parts, err = transform.Split(r.Text, MiraiGoTextBudget, transform.Bytes)
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
			m.text = MiraiGoAtAllDisplay
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
		if len(images) <= MiraiGoMaxImages && est+MiraiGoImageCost*len(images) <= MiraiGoMaxMessageSize {
			last.elems = append(last.elems, images...)
			images = nil
		}
	}
	perMsg := min(MiraiGoMaxImages, (MiraiGoMaxMessageSize-len(imageCaption)-len(MiraiGoAtAllDisplay)-1)/MiraiGoImageCost)
	for len(images) > 0 {
		n := min(perMsg, len(images))
		m := message{text: imageCaption}
		if len(msgs) == 0 && r.MentionAll {
			m.elems = append(m.elems, Element{AtAll: true})
			m.text = MiraiGoAtAllDisplay + " " + imageCaption
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
func (g *MiraiGo) Parts(r groupcast.Rendered) ([]string, error) {
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

func msgDigest(msgs []message) string {
	h := sha256.New()
	for _, m := range msgs {
		for _, e := range m.elems {
			fmt.Fprintf(h, "%t\x00%s\x00%s\x00", e.AtAll, e.Text, e.ImageURL)
		}
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Send posts one rendered announcement to one group, message by message,
// waiting for the account's pacer before each.
func (g *MiraiGo) Send(ctx context.Context, m groupcast.Outgoing) (groupcast.Receipt, error) {
	group, err := parseGroup(m.Group)
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
	digest := msgDigest(msgs)
	ids := g.progress.load(m.DeliveryID, digest)
	for i := len(ids); i < len(msgs); i++ {
		elems, err := g.fetchImages(ctx, msgs[i].elems)
		if err != nil {
			g.progress.store(m.DeliveryID, digest, ids)
			return groupcast.Receipt{}, err
		}
		if err := g.pacer.Wait(ctx); err != nil {
			g.progress.store(m.DeliveryID, digest, ids)
			return groupcast.Receipt{}, groupcast.Temporary("timeout", fmt.Errorf("qq miraigo: waiting for the pacer: %w", err))
		}
		var ref MessageRef
		err = safely(func() error {
			var err error
			ref, err = g.proto.SendGroupMessage(ctx, group, elems)
			return err
		})
		if err != nil {
			g.progress.store(m.DeliveryID, digest, ids)
			err = g.classify(ctx, err)
			if len(msgs) > 1 {
				err = fmt.Errorf("part %d of %d: %w", i+1, len(msgs), err)
			}
			g.log.Warn("send failed", "announcement", announcementID(m), "group", m.Group, "part", i+1, "error", err)
			return groupcast.Receipt{}, err
		}
		ids = append(ids, ref.String())
	}
	g.progress.drop(m.DeliveryID)
	return groupcast.Receipt{Parts: len(ids), MessageIDs: ids, SentAt: g.now()}, nil
}

// classify turns a Protocol error into the router's classes.
func (g *MiraiGo) classify(ctx context.Context, err error) error {
	err = fmt.Errorf("qq miraigo: %w", err)
	switch {
	case ctx.Err() != nil:
		return groupcast.Temporary("timeout", err)
	case errors.Is(err, ErrTooLong):
		return groupcast.Permanent("too_long", err)
	case errors.Is(err, ErrNoReceipt):
		return groupcast.Throttled("risk_control", RiskPause, err)
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
func (g *MiraiGo) fetchImages(ctx context.Context, elems []Element) ([]Element, error) {
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
func (g *MiraiGo) fetch(ctx context.Context, u string) ([]byte, error) {
	data, err := g.images.Fetch(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("qq miraigo: %w", err)
	}
	return data, nil
}

// Recall takes back every part of a delivered announcement. It tries every
// part even when one fails, and reports the first failure.
func (g *MiraiGo) Recall(ctx context.Context, group string, r groupcast.Receipt) error {
	gid, err := parseGroup(group)
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
