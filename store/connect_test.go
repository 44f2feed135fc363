package store_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/groupcast/groupcast/store"
)

// pki is a CA with a server certificate for 127.0.0.1 and a client
// certificate, as PEM files in a directory.
type pki struct {
	dir                   string
	ca, cert, key         string // client side files
	serverCert, serverKey string
	caPool                *x509.CertPool
	caCert                *x509.Certificate
	caKey                 *ecdsa.PrivateKey
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	p.caKey = genKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "groupcast test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.caCert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.caPool = x509.NewCertPool()
	p.caPool.AddCert(p.caCert)
	p.ca = p.write(t, "ca.pem", "CERTIFICATE", der)
	p.serverCert, p.serverKey = p.issue(t, "server", x509.ExtKeyUsageServerAuth)
	p.cert, p.key = p.issue(t, "client", x509.ExtKeyUsageClientAuth)
	return p
}

func genKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (p *pki) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (string, string) {
	k := genKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &k.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return p.write(t, name+".pem", "CERTIFICATE", der), p.write(t, name+"-key.pem", "EC PRIVATE KEY", kb)
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serverTLS requires TLS and a client certificate signed by the CA.
func (p *pki) serverTLS(t *testing.T) *tls.Config {
	cert, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: p.caPool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
}

// startServer runs a single JetStream server on a loopback port with the
// given options added.
func startServer(t *testing.T, configure func(*server.Options)) string {
	t.Helper()
	o := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true}
	configure(o)
	srv, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv.ClientURL()
}

func openErr(t *testing.T, o store.Options) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := store.Open(ctx, o)
	if err == nil {
		if _, _, err := st.CreateRecord(ctx, record("over-tls")); err != nil {
			t.Errorf("write through the connection: %v", err)
		}
		st.Close()
	}
	return err
}

func TestConnectTLSAndPassword(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	url := startServer(t, func(o *server.Options) {
		o.TLSConfig = p.serverTLS(t)
		o.TLS, o.TLSVerify = true, true
		o.Users = []*server.User{{Username: "groupcast", Password: "right"}}
	})
	good := store.Options{Driver: store.DriverNATS, URL: url,
		TLS:  store.TLSFiles{CA: p.ca, Cert: p.cert, Key: p.key},
		User: "groupcast", Password: "right"}
	for _, tc := range []struct {
		name   string
		change func(*store.Options)
		want   string // "" for success
	}{
		{"all right", func(*store.Options) {}, ""},
		{"wrong password", func(o *store.Options) { o.Password = "wrong" },
			"store: connecting to " + url + ": authorization violation: check store.user/password"},
		{"no user", func(o *store.Options) { o.User, o.Password = "", "" },
			"authorization violation: check store.user/password or store.creds"},
		{"another CA", func(o *store.Options) { o.TLS.CA = other.ca }, "TLS: check store.tls"},
		// The server refuses after the handshake: the client sees either its
		// alert or the connection it closed, depending on timing.
		{"no client certificate", func(o *store.Options) { o.TLS.Cert, o.TLS.Key = "", "" }, "store: connecting to " + url + ": TLS: check store.tls (ca, cert, key) and the server's certificate: "},
		{"no TLS files", func(o *store.Options) { o.TLS = store.TLSFiles{} }, "TLS: check store.tls (ca, cert, key) and the server's certificate: nats: tls error: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.change(&o)
			err := openErr(t, o)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestConnectNKey(t *testing.T) {
	dir := t.TempDir()
	seedFile := func(name string) (string, string) {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		seed, _ := kp.Seed()
		pub, _ := kp.PublicKey()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, seed, 0o600); err != nil {
			t.Fatal(err)
		}
		return path, pub
	}
	known, pub := seedFile("known.nk")
	unknown, _ := seedFile("unknown.nk")
	url := startServer(t, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} })
	if err := openErr(t, store.Options{Driver: store.DriverNATS, URL: url, NKey: known}); err != nil {
		t.Fatal(err)
	}
	err := openErr(t, store.Options{Driver: store.DriverNATS, URL: url, NKey: unknown})
	if err == nil || !strings.Contains(err.Error(), "authorization violation: check store.nkey") {
		t.Fatalf("unknown nkey: %v", err)
	}
}

// Files that cannot be used are reported with their config key before any
// connection is tried.
func TestOptionsFiles(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a seed"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		name string
		o    store.Options
		want string
	}{
		{"missing CA", store.Options{TLS: store.TLSFiles{CA: missing}}, "store.tls.ca: open " + missing},
		{"missing creds", store.Options{Creds: missing}, "store.creds: open " + missing},
		{"missing nkey", store.Options{NKey: missing}, "store.nkey: open " + missing},
		{"cert without key", store.Options{TLS: store.TLSFiles{Cert: junk}}, "store.tls: cert and key go together"},
		{"two credentials", store.Options{Creds: junk, User: "u"}, "store: set one of store.creds, store.nkey or store.user"},
		{"password alone", store.Options{Password: "p"}, "store.password: needs store.user"},
		{"bad seed", store.Options{NKey: junk}, "store.nkey: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Driver, tc.o.URL = store.DriverNATS, "nats://127.0.0.1:1"
			_, err := store.Open(context.Background(), tc.o)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to start with %q", err, tc.want)
			}
		})
	}
}

// OpenWait keeps trying a server that refuses the credentials, reporting
// why, until its context ends.
func TestOpenWaitReportsRefusedCredentials(t *testing.T) {
	url := startServer(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "groupcast", Password: "right"}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var reports []error
	_, err := store.OpenWait(ctx, store.Options{Driver: store.DriverNATS, URL: url, User: "groupcast", Password: "wrong"},
		func(err error) { reports = append(reports, err) })
	if err == nil {
		t.Fatal("opened with a wrong password")
	}
	want := "store: connecting to " + url + ": authorization violation: check store.user/password"
	if len(reports) < 2 || !strings.HasPrefix(reports[0].Error(), want) {
		t.Fatalf("reports %v, want several starting with %q", reports, want)
	}
}

// A .creds file (operator mode: a user JWT signed by an account the server
// trusts through its operator) connects; one signed by an unknown account
// is refused with a message naming store.creds.
func TestConnectCreds(t *testing.T) {
	dir := t.TempDir()
	kp := func(f func() (nkeys.KeyPair, error)) (nkeys.KeyPair, string) {
		k, err := f()
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := k.PublicKey()
		return k, pub
	}
	opKp, opPub := kp(nkeys.CreateOperator)
	oc := jwt.NewOperatorClaims(opPub)
	opJWT, err := oc.Encode(opKp)
	if err != nil {
		t.Fatal(err)
	}
	op, err := jwt.DecodeOperatorClaims(opJWT)
	if err != nil {
		t.Fatal(err)
	}
	account := func(name string, js bool) (nkeys.KeyPair, string, string) {
		k, pub := kp(nkeys.CreateAccount)
		ac := jwt.NewAccountClaims(pub)
		ac.Name = name
		if js {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{DiskStorage: -1, MemoryStorage: -1, Streams: -1, Consumer: -1}
		}
		j, err := ac.Encode(opKp)
		if err != nil {
			t.Fatal(err)
		}
		return k, pub, j
	}
	_, sysPub, sysJWT := account("SYS", false)
	accKp, accPub, accJWT := account("GROUPCAST", true)
	creds := func(name string, signer nkeys.KeyPair) string {
		uk, upub := kp(nkeys.CreateUser)
		uc := jwt.NewUserClaims(upub)
		uj, err := uc.Encode(signer)
		if err != nil {
			t.Fatal(err)
		}
		seed, _ := uk.Seed()
		b, err := jwt.FormatUserConfig(uj, seed)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := creds("good.creds", accKp)
	strangerKp, _ := kp(nkeys.CreateAccount)
	bad := creds("bad.creds", strangerKp)
	url := startServer(t, func(o *server.Options) {
		o.TrustedOperators = []*jwt.OperatorClaims{op}
		o.SystemAccount = sysPub
		r := &server.MemAccResolver{}
		_ = r.Store(sysPub, sysJWT)
		_ = r.Store(accPub, accJWT)
		o.AccountResolver = r
	})
	if err := openErr(t, store.Options{Driver: store.DriverNATS, URL: url, Creds: good}); err != nil {
		t.Fatal(err)
	}
	err = openErr(t, store.Options{Driver: store.DriverNATS, URL: url, Creds: bad})
	if err == nil || !strings.Contains(err.Error(), "authorization violation: check store.creds") {
		t.Fatalf("creds of an unknown account: %v", err)
	}
}
