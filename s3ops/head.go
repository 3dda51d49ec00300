package s3ops

import (
	"context"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/reconcile"
)

// Head describes the current version of bucket/key; reconcile.ErrNotFound
// when there is none (or the latest version is a delete marker).
func (c *Client) Head(ctx context.Context, bucket, key string) (reconcile.Object, error) {
	out, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(bucket),
		Key:    aws.String(key),
		// Without ChecksumMode=ENABLED S3 leaves out the x-amz-checksum-*
		// headers, and the checksum is half of what proves a copy.
		ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		return reconcile.Object{}, mapError(objectCall("head", bucket, key, "s3:GetObject"), err)
	}
	return objectFromHead(bucket, key, out), nil
}

func objectFromHead(bucket, key string, out *s3.HeadObjectOutput) reconcile.Object {
	// An x-amz-restore that does not parse still says a restore was
	// requested; ParseRestore then reads it as ongoing, and a copy is not
	// tried before the header says otherwise.
	restore, _ := ParseRestore(aws.ToString(out.Restore))
	return reconcile.Object{
		Bucket:       bucket,
		Key:          key,
		VersionID:    aws.ToString(out.VersionId),
		Size:         aws.ToInt64(out.ContentLength),
		ETag:         unquote(aws.ToString(out.ETag)),
		Checksum:     checksumOf(out.ChecksumCRC32, out.ChecksumCRC32C, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256),
		StorageClass: string(out.StorageClass),
		LastModified: aws.ToTime(out.LastModified),
		Restore:      restore,
	}
}

// checksumOf returns the one additional checksum S3 reported. An object has
// at most one; CRC64NVME is checked first because S3 adds it by default.
func checksumOf(crc32, crc32c, crc64nvme, sha1, sha256 *string) reconcile.Checksum {
	for _, c := range []struct {
		alg types.ChecksumAlgorithm
		v   *string
	}{
		{types.ChecksumAlgorithmCrc64nvme, crc64nvme},
		{types.ChecksumAlgorithmCrc32, crc32},
		{types.ChecksumAlgorithmCrc32c, crc32c},
		{types.ChecksumAlgorithmSha1, sha1},
		{types.ChecksumAlgorithmSha256, sha256},
	} {
		if v := aws.ToString(c.v); v != "" {
			return reconcile.Checksum{Algorithm: string(c.alg), Value: v}
		}
	}
	return reconcile.Checksum{}
}

// isCRC reports whether S3 can compute a full-object checksum of alg over a
// multipart upload (ChecksumType FULL_OBJECT): only the CRCs combine that way;
// SHA checksums of a multipart object are checksums of the parts' checksums.
func isCRC(alg string) bool {
	switch types.ChecksumAlgorithm(alg) {
	case types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme:
		return true
	}
	return false
}

// composite reports whether a checksum is of the parts of a multipart
// upload (S3 writes those as "<base64>-<parts>") rather than of the object.
func composite(sum reconcile.Checksum) bool {
	return partsSuffix(sum.Value) > 0
}

// etagParts is the number of parts of a multipart object, from its ETag
// "<md5 of the parts' md5s>-<parts>", or 0 for an object uploaded in one
// piece (whose ETag is the MD5 of its bytes, unless it is KMS-encrypted).
func etagParts(etag string) int { return partsSuffix(unquote(etag)) }

func partsSuffix(s string) int {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 1 || n > MaxParts {
		return 0
	}
	return n
}

func unquote(etag string) string { return strings.Trim(etag, `"`) }

// quote writes an ETag the way S3 sends it and expects it back in
// If-Match and x-amz-copy-source-if-match.
func quote(etag string) *string { return aws.String(`"` + etag + `"`) }
