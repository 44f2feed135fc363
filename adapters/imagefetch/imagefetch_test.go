package imagefetch

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groupcast/groupcast"
)

func TestPublic(t *testing.T) {
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"100.128.0.1", true}, // just past CGNAT
		{"2001:4860:4860::8888", true},
		{"127.0.0.1", false},
		{"127.8.9.10", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"fc00::1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"100.64.0.1", false}, // CGNAT
		{"100.127.255.254", false},
		{"0.0.0.0", false},
		{"::", false},
		{"224.0.0.1", false},
		{"ff02::1", false},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false}, // v4-mapped loopback
		{"::ffff:10.0.0.1", false},
		{"192.0.2.1", false},
		{"2001:db8::1", false},
	} {
		if got := Public(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("Public(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
}

// fake is an image server on a loopback address; hits counts requests.
type fake struct {
	*httptest.Server
	hits atomic.Int32
}

func newFake(t *testing.T, ip string, h http.HandlerFunc) *fake {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	f := &fake{}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		h(w, r)
	}))
	f.Server.Listener.Close()
	f.Server.Listener = l
	f.Start()
	t.Cleanup(f.Close)
	return f
}

var png = []byte("\x89PNG\r\n\x1a\n fake image")

func only(ip string) func(netip.Addr) bool {
	a := netip.MustParseAddr(ip)
	return func(b netip.Addr) bool { return a == b }
}

func TestFetch(t *testing.T) {
	images := newFake(t, "127.0.0.2", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ok.png":
			_, _ = w.Write(png)
		case r.URL.Path == "/to-loopback":
			http.Redirect(w, r, "http://127.0.0.1:1/x.png", http.StatusFound)
		case r.URL.Path == "/to-private":
			http.Redirect(w, r, "http://10.0.0.1/x.png", http.StatusFound)
		case r.URL.Path == "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusMovedPermanently)
		case r.URL.Path == "/to-v6-loopback":
			http.Redirect(w, r, "http://[::1]:1/x.png", http.StatusTemporaryRedirect)
		case r.URL.Path == "/to-self":
			http.Redirect(w, r, "/ok.png", http.StatusFound)
		case r.URL.Path == "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case r.URL.Path == "/big":
			_, _ = w.Write(make([]byte, 2048))
		case r.URL.Path == "/big-chunked":
			for range 4 {
				_, _ = w.Write(make([]byte, 512))
				w.(http.Flusher).Flush()
			}
		case r.URL.Path == "/slow":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(png[:4])
			w.(http.Flusher).Flush()
			<-r.Context().Done() // the rest never comes
		case r.URL.Path == "/empty":
		case r.URL.Path == "/busy":
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	})
	url := images.URL // http://127.0.0.2:port
	permitted := New(Options{Permit: only("127.0.0.2"), MaxBytes: 1024, Timeout: 200 * time.Millisecond})
	strict := New(Options{})
	port := url[strings.LastIndexByte(url, ':'):]

	for _, c := range []struct {
		name  string
		f     *Fetcher
		url   string
		class groupcast.Class
		code  string // "" for success
	}{
		{"permitted fake", permitted, url + "/ok.png", 0, ""},
		{"redirect within the permitted host", permitted, url + "/to-self", 0, ""},
		{"loopback", strict, url + "/ok.png", groupcast.ClassPermanent, "image_address"},
		{"localhost, refused after DNS", strict, "http://localhost" + port + "/ok.png", groupcast.ClassPermanent, "image_address"},
		{"10.x", strict, "http://10.1.2.3/x.png", groupcast.ClassPermanent, "image_address"},
		{"169.254.x", strict, "http://169.254.169.254/latest/meta-data/", groupcast.ClassPermanent, "image_address"},
		{"[::1]", strict, "http://[::1]" + port + "/ok.png", groupcast.ClassPermanent, "image_address"},
		{"CGNAT", strict, "http://100.64.1.1/x.png", groupcast.ClassPermanent, "image_address"},
		{"unspecified", strict, "http://0.0.0.0" + port + "/ok.png", groupcast.ClassPermanent, "image_address"},
		{"redirect to 127.0.0.1", permitted, url + "/to-loopback", groupcast.ClassPermanent, "image_address"},
		{"redirect to 10.x", permitted, url + "/to-private", groupcast.ClassPermanent, "image_address"},
		{"redirect to the metadata service", permitted, url + "/to-metadata", groupcast.ClassPermanent, "image_address"},
		{"redirect to [::1]", permitted, url + "/to-v6-loopback", groupcast.ClassPermanent, "image_address"},
		{"redirect loop", permitted, url + "/loop", groupcast.ClassPermanent, "image_redirects"},
		{"oversize with a length", permitted, url + "/big", groupcast.ClassPermanent, "image_too_large"},
		{"oversize chunked", permitted, url + "/big-chunked", groupcast.ClassPermanent, "image_too_large"},
		{"slow body", permitted, url + "/slow", groupcast.ClassTemporary, "image_timeout"},
		{"empty", permitted, url + "/empty", groupcast.ClassPermanent, "image_empty"},
		{"404", permitted, url + "/missing.png", groupcast.ClassPermanent, "image_http_404"},
		{"503", permitted, url + "/busy", groupcast.ClassTemporary, "image_http_503"},
		{"not http", strict, "file:///etc/passwd", groupcast.ClassPermanent, "image_url"},
		{"relative", strict, "/x.png", groupcast.ClassPermanent, "image_url"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, err := c.f.Fetch(context.Background(), c.url+"?sig=SECRET")
			if c.code == "" {
				if err != nil || string(data) != string(png) {
					t.Fatalf("Fetch = %q, %v", data, err)
				}
				return
			}
			class, code, _ := groupcast.Classify(err)
			if err == nil || class != c.class || code != c.code {
				t.Fatalf("Fetch error %v: class %v code %q, want %v %q", err, class, code, c.class, c.code)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("the error shows the query: %v", err)
			}
		})
	}
}

// TestRefusedBeforeAnyRequest: a refused address is never sent a request,
// whatever the name it hides behind.
func TestRefusedBeforeAnyRequest(t *testing.T) {
	images := newFake(t, "127.0.0.1", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(png) })
	port := images.URL[strings.LastIndexByte(images.URL, ':'):]
	f := New(Options{})
	for _, u := range []string{images.URL + "/a.png", "http://localhost" + port + "/a.png"} {
		if _, err := f.Fetch(context.Background(), u); !errors.Is(err, ErrRefusedAddress) {
			t.Errorf("Fetch(%s) = %v, want ErrRefusedAddress", u, err)
		}
	}
	if n := images.hits.Load(); n != 0 {
		t.Errorf("the loopback fake got %d requests", n)
	}
	if _, err := New(Options{Permit: Loopback}).Fetch(context.Background(), images.URL+"/a.png"); err != nil {
		t.Errorf("with loopback permitted: %v", err)
	}
}
