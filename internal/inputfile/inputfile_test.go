package inputfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.md")
	if err := os.WriteFile(small, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path string
		limit      int64
		want       error
	}{
		{"regular", small, 10, nil},
		{"regular at the limit", small, 5, nil},
		{"regular over the limit", small, 4, ErrTooLarge},
		{"no limit", small, 0, nil},
		{"fifo with no writer", fifo, 10, ErrNotRegular},
		{"device that never ends", "/dev/zero", 10, ErrNotRegular},
		{"directory", dir, 10, ErrNotRegular},
		{"missing", filepath.Join(dir, "nope"), 10, os.ErrNotExist},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, err := Read(c.path, c.limit)
			if c.want == nil {
				if err != nil || string(data) != "hello" {
					t.Fatalf("Read = %q, %v", data, err)
				}
				return
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.path) {
				t.Fatalf("Read = %v, want %v naming %s", err, c.want, c.path)
			}
		})
	}
}

func TestReadLimited(t *testing.T) {
	if data, err := ReadLimited(strings.NewReader("abc"), "-", 3); err != nil || string(data) != "abc" {
		t.Errorf("at the limit: %q %v", data, err)
	}
	f, err := os.Open("/dev/zero") // endless: refused after limit+1 bytes
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	if _, err := ReadLimited(f, "-", 1<<20); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "-") {
		t.Errorf("endless input: %v", err)
	}
}
