package s3ops_test

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"testing"
	"time"

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
