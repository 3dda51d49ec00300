package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// NewBucket creates a bucket with a unique name that starts with prefix and
// removes it when the test ends, with every object version, delete marker
// and unfinished multipart upload in it. The first in a test process first
// removes the test buckets earlier runs left behind and checks that
// SeaweedFS has room (room.go): the test fails, saying what to do, if it
// has not.
func NewBucket(tb testing.TB, c *s3.Client, prefix string) string {
	tb.Helper()
	if err := checkRoom(tb); err != nil {
		tb.Fatalf("%v", err)
	}
	name := BucketName(prefix)
	if _, err := c.CreateBucket(tb.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		if unreachable(err) {
			// The client may be moto's or versitygw's, which Servers
			// started; SeaweedFS is the one a developer starts by hand.
			tb.Fatalf("S3 test server not reachable at %s (SeaweedFS: run scripts/dev-up.sh, as make test does): %v",
				aws.ToString(c.Options().BaseEndpoint), err)
		}
		tb.Fatalf("create bucket %s: %v", name, err)
	}
	tb.Cleanup(func() {
		// The test's context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := RemoveBucket(ctx, c, name); err != nil {
			tb.Errorf("remove bucket %s: %v", name, err)
		}
	})
	return name
}

// BucketName returns a unique, valid bucket name (lowercase letters, digits
// and hyphens, at most 63 bytes) that starts with prefix, cleaned up, and
// ends with 12 hex digits. With TRASHD_TEST_BUCKET_TAG set, the name starts
// with the tag instead, then the prefix: a run's buckets can be told from
// every other run's (scripts/check-test-buckets.sh counts what a run left).
func BucketName(prefix string) string {
	if tag := os.Getenv("TRASHD_TEST_BUCKET_TAG"); tag != "" {
		prefix = tag + "-" + prefix
	}
	var b strings.Builder
	for _, r := range strings.ToLower(prefix) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	p := strings.Trim(b.String(), "-")
	if len(p) > 40 {
		p = strings.TrimRight(p[:40], "-")
	}
	if p == "" {
		p = "trashd-test"
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	return p + "-" + hex.EncodeToString(suffix)
}

// RemoveBucket aborts the bucket's multipart uploads, deletes every object
// version and delete marker in it, and deletes the bucket.
func RemoveBucket(ctx context.Context, c *s3.Client, bucket string) error {
	uploads := s3.NewListMultipartUploadsPaginator(c, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	for uploads.HasMorePages() {
		page, err := uploads.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, u := range page.Uploads {
			if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
				Bucket: aws.String(bucket), Key: u.Key, UploadId: u.UploadId,
			}); err != nil && !isCode(err, "NoSuchUpload") {
				return err
			}
		}
	}
	versions := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	for versions.HasMorePages() {
		page, err := versions.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, v := range page.Versions {
			if err := deleteVersion(ctx, c, bucket, v.Key, v.VersionId); err != nil {
				return err
			}
		}
		for _, m := range page.DeleteMarkers {
			if err := deleteVersion(ctx, c, bucket, m.Key, m.VersionId); err != nil {
				return err
			}
		}
	}
	_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	return err
}

func deleteVersion(ctx context.Context, c *s3.Client, bucket string, key, version *string) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: key}
	// An unversioned bucket lists its objects with the version "null",
	// which names exactly the one object there is.
	if v := aws.ToString(version); v != "" {
		in.VersionId = version
	}
	_, err := c.DeleteObject(ctx, in)
	return err
}

// EnableVersioning turns on versioning for bucket.
func EnableVersioning(tb testing.TB, c *s3.Client, bucket string) {
	tb.Helper()
	if _, err := c.PutBucketVersioning(tb.Context(), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	}); err != nil {
		tb.Fatalf("enable versioning on %s: %v", bucket, err)
	}
}

// unreachable reports whether err means nothing answered at the endpoint.
func unreachable(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "no such host") ||
		strings.Contains(s, "i/o timeout") || strings.Contains(s, "connection reset")
}

func isCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}
