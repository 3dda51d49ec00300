package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"
)

// listenControlSocket listens on the control socket after making sure that
// what is at path, if anything, is a stale socket: TRASHD_CONTROL_SOCKET may
// be mistyped into a path that holds a file of value, and serve must never
// delete one.
func listenControlSocket(path string) (net.Listener, error) {
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	return listenControl(path)
}

// removeStaleSocket removes the socket at path when no process listens on it
// (a crash left it), and refuses anything else: a live socket (another
// trashd serve), or a file, directory or symlink that is not a socket.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("control socket %s: %w (set TRASHD_CONTROL_SOCKET to a path trashd may create)", path, err)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("control socket %s: there is %s there, not a socket; trashd only replaces a stale socket: "+
			"move it away, or set TRASHD_CONTROL_SOCKET to another path", path, describeFile(fi.Mode()))
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: another trashd serve is listening on it; stop it first, or set TRASHD_CONTROL_SOCKET to another path", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control socket %s: cannot tell whether it is in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control socket %s: remove the stale socket: %w", path, err)
	}
	return nil
}

// describeFile names a file type for an error message.
func describeFile(m fs.FileMode) string {
	switch m.Type() {
	case 0:
		return "a regular file"
	case fs.ModeDir:
		return "a directory"
	case fs.ModeSymlink:
		return "a symbolic link"
	case fs.ModeNamedPipe:
		return "a named pipe"
	case fs.ModeDevice, fs.ModeDevice | fs.ModeCharDevice:
		return "a device"
	}
	return "a file of type " + m.Type().String()
}
