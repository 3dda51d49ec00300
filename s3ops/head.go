package s3ops

import (
	"context"
	"errors"
	"fmt"
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
	return c.HeadVersion(ctx, bucket, key, "")
}

// HeadVersion describes exactly the version versionID of bucket/key
// (versionID "" is the current version, as Head); reconcile.ErrNotFound
// when that version does not exist, even if the key has other versions.
//
// A HEAD answers a missing version with a bare 404 (no body, so no
// NoSuchVersion code). It answers a version ID that the server cannot read
// as one with a bare 400: AWS's InvalidArgument for a malformed ID, and
// SeaweedFS's for any ID but "null" on a bucket that never had versioning.
// A bare 400 could as well be a request the server refuses for another
// reason (a wrong region, on AWS), so it counts as ErrNotFound only when a
// HEAD of the key without the version is answered, found or not found: then
// the version ID was what the server refused.
func (c *Client) HeadVersion(ctx context.Context, bucket, key, versionID string) (reconcile.Object, error) {
	in := &s3.HeadObjectInput{
		Bucket: aws.String(bucket),
		Key:    aws.String(key),
		// Without ChecksumMode=ENABLED S3 leaves out the x-amz-checksum-*
		// headers, and the checksum is half of what proves a copy.
		ChecksumMode: types.ChecksumModeEnabled,
	}
	cl := objectCall("head", bucket, key, "s3:GetObject")
	if versionID != "" {
		in.VersionId = aws.String(versionID)
		cl = objectCall("head", bucket, key, "s3:GetObject and s3:GetObjectVersion")
		cl.op += " version " + versionID
	}
	out, err := c.headObject(ctx, in)
	if err != nil {
		if versionID != "" && httpStatus(err) == 400 && c.keyAnswers(ctx, bucket, key) {
			return reconcile.Object{}, fmt.Errorf("%s: %w: the server refused the version id (HTTP 400 %s): %w",
				cl.op, reconcile.ErrNotFound, errorCode(err), err)
		}
		return reconcile.Object{}, mapError(cl, err)
	}
	return objectFromHead(bucket, key, out), nil
}

// keyAnswers reports whether a HEAD of bucket/key's current version gets an
// answer about the object: found, or not found.
func (c *Client) keyAnswers(ctx context.Context, bucket, key string) bool {
	_, err := c.headObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return err == nil || errors.Is(mapError(call{}, err), reconcile.ErrNotFound)
}

func objectFromHead(bucket, key string, out *s3.HeadObjectOutput) reconcile.Object {
	// An x-amz-restore that does not parse still says a restore was
	// requested; the raw header is kept so that it can be reported, and it
	// makes the object unreadable (reconcile.Object.Readable), so that a
	// copy is not tried before the header says otherwise.
	restore, err := ParseRestore(aws.ToString(out.Restore))
	if err != nil {
		restore.Requested = true
		restore.Unparsed = aws.ToString(out.Restore)
	}
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
		// An INTELLIGENT_TIERING object in an archive access tier is not
		// readable until restored, although its class alone does not say
		// so (AWS, HeadObject x-amz-archive-status).
		ArchiveStatus: string(out.ArchiveStatus),
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
