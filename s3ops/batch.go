package s3ops

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
)

var (
	_ reconcile.ObjectStore = (*Client)(nil)
)

// CopyOnce copies src to dstBucket/dstKey in one CopyObject, as Copy does
// for a source it copies whole, and returns what the response says of the
// copy: its ETag (for a single-part, unencrypted or SSE-S3 source, the
// MD5 of its bytes, so equal to the source's), the checksum S3 computed over
// it when the source has a full-object one (CopyObject is asked for that
// algorithm), and the versions copied and made. Nothing reads the copy back.
// reconcile.ErrNeedsParts for a source that Copy would copy in parts.
func (c *Client) CopyOnce(ctx context.Context, src reconcile.Object, dstBucket, dstKey string, opts reconcile.CopyOptions) (reconcile.CopyReport, error) {
	cl := copyCall(src, dstBucket, dstKey)
	switch {
	case src.ETag == "":
		return reconcile.CopyReport{}, fmt.Errorf("%s: %w: the source's ETag is not known, so the copy cannot be made conditional on it: HEAD the source first", cl.op, reconcile.ErrPermanent)
	case c.inParts(src):
		return reconcile.CopyReport{}, fmt.Errorf("%s: %w", cl.op, reconcile.ErrNeedsParts)
	case opts.NoOverwrite && c.byHead(opts):
		// Only the server's own If-None-Match makes one request enough.
		return reconcile.CopyReport{}, fmt.Errorf("%s: %w: the server does not refuse a copy over an existing object by itself", cl.op, reconcile.ErrNeedsParts)
	}
	out, err := c.copyObject(ctx, copyObjectInput(src, dstBucket, dstKey, opts))
	if err != nil {
		err = mapError(cl, err)
		if opts.NoOverwrite && errors.Is(err, reconcile.ErrPreconditionFailed) {
			err = fmt.Errorf("s3://%s/%s already exists, or the source changed since it was read: %w", dstBucket, dstKey, err)
		}
		return reconcile.CopyReport{}, err
	}
	rep := reconcile.CopyReport{
		VersionID:       aws.ToString(out.VersionId),
		SourceVersionID: aws.ToString(out.CopySourceVersionId),
	}
	if r := out.CopyObjectResult; r != nil {
		rep.ETag = unquote(aws.ToString(r.ETag))
		rep.Checksum = checksumOf(r.ChecksumCRC32, r.ChecksumCRC32C, r.ChecksumCRC64NVME, r.ChecksumSHA1, r.ChecksumSHA256)
	}
	return rep, nil
}

// CopyAsIs copies whatever src.Bucket/src.Key holds now (unread, or on
// condition of src.ETag when one is given; never by version) to dstBucket/dstKey in
// one CopyObject, never over an object at the destination (If-None-Match: *,
// which the caller has proven the server honours: without it there is no
// one-request copy), asking S3 for a CRC32 of the copy's bytes. The report
// is the proof the move relies on: the copy's ETag, which for a
// single-part source without SSE-KMS is the source's, and a delete of the
// source on condition of it proves that the source still holds those bytes.
// ErrPreconditionFailed when the destination exists; ErrNotFound when the
// source does not.
func (c *Client) CopyAsIs(ctx context.Context, src reconcile.Object, dstBucket, dstKey string, opts reconcile.CopyOptions) (reconcile.CopyReport, error) {
	obj := reconcile.Object{Bucket: src.Bucket, Key: src.Key, ETag: src.ETag}
	cl := copyCall(obj, dstBucket, dstKey)
	if c.byHead(opts) {
		return reconcile.CopyReport{}, fmt.Errorf("%s: %w: the server does not refuse a copy over an existing object by itself", cl.op, reconcile.ErrNeedsParts)
	}
	opts.NoOverwrite = true
	in := copyObjectInput(obj, dstBucket, dstKey, opts)
	in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
	if src.ETag == "" {
		in.CopySourceIfMatch = nil
	}
	out, err := c.copyObject(ctx, in)
	if err != nil {
		err = mapError(cl, err)
		if errors.Is(err, reconcile.ErrPreconditionFailed) {
			err = fmt.Errorf("s3://%s/%s already exists: %w", dstBucket, dstKey, err)
		}
		return reconcile.CopyReport{}, err
	}
	rep := reconcile.CopyReport{
		VersionID:       aws.ToString(out.VersionId),
		SourceVersionID: aws.ToString(out.CopySourceVersionId),
		Encryption:      string(out.ServerSideEncryption),
	}
	if r := out.CopyObjectResult; r != nil {
		rep.ETag = unquote(aws.ToString(r.ETag))
		rep.Checksum = checksumOf(r.ChecksumCRC32, r.ChecksumCRC32C, r.ChecksumCRC64NVME, r.ChecksumSHA1, r.ChecksumSHA256)
	}
	return rep, nil
}

// probeState is the Client's memory of a server that does not implement
// DeleteObjects at all.
type probeState struct {
	noBatch atomic.Bool
}
