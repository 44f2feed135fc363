// Package file is the audit and test driver: it appends one JSON line per
// delivered part to a file, for any platform.
package file

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/groupcast/groupcast"
	"github.com/groupcast/groupcast/adapters"
	"github.com/groupcast/groupcast/configs"
)

// Driver is the file driver's table entry.
var Driver = adapters.Define("file", configs.DriverSpec{
	Groups: configs.GroupsOptional,
}, func(ac configs.Account, c Config, env adapters.Env) (groupcast.Sender, error) {
	return New(ac, c, env), nil
})

// Line is one delivered part, one JSON object per line of the file.
type Line struct {
	Announcement string    `json:"announcement"`
	Route        string    `json:"route"`
	Account      string    `json:"account"`
	Platform     string    `json:"platform"`
	Group        string    `json:"group"`
	Style        string    `json:"style"`
	Part         int       `json:"part"`
	Parts        int       `json:"parts"`
	Text         string    `json:"text"`
	Time         time.Time `json:"time"`
}

// File appends delivery lines to one path. Files are shared by every
// account that names the same path.
type File struct {
	account configs.Account
	path    string
	out     *appender
	env     adapters.Env
}

// New returns a file sender for account ac (its name and platform go into
// each line).
func New(ac configs.Account, c Config, env adapters.Env) *File {
	return &File{account: ac, path: c.Path, out: appenderFor(c.Path), env: env.WithDefaults()}
}

// appender keeps one path's file open and appends whole lines to it. It
// is shared by every account that names the path. Once a second it checks
// that the path still names the open file, and reopens it when it does
// not, so that log rotation (rename, then a new file) works.
type appender struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	checked time.Time
	line    bytes.Buffer  // the line being written, reused
	enc     *json.Encoder // writes to line, HTML characters as they are
}

// maxKept is the largest line buffer an appender keeps for the next line.
const maxKept = 64 << 10

// reopenCheck is how often an appender looks for a rotated file.
const reopenCheck = time.Second

var (
	appendersMu sync.Mutex
	appenders   = map[string]*appender{}
)

func appenderFor(path string) *appender {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	appendersMu.Lock()
	defer appendersMu.Unlock()
	if appenders[abs] == nil {
		appenders[abs] = &appender{path: abs}
	}
	return appenders[abs]
}

// writeJSON appends v as one JSON line. The line is encoded under the
// lock into the appender's buffer, so a line costs no buffer of its own.
func (a *appender) writeJSON(v any) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.enc == nil {
		a.enc = json.NewEncoder(&a.line)
		a.enc.SetEscapeHTML(false)
	}
	a.line.Reset()
	defer func() {
		if a.line.Cap() > maxKept {
			a.line = bytes.Buffer{}
		}
	}()
	if err := a.enc.Encode(v); err != nil {
		return groupcast.Permanent("encode", err)
	}
	return a.write(a.line.Bytes())
}

// write appends b in one write call: with O_APPEND a killed process leaves
// whole lines. The caller holds mu.
func (a *appender) write(b []byte) error {
	if a.f != nil && time.Since(a.checked) >= reopenCheck {
		a.checked = time.Now()
		open, err1 := a.f.Stat()
		named, err2 := os.Stat(a.path)
		if err1 != nil || err2 != nil || !os.SameFile(open, named) {
			_ = a.f.Close()
			a.f = nil
		}
	}
	if a.f == nil {
		if err := os.MkdirAll(filepath.Dir(a.path), 0o755); err != nil {
			return groupcast.Temporary("mkdir", err)
		}
		f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return groupcast.Temporary("open", err)
		}
		a.f, a.checked = f, time.Now()
	}
	if _, err := a.f.Write(b); err != nil {
		_ = a.f.Close()
		a.f = nil
		return groupcast.Temporary("write", err)
	}
	return nil
}

func (f *File) Send(ctx context.Context, m groupcast.Outgoing) (groupcast.Receipt, error) {
	if err := f.env.Pacer.Wait(ctx); err != nil {
		return groupcast.Receipt{}, groupcast.Temporary("canceled", err)
	}
	now := f.env.Now()
	err := f.out.writeJSON(Line{
		Announcement: m.Announcement.ID, Route: m.Destination.Route, Account: f.account.Name,
		Platform: f.account.Platform, Group: m.Group, Style: m.Rendered.Style,
		Part: 1, Parts: 1, Text: m.Rendered.Text, Time: now,
	})
	if err != nil {
		return groupcast.Receipt{}, err
	}
	id := f.path + "#" + strconv.FormatInt(now.UnixNano(), 10)
	return groupcast.Receipt{Parts: 1, MessageIDs: []string{id}, SentAt: now}, nil
}

// Recall appends nothing: a file line cannot be taken back.
func (f *File) Recall(context.Context, string, groupcast.Receipt) error {
	return fmt.Errorf("%w: the file driver keeps what it wrote", groupcast.ErrRecallUnsupported)
}

var (
	_ groupcast.Sender   = (*File)(nil)
	_ groupcast.Recaller = (*File)(nil)
)
