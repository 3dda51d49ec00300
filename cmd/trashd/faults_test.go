package main_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"trashd/db/dbtest"
	"trashd/internal/testworld"
	"trashd/s3ops/s3test"
)

// s3Tap is a reverse proxy in front of the real S3 server that asks a rule
// about each request and can act once its response has been forwarded to
// the client, which is where a crash loses the most (s3test.Proxy acts
// before the request reaches the server).
type s3Tap struct {
	URL string

	rule     atomic.Pointer[func(req string) tapAction]
	mu       sync.Mutex
	requests []string
	inflight int           // requests in the proxy
	idle     chan struct{} // closed while inflight is 0
}

// tapAction is what s3Tap does with one request; the zero value forwards it.
type tapAction struct {
	// Stall keeps the request from the server until its client goes away.
	Stall bool
	// After runs once the response has been forwarded and flushed.
	After func()
}

func newS3Tap(tb testing.TB) *s3Tap {
	tb.Helper()
	u, err := url.Parse(s3test.Endpoint())
	if err != nil {
		tb.Fatal(err)
	}
	tap := &s3Tap{idle: make(chan struct{})}
	close(tap.idle)
	forward := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // signed by SigV4
			pr.Out.URL.Path, pr.Out.URL.RawPath = pr.In.URL.Path, pr.In.URL.RawPath
		},
		FlushInterval: -1,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tap.enter()
		defer tap.leave()
		desc := r.Method + " " + s3test.Describe(r)
		if s3test.IsProbe(r) {
			desc += probeStep
		}
		var a tapAction
		if rule := tap.rule.Load(); rule != nil {
			a = (*rule)(desc)
		}
		if a.Stall {
			// The request's context ends when its client goes, but only
			// once its body is read: a PUT or a POST from a killed client
			// would stall for ever.
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				return
			}
			<-r.Context().Done()
			return
		}
		tap.mu.Lock()
		tap.requests = append(tap.requests, desc)
		tap.mu.Unlock()
		forward.ServeHTTP(w, r)
		// A response without a body is written only when the handler
		// returns, unless flushed: the client must have it now.
		_ = http.NewResponseController(w).Flush()
		if a.After != nil {
			a.After()
		}
	}))
	tap.URL = srv.URL
	tb.Cleanup(srv.Close)
	return tap
}

// setRule has rule decide each request from now on.
func (tap *s3Tap) setRule(rule func(req string) tapAction) { tap.rule.Store(&rule) }

// enter counts a request into the proxy.
func (tap *s3Tap) enter() {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	if tap.inflight == 0 {
		tap.idle = make(chan struct{})
	}
	tap.inflight++
}

// leave counts a request out, and says so when it was the last.
func (tap *s3Tap) leave() {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	tap.inflight--
	if tap.inflight == 0 {
		close(tap.idle)
	}
}

// awaitIdle waits until no request is in the proxy: none of a killed
// client's requests can still reach the server after it.
func (tap *s3Tap) awaitIdle(t *testing.T) {
	t.Helper()
	tap.mu.Lock()
	idle := tap.idle
	tap.mu.Unlock()
	select {
	case <-idle:
	case <-time.After(30 * time.Second):
		tap.mu.Lock()
		defer tap.mu.Unlock()
		t.Fatalf("%d S3 requests still in the proxy after 30s", tap.inflight)
	}
}

// Requests lists the requests forwarded so far as "METHOD Operation bucket/key".
func (tap *s3Tap) Requests() []string {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	return append([]string(nil), tap.requests...)
}

// victim is a trashd process the test will kill: once killed, both proxies
// in front of it stall whatever else it sends, so nothing reaches the
// servers after the step the test chose.
type victim struct {
	cmd *exec.Cmd
	// proc is cmd.Process, published for the proxies' goroutines: the
	// race detector sees no order in the requests that reach them
	// from another process.
	proc   atomic.Pointer[os.Process]
	out    syncBuffer
	dead   atomic.Bool
	last   atomic.Value // string: the step right before the kill
	killed chan struct{}
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// kill SIGKILLs the process once, noting last as the step before it.
func (v *victim) kill(last string) {
	if !v.dead.CompareAndSwap(false, true) {
		return
	}
	v.last.Store(last)
	_ = v.proc.Load().Kill()
	close(v.killed)
}

// lastStep is what kill noted, "" if it never ran.
func (v *victim) lastStep() string {
	s, _ := v.last.Load().(string)
	return s
}

func newVictim() *victim {
	return &victim{killed: make(chan struct{}), exited: make(chan struct{})}
}

// start starts v as a trashd process with vars and args that the test may
// kill; stdout and stderr are kept for logs.
func (v *victim) start(t *testing.T, vars []string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	v.cmd = command(ctx, vars, args...)
	v.cmd.Stdout, v.cmd.Stderr = &v.out, &v.out
	if err := v.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start trashd %v: %v", args, err)
	}
	v.proc.Store(v.cmd.Process)
	go func() {
		v.err = v.cmd.Wait()
		cancel()
		close(v.exited)
	}()
	t.Cleanup(func() {
		// A stopped process would never die of SIGKILL alone.
		_ = v.cmd.Process.Signal(syscall.SIGCONT)
		_ = v.cmd.Process.Kill()
		<-v.exited
	})
}

// wait waits for the process to exit, at most d.
func (v *victim) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-v.exited:
	case <-time.After(d):
		t.Fatalf("trashd still running after %s:\n%s", d, v.out.String())
	}
}

// exitCode is the process's exit code, -1 when a signal ended it.
func (v *victim) exitCode() int {
	if v.err == nil {
		return 0
	}
	if ee, ok := v.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// newDBProxy puts a dbtest.Proxy in front of env's database.
func newDBProxy(t *testing.T, env *testworld.Env) *dbtest.Proxy {
	t.Helper()
	return dbtest.NewProxy(t, net.JoinHostPort(env.DBOptions.Host, strconv.Itoa(env.DBOptions.Port)))
}

// throughProxies points vars at the two proxies.
func throughProxies(vars []string, s3 *s3Tap, dbp *dbtest.Proxy) []string {
	return with(vars, "TRASHD_S3_ENDPOINT="+s3.URL, "TRASHD_MYSQL_HOST="+dbp.Host, "TRASHD_MYSQL_PORT="+strconv.Itoa(dbp.Port))
}

// awaitServerClosed waits until the MySQL server has no connection left
// from the proxy: a killed client's open transaction is rolled back, and its
// row locks gone, only once the server has seen its connection close. The
// server ends a closed connection's thread on its own time and tells no
// one: its process list is looked at until the connections are gone (a
// wait on another process, which no test clock or signal can stand in for).
func awaitServerClosed(t *testing.T, d *sql.DB, dbp *dbtest.Proxy) {
	t.Helper()
	dbp.CloseConns()
	addrs := dbp.ServerAddrs()
	if len(addrs) == 0 {
		return
	}
	q := "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE HOST IN (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(addrs)), ", ") + ")"
	args := make([]any, len(addrs))
	for i, a := range addrs {
		args[i] = a
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		testworld.Must(t, d.QueryRow(q, args...).Scan(&n))
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server still has %d connections of the killed process", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// awaitLeasesLapsed waits until no record's lease is live by the database
// clock, at most d. The wait is on real time, and real time is its subject:
// a stopped process (a suspended host) must find on waking that its lease
// lapsed both by the database's clock and by its own lease clock, which
// counts through a suspend; the test cannot move either, so it waits for
// exactly as long as the latest lease has left to run.
func awaitLeasesLapsed(t *testing.T, d *sql.DB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var left sql.NullInt64
		testworld.Must(t, d.QueryRow("SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), MAX(lease_expires_at)) FROM trash_objects WHERE lease_expires_at >= NOW(6)").Scan(&left))
		if !left.Valid {
			return
		}
		wait := time.Duration(left.Int64+1) * time.Microsecond
		if time.Now().Add(wait).After(deadline) {
			t.Fatalf("a lease is live for %s more, past %s", wait, within)
		}
		time.Sleep(wait)
	}
}

// expireLeases ends the killed process's leases now, as the database clock
// would a lease later: the process is dead and renews nothing.
func expireLeases(t *testing.T, d *sql.DB) {
	t.Helper()
	_, err := d.Exec("UPDATE trash_objects SET lease_expires_at = NOW(6) - INTERVAL 1 SECOND WHERE lease_token IS NOT NULL")
	testworld.Must(t, err)
}

// recordStates lists each record as "lms_id:state".
func recordStates(t *testing.T, d *sql.DB) []string {
	t.Helper()
	rows, err := d.Query("SELECT lms_id, state, COALESCE(last_error, '') FROM trash_objects ORDER BY lms_id")
	testworld.Must(t, err)
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id int64
		var state, lastErr string
		testworld.Must(t, rows.Scan(&id, &state, &lastErr))
		s := fmt.Sprintf("%d:%s", id, state)
		if lastErr != "" {
			s += " (" + lastErr + ")"
		}
		got = append(got, s)
	}
	testworld.Must(t, rows.Err())
	return got
}

// syncBuffer is a bytes.Buffer that a process writes while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// probeStep marks a tapped request of a probe of the server's conditions.
const probeStep = " (probe)"
