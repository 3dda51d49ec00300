package s3test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// Servers gives a test package the three test servers: SeaweedFS (already
// running, dev-up's), and moto and versitygw, each started the first time a
// test asks for it and stopped when the package's tests end. One start per
// package, shared by its tests: each test makes buckets of its own
// (NewBucket), so tests can run in parallel, and nothing resets a server
// under another test's feet. Declare one in the package's TestMain:
//
//	var servers s3test.Servers // the package's own moto and versitygw
//
//	func TestMain(m *testing.M) { os.Exit(servers.Run(m)) }
//
// The zero value is ready to use.
type Servers struct {
	moto, versitygw lazyProcess
}

// lazyProcess is one server, started at most once.
type lazyProcess struct {
	once sync.Once
	p    *Process
	err  error
}

// startTimeout bounds one server's start (with a python import or a busy
// machine, a few seconds; a versitygw build not included).
const startTimeout = 2 * time.Minute

func (l *lazyProcess) get(start func(context.Context) (*Process, error)) (*Process, error) {
	l.once.Do(func() {
		// Not the test's context: the server outlives the test that
		// happened to ask first.
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		l.p, l.err = start(ctx)
	})
	return l.p, l.err
}

// SeaweedFS returns the SeaweedFS that scripts/dev-up.sh started (the
// package function SeaweedFS, here for symmetry).
func (s *Servers) SeaweedFS(tb testing.TB) Server {
	tb.Helper()
	return SeaweedFS()
}

// Moto returns the package's moto, starting it if no test has yet. If it
// cannot start (moto not installed, say) the test fails, with what to
// install.
func (s *Servers) Moto(tb testing.TB) Server {
	tb.Helper()
	p, err := s.moto.get(StartMoto)
	if err != nil {
		tb.Fatalf("moto: %v", err)
	}
	return p.Server
}

// VersityGW returns the package's versitygw, starting it if no test has
// yet; the test fails if it cannot start.
func (s *Servers) VersityGW(tb testing.TB) Server {
	tb.Helper()
	p, err := s.versitygw.get(StartVersityGW)
	if err != nil {
		tb.Fatalf("versitygw: %v", err)
	}
	return p.Server
}

// Each runs test once per server, SeaweedFS, moto and versitygw, each in
// a parallel subtest named after the server. A server that cannot start
// fails its own subtest only.
func (s *Servers) Each(t *testing.T, test func(t *testing.T, server Server)) {
	t.Helper()
	for _, srv := range []struct {
		name string
		get  func(testing.TB) Server
	}{{"seaweedfs", s.SeaweedFS}, {"moto", s.Moto}, {"versitygw", s.VersityGW}} {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			test(t, srv.get(t))
		})
	}
}

// Run runs the package's tests and then Stop; it returns the exit code for
// os.Exit, 1 if the tests passed but a server would not stop.
func (s *Servers) Run(m *testing.M) int {
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "s3test:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Stop stops the servers that were started. Call it only once no test is
// running.
func (s *Servers) Stop() error {
	var errs []error
	for _, l := range []*lazyProcess{&s.moto, &s.versitygw} {
		if l.p != nil {
			errs = append(errs, l.p.Stop())
		}
	}
	return errors.Join(errs...)
}
