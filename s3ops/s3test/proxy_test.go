package s3test_test

import (
	"bytes"
	"errors"
	"testing"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// proxied returns a client that talks to the test server through a Proxy,
// and a plain one for checking.
func proxied(t *testing.T, set ...func(*s3ops.Options)) (*s3test.Proxy, *s3ops.Client, *s3ops.Client) {
	t.Helper()
	p := s3test.NewProxy(t, s3test.Endpoint())
	o := s3test.Options(t)
	o.Endpoint = p.URL
	for _, f := range set {
		f(&o)
	}
	return p, s3test.NewClient(t, o), s3test.NewClient(t, s3test.Options(t))
}

// TestProxyForwardsSignedRequests: requests signed for the proxy's host
// pass the server's SigV4 check, bodies included (a multi-MiB PUT goes
// with Expect: 100-continue), and odd keys keep their encoding.
func TestProxyForwardsSignedRequests(t *testing.T) {
	t.Parallel()
	_, c, direct := proxied(t)
	bucket := s3test.NewBucket(t, c.S3(), "proxy-fwd")
	body := s3test.RandomBytes(3 << 20)
	const key = "odd keys/ü + 100%/a?b#c.txt"
	s3test.PutObject(t, c.S3(), bucket, key, body)
	if !bytes.Equal(s3test.Get(t, direct.S3(), bucket, key), body) {
		t.Fatal("object written through the proxy differs")
	}
	src, err := c.Head(t.Context(), bucket, key)
	if err != nil {
		t.Fatalf("Head through the proxy: %v", err)
	}
	if err := c.Copy(t.Context(), src, bucket, "copy/"+key, reconcile.CopyOptions{}); err != nil {
		t.Fatalf("Copy through the proxy: %v", err)
	}
	if !bytes.Equal(s3test.Get(t, direct.S3(), bucket, "copy/"+key), body) {
		t.Error("copy made through the proxy differs")
	}
}

// TestProxyHoldsDeleteUntilReleased: the first DELETE of an object is held
// (the object still exists meanwhile), announced, and then released.
func TestProxyHoldsDeleteUntilReleased(t *testing.T) {
	t.Parallel()
	p, c, direct := proxied(t)
	bucket := s3test.NewBucket(t, direct.S3(), "proxy-hold")
	s3test.PutObject(t, direct.S3(), bucket, "doomed.txt", []byte("x"))
	obj, err := direct.Head(t.Context(), bucket, "doomed.txt")
	if err != nil {
		t.Fatal(err)
	}
	holds := p.Hold(s3test.Once(s3test.Match("DeleteObject", "doomed.txt")))

	done := make(chan error, 1)
	go func() { done <- c.Delete(t.Context(), obj) }()
	h := <-holds
	if h.Operation != "DeleteObject" || h.Bucket != bucket || h.Key != "doomed.txt" {
		t.Errorf("held %+v, want the DELETE of %s/doomed.txt", h, bucket)
	}
	if _, err := direct.Head(t.Context(), bucket, "doomed.txt"); err != nil {
		t.Fatalf("object gone while its DELETE was held: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("Delete returned while held: %v", err)
	default:
	}
	h.Release()
	if err := <-done; err != nil {
		t.Fatalf("Delete after release: %v", err)
	}
	if _, err := direct.Head(t.Context(), bucket, "doomed.txt"); !errors.Is(err, reconcile.ErrNotFound) {
		t.Errorf("object still there after the released DELETE: %v", err)
	}
}

// TestProxyDropsConnection: a dropped request reaches the client as a lost
// connection (transient once the SDK's retries are spent) and the server
// never sees it.
func TestProxyDropsConnection(t *testing.T) {
	t.Parallel()
	p, c, direct := proxied(t, func(o *s3ops.Options) { o.RetryMaxAttempts = 1 })
	bucket := s3test.NewBucket(t, direct.S3(), "proxy-drop")
	s3test.PutObject(t, direct.S3(), bucket, "kept.txt", []byte("x"))
	obj, err := direct.Head(t.Context(), bucket, "kept.txt")
	if err != nil {
		t.Fatal(err)
	}
	holds := p.Hold(s3test.Match("DeleteObject", "kept.txt"))
	done := make(chan error, 1)
	go func() { done <- c.Delete(t.Context(), obj) }()
	(<-holds).Drop()
	if err := <-done; !errors.Is(err, reconcile.ErrTransient) {
		t.Errorf("Delete over a dropped connection: %v, want ErrTransient", err)
	}
	if _, err := direct.Head(t.Context(), bucket, "kept.txt"); err != nil {
		t.Errorf("object gone although its DELETE was dropped: %v", err)
	}
}

func TestProxyFails(t *testing.T) {
	t.Parallel()
	p, c, direct := proxied(t, func(o *s3ops.Options) { o.RetryMaxAttempts = 1 })
	bucket := s3test.NewBucket(t, direct.S3(), "proxy-fail")
	holds := p.Hold(s3test.Match("HeadObject", "x"))
	// Every HEAD of x is answered so: the client's direct request, and the
	// SDK's that follows a failure of it.
	go func() {
		for {
			select {
			case h := <-holds:
				h.Fail(503, "SlowDown", "Please reduce your request rate.")
			case <-t.Context().Done():
				return
			}
		}
	}()
	if _, err := c.Head(t.Context(), bucket, "x"); !errors.Is(err, reconcile.ErrTransient) {
		t.Errorf("Head answered 503 by the proxy: %v, want ErrTransient", err)
	}
}
