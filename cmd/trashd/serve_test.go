package main_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"trashd/internal/testworld"
	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// notifySocket is a unixgram socket standing in for systemd's NOTIFY_SOCKET.
type notifySocket struct {
	path string
	msgs chan string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	n := &notifySocket{path: path, msgs: make(chan string, 1024)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				close(n.msgs)
				return
			}
			n.msgs <- string(buf[:k])
		}
	}()
	return n
}

// expect waits for a notification containing want.
func (n *notifySocket) expect(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case m, ok := <-n.msgs:
			if !ok {
				t.Fatalf("notify socket closed before %q", want)
			}
			if strings.Contains(m, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q from trashd serve within a minute", want)
		}
	}
}

// server is a running `trashd serve` process.
type server struct {
	cmd    *exec.Cmd
	done   chan struct{}
	code   int
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
}

func startServe(t *testing.T, vars []string) *server {
	t.Helper()
	s := &server{cmd: command(t.Context(), vars, "serve"), done: make(chan struct{})}
	stdout, _ := s.cmd.StdoutPipe()
	stderr, _ := s.cmd.StderrPipe()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var copying sync.WaitGroup
	for _, p := range []struct {
		r io.Reader
		b *bytes.Buffer
	}{{stdout, &s.stdout}, {stderr, &s.stderr}} {
		copying.Go(func() {
			sc := bufio.NewScanner(p.r)
			for sc.Scan() {
				s.mu.Lock()
				p.b.WriteString(sc.Text() + "\n")
				s.mu.Unlock()
			}
		})
	}
	go func() {
		copying.Wait()
		err := s.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			s.code = ee.ExitCode()
		}
		close(s.done)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
	return s
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String() + s.stderr.String()
}

// wait waits for the process to exit and returns its exit code.
func (s *server) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-s.done:
		return s.code
	case <-time.After(within):
		t.Fatalf("trashd serve did not exit within %s\n%s", within, s.output())
		return -1
	}
}

func serveVars(t *testing.T, env *testworld.Env, extra ...string) []string {
	return with(env.Vars(), append([]string{
		"TRASHD_SCHEDULE=@every 1h",
		"TRASHD_RUN_AT_START=false",
		"TRASHD_CONTROL_SOCKET=" + filepath.Join(t.TempDir(), "control.sock"),
		"TRASHD_METRICS_ADDR=",
		"TRASHD_SHUTDOWN_GRACE=20s",
	}, extra...)...)
}

func TestServeTriggerWaitStatus(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	for i := range 25 {
		key := fmt.Sprintf("serve/%02d.txt", i)
		env.AddFile(t, key, testworld.Body(key, 700), true, 0)
	}
	addLiveRows(t, env, 50)
	notify := newNotifySocket(t)
	vars := serveVars(t, env, "NOTIFY_SOCKET="+notify.path, "WATCHDOG_USEC=200000")
	if r := trashd(t, vars, "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	srv := startServe(t, vars)
	notify.expect(t, "READY=1")
	notify.expect(t, "WATCHDOG=1")

	r := trashd(t, vars, "trigger", "--wait")
	if r.code != 0 || !strings.Contains(r.stdout, "started run") || !strings.Contains(r.stdout, "moved 25") {
		t.Fatalf("trigger --wait: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if got := env.States(t); got[reconcile.StateInTrash] != 25 {
		t.Errorf("states %v, want 25 in_trash", got)
	}
	st := trashd(t, vars, "status")
	if st.code != 0 || !strings.Contains(st.stdout, "in_trash") || !strings.Contains(st.stdout, "manual") {
		t.Errorf("status: exit %d\n%s%s", st.code, st.stdout, st.stderr)
	}
	notify.expect(t, "WATCHDOG=1") // still fed after the pass

	srv.cmd.Process.Signal(syscall.SIGTERM)
	notify.expect(t, "STOPPING=1")
	if code := srv.wait(t, time.Minute); code != 0 {
		t.Errorf("serve exited %d after SIGTERM, want 0\n%s", code, srv.output())
	}
	env.CheckInvariant(t)
}

// SIGTERM mid-pass with many objects in flight: serve exits 0 within the
// grace period, nothing is lost, every unfinished lease is released, and
// another process finishes the backlog at once.
func TestServeSIGTERMMidPass(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	proxy := s3test.NewProxy(t, s3test.Endpoint())
	var holding atomic.Bool
	holding.Store(true)
	held := proxy.Hold(func(req *http.Request) bool {
		return holding.Load() && req.Method == http.MethodPut && req.Header.Get("X-Amz-Copy-Source") != "" && !s3test.IsProbe(req)
	})
	const n = 120
	for i := range n {
		key := fmt.Sprintf("sigterm/%03d.bin", i)
		env.AddFile(t, key, testworld.Body(key, 256), true, 0)
	}
	addLiveRows(t, env, 10*n)
	notify := newNotifySocket(t)
	vars := serveVars(t, env, "TRASHD_S3_ENDPOINT="+proxy.URL, "TRASHD_CONCURRENCY=8", "TRASHD_RUN_AT_START=true",
		"NOTIFY_SOCKET="+notify.path)
	if r := trashd(t, vars, "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	srv := startServe(t, vars)

	// Wait until all eight workers are inside a copy, then stop the service.
	var inFlight []*s3test.Held
	for len(inFlight) < 8 {
		select {
		case h := <-held:
			inFlight = append(inFlight, h)
		case <-time.After(time.Minute):
			t.Fatalf("only %d copies reached the proxy\n%s", len(inFlight), srv.output())
		}
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	notify.expect(t, "STOPPING=1")
	holding.Store(false)
	for _, h := range inFlight {
		h.Release()
	}
	if code := srv.wait(t, time.Minute); code != 0 {
		t.Fatalf("serve exited %d, want 0\n%s", code, srv.output())
	}

	var leased, inTrash int
	var status string
	testworld.Must(t, env.DB.QueryRow("SELECT COUNT(lease_token), SUM(state = 'in_trash') FROM trash_objects").Scan(&leased, &inTrash))
	testworld.Must(t, env.DB.QueryRow("SELECT status FROM trash_runs ORDER BY id DESC LIMIT 1").Scan(&status))
	if leased != 0 {
		t.Errorf("%d leases still held after a graceful stop", leased)
	}
	if status != "interrupted" || inTrash == n {
		t.Errorf("run %s with %d of %d moved; want an interrupted run with work left", status, inTrash, n)
	}
	env.CheckInvariant(t)

	// No lease to wait for: another process takes the rest at once.
	r := trashd(t, env.Vars(), "reconcile")
	if r.code != 0 {
		t.Fatalf("reconcile after the stop: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := env.States(t); got[reconcile.StateInTrash] != n {
		t.Errorf("states %v, want all %d in_trash", got, n)
	}
	env.CheckInvariant(t)
}

func TestServeStartupProblems(t *testing.T) {
	t.Parallel()
	env := testworld.New(t)
	if r := trashd(t, env.Vars(), "migrate"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	bad := trashd(t, serveVars(t, env, "TRASHD_SCHEDULE=every fifteen minutes"), "serve")
	if bad.code != 2 || !strings.Contains(bad.stderr, `"every fifteen minutes"`) || !strings.Contains(bad.stderr, "TRASHD_SCHEDULE") {
		t.Errorf("invalid schedule: exit %d\n%s", bad.code, bad.stderr)
	}
	nodb := trashd(t, serveVars(t, env, "TRASHD_MYSQL_PORT=1", "TRASHD_MYSQL_DIAL_TIMEOUT=2s"), "serve")
	if nodb.code != 1 || !strings.Contains(nodb.stderr, "127.0.0.1:1") {
		t.Errorf("unreachable database: exit %d\n%s", nodb.code, nodb.stderr)
	}

	// S3 down at start: the service starts, and readiness says which
	// dependency is not there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	testworld.Must(t, err)
	addr := l.Addr().String()
	l.Close()
	notify := newNotifySocket(t)
	srv := startServe(t, serveVars(t, env, "TRASHD_METRICS_ADDR="+addr, "TRASHD_TRASH_BUCKET=no-such-trash-bucket-trashd", "NOTIFY_SOCKET="+notify.path))
	// READY comes after the listener is open and served: no polling.
	notify.expect(t, "READY=1")
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatalf("/readyz: %v\n%s", err, srv.output())
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body, code := string(b), resp.StatusCode
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "trash_bucket") || !strings.Contains(body, "no-such-trash-bucket-trashd") {
		t.Errorf("/readyz = %d\n%s\nwant 503 naming the trash bucket", code, body)
	}
	if !strings.Contains(srv.output(), "dependency not ready at start") {
		t.Errorf("no startup error in the log:\n%s", srv.output())
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if code := srv.wait(t, time.Minute); code != 0 {
		t.Errorf("serve exited %d, want 0", code)
	}
}
