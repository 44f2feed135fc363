package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/eatmoreapple/openwechat"
	"github.com/mdp/qrterminal/v3"
	"rsc.io/qr"

	"github.com/groupcast/groupcast/adapters"
)

// qrLoginURL is what the login QR code encodes (docs/platforms.md: the
// code's content is https://login.weixin.qq.com/l/<uuid>).
const qrLoginURL = "https://login.weixin.qq.com/l/"

// loginAttempts is how many QR codes Login shows before giving up: each
// expires after a few minutes unscanned.
const loginAttempts = 3

// Login logs a personal WeChat account in for the openwechat driver: it
// draws the login QR code on out, waits for the scan and the confirmation on
// the phone, and stores the session in c.SessionFile (mode 0600, its
// directory created 0700), from which `groupcast serve` logs in without a
// scan while the session stays valid. It is what `groupcast login wechat
// ACCOUNT` runs. ctx bounds the whole wait.
func Login(ctx context.Context, name string, c OpenWeChatConfig, out io.Writer, env adapters.Env) error {
	env = env.WithDefaults()
	if c.SessionFile == "" {
		return fmt.Errorf("account %s: session_file is not set", name)
	}
	if err := os.MkdirAll(filepath.Dir(c.SessionFile), 0o700); err != nil {
		return fmt.Errorf("account %s: creating the session directory: %w", name, err)
	}
	bctx, cancel := context.WithCancel(ctx)
	// Cancelling stops the bot's background sync without logging out, so
	// the stored session stays valid for serve.
	defer cancel()
	bot := newBot(bctx, webHTTPClient(env.HTTPClient), env.Logger)
	var drawErr error
	bot.UUIDCallback = func(uuid string) {
		fmt.Fprintf(out, "Scan this QR code with WeChat on the phone of account %s (Me → Scan):\n\n", name)
		if err := drawQR(out, qrLoginURL+uuid); err != nil {
			drawErr = err
		}
		fmt.Fprintf(out, "\nIf the code does not scan, open %s in a browser and scan it from there.\n", openwechat.GetQrcodeUrl(uuid))
	}
	bot.ScanCallBack = func(openwechat.CheckLoginResponse) {
		fmt.Fprintln(out, "Scanned. Confirm the login on the phone.")
	}
	var err error
	for attempt := 1; attempt <= loginAttempts; attempt++ {
		err = bot.Login()
		if drawErr != nil {
			return fmt.Errorf("drawing the QR code: %w", drawErr)
		}
		if !errors.Is(err, openwechat.ErrLoginTimeout) || attempt == loginAttempts {
			break
		}
		fmt.Fprintln(out, "The QR code expired; here is a new one.")
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("wechat login for %s: %w", name, ctx.Err())
		}
		return fmt.Errorf("wechat login for %s: %w", name, convertErr(err))
	}
	if err := bot.DumpTo(&sessionFile{path: c.SessionFile}); err != nil {
		return fmt.Errorf("storing the session in %s: %w", c.SessionFile, err)
	}
	nick := ""
	if self, err := bot.GetCurrentUser(); err == nil {
		nick = openwechat.FormatEmoji(self.NickName)
	}
	fmt.Fprintf(out, "Logged in as %s. Session stored in %s (mode 0600); groupcast serve uses it without a scan while it stays valid.\n",
		nick, c.SessionFile)
	return nil
}

// drawQR draws content as a QR code with half-block characters, two rows
// of modules per line, so that it fits an 80×24 terminal.
func drawQR(out io.Writer, content string) error {
	// qrterminal ignores encoding errors; check first.
	if _, err := qr.Encode(content, qr.L); err != nil {
		return err
	}
	qrterminal.GenerateWithConfig(content, qrterminal.Config{
		Level:      qr.L,
		Writer:     out,
		HalfBlocks: true,
		QuietZone:  2,
	})
	return nil
}
