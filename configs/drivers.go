package configs

import "reflect"

// GroupMode says whether a driver's targets name groups.
type GroupMode int

const (
	// GroupsOptional: groups may be listed; without them the group is the
	// account's name (console, file).
	GroupsOptional GroupMode = iota
	// GroupsNone: the account is one group (webhook robots); listing groups
	// is an error, and the group is the account's name.
	GroupsNone
	// GroupsRequired: at least one group must be listed.
	GroupsRequired
)

// Platform is what configs knows of a platform. Each platform package
// declares its own (dingtalk.Platform, …); the driver table lists the
// drivers, and the platforms are those its drivers name.
type Platform struct {
	// Name is the value of an account's platform key.
	Name string
	// DefaultStyle is a target's style when it sets none (docs/styles.md).
	DefaultStyle string
}

// DriverSpec is what validation needs to know about a driver. The adapters
// package owns the table; configs only reads it, so it never imports a
// platform package.
type DriverSpec struct {
	// Platform the driver serves; the zero Platform means any platform
	// (console, file). For such a driver, a lookup for a platform returns
	// the spec with that platform filled in (registry.Lookup does).
	Platform Platform
	// Settings is the driver's config type: a struct whose fields'
	// mapstructure tags are the account keys it takes besides name,
	// platform, driver and rate (see DecodeSettings for the other tags).
	// Nil: the driver takes no other keys.
	Settings reflect.Type
	// Groups says whether targets list groups.
	Groups GroupMode
	// DefaultRate is the platform's documented pace, used when an account
	// sets none; a per_minute above it is a warning.
	DefaultRate Rate
	// CheckGroup reports a bad group id (QQ ids are numbers).
	CheckGroup func(group string) error
	// Users is true when the driver can also send to users one to one
	// (review.notify to:).
	Users bool
}

// Catalog looks a driver up by platform and name.
type Catalog func(platform, driver string) (DriverSpec, bool)
