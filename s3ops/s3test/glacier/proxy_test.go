package glacier_test

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/s3ops/s3test"
	"trashd/s3ops/s3test/glacier"
)

// TestPassThrough: what the layer does not answer itself reaches the server
// as the client signed it and comes back as the server answered.
func TestPassThrough(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{})
	ctx := t.Context()
	const key = "odd keys/ü + 100%/a?b#c.txt"
	body := s3test.RandomBytes(3 << 20) // large enough for Expect: 100-continue
	s3test.PutObject(t, b.c, b.bucket, key, body, func(in *s3.PutObjectInput) {
		in.Metadata = map[string]string{"owner": "lms"}
	})
	if !bytes.Equal(s3test.Get(t, b.direct, b.bucket, key), body) {
		t.Fatal("object written through the layer differs on the server")
	}
	if !bytes.Equal(s3test.Get(t, b.c, b.bucket, key), body) {
		t.Fatal("object read through the layer differs")
	}

	head, err := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String(key)})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	if aws.ToInt64(head.ContentLength) != int64(len(body)) || head.Metadata["owner"] != "lms" || head.Restore != nil {
		t.Errorf("HEAD: length %d, metadata %v, restore %v", aws.ToInt64(head.ContentLength), head.Metadata, head.Restore)
	}

	ranged, err := b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String(key), Range: aws.String("bytes=10-19")})
	if err != nil {
		t.Fatalf("ranged GET: %v", err)
	}
	part, _ := io.ReadAll(ranged.Body)
	ranged.Body.Close()
	if !bytes.Equal(part, body[10:20]) {
		t.Errorf("ranged GET returned %x, want %x", part, body[10:20])
	}

	_, err = b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.bucket, Key: aws.String(key), IfNoneMatch: head.ETag})
	if httpStatus(err) != http.StatusNotModified {
		t.Errorf("conditional GET on the current ETag: %v, want 304", err)
	}

	big := s3test.RandomBytes(11 << 20)
	mp := s3test.PutMultipart(t, b.c, b.bucket, "multi/part", big, 5<<20)
	if !bytes.Equal(s3test.Get(t, b.direct, b.bucket, "multi/part"), big) {
		t.Error("multipart upload through the layer differs on the server")
	}

	if _, err := b.c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b.bucket, Key: aws.String("copy"),
		CopySource: aws.String(b.bucket + "/multi/part")}); err != nil {
		t.Fatalf("CopyObject of a STANDARD object: %v", err)
	}

	list, err := b.c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &b.bucket})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if want := []string{"copy", "multi/part", key}; !slices.Equal(keys, want) {
		t.Errorf("listed %q, want %q", keys, want)
	}

	if _, err := b.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.bucket, Key: aws.String(key)}); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	_, err = b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: aws.String(key)})
	wantError(t, "HEAD of the deleted object", err, http.StatusNotFound, "NotFound")
	if aws.ToString(mp.ETag) == "" {
		t.Error("CompleteMultipartUpload through the layer returned no ETag")
	}
}

// TestUnsignedRequestsRefused: what the layer answers itself it answers
// only to signed requests.
func TestUnsignedRequestsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, glacier.Config{})
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/" + b.bucket + "?lifecycle"},
		{http.MethodPut, "/" + b.bucket + "?lifecycle"},
		{http.MethodPost, "/" + b.bucket + "/k?restore"},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), r.method, b.layer.URL+r.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) {
			t.Errorf("unsigned %s %s: %d %s, want 403 AccessDenied", r.method, r.path, resp.StatusCode, body)
		}
	}
}
