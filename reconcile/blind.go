package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// The move of one request. Where the source bucket keeps no versions and
// proves that it honours If-Match on deletes, and the trash bucket proves
// If-None-Match on copies, a source is not read first: it is copied as it
// is (CopyAsIs, never over anything at the trash key), and the copy's answer
// is the proof. Its ETag — for a single-part source without SSE-KMS, the
// source's own — is recorded as the source's and the copy's, and the
// source is deleted only on condition of it, through the guarded delete:
// the condition holds only if the source still holds exactly the bytes now
// in the trash. The size, which the answer does not carry, is recorded
// unknown (SizeUnknown, NULL) until the transition check's HEAD of the copy
// fills it in; a record whose source ETag is known and size unknown is one
// whose source identity is the copy's answer.
//
// Where the condition fails — a multipart or SSE-KMS source, whose copy has
// an ETag of its own, or a source rewritten since the copy — nothing was
// deleted, and refusedAsIs tells these apart with the lease held (the full
// proof): the copy is proven to hold the bytes the source holds now (the
// source is then recorded as HEAD sees it and deleted on condition of its
// own ETag), or proven to hold other bytes (the source was rewritten after
// the copy: the copy is the trashed file, the new object stays), or nothing
// is proven and nothing is deleted.
//
// Whatever the answer cannot prove goes on alone from HEAD (move.go): a
// source that is missing, archived or too large for one CopyObject (the
// copy fails), an answer naming a source version (versioning enabled since
// the probe), a multipart ETag kept on the copy (SeaweedFS), an SSE-KMS
// copy. The move alone finds the copy at the record's trash key and proves
// it against what HEAD sees, or says why it cannot.

// OutcomeSized reports the size of an object moved earlier by its copy's
// answer alone, learned by the transition check's HEAD of the copy: its
// Bytes count toward the bytes moved, and no object is counted again.
const OutcomeSized Outcome = "sized"

// asIs reports whether it's object is moved by its copy's answer alone:
// what both buckets honour allows it, and the operator did not ask for a
// HEAD first.
func (b *batchMove) asIs(it *item) bool {
	if b.r.cfg.HeadFirst || b.r.conds.asIsOff(it.rec.Source.Bucket) {
		return false
	}
	ctx := b.h.ctxOf(it.rec.ID)
	src, err := b.r.conds.of(ctx, it.rec.Source.Bucket)
	// copy-source If-Match too: the full proof's second copy relies on it.
	if err != nil || src.Versioned || !src.Honours(CondDeleteIfMatch) || !src.Honours(CondCopySourceIfMatch) {
		return false
	}
	trash, err := b.r.conds.of(ctx, b.r.cfg.TrashBucket)
	return err == nil && trash.Honours(CondCopyIfNoneMatch)
}

// recordTrashKeys records the trash key of every item, in one statement,
// and returns the items to copy as they are (copyAsIs). Recorded before the
// copy, as fromSource records it: a copy made and then lost track of (a
// crash before it is recorded) is found there.
func (b *batchMove) recordTrashKeys(items []*item) []*item {
	if len(items) == 0 || b.stopped(items) {
		return nil
	}
	items = b.recordAll(items, func(it *item) Step {
		return Step{To: StatePending, TrashKey: b.r.cfg.TrashKeys.RenderLife(it.rec.LMSID, it.rec.Life, it.rec.Source.Bucket, it.rec.Source.Key)}
	}, func(it *item, step Step) { it.rec.TrashKey = step.TrashKey })
	if len(items) == 0 || b.stopped(items) {
		return nil
	}
	return items
}

// copyAsIs is the one request of one item's move. false: the move alone
// takes it from HEAD.
func (b *batchMove) copyAsIs(it *item) bool {
	ctx := b.h.ctxOf(it.rec.ID)
	src := Object{Bucket: it.rec.Source.Bucket, Key: it.rec.Source.Key}
	opts := b.copyOptions()
	opts.NoOverwrite = true
	rep, err := b.r.s3.CopyAsIs(ctx, src, b.r.cfg.TrashBucket, it.rec.TrashKey, opts)
	if err != nil {
		it.log.Debug("the copy as it is did not go through; moving it alone", "err", err)
		return false
	}
	copy, err := answeredCopy(rep, b.r.cfg.TrashBucket, it.rec.TrashKey, opts.StorageClass)
	if err != nil {
		if rep.Encryption != "" && strings.HasPrefix(rep.Encryption, "aws:kms") {
			b.r.conds.turnAsIsOff(src.Bucket, err)
		}
		it.log.Info("the copy's answer is no proof; moving it alone, from HEAD", "err", err)
		return false
	}
	src.ETag, src.Size = rep.ETag, SizeUnknown
	it.src, it.copy = src, copy
	return true
}

// answeredCopy is the copy rep describes, if rep can be the proof of a
// move: an ETag that may be the source's MD5 (not a multipart one, not
// under SSE-KMS), and no source version (the bucket keeps none).
func answeredCopy(rep CopyReport, bucket, key, class string) (Object, error) {
	switch {
	case rep.ETag == "":
		return Object{}, fmt.Errorf("%w: the answer carries no ETag", ErrVerify)
	case rep.SourceVersionID != "" && rep.SourceVersionID != "null":
		return Object{}, fmt.Errorf("%w: the copy is of version %q: the source bucket keeps versions now", ErrVerify, rep.SourceVersionID)
	case strings.HasPrefix(rep.Encryption, "aws:kms"):
		return Object{}, fmt.Errorf("%w: the copy is encrypted with %s, so its ETag is no MD5 of its bytes", ErrVerify, rep.Encryption)
	case multipartETag(rep.ETag):
		return Object{}, fmt.Errorf("%w: the copy's ETag %q is a multipart upload's, no MD5 of its bytes", ErrVerify, rep.ETag)
	}
	return Object{Bucket: bucket, Key: key, VersionID: rep.VersionID, Size: SizeUnknown, ETag: rep.ETag, Checksum: rep.Checksum, StorageClass: class}, nil
}

// byAnswer reports whether the source identity of it is its copy's answer
// (known ETag, size unknown): a refused delete then says nothing yet of
// whether the source changed.
func byAnswer(src Object) bool { return src.ETag != "" && src.Size == SizeUnknown }

// refusedAsIs looks at a source moved by its copy's answer whose delete was
// refused (412): the key holds an object with another ETag than the copy's,
// or none. The full proof, with the lease held: nothing is deleted unless
// the copy is proven to hold exactly the bytes the source holds.
func (p *pass) refusedAsIs(h *hold, it *item) deleted {
	ctx := h.ctxOf(it.rec.ID)
	src := it.src
	cur, err := p.r.s3.Head(ctx, src.Bucket, src.Key)
	switch {
	case errors.Is(err, ErrNotFound):
		it.log.Info("source already deleted")
		return deleted{}
	case err != nil:
		return deleted{err: fmt.Errorf("look at the source after a refused delete: %w", err)}
	case cur.ETag == src.ETag:
		return deleted{err: fmt.Errorf("%w: the delete of s3://%s/%s was refused (412) although its ETag is the copy's", ErrTransient, src.Bucket, src.Key)}
	}
	dst, err := p.r.s3.Head(ctx, it.copy.Bucket, it.copy.Key)
	switch {
	case err != nil:
		return deleted{err: fmt.Errorf("look at the copy s3://%s/%s after the refused delete of its source: %w", it.copy.Bucket, it.copy.Key, err)}
	case dst.ETag != it.copy.ETag:
		return deleted{err: fmt.Errorf("the trash copy s3://%s/%s has changed since it was made (ETag %q, was %q): nothing is deleted", dst.Bucket, dst.Key, dst.ETag, it.copy.ETag)}
	}
	same, err := p.sameBytes(h, it.rec.ID, cur, dst)
	switch {
	case err != nil:
		// Tried again, whatever the cause: the record's source identity is
		// its copy's answer, which a failure must never settle on.
		return deleted{err: fmt.Errorf("%w: nothing proves whether s3://%s/%s (ETag %q) holds the bytes of its copy s3://%s/%s (ETag %q): %v",
			ErrTransient, cur.Bucket, cur.Key, cur.ETag, dst.Bucket, dst.Key, dst.ETag, err)}
	case !same:
		// Rewritten after the copy: the copy holds what the key held then,
		// the trashed file; the new object is not, and stays.
		it.log.Warn("source overwritten after the copy; the new object is left in place", "etag", cur.ETag)
		return deleted{note: fmt.Sprintf("s3://%s/%s was overwritten after the copy (now ETag %q, %d bytes; the copy %d bytes): the new object is not the trashed file and was left in place",
			src.Bucket, src.Key, cur.ETag, cur.Size, dst.Size)}
	}
	// The copy holds the source's bytes under an ETag of its own (a
	// multipart or encrypted source): the source as HEAD sees it is recorded,
	// and deleted on condition of its own ETag.
	it.log.Info("the copy holds the source's bytes under another ETag; deleting the source on its own", "source_etag", cur.ETag, "copy_etag", dst.ETag)
	if err := h.recordOne(ctx, it.rec, Step{To: StateCopied, Source: &cur, Copy: &dst}); err != nil {
		return deleted{err: err}
	}
	it.rec.Source, it.rec.Copy, it.src, it.copy = cur, dst, cur, dst
	return p.deleteCopied(h, []*item{it})[0]
}

// sameBytes tells whether dst, a copy made of cur's key, holds exactly the
// bytes cur holds now. Different sizes, or different full-object checksums
// of one algorithm, are different bytes; equal SHA-1 or SHA-256 checksums
// are the same bytes. Else a second copy of cur as it is now (on condition
// of its ETag, which the source bucket proves it honours), made beside dst,
// is compared with dst: two single-part copies of equal bytes have equal MD5
// ETags (a 32-bit CRC only ever proves a difference). The second copy is
// removed again whatever it shows: it duplicates dst or cur, which stays. An
// error when nothing could be proven.
func (p *pass) sameBytes(h *hold, id int64, cur, dst Object) (bool, error) {
	if cur.Size != dst.Size {
		return false, nil
	}
	if comparable(cur.Checksum, dst.Checksum) {
		if cur.Checksum.Value != dst.Checksum.Value {
			return false, nil
		}
		if strongSum(cur.Checksum) {
			return true, nil
		}
	}
	ctx := h.ctxOf(id)
	side := Object{Bucket: dst.Bucket, Key: proofKey(dst)}
	opts := CopyOptions{NoOverwrite: true}
	rep, err := p.r.s3.CopyAsIs(ctx, cur, side.Bucket, side.Key, opts)
	if errors.Is(err, ErrPreconditionFailed) {
		// A second copy left by an attempt that stopped (or the source
		// changed since HEAD): removed, and made once more.
		if err := p.removeSide(h, id, side); err != nil {
			return false, err
		}
		rep, err = p.r.s3.CopyAsIs(ctx, cur, side.Bucket, side.Key, opts)
	}
	if err != nil {
		return false, fmt.Errorf("a second copy to compare: %w", err)
	}
	side.ETag, side.VersionID = rep.ETag, rep.VersionID
	defer func() {
		if err := p.removeSide(h, id, side); err != nil {
			p.log.Warn("the second copy made to prove a copy was not removed", "bucket", side.Bucket, "key", side.Key, "err", err)
		}
	}()
	switch {
	case comparable(rep.Checksum, dst.Checksum) && rep.Checksum.Value != dst.Checksum.Value:
		return false, nil
	case comparable(rep.Checksum, dst.Checksum) && strongSum(rep.Checksum):
		return true, nil
	case strings.HasPrefix(rep.Encryption, "aws:kms"):
		return false, fmt.Errorf("%w: the copies are encrypted with %s and carry no common SHA checksum: their ETags are no MD5s", ErrVerify, rep.Encryption)
	case multipartETag(rep.ETag) || multipartETag(dst.ETag):
		return false, fmt.Errorf("%w: the copies' ETags (%q, %q) are not MD5s of their bytes", ErrVerify, rep.ETag, dst.ETag)
	}
	return rep.ETag == dst.ETag, nil
}

// strongSum reports whether equal values of c's algorithm are equal bytes.
func strongSum(c Checksum) bool { return c.Algorithm == "SHA1" || c.Algorithm == "SHA256" }

// proofKey is where the second copy that proves dst goes: under the probe
// prefix, named by a hash of dst's key, so that it is short whatever the
// key, and never another record's trash key.
func proofKey(dst Object) string {
	sum := sha256.Sum256([]byte(dst.Key))
	return ProbePrefix + "proof/" + hex.EncodeToString(sum[:16])
}

// comparable reports whether a and b are full-object checksums of one
// algorithm (a multipart upload's composite checksum, "<value>-<parts>", is
// no checksum of the bytes).
func comparable(a, b Checksum) bool {
	return a.Value != "" && b.Value != "" && a.Algorithm == b.Algorithm && !strings.Contains(a.Value, "-") && !strings.Contains(b.Value, "-")
}

// removeSide removes a second copy made to prove a copy, through the
// guarded delete (a trash object of trashd's own): on condition of the
// ETag its copy's answer gave, or, when that is refused or unknown, of
// the one HEAD finds (only trashd writes a proof key, and whatever it holds
// duplicates bytes kept elsewhere).
func (p *pass) removeSide(h *hold, id int64, side Object) error {
	ctx := h.ctxOf(id)
	caps, err := p.r.conds.of(ctx, side.Bucket)
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		if side.ETag == "" {
			cur, err := p.r.s3.Head(ctx, side.Bucket, side.Key)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			side = cur
		}
		how, err := p.deletePath(caps, exactly(side), false)
		if err != nil {
			return err
		}
		err = h.guardedDelete([]deletion{{id: id, obj: exactly(side), how: how}}, false)[0]
		switch {
		case errors.Is(err, ErrPreconditionFailed) && !errors.Is(err, ErrBatchFailed) && try == 0:
			side.ETag = ""
		case errors.Is(err, ErrNotFound):
			return nil
		default:
			return err
		}
	}
}

// asIsOff and turnAsIsOff remember, for the Runner's life, a source bucket
// whose copies' answers cannot be the proof (SSE-KMS): its sources are
// read by HEAD first.
func (c *conditions) asIsOff(bucket string) bool {
	_, off := c.noAsIs.Load(bucket)
	return off
}

func (c *conditions) turnAsIsOff(bucket string, why error) {
	if _, was := c.noAsIs.LoadOrStore(bucket, why); !was {
		c.r.log.Warn("the copies' answers are no proof for this bucket: its sources are read by HEAD before their copy from now on", "bucket", bucket, "why", why)
	}
}
