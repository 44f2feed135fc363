// Package adapters holds what every platform driver shares: the driver
// table's entry type and the environment a driver is built with. Each
// platform lives in its own package below (dingtalk, wechat, qq, console,
// file); the table that lists them all is adapters/registry.
package adapters

import (
	"context"
	"log/slog"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters/imagefetch"
	"github.com/groupcast/groupcast/configs"
)

// Env is what a driver is built with besides its account.
type Env struct {
	// Logger is already scoped to the account.
	Logger *slog.Logger
	// HTTPClient is used by HTTP drivers; tests point it at fakes.
	HTTPClient *http.Client
	// Now is the clock (time.Now in production).
	Now func() time.Time
	// Org and Location are the config's org and timezone.
	Org      string
	Location *time.Location
	// Pacer paces this account's requests; drivers call Pacer.Wait before
	// each one.
	Pacer Pacer
	// RecallPacer paces recall requests (revokes): shorter than Pacer, so
	// that a recall of many groups fits the platform's recall window.
	RecallPacer Pacer
	// Daily, when set, counts the account's sends per local day in the
	// store, shared by every replica (a ceiling survives restarts and lease
	// moves); drivers with a daily ceiling use it.
	Daily DayCounter
	// DataDir is the store directory, for drivers that keep files.
	DataDir string
	// Images fetches announcement images for the drivers that upload them
	// (public addresses only, size and time capped: imagefetch). Tests
	// give one that permits their loopback fakes.
	Images *imagefetch.Fetcher
}

// defaultImages is the production image fetcher, shared by every account.
var defaultImages = sync.OnceValue(func() *imagefetch.Fetcher { return imagefetch.New(imagefetch.Options{}) })

// Driver is one entry of the driver table. A platform package declares
// its drivers with Define, each with its own config type (config.go).
type Driver struct {
	// Name is the driver key in YAML (webhook, openapi, onebot, …).
	Name string
	configs.DriverSpec
	// New builds a sender for one account. It must not do I/O: login and
	// connection belong in Start (groupcast.Starter). The router calls
	// d.New(ac, env) with an account from configs.Load.
	New func(ac configs.Account, env Env) (groupcast.Sender, error)
}

// Define makes the table entry of a driver whose config type is C: a
// struct whose fields (mapstructure tags) are the account keys the driver
// takes, each with godoc (saying its default), `required:"true"` where it
// applies, configs.Secret for every secret, and an optional Check method
// (configs.Checker). spec.Settings is set to C; New decodes the account's
// settings into a C (configs.DecodeSettings) and passes it to build.
func Define[C any](name string, spec configs.DriverSpec, build func(ac configs.Account, c C, env Env) (groupcast.Sender, error)) Driver {
	spec.Settings = reflect.TypeFor[C]()
	return Driver{
		Name:       name,
		DriverSpec: spec,
		New: func(ac configs.Account, env Env) (groupcast.Sender, error) {
			var c C
			if err := configs.DecodeSettings(ac.Settings, name, &c); err != nil {
				return nil, err
			}
			return build(ac, c, env)
		},
	}
}

// Settings decodes an account's settings into the config type of driver d
// (for callers that need a driver's keys outside New: `groupcast login`).
func Settings[C any](ac configs.Account, driver string) (C, error) {
	var c C
	err := configs.DecodeSettings(ac.Settings, driver, &c)
	return c, err
}

// WithDefaults fills the zero fields of env.
func (env Env) WithDefaults() Env {
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	if env.HTTPClient == nil {
		env.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Pacer == nil {
		env.Pacer = NoPace{}
	}
	if env.RecallPacer == nil {
		env.RecallPacer = NoPace{}
	}
	if env.Location == nil {
		env.Location = time.Local
	}
	if env.Images == nil {
		env.Images = defaultImages()
	}
	return env
}

// Pacer spaces one account's requests to its platform. Drivers call Wait
// before every request (each part of a split message is a request). The
// router builds one per account from its rate, remembered across restarts.
type Pacer interface {
	Wait(ctx context.Context) error
}

// DayCounter is a durable count per local day.
type DayCounter interface {
	// Add adds n (negative: gives back) to day's count if the total stays
	// within limit (limit <= 0: no limit, never below zero); it answers
	// the count after the call and whether n was added.
	Add(ctx context.Context, day string, n, limit int) (count int, ok bool, err error)
}

// NoPace never waits.
type NoPace struct{}

func (NoPace) Wait(ctx context.Context) error { return ctx.Err() }
