package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/groupcast/groupcast/configs"
	"github.com/groupcast/groupcast/store"
)

// storeOptions maps the store section of the config.
func storeOptions(c configs.Store, log *slog.Logger) store.Options {
	return store.Options{
		Driver: c.Driver, Dir: c.Dir, URL: c.URL, Replicas: c.Replicas,
		MaxBytes: int64(c.MaxBytes), SyncAlways: c.SyncAlways, Listen: c.Listen,
		Retention: c.Retention,
		TLS:       store.TLSFiles{CA: c.TLS.CA, Cert: c.TLS.Cert, Key: c.TLS.Key},
		Creds:     c.Creds, NKey: c.NKey, User: c.User, Password: c.Password.Reveal(),
		LeaseTTL: c.LeaseTTL,
		Logger:   log,
	}
}

// openStore opens the store. With driver nats it waits for the servers
// (and for the streams to be placed) until ctx ends, reporting each
// failed attempt to starting, so that /readyz says why.
func openStore(ctx context.Context, c configs.Store, log *slog.Logger, starting *startup) (*store.Store, error) {
	o := storeOptions(c, log.With("component", "store"))
	if c.Driver != store.DriverNATS {
		return store.Open(ctx, o)
	}
	return store.OpenWait(ctx, o, func(err error) {
		if starting.report(err) && err != nil {
			log.Warn("store not ready; retrying", "err", err)
		}
	})
}

// startup answers HTTP while the store is not open yet: /healthz is 200
// (the process is alive: do not restart it) saying "starting",
// /readyz 503 with the reason, and everything else 503.
type startup struct {
	mu     sync.Mutex
	reason string
}

// report records why the store is not ready (nil: it is) and says whether
// that changed.
func (s *startup) report(err error) bool {
	r := ""
	if err != nil {
		r = err.Error()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := r != s.reason
	s.reason = r
	return changed
}

func (s *startup) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	reason := s.reason
	s.mu.Unlock()
	if reason == "" {
		reason = "store: opening"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	if r.URL.Path == "/healthz" {
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "starting"})
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.URL.Path == "/readyz" {
		_ = json.NewEncoder(w).Encode(map[string]any{"not_ready": []string{reason}})
		return
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = "starting", "starting: "+reason
	_ = json.NewEncoder(w).Encode(body)
}

// swapHandler serves through the handler set last, so that one listener
// and one http.Server carry the start-up answers and then the API.
type swapHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swapHandler) set(h http.Handler) { s.h.Store(&h) }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}
