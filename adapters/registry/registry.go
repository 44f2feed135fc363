// Package registry is the one table of drivers. Adding a driver touches its
// own package (its config type, its table entry), one line here, and one
// stanza in configs/example.yaml; platforms, their default styles and the
// secret keys are derived from the table.
package registry

import (
	"slices"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/console"
	"github.com/groupcast/groupcast/adapters/dingtalk"
	"github.com/groupcast/groupcast/adapters/file"
	"github.com/groupcast/groupcast/adapters/qq"
	"github.com/groupcast/groupcast/adapters/qq/miraigo"
	"github.com/groupcast/groupcast/adapters/wechat"
	"github.com/groupcast/groupcast/configs"
)

// Drivers is the table, in the order the docs list it. A driver with a
// Platform serves that platform; one without serves every platform of the
// table (console, file).
var Drivers = []adapters.Driver{
	dingtalk.WebhookDriver,
	dingtalk.OpenAPIDriver,
	wechat.OpenWeChatDriver,
	wechat.WeComDriver,
	qq.OneBotDriver,
	miraigo.Driver,
	console.Driver,
	file.Driver,
}

// Platforms are the platforms the table's drivers name, in table order.
func Platforms() []configs.Platform {
	var out []configs.Platform
	for _, d := range Drivers {
		if d.Platform.Name != "" && !slices.ContainsFunc(out, func(p configs.Platform) bool { return p.Name == d.Platform.Name }) {
			out = append(out, d.Platform)
		}
	}
	return out
}

func findPlatform(name string) (configs.Platform, bool) {
	for _, p := range Platforms() {
		if p.Name == name {
			return p, true
		}
	}
	return configs.Platform{}, false
}

// Lookup finds the driver named for a platform. A driver that serves every
// platform comes back with Platform set to the one asked for.
func Lookup(platform, name string) (adapters.Driver, bool) {
	p, ok := findPlatform(platform)
	if !ok {
		return adapters.Driver{}, false
	}
	for _, d := range Drivers {
		if d.Name != name {
			continue
		}
		switch d.Platform.Name {
		case "":
			d.Platform = p
			return d, true
		case platform:
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
		if d.Platform.Name == "" || d.Platform.Name == platform {
			out = append(out, d.Name)
		}
	}
	return out
}

// Options are the configs.Load options the table provides: the catalog,
// the platforms and the driver names for messages. Callers add
// CheckTemplate, CheckPolicy, Warn.
func Options() configs.Options {
	return configs.Options{Catalog: Catalog, Platforms: Platforms(), DriverNames: Names}
}
