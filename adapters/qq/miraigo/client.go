package miraigo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/Mrs4s/MiraiGo/client"
	miraimsg "github.com/Mrs4s/MiraiGo/message"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
)

// miraiClient is the Protocol over MiraiGo's *client.QQClient. None of it
// can be exercised here: MiraiGo speaks Tencent's encrypted SSO protocol to
// Tencent's servers (docs/platforms.md). It compiles, it is wired, and every
// SDK call runs under recover with a context bound, so a protocol bug costs
// a failed send, never the daemon.
type miraiClient struct {
	uin        int64
	password   configs.Secret
	deviceFile string
	tokenFile  string
	signServer string
	env        adapters.Env
	log        *slog.Logger
	sdkLog     sdkLogger

	mu   sync.Mutex
	cli  *client.QQClient
	disc chan string
}

func newMiraiClient(c Config, env adapters.Env) *miraiClient {
	return &miraiClient{
		uin:        c.UIN,
		password:   c.Password,
		deviceFile: c.DeviceFile,
		tokenFile:  c.DeviceFile + ".session",
		signServer: c.SignServer,
		env:        env,
		log:        env.Logger,
		sdkLog:     newSDKLogger(env.Logger, env.Now),
		disc:       make(chan string, 4),
	}
}

var _ Protocol = (*miraiClient)(nil)

// sdk runs fn (a blocking MiraiGo call without a context) in a goroutine,
// under recover, and gives up when ctx ends. MiraiGo's own calls time out
// (sendAndWait, the 5 s receipt wait), so an abandoned goroutine ends soon.
func sdk[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		r.err = safely(func() error {
			var err error
			r.v, err = fn()
			return err
		})
		ch <- r
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// loadDevice reads the device file, or generates one and writes it on the
// first run (go-cqhttp's device.json format). Keeping the same device
// matters: a new device on every start looks like a stolen account.
func loadDevice(path string) (*client.DeviceInfo, error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		dev := new(client.DeviceInfo)
		if err := dev.ReadJson(data); err != nil {
			return nil, fmt.Errorf("device file %s is unreadable: %w", path, err)
		}
		return dev, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("device file: %w", err)
	}
	dev := client.GenRandomDevice()
	if err := writeFile0600(path, dev.ToJson()); err != nil {
		return nil, fmt.Errorf("writing the new device file: %w", err)
	}
	return dev, nil
}

// writeFile0600 writes data readable by the owner only, via a temporary
// file so that a crash never leaves half a file.
func writeFile0600(name string, data []byte) error {
	if dir := filepath.Dir(name); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

func (c *miraiClient) Login(ctx context.Context, qr func(png []byte)) error {
	c.mu.Lock()
	old := c.cli
	c.cli = nil
	c.mu.Unlock()
	if old != nil {
		_ = safely(func() error { old.Release(); return nil })
	}
	dev, err := loadDevice(c.deviceFile)
	if err != nil {
		return &LoginError{Code: -1, Kind: "DeviceFile", Message: err.Error()}
	}
	if c.signServer != "" {
		if err := useSignServer(c.uin, c.signServer, c.env); err != nil {
			return &LoginError{Code: -1, Kind: "SignServer", Message: err.Error()}
		}
	}
	newClient := func() *client.QQClient {
		var cli *client.QQClient
		if pw := c.password.Reveal(); pw != "" {
			cli = client.NewClient(c.uin, pw)
		} else {
			cli = client.NewClientEmpty()
		}
		cli.UseDevice(dev)
		cli.SetLogger(c.sdkLog)
		cli.DisconnectedEvent.Subscribe(func(_ *client.QQClient, e *client.ClientDisconnectedEvent) {
			select {
			case c.disc <- e.Message:
			default:
			}
		})
		return cli
	}

	// A saved session first: it avoids a password or QR login, which is
	// what risk control watches.
	if token, err := os.ReadFile(c.tokenFile); err == nil && len(token) > 0 {
		cli := newClient()
		if _, err := sdk(ctx, func() (struct{}, error) { return struct{}{}, cli.TokenLogin(token) }); err == nil {
			return c.loggedIn(cli)
		} else if ctx.Err() != nil {
			return ctx.Err()
		} else {
			c.log.Warn("saved QQ session refused; logging in again", "error", err)
			_ = safely(func() error { cli.Release(); return nil })
		}
	}

	cli := newClient()
	var rsp *client.LoginResponse
	if c.password.Reveal() != "" {
		rsp, err = sdk(ctx, cli.Login)
	} else {
		rsp, err = c.qrLogin(ctx, cli, qr)
	}
	if err != nil {
		_ = safely(func() error { cli.Release(); return nil })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("login: %w", err)
	}
	if rsp == nil || !rsp.Success {
		_ = safely(func() error { cli.Release(); return nil })
		return loginRefusal(rsp)
	}
	return c.loggedIn(cli)
}

// loginRefusal turns MiraiGo's answer into a LoginError. Only an unknown
// refusal is worth retrying unattended.
func loginRefusal(rsp *client.LoginResponse) *LoginError {
	if rsp == nil {
		return &LoginError{Code: -1, Kind: "NoAnswer", Retry: true}
	}
	le := &LoginError{Code: int(rsp.Code), Kind: rsp.Error.String(), Message: rsp.ErrorMessage, VerifyURL: rsp.VerifyUrl}
	switch rsp.Error {
	case client.NeedCaptcha, client.SliderNeededError, client.UnsafeDeviceError,
		client.SMSNeededError, client.SMSOrVerifyNeededError, client.TooManySMSRequestError:
		le.Retry = false
	default:
		le.Retry = le.Code != LoginCodeNeedsSign && le.Code != LoginCodeFrozen && rsp.Error != client.OtherLoginError
	}
	return le
}

func (c *miraiClient) qrLogin(ctx context.Context, cli *client.QQClient, qr func([]byte)) (*client.LoginResponse, error) {
	q, err := sdk(ctx, cli.FetchQRCode)
	if err != nil {
		return nil, err
	}
	if q == nil || q.State != client.QRCodeImageFetch {
		return nil, errors.New("no QR code from the server")
	}
	qr(q.ImageData)
	sig := q.Sig
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
		s, err := sdk(ctx, func() (*client.QRCodeLoginResponse, error) { return cli.QueryQRCodeStatus(sig) })
		if err != nil {
			return nil, err
		}
		switch s.State {
		case client.QRCodeConfirmed:
			return sdk(ctx, func() (*client.LoginResponse, error) { return cli.QRCodeLogin(s.LoginInfo) })
		case client.QRCodeTimeout, client.QRCodeCanceled:
			return &client.LoginResponse{Error: client.UnknownLoginError, ErrorMessage: "the QR code expired or was cancelled"}, nil
		}
	}
}

func (c *miraiClient) loggedIn(cli *client.QQClient) error {
	if tok, err := sdk(context.Background(), func() ([]byte, error) { return cli.GenToken(), nil }); err == nil {
		if err := writeFile0600(c.tokenFile, tok); err != nil {
			c.log.Warn("cannot save the QQ session", "error", err)
		}
	}
	c.mu.Lock()
	c.cli = cli
	c.mu.Unlock()
	return nil
}

func (c *miraiClient) current() (*client.QQClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cli == nil || !c.cli.Online.Load() {
		return nil, ErrOffline
	}
	return c.cli, nil
}

func (c *miraiClient) Online() bool {
	_, err := c.current()
	return err == nil
}

func (c *miraiClient) Disconnected() <-chan string { return c.disc }

func (c *miraiClient) SendGroupMessage(ctx context.Context, group int64, elems []Element) (MessageRef, error) {
	cli, err := c.current()
	if err != nil {
		return MessageRef{}, err
	}
	sm := miraimsg.NewSendingMessage()
	for _, e := range elems {
		switch {
		case e.AtAll:
			sm.Append(miraimsg.AtAll())
		case e.Image != nil:
			img, err := sdk(ctx, func() (miraimsg.IMessageElement, error) {
				return cli.UploadImage(miraimsg.Source{SourceType: miraimsg.SourceGroup, PrimaryID: group}, bytes.NewReader(e.Image))
			})
			if err != nil {
				return MessageRef{}, fmt.Errorf("uploading an image: %w", err)
			}
			sm.Append(img)
		case e.Text != "":
			sm.Append(miraimsg.NewText(e.Text))
		}
	}
	gm, err := sdk(ctx, func() (*miraimsg.GroupMessage, error) { return cli.SendGroupMessage(group, sm), nil })
	switch {
	case err != nil:
		return MessageRef{}, err
	case gm == nil:
		return MessageRef{}, ErrTooLong
	case gm.Id < 0:
		return MessageRef{}, ErrNoReceipt
	}
	return MessageRef{Seq: gm.Id, Rand: gm.InternalId}, nil
}

func (c *miraiClient) RecallGroupMessage(ctx context.Context, group int64, ref MessageRef) error {
	cli, err := c.current()
	if err != nil {
		return err
	}
	_, err = sdk(ctx, func() (struct{}, error) { return struct{}{}, cli.RecallGroupMessage(group, ref.Seq, ref.Rand) })
	return err
}

func (c *miraiClient) Close() error {
	c.mu.Lock()
	cli := c.cli
	c.cli = nil
	c.mu.Unlock()
	if cli != nil {
		return safely(func() error { cli.Release(); return nil })
	}
	return nil
}

// sdkLogger sends MiraiGo's printf logs to slog at debug level (its info
// lines are protocol chatter), warnings and errors as they are, each kind
// of line (its format) at most once per LogEvery: against a server that
// answers garbage MiraiGo logs every connection attempt.
type sdkLogger struct {
	log   *slog.Logger
	limit *formatLimiter
}

func newSDKLogger(log *slog.Logger, now func() time.Time) sdkLogger {
	return sdkLogger{log: log, limit: &formatLimiter{every: LogEvery, now: now}}
}

func (l sdkLogger) Info(format string, args ...any) {
	l.log.Debug("miraigo: " + fmt.Sprintf(format, args...))
}
func (l sdkLogger) Warning(format string, args ...any) {
	if n, ok := l.limit.allow(format); ok {
		l.log.Warn("miraigo: "+fmt.Sprintf(format, args...), "lines_not_logged", n)
	}
}
func (l sdkLogger) Error(format string, args ...any) {
	if n, ok := l.limit.allow(format); ok {
		l.log.Error("miraigo: "+fmt.Sprintf(format, args...), "lines_not_logged", n)
	}
}
func (l sdkLogger) Debug(format string, args ...any) {
	l.log.Debug("miraigo: " + fmt.Sprintf(format, args...))
}
func (l sdkLogger) Dump(_ []byte, format string, args ...any) {
	l.log.Debug("miraigo dump: " + fmt.Sprintf(format, args...))
}
