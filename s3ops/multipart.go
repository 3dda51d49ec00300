package s3ops

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"trashd/reconcile"
)

// abortTimeout bounds the AbortMultipartUpload sent after a failed copy.
const abortTimeout = 30 * time.Second

// part is one byte range of the source, copied as part number n.
type part struct {
	n           int32
	first, last int64 // inclusive offsets, as in a Range header
}

func (p part) size() int64 { return p.last - p.first + 1 }

// copyParts copies src with CreateMultipartUpload, UploadPartCopy for each
// part (PartConcurrency at a time) and CompleteMultipartUpload. Unlike
// CopyObject, a multipart upload does not copy the source's content headers,
// metadata or tags, so they are read from the source and set on the upload.
// Any failure aborts the upload, so that no parts are left behind (S3 keeps,
// and bills, the parts of an unfinished upload until it is aborted).
func (c *Client) copyParts(ctx context.Context, cl call, src reconcile.Object, dstBucket, dstKey string, opts reconcile.CopyOptions) error {
	head, err := c.headSource(ctx, cl, src, 0)
	if err != nil {
		return err
	}
	tags, err := c.sourceTags(ctx, cl, src)
	if err != nil {
		return err
	}
	parts, err := c.layout(ctx, cl, src)
	if err != nil {
		return err
	}

	create := &s3.CreateMultipartUploadInput{
		Bucket:                  aws.String(dstBucket),
		Key:                     aws.String(dstKey),
		ContentType:             head.ContentType,
		ContentEncoding:         head.ContentEncoding,
		ContentDisposition:      head.ContentDisposition,
		ContentLanguage:         head.ContentLanguage,
		CacheControl:            head.CacheControl,
		Metadata:                head.Metadata,
		WebsiteRedirectLocation: head.WebsiteRedirectLocation,
		StorageClass:            types.StorageClass(opts.StorageClass),
	}
	if t, err := http.ParseTime(aws.ToString(head.ExpiresString)); err == nil {
		create.Expires = aws.Time(t)
	}
	if tags != "" {
		create.Tagging = aws.String(tags)
	}
	create.ChecksumAlgorithm, create.ChecksumType = partsChecksum(src.Checksum)
	up, err := c.s3.CreateMultipartUpload(ctx, create)
	if err != nil {
		return mapError(cl, err)
	}
	if opts.OnUpload != nil {
		// Before any part: from here on the upload costs storage, and a
		// process that dies leaves its ID as the only way to remove it.
		if err := opts.OnUpload(aws.ToString(up.UploadId)); err != nil {
			return c.abort(ctx, fmt.Errorf("%s: record multipart upload %s: %w", cl.op, aws.ToString(up.UploadId), err), dstBucket, dstKey, up.UploadId)
		}
	}

	completed, err := c.copyEachPart(ctx, cl, src, dstBucket, dstKey, up.UploadId, parts)
	if err == nil && opts.NoOverwrite && c.byHead(opts) {
		// The parts may have taken minutes; look again right before
		// they become the object.
		err = c.checkFree(ctx, cl, dstBucket, dstKey)
	}
	if err == nil {
		err = c.complete(ctx, cl, dstBucket, dstKey, up.UploadId, completed, create.ChecksumType, opts)
	}
	if err != nil {
		return c.abort(ctx, err, dstBucket, dstKey, up.UploadId)
	}
	return nil
}

// complete completes the upload. With NoOverwrite it sends If-None-Match: *,
// checked when the parts become the object, the moment that would
// overwrite; it is the only condition of the request, so its 412 means the
// destination is taken (ErrDestinationExists).
func (c *Client) complete(ctx context.Context, cl call, bucket, key string, uploadID *string, parts []types.CompletedPart,
	sumType types.ChecksumType, opts reconcile.CopyOptions) error {
	in := &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(bucket),
		Key:             aws.String(key),
		UploadId:        uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		ChecksumType:    sumType,
	}
	if opts.NoOverwrite {
		in.IfNoneMatch = aws.String("*")
	}
	if opts.IfMatch != "" {
		in.IfMatch = quote(opts.IfMatch)
	}
	_, err := c.s3.CompleteMultipartUpload(ctx, in)
	if opts.NoOverwrite && (errorCode(err) == "PreconditionFailed" || httpStatus(err) == 412) {
		return fmt.Errorf("%s: %w: s3://%s/%s is taken, and the copy does not overwrite: %w", cl.op, ErrDestinationExists, bucket, key, err)
	}
	return mapError(cl, err)
}

// partsChecksum is the checksum to ask of a multipart copy so that it can
// be compared with the source's: the same algorithm, FULL_OBJECT for a CRC
// (S3 combines the parts' CRCs into the whole object's), COMPOSITE when the
// source's own checksum is composite (the mirrored layout then reproduces
// it). A full-object SHA cannot be reproduced from parts, so none is asked.
func partsChecksum(sum reconcile.Checksum) (types.ChecksumAlgorithm, types.ChecksumType) {
	switch {
	case sum.Algorithm == "":
		return "", ""
	case composite(sum):
		return types.ChecksumAlgorithm(sum.Algorithm), types.ChecksumTypeComposite
	case isCRC(sum.Algorithm):
		return types.ChecksumAlgorithm(sum.Algorithm), types.ChecksumTypeFullObject
	}
	return "", ""
}

// copyEachPart copies the parts, PartConcurrency at a time, and returns
// them in part order, as CompleteMultipartUpload wants them. The first
// failure cancels the parts still in flight.
func (c *Client) copyEachPart(ctx context.Context, cl call, src reconcile.Object, dstBucket, dstKey string, uploadID *string, parts []part) ([]types.CompletedPart, error) {
	completed := make([]types.CompletedPart, len(parts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.PartConcurrency)
	for i, p := range parts {
		g.Go(func() error {
			in := &s3.UploadPartCopyInput{
				Bucket:     aws.String(dstBucket),
				Key:        aws.String(dstKey),
				UploadId:   uploadID,
				PartNumber: aws.Int32(p.n),
				CopySource: aws.String(copySource(src.Bucket, src.Key, src.VersionID)),
				// Each part is conditional on its own: the source could
				// be overwritten between two parts.
				CopySourceIfMatch: quote(src.ETag),
			}
			if src.Size > 0 {
				in.CopySourceRange = aws.String(fmt.Sprintf("bytes=%d-%d", p.first, p.last))
			}
			out, err := c.s3.UploadPartCopy(gctx, in)
			if err != nil {
				return mapError(cl.part(p.n, len(parts)), err)
			}
			completed[i] = completedPart(p.n, out.CopyPartResult)
			return nil
		})
	}
	return completed, g.Wait()
}

func completedPart(n int32, r *types.CopyPartResult) types.CompletedPart {
	p := types.CompletedPart{PartNumber: aws.Int32(n)}
	if r != nil {
		p.ETag = r.ETag
		p.ChecksumCRC32 = r.ChecksumCRC32
		p.ChecksumCRC32C = r.ChecksumCRC32C
		p.ChecksumCRC64NVME = r.ChecksumCRC64NVME
		p.ChecksumSHA1 = r.ChecksumSHA1
		p.ChecksumSHA256 = r.ChecksumSHA256
	}
	return p
}

// abort aborts the upload after err and returns err. It runs on a context
// of its own: when the copy failed because ctx was cancelled (shutdown), the
// abort must still go out.
func (c *Client) abort(ctx context.Context, err error, bucket, key string, uploadID *string) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	if abortErr := c.AbortUpload(actx, bucket, key, aws.ToString(uploadID)); abortErr != nil {
		return fmt.Errorf("%w (and the abort failed: %v)", err, abortErr)
	}
	return err
}

// AbortUpload aborts the multipart upload uploadID of bucket/key, so that S3
// frees (and stops billing) its parts; an upload that is already gone
// (completed, aborted, or never there: 404 NoSuchUpload) is not an error. It
// is how a caller that recorded an ID through CopyOptions.OnUpload removes
// what a copy that died left behind. A part copy still in flight during the
// abort may yet land (AWS says to abort again then); a copy that died has
// none in flight.
func (c *Client) AbortUpload(ctx context.Context, bucket, key, uploadID string) error {
	_, err := c.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
	})
	if err == nil || errorCode(err) == "NoSuchUpload" || (httpStatus(err) == 404 && errorCode(err) != "NoSuchBucket") {
		return nil
	}
	cl := objectCall("abort multipart upload "+uploadID+" of", bucket, key, "s3:AbortMultipartUpload")
	return mapError(cl, err)
}

// layout splits src into parts: a multipart source's own layout, so that
// the copy's ETag comes out the same (it already keeps within S3's limits),
// or a new layout of PartSize parts, grown for a large source.
func (c *Client) layout(ctx context.Context, cl call, src reconcile.Object) ([]part, error) {
	if n := etagParts(src.ETag); n > 0 {
		return c.mirrorLayout(ctx, cl, src, n)
	}
	parts, err := fixedLayout(src.Size, c.opts.PartSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", cl.op, reconcile.ErrPermanent, err)
	}
	return parts, nil
}

// mirrorLayout reads the size of each of src's n parts (HEAD with
// partNumber answers with that part's Content-Length).
func (c *Client) mirrorLayout(ctx context.Context, cl call, src reconcile.Object, n int) ([]part, error) {
	sizes := make([]int64, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.PartConcurrency)
	for i := range sizes {
		g.Go(func() error {
			out, err := c.headSource(gctx, cl, src, int32(i+1))
			if err != nil {
				return err
			}
			sizes[i] = aws.ToInt64(out.ContentLength)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	parts := make([]part, n)
	var off int64
	for i, size := range sizes {
		if size == 0 && src.Size > 0 {
			return nil, fmt.Errorf("%s: %w: part %d of the source is empty, and S3 cannot copy an empty range", cl.op, reconcile.ErrPermanent, i+1)
		}
		parts[i] = part{n: int32(i + 1), first: off, last: off + size - 1}
		off += size
	}
	if off != src.Size {
		return nil, fmt.Errorf("%s: %w: the source's %d parts add up to %d bytes, not its size %d", cl.op, reconcile.ErrPermanent, n, off, src.Size)
	}
	return parts, nil
}

// fixedLayout splits size bytes into parts of partSize, grown where needed
// to stay within S3's 10,000 parts: to ceil(size / 10,000) rounded up to a
// MiB, which is at most 5 GiB (MaxPartSize, itself a whole number of MiB)
// for any size up to MaxObjectSize. A 50 TB object gets parts of 4,769 MiB.
// A larger size cannot be copied in parts at all. partSize is within S3's
// part limits (Options.Validate).
func fixedLayout(size, partSize int64) ([]part, error) {
	if size > MaxObjectSize {
		return nil, fmt.Errorf("%d bytes is more than %d parts of %s can hold (%d bytes), the most S3 takes", size, MaxParts, sizeText(MaxPartSize), MaxObjectSize)
	}
	if least := (size + MaxParts - 1) / MaxParts; least > partSize {
		partSize = (least + 1<<20 - 1) &^ (1<<20 - 1)
	}
	var parts []part
	for off, n := int64(0), int32(1); off < size || n == 1; off, n = off+partSize, n+1 {
		parts = append(parts, part{n: n, first: off, last: min(off+partSize, size) - 1})
	}
	return parts, nil
}

// headSource HEADs exactly src's version, on condition of its ETag, and
// with partNumber > 0 just that part.
func (c *Client) headSource(ctx context.Context, cl call, src reconcile.Object, partNumber int32) (*s3.HeadObjectOutput, error) {
	in := &s3.HeadObjectInput{
		Bucket:       aws.String(src.Bucket),
		Key:          aws.String(src.Key),
		IfMatch:      quote(src.ETag),
		ChecksumMode: types.ChecksumModeEnabled,
	}
	if src.VersionID != "" {
		in.VersionId = aws.String(src.VersionID)
	}
	if partNumber > 0 {
		in.PartNumber = aws.Int32(partNumber)
	}
	out, err := c.headObject(ctx, in)
	if err != nil {
		return nil, mapError(cl, err)
	}
	return out, nil
}

// sourceTags returns src's tags encoded for the x-amz-tagging header
// ("k1=v1&k2=v2", each side URL-encoded), "" when it has none.
func (c *Client) sourceTags(ctx context.Context, cl call, src reconcile.Object) (string, error) {
	in := &s3.GetObjectTaggingInput{Bucket: aws.String(src.Bucket), Key: aws.String(src.Key)}
	if src.VersionID != "" {
		in.VersionId = aws.String(src.VersionID)
	}
	out, err := c.s3.GetObjectTagging(ctx, in)
	if err != nil {
		return "", mapError(cl, err)
	}
	pairs := make([]string, len(out.TagSet))
	for i, t := range out.TagSet {
		pairs[i] = escape(aws.ToString(t.Key), false) + "=" + escape(aws.ToString(t.Value), false)
	}
	return strings.Join(pairs, "&"), nil
}
