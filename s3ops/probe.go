package s3ops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"trashd/reconcile"
)

// probeWrongETag is the ETag a probe's stale conditions name: no object the
// probe puts has it (it is the MD5 of none of their bodies).
const probeWrongETag = "00000000000000000000000000000000"

// ProbeConditions probes, on bucket, each condition a move relies on
// (reconcile.Conditions), with objects of its own under
// reconcile.ProbePrefix + a random name + "/": "a" and "b", put first, and
// "c", which must never come to exist. For each condition it sends a
// request the condition must refuse and then looks at the object the
// request would have changed:
//
//   - copy_if_none_match: CopyObject a→b with If-None-Match: *;
//   - complete_if_none_match: a multipart upload at b's key (one part,
//     copied from a), completed with If-None-Match: *, then aborted;
//   - copy_source_if_match: CopyObject a→c on condition of a wrong ETag;
//   - delete_if_match: DeleteObject a with If-Match on a wrong ETag;
//   - batch_delete_etag: DeleteObjects of a with a wrong per-object ETag.
//
// The answer is judged by what the object is afterwards, not by the answer
// alone (judge says how): a server that dropped a condition may still
// answer 412, and an SDK retry after a lost response meets the first
// attempt's own effect. So the probe's requests keep the SDK's retries.
//
// Then it removes everything under its own prefix (every version, on a
// versioned bucket) and what probes killed midway left there more than an
// hour ago (probeclean.go). On a server that honours every condition that
// is 17 requests: 2 puts, 5 conditional requests, 5 HEADs, the multipart
// upload's create, part and abort, one listing and one DeleteObjects.
//
// The error is non-nil only when nothing could be probed (the first object
// could not be put) or ctx ended; the Capabilities then say Unknown for
// every condition that was not judged. The IAM actions it needs on
// bucket/.trashd-probe/* are in systemd/iam-policy.json.
func (c *Client) ProbeConditions(ctx context.Context, bucket string) (reconcile.Capabilities, error) {
	return c.probeConditions(ctx, bucket, reconcile.Conditions())
}

// probeConditions probes the conditions of only on bucket, as
// ProbeConditions does, and answers for those alone.
func (c *Client) probeConditions(ctx context.Context, bucket string, only []reconcile.Condition) (reconcile.Capabilities, error) {
	caps := reconcile.Capabilities{
		Bucket:   bucket,
		ProbedAt: c.opts.Now(),
		Answers:  make(map[reconcile.Condition]reconcile.Answer),
		Why:      make(map[reconcile.Condition]string),
	}
	want := func(cond reconcile.Condition) bool { return slices.Contains(only, cond) }
	judged := func(cond reconcile.Condition, t attempt) { caps.Answers[cond], caps.Why[cond] = judge(t) }
	notProbed := func(err error, conds ...reconcile.Condition) {
		if err == nil {
			return
		}
		for _, cond := range conds {
			if _, done := caps.Answers[cond]; !done && want(cond) {
				caps.Answers[cond], caps.Why[cond] = reconcile.Unknown, "not probed: "+err.Error()
			}
		}
	}

	p := &probe{c: c, bucket: bucket, dir: reconcile.ProbePrefix + randomName() + "/"}
	a, err := p.put(ctx, "a")
	if err != nil {
		err = fmt.Errorf("probe the conditions of s3://%s: %w", bucket, err)
		notProbed(err, only...)
		return caps, err
	}
	defer p.cleanUp(ctx)
	caps.Versioned = p.versioned

	if want(reconcile.CondCopyIfNoneMatch) || want(reconcile.CondCompleteIfNoneMatch) {
		b, err := p.put(ctx, "b")
		if err == nil && want(reconcile.CondCopyIfNoneMatch) {
			t := p.copyOver(ctx, a, b)
			judged(reconcile.CondCopyIfNoneMatch, t)
			b, err = p.ready(ctx, t)
		}
		if err == nil && want(reconcile.CondCompleteIfNoneMatch) {
			judged(reconcile.CondCompleteIfNoneMatch, p.completeOver(ctx, a, b))
		}
		notProbed(err, reconcile.CondCopyIfNoneMatch, reconcile.CondCompleteIfNoneMatch)
	}
	if want(reconcile.CondCopySourceIfMatch) {
		judged(reconcile.CondCopySourceIfMatch, p.copyStale(ctx, a))
	}
	if want(reconcile.CondDeleteIfMatch) {
		t := p.deleteStale(ctx, a)
		judged(reconcile.CondDeleteIfMatch, t)
		// A server that deleted a against its condition leaves nothing
		// for the batched delete to refuse: put it back first.
		a, err = p.ready(ctx, t)
	}
	if err == nil && want(reconcile.CondBatchDeleteETag) {
		judged(reconcile.CondBatchDeleteETag, p.batchStale(ctx, a))
	}
	notProbed(err, reconcile.CondBatchDeleteETag)

	if err := ctx.Err(); err != nil {
		// Answers cut short by the caller say nothing of the server.
		return caps, fmt.Errorf("probe the conditions of s3://%s: %w", bucket, err)
	}
	return caps, nil
}

// probe is one run of ProbeConditions on one bucket.
type probe struct {
	c         *Client
	bucket    string
	dir       string // this run's own prefix
	versioned bool   // the first put got a version id
	// seen are the objects and versions this run put or saw, removed even
	// when the listing fails.
	seen []types.ObjectIdentifier
}

// probeObject is what a probe knows of one of its keys.
type probeObject struct {
	key           string
	exists        bool
	etag, version string
}

// attempt is one condition's request and what the probe saw of its
// object before and after it.
type attempt struct {
	// header names the condition as a server that refuses it would, in an
	// InvalidArgument or InvalidRequest message.
	header string
	setup  error // the request could not be prepared (a part, say)
	sent   error // the answer to the request the condition must refuse
	before probeObject
	after  probeObject
	looked error // the look afterwards failed
}

// judge turns an attempt into an answer and says why:
//
//   - a success is NotHonoured: the server did what the condition forbids
//     (or said it did);
//   - a refusal (412, or a per-object PreconditionFailed) is Honoured only
//     if the object is afterwards as it was: a refusal in words with the
//     object deleted, overwritten or made is NotHonoured;
//   - an answer that refuses the condition itself (NotImplemented, 501,
//     MalformedXML, or InvalidArgument or InvalidRequest naming its
//     header) is NotHonoured;
//   - anything else (AccessDenied, an outage) is Unknown, with the error.
func judge(t attempt) (reconcile.Answer, string) {
	switch {
	case t.setup != nil:
		return reconcile.Unknown, "not probed: " + t.setup.Error()
	case t.sent == nil:
		return reconcile.NotHonoured, "the server did what the condition forbids (a success answer)" + t.seenAfter()
	case errors.Is(t.sent, reconcile.ErrPreconditionFailed):
		switch change := t.change(); {
		case t.looked != nil:
			return reconcile.Unknown, "412, but the object could not be looked at afterwards: " + t.looked.Error()
		case change != "":
			return reconcile.NotHonoured, "412 in words, but " + change + " in deed"
		}
		return reconcile.Honoured, "412, and the object is as it was"
	case refusesCondition(t.sent, t.header):
		return reconcile.NotHonoured, fmt.Sprintf("the server refuses the condition (%s): %s", refusal(t.sent), t.sent.Error())
	}
	return reconcile.Unknown, t.sent.Error()
}

// change says how the object differs from before, "" when it does not.
func (t attempt) change() string {
	switch {
	case t.before.exists && !t.after.exists:
		return "the object was deleted"
	case !t.before.exists && t.after.exists:
		return "the object was made"
	case t.before.exists && (t.before.etag != t.after.etag || t.before.version != t.after.version):
		return "the object was overwritten"
	}
	return ""
}

func (t attempt) seenAfter() string {
	if change := t.change(); t.looked == nil && change != "" {
		return ": " + change
	}
	return ""
}

// refusesCondition reports whether err is a server's refusal of the
// condition itself: a feature it does not have (501 NotImplemented), an
// element its schema does not know (MalformedXML, from a server that
// predates the per-object ETag of DeleteObjects), or a header it calls
// invalid by name.
func refusesCondition(err error, header string) bool {
	switch code := errorCode(err); {
	case notImplemented(err), code == "MalformedXML":
		return true
	case code == "InvalidArgument" || code == "InvalidRequest":
		var apiErr smithy.APIError
		return errors.As(err, &apiErr) && strings.Contains(strings.ToLower(apiErr.ErrorMessage()), strings.ToLower(header))
	}
	return false
}

func refusal(err error) string {
	if code := errorCode(err); code != "" {
		return code
	}
	return fmt.Sprintf("HTTP %d", httpStatus(err))
}

// call describes a probe request on key, for its error.
func (p *probe) call(op, key string) call {
	return call{
		op:      fmt.Sprintf("probe: %s s3://%s/%s", op, p.bucket, key),
		buckets: []string{p.bucket},
		keys:    []string{key},
		allow: fmt.Sprintf("s3:PutObject, s3:GetObject, s3:DeleteObject, s3:DeleteObjectVersion and s3:AbortMultipartUpload on arn:aws:s3:::%s/%s*",
			p.bucket, reconcile.ProbePrefix),
	}
}

// put puts the probe object name, its body telling it from the others.
func (p *probe) put(ctx context.Context, name string) (probeObject, error) {
	key := p.dir + name
	out, err := p.c.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(p.bucket), Key: aws.String(key), Body: strings.NewReader("trashd probe " + name),
	})
	if err != nil {
		return probeObject{}, mapError(p.call("put", key), err)
	}
	version := aws.ToString(out.VersionId)
	// An unversioned bucket names its one version "null", if at all.
	p.versioned = p.versioned || (version != "" && version != "null")
	p.saw(key, version)
	return probeObject{key: key, exists: true, etag: unquote(aws.ToString(out.ETag)), version: version}, nil
}

// look is what is at key now.
func (p *probe) look(ctx context.Context, key string) (probeObject, error) {
	obj, err := p.c.Head(ctx, p.bucket, key)
	switch {
	case errors.Is(err, reconcile.ErrNotFound):
		return probeObject{key: key}, nil
	case err != nil:
		return probeObject{key: key}, err
	}
	p.saw(key, obj.VersionID)
	return probeObject{key: key, exists: true, etag: obj.ETag, version: obj.VersionID}, nil
}

// after completes t with a look at its object.
func (p *probe) after(ctx context.Context, t attempt) attempt {
	t.after, t.looked = p.look(ctx, t.before.key)
	return t
}

// ready is t's object as the next attempt needs it: as t left it, or put
// again where t's request deleted it or the look could not tell.
func (p *probe) ready(ctx context.Context, t attempt) (probeObject, error) {
	if t.looked == nil && t.after.exists {
		return t.after, nil
	}
	return p.put(ctx, strings.TrimPrefix(t.before.key, p.dir))
}

func (p *probe) saw(key, version string) {
	id := types.ObjectIdentifier{Key: aws.String(key)}
	if version != "" && version != "null" {
		id.VersionId = aws.String(version)
	}
	p.seen = append(p.seen, id)
}

// copyOver copies a over b with If-None-Match: *.
func (p *probe) copyOver(ctx context.Context, a, b probeObject) attempt {
	_, err := p.c.s3.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:      aws.String(p.bucket),
		Key:         aws.String(b.key),
		CopySource:  aws.String(copySource(p.bucket, a.key, "")),
		IfNoneMatch: aws.String("*"),
	})
	return p.after(ctx, attempt{header: "If-None-Match", sent: mapError(p.call("copy over", b.key), err), before: b})
}

// completeOver completes a multipart upload of one part (a copy of a: a
// lone part may be small) at b's key with If-None-Match: *, and aborts
// the upload whatever happened.
func (p *probe) completeOver(ctx context.Context, a, b probeObject) attempt {
	t := attempt{header: "If-None-Match", before: b}
	cl := p.call("complete a multipart upload over", b.key)
	up, err := p.c.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(p.bucket), Key: aws.String(b.key)})
	if err != nil {
		t.setup = fmt.Errorf("start a multipart upload: %w", mapError(cl, err))
		return t
	}
	defer func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		_ = p.c.AbortUpload(actx, p.bucket, b.key, aws.ToString(up.UploadId))
	}()
	part, err := p.c.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
		Bucket:     aws.String(p.bucket),
		Key:        aws.String(b.key),
		UploadId:   up.UploadId,
		PartNumber: aws.Int32(1),
		CopySource: aws.String(copySource(p.bucket, a.key, "")),
	})
	if err != nil {
		t.setup = fmt.Errorf("copy a part: %w", mapError(cl, err))
		return t
	}
	_, err = p.c.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(p.bucket),
		Key:             aws.String(b.key),
		UploadId:        up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{completedPart(1, part.CopyPartResult)}},
		IfNoneMatch:     aws.String("*"),
	})
	t.sent = mapError(cl, err)
	return p.after(ctx, t)
}

// copyStale copies a to c, which does not exist, on condition of a wrong
// ETag of a.
func (p *probe) copyStale(ctx context.Context, a probeObject) attempt {
	key := p.dir + "c"
	_, err := p.c.s3.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:            aws.String(p.bucket),
		Key:               aws.String(key),
		CopySource:        aws.String(copySource(p.bucket, a.key, "")),
		CopySourceIfMatch: quote(probeWrongETag),
	})
	return p.after(ctx, attempt{header: "copy-source-if-match", sent: mapError(p.call("copy to", key), err), before: probeObject{key: key}})
}

// deleteStale deletes a with If-Match on a wrong ETag.
func (p *probe) deleteStale(ctx context.Context, a probeObject) attempt {
	_, err := p.c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(p.bucket), Key: aws.String(a.key), IfMatch: quote(probeWrongETag),
	})
	return p.after(ctx, attempt{header: "If-Match", sent: mapError(p.call("delete", a.key), err), before: a})
}

// batchStale deletes a in a DeleteObjects, on condition of a wrong
// per-object ETag; the answer for a is the per-object one.
func (p *probe) batchStale(ctx context.Context, a probeObject) attempt {
	cl := p.call("delete in a batch", a.key)
	out, err := p.c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(p.bucket),
		Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String(a.key), ETag: quote(probeWrongETag)}}},
	})
	sent := mapError(cl, err)
	if err == nil {
		sent = batchAnswer(cl, out, a.key)
	}
	return p.after(ctx, attempt{header: "ETag", sent: sent, before: a})
}

// batchAnswer is the error a DeleteObjects answer gives key: its <Error>,
// nil for <Deleted>.
func batchAnswer(cl call, out *s3.DeleteObjectsOutput, key string) error {
	for _, e := range out.Errors {
		if aws.ToString(e.Key) == key {
			return mapError(cl, &smithy.GenericAPIError{Code: aws.ToString(e.Code), Message: aws.ToString(e.Message)})
		}
	}
	for _, d := range out.Deleted {
		if aws.ToString(d.Key) == key {
			return nil
		}
	}
	return fmt.Errorf("%s: %w: the answer says nothing of the object", cl.op, reconcile.ErrTransient)
}

// randomName names one probe run, so that processes probing one bucket at
// once never touch each other's objects.
func randomName() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
