package s3ops_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
	"trashd/s3ops/s3test"
)

// copyFacts is what one server's CopyObject answer tells about the source
// when the copy is made without reading the source first (no
// x-amz-copy-source-if-match): the facts a move of one request per object
// rests on.
type copyFacts struct {
	// multipartETagKept: a copy of a multipart object keeps the source's
	// multipart ETag ("<md5 of part md5s>-<parts>"); otherwise its ETag
	// is another one, and a delete of the source on condition of the
	// copy's ETag is refused.
	multipartETagKept bool
	// checksum: the answer carries the CRC32 asked for, computed over the
	// copy's bytes.
	checksum bool
	// sourceVersion: on a versioned bucket the answer names the version it
	// copied (x-amz-copy-source-version-id); where it does not, the move
	// cannot learn the version from the copy alone.
	sourceVersion bool
}

// wantCopyFacts is each server's answer, as TestCopyAnswerFacts finds it.
var wantCopyFacts = map[string]copyFacts{
	// AWS: a multipart source's copy made by CopyObject is one part, with
	// an ETag of its own; the answer names the source's version.
	"seaweedfs": {multipartETagKept: true, checksum: false, sourceVersion: true},
	"moto":      {multipartETagKept: false, checksum: true, sourceVersion: true},
	"versitygw": {multipartETagKept: false, checksum: true, sourceVersion: false},
}

// TestCopyAnswerFacts checks, on each server, what the answer of a
// CopyObject sent without reading the source first proves, and what a
// delete of the source on condition of the copy's ETag then does:
//   - a single-part source: the copy's ETag is the source's, and the
//     conditional delete (DeleteObjects with the ETag per object) deletes
//     it;
//   - a source rewritten after the copy: the delete is refused, and the new
//     object stays;
//   - a multipart source: the delete goes only where the copy's ETag is the
//     source's (the same parts, so the same bytes), and is refused
//     otherwise;
//   - a checksum asked for on the copy, where the answer carries one, is
//     the checksum of the bytes;
//   - on a versioned bucket, x-amz-copy-source-version-id names the version
//     that was current.
func TestCopyAnswerFacts(t *testing.T) {
	t.Parallel()
	servers.Each(t, func(t *testing.T, srv s3test.Server) {
		want, ok := wantCopyFacts[srv.Name]
		if !ok {
			t.Fatalf("no copy facts known for server %q: add it to wantCopyFacts", srv.Name)
		}
		o := s3test.OptionsFor(t, srv)
		o.ConditionalDelete = true // every server here honours the ETag in DeleteObjects (TestProbeConditionsOnEachServer)
		c := s3test.NewClient(t, o)
		api := c.S3()
		src := s3test.NewBucket(t, api, "s3ops-facts-"+srv.Name)
		dst := s3test.NewBucket(t, api, "s3ops-facts-dst-"+srv.Name)
		blindCopy := func(key string) *s3.CopyObjectOutput {
			t.Helper()
			out, err := api.CopyObject(t.Context(), &s3.CopyObjectInput{
				Bucket: aws.String(dst), Key: aws.String(key), CopySource: aws.String(src + "/" + key),
				IfNoneMatch: aws.String("*"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
			})
			if err != nil {
				t.Fatalf("copy %q: %v", key, err)
			}
			return out
		}
		etagOf := func(out *s3.CopyObjectOutput) string {
			return strings.Trim(aws.ToString(out.CopyObjectResult.ETag), `"`)
		}
		// The delete the move sends: in the shared DeleteObjects where the
		// server honours the ETag there, else alone with If-Match; a
		// server that honours neither never sees a move of one request.
		batch, single := srv.Honours(reconcile.CondBatchDeleteETag), srv.Honours(reconcile.CondDeleteIfMatch)
		if !batch && !single {
			t.Logf("%s honours no conditional delete: the move of one request is never taken there, and only the copy's answer is checked", srv.Name)
		}
		deletes := batch || single
		deleteOnCopyETag := func(key, etag string) error {
			t.Helper()
			if !batch {
				return c.Delete(t.Context(), reconcile.Object{Bucket: src, Key: key, ETag: etag})
			}
			return c.DeleteBatch(t.Context(), src, []reconcile.Object{
				{Bucket: src, Key: key, ETag: etag},
				// A second key, so that the request is a real
				// DeleteObjects: one that is gone answers as deleted.
				{Bucket: src, Key: key + ".absent", ETag: "0123456789abcdef0123456789abcdef"},
			})[0]
		}

		// A single-part source.
		body := s3test.RandomBytes(16 << 10)
		put := s3test.PutObject(t, api, src, "one", body)
		out := blindCopy("one")
		if got, sent := etagOf(out), strings.Trim(aws.ToString(put.ETag), `"`); got != sent {
			t.Errorf("single-part: the copy's ETag %q is not the source's %q", got, sent)
		}
		crc := crc32.ChecksumIEEE(body)
		wantCRC := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc))
		switch got := aws.ToString(out.CopyObjectResult.ChecksumCRC32); {
		case got == "" && want.checksum:
			t.Errorf("the copy's answer carries no CRC32, though %s is known to give one", srv.Name)
		case got != "" && !want.checksum:
			t.Errorf("the copy's answer carries a CRC32 (%s), though %s is known to give none: update wantCopyFacts", got, srv.Name)
		case got != "" && got != wantCRC:
			t.Errorf("the copy's CRC32 %s is not the bytes' %s", got, wantCRC)
		}
		if deletes {
			if err := deleteOnCopyETag("one", etagOf(out)); err != nil {
				t.Errorf("the delete of the single-part source on the copy's ETag: %v", err)
			}
			if _, err := c.Head(t.Context(), src, "one"); !errors.Is(err, reconcile.ErrNotFound) {
				t.Errorf("the single-part source after its conditional delete: %v, want it gone", err)
			}
		}
		if got := s3test.Get(t, api, dst, "one"); !bytes.Equal(got, body) {
			t.Errorf("the copy holds %d other bytes", len(got))
		}

		// A source rewritten after the copy.
		if deletes {
			s3test.PutObject(t, api, src, "rewritten", []byte("as copied"))
			out = blindCopy("rewritten")
			s3test.PutObject(t, api, src, "rewritten", []byte("written after the copy"))
			if err := deleteOnCopyETag("rewritten", etagOf(out)); !errors.Is(err, reconcile.ErrPreconditionFailed) {
				t.Errorf("the delete of a source rewritten after the copy: %v, want it refused", err)
			}
			if got := string(s3test.Get(t, api, src, "rewritten")); got != "written after the copy" {
				t.Errorf("the rewritten source holds %q", got)
			}
		}

		// A multipart source.
		big := s3test.RandomBytes(5<<20 + 1024)
		mp := s3test.PutMultipart(t, api, src, "multi", big, 5<<20)
		mpETag := strings.Trim(aws.ToString(mp.ETag), `"`)
		out = blindCopy("multi")
		kept := etagOf(out) == mpETag
		t.Logf("%s: a multipart source's ETag %q, its copy's %q", srv.Name, mpETag, etagOf(out))
		if kept != want.multipartETagKept {
			t.Errorf("multipart: the copy keeps the source's ETag: %v, want %v", kept, want.multipartETagKept)
		}
		var err error
		if deletes {
			err = deleteOnCopyETag("multi", etagOf(out))
		}
		switch {
		case !deletes:
		case kept && err != nil:
			t.Errorf("the delete of a multipart source on its own ETag: %v", err)
		case !kept && !errors.Is(err, reconcile.ErrPreconditionFailed):
			t.Errorf("the delete of a multipart source on the copy's other ETag: %v, want it refused", err)
		}
		if got := s3test.Get(t, api, dst, "multi"); !bytes.Equal(got, big) {
			t.Errorf("the multipart source's copy holds %d other bytes", len(got))
		}

		// A versioned source.
		if !srv.Has(s3test.FeatureVersioning) {
			return
		}
		vsrc := s3test.NewBucket(t, api, "s3ops-facts-v-"+srv.Name)
		s3test.EnableVersioning(t, api, vsrc)
		s3test.PutObject(t, api, vsrc, "v", []byte("older"))
		cur := s3test.PutObject(t, api, vsrc, "v", []byte("current"))
		vout, err := api.CopyObject(t.Context(), &s3.CopyObjectInput{
			Bucket: aws.String(dst), Key: aws.String("v"), CopySource: aws.String(vsrc + "/v"), IfNoneMatch: aws.String("*"),
		})
		if err != nil {
			t.Fatalf("copy from the versioned bucket: %v", err)
		}
		switch got, v := aws.ToString(vout.CopySourceVersionId), aws.ToString(cur.VersionId); {
		case !want.sourceVersion && got != "":
			t.Errorf("x-amz-copy-source-version-id %q, though %s is known to give none: update wantCopyFacts", got, srv.Name)
		case want.sourceVersion && got != v:
			t.Errorf("x-amz-copy-source-version-id %q, want the current version %q", got, v)
		}
	})
}
