package main

import (
	"context"

	"github.com/groupcast/groupcast/configs"
)

func loginWeChat(_ context.Context, _ *globals, cfg *configs.Config, name string) error {
	acc, ok := cfg.Account(name)
	if !ok {
		return invalid("no account %q in the config", name)
	}
	if acc.Platform != "wechat" || acc.Driver != "openwechat" {
		return invalid("account %q is %s/%s; login is for wechat/openwechat accounts", name, acc.Platform, acc.Driver)
	}
	return invalid("account %q: the openwechat driver is not built into this binary yet", name)
}
