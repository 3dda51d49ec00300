package s3ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"trashd/reconcile"
)

// MaxDeleteBatch is the most keys one DeleteObjects request takes.
const MaxDeleteBatch = 1000

// DeleteBatch deletes exactly objs, all in bucket, in DeleteObjects
// requests of up to MaxDeleteBatch keys: each object by its VersionID, else
// (with ConditionalDelete) on condition of its ETag, the per-object form of
// Delete's If-Match. Each request is sent once, as Delete's is. It returns
// one error per object: nil for one deleted (or, by version, already gone),
// reconcile.ErrPreconditionFailed for one whose ETag no longer matched,
// reconcile.ErrNotFound for a conditional delete of a key that is gone
// (AWS and SeaweedFS answer NoSuchKey), and reconcile.ErrBatchFailed with
// the request's own error for every object of a request that failed as a
// whole (its not found or precondition failed are the request's, not the
// objects'; a request its send guard stopped also wraps
// reconcile.ErrStale). After a 501 the Client sends no more DeleteObjects.
//
// An object whose answer could be mistaken for another's is not put in a
// DeleteObjects: a key that XML cannot carry as it is (batchable says
// which), and a key already named in the request (two records of one
// object), are deleted on their own with Delete, each on its own condition,
// and get Delete's errors.
func (c *Client) DeleteBatch(ctx context.Context, bucket string, objs []reconcile.Object) []error {
	errs := make([]error, len(objs))
	var batch, alone []int
	named := make(map[string]bool, len(objs))
	for i, o := range objs {
		switch {
		case o.Bucket != bucket:
			// Never sent: its key would name an object of bucket.
			errs[i] = fmt.Errorf("delete s3://%s/%s with the objects of s3://%s: it is in another bucket", o.Bucket, o.Key, bucket)
		case !batchable(o.Key) || named[o.Key]:
			alone = append(alone, i)
		default:
			named[o.Key] = true
			batch = append(batch, i)
		}
	}
	for start := 0; start < len(batch); start += MaxDeleteBatch {
		c.deleteBatch(ctx, bucket, objs, batch[start:min(start+MaxDeleteBatch, len(batch))], errs)
	}
	for _, i := range alone {
		errs[i] = c.Delete(ctx, objs[i])
	}
	return errs
}

// deleteBatch deletes objs[i] for each i of idx in one DeleteObjects and
// sets errs[i]. No two of them have the same key.
func (c *Client) deleteBatch(ctx context.Context, bucket string, objs []reconcile.Object, idx []int, errs []error) {
	cl := call{
		op:      fmt.Sprintf("delete %d objects in s3://%s", len(idx), bucket),
		buckets: []string{bucket},
		allow:   fmt.Sprintf("s3:DeleteObject and s3:DeleteObjectVersion on arn:aws:s3:::%s/*", bucket),
	}
	ids := make([]types.ObjectIdentifier, len(idx))
	at := make(map[string]int, len(idx))
	for n, i := range idx {
		o := objs[i]
		ids[n] = types.ObjectIdentifier{Key: aws.String(o.Key)}
		switch {
		case o.VersionID != "":
			ids[n].VersionId = aws.String(o.VersionID)
		case c.opts.ConditionalDelete && o.ETag != "":
			ids[n].ETag = quote(o.ETag)
		}
		at[o.Key] = i
	}
	fail := func(err error) {
		// The request's error says nothing of any one object: not
		// found, precondition failed and the like are the request's, so
		// they are not passed on as the objects' own. A stale guard's is
		// kept reachable: nothing was sent, and the caller must fence
		// again before it sends anything.
		if errors.Is(err, reconcile.ErrStale) {
			err = fmt.Errorf("%s: %w: %w", cl.op, reconcile.ErrBatchFailed, err)
		} else {
			err = fmt.Errorf("%s: %w: %v", cl.op, reconcile.ErrBatchFailed, err)
		}
		for _, i := range idx {
			errs[i] = err
		}
	}
	if c.noBatch.Load() {
		fail(errors.New("the server does not implement DeleteObjects"))
		return
	}
	out, err := c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(bucket),
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(false)},
	}, sendOnce)
	if err != nil {
		if notImplemented(err) {
			c.noBatch.Store(true)
		}
		fail(mapError(cl, err))
		return
	}
	answered := make(map[int]bool, len(idx))
	answer := func(key, version string, e error) {
		i, ok := at[key]
		if !ok || objs[i].VersionID != version {
			return // not an object of this request as it was named
		}
		if answered[i] {
			e = fmt.Errorf("%s: %w: the response answers more than once for s3://%s/%s", cl.op, reconcile.ErrTransient, bucket, key)
		}
		errs[i], answered[i] = e, true
	}
	for _, d := range out.Deleted {
		answer(aws.ToString(d.Key), aws.ToString(d.VersionId), nil)
	}
	for _, e := range out.Errors {
		key, version := aws.ToString(e.Key), aws.ToString(e.VersionId)
		ocl := objectCall("delete", bucket, key, "s3:DeleteObject and s3:DeleteObjectVersion")
		err := mapError(ocl, &smithy.GenericAPIError{Code: aws.ToString(e.Code), Message: aws.ToString(e.Message)})
		if version != "" && errors.Is(err, reconcile.ErrNotFound) {
			err = nil // a version already gone: what was asked, as Delete
		}
		answer(key, version, err)
	}
	for _, i := range idx {
		if !answered[i] {
			errs[i] = fmt.Errorf("%s: %w: the response says nothing of s3://%s/%s", cl.op, reconcile.ErrTransient, bucket, objs[i].Key)
		}
	}
}

// batchable reports whether key survives a DeleteObjects both ways: named in
// the request's XML and recognized in the answer's.
//
// XML 1.0 cannot carry the control characters below U+0020 other than TAB,
// LF and CR, nor U+FFFE and U+FFFF, nor bytes that are not UTF-8: the SDK's
// encoder writes U+FFFD for each, so the request would name another key
// ("a\x01b" deletes "a\uFFFDb"). CR goes the other way: an XML parser turns
// a CR written as such, or CR LF, into LF, so a server that writes keys
// unescaped (AWS does not promise to escape them) answers for "a\rb" in
// words that decode as "a\nb", another key. TAB and LF are kept: the SDK
// escapes them, and a parser leaves them as they are in element content.
// Keys with any of the others are deleted one by one, named in the URL.
func batchable(key string) bool {
	for i, r := range key {
		switch {
		case r == '\r':
			return false
		case r == utf8.RuneError && !strings.HasPrefix(key[i:], "\uFFFD"):
			return false // not UTF-8
		case !xmlChar(r):
			return false
		}
	}
	return true
}

// xmlChar reports whether XML 1.0 can carry r (its Char production).
func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
