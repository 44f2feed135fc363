package configs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchDebounce coalesces the bursts of events one save makes (editors
// write a temporary file, rename it over the old one, change its mode).
var watchDebounce = 200 * time.Millisecond

// Watch calls onChange when the file at path changes, until ctx ends (then
// it returns nil). It watches the file's directory, not the file, so an
// editor or a Kubernetes ConfigMap that replaces the file (rename or
// symlink swap) is seen too. Events are debounced (about 200 ms) and
// onChange runs only when the content differs from the last content seen,
// so touching or rewriting the same bytes does nothing; SIGHUP is the way
// to force a reload. onChange runs on Watch's goroutine: Load and swap
// there. Start Watch right after the first Load.
func Watch(ctx context.Context, path string, onChange func()) error {
	return watch(ctx, path, nil, onChange, nil)
}

// WatchFrom is Watch for a file whose content was loaded before the
// watcher could start: baseline is the Digest of what was loaded, and a
// change made in between is noticed at once.
func WatchFrom(ctx context.Context, path string, baseline []byte, onChange func()) error {
	return watch(ctx, path, baseline, onChange, nil)
}

// Digest is the SHA-256 of a file's content, or nil when it cannot be
// read (for WatchFrom).
func Digest(path string) []byte {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil
	}
	return fileDigest(abs)
}

// watch is Watch with a hook that tells tests the watcher is in place.
func watch(ctx context.Context, path string, baseline []byte, onChange, ready func()) error {
	if path == "" {
		return errors.New("configs: watch: no file (the built-in demo never changes)")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("configs: watch %s: %w", path, err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("configs: watch %s: %w", path, err)
	}
	defer w.Close()
	if err := w.Add(filepath.Dir(abs)); err != nil {
		return fmt.Errorf("configs: watch %s: %w", path, err)
	}
	// A symlinked file (Kubernetes mounts) changes when a sibling link is
	// swapped, so every event in the directory counts; the content check
	// below filters the noise.
	anyEvent := false
	if fi, err := os.Lstat(abs); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		anyEvent = true
	}
	last := fileDigest(abs)
	if ready != nil {
		ready()
	}

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	if baseline != nil && !bytes.Equal(baseline, last) {
		last = baseline
		timer.Reset(watchDebounce) // changed before the watcher was in place
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("configs: watch: event channel closed")
			}
			if anyEvent || filepath.Clean(ev.Name) == abs {
				timer.Reset(watchDebounce)
			}
		case _, ok := <-w.Errors:
			if !ok {
				return errors.New("configs: watch: error channel closed")
			}
			// Overflow and similar: look at the file anyway.
			timer.Reset(watchDebounce)
		case <-timer.C:
			d := fileDigest(abs)
			if d == nil || bytes.Equal(d, last) {
				continue // removed (a rename is in progress) or unchanged
			}
			last = d
			onChange()
		}
	}
}

// fileDigest is the SHA-256 of the file, or nil when it cannot be read.
func fileDigest(name string) []byte {
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, MaxFileSize+1)); err != nil {
		return nil
	}
	return h.Sum(nil)
}
