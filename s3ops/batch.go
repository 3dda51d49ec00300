package s3ops

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"

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

// probeState is the Client's memory of a server that does not implement
// DeleteObjects at all.
type probeState struct {
	noBatch atomic.Bool
}
