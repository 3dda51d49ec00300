package s3ops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

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
	out, err := c.s3.CopyObject(ctx, copyObjectInput(src, dstBucket, dstKey, opts))
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

// probePrefix is where BatchConditions puts its probe objects in the trash
// bucket, beside the copies but never one of them (trash keys start with
// the record's id). Each probe has a key of its own: processes probing at
// once must not see each other's objects.
const probePrefix = ".trashd-probe/"

// probeKey is a new probe object's key.
func probeKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return probePrefix + "batch-delete-conditions-" + hex.EncodeToString(b)
}

// BatchConditions probes, once per bucket for the life of the Client,
// whether the server honours the per-object ETag of DeleteObjects: it puts
// a small object, asks DeleteObjects to delete it on condition of another
// ETag, and looks whether it is still there; then it removes it. A server
// that deleted it anyway would delete a source overwritten since its copy,
// so batched deletes are used only where the answer is yes. A server that
// refuses the per-object ETag (501, or MalformedXML from one whose schema
// predates it) gets false too, without an error. Without ConditionalDelete
// there is nothing to honour: false.
func (c *Client) BatchConditions(ctx context.Context, bucket string) (bool, error) {
	if !c.opts.ConditionalDelete {
		return false, nil
	}
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	if ok, done := c.probed[bucket]; done {
		return ok, nil
	}
	ok, err := c.probeBatchConditions(ctx, bucket)
	if err != nil {
		return false, fmt.Errorf("probe whether s3://%s honours the conditions of batched deletes: %w", bucket, err)
	}
	if c.probed == nil {
		c.probed = map[string]bool{}
	}
	c.probed[bucket] = ok
	return ok, nil
}

func (c *Client) probeBatchConditions(ctx context.Context, bucket string) (bool, error) {
	probeKey := probeKey()
	cl := objectCall("put", bucket, probeKey, "s3:PutObject")
	put, err := c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(probeKey), Body: stringBody("probe")})
	if err != nil {
		return false, mapError(cl, err)
	}
	probe := reconcile.Object{Bucket: bucket, Key: probeKey, VersionID: aws.ToString(put.VersionId), ETag: unquote(aws.ToString(put.ETag))}
	defer func() {
		// The probe's own version, or the key: nothing else is there.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultProbeCleanup)
		defer cancel()
		_ = c.Delete(cctx, reconcile.Object{Bucket: bucket, Key: probeKey, VersionID: probe.VersionID})
	}()
	wrong := reconcile.Object{Bucket: bucket, Key: probeKey, ETag: "00000000000000000000000000000000"}
	err = c.deleteBatchOne(ctx, wrong)
	switch {
	case errors.Is(err, reconcile.ErrPreconditionFailed):
	case err == nil:
		// Deleted against the condition, or the condition ignored.
		return false, nil
	case notImplemented(err):
		return false, nil // the server does not do per-object conditions
	case errorCode(err) == "MalformedXML":
		// A server that predates per-object conditions finds an ETag
		// element its schema does not have, and refuses the request.
		return false, nil
	case errors.Is(err, reconcile.ErrPermanent), errors.Is(err, reconcile.ErrTransient):
		return false, err
	default:
		return false, nil
	}
	if _, err := c.Head(ctx, bucket, probeKey); err != nil {
		if errors.Is(err, reconcile.ErrNotFound) {
			return false, nil // refused in words, deleted in deed
		}
		return false, err
	}
	return true, nil
}

// deleteBatchOne sends a DeleteObjects of obj alone, on condition of its
// ETag whatever ConditionalDelete says.
func (c *Client) deleteBatchOne(ctx context.Context, obj reconcile.Object) error {
	out, err := c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(obj.Bucket),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String(obj.Key), ETag: quote(obj.ETag)}}},
	}, sendOnce)
	cl := objectCall("delete", obj.Bucket, obj.Key, "s3:DeleteObject")
	if err != nil {
		return mapError(cl, err)
	}
	for _, e := range out.Errors {
		return mapError(cl, &smithy.GenericAPIError{Code: aws.ToString(e.Code), Message: aws.ToString(e.Message)})
	}
	return nil
}

// defaultProbeCleanup bounds the removal of the probe object.
const defaultProbeCleanup = 10 * time.Second

func stringBody(s string) io.Reader { return strings.NewReader(s) }

// probeState is the Client's memory of BatchConditions' answers, and of a
// server that does not implement DeleteObjects at all.
type probeState struct {
	probeMu sync.Mutex
	probed  map[string]bool
	noBatch atomic.Bool
}
