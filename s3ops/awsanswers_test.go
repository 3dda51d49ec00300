package s3ops_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
	"trashd/s3ops"
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
	if ok, err := batchETag(t, c, b.trash); ok || err != nil {
		t.Errorf("batch_delete_etag: %v, %v; want not honoured, without an error", ok, err)
	}
	left, err := b.s3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(b.trash)})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Contents) != 0 {
		t.Errorf("the probe left %d objects behind", len(left.Contents))
	}
}

// TestCopyAWSConditionFailed plays AWS's 412 to a CopyObject with
// If-None-Match: * in place of SeaweedFS's: the copy fails with
// ErrPreconditionFailed, and not ErrDestinationExists, since one 412
// answers both of CopyObject's conditions (the source's ETag too); Copy and
// CopyOnce alike.
func TestCopyAWSConditionFailed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	src := b.put(t, "doc.pdf", []byte("the trashed file"))
	s3test.PutObject(t, b.s3, b.trash, "taken", []byte("a verified copy"))
	c, ft := faulty(t, s3test.When(s3test.Match("CopyObject", "taken"), s3test.AWSConditionFailed("If-None-Match")))
	noOverwrite := reconcile.CopyOptions{NoOverwrite: true}
	errs := map[string]error{"Copy": c.Copy(t.Context(), src, b.trash, "taken", noOverwrite)}
	_, errs["CopyOnce"] = c.CopyOnce(t.Context(), src, b.trash, "taken", noOverwrite)
	for name, err := range errs {
		if !errors.Is(err, reconcile.ErrPreconditionFailed) || errors.Is(err, s3ops.ErrDestinationExists) {
			t.Errorf("%s: %v, want ErrPreconditionFailed and not ErrDestinationExists", name, err)
		}
	}
	if n := requestsOf(ft, "CopyObject"); n != 4 {
		t.Errorf("%d CopyObject requests, want 4: for each copy, the direct request and the SDK's (no retry of a 412)", n)
	}
	if got := string(s3test.Get(t, b.s3, b.trash, "taken")); got != "a verified copy" {
		t.Errorf("the destination holds %q", got)
	}
}

// TestCopyPartsAWSConditionFailed plays AWS's 412 to the
// CompleteMultipartUpload with If-None-Match: * of a copy in parts, whose
// only condition it is: ErrDestinationExists, and the upload aborted.
func TestCopyPartsAWSConditionFailed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s3test.PutMultipart(t, b.s3, b.src, "big.bin", s3test.RandomBytes(11<<20), 5<<20)
	src := b.head(t, b.src, "big.bin")
	c, _ := faulty(t, s3test.When(s3test.Match("CompleteMultipartUpload", "taken"), s3test.AWSConditionFailed("If-None-Match")))
	err := c.Copy(t.Context(), src, b.trash, "taken", reconcile.CopyOptions{NoOverwrite: true})
	if !errors.Is(err, s3ops.ErrDestinationExists) {
		t.Errorf("Copy: %v, want ErrDestinationExists", err)
	}
	if uploads := s3test.Uploads(t, b.s3, b.trash); len(uploads) != 0 {
		t.Errorf("uploads %q left behind", uploads)
	}
	if _, err := b.client.Head(t.Context(), b.trash, "taken"); !errors.Is(err, reconcile.ErrNotFound) {
		t.Errorf("a refused copy left an object: %v", err)
	}
}

// TestProbeAWSConditionFailed: AWS's refusals of each condition, played
// in place of SeaweedFS's, are refusals to the probe: every condition
// Honoured, since the objects stay as they were.
func TestProbeAWSConditionFailed(t *testing.T) {
	t.Parallel()
	seed, bucket := probeBucket(t, false)
	c := newProber(t, func(r *http.Request) s3test.Fault {
		for cond, req := range probeRequest {
			if req.match(r) {
				if cond == reconcile.CondBatchDeleteETag {
					return s3test.Fault{EditResponse: refusedInWords(cond, r)}
				}
				return s3test.AWSConditionFailed(req.header)
			}
		}
		return s3test.Fault{}
	})
	caps, err := c.ProbeConditions(t.Context(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	assertAnswers(t, caps, nil)
	assertNothingLeft(t, seed, bucket)
}
