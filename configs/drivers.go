package configs

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

// DriverSpec is what validation needs to know about a driver. The adapters
// package owns the table; configs only reads it, so it never imports a
// platform package.
type DriverSpec struct {
	// Platforms the driver may serve; empty means any.
	Platforms []string
	// Fields are the account keys the driver accepts besides name,
	// platform, driver and rate.
	Fields []string
	// Required are the keys that must be non-empty.
	Required []string
	// Groups says whether targets list groups.
	Groups GroupMode
	// DefaultRate is the platform's documented pace, used when an account
	// sets none; a per_minute above it is a warning.
	DefaultRate Rate
	// CheckAccount reports driver-specific problems ("uin: must be set").
	// Messages start with the field name relative to the account.
	CheckAccount func(a Account) []string
	// CheckGroup reports a bad group id (QQ ids are numbers).
	CheckGroup func(group string) error
}

// Catalog looks a driver up by platform and name.
type Catalog func(platform, driver string) (DriverSpec, bool)
