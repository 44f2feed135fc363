// Package adapters holds what every platform driver shares: the driver
// table's entry type and the environment a driver is built with. Each
// platform lives in its own package below (dingtalk, wechat, qq, console,
// file); the table that lists them all is adapters/registry.
package adapters

import (
	"context"
	"log/slog"
	"net/http"
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
	// DataDir is the store directory, for drivers that keep files.
	DataDir string
	// Images fetches announcement images for the drivers that upload them
	// (public addresses only, size and time capped: imagefetch). Tests
	// give one that permits their loopback fakes.
	Images *imagefetch.Fetcher
}

// defaultImages is the production image fetcher, shared by every account.
var defaultImages = sync.OnceValue(func() *imagefetch.Fetcher { return imagefetch.New(imagefetch.Options{}) })

// Driver is one entry of the driver table.
type Driver struct {
	// Name is the driver key in YAML (webhook, openapi, onebot, …).
	Name string
	configs.DriverSpec
	// New builds a sender for one account. It must not do I/O: login and
	// connection belong in Start (groupcast.Starter).
	New func(acc configs.Account, env Env) (groupcast.Sender, error)
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

// NoPace never waits.
type NoPace struct{}

func (NoPace) Wait(ctx context.Context) error { return ctx.Err() }
