package s3ops_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// testGuard is a send guard whose answer the test turns stale, counting
// how often it was asked.
type testGuard struct {
	stale atomic.Bool
	calls atomic.Int32
}

func (g *testGuard) check() error {
	g.calls.Add(1)
	if g.stale.Load() {
		return fmt.Errorf("the fence was sent too long ago: %w", reconcile.ErrStale)
	}
	return nil
}

func (g *testGuard) on(ctx context.Context) context.Context {
	return reconcile.WithSendGuard(ctx, g.check)
}

// guardedDeletes are the two ways a source is deleted, each of one object:
// op is the S3 operation it sends.
var guardedDeletes = []struct {
	op  string
	del func(ctx context.Context, c *s3ops.Client, obj reconcile.Object) error
}{
	{"DeleteObject", func(ctx context.Context, c *s3ops.Client, obj reconcile.Object) error {
		return c.Delete(ctx, obj)
	}},
	{"DeleteObjects", func(ctx context.Context, c *s3ops.Client, obj reconcile.Object) error {
		return c.DeleteBatch(ctx, obj.Bucket, []reconcile.Object{obj})[0]
	}},
}

// assertStale fails the test unless err says the guard stopped the request
// (and nothing that would have it retried as if it had been sent).
func assertStale(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, reconcile.ErrStale) || errors.Is(err, reconcile.ErrTransient) {
		t.Errorf("delete under a stale guard: %v, want ErrStale and not ErrTransient", err)
	}
}

// TestSendGuardStaleNeverSends: a delete whose guard answers stale does not
// reach the HTTP client at all, and the object stays.
func TestSendGuardStaleNeverSends(t *testing.T) {
	t.Parallel()
	for _, d := range guardedDeletes {
		t.Run(d.op, func(t *testing.T) {
			t.Parallel()
			ft := s3test.NewFaultTransport(nil)
			b := setup(t, conditional, counting(ft))
			obj := b.put(t, "kept.txt", []byte("x"))
			g := new(testGuard)
			g.stale.Store(true)
			assertStale(t, d.del(g.on(t.Context()), b.client, obj))
			if n := countOps(ft, d.op); n != 0 {
				t.Errorf("%d %s requests reached the HTTP client: %v", n, d.op, ft.Requests())
			}
			b.head(t, b.src, "kept.txt")
		})
	}
}

// staleOnRetrieve turns the guard stale while the SDK fetches the
// credentials to sign with: a slow credential refresh.
type staleOnRetrieve struct {
	aws.CredentialsProvider
	g *testGuard
}

func (p staleOnRetrieve) Retrieve(ctx context.Context) (aws.Credentials, error) {
	p.g.stale.Store(true)
	return p.CredentialsProvider.Retrieve(ctx)
}

// TestSendGuardAfterSigning: the guard is asked after the credentials are
// fetched and the request is signed, so that a fence that goes stale
// meanwhile stops the request before it reaches the HTTP client.
func TestSendGuardAfterSigning(t *testing.T) {
	t.Parallel()
	for _, d := range guardedDeletes {
		t.Run(d.op, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			obj := b.put(t, "kept.txt", []byte("x"))
			ft := s3test.NewFaultTransport(nil)
			g := new(testGuard)
			o := s3test.Options(t)
			// A new client: its first request fetches the credentials.
			o.ConditionalDelete, o.HTTPClient = true, ft.Client()
			o.Credentials = staleOnRetrieve{o.Credentials, g}
			assertStale(t, d.del(g.on(t.Context()), s3test.NewClient(t, o), obj))
			if got := ft.Requests(); len(got) != 0 {
				t.Errorf("requests reached the HTTP client after signing under a stale guard: %v", got)
			}
			b.head(t, b.src, "kept.txt")
		})
	}
}

// TestSendGuardStaleWhileWaitingForConnection: the guard is fresh when the
// delete is signed, goes stale while the delete waits for the only
// connection the transport may open (another request holds it at the
// server), and the delete is then not written on that connection.
func TestSendGuardStaleWhileWaitingForConnection(t *testing.T) {
	t.Parallel()
	for _, d := range guardedDeletes {
		t.Run(d.op, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			obj := b.put(t, "kept.txt", []byte("x"))
			b.put(t, "busy.txt", []byte("y"))

			p := s3test.NewProxy(t, s3test.Endpoint())
			wire := new(s3test.Wire)
			tr := &http.Transport{MaxConnsPerHost: 1, DialContext: wire.DialContext}
			t.Cleanup(tr.CloseIdleConnections)
			o := s3test.Options(t)
			o.Endpoint, o.ConditionalDelete, o.HTTPClient = p.URL, true, &http.Client{Transport: tr}
			c := s3test.NewClient(t, o)

			holds := p.Hold(s3test.Once(s3test.Match("HeadObject", "busy.txt")))
			headDone := make(chan error, 1)
			go func() {
				_, err := c.Head(t.Context(), b.src, "busy.txt")
				headDone <- err
			}()
			busy := <-holds

			g := new(testGuard)
			waiting := make(chan struct{})
			var once sync.Once
			ctx := httptrace.WithClientTrace(g.on(t.Context()), &httptrace.ClientTrace{
				GetConn: func(string) { once.Do(func() { close(waiting) }) },
			})
			done := make(chan error, 1)
			go func() { done <- d.del(ctx, c, obj) }()
			<-waiting // signed, checked, and asking the transport for a connection
			g.stale.Store(true)
			busy.Release()

			assertStale(t, <-done)
			if err := <-headDone; err != nil {
				t.Fatalf("the request that held the connection: %v", err)
			}
			for _, r := range wire.Requests() {
				if strings.HasPrefix(r, d.op+" ") || strings.HasPrefix(r, "partial ") {
					t.Errorf("written on the connection under a stale guard: %q (all: %q)", r, wire.Requests())
				}
			}
			if n := g.calls.Load(); n != 2 {
				t.Errorf("the guard was asked %d times, want 2 (after signing, and with the connection in hand)", n)
			}
			b.head(t, b.src, "kept.txt")
		})
	}
}

// TestSendGuardFreshSends: a guard that stays fresh lets the delete go, once,
// and is asked at both moments.
func TestSendGuardFreshSends(t *testing.T) {
	t.Parallel()
	for _, d := range guardedDeletes {
		t.Run(d.op, func(t *testing.T) {
			t.Parallel()
			ft := s3test.NewFaultTransport(nil)
			b := setup(t, conditional, counting(ft))
			obj := b.put(t, "gone.txt", []byte("x"))
			before := countOps(ft, d.op)
			g := new(testGuard)
			if err := d.del(g.on(t.Context()), b.client, obj); err != nil {
				t.Fatalf("delete under a fresh guard: %v", err)
			}
			if n := countOps(ft, d.op) - before; n != 1 {
				t.Errorf("%d %s requests, want 1: %v", n, d.op, ft.Requests())
			}
			if n := g.calls.Load(); n != 2 {
				t.Errorf("the guard was asked %d times, want 2 (after signing, and with the connection in hand)", n)
			}
			if _, err := b.client.Head(t.Context(), b.src, "gone.txt"); !errors.Is(err, reconcile.ErrNotFound) {
				t.Errorf("the object after a delete under a fresh guard: %v, want ErrNotFound", err)
			}
		})
	}
}
