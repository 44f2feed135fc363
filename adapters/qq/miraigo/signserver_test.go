package miraigo

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/Mrs4s/MiraiGo/wrapper"

	"github.com/groupcast/groupcast/adapters"
)

// The sign hooks MiraiGo calls reach the account's sign server with the
// qsign API's parameters and decode its hex answers.
func TestSignServerHooks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("key") != "k1" {
			http.Error(w, "no key", 403)
			return
		}
		switch r.URL.Path {
		case "/api/sign":
			if err := r.ParseForm(); err != nil || r.PostForm.Get("uin") != "10001" || r.PostForm.Get("cmd") != "wtlogin.login" ||
				r.PostForm.Get("seq") != "7" || r.PostForm.Get("buffer") != "0102" || r.PostForm.Get("qua") != "V1_AND" {
				_, _ = w.Write([]byte(`{"code":1,"msg":"bad params"}`))
				return
			}
			_, _ = w.Write([]byte(`{"code":0,"data":{"sign":"aabb","extra":"cc","token":"dd"}}`))
		case "/api/custom_energy":
			q := r.URL.Query()
			if q.Get("uin") != "10001" || q.Get("data") != "810_9" || q.Get("salt") != "0304" {
				_, _ = w.Write([]byte(`{"code":1,"msg":"bad params"}`))
				return
			}
			_, _ = w.Write([]byte(`{"code":0,"data":"eeff"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	if err := useSignServer(10001, srv.URL+"/api/?key=k1", adapters.Env{}); err != nil {
		t.Fatal(err)
	}
	sign, extra, token, err := wrapper.FekitGetSign(7, "10001", "wtlogin.login", "V1_AND", []byte{1, 2})
	if err != nil || !bytes.Equal(sign, []byte{0xaa, 0xbb}) || !bytes.Equal(extra, []byte{0xcc}) || !bytes.Equal(token, []byte{0xdd}) {
		t.Fatalf("sign %x %x %x %v", sign, extra, token, err)
	}
	energy, err := wrapper.DandelionEnergy(10001, "810_9", "8.9.63", []byte{3, 4})
	if err != nil || !bytes.Equal(energy, []byte{0xee, 0xff}) {
		t.Fatalf("energy %x %v", energy, err)
	}
	if _, _, _, err := wrapper.FekitGetSign(7, "99999", "x", "y", nil); err == nil {
		t.Fatal("another account used this sign server")
	}
}

func FuzzDecodeSign(f *testing.F) {
	f.Add([]byte(`{"code":0,"data":{"sign":"aabb","extra":"cc","token":"dd"}}`))
	f.Add([]byte(`{"code":0,"data":"eeff"}`))
	f.Add([]byte(`{"code":1,"msg":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if sign, _, _, err := decodeSign(b); err == nil && len(sign) == 0 {
			t.Fatal("empty sign accepted")
		}
		if e, err := decodeEnergy(b); err == nil && len(e) == 0 {
			t.Fatal("empty energy accepted")
		}
	})
}
