package miraigo

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Mrs4s/MiraiGo/wrapper"

	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/adapters/qq"
)

// A sign server computes the sec_sign and T544 "energy" that Tencent's
// servers demand of the Android protocol; without one a MiraiGo login ends
// in code 45 (docs/platforms.md). MiraiGo only exposes two package-level
// hooks, wrapper.FekitGetSign and wrapper.DandelionEnergy [V]
// wrapper/codec.go; this file fills them with an HTTP client of the
// "qsign" API the go-cqhttp community runs [C]:
//
//	POST {sign_server}/sign            form uin, qua, cmd, seq, buffer (hex)
//	     → {"code":0,"data":{"sign":hex,"extra":hex,"token":hex}}
//	GET  {sign_server}/custom_energy?uin=&data=<id>&salt=<hex>
//	     → {"code":0,"data":hex}
//
// A query on sign_server (such as ?key=…) is sent with every call and never
// logged. The hooks are global, so they dispatch on the uin to the account's
// own server.

const signTimeout = 10 * time.Second

type signClient struct {
	base   *url.URL
	client *http.Client
}

var signers struct {
	once sync.Once
	mu   sync.RWMutex
	m    map[string]*signClient
}

func checkSignServer(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "sign_server: must be an absolute http(s) URL such as http://127.0.0.1:8080"
	case u.User != nil:
		return "sign_server: must not carry credentials (a ?key= query is fine)"
	}
	return ""
}

// useSignServer points the MiraiGo hooks for uin at the sign server.
func useSignServer(uin int64, raw string, env adapters.Env) error {
	if p := checkSignServer(raw); p != "" {
		return errors.New(p)
	}
	u, _ := url.Parse(raw)
	u.Path = strings.TrimRight(u.Path, "/")
	env = env.WithDefaults()
	signers.mu.Lock()
	if signers.m == nil {
		signers.m = make(map[string]*signClient)
	}
	signers.m[strconv.FormatInt(uin, 10)] = &signClient{base: u, client: env.HTTPClient}
	signers.mu.Unlock()
	signers.once.Do(func() {
		wrapper.FekitGetSign = fekitGetSign
		wrapper.DandelionEnergy = dandelionEnergy
	})
	return nil
}

func signerFor(uin string) (*signClient, error) {
	signers.mu.RLock()
	defer signers.mu.RUnlock()
	sc := signers.m[uin]
	if sc == nil {
		return nil, fmt.Errorf("no sign server for %s", uin)
	}
	return sc, nil
}

// fekitGetSign is wrapper.FekitGetSign. It never panics: MiraiGo calls it
// from its network goroutines.
func fekitGetSign(seq uint64, uin, cmd, qua string, buf []byte) (sign, extra, token []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: sign: %v", ErrPanic, r)
		}
	}()
	sc, err := signerFor(uin)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), signTimeout)
	defer cancel()
	form := url.Values{"uin": {uin}, "qua": {qua}, "cmd": {cmd}, "seq": {strconv.FormatUint(seq, 10)}, "buffer": {hex.EncodeToString(buf)}}
	body, err := sc.do(ctx, http.MethodPost, "sign", nil, form)
	if err != nil {
		return nil, nil, nil, err
	}
	return decodeSign(body)
}

// dandelionEnergy is wrapper.DandelionEnergy.
func dandelionEnergy(uin uint64, id, _ string, salt []byte) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: energy: %v", ErrPanic, r)
		}
	}()
	u := strconv.FormatUint(uin, 10)
	sc, err := signerFor(u)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), signTimeout)
	defer cancel()
	q := url.Values{"uin": {u}, "data": {id}, "salt": {hex.EncodeToString(salt)}}
	body, err := sc.do(ctx, http.MethodGet, "custom_energy", q, nil)
	if err != nil {
		return nil, err
	}
	return decodeEnergy(body)
}

func (sc *signClient) do(ctx context.Context, method, path string, query, form url.Values) ([]byte, error) {
	u := *sc.base
	u.Path += "/" + path
	q := u.Query()
	for k, v := range query {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("sign server %s: cannot build the request", path)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := sc.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sign server %s: %w", path, qq.StripURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("sign server %s: %w", path, qq.StripURL(err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sign server %s: HTTP %d", path, resp.StatusCode)
	}
	return data, nil
}

type signAnswer struct {
	Code *int            `json:"code"`
	Msg  string          `json:"msg"`
	Data json.RawMessage `json:"data"`
}

func readSignAnswer(body []byte) (json.RawMessage, error) {
	var a signAnswer
	if err := json.Unmarshal(body, &a); err != nil || a.Code == nil {
		return nil, fmt.Errorf("sign server: not a sign answer: %.60q", body)
	}
	if *a.Code != 0 {
		return nil, fmt.Errorf("sign server: code %d: %s", *a.Code, qq.LimitText(a.Msg, 120))
	}
	return a.Data, nil
}

// decodeSign reads /sign's answer.
func decodeSign(body []byte) (sign, extra, token []byte, err error) {
	data, err := readSignAnswer(body)
	if err != nil {
		return nil, nil, nil, err
	}
	var d struct {
		Sign  string `json:"sign"`
		Extra string `json:"extra"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, nil, nil, fmt.Errorf("sign server: sign data: %w", err)
	}
	if sign, err = hex.DecodeString(d.Sign); err != nil {
		return nil, nil, nil, fmt.Errorf("sign server: sign is not hex")
	}
	if extra, err = hex.DecodeString(d.Extra); err != nil {
		return nil, nil, nil, fmt.Errorf("sign server: extra is not hex")
	}
	if token, err = hex.DecodeString(d.Token); err != nil {
		return nil, nil, nil, fmt.Errorf("sign server: token is not hex")
	}
	if len(sign) == 0 {
		return nil, nil, nil, errors.New("sign server: empty sign")
	}
	return sign, extra, token, nil
}

// decodeEnergy reads /custom_energy's answer.
func decodeEnergy(body []byte) ([]byte, error) {
	data, err := readSignAnswer(body)
	if err != nil {
		return nil, err
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("sign server: energy data is not a string")
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("sign server: energy is empty or not hex")
	}
	return b, nil
}
