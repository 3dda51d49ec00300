package s3ops_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
	"trashd/s3ops"
	"trashd/s3ops/s3test"
)

// TestCopyOnceReportsTheCopy pins what the fast path proves a copy by: the
// response to one CopyObject carries the copy's ETag, equal to a
// single-part source's, for odd keys and empty objects alike; and a checksum,
// where the server reports one (AWS does, SeaweedFS does not), equal to the
// source's.
func TestCopyOnceReportsTheCopy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		key  string
		body []byte
		alg  types.ChecksumAlgorithm
	}{
		{"plain.txt", s3test.RandomBytes(4096), ""},
		{"empty", nil, ""},
		{"sum/crc64", s3test.RandomBytes(1000), "CRC64NVME"},
		{"sum/crc32", s3test.RandomBytes(1000), "CRC32"},
		{"sum/sha256", s3test.RandomBytes(1000), "SHA256"},
		{"odd/a b+c%20d&e=f?g#h ünï.pdf", []byte("odd"), ""},
	}
	for _, c := range cases {
		src := b.put(t, c.key, c.body, func(in *s3.PutObjectInput) { in.ChecksumAlgorithm = c.alg })
		rep, err := b.client.CopyOnce(t.Context(), src, b.trash, c.key, reconcile.CopyOptions{NoOverwrite: true})
		if err != nil {
			t.Fatalf("CopyOnce(%q): %v", c.key, err)
		}
		if rep.ETag != src.ETag {
			t.Errorf("%q: the response's ETag %q, the source's %q", c.key, rep.ETag, src.ETag)
		}
		// AWS reports the checksum it computed; SeaweedFS reports none.
		if rep.Checksum.Value != "" && rep.Checksum != src.Checksum {
			t.Errorf("%q: the response's checksum %+v, the source's %+v", c.key, rep.Checksum, src.Checksum)
		}
		if got := b.head(t, b.trash, c.key); got.ETag != rep.ETag || got.Size != src.Size {
			t.Errorf("%q: the copy is %+v, the response said ETag %q", c.key, got, rep.ETag)
		}
	}
}

// TestCopyOnceRefuses: an existing destination and a changed source each
// fail with ErrPreconditionFailed and leave the destination alone; a
// multipart source is ErrNeedsParts and sends nothing.
func TestCopyOnceRefuses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	src := b.put(t, "a", []byte("first"))
	s3test.PutObject(t, b.s3, b.trash, "taken", []byte("someone else's"))
	if _, err := b.client.CopyOnce(t.Context(), src, b.trash, "taken", reconcile.CopyOptions{NoOverwrite: true}); !errors.Is(err, reconcile.ErrPreconditionFailed) {
		t.Fatalf("CopyOnce over an existing object: %v, want ErrPreconditionFailed", err)
	}
	if got := string(s3test.Get(t, b.s3, b.trash, "taken")); got != "someone else's" {
		t.Fatalf("the destination now holds %q", got)
	}
	b.put(t, "a", []byte("overwritten"))
	if _, err := b.client.CopyOnce(t.Context(), src, b.trash, "fresh", reconcile.CopyOptions{NoOverwrite: true}); !errors.Is(err, reconcile.ErrPreconditionFailed) {
		t.Fatalf("CopyOnce of a changed source: %v, want ErrPreconditionFailed", err)
	}
	if _, err := b.client.Head(t.Context(), b.trash, "fresh"); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("a refused copy left an object: %v", err)
	}
	s3test.PutMultipart(t, b.s3, b.src, "multi", s3test.RandomBytes(11<<20), 5<<20)
	multi := b.head(t, b.src, "multi")
	if _, err := b.client.CopyOnce(t.Context(), multi, b.trash, "multi", reconcile.CopyOptions{}); !errors.Is(err, reconcile.ErrNeedsParts) {
		t.Fatalf("CopyOnce of a multipart source: %v, want ErrNeedsParts", err)
	}
}

// TestCopyOnceVersioned: on a versioned source the response names the
// version copied.
func TestCopyOnceVersioned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s3test.EnableVersioning(t, b.s3, b.src)
	src := b.put(t, "v", []byte("version one"))
	b.put(t, "v", []byte("version two"))
	rep, err := b.client.CopyOnce(t.Context(), src, b.trash, "v", reconcile.CopyOptions{NoOverwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.SourceVersionID != src.VersionID || rep.ETag != src.ETag {
		t.Fatalf("report %+v, want version %q ETag %q", rep, src.VersionID, src.ETag)
	}
	if got := string(s3test.Get(t, b.s3, b.trash, "v")); got != "version one" {
		t.Fatalf("the copy holds %q", got)
	}
}

// TestDeleteBatch pins SeaweedFS's per-object ETag in DeleteObjects, which
// the fast path relies on: one request deletes the keys whose ETag still
// matches, refuses the one overwritten since (it stays), reports a key
// that is gone, and deletes a version by its id.
func TestDeleteBatch(t *testing.T) {
	t.Parallel()
	b := setup(t, conditional)
	ok1 := b.put(t, "ok one", []byte("1"))
	ok2 := b.put(t, "odd/ä+b%2F c", nil)
	stale := b.put(t, "changed", []byte("as copied"))
	b.put(t, "changed", []byte("overwritten since"))
	gone := b.put(t, "gone", []byte("x"))
	s3test.PutObject(t, b.s3, b.src, "other", []byte("y"))
	if err := b.client.Delete(t.Context(), gone); err != nil {
		t.Fatal(err)
	}

	ft := s3test.NewFaultTransport(nil)
	o := s3test.Options(t)
	o.ConditionalDelete, o.HTTPClient = true, ft.Client()
	c := s3test.NewClient(t, o)
	errs := c.DeleteBatch(t.Context(), b.src, []reconcile.Object{ok1, stale, gone, ok2})
	if len(errs) != 4 || errs[0] != nil || errs[3] != nil {
		t.Fatalf("DeleteBatch: %v, want the first and last deleted", errs)
	}
	if !errors.Is(errs[1], reconcile.ErrPreconditionFailed) {
		t.Errorf("the overwritten key: %v, want ErrPreconditionFailed", errs[1])
	}
	if !errors.Is(errs[2], reconcile.ErrNotFound) {
		t.Errorf("the key already gone: %v, want ErrNotFound", errs[2])
	}
	// The transport lists a DeleteObjects once per key it names.
	if got := ft.Requests(); len(got) != 4 || !strings.HasPrefix(got[0], "DeleteObjects ") || !strings.HasSuffix(got[3], "/odd/ä+b%2F c") {
		t.Errorf("requests %q, want one DeleteObjects of the four keys", got)
	}
	for _, key := range []string{"ok one", "odd/ä+b%2F c"} {
		if _, err := b.client.Head(t.Context(), b.src, key); !errors.Is(err, reconcile.ErrNotFound) {
			t.Errorf("%q still there: %v", key, err)
		}
	}
	if got := string(s3test.Get(t, b.s3, b.src, "changed")); got != "overwritten since" {
		t.Errorf("the overwritten key holds %q", got)
	}
	if got := string(s3test.Get(t, b.s3, b.src, "other")); got != "y" {
		t.Errorf("a key not named holds %q", got)
	}
}

func TestDeleteBatchVersions(t *testing.T) {
	t.Parallel()
	b := setup(t, conditional)
	s3test.EnableVersioning(t, b.s3, b.src)
	old := b.put(t, "v", []byte("old"))
	cur := b.put(t, "v", []byte("current"))
	errs := b.client.DeleteBatch(t.Context(), b.src, []reconcile.Object{cur, cur})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("DeleteBatch of a version, twice: %v", errs)
	}
	if _, err := b.client.HeadVersion(t.Context(), b.src, "v", cur.VersionID); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("the version deleted is still there: %v", err)
	}
	if got := b.head(t, b.src, "v"); got.VersionID != old.VersionID {
		t.Fatalf("current version %q, want the older %q made current (no delete marker)", got.VersionID, old.VersionID)
	}
	if errs := b.client.DeleteBatch(t.Context(), b.src, []reconcile.Object{cur}); errs[0] != nil {
		t.Fatalf("DeleteBatch of a version already gone: %v, want nil", errs[0])
	}
}

// TestBatchConditions: the probe finds that SeaweedFS honours the per-object ETag, and the probe
// leaves nothing behind; a server that refuses the feature (501) or says it
// deleted against the condition gets false, so deletes go one by one.
func TestBatchConditions(t *testing.T) {
	t.Parallel()
	b := setup(t, conditional)
	ok, err := batchETag(t, b.client, b.trash)
	if err != nil || !ok {
		t.Fatalf("batch_delete_etag: %v, %v; want honoured", ok, err)
	}
	left, err := b.s3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: &b.trash})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Contents) != 0 {
		t.Fatalf("the probe left %d objects behind", len(left.Contents))
	}

	refuse := s3test.When(s3test.Match("DeleteObjects", ""), s3test.Fault{Status: 501, Code: "NotImplemented", Message: "not here"})
	ignore := s3test.When(s3test.Match("DeleteObjects", ""), s3test.Fault{EditResponse: func(r *http.Response) {
		r.Body.Close()
		key := ""
		if objs := s3test.DeleteObjectsOf(r.Request); len(objs) > 0 {
			key = objs[0].Key
		}
		body := `<?xml version="1.0" encoding="UTF-8"?><DeleteResult><Deleted><Key>` + key + `</Key></Deleted></DeleteResult>`
		r.Body, r.ContentLength, r.StatusCode = io.NopCloser(strings.NewReader(body)), int64(len(body)), 200
		r.Header.Del("Content-Length")
	}})
	for name, rule := range map[string]s3test.Rule{"refuses": refuse, "ignores": ignore} {
		o := s3test.Options(t)
		o.ConditionalDelete, o.HTTPClient = true, s3test.NewFaultTransport(rule).Client()
		c := s3test.NewClient(t, o)
		if ok, err := batchETag(t, c, b.trash); err != nil || ok {
			t.Errorf("a server that %s the condition: batch_delete_etag %v, %v; want not honoured", name, ok, err)
		}
	}
}

// batchETag is what the probe of bucket finds of the per-object ETag of
// DeleteObjects.
func batchETag(t *testing.T, c *s3ops.Client, bucket string) (bool, error) {
	t.Helper()
	caps, err := c.ProbeConditions(t.Context(), bucket)
	return caps.Honours(reconcile.CondBatchDeleteETag), err
}

// TestBatchConditionsRefusedButDeleted: a server that refuses the probe's
// delete in words (a per-object PreconditionFailed) but deleted the object
// anyway, as one that dropped the per-object ETag would, gets false: the
// probe looks whether the object is still there before it believes a
// refusal.
func TestBatchConditionsRefusedButDeleted(t *testing.T) {
	t.Parallel()
	b := setup(t, conditional)
	c, _ := faulty(t, func(r *http.Request) s3test.Fault {
		if s3test.Operation(r) != "DeleteObjects" {
			return s3test.Fault{}
		}
		var answer s3test.DeleteResult
		for _, o := range s3test.DeleteObjectsOf(r) {
			// What the server does with the request once the ETag is
			// dropped from it: an unconditional delete.
			if _, err := b.s3.DeleteObject(r.Context(), &s3.DeleteObjectInput{Bucket: &b.trash, Key: &o.Key}); err != nil {
				t.Errorf("delete %q as a server without the condition would: %v", o.Key, err)
			}
			answer.Errors = append(answer.Errors, s3test.AWSPreconditionFailed(o.Key))
		}
		return s3test.Fault{EditResponse: s3test.Respond(http.StatusOK, answer.Body())}
	})
	if ok, err := batchETag(t, c, b.trash); ok || err != nil {
		t.Errorf("batch_delete_etag: %v, %v; want not honoured, without an error", ok, err)
	}
}
