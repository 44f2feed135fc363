package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// asset is one embedded file served under a name that carries its hash,
// so it can be cached for good and a new binary's file is a new name.
type asset struct {
	name  string // app.3f2a9c1d.js
	ctype string
	body  []byte
	gz    []byte // gzip of body
}

type assets struct {
	byLogical map[string]*asset // app.js → asset
	byName    map[string]*asset // app.3f2a9c1d.js → asset
}

func loadAssets(fsys fs.FS) (*assets, error) {
	a := &assets{byLogical: map[string]*asset{}, byName: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(p)
		name := strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:4]) + ext
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = "application/octet-stream"
		}
		as := &asset{name: name, ctype: ct, body: body, gz: gz.Bytes()}
		a.byLogical[p], a.byName[name] = as, as
		return nil
	})
	return a, err
}

// path is the URL of a logical asset name (for the templates).
func (a *assets) path(logical string) (string, error) {
	as, ok := a.byLogical[logical]
	if !ok {
		return "", fmt.Errorf("console: no asset %s", logical)
	}
	return "/static/" + as.name, nil
}

func (a *assets) serve(w http.ResponseWriter, r *http.Request) {
	as, ok := a.byName[strings.TrimPrefix(r.URL.Path, "/static/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", as.ctype)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Vary", "Accept-Encoding")
	body := as.body
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = as.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, p := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if strings.TrimSpace(strings.SplitN(p, ";", 2)[0]) == "gzip" {
			return true
		}
	}
	return false
}
