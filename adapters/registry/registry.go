// Package registry is the one table of drivers. Adding a driver touches its
// own package, one line here, and one stanza in configs/example.yaml.
package registry

import (
	"slices"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/console"
	"github.com/groupcast/groupcast/adapters/dingtalk"
	"github.com/groupcast/groupcast/adapters/file"
	"github.com/groupcast/groupcast/adapters/qq"
	"github.com/groupcast/groupcast/adapters/wechat"
	"github.com/groupcast/groupcast/configs"
)

// Drivers is the table, in the order the README documents it.
var Drivers = []adapters.Driver{
	dingtalk.WebhookDriver,
	dingtalk.OpenAPIDriver,
	wechat.OpenWeChatDriver,
	wechat.WeComDriver,
	qq.OneBotDriver,
	qq.MiraiGoDriver,
	console.Driver,
	file.Driver,
}

// Lookup finds the driver named for a platform.
func Lookup(platform, name string) (adapters.Driver, bool) {
	for _, d := range Drivers {
		if d.Name == name && (len(d.Platforms) == 0 || slices.Contains(d.Platforms, platform)) {
			return d, true
		}
	}
	return adapters.Driver{}, false
}

// Catalog is Lookup as configs.Load needs it.
func Catalog(platform, name string) (configs.DriverSpec, bool) {
	d, ok := Lookup(platform, name)
	return d.DriverSpec, ok
}

// Names lists the drivers available for a platform, for error messages.
func Names(platform string) []string {
	var out []string
	for _, d := range Drivers {
		if len(d.Platforms) == 0 || slices.Contains(d.Platforms, platform) {
			out = append(out, d.Name)
		}
	}
	return out
}
