package configs

import (
	"fmt"
	"os"
	"path/filepath"
)

// storeConnection checks and completes the keys of a connection to an
// external NATS: the files exist and can be read (relative paths are made
// absolute from the config's directory), one kind of credential, and the
// lease TTL.
func (v *validator) storeConnection(st *Store) {
	c := v.c
	if st.LeaseTTL == 0 {
		st.LeaseTTL = DefaultLeaseTTL
	}
	if st.LeaseTTL < MinLeaseTTL {
		c.add("store.lease_ttl", "must be at least %v: a replica renews its leases every third of it", MinLeaseTTL)
	}
	files := []struct {
		key  string
		path *string
	}{
		{"store.tls.ca", &st.TLS.CA}, {"store.tls.cert", &st.TLS.Cert}, {"store.tls.key", &st.TLS.Key},
		{"store.creds", &st.Creds}, {"store.nkey", &st.NKey},
	}
	set := st.User != "" || st.Password != ""
	for _, f := range files {
		if *f.path == "" {
			continue
		}
		set = true
		if !filepath.IsAbs(*f.path) && v.dir != "" {
			*f.path = filepath.Join(v.dir, *f.path)
		}
		if err := readable(*f.path); err != nil {
			c.add(f.key, "cannot read: %v", err)
		}
	}
	if st.Driver != "nats" {
		if set {
			c.warn("store.driver", "store.tls, creds, nkey, user and password are used with driver nats only; driver %s ignores them", st.Driver)
		}
		return
	}
	if (st.TLS.Cert == "") != (st.TLS.Key == "") {
		c.add("store.tls", "cert and key go together")
	}
	n := 0
	for _, s := range []string{st.Creds, st.NKey, st.User} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		c.add("store", "set one of creds, nkey or user, not several")
	}
	if st.Password != "" && st.User == "" {
		c.add("store.password", "needs store.user")
	}
	if st.User != "" && st.Password.Reveal() == "" {
		c.add("store.password", "required with store.user")
	}
}

// readable opens and closes a regular file.
func readable(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", name)
	}
	return nil
}
