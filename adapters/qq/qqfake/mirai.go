package qqfake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/groupcast/groupcast/adapters/qq/miraigo"
)

// Mirai is a fake miraigo.Protocol that behaves like MiraiGo's client where the
// driver can tell: SendGroupMessage refuses (sends nothing) a message over
// the 5000-byte estimate or 50 images, as MiraiGo's returns nil
// [V] client/group_msg.go L36-47; sends fail while offline; recall needs
// the (seq, rand) pair of a message it sent. It can refuse logins, drop the
// session, fail or panic on command, and records everything.
type Mirai struct {
	// Now is the clock for records and gaps (default time.Now).
	Now func() time.Time
	// MinGap: sends closer than this count in GapViolations.
	MinGap time.Duration

	mu            sync.Mutex
	online        bool
	loginAnswers  []error
	qr            []byte
	logins        int
	disc          chan string
	sent          []MiraiMessage
	recalled      []miraigo.MessageRef
	sendAnswers   []error
	panics        int
	loginPanics   int
	garbage       int
	nextSeq       int32
	lastSend      time.Time
	smallestGap   time.Duration
	gapViolations int
	oversize      int
}

// MiraiMessage is one message the fake accepted.
type MiraiMessage struct {
	Group    int64
	Elements []miraigo.Element
	Ref      miraigo.MessageRef
	Time     time.Time
	Recalled bool
}

// Text is what the group sees: text elements, "@全体成员", "[image]".
func (m MiraiMessage) Text() string {
	s := ""
	for _, e := range m.Elements {
		switch {
		case e.AtAll:
			s += miraigo.AtAllDisplay
		case e.Image != nil:
			s += "[image]"
		default:
			s += e.Text
		}
	}
	return s
}

// NewMirai returns a fake that logs in at the first try.
func NewMirai() *Mirai {
	return &Mirai{disc: make(chan string, 4), nextSeq: 7000, smallestGap: -1}
}

var _ miraigo.Protocol = (*Mirai)(nil)

func (f *Mirai) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// RefuseLogins makes the next logins answer these errors, in order (nil is
// a success).
func (f *Mirai) RefuseLogins(errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loginAnswers = append(f.loginAnswers, errs...)
}

// WantQR makes the next login show this QR code before it succeeds.
func (f *Mirai) WantQR(png []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.qr = png
}

// FailSends makes the next sends answer these errors, in order.
func (f *Mirai) FailSends(errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sendAnswers = append(f.sendAnswers, errs...)
}

// PanicSends makes the next n sends panic, as an SDK bug would.
func (f *Mirai) PanicSends(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.panics += n
}

// PanicLogins makes the next n logins panic.
func (f *Mirai) PanicLogins(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loginPanics += n
}

// Garbage makes the next n logins succeed and the session drop at once, as
// MiraiGo's does against a server that answers garbage: the disconnect
// event is waiting when Login returns.
func (f *Mirai) Garbage(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.garbage += n
}

// Drop ends the session as the server would.
func (f *Mirai) Drop(reason string) {
	f.mu.Lock()
	f.online = false
	f.mu.Unlock()
	f.disc <- reason
}

// Logins counts login attempts.
func (f *Mirai) Logins() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins
}

// Sent returns the accepted messages, in order.
func (f *Mirai) Sent() []MiraiMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]MiraiMessage(nil), f.sent...)
}

// Recalled returns the recalled refs, in order.
func (f *Mirai) Recalled() []miraigo.MessageRef {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]miraigo.MessageRef(nil), f.recalled...)
}

// Oversize counts sends refused for the ceiling.
func (f *Mirai) Oversize() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.oversize
}

// SmallestGap between two sends or recalls, -1 before the second.
func (f *Mirai) SmallestGap() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.smallestGap
}

// GapViolations counts sends or recalls closer than MinGap.
func (f *Mirai) GapViolations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gapViolations
}

func (f *Mirai) Login(ctx context.Context, qr func(png []byte)) error {
	f.mu.Lock()
	f.logins++
	if f.loginPanics > 0 {
		f.loginPanics--
		f.mu.Unlock()
		panic("fake: login blew up")
	}
	png := f.qr
	f.qr = nil
	var err error
	if len(f.loginAnswers) > 0 {
		err = f.loginAnswers[0]
		f.loginAnswers = f.loginAnswers[1:]
	}
	f.mu.Unlock()
	if png != nil {
		qr(png)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.online = true
	drop := f.garbage > 0
	if drop {
		f.garbage--
		f.online = false
	}
	f.mu.Unlock()
	if drop {
		select {
		case f.disc <- "packet decode error: garbage from the server":
		default:
		}
	}
	return nil
}

func (f *Mirai) Online() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.online
}

func (f *Mirai) Disconnected() <-chan string { return f.disc }

func (f *Mirai) gap() {
	now := f.now()
	if !f.lastSend.IsZero() {
		g := now.Sub(f.lastSend)
		if f.smallestGap < 0 || g < f.smallestGap {
			f.smallestGap = g
		}
		if g < f.MinGap {
			f.gapViolations++
		}
	}
	f.lastSend = now
}

func (f *Mirai) SendGroupMessage(ctx context.Context, group int64, elems []miraigo.Element) (miraigo.MessageRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return miraigo.MessageRef{}, err
	}
	if !f.online {
		return miraigo.MessageRef{}, miraigo.ErrOffline
	}
	f.gap()
	if f.panics > 0 {
		f.panics--
		var m map[string]int
		m["nil map"]++ // a real nil-map panic, like an SDK bug
	}
	if len(f.sendAnswers) > 0 {
		err := f.sendAnswers[0]
		f.sendAnswers = f.sendAnswers[1:]
		if err != nil {
			return miraigo.MessageRef{}, err
		}
	}
	if group <= 0 {
		return miraigo.MessageRef{}, fmt.Errorf("fake: group code %d", group)
	}
	if len(elems) == 0 {
		return miraigo.MessageRef{}, errors.New("fake: empty message")
	}
	for i, e := range elems {
		kinds := 0
		if e.Text != "" {
			kinds++
		}
		if e.AtAll {
			kinds++
		}
		if e.Image != nil {
			kinds++
		}
		if kinds != 1 {
			return miraigo.MessageRef{}, fmt.Errorf("fake: element %d must be exactly one of text, at-all, image (image bytes fetched)", i)
		}
	}
	est, images := miraigo.Estimate(elems)
	if est > miraigo.MaxMessageSize || images > miraigo.MaxImages {
		f.oversize++
		return miraigo.MessageRef{}, miraigo.ErrTooLong
	}
	f.nextSeq++
	ref := miraigo.MessageRef{Seq: f.nextSeq, Rand: f.nextSeq*7919 + 13}
	f.sent = append(f.sent, MiraiMessage{Group: group, Elements: append([]miraigo.Element(nil), elems...), Ref: ref, Time: f.now()})
	return ref, nil
}

func (f *Mirai) RecallGroupMessage(ctx context.Context, group int64, ref miraigo.MessageRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if !f.online {
		return miraigo.ErrOffline
	}
	f.gap()
	for i := range f.sent {
		m := &f.sent[i]
		if m.Group == group && m.Ref == ref {
			if m.Recalled {
				return errors.New("fake: already recalled")
			}
			m.Recalled = true
			f.recalled = append(f.recalled, ref)
			return nil
		}
	}
	return fmt.Errorf("fake: no message %v in group %d", ref, group)
}

func (f *Mirai) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.online = false
	return nil
}
