package reconcile

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"
)

// conditions is the Runner's memory of what each bucket honours: probed the
// first time a pass needs a bucket's answer (a pass with nothing to do
// sends nothing), again once CapabilitiesTTL has passed, and at every start
// of the process. A condition the operator forbids is never relied on,
// whatever the probe says; an answer the probe could not give is not
// relied on either.
type conditions struct {
	r *Runner

	mu       sync.Mutex
	byBucket map[string]*probed
	noAsIs   sync.Map // source bucket → why its copies' answers are no proof (blind.go)
}

// probed is one bucket's answers, or the probe under way.
type probed struct {
	done chan struct{} // closed once caps is set
	caps Capabilities
	err  error
}

// of returns bucket's answers, probing it when they are missing or older
// than CapabilitiesTTL. A probe that failed as a whole is tried again on
// the next call.
func (c *conditions) of(ctx context.Context, bucket string) (Capabilities, error) {
	c.mu.Lock()
	if c.byBucket == nil {
		c.byBucket = map[string]*probed{}
	}
	pr := c.byBucket[bucket]
	fresh := pr != nil
	if fresh {
		select {
		case <-pr.done:
			fresh = pr.err == nil && c.r.now().Sub(pr.caps.ProbedAt) < CapabilitiesTTL
		default:
		}
	}
	var old *probed
	if !fresh {
		old, pr = pr, &probed{done: make(chan struct{})}
		c.byBucket[bucket] = pr
		go c.probe(context.WithoutCancel(ctx), bucket, pr, old)
	}
	c.mu.Unlock()
	select {
	case <-pr.done:
		return pr.caps, pr.err
	case <-ctx.Done():
		return Capabilities{}, ctx.Err()
	}
}

// prefetch starts the probes of buckets ("" skipped) that of would start,
// side by side, without waiting for them; each counts in wg until it is
// done (bounded by the probe's own timeout).
func (c *conditions) prefetch(wg *sync.WaitGroup, buckets ...string) {
	for _, b := range buckets {
		if b != "" {
			wg.Go(func() { _, _ = c.of(context.Background(), b) })
		}
	}
}

func (c *conditions) probe(ctx context.Context, bucket string, pr, old *probed) {
	defer close(pr.done)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	caps, err := c.r.s3.ProbeConditions(ctx, bucket)
	if err != nil {
		pr.err = fmt.Errorf("probe which conditions s3://%s honours: %w", bucket, err)
		c.r.log.Warn("probe of the server's conditions failed; trying again when next needed", "bucket", bucket, "err", err)
		return
	}
	if caps.ProbedAt.IsZero() {
		caps.ProbedAt = c.r.now()
	}
	caps = caps.Forbidding(c.r.cfg.Forbid)
	pr.caps = caps
	var was map[Condition]Answer
	if old != nil {
		select {
		case <-old.done:
			was = old.caps.Answers
		default:
		}
	}
	if !maps.Equal(was, caps.Answers) {
		// One line when an answer changes (and on the first probe).
		attrs := []any{"bucket", bucket, "versioned", caps.Versioned}
		for _, cond := range Conditions() {
			attrs = append(attrs, string(cond), caps.Answers[cond])
			if caps.Answers[cond] != Honoured {
				attrs = append(attrs, string(cond)+"_why", caps.Why[cond])
			}
		}
		c.r.log.Info("the server's conditions on the bucket", attrs...)
	}
	c.r.onConditions(caps)
}

// unversioned reports whether a probe of bucket, done already, found that
// it keeps no versions. It never probes: false when none was done.
func (c *conditions) unversioned(bucket string) bool {
	c.mu.Lock()
	pr := c.byBucket[bucket]
	c.mu.Unlock()
	if pr == nil {
		return false
	}
	select {
	case <-pr.done:
		return pr.err == nil && !pr.caps.Versioned
	default:
		return false
	}
}

// Conditions probes bucket now and returns what it honours, with every
// forbidden condition marked so: what `trashd doctor` shows.
func (r *Runner) Conditions(ctx context.Context, bucket string) (Capabilities, error) {
	r.conds.mu.Lock()
	delete(r.conds.byBucket, bucket)
	r.conds.mu.Unlock()
	return r.conds.of(ctx, bucket)
}

// WithConditionsObserver has fn called with every bucket's answers each time
// they are probed (for metrics).
func WithConditionsObserver(fn func(Capabilities)) Option {
	return func(r *Runner) { r.onConditions = fn }
}

// deleteHow is how one object is deleted, by what its bucket honours.
type deleteHow int

const (
	// deleteBatched: in a DeleteObjects of its bucket, by its version or
	// with its per-object ETag.
	deleteBatched deleteHow = iota
	// deleteIfMatch: one DeleteObject with If-Match on its ETag (or by its
	// version).
	deleteIfMatch
	// deleteAfterHead: one unconditional DeleteObject right after a HEAD
	// that finds exactly the object: the window between the two is open.
	deleteAfterHead
)

// deletePath says how obj is deleted from its bucket (caps): by version
// wherever it has one (naming the version needs no condition), else on
// condition of its ETag where the probe proved that the server honours
// it, else — only where allowed — right after a HEAD. A source is deleted
// without a proven condition only when the operator accepted the window
// (Config.DeleteAfterHead); a trash copy, trashd's own object, is.
func (p *pass) deletePath(caps Capabilities, obj Object, source bool) (deleteHow, error) {
	switch {
	case obj.VersionID != "":
		return deleteBatched, nil
	case caps.Honours(CondDeleteIfMatch) && caps.Honours(CondBatchDeleteETag):
		return deleteBatched, nil
	case caps.Honours(CondDeleteIfMatch):
		return deleteIfMatch, nil
	case !source || p.r.cfg.DeleteAfterHead:
		return deleteAfterHead, nil
	}
	return 0, fmt.Errorf("%w: s3://%s does not prove that it honours If-Match on DeleteObject (%s: %s) and its objects have no versions: "+
		"trashd deletes no source there without the proof that condition gives (a file written after its copy would be deleted). "+
		"Enable versioning on the bucket (deletes then name the version copied), or set TRASHD_S3_DELETE_AFTER_HEAD=true to accept "+
		"a HEAD right before each delete instead (a file written in the round trip between the two would be lost); `trashd doctor` shows what the server honours",
		ErrPermanent, caps.Bucket, caps.Answers[CondDeleteIfMatch], caps.Why[CondDeleteIfMatch])
}

// copyGuard returns opts with the copy into bucket guarded against
// overwriting by HEAD first where the bucket does not prove If-None-Match
// on copies (and on the completion of a copy in parts).
func (p *pass) copyGuard(ctx context.Context, bucket string, opts CopyOptions) (CopyOptions, error) {
	if !opts.NoOverwrite {
		return opts, nil
	}
	caps, err := p.r.conds.of(ctx, bucket)
	if err != nil {
		return opts, err
	}
	opts.NoOverwriteByHead = !caps.Honours(CondCopyIfNoneMatch) || !caps.Honours(CondCompleteIfNoneMatch)
	return opts, nil
}

// refusesDeletes is deletePath's refusal for src, a source about to be
// copied: nothing is copied that could never be deleted from its source.
func (p *pass) refusesDeletes(ctx context.Context, src Object) error {
	caps, err := p.r.conds.of(ctx, src.Bucket)
	if err != nil {
		return err
	}
	_, err = p.deletePath(caps, exactly(src), true)
	return err
}

// Forbidding returns c with every condition the probe did not answer marked
// Unknown, and every condition of forbid (condition → the setting that
// forbids it) marked NotHonoured whatever the probe found.
func (c Capabilities) Forbidding(forbid map[Condition]string) Capabilities {
	c.Answers, c.Why = maps.Clone(c.Answers), maps.Clone(c.Why)
	if c.Answers == nil {
		c.Answers = map[Condition]Answer{}
	}
	if c.Why == nil {
		c.Why = map[Condition]string{}
	}
	for _, cond := range Conditions() {
		if c.Answers[cond] == "" {
			c.Answers[cond], c.Why[cond] = Unknown, "not probed"
		}
		if setting, ok := forbid[cond]; ok && c.Answers[cond] == Honoured {
			c.Answers[cond], c.Why[cond] = NotHonoured, "forbidden by "+setting
		}
	}
	return c
}

// Paths says, for an operator, what trashd does on a bucket with these
// answers: for copies into it, copies out of it, and deletes from it (of
// sources, or of trash copies when trash).
func (c Capabilities) Paths(cfg Config, trash bool) map[string]string {
	out := map[string]string{}
	if c.Honours(CondCopyIfNoneMatch) && c.Honours(CondCompleteIfNoneMatch) {
		out["copy_into"] = "If-None-Match: * on every copy (and on the completion of a copy in parts): nothing is overwritten"
	} else {
		out["copy_into"] = "the destination is HEADed first, under the lease: a file written between the HEAD and the copy would be overwritten"
	}
	if c.Honours(CondCopySourceIfMatch) {
		out["copy_from"] = "x-amz-copy-source-if-match on the ETag HEAD saw"
	} else {
		out["copy_from"] = "the copy is proven against what HEAD saw: a source changed during the copy fails the record, the source kept"
	}
	switch {
	case c.Versioned:
		out["delete"] = "by the version copied, which needs no condition"
	case c.Honours(CondDeleteIfMatch) && c.Honours(CondBatchDeleteETag):
		out["delete"] = "DeleteObjects, each object on condition of its ETag"
	case c.Honours(CondDeleteIfMatch):
		out["delete"] = "one DeleteObject each, with If-Match on its ETag"
	case trash || cfg.DeleteAfterHead:
		out["delete"] = "one unconditional DeleteObject each, right after a HEAD that finds exactly the object (a file written in that round trip would be lost)"
	default:
		out["delete"] = "refused: no source is moved out of this bucket (enable versioning, or set TRASHD_S3_DELETE_AFTER_HEAD=true)"
	}
	if !trash {
		switch {
		case cfg.HeadFirst:
			out["move"] = "HEAD first, then the copy (TRASHD_S3_HEAD_FIRST=true): two requests in series per object"
		case !c.Versioned && c.Honours(CondDeleteIfMatch) && c.Honours(CondCopySourceIfMatch):
			out["move"] = "one request where the trash bucket proves If-None-Match on copies: each source copied unread, its copy's answer the proof its conditional delete checks"
		default:
			out["move"] = "HEAD first, then the copy: the bucket keeps versions, or does not prove If-Match on deletes and copy-source If-Match"
		}
	}
	return out
}
