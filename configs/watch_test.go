package configs

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// startWatch runs Watch on path and returns a channel that receives one
// value per onChange call.
func startWatch(t *testing.T, path string) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	fired := make(chan struct{}, 16)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- watch(ctx, path, nil, func() { fired <- struct{}{} }, func() { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("watch: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("watch returned %v after cancel", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("watch did not return after cancel")
		}
	})
	return fired
}

func waitFire(t *testing.T, fired <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: onChange not called", what)
	}
}

// quiet asserts onChange is not called within a few debounce periods.
func quiet(t *testing.T, fired <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-fired:
		t.Fatalf("%s: onChange called", what)
	case <-time.After(3 * watchDebounce):
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "groupcast.yaml")
	write(t, path, "org: one\n")
	fired := startWatch(t, path)

	// In-place writes, several in a burst: one call.
	write(t, path, "org: two\n")
	write(t, path, "org: three\n")
	waitFire(t, fired, "write")
	quiet(t, fired, "after one burst")

	// The same bytes again, or another file in the directory: nothing.
	write(t, path, "org: three\n")
	write(t, filepath.Join(dir, "other.yaml"), "x")
	quiet(t, fired, "same content / other file")

	// An editor's save: write a temporary file, rename it over the old one.
	tmp := filepath.Join(dir, ".groupcast.yaml.swp")
	write(t, tmp, "org: four\n")
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitFire(t, fired, "rename-replace")

	// Removed, then created again with new content.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	quiet(t, fired, "removed")
	write(t, path, "org: five\n")
	waitFire(t, fired, "re-created")
}

// TestWatchSymlinkSwap is how Kubernetes updates a mounted ConfigMap: the
// file is a link through ..data, and ..data is swapped to a new directory.
func TestWatchSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(dir, v), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, v, "groupcast.yaml"), "org: "+v+"\n")
	}
	if err := os.Symlink("v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "groupcast.yaml")
	if err := os.Symlink(filepath.Join("..data", "groupcast.yaml"), path); err != nil {
		t.Fatal(err)
	}
	fired := startWatch(t, path)

	if err := os.Symlink("v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	waitFire(t, fired, "symlink swap")
}

func TestWatchErrors(t *testing.T) {
	if err := Watch(context.Background(), "", func() {}); err == nil {
		t.Error("Watch of the built-in demo should fail")
	}
	if err := Watch(context.Background(), filepath.Join(t.TempDir(), "missing-dir", "x.yaml"), func() {}); err == nil {
		t.Error("Watch in a missing directory should fail")
	}
}

// A change made after the file was loaded and before the watcher was in
// place (the daemon loads, opens its store, then watches) is noticed.
func TestWatchFromSeesAnEarlierChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "groupcast.yaml")
	if err := os.WriteFile(path, []byte("timezone: UTC\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded := Digest(path)
	if err := os.WriteFile(path, []byte("timezone: Asia/Shanghai\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fired := make(chan struct{}, 1)
	go func() { _ = WatchFrom(ctx, path, loaded, func() { fired <- struct{}{} }) }()
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("the change made before the watcher started was not seen")
	}
}
