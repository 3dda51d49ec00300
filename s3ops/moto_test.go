package s3ops_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// TestMotoArchiveAnswers: moto's own answers for archived objects (an
// implementation of AWS's Glacier behaviour independent of the project's
// emulation) mean to s3ops what AWS's do: HEAD reads GLACIER as archived
// and unreadable; a copy of it, refused with ObjectNotInActiveTierError,
// is ErrArchived (not access denied); RestoreObject is accepted, and again
// once done; the restored object is readable and copies; a restore of an
// object that is not archived is ErrNotArchived.
func TestMotoArchiveAnswers(t *testing.T) {
	t.Parallel()
	srv := servers.Moto(t)
	c := s3test.NewClientFor(t, srv)
	bucket := s3test.NewBucket(t, c.S3(), "s3ops-moto-archive")
	body := []byte("archived on moto")
	s3test.PutObject(t, c.S3(), bucket, "cold.pdf", body, func(in *s3.PutObjectInput) {
		in.StorageClass = types.StorageClassGlacier
	})
	obj, err := c.Head(t.Context(), bucket, "cold.pdf")
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if !obj.Archived() || obj.Readable() {
		t.Fatalf("Head = %+v: want archived, not readable", obj)
	}

	err = c.Copy(t.Context(), obj, bucket, "back.pdf", reconcile.CopyOptions{StorageClass: "STANDARD"})
	if !errors.Is(err, reconcile.ErrArchived) || errors.Is(err, reconcile.ErrPermanent) {
		t.Errorf("Copy of the archived object: %v; want ErrArchived (moto answers ObjectNotInActiveTierError), nothing permanent", err)
	}

	for i := range 2 { // 202, then 200 for a restored copy: both accepted
		if err := c.Restore(t.Context(), obj, 1, "Standard"); err != nil {
			t.Fatalf("Restore #%d: %v", i+1, err)
		}
	}
	obj, err = c.Head(t.Context(), bucket, "cold.pdf")
	if err != nil {
		t.Fatalf("Head after the restore: %v", err)
	}
	if !obj.Readable() || obj.Restore.Expiry.IsZero() {
		t.Fatalf("Head after the restore = %+v: want readable, with the restore's expiry", obj.Restore)
	}
	if err := c.Copy(t.Context(), obj, bucket, "back.pdf", reconcile.CopyOptions{StorageClass: "STANDARD", NoOverwrite: true, NoOverwriteByHead: true}); err != nil {
		t.Fatalf("Copy of the restored object: %v", err)
	}
	back, err := c.Head(t.Context(), bucket, "back.pdf")
	if err != nil {
		t.Fatalf("Head of the copy: %v", err)
	}
	if back.StorageClass != "" && back.StorageClass != "STANDARD" {
		t.Errorf("the copy back is in %q, want STANDARD", back.StorageClass)
	}
	if !bytes.Equal(s3test.Get(t, c.S3(), bucket, "back.pdf"), body) {
		t.Error("the copy back holds other bytes")
	}

	err = c.Restore(t.Context(), back, 1, "Standard")
	if !errors.Is(err, s3ops.ErrNotArchived) || !errors.Is(err, reconcile.ErrPermanent) {
		t.Errorf("Restore of a STANDARD object: %v; want ErrNotArchived", err)
	}
}
