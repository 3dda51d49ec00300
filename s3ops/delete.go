package s3ops

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
)

// Delete deletes exactly obj. On a versioned bucket it deletes obj's
// version (a DeleteObject without a version only adds a delete marker and
// keeps the bytes, and the bill). With ConditionalDelete it sends
// If-Match: obj's ETag, so that a source overwritten since it was copied is
// left alone (reconcile.ErrPreconditionFailed); an obj without a recorded
// ETag is deleted without the condition. AWS evaluates If-Match against the
// key's current version even when a version ID is given, so there a delete
// of a version that has since been superseded fails the same way.
//
// Deleting a key that does not exist succeeds, as S3 makes it; but a
// conditional delete of a missing key fails: SeaweedFS answers 412 (the
// precondition cannot hold on nothing), AWS 404 (reconcile.ErrNotFound).
func (c *Client) Delete(ctx context.Context, obj reconcile.Object) error {
	cl := objectCall("delete", obj.Bucket, obj.Key, "s3:DeleteObject and s3:DeleteObjectVersion")
	in := &s3.DeleteObjectInput{Bucket: aws.String(obj.Bucket), Key: aws.String(obj.Key)}
	if obj.VersionID != "" {
		in.VersionId = aws.String(obj.VersionID)
	}
	if c.opts.ConditionalDelete && obj.ETag != "" {
		in.IfMatch = quote(obj.ETag)
	}
	_, err := c.s3.DeleteObject(ctx, in)
	if err != nil && in.IfMatch != nil && notImplemented(err) {
		// S3 only added conditional deletes in 2024; a server that predates
		// them refuses the header. With a version ID the delete still
		// removes exactly the version that was copied, so go on without the
		// condition. Without one, an unconditional delete could remove bytes
		// written since the copy: that is the operator's call, not ours.
		if in.VersionId == nil {
			return mapError(cl, fmt.Errorf("%w: the server does not support conditional deletes (If-Match), and the bucket is not versioned: "+
				"set TRASHD_CONDITIONAL_DELETE=false to delete without the condition (a file overwritten between copy and delete "+
				"would then be lost), or enable versioning on the bucket: %w", reconcile.ErrPermanent, err))
		}
		in.IfMatch = nil
		_, err = c.s3.DeleteObject(ctx, in)
	}
	return mapError(cl, err)
}

// notImplemented reports whether the server refused a feature it does not
// have (501 NotImplemented).
func notImplemented(err error) bool {
	return errorCode(err) == "NotImplemented" || httpStatus(err) == 501
}
