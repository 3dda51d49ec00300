package s3ops_test

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

func TestHead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := []byte("hello trash")
	before := time.Now().Add(-time.Minute)
	s3test.PutObject(t, b.s3, b.src, "dir/file.txt", body, func(in *s3.PutObjectInput) {
		in.StorageClass = types.StorageClassStandardIa
	})

	got := b.head(t, b.src, "dir/file.txt")
	sum := md5.Sum(body)
	want := reconcile.Object{
		Bucket:       b.src,
		Key:          "dir/file.txt",
		Size:         int64(len(body)),
		ETag:         hex.EncodeToString(sum[:]), // unquoted
		StorageClass: "STANDARD_IA",
	}
	lastModified := got.LastModified
	got.LastModified = time.Time{}
	if got != want {
		t.Errorf("Head = %+v\nwant %+v", got, want)
	}
	if lastModified.Before(before) || lastModified.After(time.Now().Add(time.Minute)) {
		t.Errorf("LastModified = %v, want about now", lastModified)
	}
}

func TestHeadMissing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// HEAD of a missing key is a bare 404 (no body, code "NotFound").
	_, err := b.client.Head(t.Context(), b.src, "no/such/key")
	if !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("Head of a missing key: %v, want ErrNotFound", err)
	}
}

// TestHeadChecksums pins that the server stores an object's additional
// checksum and returns it from HEAD (with ChecksumMode=ENABLED), for every
// algorithm Head reads.
func TestHeadChecksums(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := []byte("checksummed")
	for _, alg := range []types.ChecksumAlgorithm{
		types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme,
		types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256,
	} {
		t.Run(string(alg), func(t *testing.T) {
			out := s3test.PutObject(t, b.s3, b.src, "sum/"+string(alg), body, func(in *s3.PutObjectInput) {
				in.ChecksumAlgorithm = alg
			})
			got := b.head(t, b.src, "sum/"+string(alg))
			want := firstNonEmpty(out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256)
			if got.Checksum.Algorithm != string(alg) || got.Checksum.Value != want || want == "" {
				t.Errorf("Head checksum = %+v, want %s %q (as PutObject reported)", got.Checksum, alg, want)
			}
		})
	}
}

func firstNonEmpty(ss ...*string) string {
	for _, s := range ss {
		if s != nil && *s != "" {
			return *s
		}
	}
	return ""
}

// TestHeadVersion: HeadVersion reads exactly the version asked for, and
// answers ErrNotFound for every way a version can be missing: deleted,
// never there, or an ID the server refuses with a bare 400 (SeaweedFS, for
// a bucket without versioning; AWS, for a malformed ID).
func TestHeadVersion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	s3test.EnableVersioning(t, b.s3, b.src)
	sha := func(in *s3.PutObjectInput) { in.ChecksumAlgorithm = types.ChecksumAlgorithmSha256 }
	v1 := b.put(t, "doc.txt", []byte("first"), sha)
	v2 := b.put(t, "doc.txt", []byte("second, and longer"))
	if v1.Checksum.Algorithm != "SHA256" {
		t.Fatalf("v1 checksum %+v, want SHA256", v1.Checksum)
	}

	for _, tt := range []struct {
		version string
		want    reconcile.Object
	}{
		{v1.VersionID, v1}, // checksum included: ChecksumMode is on
		{v2.VersionID, v2},
		{"", v2},
	} {
		got, err := b.client.HeadVersion(ctx, b.src, "doc.txt", tt.version)
		if err != nil || got != tt.want {
			t.Errorf("HeadVersion(%q) = %+v, %v\nwant %+v", tt.version, got, err, tt.want)
		}
	}

	s3test.PutObject(t, b.s3, b.trash, "plain.txt", []byte("unversioned"))
	if _, err := b.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.src, Key: aws.String("doc.txt"), VersionId: &v1.VersionID}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, bucket, key, version string }{
		{"deleted version", b.src, "doc.txt", v1.VersionID},
		{"unknown version", b.src, "doc.txt", "0123456789abcdef0123456789abcdef"},
		{"missing key", b.src, "no/such/key", v2.VersionID},
		{"unversioned bucket", b.trash, "plain.txt", v2.VersionID},
		{"unversioned bucket, missing key", b.trash, "no/such/key", v2.VersionID},
	} {
		_, err := b.client.HeadVersion(ctx, tt.bucket, tt.key, tt.version)
		if !errors.Is(err, reconcile.ErrNotFound) {
			t.Errorf("%s: HeadVersion = %v, want ErrNotFound", tt.name, err)
		}
	}
}

// TestHeadVersionRefused: a 400 that is not about the version (the server
// refuses every HEAD of the key) is not taken for a missing version.
func TestHeadVersionRefused(t *testing.T) {
	t.Parallel()
	ft := s3test.NewFaultTransport(s3test.When(s3test.Match("HeadObject", "doc.txt"), s3test.Fault{Status: 400, Code: "AuthorizationHeaderMalformed"}))
	b := setup(t, counting(ft))
	s3test.EnableVersioning(t, b.s3, b.src)
	v := b.put(t, "other.txt", []byte("x"))
	_, err := b.client.HeadVersion(t.Context(), b.src, "doc.txt", v.VersionID)
	if errors.Is(err, reconcile.ErrNotFound) || !errors.Is(err, reconcile.ErrPermanent) {
		t.Errorf("HeadVersion = %v, want ErrPermanent, not ErrNotFound", err)
	}
}
