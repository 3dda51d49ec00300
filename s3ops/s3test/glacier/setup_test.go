package glacier_test

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"trashd/s3ops/s3test"
	"trashd/s3ops/s3test/glacier"
)

// testBundle is a layer in front of the test server, a bucket of the test's
// own, a client through the layer and one straight to the server.
type testBundle struct {
	layer  *glacier.Server
	c      *s3.Client // through the layer
	direct *s3.Client // straight to the server
	bucket string
	clock  *glacier.Clock
}

// setup starts a layer for cfg on a clock that runs with real time until
// the test moves it on.
func setup(t *testing.T, cfg glacier.Config) *testBundle {
	t.Helper()
	direct := s3test.NewClient(t, s3test.Options(t)).S3()
	// Made before the layer starts, the bucket is removed after it stops.
	bucket := s3test.NewBucket(t, direct, "glacier")
	clk := glacier.NewClock()
	cfg.Clock = clk
	layer := glacier.Start(t, cfg)
	o := s3test.Options(t)
	o.Endpoint = layer.URL
	o.RetryMaxAttempts = 1
	return &testBundle{layer: layer, c: s3test.NewClient(t, o).S3(), direct: direct, bucket: bucket, clock: clk}
}

func (b *testBundle) sweep(t *testing.T) {
	t.Helper()
	if err := b.layer.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
}

// putLifecycle sets rules on the test's bucket through the layer.
func (b *testBundle) putLifecycle(t *testing.T, rules ...types.LifecycleRule) {
	t.Helper()
	if _, err := b.c.PutBucketLifecycleConfiguration(t.Context(), &s3.PutBucketLifecycleConfigurationInput{
		Bucket:                 aws.String(b.bucket),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: rules},
	}); err != nil {
		t.Fatalf("put lifecycle on %s: %v", b.bucket, err)
	}
}

// head HEADs key straight on the server.
func (b *testBundle) head(t *testing.T, key string) *s3.HeadObjectOutput {
	t.Helper()
	out, err := b.direct.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(b.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("head %s: %v", key, err)
	}
	return out
}

// class is key's storage class as the server reports it ("STANDARD" for
// none).
func (b *testBundle) class(t *testing.T, key string) string {
	t.Helper()
	return cmp.Or(string(b.head(t, key).StorageClass), "STANDARD")
}

// putClass uploads body to key straight on the server, in class.
func (b *testBundle) putClass(t *testing.T, key string, body []byte, class types.StorageClass) {
	t.Helper()
	s3test.PutObject(t, b.direct, b.bucket, key, body, func(in *s3.PutObjectInput) { in.StorageClass = class })
	if got := b.class(t, key); got != string(class) {
		t.Fatalf("%s was put as %s but is %s", key, class, got)
	}
}

// raw sends a request signed for the layer, as a client that builds its
// own would, and returns the answer and its body.
func (b *testBundle) raw(t *testing.T, method, pathQuery string, body []byte, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, b.layer.URL+pathQuery, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	access, secret := credentials()
	if err := v4.NewSigner().SignHTTP(t.Context(), aws.Credentials{AccessKeyID: access, SecretAccessKey: secret},
		req, hash, "s3", s3test.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, pathQuery, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

func credentials() (access, secret string) {
	return cmp.Or(os.Getenv("TRASHD_TEST_S3_ACCESS_KEY"), s3test.DefaultAccessKey),
		cmp.Or(os.Getenv("TRASHD_TEST_S3_SECRET_KEY"), s3test.DefaultSecretKey)
}

// errorCode is the S3 error code of err, as the SDK's callers see it.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// httpStatus is the HTTP status of an SDK error.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// wantError fails the test unless err is an S3 error with status and code.
func wantError(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	if got, gotStatus := errorCode(err), httpStatus(err); got != code || gotStatus != status {
		t.Errorf("%s: %v; want %d %s", what, err, status, code)
	}
}
