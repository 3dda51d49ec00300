package s3test_test

import (
	"bytes"
	"errors"
	"net/http"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/s3ops/s3test"
)

func TestFaultTransportHoldsAndReleases(t *testing.T) {
	t.Parallel()
	held := make(chan struct{})
	release := make(chan struct{})
	first := s3test.Once(s3test.Match("PutObject", "held.txt"))
	ft := s3test.NewFaultTransport(func(r *http.Request) s3test.Fault {
		if first(r) {
			close(held)
			return s3test.Fault{Release: release}
		}
		return s3test.Fault{}
	})
	o := s3test.Options(t)
	o.HTTPClient = ft.Client()
	c := s3test.NewClient(t, o).S3()
	bucket := s3test.NewBucket(t, c, "fault-hold")

	done := make(chan error, 1)
	go func() {
		_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("held.txt"), Body: bytes.NewReader([]byte("x"))})
		done <- err
	}()
	<-held
	select {
	case err := <-done:
		t.Fatalf("PutObject finished while held: %v", err)
	default:
	}
	if _, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("held.txt")}); err == nil {
		t.Fatal("the held PUT reached the server")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("PutObject after release: %v", err)
	}
	if got := string(s3test.Get(t, c, bucket, "held.txt")); got != "x" {
		t.Errorf("object holds %q, want %q", got, "x")
	}
}

func TestFaultTransportFails(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(s3test.When(s3test.Match("HeadObject", "reset"), s3test.Fault{Err: syscall.ECONNRESET}))
	o := s3test.Options(t)
	o.HTTPClient = ft.Client()
	o.RetryMaxAttempts = 2
	c := s3test.NewClient(t, o).S3()
	bucket := s3test.NewBucket(t, c, "fault-fail")
	_, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("reset")})
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("HeadObject: %v, want ECONNRESET", err)
	}
	var heads int
	for _, r := range ft.Requests() {
		if r == "HeadObject "+bucket+"/reset" {
			heads++
		}
	}
	if heads != 2 {
		t.Errorf("%d HEADs, want 2 (the SDK retries a reset connection): %v", heads, ft.Requests())
	}
}

// TestFaultTransportLosesResponse: the request reaches the server and takes
// effect; the client sees only the broken connection.
func TestFaultTransportLosesResponse(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(s3test.When(s3test.Match("PutObject", "lost.txt"), s3test.Fault{LoseResponse: syscall.ECONNRESET}))
	o := s3test.Options(t)
	o.HTTPClient = ft.Client()
	o.RetryMaxAttempts = 1
	c := s3test.NewClient(t, o).S3()
	seed := s3test.NewClient(t, s3test.Options(t)).S3()
	bucket := s3test.NewBucket(t, seed, "fault-lose")
	_, err := c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("lost.txt"), Body: bytes.NewReader([]byte("applied"))})
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("PutObject: %v, want ECONNRESET", err)
	}
	if got := string(s3test.Get(t, seed, bucket, "lost.txt")); got != "applied" {
		t.Errorf("object holds %q, want the PUT applied", got)
	}
}

// TestFaultTransportEditsResponse: the client reads the response as edited.
func TestFaultTransportEditsResponse(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(s3test.When(s3test.Match("HeadObject", "edited.txt"), s3test.Fault{EditResponse: func(r *http.Response) {
		r.Header.Set("X-Amz-Meta-Edited", "yes")
	}}))
	o := s3test.Options(t)
	o.HTTPClient = ft.Client()
	c := s3test.NewClient(t, o).S3()
	bucket := s3test.NewBucket(t, c, "fault-edit")
	s3test.PutObject(t, c, bucket, "edited.txt", []byte("x"))
	out, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("edited.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Metadata["edited"]; got != "yes" {
		t.Errorf("metadata %v, want edited=yes from the edited response", out.Metadata)
	}
}

func TestBucketName(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "Test_Copy/Odd Keys", "a-very-long-prefix-that-goes-on-and-on-and-on-and-on-and-on-and-on"} {
		name := s3test.BucketName(prefix)
		if len(name) < 3 || len(name) > 63 || name != string(bytes.ToLower([]byte(name))) {
			t.Errorf("BucketName(%q) = %q: not a valid bucket name", prefix, name)
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				t.Errorf("BucketName(%q) = %q: invalid character %q", prefix, name, r)
			}
		}
	}
	if s3test.BucketName("x") == s3test.BucketName("x") {
		t.Error("BucketName is not unique")
	}
}
