package main

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/wechat"
	"github.com/groupcast/groupcast/configs"
)

// loginWeChat draws the account's QR code and waits for the scan; the
// session goes to the account's session_file (0600), where serve finds it.
func loginWeChat(ctx context.Context, g *globals, cfg *configs.Config, name string) error {
	acc, ok := cfg.Account(name)
	if !ok {
		return invalid("no account %q in the config", name)
	}
	d := wechat.OpenWeChatDriver
	if acc.Platform != d.Platform.Name || acc.Driver != d.Name {
		return invalid("account %q is %s/%s; login is for %s/%s accounts", name, acc.Platform, acc.Driver, d.Platform.Name, d.Name)
	}
	wc, err := adapters.Settings[wechat.OpenWeChatConfig](*acc, d.Name)
	if err != nil {
		return invalid("account %q: %v", name, err)
	}
	log, err := g.logger()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	env := adapters.Env{Logger: log.With("account", name), Org: cfg.Org, Location: cfg.Location, DataDir: cfg.Store.Dir}
	if err := wechat.Login(ctx, name, wc, g.stdout, env.WithDefaults()); err != nil {
		return &exitError{code: exitRuntime, err: fmt.Errorf("login %s: %w", name, err)}
	}
	fmt.Fprintf(g.stdout, "logged in; session stored in %s. `groupcast serve` now sends as this account.\n", wc.SessionFile)
	return nil
}
