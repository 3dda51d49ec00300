package s3test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// TestStartMovesOnFromATakenPort: a port found free can be taken by
// another process before the server binds it. Whether that process answers
// as the server would (here: 200 to anything) or not at all, start tries
// another port and returns a server that is its own.
func TestStartMovesOnFromATakenPort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// take holds a port and reports whether the holder was asked
		// whether it is the server (the case under test happened).
		take func(t *testing.T) (port int, asked func() bool)
	}{
		{"by a process that answers 200", func(t *testing.T) (int, func() bool) {
			var resets atomic.Int32
			impostor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/moto-api/reset" {
					resets.Add(1)
				}
			}))
			t.Cleanup(impostor.Close)
			return impostor.Listener.Addr().(*net.TCPAddr).Port, func() bool { return resets.Load() > 0 }
		}},
		{"by a process that never answers", func(t *testing.T) (int, func() bool) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			return l.Addr().(*net.TCPAddr).Port, func() bool { return true }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			taken, asked := tc.take(t)
			picks := []int{taken}
			ports := func() (int, error) {
				if len(picks) > 0 {
					p := picks[0]
					picks = picks[1:]
					return p, nil
				}
				return freePort()
			}
			ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
			defer cancel()
			p, err := startMoto(ctx, ports)
			if err != nil {
				t.Fatalf("startMoto: %v", err)
			}
			t.Cleanup(func() {
				if err := p.Stop(); err != nil {
					t.Error(err)
				}
			})
			if !asked() {
				t.Fatal("the holder of the taken port was never asked: the case did not happen")
			}
			_, portText, _ := strings.Cut(strings.TrimPrefix(p.Server.Endpoint, "http://"), ":")
			port, err := strconv.Atoi(portText)
			if err != nil {
				t.Fatalf("endpoint %s: %v", p.Server.Endpoint, err)
			}
			if port == taken {
				t.Fatalf("moto's endpoint is %s, the port another process holds", p.Server.Endpoint)
			}
			if ours, err := listensOn(p.cmd.Process.Pid, port); err != nil || !ours {
				t.Errorf("moto (pid %d) listens on %d: %v, %v; want true", p.cmd.Process.Pid, port, ours, err)
			}
		})
	}
}

// TestStopEndsTheServer: after Stop the server's process is gone, its port
// answers nothing and its directory is removed.
func TestStopEndsTheServer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	p, err := startVersityGW(ctx, freePort)
	if err != nil {
		t.Fatalf("startVersityGW: %v", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-p.exited:
	default:
		t.Error("Stop returned before the process exited")
	}
	if err := answers200(ctx, http.MethodGet, p.Server.Endpoint+versityHealth); err == nil {
		t.Error("the health endpoint still answers after Stop")
	}
	if _, err := os.Stat(p.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s is left behind", p.dir)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}
