package s3ops

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"trashd/reconcile"
)

// KeyVersions returns up to limit of the versions and delete markers of
// exactly bucket/key, newest first: S3 lists keys in order and each key's
// versions from the most to the least recent, delete markers among them.
//
// The SDK hands a page's versions and its delete markers back as two
// lists, which loses their order between each other, so each page asks for
// one entry: a restore looks at the few entries above a version it knows,
// never at a key's whole history.
func (c *Client) KeyVersions(ctx context.Context, bucket, key string, limit int) ([]reconcile.KeyVersion, error) {
	cl := call{
		op:      fmt.Sprintf("list the versions of s3://%s/%s", bucket, key),
		buckets: []string{bucket},
		keys:    []string{key},
		allow:   fmt.Sprintf("s3:ListBucketVersions on arn:aws:s3:::%s", bucket),
	}
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(key), MaxKeys: aws.Int32(1)}
	var out []reconcile.KeyVersion
	for range limit {
		page, err := c.s3.ListObjectVersions(ctx, in)
		if err != nil {
			return nil, mapError(cl, err)
		}
		if len(page.Versions) > 0 && len(page.DeleteMarkers) > 0 {
			return nil, fmt.Errorf("%s: %w: the server answered a page of one entry with versions and delete markers, whose order between each other is lost",
				cl.op, reconcile.ErrPermanent)
		}
		entries, passed := keyEntries(page, key)
		out = append(out, entries...)
		// Keys that merely begin with key sort after it: once the
		// listing reaches one, key's versions are done.
		if passed || len(entries) == 0 || !aws.ToBool(page.IsTruncated) || len(out) >= limit {
			break
		}
		in.KeyMarker, in.VersionIdMarker = page.NextKeyMarker, page.NextVersionIdMarker
	}
	return out[:min(len(out), limit)], nil
}

// keyEntries returns page's entries of key, in order (a page holds
// versions or delete markers, not both), and whether the page went on to
// another key.
func keyEntries(page *s3.ListObjectVersionsOutput, key string) (entries []reconcile.KeyVersion, passed bool) {
	for _, v := range page.Versions {
		if aws.ToString(v.Key) != key {
			return entries, true
		}
		entries = append(entries, reconcile.KeyVersion{VersionID: aws.ToString(v.VersionId), Size: aws.ToInt64(v.Size),
			ETag: unquote(aws.ToString(v.ETag)), LastModified: aws.ToTime(v.LastModified)})
	}
	for _, m := range page.DeleteMarkers {
		if aws.ToString(m.Key) != key {
			return entries, true
		}
		entries = append(entries, reconcile.KeyVersion{VersionID: aws.ToString(m.VersionId), DeleteMarker: true,
			LastModified: aws.ToTime(m.LastModified)})
	}
	return entries, false
}
