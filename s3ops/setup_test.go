package s3ops_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// testBundle is what most tests need: a client and a source and a trash
// bucket of their own on the test server.
type testBundle struct {
	client *s3ops.Client
	s3     *s3.Client // for seeding and checking, without faults
	src    string
	trash  string
}

// setup builds a bundle; opts adjust the client's options (the seeding
// client always uses the plain test options).
func setup(t *testing.T, opts ...func(*s3ops.Options)) *testBundle {
	t.Helper()
	seed := s3test.NewClient(t, s3test.Options(t)).S3()
	o := s3test.Options(t)
	for _, f := range opts {
		f(&o)
	}
	return &testBundle{
		client: s3test.NewClient(t, o),
		s3:     seed,
		src:    s3test.NewBucket(t, seed, "s3ops-src"),
		trash:  s3test.NewBucket(t, seed, "s3ops-trash"),
	}
}

// head HEADs bucket/key through the client under test, failing the test on
// an error.
func (b *testBundle) head(t *testing.T, bucket, key string) reconcile.Object {
	t.Helper()
	obj, err := b.client.Head(t.Context(), bucket, key)
	if err != nil {
		t.Fatalf("Head(%s, %.40q): %v", bucket, key, err)
	}
	return obj
}

// put uploads body to the source bucket and returns its HEAD.
func (b *testBundle) put(t *testing.T, key string, body []byte, opts ...func(*s3.PutObjectInput)) reconcile.Object {
	t.Helper()
	s3test.PutObject(t, b.s3, b.src, key, body, opts...)
	return b.head(t, b.src, key)
}

// assertProvableCopy fails the test unless copy has src's size
// and an equal ETag or checksum: what the verifier will demand.
func assertProvableCopy(t *testing.T, src, copy reconcile.Object) {
	t.Helper()
	if copy.Size != src.Size {
		t.Errorf("copy size = %d, want %d", copy.Size, src.Size)
	}
	sameETag := copy.ETag == src.ETag
	sameSum := src.Checksum.Algorithm != "" && copy.Checksum == src.Checksum
	if !sameETag && !sameSum {
		t.Errorf("copy cannot be proven: ETag %s vs %s, checksum %+v vs %+v", copy.ETag, src.ETag, copy.Checksum, src.Checksum)
	}
}
