package s3test

import (
	"bytes"
	"crypto/rand"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// RandomBytes returns n random bytes, for object bodies whose parts must
// differ.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// PutObject uploads body to bucket/key in one request. The options set
// anything else on the request: content type, metadata, tagging, a checksum
// algorithm (the SDK then computes and sends that checksum).
func PutObject(tb testing.TB, c *s3.Client, bucket, key string, body []byte, opts ...func(*s3.PutObjectInput)) *s3.PutObjectOutput {
	tb.Helper()
	in := &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	}
	for _, o := range opts {
		o(in)
	}
	out, err := c.PutObject(tb.Context(), in)
	if err != nil {
		tb.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
	return out
}

// PutMultipart uploads body to bucket/key as a multipart upload in parts of
// partSize bytes (the last one shorter). The options set anything else on
// CreateMultipartUpload; when one sets a ChecksumAlgorithm, every part is
// sent with that checksum and CompleteMultipartUpload lists them.
func PutMultipart(tb testing.TB, c *s3.Client, bucket, key string, body []byte, partSize int, opts ...func(*s3.CreateMultipartUploadInput)) *s3.CompleteMultipartUploadOutput {
	tb.Helper()
	ctx := tb.Context()
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	for _, o := range opts {
		o(in)
	}
	up, err := c.CreateMultipartUpload(ctx, in)
	if err != nil {
		tb.Fatalf("create multipart upload s3://%s/%s: %v", bucket, key, err)
	}
	var parts []types.CompletedPart
	for n, off := int32(1), 0; ; n, off = n+1, off+partSize {
		end := min(off+partSize, len(body))
		chunk := body[off:end]
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{
			Bucket:            aws.String(bucket),
			Key:               aws.String(key),
			UploadId:          up.UploadId,
			PartNumber:        aws.Int32(n),
			Body:              bytes.NewReader(chunk),
			ContentLength:     aws.Int64(int64(len(chunk))),
			ChecksumAlgorithm: in.ChecksumAlgorithm,
		})
		if err != nil {
			tb.Fatalf("upload part %d of s3://%s/%s: %v", n, bucket, key, err)
		}
		parts = append(parts, types.CompletedPart{
			PartNumber:        aws.Int32(n),
			ETag:              out.ETag,
			ChecksumCRC32:     out.ChecksumCRC32,
			ChecksumCRC32C:    out.ChecksumCRC32C,
			ChecksumCRC64NVME: out.ChecksumCRC64NVME,
			ChecksumSHA1:      out.ChecksumSHA1,
			ChecksumSHA256:    out.ChecksumSHA256,
		})
		if end == len(body) {
			break
		}
	}
	out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(bucket),
		Key:             aws.String(key),
		UploadId:        up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		ChecksumType:    in.ChecksumType,
	})
	if err != nil {
		tb.Fatalf("complete multipart upload s3://%s/%s: %v", bucket, key, err)
	}
	return out
}

// Tagging encodes tags the way the x-amz-tagging header wants them.
func Tagging(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = queryEscape(k) + "=" + queryEscape(tags[k])
	}
	return strings.Join(pairs, "&")
}

// queryEscape is url.QueryEscape with spaces as %20, which every server
// reads as a space.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// Tags returns bucket/key's tags.
func Tags(tb testing.TB, c *s3.Client, bucket, key string) map[string]string {
	tb.Helper()
	out, err := c.GetObjectTagging(tb.Context(), &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		tb.Fatalf("get tagging of s3://%s/%s: %v", bucket, key, err)
	}
	tags := make(map[string]string, len(out.TagSet))
	for _, t := range out.TagSet {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags
}

// Get returns bucket/key's bytes.
func Get(tb testing.TB, c *s3.Client, bucket, key string) []byte {
	tb.Helper()
	out, err := c.GetObject(tb.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		tb.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(out.Body); err != nil {
		tb.Fatalf("read s3://%s/%s: %v", bucket, key, err)
	}
	return buf.Bytes()
}

// Uploads returns the keys of bucket's unfinished multipart uploads.
func Uploads(tb testing.TB, c *s3.Client, bucket string) []string {
	tb.Helper()
	out, err := c.ListMultipartUploads(tb.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		tb.Fatalf("list multipart uploads in %s: %v", bucket, err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	return keys
}
