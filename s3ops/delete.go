package s3ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
)

// Delete deletes exactly obj.
//
// With obj.VersionID set it deletes that version and nothing else, without
// If-Match: a version's bytes never change, so naming it is already exact (a
// DeleteObject without a version would only add a delete marker and keep the
// bytes, and the bill). If-Match would even be wrong there: AWS evaluates it
// against the key's current version, so an SDK retry of a delete whose first
// response was lost would meet the older version, now current, and fail with
// 412 as if the trashed file had changed. Deleting a version that is already
// gone succeeds (nil): AWS and SeaweedFS answer 204 for a version ID they do
// not have, and a server that answers 404 (NoSuchVersion) gets the same nil.
// A caller that must know the version is gone asks HeadVersion.
//
// Without a version, ConditionalDelete sends If-Match: obj's ETag, so that a
// source overwritten since it was copied is left alone
// (reconcile.ErrPreconditionFailed); an obj without a recorded ETag is
// deleted without the condition. Deleting a key that does not exist
// succeeds, as S3 makes it; but a conditional delete of a missing key fails:
// SeaweedFS answers 412 (the precondition cannot hold on nothing), AWS 404
// (reconcile.ErrNotFound). So does a retry of a conditional delete whose
// first response was lost: the caller tells that from a change with a HEAD.
//
// A delete is sent once, never retried by the SDK: the caller sends it only
// with a fresh fence (a worker that held the lease moments ago), and an SDK
// retry after a backoff of seconds would go out with no fence at all,
// perhaps after the lease passed to another host that restored the file. A
// failed delete comes back as an error; the caller fences again and retries.
func (c *Client) Delete(ctx context.Context, obj reconcile.Object) error {
	cl := objectCall("delete", obj.Bucket, obj.Key, "s3:DeleteObject and s3:DeleteObjectVersion")
	in := &s3.DeleteObjectInput{Bucket: aws.String(obj.Bucket), Key: aws.String(obj.Key)}
	if obj.VersionID != "" {
		cl.op += " version " + obj.VersionID
		in.VersionId = aws.String(obj.VersionID)
		_, err := c.s3.DeleteObject(ctx, in, sendOnce)
		err = mapError(cl, err)
		if errors.Is(err, reconcile.ErrNotFound) {
			return nil // already gone: what was asked (a missing bucket is ErrPermanent)
		}
		return err
	}
	if c.opts.ConditionalDelete && obj.ETag != "" {
		in.IfMatch = quote(obj.ETag)
	}
	_, err := c.s3.DeleteObject(ctx, in, sendOnce)
	if err != nil && in.IfMatch != nil && notImplemented(err) {
		// S3 only added conditional deletes in 2024; a server that predates
		// them refuses the header. An unconditional delete could remove
		// bytes written since the copy: that is the operator's call, not
		// ours (or enable versioning, and deletes name the version).
		return mapError(cl, fmt.Errorf("%w: the server does not support conditional deletes (If-Match), and the bucket is not versioned: "+
			"enable versioning on the bucket (deletes then name the version), or accept a HEAD right before each delete instead "+
			"(TRASHD_S3_DELETE_AFTER_HEAD=true: a file overwritten in that round trip would be lost); `trashd doctor` shows what the server honours: %w", reconcile.ErrPermanent, err))
	}
	return mapError(cl, err)
}

// sendOnce turns the SDK's retries off for one request.
func sendOnce(o *s3.Options) { o.Retryer = retry.AddWithMaxAttempts(o.Retryer, 1) }

// notImplemented reports whether the server refused a feature it does not
// have (501 NotImplemented).
func notImplemented(err error) bool {
	return errorCode(err) == "NotImplemented" || httpStatus(err) == 501
}
