package store

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// TLSFiles are the PEM files of a TLS connection to NATS (driver nats).
type TLSFiles struct {
	CA   string // CA bundle that signed the servers' certificates ("": the system roots)
	Cert string // client certificate, when the servers verify clients
	Key  string // its private key
}

func (t TLSFiles) set() bool { return t.CA != "" || t.Cert != "" || t.Key != "" }

// checkFiles reports the first credential file that cannot be read, naming
// its config key, so that a typo is not reported as a connection failure.
func (o Options) checkFiles() error {
	if (o.TLS.Cert == "") != (o.TLS.Key == "") {
		return errors.New("store.tls: cert and key go together")
	}
	for _, f := range []struct{ key, path string }{
		{"store.tls.ca", o.TLS.CA}, {"store.tls.cert", o.TLS.Cert}, {"store.tls.key", o.TLS.Key},
		{"store.creds", o.Creds}, {"store.nkey", o.NKey},
	} {
		if f.path == "" {
			continue
		}
		fh, err := os.Open(f.path)
		if err != nil {
			return fmt.Errorf("%s: %w", f.key, err)
		}
		fh.Close()
	}
	n := 0
	for _, set := range []bool{o.Creds != "", o.NKey != "", o.User != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return errors.New("store: set one of store.creds, store.nkey or store.user, not several")
	}
	if o.Password != "" && o.User == "" {
		return errors.New("store.password: needs store.user")
	}
	return nil
}

// natsOptions are the client options of a connection to an external NATS:
// identity, TLS and credentials from o, and reconnecting for ever once
// connected (the first connection is retried by OpenWait, not here).
func (s *Store) natsOptions() ([]nats.Option, error) {
	o := s.opts
	opts := []nats.Option{
		nats.Name("groupcast"),
		nats.Timeout(5 * time.Second),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		// A credential the server refuses once (a rolling restart of the
		// servers, an account update on its way) must not close the
		// connection for good: keep trying and report it in Ready.
		nats.IgnoreAuthErrorAbort(),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				s.log.Warn("store disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { s.log.Info("store reconnected", "server", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			s.log.Warn("store error", "err", describeConnErr(o, err))
		}),
	}
	if o.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(o.TLS.CA))
	}
	if o.TLS.Cert != "" {
		opts = append(opts, nats.ClientCert(o.TLS.Cert, o.TLS.Key))
	}
	if o.TLS.set() {
		opts = append(opts, nats.Secure())
	}
	switch {
	case o.Creds != "":
		opts = append(opts, nats.UserCredentials(o.Creds))
	case o.NKey != "":
		opt, err := nats.NkeyOptionFromSeed(o.NKey)
		if err != nil {
			return nil, fmt.Errorf("store.nkey: %w", err)
		}
		opts = append(opts, opt)
	case o.User != "":
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	return opts, nil
}

// describeConnErr says what a connection error means for the operator,
// naming the config keys to check.
func describeConnErr(o Options, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, nats.ErrAuthorization):
		return fmt.Errorf("authorization violation: check %s: %w", authKeys(o), err)
	case errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAccountAuthExpired):
		return fmt.Errorf("credentials expired: renew %s: %w", authKeys(o), err)
	case errors.Is(err, nats.ErrAuthRevoked):
		return fmt.Errorf("credentials revoked: check %s: %w", authKeys(o), err)
	case errors.Is(err, nats.ErrNoServers):
		return fmt.Errorf("no server reachable (refused or timed out): %w", err)
	case errors.Is(err, nats.ErrSecureConnRequired):
		return fmt.Errorf("the server requires TLS: set store.tls or use tls:// URLs: %w", err)
	case errors.Is(err, nats.ErrSecureConnWanted):
		return fmt.Errorf("store.tls is set but the server does not offer TLS: %w", err)
	case strings.Contains(err.Error(), "x509:"), strings.Contains(err.Error(), "tls:"), strings.Contains(err.Error(), "tls error"):
		// The server's refusal ("certificate required") and a connection it
		// closed right after the handshake both mean the TLS set-up.
		return fmt.Errorf("TLS: check store.tls (ca, cert, key) and the server's certificate: %w", err)
	}
	return err
}

func authKeys(o Options) string {
	switch {
	case o.Creds != "":
		return "store.creds"
	case o.NKey != "":
		return "store.nkey"
	case o.User != "":
		return "store.user/password"
	}
	return "store.user/password or store.creds (the server wants credentials)"
}

// redactURLs strips credentials from a comma-separated URL list, for
// errors and logs.
func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if u, err := url.Parse(p); err == nil && u.User != nil {
			u.User = nil
			p = u.String()
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}
