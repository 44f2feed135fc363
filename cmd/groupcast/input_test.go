package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// endless is standard input that never ends, like /dev/zero.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// TestCLIInputIsCapped: the commands that read a file refuse one that is
// not a regular file, naming it, without waiting on it; standard input is
// read up to server.max_body and refused past it.
func TestCLIInputIsCapped(t *testing.T) {
	t.Setenv("GROUPCAST_CONFIG", "")
	dir := t.TempDir()
	t.Chdir(dir) // no ./groupcast.yaml: the defaults apply
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(small, []byte("server: {max_body: 1KiB}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.md")
	if err := os.WriteFile(big, []byte("---\ntitle: t\n---\n"+strings.Repeat("a", 2<<20)), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := "---\ntitle: t\ntags: [ops]\n---\n" + strings.Repeat("正文", 400) // 2.4 KB
	for _, c := range []struct {
		name  string
		args  []string
		stdin io.Reader
		want  []string // in stderr
	}{
		{"preview a FIFO", []string{"preview", fifo}, nil, []string{fifo, "not a regular file", "named pipe"}},
		{"preview /dev/zero", []string{"preview", "/dev/zero"}, nil, []string{"/dev/zero", "not a regular file", "character device"}},
		{"preview a directory", []string{"preview", dir}, nil, []string{dir, "not a regular file", "directory"}},
		{"preview a file over max_body", []string{"preview", big}, nil, []string{big, "at most 1048576", "server.max_body"}},
		{"preview endless stdin", []string{"preview", "-"}, endless{}, []string{"standard input", "more than 1048576 bytes", "server.max_body"}},
		{"preview stdin over the config's max_body", []string{"preview", "--config", small, "-"}, strings.NewReader(doc),
			[]string{"standard input", "more than 1024 bytes"}},
		{"preview too deeply nested", []string{"preview", "-"}, strings.NewReader("---\ntitle: t\n---\n" + strings.Repeat(">", 40) + " a"),
			[]string{"body", "nested more than 32"}},
		{"send /dev/zero", []string{"send", "/dev/zero", "--server", "http://127.0.0.1:1"}, nil, []string{"/dev/zero", "not a regular file"}},
		{"send endless stdin", []string{"send", "-", "--server", "http://127.0.0.1:1"}, endless{}, []string{"standard input", "more than 1048576 bytes"}},
		{"validate a FIFO", []string{"validate", "--config", fifo}, nil, []string{fifo, "not a regular file"}},
		{"validate /dev/zero", []string{"validate", "--config", "/dev/zero"}, nil, []string{"/dev/zero", "not a regular file"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdin := c.stdin
			if stdin == nil {
				stdin = strings.NewReader("")
			}
			var out, errOut bytes.Buffer
			code := run(c.args, stdin, &out, &errOut)
			if code != exitInvalid {
				t.Errorf("exit %d, want %d; stderr %q", code, exitInvalid, errOut.String())
			}
			for _, w := range c.want {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr %q lacks %q", errOut.String(), w)
				}
			}
		})
	}
}
