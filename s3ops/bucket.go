package s3ops

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
)

// CheckBucket checks that bucket exists and the credentials reach it, for
// a preflight before a pass. HEAD responses have no body, so S3 says only
// 404 (no such bucket) or 403 (the credentials may not list it, or it
// belongs to someone else); the errors say what to fix.
func (c *Client) CheckBucket(ctx context.Context, bucket string) error {
	_, err := c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return nil
	}
	op := fmt.Sprintf("check bucket %q", bucket)
	code, status := errorCode(err), httpStatus(err)
	switch {
	case code == "NotFound" || code == "NoSuchBucket" || status == 404:
		return fmt.Errorf("%s: %w: bucket %q does not exist: create it, or fix the TRASHD_ variable that names it: %w",
			op, reconcile.ErrPermanent, bucket, err)
	case status == 403:
		return fmt.Errorf("%s: %w: the credentials cannot reach bucket %q: check the AWS credentials and that the IAM policy allows s3:ListBucket on arn:aws:s3:::%s: %w",
			op, reconcile.ErrPermanent, bucket, bucket, err)
	}
	return mapError(call{op: op, buckets: []string{bucket}, allow: "s3:ListBucket on arn:aws:s3:::" + bucket}, err)
}
