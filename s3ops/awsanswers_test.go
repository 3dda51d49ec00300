package s3ops_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// AWS's own answers (s3test/aws.go), played through the fault layer where
// SeaweedFS answers otherwise.

// TestDeleteBatchAWSPreconditionFailed plays AWS's answer to a batch in
// which one object's ETag no longer matches, in place of SeaweedFS's
// answer to the same batch.
func TestDeleteBatchAWSPreconditionFailed(t *testing.T) {
	t.Parallel()
	b := setup(t, conditional)
	ok := b.put(t, "ok.txt", []byte("as copied"))
	stale := b.put(t, "changed.txt", []byte("as copied"))
	b.put(t, "changed.txt", []byte("overwritten since"))
	answer := s3test.DeleteResult{
		Deleted: []s3test.DeleteEntry{{Key: "ok.txt"}},
		Errors:  []s3test.DeleteEntry{s3test.AWSPreconditionFailed("changed.txt")},
	}
	c, _ := faulty(t, s3test.When(s3test.Match("DeleteObjects", ""), s3test.Fault{EditResponse: s3test.Respond(http.StatusOK, answer.Body())}))
	errs := c.DeleteBatch(t.Context(), b.src, []reconcile.Object{ok, stale})
	if errs[0] != nil || !errors.Is(errs[1], reconcile.ErrPreconditionFailed) {
		t.Errorf("DeleteBatch: %v, want nil and ErrPreconditionFailed", errs)
	}
	b.assertGone(t, "ok.txt")
	b.assertKept(t, "changed.txt", "overwritten since")
}

// TestDeleteBatchAWSMalformedXML: a server that predates the per-object
// ETag refuses a conditional batch as a whole with AWS's MalformedXML;
// every object gets ErrBatchFailed (and no sentinel of its own), and the
// probe of batched delete conditions answers no, without an error.
func TestDeleteBatchAWSMalformedXML(t *testing.T) {
	t.Parallel()
	b := setup(t, conditional)
	objs := []reconcile.Object{b.put(t, "one", []byte("1")), b.put(t, "two", []byte("2"))}
	c, _ := faulty(t, s3test.When(s3test.Match("DeleteObjects", ""), s3test.AWSMalformedXML))
	for i, err := range c.DeleteBatch(t.Context(), b.src, objs) {
		if !errors.Is(err, reconcile.ErrBatchFailed) || errors.Is(err, reconcile.ErrPreconditionFailed) || errors.Is(err, reconcile.ErrNotFound) {
			t.Errorf("object %d: %v, want ErrBatchFailed alone", i, err)
		}
	}
	b.assertKept(t, "one", "1")
	b.assertKept(t, "two", "2")
	if ok, err := c.BatchConditions(t.Context(), b.trash); ok || err != nil {
		t.Errorf("BatchConditions: %v, %v; want false without an error", ok, err)
	}
	left, err := b.s3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(b.trash)})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Contents) != 0 {
		t.Errorf("the probe left %d objects behind", len(left.Contents))
	}
}
