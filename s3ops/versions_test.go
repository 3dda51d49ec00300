package s3ops_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// KeyVersions lists exactly one key's versions and delete markers, newest
// first, in their order between each other, and not the versions of keys
// that begin with it.
func TestKeyVersions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s3test.EnableVersioning(t, b.s3, b.src)
	const key = "docs/report.pdf"
	s3test.PutObject(t, b.s3, b.src, "docs/report", []byte("a key before it"))
	v1 := s3test.PutObject(t, b.s3, b.src, key, []byte("one"))
	v2 := s3test.PutObject(t, b.s3, b.src, key, []byte("two, longer"))
	del, err := b.s3.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: aws.String(b.src), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	v3 := s3test.PutObject(t, b.s3, b.src, key, []byte("three"))
	for _, other := range []string{key + ".bak", key + "/inside"} {
		s3test.PutObject(t, b.s3, b.src, other, []byte("another key"))
	}

	want := []string{aws.ToString(v3.VersionId), aws.ToString(del.VersionId), aws.ToString(v2.VersionId), aws.ToString(v1.VersionId)}
	got, err := b.client.KeyVersions(t.Context(), b.src, key, 10)
	if err != nil {
		t.Fatalf("KeyVersions: %v", err)
	}
	if ids := versionIDs(got); !slices.Equal(ids, want) {
		t.Fatalf("KeyVersions = %v, want %v (newest first, the delete marker in its place)", ids, want)
	}
	if !got[1].DeleteMarker || got[0].DeleteMarker || got[2].Size != int64(len("two, longer")) || got[2].ETag != unquoted(v2.ETag) {
		t.Errorf("entries %+v: want the delete marker marked, and each version's size and ETag", got)
	}
	if got, err := b.client.KeyVersions(t.Context(), b.src, key, 2); err != nil || !slices.Equal(versionIDs(got), want[:2]) {
		t.Errorf("KeyVersions with limit 2 = %v, %v; want %v", versionIDs(got), err, want[:2])
	}
	if got, err := b.client.KeyVersions(t.Context(), b.src, "docs/none", 10); err != nil || len(got) != 0 {
		t.Errorf("KeyVersions of a key without versions = %+v, %v; want none", got, err)
	}
}

func versionIDs(vs []reconcile.KeyVersion) []string {
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.VersionID
	}
	return ids
}

func unquoted(etag *string) string {
	s := aws.ToString(etag)
	if len(s) >= 2 && s[0] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
