package s3test_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// TestServersMoveAnObject: on each server, through an s3ops client and
// NewBucket's bucket, what a move does: put, head, copy, delete.
func TestServersMoveAnObject(t *testing.T) {
	t.Parallel()
	servers.Each(t, func(t *testing.T, srv s3test.Server) {
		c := s3test.NewClientFor(t, srv)
		bucket := s3test.NewBucket(t, c.S3(), "servers-move")
		body := s3test.RandomBytes(64 << 10)
		sum := md5.Sum(body)
		const key = "course 7/notes ü+1.txt"
		s3test.PutObject(t, c.S3(), bucket, key, body)

		src, err := c.Head(t.Context(), bucket, key)
		if err != nil {
			t.Fatalf("Head: %v", err)
		}
		if src.Size != int64(len(body)) || src.ETag != hex.EncodeToString(sum[:]) {
			t.Errorf("Head = size %d ETag %s, want %d and %x", src.Size, src.ETag, len(body), sum)
		}
		if err := c.Copy(t.Context(), src, bucket, "trash/"+key, reconcile.CopyOptions{}); err != nil {
			t.Fatalf("Copy: %v", err)
		}
		cp, err := c.Head(t.Context(), bucket, "trash/"+key)
		if err != nil {
			t.Fatalf("Head of the copy: %v", err)
		}
		if cp.Size != src.Size || cp.ETag != src.ETag {
			t.Errorf("copy = size %d ETag %s, want %d and %s", cp.Size, cp.ETag, src.Size, src.ETag)
		}
		if !bytes.Equal(s3test.Get(t, c.S3(), bucket, "trash/"+key), body) {
			t.Error("the copy's bytes differ from the source's")
		}
		if err := c.Delete(t.Context(), src); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := c.Head(t.Context(), bucket, key); !errors.Is(err, reconcile.ErrNotFound) {
			t.Errorf("Head after Delete: %v, want ErrNotFound", err)
		}
	})
}

// TestMotoArchive: moto answers for an archived object as AWS does: the
// class kept, GET and copy refused, RestoreObject 202 then 200, and
// x-amz-restore in AWS's format, which s3ops reads as a finished restore.
func TestMotoArchive(t *testing.T) {
	t.Parallel()
	c := s3test.NewClientFor(t, servers.Moto(t))
	bucket := s3test.NewBucket(t, c.S3(), "moto-archive")
	body := []byte("archived bytes")
	s3test.PutObject(t, c.S3(), bucket, "cold.txt", body, func(in *s3.PutObjectInput) {
		in.StorageClass = types.StorageClassGlacier
	})

	obj, err := c.Head(t.Context(), bucket, "cold.txt")
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if obj.StorageClass != "GLACIER" || obj.Readable() {
		t.Errorf("Head = class %q, readable %v; want GLACIER, not readable", obj.StorageClass, obj.Readable())
	}
	_, err = c.S3().GetObject(t.Context(), &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("cold.txt")})
	if code := errorCode(err); code != "InvalidObjectState" {
		t.Errorf("GET of an archived object: %v, want InvalidObjectState", err)
	}
	_, err = c.S3().CopyObject(t.Context(), &s3.CopyObjectInput{
		Bucket: &bucket, Key: aws.String("copy.txt"), CopySource: aws.String(bucket + "/cold.txt"),
	})
	if code := errorCode(err); code != "ObjectNotInActiveTierError" {
		t.Errorf("copy of an archived object: %v, want ObjectNotInActiveTierError", err)
	}

	if got := restoreStatus(t, c.S3(), bucket, "cold.txt"); got != 202 {
		t.Errorf("first RestoreObject answered %d, want 202 Accepted", got)
	}
	head, err := c.S3().HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("cold.txt")})
	if err != nil {
		t.Fatalf("HEAD after the restore: %v", err)
	}
	if r := aws.ToString(head.Restore); !strings.HasPrefix(r, `ongoing-request="false", expiry-date="`) {
		t.Errorf("x-amz-restore = %q, want a finished restore in AWS's format", r)
	}
	obj, err = c.Head(t.Context(), bucket, "cold.txt")
	if err != nil {
		t.Fatalf("Head after the restore: %v", err)
	}
	if !obj.Readable() || obj.Restore.Expiry.IsZero() {
		t.Errorf("s3ops reads the restore as %+v, readable %v; want finished, with an expiry", obj.Restore, obj.Readable())
	}
	if !bytes.Equal(s3test.Get(t, c.S3(), bucket, "cold.txt"), body) {
		t.Error("the restored object's bytes differ")
	}
	if got := restoreStatus(t, c.S3(), bucket, "cold.txt"); got != 200 {
		t.Errorf("RestoreObject of a restored object answered %d, want 200", got)
	}
}

// restoreStatus asks for a one-day Standard restore of bucket/key and
// returns the HTTP status of the answer.
func restoreStatus(t *testing.T, c *s3.Client, bucket, key string) int {
	t.Helper()
	out, err := c.RestoreObject(t.Context(), &s3.RestoreObjectInput{
		Bucket: &bucket, Key: &key,
		RestoreRequest: &types.RestoreRequest{
			Days:                 aws.Int32(1),
			GlacierJobParameters: &types.GlacierJobParameters{Tier: types.TierStandard},
		},
	})
	if err != nil {
		t.Fatalf("RestoreObject s3://%s/%s: %v", bucket, key, err)
	}
	resp, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response)
	if !ok {
		t.Fatal("RestoreObject: no raw HTTP response in its metadata")
	}
	return resp.StatusCode
}

func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return fmt.Sprint(err)
}

// TestServersStartOnce: a package's tests share one moto and one versitygw.
func TestServersStartOnce(t *testing.T) {
	t.Parallel()
	for name, get := range map[string]func(testing.TB) s3test.Server{"moto": servers.Moto, "versitygw": servers.VersityGW} {
		first, again := get(t), get(t)
		if first.Endpoint != again.Endpoint || first.Name != name {
			t.Errorf("%s: %+v, then %+v; want one server named %s", name, first, again, name)
		}
	}
}

// TestSkipUnlessNamesServerAndFeature: a test is skipped, saying on which
// server and for want of what, only where the feature is missing.
func TestSkipUnlessNamesServerAndFeature(t *testing.T) {
	t.Parallel()
	srv := s3test.Server{Name: "versitygw", Features: []s3test.Feature{s3test.FeatureVersioning}}
	for _, tc := range []struct {
		feature s3test.Feature
		want    string // the skip message; "" means not skipped
	}{
		{s3test.FeatureVersioning, ""},
		{s3test.FeatureStorageClass, "skipped on versitygw: it lacks storage classes kept on PUT and copy"},
	} {
		rec := &skipRecorder{TB: t}
		s3test.SkipUnless(rec, srv, tc.feature)
		if rec.skipped != tc.want {
			t.Errorf("SkipUnless(%s): skip message %q, want %q", tc.feature, rec.skipped, tc.want)
		}
	}
}

// skipRecorder records a Skipf instead of ending the test.
type skipRecorder struct {
	testing.TB
	skipped string
}

func (r *skipRecorder) Skipf(format string, args ...any) { r.skipped = fmt.Sprintf(format, args...) }
