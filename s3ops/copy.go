package s3ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
)

// ErrDestinationExists is the error of a copy with NoOverwrite whose
// destination was found taken: by a HEAD (Options.NoOverwriteByHead), or by
// the If-None-Match of CompleteMultipartUpload, the one request of a
// multipart copy that carries it. It wraps reconcile.ErrPreconditionFailed.
// A 412 from CopyObject cannot be told apart from a source changed since
// HEAD (one 412 answers both of its conditions), so it stays a plain
// ErrPreconditionFailed that says both.
var ErrDestinationExists = fmt.Errorf("the destination exists: %w", reconcile.ErrPreconditionFailed)

// Copy copies src server-side to dstBucket/dstKey (the bytes never leave
// S3), on condition that the source still has src.ETag: every request
// carries x-amz-copy-source-if-match, so a source overwritten since HEAD
// fails the copy with reconcile.ErrPreconditionFailed instead of putting
// other bytes in the trash. With src.VersionID set it copies exactly that
// version. With opts.NoOverwrite the copy never replaces an object at the
// destination (If-None-Match: *, which SeaweedFS honours on CopyObject and
// on CompleteMultipartUpload alike); see ErrDestinationExists.
func (c *Client) Copy(ctx context.Context, src reconcile.Object, dstBucket, dstKey string, opts reconcile.CopyOptions) error {
	cl := copyCall(src, dstBucket, dstKey)
	if src.ETag == "" {
		return fmt.Errorf("%s: %w: the source's ETag is not known, so the copy cannot be made conditional on it: HEAD the source first", cl.op, reconcile.ErrPermanent)
	}
	if opts.NoOverwrite && c.byHead(opts) {
		if err := c.checkFree(ctx, cl, dstBucket, dstKey); err != nil {
			return err
		}
	}
	var err error
	if c.inParts(src) {
		err = c.copyParts(ctx, cl, src, dstBucket, dstKey, opts)
	} else {
		err = c.copyWhole(ctx, cl, src, dstBucket, dstKey, opts)
	}
	if opts.NoOverwrite && errors.Is(err, reconcile.ErrPreconditionFailed) && !errors.Is(err, ErrDestinationExists) {
		// One 412 answers both conditions of the request.
		err = fmt.Errorf("s3://%s/%s already exists, or the source changed since it was read: %w", dstBucket, dstKey, err)
	}
	return err
}

// checkFree HEADs dstBucket/dstKey and fails with ErrDestinationExists when
// an object is there.
func (c *Client) checkFree(ctx context.Context, cl call, dstBucket, dstKey string) error {
	_, err := c.Head(ctx, dstBucket, dstKey)
	switch {
	case err == nil:
		return fmt.Errorf("%s: %w: s3://%s/%s is taken, and the copy does not overwrite", cl.op, ErrDestinationExists, dstBucket, dstKey)
	case errors.Is(err, reconcile.ErrNotFound):
		return nil
	}
	return fmt.Errorf("%s: check that the destination is free: %w", cl.op, err)
}

// inParts decides between one CopyObject and a multipart copy. The choice is
// about proving the copy later: the verifier compares the copy's HEAD with
// the source's and accepts equal sizes with an equal ETag, or an equal
// checksum of the same algorithm. So each source goes the way that keeps one
// of those equal:
//
//   - CopyObject gives the copy an MD5 ETag (AWS: objects created by PUT,
//     POST or Copy have an MD5 ETag, unless KMS-encrypted) and copies the
//     source's checksum algorithm. For a single-part source (at most 5 GB, a
//     plain MD5 ETag) both match; for a multipart source, whose ETag is
//     "<md5 of part md5s>-N", only a full-object checksum would.
//   - A multipart copy that mirrors a multipart source's part layout gets the
//     same "-N" ETag (and the same composite checksum, if the source has one).
//   - A multipart copy in fixed-size parts of a single-part source matches
//     neither the ETag nor a SHA checksum, only a CRC, which S3 can combine
//     across parts into a FULL_OBJECT checksum.
//
// Hence: above 5 GiB there is no choice; a multipart source with no
// full-object checksum is mirrored at any size; otherwise CopyObject up to
// MultipartThreshold, and above it parts only where they stay provable.
func (c *Client) inParts(src reconcile.Object) bool {
	multipart := etagParts(src.ETag) > 0
	fullSum := src.Checksum.Value != "" && !composite(src.Checksum)
	switch {
	case src.Size > MaxCopyObjectSize:
		return true
	case multipart && !fullSum:
		return true
	case src.Size <= c.opts.MultipartThreshold:
		return false
	}
	return multipart || isCRC(src.Checksum.Algorithm)
}

// copyWhole copies src in one CopyObject. The default COPY metadata and
// tagging directives carry content type, content headers, user metadata and
// tags across. The destination's storage class is opts.StorageClass, or the
// default (STANDARD) for the lifecycle rule to move later.
func (c *Client) copyWhole(ctx context.Context, cl call, src reconcile.Object, dstBucket, dstKey string, opts reconcile.CopyOptions) error {
	_, err := c.copyObject(ctx, copyObjectInput(src, dstBucket, dstKey, opts))
	return mapError(cl, err)
}

// copyObjectInput is the one CopyObject request that copies src whole.
func copyObjectInput(src reconcile.Object, dstBucket, dstKey string, opts reconcile.CopyOptions) *s3.CopyObjectInput {
	in := &s3.CopyObjectInput{
		Bucket:            aws.String(dstBucket),
		Key:               aws.String(dstKey),
		CopySource:        aws.String(copySource(src.Bucket, src.Key, src.VersionID)),
		CopySourceIfMatch: quote(src.ETag),
		StorageClass:      types.StorageClass(opts.StorageClass),
	}
	if opts.NoOverwrite {
		in.IfNoneMatch = aws.String("*")
	}
	if opts.IfMatch != "" {
		in.IfMatch = quote(opts.IfMatch)
	}
	if src.Checksum.Algorithm != "" && !composite(src.Checksum) {
		// S3 copies the source's algorithm by default; asking for it
		// explicitly keeps the copy comparable on servers that would not.
		in.ChecksumAlgorithm = types.ChecksumAlgorithm(src.Checksum.Algorithm)
	}
	return in
}

func copyCall(src reconcile.Object, dstBucket, dstKey string) call {
	return call{
		op:      fmt.Sprintf("copy s3://%s/%s to s3://%s/%s", src.Bucket, src.Key, dstBucket, dstKey),
		buckets: []string{src.Bucket, dstBucket},
		keys:    []string{src.Key, dstKey},
		allow: fmt.Sprintf("s3:GetObject, s3:GetObjectVersion and s3:GetObjectTagging on arn:aws:s3:::%s/* "+
			"and s3:PutObject and s3:PutObjectTagging on arn:aws:s3:::%s/*", src.Bucket, dstBucket),
	}
}

// byHead reports whether a copy with NoOverwrite checks its destination with
// HEAD first: the caller says the server does not prove If-None-Match
// (opts.NoOverwriteByHead), or the Client was built so.
func (c *Client) byHead(opts reconcile.CopyOptions) bool {
	return c.opts.NoOverwriteByHead || opts.NoOverwriteByHead
}
