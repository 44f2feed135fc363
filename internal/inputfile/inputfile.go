// Package inputfile reads the files a user names on the command line or as
// the config: regular files only (a FIFO would block, /dev/zero never
// ends, a directory is a mistake), and never more than a limit. Standard
// input goes through ReadLimited.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

var (
	// ErrNotRegular: the path is a FIFO, a device, a socket or a directory.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the input is over the limit.
	ErrTooLarge = errors.New("too large")
)

// Open opens path for reading if it is a regular file. It never blocks:
// a FIFO is opened non-blocking, seen to be one and closed. Errors are
// *fs.PathError naming path.
func Open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kind(fi.Mode()))}
	}
	return f, nil
}

// Read reads the regular file at path, refusing one over limit bytes
// (limit ≤ 0: no limit) before reading it.
func Read(path string, limit int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if limit > 0 {
		if fi, err := f.Stat(); err == nil && fi.Size() > limit {
			return nil, &fs.PathError{Op: "read", Path: path,
				Err: fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, fi.Size(), limit)}
		}
	}
	return ReadLimited(f, path, limit) // a file that grows meanwhile is still bounded
}

// ReadLimited reads r to its end, refusing past limit bytes (limit ≤ 0: no
// limit) without reading further. name says what r is in errors ("-" for
// standard input).
func ReadLimited(r io.Reader, name string, limit int64) ([]byte, error) {
	if limit <= 0 {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		return data, nil
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	if int64(len(data)) > limit {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)}
	}
	return data, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}
