package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListenControlSocket(t *testing.T) {
	t.Parallel()
	// Short paths: a unix socket's path is limited to about 108 bytes.
	dir, err := os.MkdirTemp("", "trashd-sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	t.Run("a regular file is kept", func(t *testing.T) {
		path := filepath.Join(dir, "file")
		if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := listenControlSocket(path)
		if err == nil || !strings.Contains(err.Error(), "a regular file there, not a socket") || !strings.Contains(err.Error(), "TRASHD_CONTROL_SOCKET") {
			t.Errorf("listen over a regular file: %v, want a refusal naming it and TRASHD_CONTROL_SOCKET", err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != "precious" {
			t.Errorf("the file is now %q, %v", b, err)
		}
	})
	t.Run("a directory is kept", func(t *testing.T) {
		path := filepath.Join(dir, "dir")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := listenControlSocket(path); err == nil || !strings.Contains(err.Error(), "a directory") {
			t.Errorf("listen over a directory: %v", err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("the directory is gone: %v", err)
		}
	})
	t.Run("a symbolic link is kept", func(t *testing.T) {
		target := filepath.Join(dir, "target")
		if err := os.WriteFile(target, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "link")
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		if _, err := listenControlSocket(path); err == nil || !strings.Contains(err.Error(), "a symbolic link") {
			t.Errorf("listen over a symlink: %v", err)
		}
	})
	t.Run("a live socket is refused", func(t *testing.T) {
		path := filepath.Join(dir, "live")
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if _, err := listenControlSocket(path); err == nil || !strings.Contains(err.Error(), "another trashd serve is listening") {
			t.Errorf("listen over a live socket: %v", err)
		}
	})
	t.Run("a stale socket is replaced", func(t *testing.T) {
		path := filepath.Join(dir, "stale")
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		l.(*net.UnixListener).SetUnlinkOnClose(false) // as a crash leaves it
		l.Close()
		l2, err := listenControlSocket(path)
		if err != nil {
			t.Fatalf("listen over a stale socket: %v", err)
		}
		l2.Close()
	})
	t.Run("nothing there", func(t *testing.T) {
		l, err := listenControlSocket(filepath.Join(dir, "new"))
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
	})
}
