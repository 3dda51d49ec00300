package s3ops_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

func TestCheckBucket(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if err := b.client.CheckBucket(t.Context(), b.trash); err != nil {
		t.Errorf("CheckBucket of an existing bucket: %v", err)
	}

	missing := s3test.BucketName("no-such-bucket")
	err := b.client.CheckBucket(t.Context(), missing)
	if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), missing) ||
		!strings.Contains(err.Error(), "create it") || !strings.Contains(err.Error(), "TRASHD_") {
		t.Errorf("CheckBucket of a missing bucket: %v, want ErrPermanent naming it and saying to create it or fix the TRASHD_ variable", err)
	}

	o := s3test.Options(t)
	o.Credentials = credentials.NewStaticCredentialsProvider("no-such-key", "whatever", "")
	err = s3test.NewClient(t, o).CheckBucket(t.Context(), b.trash)
	if !errors.Is(err, reconcile.ErrPermanent) || !strings.Contains(err.Error(), "credentials cannot reach") {
		t.Errorf("CheckBucket with wrong credentials: %v, want ErrPermanent saying the credentials cannot reach it", err)
	}
}
